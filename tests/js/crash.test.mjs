// A Node process killed with SIGKILL in the middle of a burst of submits and in the middle of a
// sync, with directory (NODEFS) storage: the reopened store is consistent, every submit that
// resolved is there, and the next sync completes with nothing lost or doubled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { open } from '../../js/index.js';
import { serverBehindFaultProxy } from './helpers/fault-proxy.mjs';
import { DEMO_USER, tempDir } from './helpers/env.mjs';

const child = fileURLToPath(new URL('./helpers/crash-child.mjs', import.meta.url));

const env = serverBehindFaultProxy();

// Runs the child until `shouldKill(lines)` says so, then SIGKILLs it. Resolves the printed lines.
function runAndKill(args, shouldKill) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = [];
    let buffer = '';
    let killed = false;
    const check = () => {
      if (!killed && shouldKill(lines)) {
        killed = true;
        proc.kill('SIGKILL');
      }
    };
    proc.stdout.on('data', (chunk) => {
      buffer += chunk;
      const parts = buffer.split('\n');
      buffer = parts.pop();
      lines.push(...parts);
      check();
    });
    const timer = setInterval(check, 5);
    proc.on('exit', (code, signal) => {
      clearInterval(timer);
      if (signal === 'SIGKILL') resolve(lines);
      else reject(new Error(`child exited by itself (code ${code}) before it was killed`));
    });
  });
}

async function assertConsistent(store) {
  const events = await store.eventStore.getAllEvents();
  const entities = await store.entityStore.getAllEntities();
  // Every create event produced its entity and nothing else exists.
  assert.equal(entities.length, new Set(events.map((e) => e.entityGuid)).size);
  for (const event of events.slice(-5)) {
    const proof = await store.eventStore.getProof(event);
    assert.equal(await store.eventStore.verifyEvent(event, proof), true, 'Merkle tree matches the log');
  }
  return events;
}

test('SIGKILL in the middle of a burst of submits', async () => {
  const { dir, cleanup } = tempDir('dc-crash-submits-');
  try {
    const lines = await runAndKill(['submits', dir, ''], (l) => l.length >= 150);
    const resolved = lines.filter((l) => l.startsWith('ok ')).map((l) => l.slice(3));
    assert.ok(resolved.length >= 150);
    const store = await open({ name: 'crash', storage: { directory: dir } });
    try {
      const events = await assertConsistent(store);
      const stored = new Set(events.map((e) => e.entityGuid));
      for (const guid of resolved) assert.ok(stored.has(guid), `resolved submit ${guid} survived`);
      // The store keeps working after the crash.
      await store.eventApplierService.submitForm({ guid: 'after', entityGuid: 'after', type: 'create-individual',
        data: { name: 'After crash' }, timestamp: new Date().toISOString(), userId: 'u' });
    } finally {
      await store.close();
    }
    const again = await open({ name: 'crash', storage: { directory: dir } });
    try {
      assert.ok(await again.entityStore.getEntity('after'));
    } finally {
      await again.close();
    }
  } finally {
    cleanup();
  }
});

test('SIGKILL in the middle of a sync; the next sync completes, nothing lost or doubled', async () => {
  const { dir, cleanup } = tempDir('dc-crash-sync-');
  const count = 120;
  try {
    let ready = false;
    let pushesAtReady = 0;
    await runAndKill(['sync', dir, env.proxy.url, String(count)], (lines) => {
      if (!ready && lines.includes('ready')) {
        ready = true;
        pushesAtReady = env.proxy.log.filter((r) => r.url.startsWith('/api/sync/push')).length;
      }
      if (lines.includes('synced')) throw new Error('the sync finished before the kill');
      // Kill once a few chunks (of 5) have been pushed: mid-push.
      return ready && env.proxy.log.filter((r) => r.url.startsWith('/api/sync/push')).length >= pushesAtReady + 4;
    });
    const store = await open({ name: 'crash', storage: { directory: dir }, syncServerUrl: env.proxy.url });
    try {
      const events = await assertConsistent(store);
      assert.equal(events.length, count);
      const left = await store.syncManager.getUnsyncedEventsCount();
      assert.ok(left > 0 && left < count, `some events were pushed before the kill (${left} left)`);
      await store.syncManager.login(DEMO_USER.email, DEMO_USER.password);
      await store.syncManager.sync();
      assert.equal(await store.syncManager.getUnsyncedEventsCount(), 0);
    } finally {
      await store.close();
    }
    // A fresh client sees every event exactly once.
    const reader = await open({ name: 'crash-reader', storage: 'memory', syncServerUrl: env.server.url });
    try {
      await reader.syncManager.login(DEMO_USER.email, DEMO_USER.password);
      await reader.syncManager.sync();
      const mine = (await reader.eventStore.getAllEvents()).filter((e) => e.entityGuid.startsWith('s-'));
      assert.equal(mine.length, count);
      assert.equal(new Set(mine.map((e) => e.guid)).size, count);
    } finally {
      await reader.close();
    }
  } finally {
    cleanup();
  }
});
