// syncManager.status / onStatusChange, the persisted lastSyncedAt, and pull progress with a total
// (the server's `remaining` field), against the reference server on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { open } from '../../js/index.js';
import { form, useLoggedInServer, tempDir } from './helpers/env.mjs';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

const ctx = useLoggedInServer();

test('status: unsynced follows local writes; a sync goes pushing -> pulling -> idle; lastSyncedAt survives a reopen', async () => {
  const { dir, cleanup } = tempDir();
  try {
    let store = await open({ name: 'status', storage: { directory: dir }, userId: 'u1', syncServerUrl: ctx.server.url, authToken: ctx.token });
    const { syncManager } = store;
    assert.deepEqual(syncManager.status, { state: 'idle', unsynced: 0, lastSyncedAt: null, lastError: null, progress: null });
    const seen = [];
    const stop = syncManager.onStatusChange((s) => seen.push(s));
    await store.entityDataManager.submitForm({ type: 'create-individual', entityGuid: randomUUID(), data: { name: 'Ada' } });
    await store.entityDataManager.submitForm({ type: 'create-individual', entityGuid: randomUUID(), data: { name: 'Bob' } });
    await tick();
    assert.equal(syncManager.status.unsynced, 2);
    assert.deepEqual(seen.map((s) => s.unsynced), [1, 2]);

    seen.length = 0;
    const before = Date.now();
    await syncManager.sync();
    const states = seen.map((s) => s.state);
    assert.equal(states[0], 'pushing');
    assert.ok(states.includes('pulling'), states.join());
    assert.equal(states.at(-1), 'idle');
    const done = syncManager.status;
    assert.equal(done.unsynced, 0);
    assert.equal(done.lastError, null);
    assert.ok(Date.parse(done.lastSyncedAt) >= before - 1000, done.lastSyncedAt);
    assert.ok(Object.isFrozen(done), 'a status is a snapshot');
    stop();
    await store.close();

    store = await open({ name: 'status', storage: { directory: dir }, userId: 'u1', syncServerUrl: ctx.server.url, authToken: ctx.token });
    assert.equal(store.syncManager.status.lastSyncedAt, done.lastSyncedAt, 'persisted with the store');
    await store.close();
  } finally {
    cleanup();
  }
});

test('pull progress has a total from the server\'s `remaining`', async () => {
  const writer = await open({ name: 'progress-w', storage: 'memory', syncServerUrl: ctx.server.url, authToken: ctx.token });
  const reader = await open({ name: 'progress-r', storage: 'memory', syncServerUrl: ctx.server.url, authToken: ctx.token });
  try {
    await reader.syncManager.sync();  // everything so far
    for (let i = 0; i < 25; i++) await writer.eventApplierService.submitForm(form('create-individual', randomUUID(), { name: `P${i}` }));
    await writer.syncManager.sync();
    reader.syncManager.setOptions({ pullLimit: 10 });
    const progress = [];
    reader.syncManager.setProgressCallback((p) => { if (p.phase === 'pull') progress.push(p); });
    const statuses = [];
    reader.syncManager.onStatusChange((s) => { if (s.progress?.phase === 'pull') statuses.push(s.progress); });
    await reader.syncManager.pullFromRemote();
    assert.deepEqual(progress, [{ phase: 'pull', done: 10, total: 25 }, { phase: 'pull', done: 20, total: 25 }, { phase: 'pull', done: 25, total: 25 }]);
    assert.deepEqual(statuses, progress, 'the status carries the same progress');
    assert.equal(reader.syncManager.status.state, 'idle');
    assert.equal(reader.syncManager.status.progress, null);
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('a network failure is state "offline"; a refused token is state "error"; both with lastError', async () => {
  const closedPort = await new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
  const offline = await open({ name: 'status-offline', storage: 'memory', userId: 'u1', syncServerUrl: `http://127.0.0.1:${closedPort}`,
    authToken: ctx.token, sync: { maxAttempts: 1 } });
  const refused = await open({ name: 'status-refused', storage: 'memory', syncServerUrl: ctx.server.url, authToken: 'not-a-token' });
  try {
    await offline.entityDataManager.submitForm({ type: 'create-individual', entityGuid: randomUUID(), data: { name: 'A' } });
    await assert.rejects(offline.syncManager.sync(), (e) => e.code === 'NETWORK');
    assert.equal(offline.syncManager.status.state, 'offline');
    assert.equal(offline.syncManager.status.lastError.code, 'NETWORK');
    assert.equal(offline.syncManager.status.unsynced, 1);
    assert.equal(offline.syncManager.status.lastSyncedAt, null);

    await assert.rejects(refused.syncManager.sync(), (e) => e.code === 'UNAUTHORIZED');
    assert.equal(refused.syncManager.status.state, 'error');
    assert.equal(refused.syncManager.status.lastError.code, 'UNAUTHORIZED');
    assert.ok(!refused.syncManager.status.lastError.message.includes('not-a-token'), 'no token in the message');
  } finally {
    await offline.close();
    await refused.close();
  }
});
