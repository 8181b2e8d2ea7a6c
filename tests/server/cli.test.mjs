// The CLI as a child process, on SQLite or PostgreSQL (DC_TEST_DATABASE): start, printed URL,
// the demo account only when asked, add-user, migrate, env vars, SIGTERM (graceful) and SIGKILL
// in the middle of a large push (the batch is stored entirely or not at all; a retry through
// another process completes it exactly once).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { api, login, makeEvent, newStorage, onPostgres, pullAll } from './helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(here, '..', '..', 'web', 'server', 'cli.js');

const children = new Set();
const storages = [];
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all([...children].map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode ? r() : c.once('exit', r)))));
  for (const st of storages) await st.cleanup();
});

async function storage() {
  const st = await newStorage();
  storages.push(st);
  return st;
}

function runCli(args, env = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30000, env: { ...process.env, ...env } });
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

test('the plain server command creates no account; --seed-demo creates the demo account and prints only the default password', async () => {
  const st = await storage();
  const plain = startCli(st.args);
  const url = await plain.ready;
  assert.match(plain.output(), /demo user: none/);
  assert.equal((await api(url, '/api/users/login', { method: 'POST', body: { email: 'demo@example.org', password: 'demo-password' } })).status, 401);
  plain.child.kill('SIGTERM');
  assert.equal((await plain.exited).code, 0);

  const seeded = startCli([...st.args, '--seed-demo']);
  const url2 = await seeded.ready;
  assert.match(seeded.output(), /demo user: demo@example\.org \/ demo-password/);
  assert.equal(typeof (await login(url2)), 'string');
  seeded.child.kill('SIGTERM');
  await seeded.exited;
});

test('an operator\'s password change of the demo account survives restarts with --seed-demo; a custom password is never printed', async () => {
  const st = await storage();
  const first = startCli([...st.args, '--seed-demo'], { DC_DEMO_EMAIL: 'boss@example.org', DC_DEMO_PASSWORD: 'changed-pw-Secret' });
  const url = await first.ready;
  assert.match(first.output(), /demo user: boss@example\.org \(password not shown\)/);
  assert.ok(!first.output().includes('changed-pw-Secret'), 'a custom demo password was printed');
  assert.equal(typeof (await login(url, 'boss@example.org', 'changed-pw-Secret')), 'string');
  first.child.kill('SIGTERM');
  await first.exited;

  const change = runCli(['add-user', 'boss@example.org', 'operator-pw-2', ...st.args]);
  assert.equal(change.status, 0, change.stderr);
  const again = startCli([...st.args, '--seed-demo'], { DC_DEMO_EMAIL: 'boss@example.org', DC_DEMO_PASSWORD: 'changed-pw-Secret' });
  const url2 = await again.ready;
  assert.match(again.output(), /existing account, unchanged/);
  assert.ok(!again.output().includes('operator-pw-2') && !again.output().includes('changed-pw-Secret'));
  assert.equal(typeof (await login(url2, 'boss@example.org', 'operator-pw-2')), 'string');
  const old = await api(url2, '/api/users/login', { method: 'POST', body: { email: 'boss@example.org', password: 'changed-pw-Secret' } });
  assert.equal(old.status, 401, 'the seed reverted the operator\'s password');
  again.child.kill('SIGTERM');
  await again.exited;
});

test('add-user adds a user, never prints the password, refuses unknown configIds and passwords over 72 bytes', async () => {
  const st = await storage();
  const add = runCli(['add-user', 'field@example.org', 's3cret-pw', ...st.args]);
  assert.equal(add.status, 0, add.stderr);
  assert.match(add.stdout, /field@example\.org/);
  assert.ok(!add.stdout.includes('s3cret-pw'));
  const bad = runCli(['add-user', 'x@example.org', 'pw', '--config-ids', 'nope', ...st.args]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /Unknown configId: nope/);
  // bcrypt ignores everything after byte 72: such a password is refused, not silently truncated.
  const long = 'p'.repeat(72) + 'tail';
  const tooLong = runCli(['add-user', 'long@example.org', long, ...st.args]);
  assert.notEqual(tooLong.status, 0);
  assert.match(tooLong.stderr, /longer than 72 bytes/);
  // Multi-byte characters count by bytes: 25 x 3 bytes = 75 bytes.
  assert.match(runCli(['add-user', 'long@example.org', '€'.repeat(25), ...st.args]).stderr, /longer than 72 bytes/);

  const exactly72 = 'q'.repeat(72);
  assert.equal(runCli(['add-user', 'edge@example.org', exactly72, ...st.args]).status, 0);
  const srv = startCli(st.args);
  const url = await srv.ready;
  assert.equal(typeof (await login(url, 'field@example.org', 's3cret-pw')), 'string');
  assert.equal(typeof (await login(url, 'edge@example.org', exactly72)), 'string');
  // A password that equals the stored one in its first 72 bytes only must not log in.
  const r = await api(url, '/api/users/login', { method: 'POST', body: { email: 'edge@example.org', password: `${exactly72}extra` } });
  assert.equal(r.status, 401);
  srv.child.kill('SIGTERM');
  await srv.exited;
});

test('migrate applies the schema and reports it; a second run has nothing to do', async () => {
  const st = await storage();
  const first = runCli(['migrate', ...st.args]);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /schema migrated from version 0 to \d+/);
  const second = runCli(['migrate', ...st.args]);
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, /nothing to do/);
  if (st.databaseUrl) assert.ok(!first.stdout.includes(st.databaseUrl));
});

test('DC_PORT / DC_DATA_DIR / DC_DATABASE_URL / DC_JWT_SECRET are honoured; a DC_JWT_SECRET under 32 bytes is refused', async () => {
  const st = await storage();
  const env = { DC_DATA_DIR: st.dataDir, ...(st.databaseUrl ? { DC_DATABASE_URL: st.databaseUrl } : {}) };
  const srv = startCli(['--seed-demo'], { ...env, DC_JWT_SECRET: 'env-secret-env-secret-env-secret-0123' });
  const url = await srv.ready;
  const t = await login(url);
  const jwt = (await import('jsonwebtoken')).default;
  assert.doesNotThrow(() => jwt.verify(t, 'env-secret-env-secret-env-secret-0123'));
  if (!st.databaseUrl) assert.ok(fs.existsSync(path.join(st.dataDir, 'sync-server.sqlite')));
  srv.child.kill('SIGTERM');
  await srv.exited;

  const weak = startCli([], { ...env, DC_JWT_SECRET: 'x'.repeat(31) });
  weak.ready.catch(() => {}); // it must not get there
  const exit = await weak.exited;
  assert.equal(exit.code, 1);
  assert.match(weak.errors(), /DC_JWT_SECRET must be at least 32 bytes/);
  assert.ok(!weak.errors().includes('x'.repeat(31)), 'the secret was printed');
});

test('logs are JSON lines without tokens or passwords', async () => {
  const st = await storage();
  const srv = startCli([...st.args, '--seed-demo']);
  const url = await srv.ready;
  const t = await login(url);
  await api(url, '/api/users/login', { method: 'POST', body: { email: 'demo@example.org', password: 'Wrong-Sentinel-Pw' } });
  await api(url, '/api/sync/pull?since=&configId=default', { token: t });
  srv.child.kill('SIGTERM');
  await srv.exited;
  const lines = srv.output().split('\n').filter((l) => l.startsWith('{'));
  assert.ok(lines.length >= 3, srv.output());
  const entries = lines.map((l) => JSON.parse(l));
  assert.ok(entries.some((e) => e.msg === 'request' && e.path === '/api/sync/pull' && e.status === 200 && typeof e.ms === 'number'));
  const all = srv.output() + srv.errors();
  for (const secret of [t, t.split('.')[2], 'demo-password', 'Wrong-Sentinel-Pw']) {
    if (secret === 'demo-password') assert.ok(!lines.join('\n').includes(secret));
    else assert.ok(!all.includes(secret), 'a secret reached the log');
  }
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
  const st = await storage();
  const wal = path.join(st.dataDir, 'sync-server.sqlite-wal');
  const N = 2000; // the largest push the server accepts (DEFAULT_MAX_ENTRIES_PER_PUSH)
  const batches = [];
  const outcomes = [];
  // Kill at different moments after the server announced it is storing the batch (inside the
  // transaction), and once after the answer (an acknowledged batch must survive a SIGKILL).
  // 'wal-growing' (SQLite): as soon as the write-ahead log grows by 1 MB, i.e. while SQLite is
  // writing the batch's pages.
  const kills = onPostgres ? [0, 50, 200, 'after-response'] : [0, 50, 'wal-growing', 'after-response'];
  for (let round = 0; round < kills.length; round++) {
    const srv = startCli([...st.args, '--seed-demo']);
    const url = await srv.ready;
    const token = await login(url);
    const events = Array.from({ length: N }, (_, i) => makeEvent({ data: { batch: round, i, padding: 'p'.repeat(2000) } }));
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
      await srv.waitFor(new RegExp(`"storing":${N}`), 60000, from);
      if (kills[round]) await new Promise((r) => setTimeout(r, kills[round]));
    }
    const walBytes = walSize();
    srv.child.kill('SIGKILL');
    const exit = await srv.exited;
    assert.equal(exit.signal, 'SIGKILL');
    const res = await pushed;
    outcomes.push({ kill: kills[round], walBytesAtKill: walBytes, response: res.error ?? res.status });
  }

  // Restart on the same storage: every batch is all there or absent, and the server works.
  const srv = startCli(st.args);
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

test('SIGTERM: stops accepting, finishes the push in flight (answered 200, stored), closes the database, exits 0', { timeout: 120000 }, async () => {
  const st = await storage();
  const srv = startCli([...st.args, '--seed-demo']);
  const url = await srv.ready;
  const token = await login(url);
  const N = 2000;
  const events = Array.from({ length: N }, (_, i) => makeEvent({ data: { i, padding: 'p'.repeat(1000) } }));
  const from = srv.mark();
  const pushed = rawPush(url, token, JSON.stringify({ configId: 'default', events }));
  await srv.waitFor(/"storing":2000/, 60000, from);
  srv.child.kill('SIGTERM');
  const res = await pushed;
  assert.equal(res.status, 200, JSON.stringify(res).slice(0, 300));
  assert.equal(JSON.parse(res.text).accepted.length, N);
  const exit = await srv.exited;
  assert.equal(exit.code, 0, srv.errors());
  assert.match(srv.output(), /"msg":"stopped"/);
  // Stopped accepting: nothing listens any more.
  const refused = await fetch(url + '/healthz', { signal: AbortSignal.timeout(5000) }).then(() => 'answered', (e) => e.cause?.code || e.name);
  assert.notEqual(refused, 'answered');
  const again = startCli(st.args);
  const url2 = await again.ready;
  const all = await pullAll(url2, await login(url2), { limit: 1000 });
  assert.equal(all.events.length, N);
  again.child.kill('SIGTERM');
  await again.exited;
});

test('two processes on one database: kill -9 of one mid-push loses nothing acknowledged; the retry through the other completes exactly once', { timeout: 180000 }, async () => {
  const st = await storage();
  const a = startCli([...st.args, '--seed-demo']);
  const b = startCli(st.args);
  const [urlA, urlB] = await Promise.all([a.ready, b.ready]);
  // One login serves both processes: the JWT secret is shared through the storage.
  const token = await login(urlA);
  assert.equal((await api(urlB, '/api/users/check-token', { token })).status, 200);

  const acked = Array.from({ length: 500 }, (_, i) => makeEvent({ data: { acked: i } }));
  assert.equal((await rawPush(urlA, token, JSON.stringify({ configId: 'default', events: acked }))).status, 200);
  const N = 2000;
  const batch = Array.from({ length: N }, (_, i) => makeEvent({ data: { i, padding: 'p'.repeat(2000) } }));
  const from = a.mark();
  const inFlight = rawPush(urlA, token, JSON.stringify({ configId: 'default', events: batch }));
  await a.waitFor(new RegExp(`"storing":${N}`), 60000, from);
  a.child.kill('SIGKILL');
  assert.equal((await a.exited).signal, 'SIGKILL');
  const lost = await inFlight;
  assert.ok(lost.error || lost.status === 200, JSON.stringify(lost));

  // The client retries the same batch through the other process.
  const retry = await rawPush(urlB, token, JSON.stringify({ configId: 'default', events: batch }));
  assert.equal(retry.status, 200);
  assert.deepEqual(JSON.parse(retry.text).accepted, batch.map((e) => e.guid));
  const { events } = await pullAll(urlB, token, { limit: 1000 });
  assert.equal(events.length, acked.length + N);
  assert.equal(new Set(events.map((e) => e.guid)).size, events.length, 'an event was stored twice');
  const have = new Set(events.map((e) => e.guid));
  assert.ok([...acked, ...batch].every((e) => have.has(e.guid)), 'an acknowledged or retried event is missing');
  b.child.kill('SIGTERM');
  await b.exited;
});
