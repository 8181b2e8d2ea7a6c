// A Node process using the package exits as soon as its work is done: no timer or socket is left
// armed after close() (docs/protocol.md, 'Transport').
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startReferenceServer } from './helpers/env.mjs';

const CHILD = fileURLToPath(new URL('./helpers/readme-child.mjs', import.meta.url));
let server;
before(async () => { server = await startReferenceServer(); });
after(async () => { await server?.close(); });

// Runs a child to its end; `closedAt` is the time it printed as "closed <ms>", exitedAt when it ended.
async function runChild(args) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c)));
  const exitedAt = Date.now();
  assert.equal(code, 0, stderr);
  const closedAt = Number(/closed (\d+)/.exec(stdout)?.[1]);
  assert.ok(closedAt > 0, `no "closed" line: ${stdout}`);
  return { stdout, livedMs: exitedAt - closedAt };
}

test('the README example exits within 1 s of close()', { timeout: 30000 }, async () => {
  const { livedMs } = await runChild([CHILD, server.url]);
  assert.ok(livedMs < 1000, `the process lived ${livedMs} ms after close()`);
});

test('a process closing its store during a request (and during a backoff) exits within 1 s of close()', { timeout: 30000 }, async () => {
  const http = await import('node:http');
  let calls = 0;
  // Answers the first request 503 (a retry backoff follows), then never answers.
  const hanging = http.createServer((req, res) => {
    if (calls++ === 0) {
      res.writeHead(503);
      res.end();
    }
  });
  await new Promise((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${hanging.address().port}`;
  const entry = new URL('../../js/index.js', import.meta.url).href;
  for (const [label, options] of [['backoff', { backoffBaseMs: 20000 }], ['request', { backoffBaseMs: 1 }]]) {
    calls = 0;
    const script = `
      import { open } from ${JSON.stringify(entry)};
      const store = await open({ name: 'x', storage: 'memory', syncServerUrl: ${JSON.stringify(url)}, authToken: 't',
        sync: ${JSON.stringify(options)} });
      store.syncManager.sync().catch((e) => process.stdout.write('sync ' + e.code + '\\n'));
      await new Promise((resolve) => setTimeout(resolve, 300));
      await store.close();
      process.stdout.write('closed ' + Date.now() + '\\n');`;
    const { stdout, livedMs } = await runChild(['--input-type=module', '-e', script]);
    assert.match(stdout, /sync CLOSED/, `${label}: ${stdout}`);
    assert.ok(livedMs < 1000, `${label}: the process lived ${livedMs} ms after close()`);
  }
  hanging.closeAllConnections();
  await new Promise((resolve) => hanging.close(resolve));
});
