// Submits of one JS turn go to the engine as one batch (js/submit-batch.js): each keeps its own
// Promise, a bad form fails alone, other calls still see the engine in call order, and a
// directory store makes the whole batch durable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DataCollectError, open } from '../../js/index.js';
import { form, tempDir } from './helpers/env.mjs';

test('a turn of submits: each resolves with its entity, a bad form rejects only itself', async () => {
  const store = await open({ name: 'batch-mixed', storage: 'memory', userId: 'user-1' });
  try {
    const svc = store.eventApplierService;
    const guids = Array.from({ length: 20 }, () => randomUUID());
    const promises = guids.map((g, i) => svc.submitForm(form('create-individual', g, { name: `P${i}` })));
    const bad = svc.submitForm({ ...form('create-individual', randomUUID(), { name: 'x' }), guid: '' });
    const badData = svc.submitForm(form('create-individual', randomUUID(), {}));  // "has no data"
    const late = svc.submitForm(form('create-individual', randomUUID(), { name: 'old' }, { timestamp: '2000-01-01T00:00:00.000Z' }));
    const results = await Promise.allSettled([...promises, bad, badData, late]);
    results.slice(0, 20).forEach((r, i) => {
      assert.equal(r.status, 'fulfilled');
      assert.equal(r.value.guid, guids[i]);
      assert.equal(r.value.name, `P${i}`);
    });
    for (const r of results.slice(20, 22)) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof DataCollectError);
      assert.equal(r.reason.code, 'INVALID_FORM');
    }
    // The late create sorts before everything applied: it is stored and replayed in order.
    assert.equal(results[22].status, 'fulfilled');
    assert.equal((await store.eventStore.getAllEvents()).length, 21);
  } finally {
    await store.close();
  }
});

test('calls made after a submit in the same turn see it (the queue is drained first)', async () => {
  const store = await open({ name: 'batch-order', storage: 'memory', userId: 'user-1' });
  try {
    const guid = randomUUID();
    const submitted = store.entityDataManager.submitForm({ entityGuid: guid, type: 'create-individual', data: { name: 'A' } });
    const seen = store.entityStore.getEntity(guid);  // not awaited in between
    assert.equal((await seen)?.modified.name, 'A');
    assert.equal((await submitted).guid, guid);
    // EntityDataManager fills guid and timestamp; the filled timestamp comes from the engine clock.
    const [event] = await store.eventStore.getAllEvents();
    assert.match(event.timestamp, /^\d{4}-\d\d-\d\dT/);
  } finally {
    await store.close();
  }
});

test('a directory store: the batch is durable once the Promises resolve; close waits for a queued batch', async () => {
  const tmp = tempDir();
  try {
    let store = await open({ name: 'batch-dir', storage: { directory: tmp.dir }, userId: 'user-1' });
    const guids = Array.from({ length: 50 }, () => randomUUID());
    const all = Promise.all(guids.map((g) => store.eventApplierService.submitForm(form('create-individual', g, { name: g }))));
    const closed = store.close();  // same turn: the queued batch still goes in
    await all;
    await closed;
    store = await open({ name: 'batch-dir', storage: { directory: tmp.dir }, userId: 'user-1' });
    assert.equal((await store.eventStore.getAllEvents()).length, 50);
    await assert.rejects(store.close().then(() => store.eventApplierService.submitForm(form('create-individual', randomUUID(), { a: 1 }))),
      (e) => e.code === 'CLOSED');
  } finally {
    tmp.cleanup();
  }
});
