// Faults over real HTTP through a fault-injecting proxy in front of the reference server:
// 500, timeout, connection reset, malformed JSON, HTML error page -> typed errors; then a clean
// sync resumes with nothing lost or doubled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open } from '../../js/index.js';
import { serverBehindFaultProxy } from './helpers/fault-proxy.mjs';
import { DEMO_USER, entitySnapshot, form } from './helpers/env.mjs';

const env = serverBehindFaultProxy();

// One attempt per request so each fault surfaces; short timeout for the "timeout" fault.
const syncOptions = { maxAttempts: 1, requestTimeoutMs: 1500, backoffBaseMs: 10, pushChunkSize: 5, pullLimit: 5 };

async function client(name, url = env.proxy.url) {
  const store = await open({ name, storage: 'memory', syncServerUrl: url, sync: syncOptions });
  await store.syncManager.login(DEMO_USER.email, DEMO_USER.password);
  return store;
}

const cases = [
  { fault: '500', code: 'SERVER_ERROR', message: /Injected internal error/ },
  { fault: 'html', code: 'SERVER_ERROR', message: /Bad Gateway/ },
  { fault: 'malformed', code: 'BAD_RESPONSE' },
  { fault: 'reset', code: 'NETWORK' },
  { fault: 'timeout', code: 'NETWORK' },
  { fault: 'reset-after', code: 'NETWORK' },
];

for (const phase of ['push', 'pull']) {
  for (const { fault, code, message } of cases) {
    test(`${fault} during ${phase} -> ${code}, then a clean resume`, async () => {
      const tag = `${phase}-${fault}`;
      const writer = await client(`w-${tag}`);
      const reader = await client(`r-${tag}`);
      try {
        // Six events: more than one push chunk and one pull page.
        for (let i = 0; i < 6; i++)
          await writer.eventApplierService.submitForm(form('create-individual', `${tag}-${i}`, { name: `${tag} person ${i}` }));
        if (phase === 'pull') await writer.syncManager.sync();

        env.proxy.inject({ path: phase === 'push' ? '/api/sync/push' : '/api/sync/pull', fault, method: phase === 'push' ? 'POST' : 'GET' });
        const victim = phase === 'push' ? writer : reader;
        await assert.rejects(victim.syncManager.sync(), (e) => {
          assert.equal(e.code, code, `${e.code}: ${e.message}`);
          if (message) assert.match(e.message, message);
          return true;
        });
        env.proxy.clear();

        await writer.syncManager.sync();
        await reader.syncManager.sync();
        assert.equal(await writer.syncManager.getUnsyncedEventsCount(), 0);
        const mine = (await reader.entityStore.getAllEntities()).filter((p) => p.guid.startsWith(`${tag}-`));
        assert.equal(mine.length, 6, 'nothing lost');
        const events = (await reader.eventStore.getAllEvents()).filter((e) => e.entityGuid.startsWith(`${tag}-`));
        assert.equal(events.length, 6, 'nothing doubled');
        assert.equal(new Set(events.map((e) => e.guid)).size, 6);
        const writerView = (await entitySnapshot(writer)).filter((e) => e.guid.startsWith(`${tag}-`));
        const readerView = (await entitySnapshot(reader)).filter((e) => e.guid.startsWith(`${tag}-`));
        assert.deepEqual(readerView, writerView);
      } finally {
        env.proxy.clear();
        await writer.close();
        await reader.close();
      }
    });
  }
}

test('retries with backoff absorb a transient 500 (default attempts)', async () => {
  const store = await open({ name: 'retry', storage: 'memory', syncServerUrl: env.proxy.url, sync: { backoffBaseMs: 10 } });
  try {
    await store.syncManager.login(DEMO_USER.email, DEMO_USER.password);
    await store.eventApplierService.submitForm(form('create-individual', 'retry-1', { name: 'Retry Person' }));
    env.proxy.inject({ path: '/api/sync/push', fault: '500', times: 2 });
    const result = await store.syncManager.sync();
    assert.equal(result.pushed, 1);
  } finally {
    env.proxy.clear();
    await store.close();
  }
});

test('an unreachable server is NETWORK', async () => {
  const store = await open({ name: 'unreachable', storage: 'memory', syncServerUrl: 'http://127.0.0.1:9', sync: syncOptions });
  try {
    await assert.rejects(store.syncManager.login(DEMO_USER.email, DEMO_USER.password), (e) => e.code === 'NETWORK');
  } finally {
    await store.close();
  }
});
