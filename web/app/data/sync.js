// Sign-in and synchronisation, over the package's sync manager.
import * as compat from './compat.js';
import { app } from './store.js';

// Automatic sync: a couple of seconds after a local write (debounced), every minute, and as soon as
// the browser is back online; after failures the package backs off (capped).
export const AUTO_SYNC = Object.freeze({ afterWriteMs: 2_000, intervalMs: 60_000, whenOnline: true });

const sm = () => app.db.syncManager;

export const isLoggedIn = async () => !!(await sm().hasAuthToken());
export const login = (email, password) => sm().login(email, password);
export async function logout() {
  compat.stopAutoSync();
  await sm().logout();
}

// {state: idle|pushing|pulling|offline|error, unsynced, lastSyncedAt, lastError, progress}
export const syncStatus = () => compat.getStatus();
export function onSyncStatus(listener) {
  const off = compat.onStatusChange(listener);
  listener(syncStatus());
  return off;
}

// Resolves with the sync result; a call while a sync runs shares its outcome.
export const syncNow = () => compat.sync();
export const startAutoSync = () => compat.startAutoSync(AUTO_SYNC);
export const stopAutoSync = () => compat.stopAutoSync();
