// syncManager.startAutoSync / stopAutoSync. The scheduling rules with Node's fake timers (the
// sync itself replaced by a controllable stand-in), then end to end with real timers against
// the reference server.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { AutoSync } from '../../js/auto-sync.js';
import { open } from '../../js/index.js';
import { useLoggedInServer } from './helpers/env.mjs';

const settle = () => new Promise((resolve) => setImmediate(resolve));  // setImmediate is not faked

// A manager whose sync() the test finishes by hand, and a change hub the test writes into.
function fakes() {
  const calls = [];
  const manager = {
    statuses: [],
    sync() {
      let finish;
      const done = new Promise((resolve, reject) => (finish = { resolve, reject }));
      calls.push(finish);
      return done;
    },
    _setStatus(patch) { this.statuses.push(patch); },
  };
  const hub = {
    listener: null,
    onChange(fn) { this.listener = fn; return () => { this.listener = null; }; },
    write() { this.listener?.({ source: 'local', entityGuids: ['e'], eventGuids: ['v'] }); },
  };
  return { calls, manager, hub };
}

// An EventTarget standing in for the window's online/offline events, plus navigator.onLine.
function fakeWindow(t) {
  const target = new EventTarget();
  const nav = { onLine: true };
  globalThis.addEventListener = target.addEventListener.bind(target);
  globalThis.removeEventListener = target.removeEventListener.bind(target);
  Object.defineProperty(globalThis, 'navigator', { value: nav, configurable: true, writable: true });
  t.after(() => {
    delete globalThis.addEventListener;
    delete globalThis.removeEventListener;
    delete globalThis.navigator;
  });
  return { target, nav };
}

test('fake timers: first sync at start, debounced after writes, then on the interval; never two at once', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const { calls, manager, hub } = fakes();
  const auto = new AutoSync(manager, hub, { intervalMs: 60_000, afterWriteMs: 1_000, whenOnline: false });
  auto.start();
  t.mock.timers.tick(0);
  assert.equal(calls.length, 1, 'a first sync right away');
  hub.write();
  t.mock.timers.tick(5_000);
  assert.equal(calls.length, 1, 'never two at once: the write waits for the running sync');
  calls[0].resolve({});
  await settle();
  t.mock.timers.tick(0);
  assert.equal(calls.length, 2, 'the write that arrived meanwhile syncs right after');
  calls[1].resolve({});
  await settle();

  // A burst of writes: one sync, afterWriteMs after the last.
  hub.write();
  t.mock.timers.tick(600);
  hub.write();
  t.mock.timers.tick(600);
  hub.write();
  t.mock.timers.tick(999);
  assert.equal(calls.length, 2);
  t.mock.timers.tick(1);
  assert.equal(calls.length, 3);
  calls[2].resolve({});
  await settle();

  // Nothing written: the interval.
  t.mock.timers.tick(59_999);
  assert.equal(calls.length, 3);
  t.mock.timers.tick(1);
  assert.equal(calls.length, 4);
  calls[3].resolve({});
  await settle();

  auto.stop();
  hub.write();
  t.mock.timers.tick(10 * 60_000);
  assert.equal(calls.length, 4, 'stopped: no more syncs');
});

test('fake timers: capped exponential backoff after failures; writes do not shorten it; success resets it', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const { calls, manager, hub } = fakes();
  const auto = new AutoSync(manager, hub, { intervalMs: 0, afterWriteMs: 100, whenOnline: false, retryBaseMs: 1_000, maxBackoffMs: 8_000 });
  auto.start();
  t.mock.timers.tick(0);
  const gaps = [];
  for (let i = 0; i < 6; i++) {
    calls.at(-1).reject(Object.assign(new Error('down'), { code: 'NETWORK' }));
    await settle();
    const before = calls.length;
    let waited = 0;
    hub.write();  // ignored while backing off
    while (calls.length === before && waited < 100_000) {
      t.mock.timers.tick(100);
      waited += 100;
    }
    gaps.push(waited);
  }
  assert.deepEqual(gaps, [1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  calls.at(-1).resolve({});
  await settle();
  hub.write();
  t.mock.timers.tick(100);
  assert.equal(calls.length, 8, 'after a success a write syncs after afterWriteMs again');
  auto.stop();
});

test('fake timers: offline waits for the "online" event, which also resets the backoff; paused while hidden', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const { nav, target } = fakeWindow(t);
  const doc = new EventTarget();
  doc.visibilityState = 'visible';
  globalThis.document = doc;
  t.after(() => delete globalThis.document);
  const { calls, manager, hub } = fakes();
  const auto = new AutoSync(manager, hub, { intervalMs: 0, afterWriteMs: 100, whenOnline: true, pauseWhenHidden: true, retryBaseMs: 60_000 });
  nav.onLine = false;
  auto.start();
  t.mock.timers.tick(0);
  assert.equal(calls.length, 0, 'offline: no attempt');
  assert.deepEqual(manager.statuses.at(-1), { state: 'offline' });
  nav.onLine = true;
  target.dispatchEvent(new Event('online'));
  assert.equal(calls.length, 1, 'back online: syncs at once');
  calls[0].reject(Object.assign(new Error('flaky'), { code: 'NETWORK' }));
  await settle();
  t.mock.timers.tick(1_000);
  assert.equal(calls.length, 1, 'backing off (60 s)');
  target.dispatchEvent(new Event('online'));
  assert.equal(calls.length, 2, 'an online event cuts the backoff short');
  calls[1].resolve({});
  await settle();

  doc.visibilityState = 'hidden';
  hub.write();
  t.mock.timers.tick(1_000);
  assert.equal(calls.length, 2, 'hidden: paused');
  doc.visibilityState = 'visible';
  doc.dispatchEvent(new Event('visibilitychange'));
  assert.equal(calls.length, 3, 'visible again: the held-back sync runs');
  calls[2].resolve({});
  await settle();
  auto.stop();
  target.dispatchEvent(new Event('online'));
  assert.equal(calls.length, 3, 'stopped: the online listener is gone');
});

test('bad startAutoSync options are INVALID_ARGUMENT', () => {
  const { manager, hub } = fakes();
  for (const bad of [{ intervalMs: -1 }, { afterWriteMs: 1.5 }, { whenOnline: 'yes' }, { intervalMs: 2 ** 40 }, { nope: 1 }, null]) {
    assert.throws(() => new AutoSync(manager, hub, bad), (e) => e.code === 'INVALID_ARGUMENT', JSON.stringify(bad));
  }
});

const ctx = useLoggedInServer();

test('real timers: a local write is pushed by itself; close() stops automatic sync', async () => {
  const store = await open({ name: 'auto-real', storage: 'memory', userId: 'u1', syncServerUrl: ctx.server.url, authToken: ctx.token });
  const { syncManager } = store;
  let syncs = 0;
  const original = syncManager.sync.bind(syncManager);
  syncManager.sync = () => { syncs += 1; return original(); };
  syncManager.startAutoSync({ afterWriteMs: 30, intervalMs: 0 });
  assert.equal(syncManager.autoSyncRunning, true);
  const waitIdle = async (what) => {
    for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(what());
  };
  await waitIdle(() => syncs === 1 && syncManager.status.state === 'idle');
  await store.entityDataManager.submitForm({ type: 'create-individual', entityGuid: randomUUID(), data: { name: 'Auto' } });
  await waitIdle(() => syncs === 2 && syncManager.status.unsynced === 0 && syncManager.status.state === 'idle');
  assert.ok(syncManager.status.lastSyncedAt);
  await store.close();
  assert.equal(syncManager.autoSyncRunning, false);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(syncs, 2);
});
