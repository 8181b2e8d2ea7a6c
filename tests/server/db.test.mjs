// Store (web/server/db.js) on its own: group commit keeps each batch all-or-nothing and
// independent of the other batches committed with it; sequences are per tenant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Store } from '../../web/server/db.js';
import { tempDir } from './helpers.mjs';

const item = (guid, body = `{"guid":"${guid}"}`) => ({ guid, timestamp: '2024-01-01T00:00:00.000Z', tsMs: 1704067200000, body, hash: `h-${guid}-${body}` });

test('batches queued in one tick share a commit; a failing batch is rolled back alone', async () => {
  const dir = tempDir();
  const store = new Store(dir);
  try {
    store.addTenant('other');
    const ok1 = store.append('events', 'default', [item('a'), item('b')]);
    // NOT NULL violation on its second item: the whole batch, including 'c', must be rolled back.
    const bad = store.append('events', 'default', [item('c'), item('d', null)]);
    const ok2 = store.append('events', 'other', [item('a')]);
    const [r1, r2, r3] = await Promise.allSettled([ok1, bad, ok2]);
    assert.deepEqual(r1, { status: 'fulfilled', value: ['accepted', 'accepted'] });
    assert.equal(r2.status, 'rejected');
    assert.deepEqual(r3, { status: 'fulfilled', value: ['accepted'] });
    const page = store.page('events', 'default', { afterSeq: 0, limit: 10 });
    assert.deepEqual(page.rows.map((r) => r.seq), [1, 2]);
    assert.equal(store.count('events', 'default'), 2);
    assert.equal(store.count('events', 'other'), 1);
    // Sequences continue without a gap after the rolled-back batch.
    assert.deepEqual(await store.append('events', 'default', [item('c')]), ['accepted']);
    assert.deepEqual(store.page('events', 'default', { afterSeq: 2, limit: 10 }).rows.map((r) => r.seq), [3]);
    // Same guid: identical hash accepted, different hash a conflict.
    assert.deepEqual(await store.append('events', 'default', [item('a'), item('a', '{"x":1}')]), ['accepted', 'conflict']);
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('close() answers queued appends first', async () => {
  const dir = tempDir();
  const store = new Store(dir);
  const pending = store.append('events', 'default', [item('z')]);
  store.close();
  assert.deepEqual(await pending, ['accepted']);
  const again = new Store(dir);
  try {
    assert.equal(again.count('events', 'default'), 1);
  } finally {
    again.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('schema: WAL mode, tables and the UNIQUE(config_id, guid) constraint', () => {
  const dir = tempDir();
  const store = new Store(dir);
  try {
    assert.equal(store.sqlite.pragma('journal_mode', { simple: true }), 'wal');
    const tables = store.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => r.name);
    assert.deepEqual(tables, ['audit_logs', 'events', 'tenants', 'users']);
    assert.deepEqual(store.listTenants(), ['default']);
    assert.throws(() => store.upsertUser('x@example.org', 'hash', ['missing']), /Unknown configId/);
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
