// The existing (original DataCollect) sync server, end to end (docs/protocol.md, 'The original
// server'): the fake reproduces its observed wire behaviours (checked first, raw), then a full
// sync() completes against it, an audit-log failure does not undo a sync, and ties at a page
// boundary are recovered or reported (`possiblySkipped`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { open } from '../../js/index.js';
import { DEMO_USER, form } from './helpers/env.mjs';
import { startOriginalServer } from './helpers/original-server.mjs';

let server;
before(async () => {
  server = await startOriginalServer();
});
after(async () => {
  await server?.close();
});

async function call(method, path, { token, body, raw } = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(server.url + path, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}
async function rawLogin() {
  const r = await call('POST', '/api/users/login', { body: DEMO_USER });
  return JSON.parse(r.text);
}
const event = (guid, timestamp, name = guid) => ({ guid, entityGuid: `ind-${guid}`, type: 'create-individual', data: { name },
  timestamp, userId: 'zed', syncLevel: 0 });

const TIE = '2024-05-01T09:00:00.000Z';

// `before` events just before TIE, `tied` on TIE, `after` just after it.
function seedTies(s, before, tied, after) {
  const at = (ms) => new Date(Date.parse(TIE) + ms).toISOString();
  for (let i = 0; i < before; i++) s.seed(event(`a${i}`, at(-1000 + i)));
  for (let i = 0; i < tied; i++) s.seed(event(`t${i}`, TIE));
  for (let i = 0; i < after; i++) s.seed(event(`z${i}`, at(1000 + i)));
}

// A fresh memory store logs in and syncs once: how many events it then holds, and the result.
async function syncFreshStore(url) {
  const store = await open({ name: `ties-${randomUUID()}`, storage: 'memory', syncServerUrl: url });
  try {
    await store.syncManager.login(DEMO_USER.email, DEMO_USER.password);
    const result = await store.syncManager.sync();
    return { stored: (await store.eventStore.getAllEvents()).length, result };
  } finally {
    await store.close();
  }
}

test('the fake behaves as the original server was observed to', async () => {
  const { token, userId } = await rawLogin();
  assert.equal(typeof userId, 'number');
  const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
  assert.equal(payload.exp, undefined, 'tokens carry no exp');
  let r = await call('GET', '/api/sync/pull/audit-logs?since=', { token });
  assert.equal(r.status, 500);
  assert.match(r.type, /html/);
  r = await call('GET', `/api/sync/pull/audit-logs?since=${encodeURIComponent('1970-01-01T00:00:00.000Z')}`, { token });
  assert.equal(r.status, 200);
  assert.ok(Array.isArray(JSON.parse(r.text)));
  r = await call('POST', '/api/sync/push', { token, body: { configId: 'x', events: [{ nonsense: true }] } });
  assert.deepEqual([r.status, JSON.parse(r.text)], [200, { status: 'success' }], 'success whatever happened');
  r = await call('POST', '/api/sync/push', { token, body: { events: [null] } });
  assert.deepEqual([r.status, /html/.test(r.type)], [500, true]);
  r = await call('POST', '/api/sync/push', { token, raw: JSON.stringify({ events: [{ pad: 'x'.repeat(110 * 1024) }] }) });
  assert.deepEqual([r.status, /html/.test(r.type)], [413, true]);
  r = await call('POST', '/api/sync/push', { token, raw: '{"events": [' });
  assert.deepEqual([r.status, /html/.test(r.type), /SyntaxError/.test(r.text)], [400, true, true]);
  r = await call('GET', '/api/nowhere', { token });
  assert.deepEqual([r.status, /html/.test(r.type)], [404, true]);
});

test('the fake pages as the original: 23 events with 12 on one timestamp arrive raw as 10 + 10 + 1', async () => {
  const s = await startOriginalServer();
  try {
    seedTies(s, 10, 12, 1);
    const login = await (await fetch(`${s.url}/api/users/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(DEMO_USER) })).json();
    const sizes = [];
    let since = '';
    for (;;) {
      const page = await (await fetch(`${s.url}/api/sync/pull?since=${encodeURIComponent(since)}&configId=default&limit=500`, { headers: { Authorization: `Bearer ${login.token}` } })).json();
      sizes.push(page.events.length);
      if (!page.nextCursor) break;
      since = page.nextCursor;
    }
    assert.deepEqual(sizes, [10, 10, 1]);

    // The package recovers what the protocol allows and says when it could not.
    const { stored, result } = await syncFreshStore(s.url);
    assert.equal(stored, 21, '10 of the 12 tied (a 10-event page holds no more) + 11 others');
    assert.equal(result.possiblySkipped, true);
  } finally {
    await s.close();
  }
});

test('ties at a page boundary smaller than a page are all recovered (the original client loses them)', async () => {
  const s = await startOriginalServer();
  try {
    seedTies(s, 5, 9, 4);
    const { stored, result } = await syncFreshStore(s.url);
    assert.equal(stored, 18);
    assert.equal(result.possiblySkipped, undefined);
  } finally {
    await s.close();
  }
});

test('a full sync() (login, push, audit push, pull, audit pull) completes; a second device gets events and audit trail', async () => {
  const a = await open({ name: `orig-a-${randomUUID()}`, storage: 'memory', syncServerUrl: server.url });
  const b = await open({ name: `orig-b-${randomUUID()}`, storage: 'memory', syncServerUrl: server.url });
  try {
    const login = await a.syncManager.login(DEMO_USER.email, DEMO_USER.password);
    assert.equal(typeof login.userId, 'number');
    const guid = randomUUID();
    await a.eventApplierService.submitForm(form('create-individual', guid, { name: 'Original Person' }));
    const before = server.requests.length;
    const result = await a.syncManager.sync();
    assert.equal(result.pushed, 1);
    assert.equal(result.auditError, undefined);
    const paths = server.requests.slice(before).map((r) => `${r.method} ${r.path}`);
    for (const p of ['POST /api/sync/push', 'POST /api/sync/push/audit-logs', 'GET /api/sync/pull', 'GET /api/sync/pull/audit-logs'])
      assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
    const auditPull = server.requests.slice(before).find((r) => r.path === '/api/sync/pull/audit-logs');
    assert.notEqual(auditPull.query.since, '', 'never an empty since on the audit pull');
    assert.ok(server.audit.some((e) => e.entityGuid === guid && typeof e.userId === 'number'));

    await b.syncManager.login(DEMO_USER.email, DEMO_USER.password);
    await b.syncManager.sync();
    assert.ok(await b.entityStore.getEntity(guid));
    const trail = await b.eventStore.getAuditTrailByEntityGuid(guid);
    assert.ok(trail.length >= 1, 'the audit entries (numeric userId) are kept');
    assert.equal(await a.syncManager.getUnsyncedEventsCount(), 0);
  } finally {
    await a.close();
    await b.close();
  }
});

test('an audit-log step that fails keeps the sync: result.auditError, events synced, the next sync retries', async () => {
  const store = await open({ name: `audit-fail-${randomUUID()}`, storage: 'memory', syncServerUrl: server.url, sync: { maxAttempts: 1 } });
  try {
    await store.syncManager.login(DEMO_USER.email, DEMO_USER.password);
    const guid = randomUUID();
    await store.eventApplierService.submitForm(form('create-individual', guid, { name: 'Audit Person' }));
    server.faults.auditPush = 1;
    const result = await store.syncManager.sync();
    assert.equal(result.pushed, 1, 'the events went through');
    assert.equal(result.auditError?.code, 'SERVER_ERROR');
    assert.equal(result.auditError?.status, 500);
    assert.equal(await store.syncManager.getUnsyncedEventsCount(), 0);
    assert.ok(!server.audit.some((e) => e.entityGuid === guid));
    const again = await store.syncManager.sync();
    assert.equal(again.auditError, undefined);
    assert.ok(server.audit.some((e) => e.entityGuid === guid), 'retried on the next sync');
    server.faults.auditPull = 1;
    const pulled = await store.syncManager.sync();
    assert.equal(pulled.auditError?.code, 'SERVER_ERROR');
  } finally {
    server.faults.auditPull = 0;
    server.faults.auditPush = 0;
    await store.close();
  }
});
