// InternalSyncManager (docs/api.md; wire protocol: docs/protocol.md) over the engine's C++ InternalSyncManager (one SyncHandle).
// Constructible as in the original's examples:
//   new InternalSyncManager(eventStore, entityStore, eventApplierService, url, token, configId)
import { AutoSync } from './auto-sync.js';
import { changeHub } from './changes.js';
import { DataCollectError, invalid, requireString, toJsonText, unwrap } from './errors.js';
import { closedError } from './session.js';
// The declared types (js/index.d.ts) these classes are checked against (checkJs).
/** @typedef {import('./index.d.ts').InternalSyncManager} DeclaredInternalSyncManager */

// Sync-state key of the last successful sync's time (ISO-8601), kept in the store's journal.
const LAST_SYNCED_KEY = 'lastSyncedAt';

const invalidArgument = (message) => new DataCollectError('INVALID_ARGUMENT', message);

// syncServerUrl must be an absolute http:/https: URL without credentials, query or fragment
// (docs/api.md, 'Sync options'): checked where it is given, so a typo is an error at once, not a
// failing sync later. -> the URL without trailing slashes.
export function checkSyncServerUrl(url) {
  if (typeof url !== 'string') throw invalidArgument(`syncServerUrl must be a string, got ${url === null ? 'null' : typeof url}`);
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidArgument(`syncServerUrl must be an absolute http: or https: URL such as "http://localhost:8080", got "${url}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw invalidArgument(`syncServerUrl must start with http:// or https://, got "${url}"`);
  if (parsed.username || parsed.password)
    throw invalidArgument('syncServerUrl must not contain a user name or password: use login() or an auth token');
  if (parsed.search || parsed.hash || /[?#]/.test(url))
    throw invalidArgument(`syncServerUrl must not have a query or fragment, got "${url}"`);
  return url.replace(/\/+$/, '');
}

// The engine's options (docs/api.md, 'Sync options'): [min, max] of each, all integers.
const OPTION_RANGES = {
  pushChunkSize: [0, 100000], pullLimit: [0, 100000], maxAttempts: [1, 100], backoffBaseMs: [0, 2 ** 31 - 1],
  requestTimeoutMs: [1, 2 ** 31 - 1], tokenRefreshMarginMs: [0, 2 ** 31 - 1], maxResponseBytes: [1024, 2 ** 31 - 1],
};

const HOOKS = ['onProgress', 'onAuthRequired', 'onConflict'];

// hooks: whether the hook options (functions) are allowed too (the constructor's, not setOptions').
export function checkSyncOptions(options, { hooks = false } = {}) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalidArgument('sync options must be an object');
  for (const [key, value] of Object.entries(options)) {
    if (hooks && HOOKS.includes(key)) {
      if (value !== undefined && value !== null && typeof value !== 'function') throw invalidArgument(`sync option ${key} must be a function`);
      continue;
    }
    const range = OPTION_RANGES[key];
    if (!range) throw invalidArgument(`Unknown sync option: ${key}`);
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < range[0] || value > range[1])
      throw invalidArgument(`sync option ${key} must be an integer from ${range[0]} to ${range[1]}, got ${String(value)}`);
  }
  return options;
}

// A JS function called from C++ must never throw into wasm (C++ destructors would be skipped).
function reportHookError(what, error) {
  console.warn(`[datacollect] ${what} threw: ${error?.message ?? error}`);
}

/** @implements {DeclaredInternalSyncManager} */
export class InternalSyncManager {
  constructor(eventStore, entityStore, eventApplierService, syncServerUrl, authToken = '', configId = 'default',
    options = {}) {
    const session = eventStore?._session;
    if (!session || entityStore?._session !== session || eventApplierService?._session !== session)
      throw invalid('InternalSyncManager needs the EventStore, EntityStore and EventApplierService of one open store');
    if (session.closed) throw closedError();
    const baseUrl = checkSyncServerUrl(syncServerUrl);
    const { onProgress, onAuthRequired, onConflict, ...engineOptions } = checkSyncOptions(options ?? {}, { hooks: true });
    this._session = session;
    this._handle = new session.module.SyncHandle(session.engine);
    session.syncHandles.add(this._handle);
    try {
      unwrap(this._handle.init(baseUrl, authToken ?? '', configId ?? 'default',
        toJsonText(engineOptions, 'sync options')));
    } catch (error) {
      session.syncHandles.delete(this._handle);
      this._handle.delete();
      throw error;
    }
    this._statusListeners = new Set();
    this._userProgress = null;
    this._status = Object.freeze({
      state: 'idle', unsynced: this._call('getUnsyncedEventsCount'), lastSyncedAt: this._readLastSyncedAt(),
      lastError: null, progress: null,
    });
    // The engine's progress drives the status; a user's callback (setProgressCallback) is called too.
    this._call('setProgressCallback', (progressJson) => {
      try {
        this._onProgress(JSON.parse(progressJson));
      } catch (error) {
        reportHookError('progress callback', error);
      }
    });
    // Local writes change the unsynced count; the count is cheap (the outbox size).
    this._unsubscribeChanges = changeHub(session).onChange((change) => {
      if (change.source !== 'sync' && !session.closed) this._setStatus({ unsynced: this._call('getUnsyncedEventsCount') });
    });
    this._auto = null;
    session.onClose(() => {
      this.stopAutoSync();
      this._statusListeners.clear();
    });
    if (onProgress) this.setProgressCallback(onProgress);
    if (onAuthRequired) this.setAuthRequiredHook(onAuthRequired);
    if (onConflict) this.setConflictResolver(onConflict);
  }

  _call(method, ...args) {
    return this._session.invoke(this._handle, method, ...args);
  }

  _run(method, ...args) {
    return this._session.async((cb) => this._handle[method](...args, cb));
  }

  /** True while a sync (or a push/pull on its own) is running. */
  get isSyncing() {
    return !this._session.closed && this._handle.isSyncing();
  }

  // POST /api/users/login; keeps (and persists) the token. Resolves {userId}.
  async login(email, password) {
    return this._run('login', requireString(email, 'email'), requireString(password, 'password'));
  }
  async setAuthToken(token) { this._call('setAuthToken', requireString(token ?? '', 'token')); await this._session.flush(); }
  async logout() { this._call('logout'); await this._session.flush(); }
  async hasAuthToken() { return this._call('hasAuthToken'); }
  async getUnsyncedEventsCount() { return this._call('getUnsyncedEventsCount'); }
  async hasUnsyncedEvents() { return this._call('hasUnsyncedEvents'); }
  async checkIfDuplicatesExist() { return this._call('checkIfDuplicatesExist'); }

  // Full sync (push, then pull; docs/protocol.md). A call while one runs shares the running one's outcome.
  // Resolves {pushed, pulled, applied, rejected, conflicts, rejectedEvents, conflictList}.
  async sync() { return this._tracked('sync'); }
  async pushToRemote() { return this._tracked('pushToRemote'); }
  async pullFromRemote() { return this._tracked('pullFromRemote'); }

  // --- status -------------------------------------------------------------------------------

  /** {state, unsynced, lastSyncedAt, lastError, progress}: see docs/api.md, "Sync status". */
  get status() {
    return this._status;
  }

  // listener(status) after each change of status; -> unsubscribe.
  onStatusChange(listener) {
    if (typeof listener !== 'function') throw invalidArgument('onStatusChange needs a listener function');
    const entry = { listener };
    this._statusListeners.add(entry);
    return () => this._statusListeners.delete(entry);
  }

  _readLastSyncedAt() {
    const value = this._session.call('getSyncStateValue', LAST_SYNCED_KEY);
    return typeof value === 'string' ? value : null;
  }

  _setStatus(patch) {
    const next = { ...this._status, ...patch };
    if (Object.keys(next).every((k) => next[k] === this._status[k])) return;
    this._status = Object.freeze(next);
    for (const { listener } of [...this._statusListeners]) {
      try {
        listener(this._status);
      } catch (error) {
        reportHookError('status listener', error);
      }
    }
  }

  _onProgress(progress) {
    const state = progress.phase === 'pull' ? 'pulling' : 'pushing';
    this._setStatus({ state, progress: Object.freeze(progress),
      ...(progress.phase === 'push' ? { unsynced: this._call('getUnsyncedEventsCount') } : {}) });
    if (this._userProgress) {
      try {
        this._userProgress(progress);
      } catch (error) {
        reportHookError('progress callback', error);
      }
    }
  }

  // A sync/push/pull with the status kept: "pushing"/"pulling" while it runs (a pull-only run
  // starts in "pulling"), then "idle" with lastSyncedAt, or "offline" (NETWORK) / "error".
  async _tracked(method) {
    if (!this.isSyncing) this._setStatus({ state: method === 'pullFromRemote' ? 'pulling' : 'pushing', progress: null });
    try {
      const result = await this._run(method);
      const patch = { state: 'idle', lastError: null, progress: null, unsynced: this._session.closed ? this._status.unsynced : this._call('getUnsyncedEventsCount') };
      if (method === 'sync' && !this._session.closed) {
        const at = new Date().toISOString();
        try {
          await this._session.write('setSyncStateValue', LAST_SYNCED_KEY, JSON.stringify(at));
          patch.lastSyncedAt = at;
        } catch (error) {
          if (error?.code !== 'CLOSED') throw error;  // closed meanwhile: the sync itself succeeded
        }
      }
      if (!this.isSyncing) this._setStatus(patch);
      return result;
    } catch (error) {
      if (!this.isSyncing) {
        this._setStatus({ state: error?.code === 'NETWORK' ? 'offline' : 'error', progress: null,
          lastError: Object.freeze({ code: error?.code ?? 'INTERNAL', message: String(error?.message ?? error) }) });
      }
      throw error;
    }
  }

  // --- automatic sync -----------------------------------------------------------------------

  // Syncs after local writes (debounced), on an interval and when the browser comes back online,
  // backing off after failures; one at a time. Options: see docs/api.md, "Automatic sync".
  startAutoSync(options = {}) {
    if (this._session.closed) throw closedError();
    this.stopAutoSync();
    this._auto = new AutoSync(this, changeHub(this._session), options);
    this._auto.start();
  }

  stopAutoSync() {
    this._auto?.stop();
    this._auto = null;
  }

  get autoSyncRunning() {
    return this._auto !== null;
  }

  async getSyncState() { return this._call('getSyncState'); }
  getOptions() { return this._call('getOptions'); }
  setOptions(options) { this._call('setOptions', toJsonText(checkSyncOptions(options), 'sync options')); }

  // fn({phase: "push"|"pull"|"audit", done, total?}) after each chunk/page; null removes it.
  setProgressCallback(fn) {
    if (fn !== null && fn !== undefined && typeof fn !== 'function') throw invalidArgument('the progress callback must be a function or null');
    this._session.requireOpen();
    this._userProgress = fn ?? null;
  }

  // fn(reason) -> new token | {email, password} | null (or a Promise of one); reason is
  // "unauthorized" (the server answered 401) or "token-expiring".
  setAuthRequiredHook(fn) {
    const session = this._session;
    const handle = this._handle;
    this._call('setAuthRequiredHook', fn ? (reason, answerId) => {
      Promise.resolve()
        .then(() => fn(reason))
        .then((answer) => toJsonText(answer ?? null, 'auth hook answer'), (error) => {
          reportHookError('auth hook', error);
          return 'null';
        })
        .then((answerJson) => {
          if (!session.closed) handle.answerAuth(answerId, answerJson);
        });
    } : null);
  }

  // fn(conflict) -> a form to submit as the resolution, or null for the default order.
  // Synchronous, like event appliers.
  setConflictResolver(fn) {
    this._call('setConflictResolver', fn ? (conflictJson) => {
      try {
        const choice = fn(JSON.parse(conflictJson));
        if (choice && typeof choice.then === 'function') {
          reportHookError('conflict resolver', new Error('returned a Promise; resolvers must be synchronous'));
          return 'null';
        }
        return toJsonText(choice ?? null, 'conflict resolution');
      } catch (error) {
        reportHookError('conflict resolver', error);
        return 'null';
      }
    } : null);
  }
}
