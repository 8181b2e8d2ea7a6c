// Sign-in and synchronisation, over the package's sync manager.
import { app } from './store.js';

// Automatic sync: at start, a couple of seconds after local writes (debounced), periodically, and
// as soon as the browser is back online; after failures the package backs off (capped).
export const AUTO_SYNC = Object.freeze({ afterWriteMs: 2_000, whenOnline: true });

const sm = () => app.db.syncManager;

export const isLoggedIn = async () => !!(await sm().hasAuthToken());
export const login = (email, password) => sm().login(email, password);
export async function logout() {
  sm().stopAutoSync();
  await sm().logout();
}

// {state: idle|pushing|pulling|offline|error, unsynced, lastSyncedAt, lastError, progress}
export const syncStatus = () => sm().status;
// listener(status) now and after each change; returns unsubscribe.
export function onSyncStatus(listener) {
  const off = sm().onStatusChange(listener);
  listener(sm().status);
  return off;
}

// Resolves with the sync result; a call while a sync runs shares its outcome.
export const syncNow = () => sm().sync();
export const startAutoSync = () => sm().startAutoSync(AUTO_SYNC);
