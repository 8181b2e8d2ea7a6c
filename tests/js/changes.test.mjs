// store.onChange, store.watch and paged reads (getAllEntities/searchEntities with {limit, offset,
// sort}), locally and across a real sync with the reference server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DataCollectError, open } from '../../js/index.js';
import { form, useLoggedInServer } from './helpers/env.mjs';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
const names = (page) => page.items.map((p) => p.modified.name);

const ctx = useLoggedInServer();

async function people(store, list) {
  for (const [name, age] of list) {
    await store.eventApplierService.submitForm(form('create-individual', `p-${name}`, { name, age }));
  }
}

test('onChange: one call per local change set, with the entity and event guids; unsubscribe stops it', async () => {
  const store = await open({ name: 'changes-local', storage: 'memory' });
  try {
    const seen = [];
    const stop = store.onChange((change) => seen.push(change));
    const f = form('create-individual', 'e1', { name: 'Ada' });
    await store.eventApplierService.submitForm(f);
    await tick();
    assert.deepEqual(seen, [{ source: 'local', entityGuids: ['e1'], eventGuids: [f.guid] }]);
    await store.entityStore.deleteEntity('e1');
    await tick();
    assert.equal(seen.length, 2);
    assert.deepEqual(seen[1].entityGuids, ['e1']);
    // A failed submit commits nothing and reports nothing.
    await assert.rejects(store.eventApplierService.submitForm(form('update-individual', '', {})));
    // A listener that throws does not stop the others.
    const other = [];
    const stopThrowing = store.onChange(() => { throw new Error('listener bug'); });
    store.onChange((change) => other.push(change));
    stop();
    await store.eventApplierService.submitForm(form('create-individual', 'e2', { name: 'Bob' }));
    await tick();
    assert.equal(seen.length, 2, 'unsubscribed');
    assert.equal(other.length, 1);
    stopThrowing();
    assert.throws(() => store.onChange('nope'), (e) => e instanceof DataCollectError && e.code === 'INVALID_ARGUMENT');
  } finally {
    await store.close();
  }
  assert.throws(() => store.onChange(() => {}), (e) => e.code === 'CLOSED');
});

test('paged reads: limit, offset, sort by any search field, total; bad options are INVALID_ARGUMENT', async () => {
  const store = await open({ name: 'changes-paging', storage: 'memory' });
  try {
    await people(store, [['Zed', 40], ['amy', 31], ['Bob', 20], ['Cal', 50], ['dan', 31]]);
    const all = await store.entityStore.getAllEntities();
    assert.ok(Array.isArray(all) && all.length === 5, 'without options: the array, as before');

    const byName = await store.entityStore.getAllEntities({ limit: 2, offset: 1, sort: 'name' });
    assert.deepEqual(names(byName), ['Bob', 'Cal'], 'names compare case-insensitively');
    assert.equal(byName.total, 5);
    assert.deepEqual([byName.limit, byName.offset], [2, 1]);
    assert.ok(byName.items[0].initial && byName.items[0].modified, 'items are entity pairs');

    const byAgeDesc = await store.entityStore.getAllEntities({ sort: { field: 'data.age', order: 'desc' } });
    assert.deepEqual(names(byAgeDesc), ['Cal', 'Zed', 'dan', 'amy', 'Bob'], 'ties (31) by guid, reversed with the order');

    const search = await store.entityStore.searchEntities([{ 'data.age': { $gte: 31 } }], { limit: 10, sort: 'age' });
    assert.deepEqual(names(search), ['amy', 'dan', 'Zed', 'Cal']);
    assert.equal(search.total, 4);
    const past = await store.entityDataManager.searchEntities([{ 'data.age': { $gte: 31 } }], { offset: 10 });
    assert.deepEqual(past.items, []);
    assert.equal(past.total, 4);
    const viaApplier = await store.eventApplierService.searchEntities([{ name: 'bob' }], { limit: 1 });
    assert.deepEqual(names(viaApplier), ['Bob']);

    for (const bad of [{ limit: -1 }, { limit: 1.5 }, { offset: 'x' }, { sort: '' }, { sort: { field: 'name', order: 'up' } }, null, []]) {
      await assert.rejects(store.entityStore.getAllEntities(bad), (e) => e.code === 'INVALID_ARGUMENT', JSON.stringify(bad));
    }
    await assert.rejects(store.entityStore.searchEntities([{ age: { $bogus: 1 } }], { limit: 1 }), (e) => e.code === 'INVALID_FORM');
  } finally {
    await store.close();
  }
});

test('watch: current results at once, again only for changes that can affect them, not after unsubscribe', async () => {
  const store = await open({ name: 'changes-watch', storage: 'memory' });
  try {
    await people(store, [['Zed', 40], ['Bob', 20]]);
    const calls = [];
    const stop = store.watch([{ 'data.age': { $gt: 30 } }], (page, change) => calls.push({ names: names(page), total: page.total, source: change?.source ?? null }),
      { limit: 2, sort: 'name' });
    await tick();
    assert.deepEqual(calls, [{ names: ['Zed'], total: 1, source: null }]);

    await people(store, [['Eve', 25]]);  // does not match: no call
    await store.eventApplierService.submitForm(form('update-individual', 'p-Bob', { age: 21 }));  // never matched
    await tick();
    assert.equal(calls.length, 1, 'changes to entities that neither matched nor match are ignored');

    await people(store, [['Amy', 35]]);  // a new match
    await tick();
    assert.deepEqual(calls.at(-1), { names: ['Amy', 'Zed'], total: 2, source: 'local' });

    await people(store, [['Abe', 60]]);  // matches, sorts first: the page shifts
    await tick();
    assert.deepEqual(calls.at(-1), { names: ['Abe', 'Amy'], total: 3, source: 'local' });

    await store.eventApplierService.submitForm(form('update-individual', 'p-Zed', { age: 10 }));  // Zed leaves (off-page)
    await tick();
    assert.deepEqual(calls.at(-1), { names: ['Abe', 'Amy'], total: 2, source: 'local' });
    const count = calls.length;

    await store.entityStore.deleteEntity('p-Amy');
    await tick();
    assert.deepEqual(calls.at(-1), { names: ['Abe'], total: 1, source: 'local' });

    stop();
    await people(store, [['Ann', 70]]);
    await tick();
    assert.equal(calls.length, count + 1, 'no call after unsubscribe');
    assert.throws(() => store.watch([{ x: { $nope: 1 } }], () => {}), (e) => e.code === 'INVALID_FORM');
    assert.throws(() => store.watch([], () => {}, { limit: -2 }), (e) => e.code === 'INVALID_ARGUMENT');
  } finally {
    await store.close();
  }
});

test('across a sync: one "sync" change set per pulled page, a "rebuild" set when an older event arrives, watches follow', async () => {
  const a = await open({ name: 'changes-a', storage: 'memory', syncServerUrl: ctx.server.url, authToken: ctx.token });
  const b = await open({ name: 'changes-b', storage: 'memory', syncServerUrl: ctx.server.url, authToken: ctx.token,
    sync: { pullLimit: 10 } });
  try {
    const tag = randomUUID().slice(0, 8);
    for (let i = 0; i < 25; i++) {
      await a.eventApplierService.submitForm(form('create-individual', `${tag}-${String(i).padStart(2, '0')}`, { name: `N${i}`, tag }));
    }
    await a.syncManager.sync();

    const sets = [];
    b.onChange((change) => sets.push(change));
    const pages = [];
    b.watch([{ 'data.tag': tag }], (page) => pages.push(page.total), { limit: 5 });
    await tick();
    await b.syncManager.sync();
    await tick();
    const pulled = sets.filter((s) => s.source === 'sync' && s.entityGuids.some((g) => g.startsWith(tag)));
    assert.equal(pulled.length, 3, `25 events in pages of 10: 3 change sets, got ${pulled.map((s) => s.entityGuids.length)}`);
    assert.deepEqual(pulled.map((s) => s.eventGuids.length), [10, 10, 5]);
    assert.equal(pages[0], 0);
    assert.equal(pages.at(-1), 25, 'the watch saw every page arrive');
    assert.ok(pages.length <= 4, `one refresh per page at most, got ${pages.length}`);

    // B edits an entity locally; A's earlier-timestamped edit of it then arrives: B rebuilds.
    const target = `${tag}-00`;
    const early = form('update-individual', target, { name: 'From A' });
    const late = form('update-individual', target, { name: 'From B' });
    await b.eventApplierService.submitForm(late);
    await a.syncManager.sync();
    await a.eventApplierService.submitForm(early);
    await a.syncManager.pushToRemote();
    sets.length = 0;
    await b.syncManager.pullFromRemote();
    await tick();
    assert.ok(sets.some((s) => s.source === 'rebuild' && s.entityGuids.includes(target)),
      `a rebuild set for ${target}: ${JSON.stringify(sets.map((s) => [s.source, s.entityGuids.length]))}`);
    assert.equal((await b.entityStore.getEntity(target)).modified.name, 'From B', 'the later edit wins after the rebuild');
  } finally {
    await a.close();
    await b.close();
  }
});
