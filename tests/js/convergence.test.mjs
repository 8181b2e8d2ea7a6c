// Two clients edit offline, then sync through the reference server in both orders: identical
// entities afterwards (docs/convergence.md).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { open } from '../../js/index.js';
import { DEMO_USER, entitySnapshot, form, startReferenceServer } from './helpers/env.mjs';

let server;
before(async () => {
  server = await startReferenceServer();
});
after(async () => {
  await server?.close();
});

async function client(name, configId) {
  const store = await open({ name, storage: 'memory', syncServerUrl: server.url, configId, userId: name });
  await store.syncManager.login(DEMO_USER.email, DEMO_USER.password);
  return store;
}

for (const order of [['A', 'B'], ['B', 'A']]) {
  test(`concurrent offline edits converge (sync order ${order.join(' then ')})`, async () => {
    const tenant = 'default';
    const a = await client(`conv-a-${order.join('')}`, tenant);
    const b = await client(`conv-b-${order.join('')}`, tenant);
    const clients = { A: a, B: b };
    try {
      // Names unique per test: both tests share the server, and equal names are duplicates.
      const tag = order.join('');
      const household = `hh-${tag}`;
      const person = `p-${order.join('')}`;
      // Shared starting point: A creates, both sync.
      await a.eventApplierService.submitForm(form('create-group', household, { name: `Household ${tag}`,
        members: [{ guid: person, name: `Ann ${tag}` }] }));
      await a.syncManager.sync();
      await b.syncManager.sync();
      assert.deepEqual(await entitySnapshot(a), await entitySnapshot(b));

      // Offline: both edit the same person and the group; B's edits are "older" on the clock.
      await b.eventApplierService.submitForm(form('update-individual', person, { age: 41, city: 'Oslo' }));
      await a.eventApplierService.submitForm(form('update-individual', person, { age: 42 }));
      await a.eventApplierService.submitForm(form('update-group', household, { name: `Household A ${tag}` }));
      await b.eventApplierService.submitForm(form('add-member', household, { members: [{ guid: `${person}-kid`, name: `Kid ${tag}` }] }));
      await b.eventApplierService.submitForm(form('create-individual', `${person}-b-only`, { name: `Only B ${tag}` }));

      for (const name of order) await clients[name].syncManager.sync();
      for (const name of order) await clients[name].syncManager.sync();

      const snapA = await entitySnapshot(a);
      const snapB = await entitySnapshot(b);
      assert.deepEqual(snapA, snapB);
      const merged = snapA.find((e) => e.guid === person);
      assert.equal(merged.data.age, 42, 'the later edit wins on the shared field');
      assert.equal(merged.data.city, 'Oslo', 'both edits are kept');
      assert.equal((await a.eventStore.getAllEvents()).length, (await b.eventStore.getAllEvents()).length);
      assert.equal(await a.syncManager.getUnsyncedEventsCount(), 0);
      assert.equal(await b.syncManager.getUnsyncedEventsCount(), 0);
    } finally {
      await a.close();
      await b.close();
    }
  });
}
