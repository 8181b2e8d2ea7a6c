// The JS API over the engine: open(), the store classes, EntityDataManager, appliers, close().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DataCollectError, open } from '../../js/index.js';
import { form } from './helpers/env.mjs';

const rejectsWith = (promise, code) =>
  assert.rejects(promise, (e) => e instanceof DataCollectError && e instanceof Error && e.code === code);

test('submitForm, getEntity, update, audit trail, events', async () => {
  const store = await open({ name: 'api-basic', storage: 'memory', userId: 'user-1' });
  try {
    const { eventApplierService, entityStore, eventStore } = store;
    const guid = randomUUID();
    const created = await eventApplierService.submitForm(form('create-individual', guid, { name: 'John Doe', age: 30 }));
    assert.equal(created.guid, guid);
    assert.equal(created.name, 'John Doe');
    assert.equal(created.version, 1);
    const updated = await eventApplierService.submitForm(form('update-individual', guid, { age: 31 }));
    assert.equal(updated.version, 2);
    assert.equal(updated.data.age, 31);
    const pair = await entityStore.getEntity(guid);
    assert.equal(pair.modified.version, 2);
    assert.equal(pair.initial.version, 1);
    assert.equal((await eventStore.getAllEvents()).length, 2);
    assert.equal((await eventStore.getAuditTrailByEntityGuid(guid)).length, 2);
    assert.equal(await eventStore.getUnsyncedEventsCount(), 2);
    assert.match(await eventStore.getMerkleRoot(), /^[0-9a-f]{64}$/);
    const [first] = await eventStore.getAllEvents();
    const proof = await eventStore.getProof(first);
    assert.equal(await eventStore.verifyEvent(first, proof), true);
    assert.equal(await eventStore.verifyEvent({ ...first, data: { name: 'Eve' } }, proof), false);
    assert.equal(await entityStore.getEntity('missing'), null);
  } finally {
    await store.close();
  }
});

test('EntityDataManager fills guid, userId and timestamp; groups carry members', async () => {
  const store = await open({ name: 'api-edm', storage: 'memory', userId: 'field-worker' });
  try {
    const edm = store.entityDataManager;
    const groupGuid = randomUUID();
    const memberGuid = randomUUID();
    await edm.submitForm({ entityGuid: groupGuid, type: 'create-group',
      data: { name: 'Smith Family', members: [{ guid: memberGuid, name: 'Ann Smith' }] } });
    const events = await edm.getAllEvents();
    assert.equal(events.length, 1);
    assert.match(events[0].guid, /^[0-9a-f-]{36}$/);
    assert.equal(events[0].userId, 'field-worker');
    assert.match(events[0].timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const group = await edm.getEntity(groupGuid);
    assert.deepEqual(group.modified.memberIds, [memberGuid]);
    assert.equal(group.modified.members.length, 1);
    assert.equal(group.modified.members[0].name, 'Ann Smith');
    assert.equal((await edm.getMembers(groupGuid)).length, 1);
    await rejectsWith(edm.getEntity('nope'), 'ENTITY_NOT_FOUND');
    await rejectsWith(edm.getMembers(memberGuid), 'INVALID_GROUP');
    assert.equal(await edm.hasUnsyncedEvents(), true);
    assert.equal((await edm.searchEntities([{ name: 'ann smith' }])).length, 1);
    // A later local edit sorts after the first one (hybrid logical clock).
    await edm.submitForm({ entityGuid: memberGuid, type: 'update-individual', data: { age: 40 } });
    const [a, b] = await edm.getAllEvents();
    assert.ok(a.timestamp < b.timestamp || (a.timestamp === b.timestamp && a.guid < b.guid));
  } finally {
    await store.close();
  }
});

test('custom appliers: synchronous works, ctx saves other entities, Promise is a clear error', async () => {
  const store = await open({ name: 'api-appliers', storage: 'memory' });
  try {
    const { eventApplierService: svc, entityStore } = store;
    const guid = randomUUID();
    await svc.submitForm(form('create-group', guid, { name: 'Household' }));
    await svc.registerEventApplier('add-elderly', (entity, f, ctx) => {
      const elder = { id: f.data.guid, guid: f.data.guid, type: 'individual', version: 1, name: f.data.name,
        data: { name: f.data.name, elderly: true }, lastUpdated: f.timestamp };
      ctx.saveEntity('add-elderly', ctx.getEntity(f.data.guid), elder, { added: f.data.guid });
      return { ...entity, memberIds: [...entity.memberIds, f.data.guid], version: entity.version + 1 };
    });
    const elderGuid = randomUUID();
    const group = await svc.submitForm(form('add-elderly', guid, { guid: elderGuid, name: 'Grandpa' }));
    assert.deepEqual(group.memberIds, [elderGuid]);
    assert.equal((await entityStore.getEntity(elderGuid)).modified.data.elderly, true);
    assert.equal(typeof (await svc.getEventApplier('add-elderly')), 'function');

    await rejectsWith(svc.registerEventApplier('async-one', async () => null), 'INVALID_FORM');
    await svc.registerEventApplier('promise-one', () => Promise.resolve(null));
    const before = await store.eventStore.getAllEvents();
    await assert.rejects(svc.submitForm(form('promise-one', guid, { x: 1 })),
      (e) => e.code === 'INVALID_FORM' && /synchronous/.test(e.message));
    await svc.registerEventApplier('throws', () => {
      throw new Error('boom');
    });
    await assert.rejects(svc.submitForm(form('throws', guid, { x: 1 })), (e) => e.code === 'INVALID_FORM' && /boom/.test(e.message));
    await rejectsWith(svc.submitForm(form('unknown-type', guid, { x: 1 })), 'NO_APPLIER');
    assert.deepEqual(await store.eventStore.getAllEvents(), before, 'failed events leave no trace');
  } finally {
    await store.close();
  }
});

test('group commit: concurrent submits all resolve, each durable', async () => {
  const store = await open({ name: 'api-burst', storage: 'memory' });
  try {
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) =>
      store.eventApplierService.submitForm(form('create-individual', `p-${i}`, { name: `Person ${i}` }))));
    assert.equal(results.length, 200);
    assert.equal((await store.entityStore.getAllEntities()).length, 200);
  } finally {
    await store.close();
  }
});

test('close() frees everything; later calls reject with CLOSED; the lock is released', async () => {
  const store = await open({ name: 'api-close', storage: 'memory' });
  await rejectsWith(open({ name: 'api-close', storage: 'memory' }), 'STORE_LOCKED');
  const waiting = open({ name: 'api-close', storage: 'memory', lock: 'wait' });
  const pending = store.eventApplierService.submitForm(form('create-individual', 'p-1', { name: 'A' }));
  await store.close();
  assert.equal((await pending).guid, 'p-1', 'an accepted submit completes before close');
  await rejectsWith(store.entityStore.getAllEntities(), 'CLOSED');
  await rejectsWith(store.eventApplierService.submitForm(form('create-individual', 'p-2', { name: 'B' })), 'CLOSED');
  await store.close();  // idempotent
  const second = await waiting;
  await second.close();
});
