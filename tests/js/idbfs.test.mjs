// IDBFS persistence under Node with fake-indexeddb: the browser's storage path (IDBFS + syncfs),
// exercised headless. fake-indexeddb/auto must be installed before the module is created.
import 'fake-indexeddb/auto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModuleInstance, open } from '../../js/index.js';
import { form } from './helpers/env.mjs';

// A new module instance = a page reload: empty memory, files only from IndexedDB.
async function reload(name) {
  return open({ name, storage: 'indexeddb', module: await createModuleInstance() });
}

test('data survives a new module instance', async () => {
  const first = await reload('idb-survive');
  await first.eventApplierService.submitForm(form('create-individual', 'p-1', { name: 'Ada' }));
  await first.eventApplierService.submitForm(form('update-individual', 'p-1', { age: 36 }));
  const root = await first.eventStore.getMerkleRoot();
  await first.close();

  const second = await reload('idb-survive');
  try {
    const pair = await second.entityStore.getEntity('p-1');
    assert.equal(pair.modified.data.age, 36);
    assert.equal(pair.modified.version, 2);
    assert.equal((await second.eventStore.getAllEvents()).length, 2);
    assert.equal(await second.eventStore.getMerkleRoot(), root);
  } finally {
    await second.close();
  }
});

test('two writes in one millisecond both persist', async () => {
  const store = await reload('idb-same-ms');
  const realNow = Date.now;
  const frozen = realNow();
  Date.now = () => frozen;  // every file write and flush happens "in the same millisecond"
  try {
    await store.eventApplierService.submitForm(form('create-individual', 'a', { name: 'First' }));
    await store.eventApplierService.submitForm(form('create-individual', 'b', { name: 'Second' }));
    await store.eventApplierService.submitForm(form('update-individual', 'a', { name: 'First again' }));
  } finally {
    Date.now = realNow;
  }
  await store.close();
  const reopened = await reload('idb-same-ms');
  try {
    assert.equal((await reopened.entityStore.getEntity('a')).modified.name, 'First again');
    assert.ok(await reopened.entityStore.getEntity('b'));
    assert.equal((await reopened.eventStore.getAllEvents()).length, 3);
  } finally {
    await reopened.close();
  }
});

test('QuotaExceededError -> STORAGE; nothing already stored is lost; the next flush recovers', async () => {
  const store = await reload('idb-quota');
  await store.eventApplierService.submitForm(form('create-individual', 'kept', { name: 'Kept' }));
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function () {
    throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
  };
  try {
    await assert.rejects(store.eventApplierService.submitForm(form('create-individual', 'full', { name: 'Full' })),
      (e) => e.code === 'STORAGE' && /QuotaExceededError/.test(e.message));
  } finally {
    IDBObjectStore.prototype.put = put;
  }
  await store.eventApplierService.submitForm(form('create-individual', 'later', { name: 'Later' }));
  await store.close();
  const reopened = await reload('idb-quota');
  try {
    assert.ok(await reopened.entityStore.getEntity('kept'), 'data stored before the failure is intact');
    assert.ok(await reopened.entityStore.getEntity('later'), 'the next flush persisted what came after');
  } finally {
    await reopened.close();
  }
});

test('an IndexedDB that never answers -> STORAGE after the timeout guard', async () => {
  const module = await createModuleInstance();
  const store = await open({ name: 'idb-hang', storage: 'indexeddb', module });
  module.dcSetFlushTimeout(200);
  const transaction = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function () {
    const tx = transaction.apply(this, arguments);
    tx.abort = () => {};
    Object.defineProperty(tx, 'oncomplete', { set() {}, get() { return null; } });
    Object.defineProperty(tx, 'onerror', { set() {}, get() { return null; } });
    Object.defineProperty(tx, 'onabort', { set() {}, get() { return null; } });
    return tx;
  };
  try {
    await assert.rejects(store.eventApplierService.submitForm(form('create-individual', 'h', { name: 'Hang' })),
      (e) => e.code === 'STORAGE' && /did not answer/.test(e.message));
  } finally {
    IDBDatabase.prototype.transaction = transaction;
    module.dcSetFlushTimeout(30000);
  }
  await store.close();
});

test('two stores in one module flush independently; a second opener of one store is STORE_LOCKED', async () => {
  const module = await createModuleInstance();
  const a = await open({ name: 'idb-a', storage: 'indexeddb', module });
  const b = await open({ name: 'idb-b', storage: 'indexeddb', module });
  await assert.rejects(open({ name: 'idb-a', storage: 'indexeddb', module }), (e) => e.code === 'STORE_LOCKED');
  await Promise.all([
    ...Array.from({ length: 20 }, (_, i) => a.eventApplierService.submitForm(form('create-individual', `a${i}`, { name: `A ${i}` }))),
    ...Array.from({ length: 20 }, (_, i) => b.eventApplierService.submitForm(form('create-individual', `b${i}`, { name: `B ${i}` }))),
  ]);
  await a.close();
  await b.close();
  const a2 = await reload('idb-a');
  const b2 = await reload('idb-b');
  try {
    assert.equal((await a2.entityStore.getAllEntities()).length, 20);
    assert.equal((await b2.entityStore.getAllEntities()).length, 20);
  } finally {
    await a2.close();
    await b2.close();
  }
});
