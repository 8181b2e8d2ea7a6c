// One behaviour suite for the stores, run against every storage back-end the package offers in
// Node: memory (MEMFS journal in memory), directory (NODEFS), indexeddb (IDBFS on fake-indexeddb).
// Persistent back-ends are also reopened in a new module instance and must read back the same.
import 'fake-indexeddb/auto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModuleInstance, open } from '../../js/index.js';
import { form, tempDir } from './helpers/env.mjs';

const backends = [
  { name: 'memory', storage: () => 'memory', persistent: false },
  { name: 'directory', storage: (ctx) => ({ directory: ctx.dir }), persistent: true },
  { name: 'indexeddb', storage: () => 'indexeddb', persistent: true },
];

async function behaviour(store) {
  const { eventApplierService: svc, entityStore, eventStore } = store;
  const hh = 'hh-1';
  await svc.submitForm(form('create-group', hh, { name: 'Doe Household',
    members: [{ guid: 'm-1', name: 'John Doe', age: 40 }, { guid: 'm-2', name: 'Jane Doe', age: 38 }] }));
  await svc.submitForm(form('create-individual', 'solo', { name: 'john doe', age: 40 }));
  await svc.submitForm(form('update-individual', 'm-2', { age: 39 }));
  await svc.submitForm(form('add-member', hh, { members: [{ guid: 'm-3', name: 'Baby Doe' }, { guid: 'm-4', name: 'Kid Doe' }] }));
  await svc.submitForm(form('remove-member', hh, { memberId: 'm-4' }));
  for (let i = 0; i < 25; i++)
    await svc.submitForm(form('create-individual', `bulk-${i}`, { name: `Bulk ${i}`, n: i }, { timestamp: '2024-06-01T00:00:00.000Z' }));

  const group = (await entityStore.getEntity(hh)).modified;
  assert.deepEqual(group.memberIds, ['m-1', 'm-2', 'm-3']);
  assert.equal(group.data.members, undefined, 'members are not kept in group data');
  assert.equal((await entityStore.getEntity('m-2')).modified.data.age, 39);
  assert.equal((await entityStore.searchEntities([{ 'data.age': { $gt: 38 } }])).length, 3);
  assert.equal((await entityStore.searchEntities([{ name: { $regex: '^Bulk 1' } }])).length, 11);
  const dupes = await entityStore.getPotentialDuplicates();
  assert.ok(dupes.some((d) => [d.entityGuid, d.duplicateGuid].sort().join() === 'm-1,solo'), 'John Doe x2 flagged');

  // Pagination never skips events sharing a timestamp.
  const seen = [];
  let cursor = '2024-05-31T00:00:00.000Z';
  for (;;) {
    const page = await eventStore.getEventsSincePagination(cursor, 10);
    seen.push(...page.events);
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  assert.equal(seen.length, 25);
  assert.equal(new Set(seen.map((e) => e.guid)).size, 25);

  await svc.submitForm(form('resolve-duplicate', 'solo', { duplicates: dupes, shouldDelete: true }));
  assert.equal(await entityStore.getEntity('solo'), null);
  assert.deepEqual(await entityStore.getPotentialDuplicates(), []);
  await entityStore.markEntityAsSynced('m-2');
  assert.equal((await entityStore.getEntity('m-2')).initial.data.age, 39);
  await eventStore.setLastRemoteSyncTimestamp('2024-06-01T00:00:00.000Z');
  return {
    entities: (await entityStore.getAllEntities()),
    events: await eventStore.getAllEvents(),
    audit: await eventStore.getAuditLogsSince(''),
    root: await eventStore.getMerkleRoot(),
    watermark: await eventStore.getLastRemoteSyncTimestamp(),
  };
}

for (const backend of backends) {
  test(`store behaviour on ${backend.name}`, async () => {
    const ctx = tempDir(`dc-backend-${backend.name}-`);
    const name = `behaviour-${backend.name}`;
    try {
      const store = await open({ name, storage: backend.storage(ctx), module: await createModuleInstance() });
      let state;
      try {
        state = await behaviour(store);
      } finally {
        await store.close();
      }
      if (!backend.persistent) return;
      const reopened = await open({ name, storage: backend.storage(ctx), module: await createModuleInstance() });
      try {
        assert.deepEqual(await reopened.entityStore.getAllEntities(), state.entities);
        assert.deepEqual(await reopened.eventStore.getAllEvents(), state.events);
        assert.deepEqual(await reopened.eventStore.getAuditLogsSince(''), state.audit);
        assert.equal(await reopened.eventStore.getMerkleRoot(), state.root);
        assert.equal(await reopened.eventStore.getLastRemoteSyncTimestamp(), state.watermark);
        await reopened.eventStore.clearStore();
        await reopened.entityStore.clearStore();
        assert.equal(await reopened.eventStore.getLastRemoteSyncTimestamp(), '', 'clearStore resets watermarks');
      } finally {
        await reopened.close();
      }
      const cleared = await open({ name, storage: backend.storage(ctx), module: await createModuleInstance() });
      try {
        assert.deepEqual(await cleared.eventStore.getAllEvents(), []);
        assert.deepEqual(await cleared.entityStore.getAllEntities(), []);
      } finally {
        await cleared.close();
      }
    } finally {
      ctx.cleanup();
    }
  });
}

// A submit answers at once on memory and after the flush elsewhere: either way close() lets every
// accepted submit finish, each resolves with its entity, and a bad form still rejects.
for (const backend of backends) {
  test(`submits in flight at close() finish on ${backend.name}`, async () => {
    const ctx = tempDir(`dc-inflight-${backend.name}-`);
    const name = `inflight-${backend.name}`;
    try {
      const store = await open({ name, storage: backend.storage(ctx), module: await createModuleInstance() });
      const submits = Array.from({ length: 20 }, (_, i) =>
        store.eventApplierService.submitForm(form('create-individual', `f-${i}`, { name: `F ${i}` })));
      const bad = assert.rejects(store.eventApplierService.submitForm({ ...form('create-individual', 'bad', {}), guid: 42 }),
        (e) => e.code === 'INVALID_FORM');
      await store.close();
      const entities = await Promise.all(submits);
      assert.deepEqual(entities.map((e) => e.guid), submits.map((_, i) => `f-${i}`));
      await bad;
      await assert.rejects(store.eventApplierService.submitForm(form('create-individual', 'late', {})), (e) => e.code === 'CLOSED');
      if (!backend.persistent) return;
      const reopened = await open({ name, storage: backend.storage(ctx), module: await createModuleInstance() });
      try {
        assert.equal((await reopened.entityStore.getAllEntities()).length, 20);
      } finally {
        await reopened.close();
      }
    } finally {
      ctx.cleanup();
    }
  });
}
