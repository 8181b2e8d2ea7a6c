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

test('the README example exits within 1 s of close()', { timeout: 30000 }, async () => {
  const child = spawn(process.execPath, [CHILD, server.url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c)));
  const exitedAt = Date.now();
  assert.equal(code, 0, stderr);
  const closedAt = Number(/closed (\d+)/.exec(stdout)?.[1]);
  assert.ok(closedAt > 0, `no "closed" line: ${stdout}`);
  assert.ok(exitedAt - closedAt < 1000, `the process lived ${exitedAt - closedAt} ms after close()`);
});
