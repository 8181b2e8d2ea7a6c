// The storage back-ends (web/server/db*.js) on their own, on SQLite or PostgreSQL
// (DC_TEST_DATABASE): each batch all-or-nothing and independent of the others, per-tenant
// gap-free positions, migrations, and positions committed in position order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openStore } from '../../web/server/db.js';
import { SCHEMA_VERSION as SQLITE_VERSION } from '../../web/server/db-sqlite.js';
import { newStorage, onPostgres, sqlOn } from './helpers.mjs';

const item = (guid, body = `{"guid":"${guid}"}`) => ({ guid, timestamp: '2024-01-01T00:00:00.000Z', tsMs: 1704067200000, body, hash: `h-${guid}-${body}` });

async function withStore(fn, options = {}) {
  const storage = await newStorage();
  let store;
  try {
    store = await openStore({ dataDir: storage.dataDir, databaseUrl: storage.databaseUrl, ...options });
    await fn(store, storage);
  } finally {
    await store?.close();
    await storage.cleanup();
  }
}

test('batches: each all-or-nothing; a failing batch is rolled back alone; positions per tenant, gap-free', async () => {
  await withStore(async (store) => {
    await store.addTenant('other');
    const ok1 = store.append('events', 'default', [item('a'), item('b')], 'user-1');
    // NOT NULL violation on its second item: the whole batch, including 'c', must be rolled back.
    const bad = store.append('events', 'default', [item('c'), item('d', null)]);
    const ok2 = store.append('events', 'other', [item('a')]);
    const [r1, r2, r3] = await Promise.allSettled([ok1, bad, ok2]);
    assert.deepEqual(r1, { status: 'fulfilled', value: ['stored', 'stored'] });
    assert.equal(r2.status, 'rejected');
    assert.deepEqual(r3, { status: 'fulfilled', value: ['stored'] });
    const page = await store.page('events', 'default', { afterSeq: 0, limit: 10 });
    assert.deepEqual(page.rows.map((r) => r.seq), [1, 2]);
    assert.equal(page.remaining, 0);
    assert.equal(await store.count('events', 'default'), 2);
    assert.equal(await store.count('events', 'other'), 1);
    // Positions continue without a gap after the rolled-back batch.
    assert.deepEqual(await store.append('events', 'default', [item('c')]), ['stored']);
    assert.deepEqual((await store.page('events', 'default', { afterSeq: 2, limit: 10 })).rows.map((r) => r.seq), [3]);
    // Same guid: identical hash accepted, different hash a conflict (also within one batch).
    assert.deepEqual(await store.append('events', 'default', [item('a'), item('a', '{"x":1}')]), ['accepted', 'conflict']);
    assert.deepEqual(await store.append('events', 'default', [item('e'), item('e'), item('e', '{"y":2}')]), ['stored', 'accepted', 'conflict']);
    // The pushing account is recorded per entry.
    assert.equal((await store.entryMeta('events', 'default', 'a')).pushedBy, 'user-1');
    assert.equal((await store.entryMeta('events', 'default', 'c')).pushedBy, null);
    // remaining: what the same cursor still has after this page.
    const first = await store.page('events', 'default', { afterSeq: 0, limit: 2 });
    assert.deepEqual([first.more, first.remaining], [true, 2]);
  });
});

test('close() answers queued appends first; data survives reopening', async () => {
  const storage = await newStorage();
  try {
    const store = await openStore(storage);
    const pending = store.append('events', 'default', [item('z')]);
    await store.close();
    assert.deepEqual(await pending, ['stored']);
    const again = await openStore(storage);
    try {
      assert.equal(await again.count('events', 'default'), 1);
    } finally {
      await again.close();
    }
  } finally {
    await storage.cleanup();
  }
});

test('schema: migrations applied at open and idempotent; tables, tenants, unknown tenant refused', async () => {
  await withStore(async (store, storage) => {
    const version = await store.schemaVersion();
    assert.ok(version >= 1);
    assert.deepEqual(await store.migrate(), { from: version, to: version });
    assert.deepEqual(await store.listTenants(), ['default']);
    await assert.rejects(store.upsertUser('x@example.org', 'hash', ['missing']), /Unknown configId/);
    if (onPostgres) {
      const tables = (await sqlOn(storage.databaseUrl, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).map((r) => r.tablename);
      assert.deepEqual(tables, ['audit_logs', 'events', 'log_heads', 'login_limits', 'schema_migrations', 'settings', 'tenants', 'users']);
      const indexes = (await sqlOn(storage.databaseUrl, "SELECT indexdef FROM pg_indexes WHERE tablename IN ('events', 'users')")).map((r) => r.indexdef);
      assert.ok(indexes.some((d) => /UNIQUE INDEX .* ON public\.events .*\(config_id, guid\)/.test(d)), 'events(config_id, guid) unique index');
      assert.ok(indexes.some((d) => /UNIQUE INDEX .* ON public\.events .*\(config_id, seq\)/.test(d)), 'events(config_id, seq) index');
      assert.ok(indexes.some((d) => /UNIQUE INDEX .* ON public\.users .*\(email\)/.test(d)), 'users(email) index');
    } else {
      assert.equal(store.sqlite.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(version, SQLITE_VERSION);
      const tables = store.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => r.name);
      assert.deepEqual(tables, ['audit_logs', 'events', 'login_limits', 'settings', 'tenants', 'users']);
      const plan = store.sqlite.prepare("EXPLAIN QUERY PLAN SELECT content_hash FROM events WHERE config_id = 'd' AND guid = 'g'").all();
      assert.match(plan.map((p) => p.detail).join(), /USING (COVERING )?INDEX/);
    }
  });
});

test('SQLite: a version-1 database (made before migrations existed) is migrated in place', { skip: onPostgres && 'SQLite only' }, async () => {
  const storage = await newStorage();
  try {
    const Database = (await import('better-sqlite3')).default;
    const file = path.join(storage.dataDir, 'sync-server.sqlite');
    const old = new Database(file);
    old.exec(`CREATE TABLE tenants (config_id TEXT PRIMARY KEY, created_at TEXT NOT NULL);
      CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, config_ids TEXT NOT NULL, created_at TEXT NOT NULL);
      CREATE TABLE events (config_id TEXT NOT NULL, seq INTEGER NOT NULL, guid TEXT NOT NULL, timestamp TEXT NOT NULL, ts_ms INTEGER, body TEXT NOT NULL, content_hash TEXT NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (config_id, seq), UNIQUE (config_id, guid)) WITHOUT ROWID;
      CREATE TABLE audit_logs (config_id TEXT NOT NULL, seq INTEGER NOT NULL, guid TEXT NOT NULL, timestamp TEXT NOT NULL, ts_ms INTEGER, body TEXT NOT NULL, content_hash TEXT NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (config_id, seq), UNIQUE (config_id, guid)) WITHOUT ROWID;
      INSERT INTO tenants VALUES ('default', 'x');
      INSERT INTO events VALUES ('default', 1, 'old', '2024-01-01T00:00:00.000Z', 0, '{"guid":"old"}', 'h', 'x');
      PRAGMA user_version = 1;`);
    old.close();
    const store = await openStore({ dataDir: storage.dataDir });
    try {
      assert.equal(await store.schemaVersion(), SQLITE_VERSION);
      assert.equal((await store.entryMeta('events', 'default', 'old')).pushedBy, null);
      assert.deepEqual(await store.append('events', 'default', [item('new')], 'u'), ['stored']);
      assert.equal((await store.entryMeta('events', 'default', 'new')).seq, 2);
    } finally {
      await store.close();
    }
  } finally {
    await storage.cleanup();
  }
});

test('SQLite: data directory 0700, database files 0600 (also when the directory did not exist)', { skip: onPostgres && 'SQLite only' }, async () => {
  const storage = await newStorage();
  try {
    const dataDir = path.join(storage.dataDir, 'nested', 'data');
    const store = await openStore({ dataDir });
    await store.append('events', 'default', [item('a')]);
    await store.loadOrCreateSecret();
    const files = fs.readdirSync(dataDir);
    assert.ok(files.includes('sync-server.sqlite-wal'), files.join());
    try {
      assert.equal(fs.statSync(dataDir).mode & 0o777, 0o700);
      for (const f of files) assert.equal(fs.statSync(path.join(dataDir, f)).mode & 0o777, 0o600, f);
    } finally {
      await store.close();
    }
  } finally {
    await storage.cleanup();
  }
});

// The interleaving that loses events when positions are allocated in one order and committed in
// another: push A takes position n and holds its commit; push B takes n+1 and commits; a client
// pulls; A commits; the client pulls again and must receive A's events. The test hook holds A's
// transaction open just before COMMIT (DC_TEST_HOOKS=1).
test('lossless cursors under concurrent commits: a held push does not let a later position be read first', { skip: !onPostgres && 'SQLite has one writer at a time and synchronous transactions: the interleaving cannot occur' }, async () => {
  process.env.DC_TEST_HOOKS = '1';
  let releaseA;
  let resolveHeld;
  const aHolding = new Promise((resolve) => (resolveHeld = resolve));
  const held = [];
  const hooks = {
    async beforeCommit(info) {
      held.push(info);
      if (info.guids.includes('A1')) {
        resolveHeld(info);
        await new Promise((resolve) => (releaseA = resolve));
      }
    },
  };
  try {
    await withStore(async (store) => {
      assert.deepEqual(await store.append('events', 'default', [item('seed')]), ['stored']);
      const pushA = store.append('events', 'default', [item('A1'), item('A2')]);
      let pushB;
      let seen1;
      let cursor1;
      // If an assertion fails while A is held, A must still be let go, or closing the store waits
      // for it forever.
      try {
        const infoA = await aHolding;
        assert.deepEqual([infoA.firstSeq, infoA.lastSeq], [2, 3]); // A took positions 2..3 and holds
        let bDone = false;
        pushB = store.append('events', 'default', [item('B1')]).then((r) => ((bDone = true), r));
        // Give B every chance to take position 4 and commit while A holds.
        await new Promise((r) => setTimeout(r, 300));
        const pull1 = await store.page('events', 'default', { afterSeq: 1, limit: 100 });
        seen1 = pull1.rows.map((r) => JSON.parse(r.body).guid);
        // Whatever this pull returns, it must not skip past A's positions.
        assert.ok(!seen1.includes('B1') || (seen1.includes('A1') && seen1.includes('A2')), `pull returned ${seen1} while A was uncommitted`);
        cursor1 = pull1.rows.length ? pull1.rows[pull1.rows.length - 1].seq : 1;
        assert.equal(bDone, false, 'B committed a later position while A held an earlier one');
      } finally {
        releaseA?.();
      }
      assert.deepEqual(await pushA, ['stored', 'stored']);
      assert.deepEqual(await pushB, ['stored']);
      const pull2 = await store.page('events', 'default', { afterSeq: cursor1, limit: 100 });
      const seen = [...seen1, ...pull2.rows.map((r) => JSON.parse(r.body).guid)];
      assert.deepEqual(seen.sort(), ['A1', 'A2', 'B1']);
      assert.deepEqual(held.find((h) => h.guids.includes('B1')).firstSeq, 4);
    }, { hooks });
  } finally {
    delete process.env.DC_TEST_HOOKS;
  }
});

test('test hooks are ignored unless DC_TEST_HOOKS=1', async () => {
  let called = 0;
  await withStore(async (store) => {
    await store.append('events', 'default', [item('x')]);
    assert.equal(called, 0);
  }, { hooks: { beforeCommit: async () => called++ } });
});

test('login limiter rows: read-modify-write is atomic under concurrency', async () => {
  await withStore(async (store) => {
    const bump = () =>
      store.loginLimit(['k1', 'k2'], 1000, (rows) => {
        const n = (rows.get('k1')?.count ?? 0) + 1;
        const row = { count: n, firstAt: 1000, lastAt: 1000, blockedUntil: 0 };
        return { updates: new Map([['k1', row], ['k2', row]]), result: n };
      });
    const results = await Promise.all(Array.from({ length: 30 }, bump));
    assert.deepEqual(results.sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i + 1));
  });
});
