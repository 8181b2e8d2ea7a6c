// A tenant of huge events (docs/protocol.md, 'Transport'): 60 events of 15 MB each, pulled by a fresh client.
// Before the response cap, every fresh client exhausted the 2 GB wasm heap. Reports, per
// maxResponseBytes, what the pull did and the peak wasm memory (the linear memory only grows, so
// its size at the end is the peak). Each run in its own child process (a fresh module and heap).
// The server is a node:http fake serving the pages on the fly (no 900 MB database needed); it
// honours `limit` and answers with our protocol's cursor (docs/protocol.md, 'Cursor'), and, like
// the reference server, `maxBytes` (docs/protocol.md, 'Max bytes': pages stop under it, an event
// over it is a {guid, timestamp, tooLarge} placeholder); --no-max-bytes serves a server without
// that extension (the client then halves `limit`). The
// client retries (maxAttempts 3): applying a page takes seconds, longer than the server's
// keep-alive timeout, so a reused connection may be reset (NETWORK, retried) as in the field.
// Usage: node bench/huge_tenant.mjs [--events 60] [--mb 15] [--caps 8,32] [--storage memory|directory] [--no-max-bytes]
import http from 'node:http';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};

if (process.argv[2] === '--child') {
  const [url, capText, storageKind] = process.argv.slice(3);
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { loadModule, open } = await import('../js/index.js');
  const module = await loadModule();
  const directory = storageKind === 'directory' ? mkdtempSync(join(tmpdir(), 'dc-huge-')) : null;
  const store = await open({ name: 'huge', storage: directory ? { directory } : 'memory', userId: 'bench', syncServerUrl: url, module, authToken: 'bench',
    sync: { maxAttempts: 3, backoffBaseMs: 10, requestTimeoutMs: 120000, maxResponseBytes: Number(capText) * 1024 * 1024 } });
  const started = performance.now();
  let result = null;
  let error = null;
  try {
    result = await store.syncManager.pullFromRemote();
  } catch (e) {
    error = `${e.code}: ${e.message.slice(0, 120)}`;
  }
  const seconds = (performance.now() - started) / 1000;
  // Not getAllEvents(): 900 MB of events as one JSON text is more than the heap holds.
  const events = await store.eventStore.isEventExisted('00000000-0000-4000-8000-000000000059') ? 'all (last one present)' : 'not all';
  process.stdout.write(JSON.stringify({ seconds, events, result: result && { pulled: result.pulled, rejected: result.rejected },
    error, peakMemory: module.HEAP8.length, inUse: module._dc_heap_in_use(), rss: process.memoryUsage().rss }));
  await store.close();
  if (directory) rmSync(directory, { recursive: true, force: true });
  process.exit(0);
}

const count = Number(arg('events', 60));
const mb = Number(arg('mb', 15));
const caps = arg('caps', '8,32').split(',').map(Number);
const storage = arg('storage', 'memory');  // the client's store: memory | directory
const honourMaxBytes = !process.argv.includes('--no-max-bytes');
const pad = Buffer.alloc(mb * 1024 * 1024 - 300, 'x');
const stats = { requests: 0, bytes: 0, limits: [] };
// The reference server's rule (web/server/page-budget.js): 256 bytes of envelope, each entry its
// bytes + 16, an entry that cannot fit alone becomes a placeholder, at least one entry a page.
const head = (i) => `{"guid":"${guid(i)}","entityGuid":"huge-${i}","type":"create-individual","timestamp":"${ts(i)}","userId":"u","syncLevel":1,"data":{"name":"Huge ${i}","blob":"`;
const guid = (i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const ts = (i) => `2024-01-01T00:00:${String(i % 60).padStart(2, '0')}.000Z`;
const eventBytes = (i) => Buffer.byteLength(head(i)) + pad.length + 3;
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  stats.requests++;
  if (!url.pathname.startsWith('/api/sync/pull') || url.pathname.includes('audit')) {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    return res.end('{"auditLogs":[],"nextCursor":null,"cursor":"0"}');
  }
  const since = Number(url.searchParams.get('since') || 0);
  const limit = Number(url.searchParams.get('limit') || 10);
  stats.limits.push(limit);
  let end = Math.min(count, since + limit);
  const maxBytes = honourMaxBytes && url.searchParams.get('maxBytes') ? Number(url.searchParams.get('maxBytes')) : Infinity;
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.write('{"events":[');
  let used = 256;
  for (let i = since; i < end; i++) {
    const tooLarge = eventBytes(i) + 16 + 256 > maxBytes;
    const cost = (tooLarge ? 80 : eventBytes(i)) + 16;
    if (i > since && used + cost > maxBytes) {
      end = i;
      break;
    }
    used += cost;
    if (i > since) res.write(',');
    if (tooLarge) {
      res.write(JSON.stringify({ guid: guid(i), timestamp: ts(i), tooLarge: eventBytes(i) }));
      continue;
    }
    res.write(head(i));
    res.write(pad);
    res.write('"}}');
  }
  res.end(`],"cursor":"${end}","nextCursor":${end < count ? `"${end}"` : 'null'},"remaining":${count - end}}`);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}`;
const child = fileURLToPath(import.meta.url);

console.log(`\nHuge tenant: ${count} events x ${mb} MB, fresh client (${storage} store), pullFromRemote, server ${honourMaxBytes ? 'honours' : 'ignores'} maxBytes\n`);
console.log('| maxResponseBytes | outcome | events stored | requests | limits asked | peak wasm memory | heap in use after | peak RSS | time |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const cap of caps) {
  stats.requests = 0;
  stats.limits = [];
  let out;
  try {
    // Asynchronous: the server answers from this process's event loop.
    const { stdout } = await promisify(execFile)(process.execPath, [child, '--child', url, String(cap), storage], { maxBuffer: 1 << 20, timeout: 600000 });
    out = JSON.parse(stdout);
  } catch (e) {
    console.log(`| ${cap} MiB | crashed: ${String(e.message).slice(0, 80)} | | ${stats.requests} | | | | | |`);
    continue;
  }
  const outcome = out.error ?? `pulled ${out.result.pulled}, rejected ${out.result.rejected}`;
  const distinct = [...new Set(stats.limits)].join(' ');
  console.log(`| ${cap} MiB | ${outcome.replace(/\|/g, '/')} | ${out.events} | ${stats.requests} | ${distinct} | ${(out.peakMemory / 2 ** 20).toFixed(0)} MB | ${(out.inUse / 2 ** 20).toFixed(1)} MB | ${(out.rss / 2 ** 20).toFixed(0)} MB | ${out.seconds.toFixed(1)} s |`);
}
server.close();
