// Bounded load test on loopback: 20 concurrent clients x 50 rounds of (push 5 events, pull from
// the client's cursor). Zero errors; every event stored exactly once; every client, following its
// own cursor, receives every event exactly once. Prints the throughput.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { api, login, makeEvent, pullAll, startServer } from './helpers.mjs';

const CLIENTS = 20;
const ROUNDS = 50;
const EVENTS_PER_PUSH = 5;

// Requests/s of an empty node:http server with the same client and concurrency: context for the
// figures below on a shared or loaded machine.
async function baselineRequestsPerSecond() {
  const server = http.createServer((req, res) => res.end('{}'));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/`;
  const perClient = 25;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (let i = 0; i < perClient; i++) await (await fetch(url, { signal: AbortSignal.timeout(10000) })).text();
    }),
  );
  const rate = (CLIENTS * perClient) / ((performance.now() - started) / 1000);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  return rate;
}

test(`load: ${CLIENTS} clients x ${ROUNDS} push+pull rounds, zero errors, each event stored and seen once`, { timeout: 180000 }, async () => {
  // 20 simultaneous logins of one account from one address: each is counted before its password
  // is checked, so the per-account+address allowance must cover them.
  const s = await startServer({ loginRateLimit: { windowMs: 60000, maxPerEmail: 1000, maxPerIp: 1000 } });
  try {
    const tokens = await Promise.all(Array.from({ length: CLIENTS }, () => login(s.url)));
    const errors = [];
    let requests = 0;
    const started = performance.now();

    const client = async (c) => {
      const token = tokens[c];
      const pushed = [];
      const seen = [];
      let cursor = '';
      for (let round = 0; round < ROUNDS; round++) {
        const events = Array.from({ length: EVENTS_PER_PUSH }, (_, i) => makeEvent({ userId: `client-${c}`, data: { c, round, i } }));
        const p = await api(s.url, '/api/sync/push', { method: 'POST', token, body: { events, configId: 'default' } });
        requests++;
        if (p.status !== 200 || p.json.accepted.length !== EVENTS_PER_PUSH) errors.push(`push ${p.status} ${p.text.slice(0, 200)}`);
        pushed.push(...events.map((e) => e.guid));
        // Pull everything new (bounded: at most 10 pages per round).
        for (let page = 0; page < 10; page++) {
          const q = new URLSearchParams({ since: cursor, configId: 'default', limit: '1000' });
          const r = await api(s.url, `/api/sync/pull?${q}`, { token });
          requests++;
          if (r.status !== 200) {
            errors.push(`pull ${r.status} ${r.text.slice(0, 200)}`);
            break;
          }
          seen.push(...r.json.events.map((e) => e.guid));
          cursor = r.json.cursor;
          if (r.json.nextCursor === null) break;
        }
      }
      return { pushed, seen, cursor, token };
    };

    const results = await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    const seconds = (performance.now() - started) / 1000;
    const total = CLIENTS * ROUNDS * EVENTS_PER_PUSH;
    const baseline = await baselineRequestsPerSecond();
    console.log(
      `# load: ${total} events, ${requests} requests in ${seconds.toFixed(2)} s: ` +
        `${Math.round(total / seconds)} events/s pushed, ${Math.round(requests / seconds)} requests/s ` +
        `(empty node:http server, same clients: ${Math.round(baseline)} requests/s)`,
    );
    assert.deepEqual(errors, []);

    const all = (await pullAll(s.url, tokens[0], { limit: 1000 })).events.map((e) => e.guid);
    assert.equal(all.length, total);
    assert.equal(new Set(all).size, total, 'an event was stored twice');
    const pushedAll = new Set(results.flatMap((r) => r.pushed));
    assert.deepEqual(new Set(all), pushedAll);
    // Each client's cursor walk saw every event exactly once, once it catches up.
    for (const r of results) {
      const rest = await pullAll(s.url, r.token, { since: r.cursor, limit: 1000 });
      const seen = [...r.seen, ...rest.events.map((e) => e.guid)];
      assert.equal(seen.length, total);
      assert.equal(new Set(seen).size, total);
    }
    assert.equal(await s.server.db.count('events', 'default'), total);
  } finally {
    await s.close();
  }
});
