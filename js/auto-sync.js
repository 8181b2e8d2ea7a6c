// Automatic sync for InternalSyncManager.startAutoSync(). Timers are the global setTimeout/
// clearTimeout, looked up when used (so test fake timers apply); "online"/"offline" and
// "visibilitychange" come from the global object and document when the host has them.
import { DataCollectError } from './errors.js';

export const AUTO_SYNC_DEFAULTS = Object.freeze({
  intervalMs: 5 * 60_000,   // a periodic sync (pulls others' changes); 0 = none
  afterWriteMs: 2_000,      // debounce after a local write; 0 = none
  whenOnline: true,         // sync when the browser reports it is back online
  pauseWhenHidden: false,   // no automatic sync while the page is hidden
  retryBaseMs: 5_000,       // first retry after a failure; doubles per failure...
  maxBackoffMs: 5 * 60_000, // ...up to this
});

function checkOptions(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new DataCollectError('INVALID_ARGUMENT', 'startAutoSync options must be an object');
  /** @type {Required<import('./index.d.ts').AutoSyncOptions>} */
  const o = { ...AUTO_SYNC_DEFAULTS };
  for (const [key, value] of Object.entries(options)) {
    if (!(key in AUTO_SYNC_DEFAULTS)) throw new DataCollectError('INVALID_ARGUMENT', `Unknown startAutoSync option: ${key}`);
    if (value === undefined) continue;
    const wanted = typeof AUTO_SYNC_DEFAULTS[key];
    const ok = wanted === 'boolean' ? typeof value === 'boolean'
      : Number.isSafeInteger(value) && value >= 0 && value <= 2_147_483_647;  // setTimeout's range
    if (!ok) throw new DataCollectError('INVALID_ARGUMENT', `startAutoSync: ${key} must be ${wanted === 'boolean' ? 'a boolean' : 'a non-negative integer (ms)'}`);
    /** @type {any} */ (o)[key] = value;
  }
  if (o.retryBaseMs === 0) o.retryBaseMs = 1;
  return o;
}

export class AutoSync {
  constructor(manager, hub, options) {
    this.manager = manager;
    this.hub = hub;
    this.options = checkOptions(options);
    this.running = false;     // a sync started here is in flight
    this.again = false;       // a trigger arrived meanwhile: run once more afterwards
    this.failures = 0;
    this.timer = null;        // the next interval, backoff or first sync
    this.writeTimer = null;   // the debounce after local writes
    this.stopped = false;
    this.cleanups = [];
  }

  start() {
    const o = this.options;
    this.cleanups.push(this.hub.onChange((change) => {
      if (change.source === 'local' && o.afterWriteMs > 0 && change.eventGuids.length) this.onWrite();
    }));
    const target = globalThis;
    if (o.whenOnline && typeof target.addEventListener === 'function') {
      const online = () => {
        this.failures = 0;  // the network is back: no reason to keep backing off
        this.trigger();
      };
      target.addEventListener('online', online);
      this.cleanups.push(() => target.removeEventListener('online', online));
    }
    const doc = globalThis.document;
    if (o.pauseWhenHidden && doc && typeof doc.addEventListener === 'function') {
      const visibility = () => {
        if (doc.visibilityState !== 'hidden' && this.pendingWhileHidden) this.trigger();
      };
      doc.addEventListener('visibilitychange', visibility);
      this.cleanups.push(() => doc.removeEventListener('visibilitychange', visibility));
    }
    // A first sync soon after starting (unsynced writes may be waiting from an earlier session).
    this.schedule(0);
  }

  stop() {
    this.stopped = true;
    this.clearTimer();
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }

  clearTimer() {
    if (this.timer !== null) globalThis.clearTimeout(this.timer);
    if (this.writeTimer !== null) globalThis.clearTimeout(this.writeTimer);
    this.timer = null;
    this.writeTimer = null;
  }

  schedule(delayMs) {
    if (this.stopped) return;
    if (this.timer !== null) globalThis.clearTimeout(this.timer);
    this.timer = globalThis.setTimeout(() => {
      this.timer = null;
      this.trigger();
    }, delayMs);
  }

  backoffMs() {
    return Math.min(this.options.maxBackoffMs, this.options.retryBaseMs * 2 ** Math.min(this.failures - 1, 30));
  }

  onWrite() {
    if (this.failures > 0) return;  // backing off: the retry timer syncs these writes too
    if (this.running) {
      this.again = true;
      return;
    }
    // Debounced: a burst of writes syncs once, afterWriteMs after the last of them.
    if (this.writeTimer !== null) globalThis.clearTimeout(this.writeTimer);
    this.writeTimer = globalThis.setTimeout(() => {
      this.writeTimer = null;
      this.trigger();
    }, this.options.afterWriteMs);
  }

  hidden() {
    return this.options.pauseWhenHidden && globalThis.document?.visibilityState === 'hidden';
  }

  offline() {
    return this.options.whenOnline && globalThis.navigator?.onLine === false;
  }

  trigger() {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.hidden()) {
      this.pendingWhileHidden = true;
      return;
    }
    if (this.offline()) {
      // Nothing to try until the "online" event; the status says so.
      this.manager._setStatus({ state: 'offline' });
      if (this.options.intervalMs > 0) this.schedule(this.options.intervalMs);
      return;
    }
    this.pendingWhileHidden = false;
    this.clearTimer();
    this.running = true;
    this.again = false;
    this.manager.sync().then(() => {
      this.failures = 0;
    }, () => {
      this.failures += 1;  // the status carries the error
    }).finally(() => {
      this.running = false;
      if (this.stopped) return;
      if (this.failures > 0) this.schedule(this.backoffMs());
      else if (this.again) this.schedule(0);
      else if (this.options.intervalMs > 0) this.schedule(this.options.intervalMs);
    });
  }
}
