// The sync server's API (docs/protocol.md) over real HTTP on 127.0.0.1, on SQLite or PostgreSQL
// (DC_TEST_DATABASE, see helpers.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { hashPassword } from '../../web/server/auth.js';
import { api, login, makeEvent, newStorage, pullAll, push, secretOf, startServer, testValidator } from './helpers.mjs';

let s; // shared server for the tests that do not need special options
let token;

before(async () => {
  s = await startServer({ tenants: ['other'] });
  await s.server.db.upsertUser('other@example.org', await hashPassword('other-password', 4), ['other']);
  await s.server.db.upsertUser('both@example.org', await hashPassword('both-password', 4), ['default', 'other']);
  token = await login(s.url);
});
after(async () => {
  await s?.close();
});

async function freshServer(fn, opts = {}) {
  const f = await startServer(opts);
  try {
    await fn(f, await login(f.url));
  } finally {
    await f.close();
  }
}

// --- login and tokens --------------------------------------------------------------------------

test('login: 200 {token, userId}; HS256 token carrying configIds and a 12 h expiry', async () => {
  const r = await api(s.url, '/api/users/login', { method: 'POST', body: { email: 'demo@example.org', password: 'demo-password' } });
  assert.equal(r.status, 200);
  assert.equal(typeof r.json.token, 'string');
  assert.equal(typeof r.json.userId, 'string');
  const decoded = jwt.decode(r.json.token, { complete: true });
  assert.equal(decoded.header.alg, 'HS256');
  assert.deepEqual(decoded.payload.configIds, ['default']);
  assert.equal(decoded.payload.sub, r.json.userId);
  assert.ok(Math.abs(decoded.payload.exp - decoded.payload.iat - 12 * 3600) <= 1);
  // Emails are case-insensitive.
  const r2 = await api(s.url, '/api/users/login', { method: 'POST', body: { email: ' Demo@Example.ORG ', password: 'demo-password' } });
  assert.equal(r2.status, 200);
});

test('login: wrong password or unknown email -> 401 {message}; missing fields -> 400 JSON', async () => {
  for (const body of [
    { email: 'demo@example.org', password: 'wrong' },
    { email: 'nobody@example.org', password: 'demo-password' },
  ]) {
    const r = await api(s.url, '/api/users/login', { method: 'POST', body });
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, { message: 'Invalid email or password' });
  }
  for (const body of [{}, { email: 'demo@example.org' }, { email: 5, password: 'x' }]) {
    const r = await api(s.url, '/api/users/login', { method: 'POST', body });
    assert.equal(r.status, 400);
    assert.match(r.json.error, /email and password/);
  }
});

test('login is rate-limited per email (429 JSON with Retry-After), other emails unaffected', async () => {
  const rs = await startServer({ loginRateLimit: { windowMs: 60000, maxPerEmail: 3, maxPerIp: 100 } });
  try {
    for (let i = 0; i < 3; i++) {
      const r = await api(rs.url, '/api/users/login', { method: 'POST', body: { email: 'demo@example.org', password: `bad${i}` } });
      assert.equal(r.status, 401);
    }
    // Even the right password is refused while the email is locked.
    const r = await api(rs.url, '/api/users/login', { method: 'POST', body: { email: 'demo@example.org', password: 'demo-password' } });
    assert.equal(r.status, 429);
    assert.match(r.json.error, /Too many/);
    assert.ok(Number(r.headers.get('retry-after')) > 0);
    const other = await api(rs.url, '/api/users/login', { method: 'POST', body: { email: 'someone@example.org', password: 'x' } });
    assert.equal(other.status, 401);
  } finally {
    await rs.close();
  }
});

test('login is rate-limited per IP across emails', async () => {
  const rs = await startServer({ loginRateLimit: { windowMs: 60000, maxPerEmail: 100, maxPerIp: 3 } });
  try {
    for (let i = 0; i < 3; i++) {
      const r = await api(rs.url, '/api/users/login', { method: 'POST', body: { email: `u${i}@example.org`, password: 'x' } });
      assert.equal(r.status, 401);
    }
    const r = await api(rs.url, '/api/users/login', { method: 'POST', body: { email: 'demo@example.org', password: 'demo-password' } });
    assert.equal(r.status, 429);
    assert.equal(typeof r.json.error, 'string');
  } finally {
    await rs.close();
  }
});

test('check-token: 200 for a valid token; 401 {error} when missing, malformed, forged, alg none or expired', async () => {
  const ok = await api(s.url, '/api/users/check-token', { token });
  assert.equal(ok.status, 200);
  assert.equal(ok.json.valid, true);
  assert.deepEqual(ok.json.configIds, ['default']);

  const secret = await secretOf(s);
  const userId = jwt.decode(token).sub;
  const expired = jwt.sign({ sub: userId, configIds: ['default'], exp: Math.floor(Date.now() / 1000) - 60 }, secret, { algorithm: 'HS256' });
  const forged = jwt.sign({ sub: userId, configIds: ['default'] }, 'not-the-secret-not-the-secret-123', { algorithm: 'HS256', expiresIn: 60 });
  const none = jwt.sign({ sub: userId, configIds: ['default'] }, null, { algorithm: 'none' });
  const cases = [
    [{}, /Missing Authorization/],
    [{ headers: { Authorization: 'Basic abc' } }, /Bearer/],
    [{ token: 'garbage' }, /Invalid token/],
    [{ token: forged }, /Invalid token/],
    [{ token: none }, /Invalid token/],
    [{ token: expired }, /expired/],
  ];
  for (const [opts, re] of cases) {
    for (const p of ['/api/users/check-token', '/api/sync/pull?since=&configId=default']) {
      const r = await api(s.url, p, opts);
      assert.equal(r.status, 401, `${p} ${JSON.stringify(opts).slice(0, 40)}`);
      assert.match(r.json.error, re);
    }
    const r = await api(s.url, '/api/sync/push', { method: 'POST', body: { events: [], configId: 'default' }, ...opts });
    assert.equal(r.status, 401);
    assert.match(r.json.error, re);
  }
});

test('the JWT secret is generated once (data dir file, mode 0600, or the database) and survives a restart', async () => {
  const storage = await newStorage();
  try {
    const a = await startServer({ storage });
    const t = await login(a.url);
    const secret = await secretOf(a);
    assert.ok(Buffer.byteLength(secret) >= 32);
    await a.close();
    if (!storage.databaseUrl) assert.equal(fs.statSync(path.join(storage.dataDir, 'jwt-secret')).mode & 0o777, 0o600);
    const b = await startServer({ storage });
    try {
      assert.equal((await api(b.url, '/api/users/check-token', { token: t })).status, 200);
      assert.equal(await secretOf(b), secret);
    } finally {
      await b.close();
    }
  } finally {
    await storage.cleanup();
  }
});

// --- push -------------------------------------------------------------------------------------

test('push: {status, accepted, rejected}; stored events pulled with syncLevel 1', async () => {
  const events = [makeEvent(), makeEvent(), makeEvent()];
  const r = await push(s.url, token, events);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { status: 'success', accepted: events.map((e) => e.guid), rejected: [] });
  const { events: pulled } = await pullAll(s.url, token);
  for (const e of events) {
    const got = pulled.find((p) => p.guid === e.guid);
    assert.deepEqual(got, { ...e, syncLevel: 1 });
  }
});

test('push is idempotent by guid: a resend (keys reordered, other syncLevel) is accepted, not stored twice', async () => {
  const e = makeEvent({ data: { name: 'Idem', age: 4, address: { city: 'X', zip: '1' } } });
  assert.deepEqual((await push(s.url, token, [e])).json.accepted, [e.guid]);
  const resend = { syncLevel: 1, userId: e.userId, timestamp: '2024-05-01T10:00:00Z', data: { address: { zip: '1', city: 'X' }, age: 4, name: 'Idem' }, type: e.type, entityGuid: e.entityGuid, guid: e.guid };
  const r = await push(s.url, token, [resend, e]);
  assert.deepEqual(r.json, { status: 'success', accepted: [e.guid, e.guid], rejected: [] });
  const { events } = await pullAll(s.url, token);
  assert.equal(events.filter((x) => x.guid === e.guid).length, 1);
});

test('push: same guid with different content -> rejected CONFLICT, stored event unchanged', async () => {
  const e = makeEvent({ data: { name: 'Original' } });
  await push(s.url, token, [e]);
  const other = makeEvent();
  const r = await push(s.url, token, [{ ...e, data: { name: 'Changed' } }, other]);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.accepted, [other.guid]);
  assert.equal(r.json.rejected.length, 1);
  assert.equal(r.json.rejected[0].guid, e.guid);
  assert.equal(r.json.rejected[0].code, 'CONFLICT');
  assert.equal(typeof r.json.rejected[0].message, 'string');
  // Within one batch too.
  const f = makeEvent();
  const r2 = await push(s.url, token, [f, { ...f, type: 'update-individual' }]);
  assert.deepEqual(r2.json.accepted, [f.guid]);
  assert.equal(r2.json.rejected[0].code, 'CONFLICT');
  const { events } = await pullAll(s.url, token);
  assert.deepEqual(events.find((x) => x.guid === e.guid).data, { name: 'Original' });
  assert.equal(events.find((x) => x.guid === f.guid).type, 'create-individual');
});

test('concurrent pushes of one guid: identical content stored once, different content exactly one winner', async () => {
  const same = makeEvent();
  const rs = await Promise.all(Array.from({ length: 10 }, () => push(s.url, token, [same])));
  for (const r of rs) assert.deepEqual(r.json.accepted, [same.guid]);
  const contested = makeEvent();
  const variants = Array.from({ length: 10 }, (_, i) => ({ ...contested, data: { name: `variant ${i}` } }));
  const rv = await Promise.all(variants.map((v) => push(s.url, token, [v])));
  assert.equal(rv.filter((r) => r.json.accepted.length === 1).length, 1);
  assert.equal(rv.filter((r) => r.json.rejected[0]?.code === 'CONFLICT').length, 9);
  const winner = variants[rv.findIndex((r) => r.json.accepted.length === 1)];
  const { events } = await pullAll(s.url, token);
  assert.equal(events.filter((e) => e.guid === same.guid).length, 1);
  const stored = events.filter((e) => e.guid === contested.guid);
  assert.equal(stored.length, 1);
  assert.deepEqual(stored[0].data, winner.data);
});

test('a large push (2,000 events, the client\'s big chunks) is stored exactly once and pulled back byte for byte', async () => {
  await freshServer(async (f, t) => {
    // Mixed shapes: unsorted and integer-like keys, nested arrays, non-ASCII text (the stored
    // bytes are copied into pull responses as they are).
    const events = Array.from({ length: 2000 }, (_, i) =>
      makeEvent({
        timestamp: new Date(Date.UTC(2024, 0, 1) + i).toISOString(),
        data: i % 2
          ? { name: `Zoë ${i} ❤`, 10: 'ten', 2: 'two', address: { zip: String(i), city: 'Kisumu' }, tags: [{ b: 1, a: 2 }, 'x'] }
          : { name: `Person ${i}`, age: i % 90, note: '"quoted" \\ \u2028 😀' },
      }),
    );
    const r = await push(f.url, t, events);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'success', accepted: events.map((e) => e.guid), rejected: [] });
    // A resend of the whole chunk, keys reordered and syncLevel changed: accepted, nothing new stored.
    const resent = events.map(({ guid, ...rest }) => ({ ...rest, syncLevel: 1, guid }));
    assert.deepEqual((await push(f.url, t, resent)).json.accepted, events.map((e) => e.guid));
    assert.equal(await f.server.db.count('events', 'default'), 2000);

    const { events: pulled, pages } = await pullAll(f.url, t, { limit: 1000 });
    assert.equal(pages, 2);
    assert.deepEqual(pulled, events.map((e) => ({ ...e, syncLevel: 1 })));
    // Each pulled event is its canonical stored body plus syncLevel, and the page is valid UTF-8 JSON.
    const raw = await api(f.url, '/api/sync/pull?since=&configId=default&limit=3', { token: t });
    assert.equal(Number(raw.headers.get('content-length')), Buffer.byteLength(raw.text));
    assert.deepEqual(raw.json.events, pulled.slice(0, 3));
    assert.equal(raw.json.cursor, '3');
    assert.equal(raw.json.nextCursor, '3');
  });
});

test('push validates each event with the package rules: invalid ones rejected INVALID_FORM, the rest stored', async () => {
  const good1 = makeEvent();
  const good2 = makeEvent();
  const bad = [
    [{ ...makeEvent(), guid: undefined }, /GUID/i],
    [makeEvent({ data: {} }), /no data/i],
    [makeEvent({ timestamp: 'yesterday-ish' }), /timestamp/i],
    [makeEvent({ userId: '' }), /user/i],
    [makeEvent({ entityGuid: undefined }), /entity/i],
  ];
  const r = await push(s.url, token, [good1, ...bad.map(([e]) => e), 'not an object', good2]);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.accepted, [good1.guid, good2.guid]);
  assert.equal(r.json.rejected.length, bad.length + 1);
  bad.forEach(([e, re], i) => {
    const rej = r.json.rejected[i];
    assert.equal(rej.code, 'INVALID_FORM');
    assert.match(rej.message, re);
    assert.equal(rej.guid, e.guid ?? null);
  });
  const { events } = await pullAll(s.url, token);
  for (const [e] of bad) if (e.guid) assert.ok(!events.some((x) => x.guid === e.guid));
});

test('push stores the timestamp normalised to UTC with milliseconds', async () => {
  const e = makeEvent({ timestamp: '2024-05-01T12:00:00+02:00' });
  await push(s.url, token, [e]);
  const { events } = await pullAll(s.url, token);
  assert.equal(events.find((x) => x.guid === e.guid).timestamp, '2024-05-01T10:00:00.000Z');
});

test('push/pull: an unknown configId and a not-granted one get the same 403 answer (no tenant enumeration)', async () => {
  // 'other' exists but is not granted to the demo token; 'no-such-config' does not exist.
  const answers = [];
  for (const configId of ['no-such-config', 'other']) {
    const r = await push(s.url, token, [makeEvent()], configId);
    const p = await api(s.url, `/api/sync/pull?since=&configId=${configId}`, { token });
    const a = await api(s.url, '/api/sync/push/audit-logs', { method: 'POST', token, body: { auditLogs: [], configId } });
    const pa = await api(s.url, `/api/sync/pull/audit-logs?since=&configId=${configId}`, { token });
    for (const x of [r, p, a, pa]) {
      assert.equal(x.status, 403);
      assert.deepEqual(x.json, { error: `This account may not access configId: ${configId}` });
    }
    answers.push([r, p, a, pa].map((x) => [x.status, x.text.replace(configId, '<id>'), [...x.headers.keys()].filter((h) => h !== 'date').join()]));
  }
  assert.deepEqual(answers[0], answers[1]);
});

test('malformed JSON 400, non-object body 400, events not an array 400 — all JSON', async () => {
  for (const [rawBody, re] of [
    ['{"events": [', /Malformed JSON/],
    ['[1,2]', /JSON object/],
    ['', /empty/],
    ['{"events": "x", "configId": "default"}', /must be an array/],
  ]) {
    const r = await api(s.url, '/api/sync/push', { method: 'POST', token, rawBody });
    assert.equal(r.status, 400);
    assert.match(r.json.error, re);
  }
  const l = await api(s.url, '/api/users/login', { method: 'POST', rawBody: '{nope' });
  assert.equal(l.status, 400);
  assert.match(l.json.error, /Malformed JSON/);
});

test('body over the limit -> 413 JSON (configured limit, and the 16 MB default)', async () => {
  const small = await startServer({ bodyLimit: 2000 });
  try {
    const t = await login(small.url);
    const r = await push(small.url, t, Array.from({ length: 20 }, () => makeEvent()));
    assert.equal(r.status, 413);
    assert.match(r.json.error, /too large/);
    // Still serving afterwards.
    assert.equal((await push(small.url, t, [makeEvent()])).status, 200);
  } finally {
    await small.close();
  }
  const big = JSON.stringify({ configId: 'default', events: [makeEvent({ data: { blob: 'x'.repeat(17 * 1024 * 1024) } })] });
  const r = await api(s.url, '/api/sync/push', { method: 'POST', token, rawBody: big });
  assert.equal(r.status, 413);
  assert.match(r.json.error, /too large/);
  // A 10 MB body is fine (the limit is meant to be >= 10 MB). On its own server: the shared one stays light.
  await freshServer(async (f, t) => {
    const tenMb = makeEvent({ data: { blob: 'y'.repeat(10 * 1024 * 1024) } });
    const ok = await push(f.url, t, [tenMb]);
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json.accepted, [tenMb.guid]);
    const back = await pullAll(f.url, t);
    assert.equal(back.events[0].data.blob.length, 10 * 1024 * 1024);
  });
});

test('unknown route 404 JSON, wrong method 405 JSON, never HTML', async () => {
  for (const p of ['/api/nope', '/api/sync/pushx', '/no-such-file.html']) {
    const r = await api(s.url, p, { token });
    assert.equal(r.status, 404);
    assert.match(r.headers.get('content-type'), /application\/json/);
    assert.deepEqual(r.json, { error: 'Not found' });
  }
  const r = await api(s.url, '/api/sync/push', { token });
  assert.equal(r.status, 405);
  assert.match(r.json.error, /not allowed/);
  assert.equal(r.headers.get('allow'), 'POST');
});

test('server fault -> 500 {error: "Internal server error"} without internals; logged', async () => {
  const lines = [];
  const logger = { info: () => {}, warn: () => {}, error: (m, f) => lines.push(`${m} ${JSON.stringify(f)}`) };
  const base = await testValidator();
  const f = await startServer({
    logger,
    validateEvent: (e) => {
      if (e?.data?.explode) throw new Error('secret internal detail /var/lib/x');
      return base(e);
    },
  });
  try {
    const t = await login(f.url);
    const r = await push(f.url, t, [makeEvent({ data: { explode: true } })]);
    assert.equal(r.status, 500);
    assert.deepEqual(r.json, { error: 'Internal server error' });
    assert.ok(!r.text.includes('secret internal detail'));
    assert.ok(lines.some((l) => l.includes('secret internal detail')));
    assert.equal((await push(f.url, t, [makeEvent()])).status, 200);
  } finally {
    await f.close();
  }
});

// --- pull -------------------------------------------------------------------------------------

test('25 events sharing one timestamp, pulled with limit 10: 10+10+5, each exactly once, in ingestion order', async () => {
  await freshServer(async (f, t) => {
    const events = Array.from({ length: 25 }, (_, i) => makeEvent({ timestamp: '2024-06-01T00:00:00.000Z', data: { i } }));
    assert.equal((await push(f.url, t, events)).json.accepted.length, 25);
    const sizes = [];
    const got = [];
    let since = '';
    for (let i = 0; i < 10; i++) {
      const r = await api(f.url, `/api/sync/pull?since=${encodeURIComponent(since)}&configId=default&limit=10`, { token: t });
      assert.equal(r.status, 200);
      sizes.push(r.json.events.length);
      got.push(...r.json.events);
      assert.equal(typeof r.json.cursor, 'string');
      if (r.json.nextCursor === null) break;
      assert.equal(r.json.nextCursor, r.json.cursor);
      since = r.json.nextCursor;
    }
    assert.deepEqual(sizes, [10, 10, 5]);
    assert.deepEqual(got.map((e) => e.guid), events.map((e) => e.guid));
    assert.ok(got.every((e) => e.syncLevel === 1));
    // Exactly 20 -> the page holding the 20th says there is more; exactly at the end -> null.
    const r20 = await api(f.url, `/api/sync/pull?since=&configId=default&limit=25`, { token: t });
    assert.equal(r20.json.nextCursor, null);
    const r24 = await api(f.url, `/api/sync/pull?since=&configId=default&limit=24`, { token: t });
    assert.notEqual(r24.json.nextCursor, null);
  });
});

test('pull: an empty page returns the same cursor and nextCursor null; first pull of an empty tenant', async () => {
  await freshServer(async (f, t) => {
    const empty = await api(f.url, '/api/sync/pull?since=&configId=default', { token: t });
    assert.deepEqual(empty.json, { events: [], nextCursor: null, cursor: '0', remaining: 0 });
    await push(f.url, t, [makeEvent(), makeEvent()]);
    const all = await api(f.url, '/api/sync/pull?since=&configId=default', { token: t });
    assert.equal(all.json.events.length, 2);
    const again = await api(f.url, `/api/sync/pull?since=${all.json.cursor}&configId=default`, { token: t });
    assert.deepEqual(again.json, { events: [], nextCursor: null, cursor: all.json.cursor, remaining: 0 });
    // configId defaults to "default" when omitted.
    assert.equal((await api(f.url, '/api/sync/pull', { token: t })).json.events.length, 2);
  });
});

test('pull limit: default 100, capped at 1000; invalid limit or since -> 400 JSON', async () => {
  await freshServer(async (f, t) => {
    const events = Array.from({ length: 1005 }, (_, i) => makeEvent({ data: { i } }));
    assert.equal((await push(f.url, t, events)).json.accepted.length, 1005);
    const d = await api(f.url, '/api/sync/pull?since=&configId=default', { token: t });
    assert.equal(d.json.events.length, 100);
    assert.equal(d.json.nextCursor, '100');
    const c = await api(f.url, '/api/sync/pull?since=&configId=default&limit=5000', { token: t });
    assert.equal(c.json.events.length, 1000);
    assert.notEqual(c.json.nextCursor, null);
    const rest = await api(f.url, `/api/sync/pull?since=${c.json.nextCursor}&configId=default&limit=1000`, { token: t });
    assert.equal(rest.json.events.length, 5);
    assert.equal(rest.json.nextCursor, null);
    for (const q of ['limit=0', 'limit=-1', 'limit=abc', 'since=not-a-cursor', 'since=2024-13-45T99:00:00Z']) {
      const r = await api(f.url, `/api/sync/pull?configId=default&${q}`, { token: t });
      assert.equal(r.status, 400, q);
      assert.equal(typeof r.json.error, 'string');
    }
  });
});

test('an old-timestamp event pushed late reaches a client whose cursor is past that time', async () => {
  await freshServer(async (f, t) => {
    await push(f.url, t, [makeEvent({ timestamp: '2024-06-01T00:00:00.000Z' }), makeEvent({ timestamp: '2024-06-02T00:00:00.000Z' })]);
    const b = await pullAll(f.url, t); // client B is up to date
    assert.equal(b.events.length, 2);
    const late = makeEvent({ timestamp: '2020-01-01T00:00:00.000Z' }); // client A was offline for years
    await push(f.url, t, [late]);
    const b2 = await pullAll(f.url, t, { since: b.cursor });
    assert.deepEqual(b2.events.map((e) => e.guid), [late.guid]);
  });
});

test('ISO since (original protocol): events with timestamp after it, in ingestion order; paging keeps the filter', async () => {
  await freshServer(async (f, t) => {
    const e3 = makeEvent({ timestamp: '2024-03-01T00:00:00.000Z' });
    const e1 = makeEvent({ timestamp: '2024-01-01T00:00:00.000Z' });
    const e4 = makeEvent({ timestamp: '2024-04-01T00:00:00.000Z' });
    const e2 = makeEvent({ timestamp: '2024-02-01T00:00:00.000Z' });
    const e5 = makeEvent({ timestamp: '2024-05-01T00:00:00.000Z' });
    await push(f.url, t, [e3, e1, e4, e2, e5]);
    const since = encodeURIComponent('2024-02-01T00:00:00.000Z');
    const r = await api(f.url, `/api/sync/pull?since=${since}&configId=default`, { token: t });
    assert.deepEqual(r.json.events.map((e) => e.guid), [e3.guid, e4.guid, e5.guid]);
    assert.equal(r.json.nextCursor, null);
    assert.equal(r.json.cursor, '5');
    // Paged with limit 1: the continuation cursor keeps the time filter (e1, e2 never appear).
    const got = [];
    let s2 = '2024-02-01T00:00:00.000Z';
    let last;
    for (let i = 0; i < 10; i++) {
      last = await api(f.url, `/api/sync/pull?since=${encodeURIComponent(s2)}&configId=default&limit=1`, { token: t });
      got.push(...last.json.events.map((e) => e.guid));
      if (last.json.nextCursor === null) break;
      s2 = last.json.nextCursor;
    }
    assert.deepEqual(got, [e3.guid, e4.guid, e5.guid]);
    assert.equal(last.json.cursor, '5');
    // Other accepted forms: a zone-less time is UTC; a date alone.
    const z = await api(f.url, `/api/sync/pull?since=2024-03-01T00:00:00&configId=default`, { token: t });
    assert.deepEqual(z.json.events.map((e) => e.guid), [e4.guid, e5.guid]);
    const d = await api(f.url, `/api/sync/pull?since=2024-04-01&configId=default`, { token: t });
    assert.deepEqual(d.json.events.map((e) => e.guid), [e5.guid]);
    // Nothing after: cursor is the current position, so later pushes are all seen.
    const none = await api(f.url, `/api/sync/pull?since=2030-01-01T00:00:00Z&configId=default`, { token: t });
    assert.deepEqual(none.json, { events: [], nextCursor: null, cursor: '5', remaining: 0 });
  });
});

// --- tenants ----------------------------------------------------------------------------------

test('tenant isolation: each token reads and writes only its configIds; guids are per tenant', async () => {
  const tOther = await login(s.url, 'other@example.org', 'other-password');
  const tBoth = await login(s.url, 'both@example.org', 'both-password');
  const shared = makeEvent({ data: { name: 'in default' } });
  const mine = makeEvent({ data: { name: 'in other' } });
  assert.equal((await push(s.url, token, [shared])).status, 200);
  // The same guid with other content in another tenant is not a conflict: tenants are separate.
  const r = await push(s.url, tOther, [mine, { ...shared, data: { name: 'other copy' } }], 'other');
  assert.equal(r.status, 200);
  assert.equal(r.json.rejected.length, 0);

  assert.equal((await api(s.url, '/api/sync/pull?since=&configId=default', { token: tOther })).status, 403);
  assert.equal((await api(s.url, '/api/sync/pull?since=&configId=other', { token })).status, 403);
  assert.equal((await api(s.url, '/api/sync/pull/audit-logs?since=&configId=default', { token: tOther })).status, 403);
  assert.equal((await push(s.url, tOther, [makeEvent()], 'default')).status, 403);
  // Omitted configId means "default", which this token may not use.
  assert.equal((await api(s.url, '/api/sync/pull', { token: tOther })).status, 403);

  const otherView = await pullAll(s.url, tOther, { configId: 'other' });
  assert.deepEqual(otherView.events.map((e) => e.data.name), ['in other', 'other copy']);
  const defaultView = await pullAll(s.url, tBoth, { configId: 'default' });
  assert.ok(!defaultView.events.some((e) => e.data.name === 'in other' || e.data.name === 'other copy'));
  assert.equal(defaultView.events.find((e) => e.guid === shared.guid).data.name, 'in default');
  // A token for the other tenant signed with the right secret but listing "default" is still
  // limited to the user's grants.
  const secret = await secretOf(s);
  const escalated = jwt.sign({ sub: jwt.decode(tOther).sub, configIds: ['default', 'other'] }, secret, { algorithm: 'HS256', expiresIn: 60 });
  assert.equal((await api(s.url, '/api/sync/pull?since=&configId=default', { token: escalated })).status, 403);
});

// --- injection --------------------------------------------------------------------------------

test('SQL-injection strings in every string field are stored and returned verbatim', async () => {
  const evil = [
    "'; DROP TABLE events; --",
    "\" OR 1=1 --",
    "Robert'); DELETE FROM users WHERE ('1'='1",
    "1; UPDATE events SET body='x'",
    "x' UNION SELECT password_hash FROM users --",
    '\\\' \0 %_ `backtick` ${x} ❤',
  ];
  const sent = evil.map((v, i) =>
    makeEvent({
      guid: `${v}#${i}`,
      entityGuid: `${v}@entity`,
      type: `${v}-type`,
      userId: `${v}-user`,
      data: { name: v, [v]: v, nested: { [v]: [v, { deep: v }] } },
    }),
  );
  const r = await push(s.url, token, sent);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.accepted, sent.map((e) => e.guid));
  const { events } = await pullAll(s.url, token);
  for (const e of sent) assert.deepEqual(events.find((x) => x.guid === e.guid), { ...e, syncLevel: 1 });
  // Idempotent on those guids too.
  assert.deepEqual((await push(s.url, token, sent)).json.accepted, sent.map((e) => e.guid));

  const audit = evil.map((v, i) => ({ guid: `${v}#audit${i}`, timestamp: '2024-05-01T10:00:00.000Z', userId: v, action: v, eventGuid: v, entityGuid: v, changes: { [v]: v }, signature: v }));
  const ra = await api(s.url, '/api/sync/push/audit-logs', { method: 'POST', token, body: { auditLogs: audit, configId: 'default' } });
  assert.deepEqual(ra.json.accepted, audit.map((a) => a.guid));
  const pa = await api(s.url, '/api/sync/pull/audit-logs?since=&configId=default', { token });
  for (const a of audit) assert.deepEqual(pa.json.find((x) => x.guid === a.guid), a);

  for (const v of evil) {
    const c = await api(s.url, `/api/sync/pull?since=&configId=${encodeURIComponent(v)}`, { token });
    assert.equal(c.status, 403);
    const sn = await api(s.url, `/api/sync/pull?since=${encodeURIComponent(v)}&configId=default`, { token });
    assert.equal(sn.status, 400);
    const l = await api(s.url, '/api/users/login', { method: 'POST', body: { email: v, password: v } });
    assert.equal(l.status, 401);
  }
  // Everything still there.
  assert.equal((await api(s.url, '/api/users/check-token', { token })).status, 200);
  assert.ok((await pullAll(s.url, token)).events.length >= sent.length);
});

// --- audit logs -------------------------------------------------------------------------------

test('audit logs: push idempotent by guid, conflict and invalid rejected, pull is a plain array by sequence', async () => {
  await freshServer(async (f, t) => {
    const entry = (i, ts = `2024-05-0${i}T10:00:00.000Z`) => ({
      guid: `audit-${i}`,
      timestamp: ts,
      userId: 'user-1',
      action: 'create-individual',
      eventGuid: `event-${i}`,
      entityGuid: `entity-${i}`,
      changes: { name: `N${i}` },
      signature: '',
    });
    const logs = [entry(3), entry(1), entry(2)];
    const r = await api(f.url, '/api/sync/push/audit-logs', { method: 'POST', token: t, body: { auditLogs: logs, configId: 'default' } });
    assert.deepEqual(r.json, { status: 'success', accepted: ['audit-3', 'audit-1', 'audit-2'], rejected: [] });
    const again = await api(f.url, '/api/sync/push/audit-logs', {
      method: 'POST',
      token: t,
      body: { auditLogs: [entry(1), { ...entry(2), action: 'changed' }, { guid: 'x' }, { timestamp: 'x' }], configId: 'default' },
    });
    assert.deepEqual(again.json.accepted, ['audit-1']);
    assert.deepEqual(again.json.rejected.map((x) => [x.guid, x.code]), [['audit-2', 'CONFLICT'], ['x', 'INVALID_FORM'], [null, 'INVALID_FORM']]);

    const all = await api(f.url, '/api/sync/pull/audit-logs?since=&configId=default', { token: t });
    assert.equal(all.status, 200);
    assert.ok(Array.isArray(all.json));
    assert.deepEqual(all.json, logs);
    assert.equal(all.headers.get('x-cursor'), '3');
    assert.equal(all.headers.get('x-next-cursor'), null);
    // since = cursor, since = ISO, and limit with X-Next-Cursor.
    await api(f.url, '/api/sync/push/audit-logs', { method: 'POST', token: t, body: { auditLogs: [entry(4)], configId: 'default' } });
    const after = await api(f.url, `/api/sync/pull/audit-logs?since=${all.headers.get('x-cursor')}&configId=default`, { token: t });
    assert.deepEqual(after.json.map((x) => x.guid), ['audit-4']);
    const iso = await api(f.url, `/api/sync/pull/audit-logs?since=${encodeURIComponent('2024-05-01T10:00:00.000Z')}&configId=default`, { token: t });
    assert.deepEqual(iso.json.map((x) => x.guid), ['audit-3', 'audit-2', 'audit-4']);
    const page = await api(f.url, '/api/sync/pull/audit-logs?since=&configId=default&limit=2', { token: t });
    assert.deepEqual(page.json.map((x) => x.guid), ['audit-3', 'audit-1']);
    assert.equal(page.headers.get('x-next-cursor'), '2');
    const bad = await api(f.url, '/api/sync/push/audit-logs', { method: 'POST', token: t, body: { auditLogs: {}, configId: 'default' } });
    assert.equal(bad.status, 400);
    assert.equal((await api(f.url, '/api/sync/pull/audit-logs?since=&configId=default')).status, 401);
  });
});

// --- CORS -------------------------------------------------------------------------------------

test('CORS: own origin allowed with preflight and exposed headers; foreign origins refused', async () => {
  const own = s.url;
  const pre = await api(s.url, '/api/sync/push', {
    method: 'OPTIONS',
    headers: { Origin: own, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), own);
  assert.match(pre.headers.get('access-control-allow-headers'), /Authorization/);
  assert.match(pre.headers.get('access-control-allow-methods'), /POST/);
  const get = await api(s.url, '/api/sync/pull?since=&configId=default', { token, headers: { Origin: own } });
  assert.equal(get.headers.get('access-control-allow-origin'), own);
  assert.match(get.headers.get('access-control-expose-headers'), /X-Next-Cursor/);
  const port = new URL(s.url).port;
  const localhost = await api(s.url, '/api/users/check-token', { token, headers: { Origin: `http://localhost:${port}` } });
  assert.equal(localhost.headers.get('access-control-allow-origin'), `http://localhost:${port}`);

  const foreignPre = await api(s.url, '/api/sync/push', { method: 'OPTIONS', headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' } });
  assert.equal(foreignPre.status, 403);
  assert.equal(foreignPre.headers.get('access-control-allow-origin'), null);
  assert.match(foreignPre.json.error, /Origin/);
  const foreignGet = await api(s.url, '/api/users/check-token', { token, headers: { Origin: 'https://evil.example' } });
  assert.equal(foreignGet.headers.get('access-control-allow-origin'), null);

  const c = await startServer({ corsOrigins: ['https://app.example'] });
  try {
    const ok = await api(c.url, '/api/users/login', { method: 'OPTIONS', headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST' } });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example');
    const no = await api(c.url, '/api/users/login', { method: 'OPTIONS', headers: { Origin: c.url, 'Access-Control-Request-Method': 'POST' } });
    assert.equal(no.status, 403);
  } finally {
    await c.close();
  }
});

// --- logging ----------------------------------------------------------------------------------

test('no token or password ever reaches the log', async () => {
  const lines = [];
  const capture = (m, fields) => lines.push(`${m} ${JSON.stringify(fields ?? {})}`);
  const f = await startServer({ logger: { info: capture, warn: capture, error: capture }, loginRateLimit: { windowMs: 60000, maxPerEmail: 2, maxPerIp: 100 } });
  try {
    const password = 'demo-password';
    const wrong = 'Wr0ng-Passw0rd-Sentinel';
    const t = await login(f.url, 'demo@example.org', password);
    await api(f.url, '/api/users/login', { method: 'POST', body: { email: 'demo@example.org', password: wrong } });
    await api(f.url, '/api/users/login', { method: 'POST', body: { email: 'demo@example.org', password: wrong } });
    await api(f.url, '/api/users/login', { method: 'POST', body: { email: 'demo@example.org', password } }); // 429
    await api(f.url, '/api/users/check-token', { token: t });
    await push(f.url, t, [makeEvent({ data: { name: 'x', note: password } })]);
    await api(f.url, `/api/sync/pull?since=&configId=default`, { token: t });
    await api(f.url, `/api/sync/pull?since=&configId=default`, { token: `${t}x` });
    await api(f.url, '/api/users/check-token', { token: jwt.sign({ sub: 'x', configIds: [], exp: 1 }, await secretOf(f)) });
    assert.ok(lines.length >= 8, 'the server does log requests');
    const all = lines.join('\n');
    assert.ok(!all.includes(t), 'token leaked into the log');
    assert.ok(!all.includes(t.split('.')[2]), 'token signature leaked into the log');
    assert.ok(!all.includes(password), 'password leaked into the log');
    assert.ok(!all.includes(wrong), 'wrong password leaked into the log');
  } finally {
    await f.close();
  }
});

// --- the package's validation ------------------------------------------------------------------

test('without an injected validator the server loads the package\'s validateEvent (503 JSON if it cannot)', async () => {
  const { createServer } = await import('../../web/server/app.js');
  const { loadPackageValidator } = await import('../../web/server/validation.js');
  const { tempDir } = await import('./helpers.mjs');
  const dataDir = tempDir();
  const srv = createServer({ dataDir, port: 0, logger: false, bcryptRounds: 4, staticDirs: false });
  const url = await srv.listen();
  try {
    const t = await login(url);
    const good = makeEvent();
    const r = await push(url, t, [good, makeEvent({ data: {} })]);
    const ready = await loadPackageValidator().then(() => true, () => false);
    if (ready) {
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.accepted, [good.guid]);
      assert.equal(r.json.rejected[0].code, 'INVALID_FORM');
      assert.equal(r.json.rejected[0].message, 'Form submission has no data');
    } else {
      assert.equal(r.status, 503);
      assert.match(r.json.error, /validation is unavailable/);
    }
  } finally {
    await srv.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
