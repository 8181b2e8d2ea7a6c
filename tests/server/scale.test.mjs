// Several server processes on one database (PostgreSQL, or one SQLite file: DC_TEST_DATABASE):
// 20 clients of the package (js/), each talking to one of 4 processes, submit forms and sync
// concurrently for a bounded number of rounds (and time). Afterwards every client, and a fresh
// one, hold every event exactly once and identical entities. Prints the throughput.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { open } from '../../js/index.js';
import { DEMO_USER, entitySnapshot, form } from '../js/helpers/env.mjs';
import { api, login, newStorage, onPostgres, pullAll } from './helpers.mjs';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'server', 'cli.js');
const PROCESSES = 4;
const CLIENTS = 20;
const ROUNDS = 4;
const FORMS_PER_ROUND = 5;
const SHARED = 5; // entities every client updates, so their edits meet on the server
const TIME_BUDGET_MS = 120_000;

const children = new Set();
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

function startProcess(args) {
  const child = spawn(process.execPath, [CLI, '--host', '127.0.0.1', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.on('exit', (code) => (children.delete(child), resolve(code))));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start within 30 s: ${out} ${err}`)), 30000);
    child.stdout.on('data', () => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    exited.then(() => reject(new Error(`exited: ${err}`)));
  });
  return { child, ready, exited, stop: () => (child.kill('SIGTERM'), exited) };
}

async function requestsOf(url, route) {
  const text = (await api(url, '/metrics')).text;
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`dc_http_requests_total{route="${route}"`) && line.includes('status="200"')) n += Number(line.split(' ').pop());
  }
  return n;
}

test(`${PROCESSES} server processes on one database, ${CLIENTS} package clients x ${ROUNDS} rounds: every client and a fresh one hold every event once and identical entities`, { timeout: 300000 }, async () => {
  const storage = await newStorage();
  const procs = [];
  const clients = [];
  try {
    // Started together: the migration lock and the seed's "create if absent" are exercised too.
    for (let p = 0; p < PROCESSES; p++) procs.push(startProcess([...storage.args, '--seed-demo']));
    const urls = await Promise.all(procs.map((p) => p.ready));
    for (let c = 0; c < CLIENTS; c++) {
      const store = await open({ name: `scale-${c}`, storage: 'memory', syncServerUrl: urls[c % PROCESSES], userId: `client-${c}` });
      clients.push(store);
      await store.syncManager.login(DEMO_USER.email, DEMO_USER.password);
    }
    // The shared entities, created by the first client and synced to the server.
    const shared = Array.from({ length: SHARED }, (_, i) => `shared-${i}`);
    for (const guid of shared) await clients[0].eventApplierService.submitForm(form('create-individual', guid, { name: `Shared ${guid}` }));
    await clients[0].syncManager.sync();
    let submitted = SHARED;

    const started = performance.now();
    const pullsBefore = (await Promise.all(urls.map((u) => requestsOf(u, '/api/sync/pull')))).reduce((a, b) => a + b, 0);
    let rounds = 0;
    const errors = [];
    await Promise.all(
      clients.map(async (store, c) => {
        for (let round = 0; round < ROUNDS; round++) {
          if (performance.now() - started > TIME_BUDGET_MS) break;
          for (let f = 0; f < FORMS_PER_ROUND; f++) {
            const input =
              f % 2
                ? form('update-individual', shared[(c + round + f) % SHARED], { [`c${c}`]: round, last: `${c}/${round}/${f}` })
                : form('create-individual', `c${c}-r${round}-f${f}`, { name: `Person ${c}.${round}.${f}` });
            await store.eventApplierService.submitForm(input);
            submitted++;
          }
          try {
            await store.syncManager.sync();
          } catch (e) {
            errors.push(`client ${c} round ${round}: ${e.code} ${e.message}`);
          }
          if (c === 0) rounds++;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const pulls = (await Promise.all(urls.map((u) => requestsOf(u, '/api/sync/pull')))).reduce((a, b) => a + b, 0) - pullsBefore;
    assert.deepEqual(errors, []);

    // Catch up: each client syncs until it has nothing left (bounded).
    for (const store of clients) {
      for (let i = 0; i < 3; i++) {
        await store.syncManager.sync();
        if ((await store.eventStore.getAllEvents()).length === submitted) break;
      }
    }
    const fresh = await open({ name: 'scale-fresh', storage: 'memory', syncServerUrl: urls[1], userId: 'fresh' });
    clients.push(fresh);
    await fresh.syncManager.login(DEMO_USER.email, DEMO_USER.password);
    await fresh.syncManager.sync();

    const token = await login(urls[2]);
    const onServer = (await pullAll(urls[2], token, { limit: 1000 })).events.map((e) => e.guid);
    assert.equal(onServer.length, submitted);
    assert.equal(new Set(onServer).size, submitted, 'the server stored an event twice');

    const reference = await entitySnapshot(fresh);
    assert.equal(reference.length, SHARED + CLIENTS * ROUNDS * Math.ceil(FORMS_PER_ROUND / 2));
    for (const [i, store] of clients.entries()) {
      const events = await store.eventStore.getAllEvents();
      assert.equal(events.length, submitted, `client ${i} holds ${events.length} of ${submitted} events`);
      assert.equal(new Set(events.map((e) => e.guid)).size, submitted, `client ${i} holds an event twice`);
      assert.equal(await store.syncManager.getUnsyncedEventsCount(), 0);
      assert.deepEqual(await entitySnapshot(store), reference, `client ${i} differs`);
    }
    console.log(
      `# scale (${onPostgres ? 'PostgreSQL' : 'SQLite'}): ${PROCESSES} processes, ${CLIENTS} clients, ${rounds} rounds: ` +
        `${submitted} events in ${seconds.toFixed(2)} s: ${Math.round((submitted - SHARED) / seconds)} events/s pushed, ` +
        `${Math.round(pulls / seconds)} pulls/s (${pulls} pull requests)`,
    );
  } finally {
    for (const store of clients) await store.close().catch(() => {});
    await Promise.all(procs.map((p) => p.stop()));
    await storage.cleanup();
  }
});
