// Bad input through the JS API: rejected with an Error carrying .code; the store is unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataCollectError, open } from '../../js/index.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { form, tempDir } from './helpers/env.mjs';

async function snapshot(store) {
  return {
    events: await store.eventStore.getAllEvents(),
    entities: await store.entityStore.getAllEntities(),
    audit: await store.eventStore.getAuditLogsSince(''),
    root: await store.eventStore.getMerkleRoot(),
    duplicates: await store.entityStore.getPotentialDuplicates(),
  };
}

const valid = () => form('create-individual', 'person-1', { name: 'Valid Person' });
const mega = 'x'.repeat(1 << 20);

const badForms = [
  ['undefined', undefined, 'INVALID_FORM'],
  ['null', null, 'INVALID_FORM'],
  ['a number', 42, 'INVALID_FORM'],
  ['a string', 'create-individual', 'INVALID_FORM'],
  ['an array', [valid()], 'INVALID_FORM'],
  ['missing guid', { ...valid(), guid: undefined }, 'INVALID_FORM'],
  ['numeric guid', { ...valid(), guid: 7 }, 'INVALID_FORM'],
  ['missing entityGuid', { ...valid(), entityGuid: undefined }, 'INVALID_FORM'],
  ['missing type', { ...valid(), type: '' }, 'INVALID_FORM'],
  ['object type', { ...valid(), type: { a: 1 } }, 'INVALID_FORM'],
  ['missing data', { ...valid(), data: undefined }, 'INVALID_FORM'],
  ['empty data', { ...valid(), data: {} }, 'INVALID_FORM'],
  ['array data', { ...valid(), data: ['a'] }, 'INVALID_FORM'],
  ['string data', { ...valid(), data: 'name=x' }, 'INVALID_FORM'],
  ['null data', { ...valid(), data: null }, 'INVALID_FORM'],
  ['missing timestamp', { ...valid(), timestamp: undefined }, 'INVALID_FORM'],
  ['unparseable timestamp', { ...valid(), timestamp: '31/02/2024' }, 'INVALID_FORM'],
  ['numeric timestamp', { ...valid(), timestamp: 1714557600000 }, 'INVALID_FORM'],
  ['1 MB timestamp', { ...valid(), timestamp: mega }, 'INVALID_FORM'],
  ['missing userId', { ...valid(), userId: undefined }, 'INVALID_FORM'],
  ['1 MB type (no applier)', { ...valid(), type: mega }, 'NO_APPLIER'],
  ['member without guid', form('create-group', 'g-1', { name: 'G', members: [{ name: 'no guid' }] }), 'INVALID_MEMBER_DATA'],
  ['add-member to a missing group', form('add-member', 'nope', { members: [{ guid: 'm' }] }), 'INVALID_GROUP'],
  ['add-member with no members', form('add-member', 'person-1', { members: [] }), null],
  ['remove-member without memberId', form('remove-member', 'g-x', { x: 1 }), null],
  ['update-individual on a group', null, 'INVALID_FORM'],
];

test('bad forms are rejected with .code and leave the store unchanged', async () => {
  const store = await open({ name: 'bad-input', storage: 'memory' });
  try {
    await store.eventApplierService.submitForm(valid());
    await store.eventApplierService.submitForm(form('create-group', 'group-1', { name: 'Group One' }));
    const before = await snapshot(store);
    for (const [label, input, code] of badForms) {
      const submitted = input ?? form('update-individual', 'group-1', { name: 'Not a group' });
      await assert.rejects(store.eventApplierService.submitForm(submitted), (e) => {
        assert.ok(e instanceof DataCollectError && e instanceof Error, `${label}: an Error`);
        if (code) assert.equal(e.code, code, `${label}: ${e.code} ${e.message.slice(0, 120)}`);
        else assert.match(e.code, /^(INVALID_[A-Z_]+)$/, label);
        assert.ok(e.message.length > 0 && e.message.length < 2000, `${label}: a short message`);
        return true;
      }, label);
      assert.deepEqual(await snapshot(store), before, `${label}: store unchanged`);
    }
    // Also through the facade (it fills guid/timestamp/userId but validates the rest).
    for (const input of [undefined, null, 5, { type: 'create-individual', entityGuid: 'x', data: {} }])
      await assert.rejects(store.entityDataManager.submitForm(input), (e) => e.code === 'INVALID_FORM');
    assert.deepEqual(await snapshot(store), before);
  } finally {
    await store.close();
  }
});

test('big but valid data (1 MB string) is stored and read back intact', async () => {
  const store = await open({ name: 'big-input', storage: 'memory' });
  try {
    const entity = await store.eventApplierService.submitForm(form('create-individual', 'big', { name: 'Big', notes: mega }));
    assert.equal(entity.data.notes.length, mega.length);
    assert.equal((await store.entityStore.getEntity('big')).modified.data.notes, mega);
  } finally {
    await store.close();
  }
});

test('wrong argument types to store methods reject with .code', async () => {
  const store = await open({ name: 'bad-args', storage: 'memory' });
  try {
    await store.eventApplierService.submitForm(valid());
    const before = await snapshot(store);
    const cases = [
      () => store.entityStore.getEntity(undefined),
      () => store.entityStore.getEntity({ guid: 'person-1' }),
      () => store.entityStore.searchEntities('name'),
      () => store.entityStore.searchEntities([{ age: { $bogus: 1 } }]),
      () => store.entityStore.deleteEntity(null),
      () => store.entityStore.savePotentialDuplicates('nope'),
      () => store.entityStore.resolvePotentialDuplicates([{ entityGuid: 5 }]),
      () => store.eventStore.getEventsSincePagination('', -1),
      () => store.eventStore.getEventsSince(12),
      () => store.eventStore.updateEventSyncLevel(['x'], 9),
      () => store.eventStore.verifyEvent(null, []),
      () => store.eventStore.saveAuditLogs({}),
      () => store.eventApplierService.registerEventApplier('', () => null),
      () => store.eventApplierService.registerEventApplier('x', 'not a function'),
    ];
    for (const [i, call] of cases.entries()) {
      await assert.rejects(call(), (e) => {
        assert.ok(e instanceof DataCollectError, `case ${i}: ${e}`);
        assert.match(e.code, /^[A-Z_]+$/);
        return true;
      }, `case ${i}`);
    }
    assert.deepEqual(await snapshot(store), before);
  } finally {
    await store.close();
  }
});

test('open() rejects bad options with .code', async () => {
  await assert.rejects(open({ name: 'a/b', storage: 'memory' }), (e) => e.code === 'INVALID_FORM');
  await assert.rejects(open({ name: 'x', storage: 'floppy' }), (e) => e.code === 'INVALID_FORM');
  // A directory below a regular file cannot exist (not under /proc: Node's recursive mkdir loops there).
  const { dir, cleanup } = tempDir('dc-bad-dir-');
  try {
    writeFileSync(join(dir, 'file'), 'x');
    await assert.rejects(open({ name: 'x', storage: { directory: join(dir, 'file', 'store') } }), (e) => e.code === 'STORAGE');
  } finally {
    cleanup();
  }
});
