// InternalSyncManager (docs/protocol.md) over the engine's C++ InternalSyncManager (one SyncHandle).
// Constructible as in the original's examples:
//   new InternalSyncManager(eventStore, entityStore, eventApplierService, url, token, configId)
import { invalid, requireString, toJsonText, unwrap } from './errors.js';
import { closedError } from './session.js';

// A JS function called from C++ must never throw into wasm (C++ destructors would be skipped).
function reportHookError(what, error) {
  console.warn(`[datacollect] ${what} threw: ${error?.message ?? error}`);
}

export class InternalSyncManager {
  constructor(eventStore, entityStore, eventApplierService, syncServerUrl, authToken = '', configId = 'default',
    options = {}) {
    const session = eventStore?._session;
    if (!session || entityStore?._session !== session || eventApplierService?._session !== session)
      throw invalid('InternalSyncManager needs the EventStore, EntityStore and EventApplierService of one open store');
    if (session.closed) throw closedError();
    requireString(syncServerUrl, 'syncServerUrl');
    const { onProgress, onAuthRequired, onConflict, ...engineOptions } = options ?? {};
    this._session = session;
    this._handle = new session.module.SyncHandle(session.engine);
    session.syncHandles.add(this._handle);
    try {
      unwrap(this._handle.init(syncServerUrl.replace(/\/+$/, ''), authToken ?? '', configId ?? 'default',
        toJsonText(engineOptions, 'sync options')));
    } catch (error) {
      session.syncHandles.delete(this._handle);
      this._handle.delete();
      throw error;
    }
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
  async sync() { return this._run('sync'); }
  async pushToRemote() { return this._run('pushToRemote'); }
  async pullFromRemote() { return this._run('pullFromRemote'); }

  async getSyncState() { return this._call('getSyncState'); }
  getOptions() { return this._call('getOptions'); }
  setOptions(options) { this._call('setOptions', toJsonText(options, 'sync options')); }

  // fn({phase: "push"|"pull"|"audit", done, total?}) after each chunk/page; null removes it.
  setProgressCallback(fn) {
    this._call('setProgressCallback', fn ? (progressJson) => {
      try {
        fn(JSON.parse(progressJson));
      } catch (error) {
        reportHookError('progress callback', error);
      }
    } : null);
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
