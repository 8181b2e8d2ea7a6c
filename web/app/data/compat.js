// Stand-ins, with the package's documented shapes (js/index.d.ts), for the package API the demo is
// built on and that this build of the package does not have yet: store.onChange, store.watch,
// paged searchEntities, syncManager.status/onStatusChange and startAutoSync/stopAutoSync. Each one
// is used only when the package lacks the real thing, and is deleted once the package has it.
// Built only on public API: entityDataManager, syncManager.sync/setProgressCallback, eventStore
// sync state.

export const LIST_SORT = [{ field: 'type', order: 'asc' }, { field: 'name', order: 'asc' }];
const LAST_SYNCED_KEY = 'demo.lastSyncedAt';

let db = null;
const changeListeners = new Set();
const statusListeners = new Set();
let status = null;
let auto = null;
let running = null;

const has = (obj, name) => !!obj && typeof obj[name] === 'function';

export function attach(store) {
  db = store;
  status = { state: navigator.onLine ? 'idle' : 'offline', unsynced: 0, lastSyncedAt: null, lastError: null, progress: null };
  if (!has(db.syncManager, 'onStatusChange')) {
    db.syncManager.setProgressCallback((p) => {
      setStatus({ state: p.phase === 'pull' ? 'pulling' : 'pushing', progress: p });
      if (p.phase === 'pull') emitChange('sync');
    });
    Promise.all([db.eventStore.getSyncState(LAST_SYNCED_KEY), db.syncManager.getUnsyncedEventsCount()])
      .then(([at, n]) => setStatus({ lastSyncedAt: at || null, unsynced: Number(n) || 0 }), () => {});
    addEventListener('online', onNet);
    addEventListener('offline', onNet);
  }
}

export function detach() {
  stopAutoSync();
  removeEventListener('online', onNet);
  removeEventListener('offline', onNet);
  db = null;
}

function onNet() {
  if (running) return;
  if (!navigator.onLine) setStatus({ state: 'offline' });
  else if (status.state === 'offline') setStatus({ state: 'idle' });
}

// --- store.onChange
export function onChange(listener) {
  if (has(db, 'onChange')) return db.onChange(listener);
  changeListeners.add(listener);
  return () => changeListeners.delete(listener);
}

function emitChange(source, entityGuids = [], eventGuids = []) {
  const change = { source, entityGuids, eventGuids };
  for (const l of [...changeListeners]) {
    try { l(change); } catch (e) { console.error(e); }
  }
}

// Called by the app after each of its own writes (only the stand-ins need to hear about them).
export function localWrite(form) {
  if (!has(db, 'onChange')) emitChange('local', [form.entityGuid]);
  if (!has(db.syncManager, 'onStatusChange')) refreshUnsynced();
  if (auto) auto.afterWrite();
}

// --- store.watch with {limit, offset, sort}; listener({items, total})
function compareBy(sort) {
  const key = (e, f) => String((f in e ? e[f] : e.data?.[f]) ?? '').toLowerCase();
  return (a, b) => {
    for (const { field, order } of sort) {
      const c = key(a, field).localeCompare(key(b, field));
      if (c) return order === 'desc' ? -c : c;
    }
    return a.guid < b.guid ? -1 : a.guid > b.guid ? 1 : 0;
  };
}

async function queryPage(criteria, { limit = 50, offset = 0, sort = LIST_SORT } = {}) {
  const dm = db.entityDataManager;
  const pairs = criteria.length ? await dm.searchEntities(criteria) : await dm.getAllEntities();
  const all = pairs.map((p) => p.modified).sort(compareBy(sort));
  return { items: all.slice(offset, offset + limit), total: all.length };
}

export function watch(criteria, listener, page) {
  if (has(db, 'watch')) return db.watch(criteria, listener, page);
  let stopped = false;
  let busy = false;
  let again = false;
  let last = '';
  const run = async () => {
    if (busy) { again = true; return; }
    busy = true;
    try {
      do {
        again = false;
        const r = await queryPage(criteria, page);
        const sig = `${r.total}|${r.items.map((e) => `${e.guid}@${e.version}`).join(',')}`;
        if (!stopped && sig !== last) { last = sig; listener(r); }
      } while (again && !stopped);
    } catch (e) {
      if (!stopped && e?.code !== 'CLOSED') listener({ items: [], total: 0, error: e });
    } finally { busy = false; }
  };
  const off = onChange(run);
  run();
  return () => { stopped = true; off(); };
}

// --- syncManager.status / onStatusChange
export function getStatus() {
  return has(db.syncManager, 'onStatusChange') ? db.syncManager.status : status;
}

export function onStatusChange(listener) {
  if (has(db.syncManager, 'onStatusChange')) return db.syncManager.onStatusChange(listener);
  statusListeners.add(listener);
  return () => statusListeners.delete(listener);
}

function setStatus(patch) {
  status = { ...status, ...patch };
  for (const l of [...statusListeners]) {
    try { l(status); } catch (e) { console.error(e); }
  }
}

function refreshUnsynced() {
  db?.syncManager.getUnsyncedEventsCount().then((n) => setStatus({ unsynced: Number(n) || 0 }), () => {});
}

// sync() with the status kept up to date; rejects like sync().
export function sync() {
  const sm = db.syncManager;
  if (has(sm, 'onStatusChange')) return sm.sync();
  if (running) return running;
  const store = db;
  setStatus({ state: 'pushing', progress: null });
  running = (async () => {
    try {
      const r = await sm.sync();
      const at = new Date().toISOString();
      await store.eventStore.setSyncState(LAST_SYNCED_KEY, at);
      running = null;
      setStatus({ state: 'idle', lastSyncedAt: at, lastError: null, progress: null });
      emitChange('sync');
      return r;
    } catch (e) {
      running = null;
      const offline = e?.code === 'NETWORK';
      setStatus({ state: offline ? 'offline' : 'error', lastError: { code: e?.code, message: e?.message }, progress: null });
      throw e;
    } finally {
      refreshUnsynced();
    }
  })();
  return running;
}

// --- syncManager.startAutoSync / stopAutoSync
export function startAutoSync(options) {
  const sm = db.syncManager;
  if (has(sm, 'startAutoSync')) return sm.startAutoSync(options);
  stopAutoSync();
  const { intervalMs = 60_000, afterWriteMs = 2_000, whenOnline = true } = options;
  let failures = 0;
  let timer = null;
  const schedule = (ms) => { clearTimeout(timer); timer = setTimeout(go, ms); };
  const go = () => {
    if (!db || !navigator.onLine) { schedule(intervalMs); return; }
    sync().then(() => { failures = 0; schedule(intervalMs); }, () => {
      failures++;
      schedule(Math.min(intervalMs, 2_000 * 2 ** (failures - 1))); // capped exponential backoff
    });
  };
  const online = () => { if (whenOnline) schedule(0); };
  addEventListener('online', online);
  auto = {
    afterWrite: () => schedule(afterWriteMs),
    stop: () => { clearTimeout(timer); removeEventListener('online', online); },
  };
  schedule(intervalMs);
  return undefined;
}

export function stopAutoSync() {
  const sm = db?.syncManager;
  if (has(sm, 'stopAutoSync')) { sm.stopAutoSync(); return; }
  auto?.stop();
  auto = null;
}
