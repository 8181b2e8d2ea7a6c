// The hostile-server suite (docs/protocol.md, 'Transport'): real node:http servers on 127.0.0.1, each case's client in
// its own child process (tests/js/helpers/hostile-child.mjs) so a crash shows as a crash. For
// every case (tests/js/helpers/hostile-cases.mjs): a DataCollectError with the expected code, the
// child alive to the end, the local events unchanged (count and sync level), the token sent to
// no origin but the configured one, the wasm stack pointer back and the heap near where it was,
// the hostile socket closed at once after a timeout/close, and the next sync against the good
// server completing with nothing lost or doubled.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CASES, caseByName } from './helpers/hostile-cases.mjs';
import { startReferenceServer } from './helpers/env.mjs';

const CHILD = fileURLToPath(new URL('./helpers/hostile-child.mjs', import.meta.url));
const HEAP_SLACK = 16 * 1024 * 1024;
const IN_USE_SLACK = 256 * 1024;

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`)));
}
function closeServer(server) {
  server.closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}
const readBody = (req) => new Promise((resolve, reject) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => resolve(Buffer.concat(chunks)));
  req.on('error', reject);
});

// The other origin: records every request (a token arriving here is a leak) and answers as a
// sync server that accepts everything, which is what turned a followed redirect into data loss.
async function startOtherOrigin() {
  const seen = [];
  const server = http.createServer(async (req, res) => {
    await readBody(req).catch(() => {});
    seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization ?? null });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ status: 'success', events: [], nextCursor: null, token: 'x', userId: 'u' }));
  });
  return { url: await listen(server), seen, close: () => closeServer(server) };
}

// The configured origin: in mode "good" a proxy to the reference server, in mode "hostile" the
// case's handler. /__mode and /__stats are its controls.
async function startHostile(goodUrl, otherUrl) {
  let mode = 'good';
  let current = null;
  const stats = { hostileRequests: 0, sockets: [], lastToken: null, wrongToken: [] };
  const ctx = { other: otherUrl, state: {} };
  const proxy = async (req, res) => {
    const body = await readBody(req);
    const headers = { ...req.headers };
    delete headers.host;
    const upstream = http.request(`${goodUrl}${req.url}`, { method: req.method, headers }, (up) => {
      const chunks = [];
      up.on('data', (c) => chunks.push(c));
      up.on('end', () => {
        const text = Buffer.concat(chunks);
        if (req.url.startsWith('/api/users/login') && up.statusCode === 200) {
          try { stats.lastToken = JSON.parse(text).token; } catch { /* not JSON */ }
        }
        res.writeHead(up.statusCode, up.headers);
        res.end(text);
      });
    });
    upstream.on('error', () => { res.writeHead(502); res.end(); });
    upstream.end(body);
  };
  const server = http.createServer(async (req, res) => {
    if (req.url === '/__mode') {
      const { mode: next, name } = JSON.parse(await readBody(req));
      mode = next;
      current = caseByName(name);
      res.end('{}');
      return;
    }
    if (req.url === '/__stats') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ ...stats, now: Date.now() }));
      return;
    }
    if (mode === 'good') return proxy(req, res);
    stats.hostileRequests++;
    const record = { url: req.url, closedAt: null, bytesAfterHeaders: 0 };
    stats.sockets.push(record);
    res.on('close', () => { record.closedAt = Date.now(); });
    await readBody(req).catch(() => {});
    // A case about the event pull gets a well-formed audit-log pull (the original's plain array).
    if (current.auditOk && req.url.startsWith('/api/sync/pull/audit-logs')) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end('[]');
    }
    current.handle(req, res, { ...ctx, proxy });
  });
  return { url: await listen(server), close: () => closeServer(server) };
}

function runChild(name, url) {
  return new Promise((resolve) => {
    execFile(process.execPath, [CHILD, name, url], { timeout: 30000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop();
      let out = null;
      try { out = JSON.parse(line); } catch { /* reported below */ }
      resolve({ exitCode: error ? (error.code ?? error.signal) : 0, out, stderr });
    });
  });
}

let reference;
before(async () => { reference = await startReferenceServer(); });
after(async () => { await reference?.close(); });

// The observed outcome of each case, printed as a table at the end (the closing note).
const table = [];
after(() => {
  console.log('\n| case | expected | observed | ms | requests | message |\n|---|---|---|---|---|---|');
  for (const row of table)
    console.log(`| ${row.name} | ${row.expected} | ${row.observed} | ${row.elapsedMs} | ${row.requests} | ${row.message.replace(/\|/g, '/')} |`);
});

describe('hostile sync servers', { concurrency: 4 }, () => {
  for (const c of CASES) {
    test(c.name, { timeout: 40000 }, async () => {
      const other = await startOtherOrigin();
      const hostile = await startHostile(reference.url, other.url);
      try {
        const { exitCode, out, stderr } = await runChild(c.name, hostile.url);
        table.push({ name: c.name, expected: c.expect ?? 'ok', observed: out ? (out.error?.code ?? (out.value?.rejected ? `ok, ${out.value.rejected} rejected (${out.value.rejectedEvents[0]?.code})` : 'ok')) : `crash (${exitCode})`,
          elapsedMs: out?.elapsedMs, message: (out?.error?.message ?? '').slice(0, 160), requests: out?.hostileStats?.hostileRequests });
        assert.equal(exitCode, 0, `the child crashed: ${stderr.slice(-2000)}`);
        assert.ok(out, 'the child printed its result');
        // The outcome.
        if (c.expect === null) {
          assert.equal(out.error, null, `expected success, got ${JSON.stringify(out.error)}`);
          if (c.pulled !== undefined) assert.equal(out.value.pulled, c.pulled);
          if (c.rejected) {
            assert.equal(out.value.rejected, c.rejected.count);
            for (const r of out.value.rejectedEvents) assert.equal(r.code, c.rejected.code, r.message);
          }
        } else {
          assert.ok(out.error, `expected ${c.expect}, the operation succeeded: ${JSON.stringify(out.value)}`);
          assert.equal(out.error.isDataCollectError, true, `not a DataCollectError: ${out.error.name}`);
          assert.equal(out.error.code, c.expect, out.error.message);
          assert.ok(!out.error.message.includes(out.goodToken), 'the token is in the message');
          if (c.maxMessage) assert.ok(out.error.message.length <= c.maxMessage, `message of ${out.error.message.length} chars`);
        }
        if (c.op === 'redirect' || /redirect/.test(c.name)) assert.match(out.error.message, /redirect/i);
        // No token anywhere but the configured origin; a redirect is never followed.
        assert.deepEqual(other.seen.filter((r) => r.authorization), [], 'the token reached another origin');
        assert.equal(other.seen.length, 0, `another origin was asked: ${JSON.stringify(other.seen)}`);
        if (c.maxRequests) assert.ok(out.hostileStats.hostileRequests <= c.maxRequests, `${out.hostileStats.hostileRequests} requests`);
        // The request is over when the operation is: nothing more is received.
        if (c.closedWithinMs) {
          for (const s of out.hostileStats.sockets) {
            assert.ok(s.closedAt !== null, `a hostile response (${s.url}) is still open after the failure`);
            assert.ok(s.closedAt <= out.failedAt + c.closedWithinMs, `socket closed ${s.closedAt - out.failedAt} ms after the failure`);
          }
        }
        if (c.op === 'close') {
          assert.ok(out.closeMs < 1000, `close() took ${out.closeMs} ms`);
          return;
        }
        // Local events unchanged by the failure (a successful pull may add remote ones only).
        assert.equal(out.after.count, out.before.count);
        assert.equal(out.after.levels, out.before.levels);
        assert.equal(out.after.unsynced, out.before.unsynced);
        // Memory: the stack pointer exactly back, the heap not grown past the slack.
        assert.equal(out.after.stack, out.before.stack, 'the wasm stack pointer moved');
        assert.ok(out.after.heapBytes - out.before.heapBytes <= HEAP_SLACK, `heap grew by ${out.after.heapBytes - out.before.heapBytes}`);
        // What the allocator holds: back near where it was (the failed run's result and error are
        // kept in the sync state). A successful pull keeps what it pulled.
        if (!c.pulled) assert.ok(out.after.inUse - out.before.inUse <= IN_USE_SLACK, `${out.after.inUse - out.before.inUse} more bytes allocated`);
        // The next sync against the good server: everything arrives once.
        assert.equal(out.final.ok, true, `the good sync failed: ${out.final.code} ${out.final.message}`);
        assert.equal(out.final.unsynced, 0);
        assert.equal(out.final.onServer, 3, 'events lost or doubled on the server');
        assert.equal(out.final.distinctOnServer, 3);
      } finally {
        await hostile.close();
        await other.close();
      }
    });
  }
});
