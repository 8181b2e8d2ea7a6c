// syncServerUrl and the sync options are checked where they are given (constructor, open(),
// setOptions): INVALID_ARGUMENT at once. And the engine's HTTP completion path is re-entrancy
// safe: many failing requests in a row leave the wasm stack and heap where they were (docs/api.md, 'Sync options').
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModule, open, InternalSyncManager } from '../../js/index.js';

const BAD_URLS = ['localhost:8080', 'http://[::1', 'ftp://example.org', '/relative/path', '', 'http://user:pw@127.0.0.1:1',
  'http://127.0.0.1:1/?q=1', 'http://127.0.0.1:1/#x', 'javascript:alert(1)'];
const BAD_OPTIONS = [{ requestTimeoutMs: 0 }, { requestTimeoutMs: -5 }, { requestTimeoutMs: 2 ** 31 }, { requestTimeoutMs: 1.5 },
  { requestTimeoutMs: '100' }, { maxResponseBytes: 0 }, { maxResponseBytes: -1 }, { maxAttempts: 0 }, { pullLimit: -1 },
  { backoffBaseMs: Number.NaN }, { noSuchOption: 1 }, { onProgress: 'not a function' }];

async function rejectsWith(code, fn) {
  await assert.rejects(async () => fn(), (error) => {
    assert.equal(error.name, 'DataCollectError');
    assert.equal(error.code, code, error.message);
    return true;
  });
}

test('open() refuses a bad syncServerUrl or sync option with INVALID_ARGUMENT before opening anything', async () => {
  for (const syncServerUrl of BAD_URLS.filter(Boolean))
    await rejectsWith('INVALID_ARGUMENT', () => open({ name: 'u', storage: 'memory', syncServerUrl }));
  for (const sync of BAD_OPTIONS)
    await rejectsWith('INVALID_ARGUMENT', () => open({ name: 'o', storage: 'memory', syncServerUrl: 'http://127.0.0.1:1', sync }));
  // Nothing was left open: the same name opens (lock "fail" would refuse a leaked one).
  const store = await open({ name: 'u', storage: 'memory', syncServerUrl: 'http://127.0.0.1:1/' });
  assert.equal(store.syncManager.getOptions().maxResponseBytes, 8 * 1024 * 1024);
  await store.close();
});

test('the constructor and setOptions refuse them too; good values are kept', async () => {
  const store = await open({ name: 'c', storage: 'memory' });
  const args = [store.eventStore, store.entityStore, store.eventApplierService];
  for (const url of BAD_URLS) await rejectsWith('INVALID_ARGUMENT', () => new InternalSyncManager(...args, url));
  for (const options of BAD_OPTIONS)
    await rejectsWith('INVALID_ARGUMENT', () => new InternalSyncManager(...args, 'https://sync.example.org', '', 'default', options));
  const sm = new InternalSyncManager(...args, 'https://sync.example.org/base/', '', 'default', { requestTimeoutMs: 2 ** 31 - 1 });
  for (const options of BAD_OPTIONS) await rejectsWith('INVALID_ARGUMENT', () => sm.setOptions(options));
  sm.setOptions({ requestTimeoutMs: 1, maxResponseBytes: 4096 });
  assert.equal(sm.getOptions().requestTimeoutMs, 1);
  assert.equal(sm.getOptions().maxResponseBytes, 4096);
  await store.close();
});

// Below the JS checks: the engine itself given a schemeless URL (what every sync() met before the
// checks existed: endless recursion in the fetch glue, ~900 KB of wasm stack lost per failure).
test('100 failing syncs with a schemeless URL leave the wasm stack pointer and heap where they started', async () => {
  const module = await loadModule();
  const store = await open({ name: 'r', storage: 'memory', module });
  const session = store.eventStore._session;
  const handle = new module.SyncHandle(session.engine);
  session.syncHandles.add(handle);
  assert.equal(handle.init('localhost:8080', 'secret-token', 'default', '{"maxAttempts":1}'), 'null');
  const syncOnce = () => new Promise((resolve) => handle.sync(resolve));
  const first = await syncOnce();  // warms up allocations done once
  assert.equal(first.code, 'NETWORK', first.message);
  const stack = module.stackSave();
  const heap = module.HEAP8.length;
  const inUse = module._dc_heap_in_use();
  for (let i = 0; i < 100; i++) {
    const result = await syncOnce();
    assert.equal(result.code, 'NETWORK');
    assert.ok(!result.message.includes('secret-token'));
  }
  assert.equal(module.stackSave(), stack);
  assert.ok(module.HEAP8.length - heap <= 1024 * 1024, `the heap grew by ${module.HEAP8.length - heap} bytes`);
  assert.ok(module._dc_heap_in_use() - inUse <= 64 * 1024, `${module._dc_heap_in_use() - inUse} more bytes allocated`);
  // The same for a port nobody listens on (connection refused), through the public API.
  const refused = await open({ name: 'p', storage: 'memory', module, syncServerUrl: 'http://127.0.0.1:9', sync: { maxAttempts: 1 } });
  for (let i = 0; i < 100; i++) await rejectsWith('NETWORK', () => refused.syncManager.sync());
  assert.equal(module.stackSave(), stack);
  await refused.close();
  await store.close();
});
