// The package's end-to-end sync examples (the original's InternalSyncManager examples, run as
// written), as one body run against several servers: tests/js/sync-examples.test.mjs (the
// reference server, web/server) and tests/js/sync-examples-original.test.mjs (a fake of the
// original DataCollect server, tests/js/helpers/original-server.mjs). Same tests, no copies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { InternalSyncManager, open } from '../../../js/index.js';
import { DEMO_USER, form } from './env.mjs';

// startServer() -> {url, close()}; the server knows DEMO_USER.
export function syncExamples(label, startServer) {
  let server;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.close();
  });

  test(`${label}: the original API examples: constructor, login, hasUnsyncedEvents, count, sync, isSyncing, push then pull`, async () => {
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

  test(`${label}: open() with syncServerUrl and a token; a fresh client pulls everything; progress is reported`, async () => {
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

  test(`${label}: a wrong password is UNAUTHORIZED with no secret in the message`, async () => {
    const store = await open({ name: 'bad-login', storage: 'memory', syncServerUrl: server.url });
    try {
      await assert.rejects(store.syncManager.login(DEMO_USER.email, 'not-the-password-123'),
        (e) => e.code === 'UNAUTHORIZED' && !e.message.includes('not-the-password-123'));
      await assert.rejects(store.syncManager.sync(), (e) => e.code === 'UNAUTHORIZED');
    } finally {
      await store.close();
    }
  });

  test(`${label}: 401 -> onAuthRequired hook -> log in -> retry succeeds; a hook giving up is UNAUTHORIZED`, async () => {
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

  test(`${label}: one login per store: a manager built over open()'s stores and store.syncManager share the token; clearStore() keeps it`, async () => {
    const store = await open({ name: `one-login-${randomUUID()}`, storage: 'memory', syncServerUrl: server.url });
    try {
      const ism = new InternalSyncManager(store.eventStore, store.entityStore, store.eventApplierService, server.url, '', 'default');
      assert.equal(await store.syncManager.hasAuthToken(), false);
      await ism.login(DEMO_USER.email, DEMO_USER.password);
      assert.equal(await store.syncManager.hasAuthToken(), true, 'store.syncManager sees the login at once');
      await store.eventApplierService.submitForm(form('create-individual', randomUUID(), { name: 'Shared Login' }));
      const result = await store.syncManager.sync();
      assert.equal(result.pushed, 1);
      // clearStore() keeps the device's login: the store and every live manager agree.
      await store.eventStore.clearStore();
      assert.equal(await store.syncManager.hasAuthToken(), true);
      assert.equal(await ism.hasAuthToken(), true);
      assert.equal(typeof await store.eventStore.getSyncState('device.authToken'), 'string');
      await ism.logout();
      assert.equal(await store.syncManager.hasAuthToken(), false, 'a logout is seen by every manager');
    } finally {
      await store.close();
    }
  });
}
