// The tiny app the bundler tests build: open an IndexedDB store, submit once, read back.
import { open } from 'datacollect-sync';

export async function roundTrip(name, options = {}) {
  const store = await open({ name, storage: 'indexeddb', userId: 'u1', ...options });
  try {
    const before = await store.entityStore.getAllEntities({ limit: 10 });
    if (before.total === 0) {
      await store.entityDataManager.submitForm({ type: 'create-individual', entityGuid: `e-${name}`, data: { name: `Ada ${name}` } });
    }
    const after = await store.entityStore.getAllEntities({ limit: 10 });
    return { before: before.total, names: after.items.map((p) => p.modified.name) };
  } finally {
    await store.close();
  }
}

// A load that must fail: the .wasm is not there.
export async function missingWasm() {
  try {
    await open({ name: 'missing', storage: 'memory', wasmUrl: new URL('/no-such.wasm', location.href).href });
    return 'opened';
  } catch (error) {
    return error.code;
  }
}

// Automatic sync against the server that serves the page (same origin).
export async function autoSyncStore(options = {}) {
  const { login } = await import('./login.js');
  const token = await login();
  const store = await open({ name: 'auto', storage: 'indexeddb', userId: 'u1', syncServerUrl: location.origin, authToken: token, ...options });
  const states = [];
  store.syncManager.onStatusChange((s) => states.push(s.state));
  store.syncManager.startAutoSync({ afterWriteMs: 50, intervalMs: 0 });
  return {
    states,
    status: () => store.syncManager.status,
    submit: (name) => store.entityDataManager.submitForm({ type: 'create-individual', entityGuid: crypto.randomUUID(), data: { name } }),
    close: () => store.close(),
    // Names of the entities the server holds (straight from its pull endpoint).
    serverNames: async () => {
      const res = await fetch('/api/sync/pull?since=&configId=default&limit=1000', { headers: { Authorization: `Bearer ${token}` } });
      return (await res.json()).events.map((e) => e.data.name).sort();
    },
  };
}
