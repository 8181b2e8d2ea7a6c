// Pull with a byte budget (`maxBytes`, docs/protocol.md, 'Response size'), on SQLite or
// PostgreSQL (DC_TEST_DATABASE): pages stop under the budget, an entry over it is a placeholder
// and the cursor moves past it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, login, makeEvent, push, startServer } from './helpers.mjs';

let s;
let token;
// Content is not what is tested here: accept every event as it is.
before(async () => {
  s = await startServer({ validateEvent: (e) => ({ ok: true, event: e }) });
  token = await login(s.url);
});
after(async () => s?.close());

const MAX = 16 * 1024;
const sized = (n, overrides = {}) => makeEvent({ data: { note: 'x'.repeat(n) }, ...overrides });

async function pullBudget(path, since, maxBytes, limit = 100) {
  const q = new URLSearchParams({ since, configId: 'default', limit: String(limit), maxBytes: String(maxBytes) });
  const r = await api(s.url, `${path}?${q}`, { token });
  assert.equal(r.status, 200, r.text);
  assert.ok(Buffer.byteLength(r.text) <= maxBytes || (r.json.events ?? r.json).length === 1, `page of ${Buffer.byteLength(r.text)} bytes over ${maxBytes}`);
  return r;
}

test('events pull: pages stop under maxBytes, an event over it is a placeholder, the cursor moves past it', async () => {
  const first = await api(s.url, '/api/sync/pull?since=&configId=default', { token });
  const start = first.json.cursor;
  const normal = Array.from({ length: 12 }, (_, i) => sized(3000, { guid: `n-${i}` }));
  const big = sized(40000, { guid: 'big-1', timestamp: '2024-05-01T10:00:07.000Z' });
  const events = [...normal.slice(0, 6), big, ...normal.slice(6)];
  assert.equal((await push(s.url, token, events)).status, 200);

  const got = [];
  let since = start;
  let pages = 0;
  for (; pages < 50; pages++) {
    const r = await pullBudget('/api/sync/pull', since, MAX);
    assert.ok(Buffer.byteLength(r.text) <= MAX, `page of ${Buffer.byteLength(r.text)} bytes over ${MAX}`);
    got.push(...r.json.events);
    since = r.json.cursor;
    if (r.json.nextCursor === null) break;
    assert.equal(r.headers.get('x-next-cursor'), r.json.nextCursor);
  }
  assert.ok(pages + 1 >= 3, `only ${pages + 1} pages: the budget did not stop them`);
  assert.deepEqual(got.map((e) => e.guid), events.map((e) => e.guid));
  const placeholder = got.find((e) => e.guid === 'big-1');
  assert.deepEqual(Object.keys(placeholder).sort(), ['guid', 'timestamp', 'tooLarge']);
  assert.equal(placeholder.timestamp, '2024-05-01T10:00:07.000Z');
  assert.ok(placeholder.tooLarge > 40000 && placeholder.tooLarge < 41000, String(placeholder.tooLarge));
  for (const e of got.filter((x) => x.guid !== 'big-1')) {
    assert.equal(e.syncLevel, 1);
    assert.equal(e.data.note.length, 3000);
  }
  // Without maxBytes the same range is served as before: the event itself, pages by limit only.
  const plain = await api(s.url, `/api/sync/pull?since=${start}&configId=default&limit=100`, { token });
  assert.equal(plain.json.events.length, 13);
  assert.equal(plain.json.events[6].data.note.length, 40000);
  assert.equal(plain.json.nextCursor, null);
});

test('events pull: a page holds at least one entry, `remaining` counts what the budget left out', async () => {
  const start = (await api(s.url, '/api/sync/pull?since=&configId=default', { token })).json.cursor;
  const events = [sized(5000), sized(5000), sized(5000)];
  assert.equal((await push(s.url, token, events)).status, 200);
  // Room for one 5 KB event only: one per page, two remaining after the first.
  const r = await pullBudget('/api/sync/pull', start, 6000);
  assert.equal(r.json.events.length, 1);
  assert.equal(r.json.remaining, 2);
  assert.notEqual(r.json.nextCursor, null);
  // A budget too small for even a placeholder still moves on by one entry.
  const tiny = await pullBudget('/api/sync/pull', start, 1);
  assert.equal(tiny.json.events.length, 1);
  assert.equal(tiny.json.events[0].guid, events[0].guid);
  assert.ok(tiny.json.events[0].tooLarge > 5000);
  // With an ISO `since` (time-filtered paging) the budget holds too.
  const iso = await pullBudget('/api/sync/pull', '2024-01-01T00:00:00.000Z', 12000);
  assert.ok(iso.json.events.length >= 1);
  assert.ok(Buffer.byteLength(iso.text) <= 12000);
  assert.notEqual(iso.json.nextCursor, null);
});

test('maxBytes that is not a positive integer is a 400', async () => {
  for (const bad of ['0', '-5', 'abc', '1.5']) {
    const r = await api(s.url, `/api/sync/pull?since=&configId=default&maxBytes=${bad}`, { token });
    assert.equal(r.status, 400, bad);
    assert.match(r.json.error, /maxBytes/);
  }
});

test('audit-log pull: the same budget, placeholders for an entry over it', async () => {
  const start = (await api(s.url, '/api/sync/pull/audit-logs?since=&configId=default', { token })).headers.get('x-cursor');
  const entries = Array.from({ length: 8 }, (_, i) => ({ guid: `a-${i}`, timestamp: '2024-05-01T10:00:00.000Z', note: 'y'.repeat(i === 3 ? 30000 : 3000) }));
  const r = await api(s.url, '/api/sync/push/audit-logs', { method: 'POST', token, body: { configId: 'default', auditLogs: entries } });
  assert.equal(r.status, 200, r.text);
  const got = [];
  let since = start;
  for (let pages = 0; pages < 20; pages++) {
    const p = await pullBudget('/api/sync/pull/audit-logs', since, 10000);
    assert.ok(Buffer.byteLength(p.text) <= 10000);
    got.push(...p.json);
    since = p.headers.get('x-cursor');
    if (!p.headers.get('x-next-cursor')) break;
  }
  assert.deepEqual(got.map((e) => e.guid), entries.map((e) => e.guid));
  assert.deepEqual(Object.keys(got[3]).sort(), ['guid', 'timestamp', 'tooLarge']);
  assert.equal(got[2].note.length, 3000);
});

test('audit-log pull with paged=1: {auditLogs, cursor, nextCursor}, followed to the end under the budget', async () => {
  const entries = Array.from({ length: 20 }, (_, i) => ({ guid: `p-${i}`, timestamp: '2024-06-01T10:00:00.000Z', note: 'z'.repeat(1000) }));
  const r = await api(s.url, '/api/sync/push/audit-logs', { method: 'POST', token, body: { configId: 'default', auditLogs: entries } });
  assert.equal(r.status, 200, r.text);
  // From a timestamp (what a client sends the first time), then by cursor.
  let since = '2024-05-15T00:00:00.000Z';
  const got = [];
  let pages = 0;
  for (; pages < 50; pages++) {
    const p = await pullBudget('/api/sync/pull/audit-logs', since, 6000, 1000);
    const q = new URLSearchParams({ since, configId: 'default', limit: '1000', maxBytes: '6000', paged: '1' });
    const paged = await api(s.url, `/api/sync/pull/audit-logs?${q}`, { token });
    assert.equal(paged.status, 200);
    assert.ok(Buffer.byteLength(paged.text) <= 6000);
    assert.deepEqual(paged.json.auditLogs, p.json, 'the same entries as the plain array');
    got.push(...paged.json.auditLogs);
    assert.equal(paged.json.cursor, paged.headers.get('x-cursor'));
    since = paged.json.cursor;
    if (paged.json.nextCursor === null) break;
  }
  assert.ok(pages + 1 >= 4, `${pages + 1} pages`);
  assert.deepEqual(got.map((e) => e.guid), entries.map((e) => e.guid));
});
