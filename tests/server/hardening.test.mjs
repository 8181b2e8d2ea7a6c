// Hardening of the server for the open internet, on SQLite or PostgreSQL (DC_TEST_DATABASE): push
// size caps and event-loop responsiveness, the login limiter (atomic, shared, per account+address
// with exponential delay), token revocation on password change, JSON-only endpoints, trusted
// proxies, the pushing account per event, the operations endpoints and `remaining`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { hashPassword } from '../../web/server/auth.js';
import { createServer } from '../../web/server/app.js';
import { DEFAULT_MAX_ENTRIES_PER_PUSH } from '../../web/server/routes.js';
import { api, login, makeEvent, newStorage, pullAll, push, startServer, testValidator } from './helpers.mjs';

let s;
let token;
before(async () => {
  s = await startServer({ tenants: ['other'] });
  token = await login(s.url);
  await push(s.url, token, [makeEvent()]); // loads the package's validator (wasm) once
});
after(async () => {
  await s?.close();
});

const loginAs = (url, email, password, headers = {}) =>
  api(url, '/api/users/login', { method: 'POST', body: { email, password }, headers });

async function metric(url, name, labels = '') {
  const text = (await api(url, '/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels}`) && !l.startsWith('#'));
  return line ? Number(line.split(' ').pop()) : 0;
}

// --- push caps --------------------------------------------------------------------------------

test(`push: more than ${DEFAULT_MAX_ENTRIES_PER_PUSH} entries -> 413 JSON naming the cap, before any entry is validated`, async () => {
  let validated = 0;
  const base = await testValidator();
  const f = await startServer({ validateEvent: (e) => (validated++, base(e)) });
  try {
    const t = await login(f.url);
    const events = Array.from({ length: DEFAULT_MAX_ENTRIES_PER_PUSH + 1 }, () => makeEvent());
    const r = await push(f.url, t, events);
    assert.equal(r.status, 413);
    assert.match(r.json.error, new RegExp(`limit is ${DEFAULT_MAX_ENTRIES_PER_PUSH}`));
    assert.equal(r.json.limit, DEFAULT_MAX_ENTRIES_PER_PUSH);
    assert.equal(validated, 0, 'entries were validated before the cap was checked');
    const audit = await api(f.url, '/api/sync/push/audit-logs', { method: 'POST', token: t, body: { configId: 'default', auditLogs: Array.from({ length: DEFAULT_MAX_ENTRIES_PER_PUSH + 1 }, () => ({})) } });
    assert.equal(audit.status, 413);
    // Exactly at the cap is fine.
    const ok = await push(f.url, t, events.slice(0, DEFAULT_MAX_ENTRIES_PER_PUSH));
    assert.equal(ok.status, 200);
    assert.equal(ok.json.accepted.length, DEFAULT_MAX_ENTRIES_PER_PUSH);
  } finally {
    await f.close();
  }
  // The cap is configurable.
  const small = await startServer({ maxEntriesPerPush: 3 });
  try {
    const t = await login(small.url);
    const r = await push(small.url, t, Array.from({ length: 4 }, () => makeEvent()));
    assert.equal(r.status, 413);
    assert.match(r.json.error, /limit is 3/);
  } finally {
    await small.close();
  }
});

test('a 16 MB push of 8 million zeros is refused quickly (413) while health checks keep answering', async () => {
  const zeros = `{"configId":"default","events":[${'0,'.repeat(8_000_000 - 1)}0]}`;
  assert.ok(zeros.length <= 16 * 1024 * 1024);
  const started = performance.now();
  const worst = await whileHealthPolled(s.url, () => api(s.url, '/api/sync/push', { method: 'POST', token, rawBody: zeros }));
  const ms = performance.now() - started;
  assert.equal(worst.result.status, 413);
  assert.match(worst.result.json.error, /Too many entries/);
  assert.ok(ms < 5000, `took ${ms} ms`);
  assert.ok(worst.maxMs < 250, `a health check waited ${worst.maxMs.toFixed(0)} ms`);
});

// Runs fn() while requesting /healthz every 10 ms on a separate connection; returns fn's result
// and the slowest health answer.
async function whileHealthPolled(url, fn) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const { hostname, port } = new URL(url);
  const health = () =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      http
        .get({ host: hostname, port, path: '/healthz', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(performance.now() - t0));
        })
        .on('error', reject);
    });
  await health(); // connection established before the clock matters
  let done = false;
  let maxMs = 0;
  let polls = 0;
  const poller = (async () => {
    while (!done) {
      maxMs = Math.max(maxMs, await health());
      polls++;
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  try {
    const result = await fn();
    return { result, maxMs, polls };
  } finally {
    done = true;
    await poller;
    agent.destroy();
  }
}

test(`the event loop stays responsive: /healthz answers within 100 ms during the biggest allowed push (${DEFAULT_MAX_ENTRIES_PER_PUSH} events)`, async () => {
  const events = Array.from({ length: DEFAULT_MAX_ENTRIES_PER_PUSH }, (_, i) =>
    makeEvent({ data: { name: `Person ${i}`, age: i % 90, address: { city: 'Kisumu', zip: String(i) }, note: 'n'.repeat(200) } }),
  );
  // On a shared machine another process can take the CPU for a while: a second, fresh push is
  // measured when the first one saw a slow answer (both are reported).
  const slowest = [];
  for (let attempt = 0; attempt < 2; attempt++) {
    const batch = events.map((e) => ({ ...e, guid: `${e.guid}-${attempt}` }));
    const rawBody = JSON.stringify({ configId: 'default', events: batch });
    const { result, maxMs, polls } = await whileHealthPolled(s.url, () => api(s.url, '/api/sync/push', { method: 'POST', token, rawBody }));
    assert.equal(result.status, 200);
    assert.equal(result.json.accepted.length, events.length);
    assert.ok(polls >= 3, `only ${polls} health checks during the push`);
    slowest.push(maxMs);
    console.log(`# health checks during a ${events.length}-event push: ${polls}, slowest ${maxMs.toFixed(1)} ms`);
    if (maxMs < 100) break;
  }
  assert.ok(Math.min(...slowest) < 100, `health checks waited ${slowest.map((m) => m.toFixed(1)).join(', ')} ms`);
});

test('a wrong shape is refused before per-entry work: events not an array, trailing garbage, malformed entries -> 400', async () => {
  for (const [rawBody, re] of [
    ['{"configId":"default","events":{"0":{}}}', /must be an array/],
    ['{"configId":"default","events":[{}]} x', /Malformed JSON/],
    ['{"configId":"default","events":[{"a":1]}]}', /Malformed JSON/],
    ['{"configId":"default","events":[1,,2]}', /Malformed JSON/],
    ['{"configId":"default","events":[1 2]}', /Malformed JSON/],
    ['{"configId":"default" "events":[]}', /Malformed JSON/],
    ['"just a string"', /JSON object/],
  ]) {
    const r = await api(s.url, '/api/sync/push', { method: 'POST', token, rawBody });
    assert.equal(r.status, 400, rawBody);
    assert.match(r.json.error, re, rawBody);
  }
  // Exactly JSON.parse's semantics otherwise: escapes, nesting, a later duplicate key wins.
  const e = makeEvent({ data: { name: 'Quote " and \\ and ] } [ {', nested: [[{ a: ['}'] }]] } });
  const r = await api(s.url, '/api/sync/push', { method: 'POST', token, rawBody: `{"events":"ignored","configId":"default","events":[${JSON.stringify(e)}]}` });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.accepted, [e.guid]);
});

// --- login limiter ----------------------------------------------------------------------------

test('200 concurrent guesses: counted before evaluation, at most maxPerEmail passwords evaluated', async () => {
  const f = await startServer({ loginRateLimit: { maxPerEmail: 5, maxPerIp: 1000 } });
  try {
    const before = await metric(f.url, 'dc_password_evaluations_total');
    const rs = await Promise.all(Array.from({ length: 200 }, (_, i) => loginAs(f.url, 'demo@example.org', `guess-${i}`)));
    const evaluated = (await metric(f.url, 'dc_password_evaluations_total')) - before;
    assert.equal(rs.filter((r) => r.status === 401).length, evaluated);
    assert.equal(rs.filter((r) => r.status === 429).length, 200 - evaluated);
    assert.ok(evaluated <= 5, `${evaluated} password evaluations for 200 concurrent guesses`);
    assert.ok(rs.every((r) => r.status === 401 || (r.status === 429 && Number(r.headers.get('retry-after')) >= 1)));
  } finally {
    await f.close();
  }
});

test('lockout is per account+address with exponential delay; the real user on another address still logs in', async () => {
  const f = await startServer({ trustProxy: ['127.0.0.1'], loginRateLimit: { maxPerEmail: 3, maxPerIp: 1000, baseDelayMs: 1000 } });
  try {
    const attacker = { 'X-Forwarded-For': '203.0.113.7' };
    const user = { 'X-Forwarded-For': '198.51.100.20' };
    for (let i = 0; i < 3; i++) assert.equal((await loginAs(f.url, 'demo@example.org', `bad-${i}`, attacker)).status, 401);
    const locked = await loginAs(f.url, 'demo@example.org', 'demo-password', attacker);
    assert.equal(locked.status, 429);
    assert.equal(locked.headers.get('retry-after'), '1');
    // The same account from another address is not locked out.
    assert.equal((await loginAs(f.url, 'demo@example.org', 'demo-password', user)).status, 200);
    // After the delay one more guess is evaluated, and the next delay doubles.
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await loginAs(f.url, 'demo@example.org', 'bad-again', attacker)).status, 401);
    const doubled = await loginAs(f.url, 'demo@example.org', 'demo-password', attacker);
    assert.equal(doubled.status, 429);
    assert.equal(doubled.headers.get('retry-after'), '2');
  } finally {
    await f.close();
  }
});

test('the per-address limit spans accounts; X-Forwarded-For from an untrusted peer is ignored', async () => {
  const f = await startServer({ loginRateLimit: { maxPerEmail: 100, maxPerIp: 3 } }); // no trusted proxy
  try {
    for (let i = 0; i < 3; i++) {
      // A spoofed header per request must not give the attacker fresh addresses.
      const r = await loginAs(f.url, `u${i}@example.org`, 'x', { 'X-Forwarded-For': `192.0.2.${i}` });
      assert.equal(r.status, 401);
    }
    const r = await loginAs(f.url, 'demo@example.org', 'demo-password', { 'X-Forwarded-For': '192.0.2.99' });
    assert.equal(r.status, 429);
  } finally {
    await f.close();
  }
});

test('trusted proxies: the client address is the right-most untrusted hop of X-Forwarded-For', async () => {
  const { createAddressResolver } = await import('../../web/server/app.js');
  const resolve = createAddressResolver(['10.0.0.0/8', '::1']);
  const req = (remoteAddress, xff) => ({ socket: { remoteAddress }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } });
  assert.equal(resolve(req('10.1.2.3', '198.51.100.1, 10.0.0.9')), '198.51.100.1');
  assert.equal(resolve(req('10.1.2.3', 'spoofed, 198.51.100.1')), '198.51.100.1');
  assert.equal(resolve(req('::ffff:10.1.2.3', '198.51.100.1')), '198.51.100.1');
  assert.equal(resolve(req('::1', '2001:db8::5')), '2001:db8::5');
  assert.equal(resolve(req('203.0.113.9', '198.51.100.1')), '203.0.113.9'); // not a proxy: header ignored
  assert.equal(resolve(req('10.1.2.3')), '10.1.2.3');
  assert.equal(createAddressResolver([])(req('10.1.2.3', '1.2.3.4')), '10.1.2.3');
  assert.throws(() => createAddressResolver(['not-an-address']), /Invalid trusted proxy/);
});

test('the limiter lives in the database: shared by two server processes on one storage, and kept across a restart', async () => {
  const storage = await newStorage();
  const policy = { loginRateLimit: { maxPerEmail: 3, maxPerIp: 1000, baseDelayMs: 60000 } };
  try {
    const a = await startServer({ storage, ...policy });
    const b = await startServer({ storage, ...policy });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await loginAs(a.url, 'demo@example.org', `bad-${i}`)).status, 401);
      assert.equal((await loginAs(b.url, 'demo@example.org', 'demo-password')).status, 429);
    } finally {
      await a.close();
      await b.close();
    }
    const c = await startServer({ storage, ...policy });
    try {
      assert.equal((await loginAs(c.url, 'demo@example.org', 'demo-password')).status, 429);
    } finally {
      await c.close();
    }
  } finally {
    await storage.cleanup();
  }
});

test('a login with a password over 72 bytes is refused without evaluating it', async () => {
  const f = await startServer();
  try {
    const long = 'x'.repeat(72);
    await f.server.db.upsertUser('long@example.org', await hashPassword(long, 4), ['default']);
    assert.equal((await loginAs(f.url, 'long@example.org', long)).status, 200);
    const before = await metric(f.url, 'dc_password_evaluations_total');
    assert.equal((await loginAs(f.url, 'long@example.org', `${long}anything`)).status, 401);
    assert.equal(await metric(f.url, 'dc_password_evaluations_total'), before);
  } finally {
    await f.close();
  }
});

// --- tokens -----------------------------------------------------------------------------------

test('a password change revokes the tokens issued before it', async () => {
  const f = await startServer();
  try {
    const old = await login(f.url);
    assert.equal((await api(f.url, '/api/users/check-token', { token: old })).status, 200);
    // What `add-user` does for an existing account.
    await f.server.db.upsertUser('demo@example.org', await hashPassword('new-password-1', 4), ['default']);
    const r = await api(f.url, '/api/users/check-token', { token: old });
    assert.equal(r.status, 401);
    assert.match(r.json.error, /revoked/);
    assert.equal((await push(f.url, old, [makeEvent()])).status, 401);
    const fresh = await login(f.url, 'demo@example.org', 'new-password-1');
    assert.equal((await api(f.url, '/api/users/check-token', { token: fresh })).status, 200);
    // Changing only the grants keeps tokens valid.
    await f.server.db.upsertUser('demo@example.org', (await f.server.db.getUserByEmail('demo@example.org')).passwordHash, ['default']);
    assert.equal((await api(f.url, '/api/users/check-token', { token: fresh })).status, 200);
  } finally {
    await f.close();
  }
});

// --- content types ----------------------------------------------------------------------------

test('JSON endpoints require Content-Type application/json (a cross-site form cannot log in or push)', async () => {
  const body = JSON.stringify({ email: 'demo@example.org', password: 'demo-password' });
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined]) {
    const headers = type ? { 'Content-Type': type } : {};
    const res = await fetch(`${s.url}/api/users/login`, { method: 'POST', headers, body });
    assert.equal(res.status, 415, String(type));
    assert.match((await res.json()).error, /application\/json/);
    const p = await fetch(`${s.url}/api/sync/push`, {
      method: 'POST',
      headers: { ...headers, Authorization: `Bearer ${token}` },
      body: JSON.stringify({ configId: 'default', events: [makeEvent()] }),
    });
    assert.equal(p.status, 415);
  }
  const ok = await fetch(`${s.url}/api/users/login`, { method: 'POST', headers: { 'Content-Type': 'application/json; charset=utf-8' }, body });
  assert.equal(ok.status, 200);
});

// --- secrets ----------------------------------------------------------------------------------

test('a JWT secret shorter than 32 bytes is refused', () => {
  assert.throws(() => createServer({ dataDir: '/nonexistent', jwtSecret: 'short-secret' }), /at least 32 bytes/);
  assert.throws(() => createServer({ dataDir: '/nonexistent', jwtSecret: '€'.repeat(10) }), /at least 32 bytes/); // 30 bytes
});

// --- audit of the pushing account --------------------------------------------------------------

test('the server records which account pushed each event, whatever userId the event claims', async () => {
  const other = makeEvent({ userId: 'someone-else' });
  assert.equal((await push(s.url, token, [other])).status, 200);
  const me = (await api(s.url, '/api/users/check-token', { token })).json.userId;
  const meta = await s.server.db.entryMeta('events', 'default', other.guid);
  assert.equal(meta.pushedBy, me);
  assert.notEqual(meta.pushedBy, other.userId);
  const entry = { guid: `audit-${other.guid}`, timestamp: '2024-05-01T10:00:00.000Z', userId: 'x', action: 'a' };
  await api(s.url, '/api/sync/push/audit-logs', { method: 'POST', token, body: { configId: 'default', auditLogs: [entry] } });
  assert.equal((await s.server.db.entryMeta('audit', 'default', entry.guid)).pushedBy, me);
});

// --- operations -------------------------------------------------------------------------------

test('/healthz, /readyz and /metrics (requests by route and status, push/pull latency, events stored)', async () => {
  const h = await api(s.url, '/healthz');
  assert.deepEqual([h.status, h.json], [200, { status: 'ok' }]);
  const r = await api(s.url, '/readyz');
  assert.equal(r.status, 200);
  assert.equal(r.json.status, 'ready');
  assert.equal(r.json.database, s.databaseUrl ? 'postgres' : 'sqlite');
  const storedBefore = await metric(s.url, 'dc_events_stored_total', '{log="events"}');
  const events = [makeEvent(), makeEvent()];
  await push(s.url, token, events);
  await push(s.url, token, events); // a resend stores nothing new
  await api(s.url, '/api/sync/pull?since=&configId=default&limit=1', { token });
  await api(s.url, '/api/sync/pull?configId=default', { token: 'bad' });
  const m = await api(s.url, '/metrics');
  assert.match(m.headers.get('content-type'), /text\/plain/);
  assert.match(m.text, /dc_http_requests_total\{route="\/api\/sync\/push",method="POST",status="200"\} \d+/);
  assert.match(m.text, /dc_http_requests_total\{route="\/api\/sync\/pull",method="GET",status="401"\} [1-9]/);
  assert.match(m.text, /dc_push_duration_seconds_bucket\{le="0\.1",log="events"\} [1-9]/);
  assert.match(m.text, /dc_pull_duration_seconds_count\{log="events"\} [1-9]/);
  assert.equal((await metric(s.url, 'dc_events_stored_total', '{log="events"}')) - storedBefore, 2);
  assert.ok(!m.text.includes(token));
});

test('/readyz answers 503 when the database is unreachable; /healthz still 200', async () => {
  const f = await startServer();
  try {
    assert.equal((await api(f.url, '/readyz')).status, 200);
    await f.server.db.close(); // as if the database went away
    const r = await api(f.url, '/readyz');
    assert.equal(r.status, 503);
    assert.deepEqual(r.json, { error: 'Database unavailable' });
    assert.equal((await api(f.url, '/healthz')).status, 200);
  } finally {
    await f.close();
  }
});

// --- pull: remaining --------------------------------------------------------------------------

test('pull reports `remaining`: what the same since would still deliver after the page', async () => {
  const f = await startServer();
  try {
    const t = await login(f.url);
    const events = Array.from({ length: 25 }, (_, i) => makeEvent({ timestamp: new Date(Date.UTC(2024, 0, 1 + i)).toISOString() }));
    await push(f.url, t, events);
    const seen = [];
    let since = '';
    for (;;) {
      const r = await api(f.url, `/api/sync/pull?since=${since}&configId=default&limit=10`, { token: t });
      seen.push(r.json.remaining);
      assert.equal(r.headers.get('x-remaining'), String(r.json.remaining));
      if (r.json.nextCursor === null) break;
      since = r.json.nextCursor;
    }
    assert.deepEqual(seen, [15, 5, 0]);
    // With an ISO since: only the events after that time count.
    const iso = encodeURIComponent('2024-01-20T00:00:00.000Z'); // Jan 21..25 are strictly after it (5)
    const r = await api(f.url, `/api/sync/pull?since=${iso}&configId=default&limit=4`, { token: t });
    assert.deepEqual([r.json.events.length, r.json.remaining], [4, 1]);
    const rest = await api(f.url, `/api/sync/pull?since=${r.json.nextCursor}&configId=default&limit=4`, { token: t });
    assert.deepEqual([rest.json.events.length, rest.json.remaining, rest.json.nextCursor], [1, 0, null]);
    const audit = await api(f.url, '/api/sync/pull/audit-logs?since=&configId=default', { token: t });
    assert.equal(audit.headers.get('x-remaining'), '0');
    assert.equal((await pullAll(f.url, t)).events.length, 25);
  } finally {
    await f.close();
  }
});

test('close() during a push on a keep-alive connection: the push is answered and stored, close does not wait out the grace period', async () => {
  let storing;
  const started = new Promise((resolve) => (storing = resolve));
  const logger = { info: (m) => m === 'push storing' && storing(), warn() {}, error() {} };
  const storage = await newStorage();
  try {
    const f = await startServer({ storage, logger });
    const t = await login(f.url);
    const agent = new http.Agent({ keepAlive: true });
    const events = Array.from({ length: 500 }, () => makeEvent());
    const body = JSON.stringify({ configId: 'default', events });
    const { hostname, port } = new URL(f.url);
    const answered = new Promise((resolve, reject) => {
      const req = http.request(
        { host: hostname, port, path: '/api/sync/push', method: 'POST', agent, headers: { Authorization: `Bearer ${t}`, 'Content-Type': 'application/json' } },
        (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode, text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    await started;
    const t0 = performance.now();
    await f.server.close({ graceMs: 10000 });
    const closeMs = performance.now() - t0;
    const r = await answered;
    agent.destroy();
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.text).accepted.length, events.length);
    assert.ok(closeMs < 5000, `close took ${closeMs.toFixed(0)} ms`);
    const again = await startServer({ storage });
    try {
      assert.equal(await again.server.db.count('events', 'default'), events.length);
    } finally {
      await again.close();
    }
  } finally {
    await storage.cleanup();
  }
});
