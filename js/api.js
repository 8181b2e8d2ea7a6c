// The package's API, exported by both entries (js/index.js for Node, js/browser.js for
// browsers and bundlers); docs/api.md describes it.
//
//   const store = await open({ name, storage, userId, syncServerUrl, authToken, configId, lock });
//   await store.entityDataManager.submitForm({...});
//   await store.syncManager.sync();
//   await store.close();
//
// validateEvent(obj) is synchronous once `await loadModule()` has resolved (the reference server
// validates pushed events with it).
import { DataCollectError, ErrorCodes, isOk, toJsonText } from './errors.js';
import { EntityDataManager } from './entity-data-manager.js';
import { changeHub } from './changes.js';
import { checkFormData } from './form-data.js';
import { createModuleInstance, isNode, loadModule, loadedModule } from './loader.js';
import { openSession } from './session.js';
import { EntityStore, EventApplierService, EventStore } from './stores.js';
import { InternalSyncManager, checkSyncOptions, checkSyncServerUrl } from './sync.js';

export {
  createModuleInstance, DataCollectError, EntityDataManager, EntityStore, ErrorCodes, EventApplierService, EventStore,
  InternalSyncManager, loadModule,
};

export const SyncLevel = Object.freeze({ LOCAL: 0, REMOTE: 1, EXTERNAL: 2 });

// dc::Event::fromJson: the event validation and timestamp normalisation, without storing.
// -> {ok: true, event} | {ok: false, code, message}. Synchronous once `await loadModule()` has
// resolved; called earlier it returns a Promise of the same result (so `await validateEvent(x)`
// always works).
export function validateEvent(obj) {
  let text;
  try {
    checkFormData(obj, 'Event');
    text = toJsonText(obj, 'Event');
  } catch (error) {
    return { ok: false, code: error.code, message: error.message };
  }
  const module = loadedModule();
  if (!module) return loadModule().then(() => validateEvent(obj));
  const result = module.validateEvent(text);
  return isOk(result) ? { ok: true, event: JSON.parse(result) } : { ok: false, code: result.code, message: result.message };
}

// validateEvent for a whole array in one engine call (the reference server validates a push
// this way): -> one result per element, in order, the same as validateEvent gives for it.
// Synchronous once `await loadModule()` has resolved, else a Promise of the same.
export function validateEvents(list) {
  if (!Array.isArray(list)) throw new DataCollectError('INVALID_FORM', 'validateEvents takes an array of events');
  const module = loadedModule();
  if (!module) return loadModule().then(() => validateEvents(list));
  const results = new Array(list.length);
  const texts = [];
  const where = [];
  for (let i = 0; i < list.length; i++) {
    try {
      checkFormData(list[i], 'Event');
      texts.push(toJsonText(list[i], 'Event'));
      where.push(i);
    } catch (error) {
      results[i] = { ok: false, code: error.code, message: error.message };
    }
  }
  if (texts.length) {
    const answer = module.validateEvents(`[${texts.join(',')}]`);
    if (!isOk(answer)) {
      // The array as a whole was refused (e.g. nested too deeply): judge each on its own.
      for (const i of where) results[i] = validateEvent(list[i]);
    } else {
      // The engine answers what validation normalises; the rest of the event is the input's
      // (as dc::Event::toJson gives it: these seven fields, strings checked by the engine).
      JSON.parse(answer).forEach((item, k) => {
        const i = where[k];
        if (item.e) {
          results[i] = { ok: false, code: item.e.code, message: item.e.message };
          return;
        }
        const { guid, entityGuid, type, data, userId } = list[i];
        results[i] = { ok: true, event: { guid, entityGuid, type, data, timestamp: item.v.timestamp, userId, syncLevel: item.v.syncLevel } };
      });
    }
  }
  return results;
}

// Resolves with validateEvent once the module is loaded (for callers that prefer one await).
export async function getValidator() {
  await loadModule();
  return validateEvent;
}

// One store per page/process and name: a second opener gets STORE_LOCKED (lock: "fail", the
// default) or waits until the first closes (lock: "wait"). Browsers use a Web Lock, so two tabs
// never write the same IndexedDB store; elsewhere the lock is per module instance.
const heldLocks = new Map();  // lock name -> Promise resolved when released (no Web Locks)

async function acquireLock(lockName, mode) {
  if (typeof navigator !== 'undefined' && navigator.locks?.request) {
    return new Promise((resolve, reject) => {
      navigator.locks.request(lockName, { mode: 'exclusive', ifAvailable: mode !== 'wait' }, (lock) => {
        if (!lock) {
          reject(new DataCollectError('STORE_LOCKED', `The store "${lockName}" is open in another tab or window`));
          return undefined;
        }
        // The lock is held until the returned Promise settles, i.e. until close().
        return new Promise((release) => resolve(release));
      }).catch(reject);
    });
  }
  while (heldLocks.has(lockName)) {
    if (mode !== 'wait') throw new DataCollectError('STORE_LOCKED', `The store "${lockName}" is already open`);
    await heldLocks.get(lockName);
  }
  let release;
  heldLocks.set(lockName, new Promise((resolve) => (release = resolve)));
  return () => {
    heldLocks.delete(lockName);
    release();
  };
}

/**
 * Opens (or creates) a store and returns its API objects.
 * @param {import('./index.d.ts').OpenOptions} options
 */
export async function open(options = {}) {
  const { name = 'default', userId, syncServerUrl, authToken = '', configId = 'default', lock = 'fail' } = options;
  if (typeof name !== 'string' || name === '' || /[/\\]/.test(name))
    throw new DataCollectError('INVALID_FORM', 'name must be a non-empty string without slashes');
  // Checked before anything is opened: a bad URL or option is an error with nothing to clean up.
  if (syncServerUrl !== undefined && syncServerUrl !== null && syncServerUrl !== '') {
    checkSyncServerUrl(syncServerUrl);
    checkSyncOptions(options.sync ?? {}, { hooks: true });
  }
  const storage = options.storage ?? (isNode ? 'memory' : 'indexeddb');
  const module = options.module ?? (await loadModule({ wasmUrl: options.wasmUrl, wasmBinary: options.wasmBinary }));
  const where = typeof storage === 'object' && storage ? `dir:${storage.directory}` : `${storage}:${name}:${configId}`;
  const release = await acquireLock(`datacollect:${where}`, lock);
  let session;
  try {
    session = await openSession(module, { name, storage, mountName: `${name}:${configId}`, release });
  } catch (error) {
    release();
    throw error;
  }
  const changes = changeHub(session);
  const eventStore = new EventStore(session);
  const entityStore = new EntityStore(session);
  const eventApplierService = new EventApplierService(session, entityStore);
  const syncManager = syncServerUrl
    ? new InternalSyncManager(eventStore, entityStore, eventApplierService, syncServerUrl, authToken, configId,
      options.sync ?? {})
    : null;
  const entityDataManager = new EntityDataManager(eventStore, entityStore, eventApplierService, syncManager, { userId });
  return {
    eventStore, entityStore, eventApplierService, syncManager, entityDataManager,
    onChange: (listener) => changes.onChange(listener),
    watch: (criteria, listener, page) => changes.watch(criteria, listener, page),
    close: () => session.close(),
  };
}
