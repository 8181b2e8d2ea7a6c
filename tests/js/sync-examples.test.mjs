// The original's InternalSyncManager examples, run as written, against the reference sync server
// (web/server) on 127.0.0.1 through the package's HTTP transport (node:http under Node).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { InternalSyncManager, open } from '../../js/index.js';
import { DEMO_USER, form, startReferenceServer } from './helpers/env.mjs';

let server;
before(async () => {
  server = await startReferenceServer();
});
after(async () => {
  await server?.close();
});

test('the original API examples: constructor, login, hasUnsyncedEvents, count, sync, isSyncing, push then pull', async () => {
  const store = await open({ name: 'examples', storage: 'memory' });
  const { eventStore, entityStore, eventApplierService } = store;
  try {
    // new InternalSyncManager(eventStore, entityStore, eventApplierService, url, token, configId)
    const syncManager = new InternalSyncManager(eventStore, entityStore, eventApplierService, server.url, '', 'default');
    assert.equal(syncManager.isSyncing, false);
    assert.equal(await syncManager.hasUnsyncedEvents(), false, 'a fresh store has nothing to sync');
    assert.equal(await syncManager.getUnsyncedEventsCount(), 0);

    await syncManager.login(DEMO_USER.email, DEMO_USER.password);

    await eventApplierService.submitForm(form('create-individual', randomUUID(), { name: 'John Doe', age: 30 }));
    await eventApplierService.submitForm(form('create-individual', randomUUID(), { name: 'Jane Roe', age: 28 }));
    if (await syncManager.hasUnsyncedEvents()) {
      const count = await syncManager.getUnsyncedEventsCount();
      assert.equal(count, 2);
      const running = syncManager.sync();
      assert.equal(syncManager.isSyncing, true, 'isSyncing is true while a sync runs');
      const joined = syncManager.sync();  // a second call joins the running one
      const [result, again] = await Promise.all([running, joined]);
      assert.deepEqual(again, result);
      assert.equal(result.pushed, 2);
    }
    assert.equal(syncManager.isSyncing, false);
    assert.equal(await syncManager.getUnsyncedEventsCount(), 0);

    await eventApplierService.submitForm(form('create-individual', randomUUID(), { name: 'Third Person' }));
    if (!syncManager.isSyncing) {
      const pushed = await syncManager.pushToRemote();
      assert.equal(pushed.pushed, 1);
      const pulled = await syncManager.pullFromRemote();
      assert.equal(typeof pulled.pulled, 'number');
    }
    assert.equal(await syncManager.hasUnsyncedEvents(), false);
    assert.equal(await syncManager.checkIfDuplicatesExist(), false);
  } finally {
    await store.close();
  }
});

test('open() with syncServerUrl and a token; a fresh client pulls everything; progress is reported', async () => {
  const first = await open({ name: 'open-a', storage: 'memory', syncServerUrl: server.url, userId: 'u-a' });
  const second = await open({ name: 'open-b', storage: 'memory', syncServerUrl: server.url, userId: 'u-b' });
  try {
    await first.entityDataManager.login(DEMO_USER.email, DEMO_USER.password);
    for (let i = 0; i < 25; i++)
      await first.entityDataManager.submitForm({ entityGuid: `bulk-${i}`, type: 'create-individual', data: { name: `P ${i}`, n: i } });
    await first.entityDataManager.syncWithSyncServer();
    const progress = [];
    second.syncManager.setProgressCallback((p) => progress.push(p));
    await second.syncManager.login(DEMO_USER.email, DEMO_USER.password);
    const result = await second.syncManager.sync();
    assert.ok(result.pulled >= 25, `pulled ${result.pulled}`);
    assert.ok(progress.some((p) => p.phase === 'pull'), 'progress reports the pull');
    for (let i = 0; i < 25; i++) assert.ok(await second.entityStore.getEntity(`bulk-${i}`));
  } finally {
    await first.close();
    await second.close();
  }
});

test('a wrong password is UNAUTHORIZED with no secret in the message', async () => {
  const store = await open({ name: 'bad-login', storage: 'memory', syncServerUrl: server.url });
  try {
    await assert.rejects(store.syncManager.login(DEMO_USER.email, 'not-the-password-123'),
      (e) => e.code === 'UNAUTHORIZED' && !e.message.includes('not-the-password-123'));
    await assert.rejects(store.syncManager.sync(), (e) => e.code === 'UNAUTHORIZED');
  } finally {
    await store.close();
  }
});

test('401 -> onAuthRequired hook -> log in -> retry succeeds; a hook giving up is UNAUTHORIZED', async () => {
  const reasons = [];
  const store = await open({
    name: 'auth-hook', storage: 'memory', syncServerUrl: server.url, authToken: 'not-a-valid-token',
    sync: { onAuthRequired: async (reason) => (reasons.push(reason), { ...DEMO_USER }) },
  });
  try {
    await store.eventApplierService.submitForm(form('create-individual', randomUUID(), { name: 'Hook Person' }));
    const result = await store.syncManager.sync();
    assert.equal(result.pushed, 1);
    assert.deepEqual(reasons, ['unauthorized']);
    store.syncManager.setAuthRequiredHook(() => null);
    await store.syncManager.setAuthToken('another-bad-token');
    await store.eventApplierService.submitForm(form('create-individual', randomUUID(), { name: 'Second Hook Person' }));
    await assert.rejects(store.syncManager.sync(), (e) => e.code === 'UNAUTHORIZED' && !e.message.includes('another-bad-token'));
    assert.equal(await store.syncManager.getUnsyncedEventsCount(), 1, 'nothing lost');
  } finally {
    await store.close();
  }
});
