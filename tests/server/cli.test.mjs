// The CLI as a child process: start, printed URL and credentials, add-user, env vars, and a
// SIGKILL in the middle of a large push (the batch is stored entirely or not at all).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { api, login, makeEvent, pullAll, tempDir } from './helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(here, '..', '..', 'web', 'server', 'cli.js');

const children = new Set();
const dirs = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function newDataDir() {
  const d = tempDir('dc-cli-test-');
  dirs.push(d);
  return d;
}

// Starts the CLI; resolves once it printed its URL. `waitFor(re)` resolves on a later stdout line.
function startCli(args, env = {}) {
  const child = spawn(process.execPath, [CLI, '--host', '127.0.0.1', '--port', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  let err = '';
  const waiters = [];
  child.stdout.on('data', (d) => {
    out += d;
    for (const w of [...waiters]) {
      const m = w.re.exec(out.slice(w.from));
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    children.delete(child);
    resolve({ code, signal });
  }));
  const waitFor = (re, timeoutMs = 20000, from = 0) =>
    new Promise((resolve, reject) => {
      const m = re.exec(out.slice(from));
      if (m) return resolve(m);
      const w = { re, from, resolve };
      waiters.push(w);
      setTimeout(() => reject(new Error(`timed out waiting for ${re}; stdout: ${out} stderr: ${err}`)), timeoutMs).unref();
      exited.then(() => setTimeout(() => reject(new Error(`exited before ${re}; stdout: ${out} stderr: ${err}`)), 50));
    });
  const ready = waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/).then((m) => m[1]);
  return { child, ready, waitFor, exited, output: () => out, mark: () => out.length, errors: () => err };
}

test('npm run server: prints URL and demo credentials; env changes them; add-user adds a user', async () => {
  const dataDir = newDataDir();
  const add = spawnSync(process.execPath, [CLI, 'add-user', 'field@example.org', 's3cret-pw', '--data', dataDir], { encoding: 'utf8', timeout: 30000 });
  assert.equal(add.status, 0, add.stderr);
  assert.match(add.stdout, /field@example\.org/);
  assert.ok(!add.stdout.includes('s3cret-pw'));
  const bad = spawnSync(process.execPath, [CLI, 'add-user', 'x@example.org', 'pw', '--config-ids', 'nope', '--data', dataDir], { encoding: 'utf8', timeout: 30000 });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /Unknown configId: nope/);

  const srv = startCli(['--data', dataDir], { DC_DEMO_EMAIL: 'boss@example.org', DC_DEMO_PASSWORD: 'changed-pw' });
  const url = await srv.ready;
  assert.match(srv.output(), /demo user: boss@example\.org \/ changed-pw/);
  assert.equal(typeof (await login(url, 'boss@example.org', 'changed-pw')), 'string');
  const t = await login(url, 'field@example.org', 's3cret-pw');
  assert.equal((await api(url, '/api/users/check-token', { token: t })).status, 200);
  srv.child.kill('SIGTERM');
  const { code } = await srv.exited;
  assert.equal(code, 0);
  assert.equal(fs.statSync(path.join(dataDir, 'jwt-secret')).mode & 0o777, 0o600);
});

test('DC_PORT / DC_DATA_DIR / DC_JWT_SECRET are honoured (flags win)', async () => {
  const dataDir = newDataDir();
  const srv = startCli([], { DC_DATA_DIR: dataDir, DC_JWT_SECRET: 'env-secret-env-secret-env-secret-0123' });
  const url = await srv.ready;
  const t = await login(url);
  const jwt = (await import('jsonwebtoken')).default;
  assert.doesNotThrow(() => jwt.verify(t, 'env-secret-env-secret-env-secret-0123'));
  assert.ok(fs.existsSync(path.join(dataDir, 'sync-server.sqlite')));
  srv.child.kill('SIGTERM');
  await srv.exited;
});

// Sends a push with node:http so a killed server shows up as an error, not a hang.
function rawPush(url, token, bodyText) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const req = http.request(
      { host: hostname, port, path: '/api/sync/push', method: 'POST', timeout: 60000, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(bodyText) } },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, text }));
        res.on('error', (e) => resolve({ error: e.code || e.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: e.code || e.message }));
    req.end(bodyText);
  });
}

test('SIGKILL during a large push: after restart the batch is stored entirely or not at all', { timeout: 240000 }, async () => {
  const dataDir = newDataDir();
  const wal = path.join(dataDir, 'sync-server.sqlite-wal');
  const N = 10000;
  const batches = [];
  const outcomes = [];
  // Kill at different moments after the server announced it is storing the batch (inside the
  // transaction), and once after the answer (an acknowledged batch must survive a SIGKILL).
  // 'wal-growing': as soon as the write-ahead log grows by 1 MB, i.e. while SQLite is writing the
  // batch's pages.
  const kills = [0, 50, 'wal-growing', 'after-response'];
  for (let round = 0; round < kills.length; round++) {
    const srv = startCli(['--data', dataDir]);
    const url = await srv.ready;
    const token = await login(url);
    const events = Array.from({ length: N }, (_, i) => makeEvent({ data: { batch: round, i, padding: 'p'.repeat(400) } }));
    batches.push(events);
    const from = srv.mark();
    const pushed = rawPush(url, token, JSON.stringify({ configId: 'default', events }));
    const walSize = () => (fs.existsSync(wal) ? fs.statSync(wal).size : 0);
    if (kills[round] === 'after-response') {
      const r = await pushed;
      assert.equal(r.status, 200);
    } else if (kills[round] === 'wal-growing') {
      const before = walSize();
      const deadline = Date.now() + 30000;
      while (walSize() < before + 1024 * 1024 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    } else {
      await srv.waitFor(new RegExp(`storing=${N}`), 60000, from);
      if (kills[round]) await new Promise((r) => setTimeout(r, kills[round]));
    }
    const walBytes = walSize();
    srv.child.kill('SIGKILL');
    const exit = await srv.exited;
    assert.equal(exit.signal, 'SIGKILL');
    const res = await pushed;
    outcomes.push({ kill: kills[round], walBytesAtKill: walBytes, response: res.error ?? res.status });
  }

  // Restart on the same data dir: every batch is all there or absent, and the server works.
  const srv = startCli(['--data', dataDir]);
  const url = await srv.ready;
  const token = await login(url);
  const { events } = await pullAll(url, token, { limit: 1000 });
  const perBatch = batches.map((_, b) => events.filter((e) => e.data.batch === b).length);
  outcomes.forEach((o, b) => (o.storedAfterRestart = perBatch[b]));
  console.log(`# SIGKILL outcomes: ${JSON.stringify(outcomes)}`);
  for (const n of perBatch) assert.ok(n === 0 || n === N, `partial batch stored: ${n} of ${N}`);
  assert.equal(perBatch[kills.length - 1], N, 'an acknowledged batch was lost');
  assert.equal(new Set(events.map((e) => e.guid)).size, events.length);

  // Resending every batch completes them, without duplicates.
  for (const batch of batches) {
    const r = await rawPush(url, token, JSON.stringify({ configId: 'default', events: batch }));
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.text).accepted.length, N);
  }
  const after = await pullAll(url, token, { limit: 1000 });
  assert.equal(after.events.length, N * batches.length);
  assert.equal(new Set(after.events.map((e) => e.guid)).size, N * batches.length);
  srv.child.kill('SIGTERM');
  await srv.exited;
});
