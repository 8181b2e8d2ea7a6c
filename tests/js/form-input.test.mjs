// Form data that JSON would silently mangle is rejected with INVALID_FORM naming its path;
// update-individual on a missing entity creates it (upsert, as documented in js/index.d.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, validateEvent } from '../../js/index.js';
import { form } from './helpers/env.mjs';

test('binary data, Date, Map, Set, NaN and functions in data are INVALID_FORM with the path; nothing is stored', async () => {
  const store = await open({ name: 'form-input', storage: 'memory' });
  try {
    const cases = [
      [{ photo: new Uint8Array([1, 2]) }, 'data.photo', 'Uint8Array'],
      [{ a: { b: [0, new ArrayBuffer(4)] } }, 'data.a.b[1]', 'ArrayBuffer'],
      [{ file: new Blob(['x']) }, 'data.file', 'Blob'],
      [{ born: new Date(0) }, 'data.born', 'Date'],
      [{ tags: new Map([['a', 1]]) }, 'data.tags', 'Map'],
      [{ 'odd key': new Set([1]) }, 'data["odd key"]', 'Set'],
      [{ score: Number.NaN }, 'data.score', 'NaN'],
      [{ deep: { fn: () => 1 } }, 'data.deep.fn', 'function'],
    ];
    for (const [data, path, what] of cases) {
      await assert.rejects(store.eventApplierService.submitForm(form('create-individual', 'e1', { name: 'X', ...data })),
        (e) => e.code === 'INVALID_FORM' && e.message.includes(path) && e.message.includes(what), `${path} ${what}`);
      await assert.rejects(store.entityDataManager.submitForm({ type: 'create-individual', entityGuid: 'e1', userId: 'u', data }),
        (e) => e.code === 'INVALID_FORM' && e.message.includes(path));
      const verdict = await validateEvent(form('create-individual', 'e1', data));
      assert.equal(verdict.ok, false);
      assert.equal(verdict.code, 'INVALID_FORM');
    }
    assert.equal((await store.eventStore.getAllEvents()).length, 0, 'nothing stored');
    // Plain JSON with the same shapes is fine, and a cycle is still reported (not a hang).
    await store.eventApplierService.submitForm(form('create-individual', 'e1', { name: 'X', photo: 'AQI=', list: [1, { a: null }] }));
    const cyclic = { name: 'Y' };
    cyclic.self = cyclic;
    await assert.rejects(store.eventApplierService.submitForm(form('create-individual', 'e2', cyclic)), (e) => e.code === 'INVALID_FORM');
    // A hostile, deeply nested form does not overflow the checker's stack.
    let deep = {};
    for (let i = 0; i < 20000; i++) deep = { d: deep };
    const verdict = await validateEvent(form('create-individual', 'e3', { deep }));
    assert.equal(verdict.ok, false);
  } finally {
    await store.close();
  }
});

test('update-individual on an entity that does not exist creates it (upsert)', async () => {
  const store = await open({ name: 'form-upsert', storage: 'memory' });
  try {
    const entity = await store.eventApplierService.submitForm(form('update-individual', 'new-one', { name: 'Upserted' }));
    assert.equal(entity.guid, 'new-one');
    assert.equal(entity.type, 'individual');
    assert.equal((await store.entityStore.getEntity('new-one')).modified.name, 'Upserted');
  } finally {
    await store.close();
  }
});
