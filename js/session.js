// A StoreSession owns one embind Engine handle (one open store) for the JS classes built on it.
// It is internal: users see EventStore, EntityStore, ... and never a handle or `.delete()`.
//
// - call(): synchronous engine call -> value, or throws DataCollectError.
// - async(): engine call that answers through a callback (or at once, by returning its Result)
//   -> Promise; tracked so close() waits.
// - write(): a synchronous mutation followed by a flush, so the Promise resolves once durable.
// - close(): waits for running operations, frees every handle, unmounts, releases the lock;
//   afterwards every call rejects with CLOSED.
import { DataCollectError, errorOf, isOk, unwrap } from './errors.js';
import { SubmitBatcher } from './submit-batch.js';

export const closedError = () => new DataCollectError('CLOSED', 'The store is closed');

export class StoreSession {
  constructor(module, engine, { name, mountPath = null, release = null }) {
    this.module = module;
    this.engine = engine;
    this.name = name;
    this.mountPath = mountPath;
    this.release = release;    // releases the store lock
    this.closed = false;
    this.running = new Set();  // Promises of operations in flight
    this.syncHandles = new Set();
    this.closeHooks = [];      // run when close() starts (change listeners, automatic sync)
    this.submits = new SubmitBatcher(this);  // submits of one JS turn: one engine call
  }

  requireOpen() {
    if (this.closed) throw closedError();
  }

  onClose(hook) {
    this.closeHooks.push(hook);
  }

  call(method, ...args) {
    return this.invoke(this.engine, method, ...args);
  }

  // A synchronous call on one of this session's handles (the engine or a sync handle).
  invoke(handle, method, ...args) {
    if (this.closed) throw closedError();
    this.submits.drain();  // queued submits first: calls reach the engine in call order
    return unwrap(handle[method](...args));
  }

  // start(cb) hands cb to the engine; cb receives a Result. start may instead return the Result
  // (an engine call with nothing left to wait for): then there is nothing for close() to track.
  async(start) {
    if (this.closed) return Promise.reject(closedError());
    this.submits.drain();
    let answered = false;
    /** @type {(value: any) => void} */
    let resolve;
    /** @type {(error: any) => void} */
    let reject;
    const op = new Promise((res, rej) => ([resolve, reject] = [res, rej]));
    // Called from C++: must not throw into wasm.
    const settle = (result) => {
      answered = true;
      try {
        if (isOk(result)) resolve(JSON.parse(result));
        else reject(errorOf(result));
      } catch (error) {
        reject(error);
      }
    };
    try {
      const now = start(settle);
      if (now !== undefined) settle(now);
    } catch (error) {
      answered = true;
      reject(error);
    }
    if (answered) return op;
    this.running.add(op);
    const forget = () => this.running.delete(op);
    op.then(forget, forget);
    return op;
  }

  flush() {
    return this.async((cb) => this.engine.flush(cb));
  }

  async write(method, ...args) {
    const value = this.call(method, ...args);
    await this.flush();
    return value;
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    for (const hook of this.closeHooks.splice(0)) {
      try {
        hook();
      } catch (error) {
        console.warn(`[datacollect] close hook threw: ${error?.message ?? error}`);
      }
    }
    // Requests in flight are aborted (their syncs end with CLOSED, nothing more is received);
    // operations already started finish (a submit that was accepted becomes durable).
    for (const handle of this.syncHandles) {
      try {
        handle.close();
      } catch (error) {
        console.warn(`[datacollect] aborting the sync requests failed: ${error?.message ?? error}`);
      }
    }
    await Promise.allSettled([...this.running]);
    try {
      for (const handle of this.syncHandles) handle.delete();
      this.syncHandles.clear();
      this.engine.close();
      this.engine.delete();
      if (this.mountPath) await this.module.dcUnmount(this.mountPath);
    } finally {
      this.release?.();
    }
  }
}

// Opens the engine's store. storage: "memory" | "indexeddb" | {directory}.
export async function openSession(module, { name, storage, release, mountName = name }) {
  let kind = 'memory';
  let path = '';
  let flushKind = '';
  let mountPath = null;
  if (storage === 'indexeddb') {
    if (typeof indexedDB === 'undefined' && typeof globalThis.indexedDB === 'undefined')
      throw new DataCollectError('STORAGE', 'storage "indexeddb" needs IndexedDB, which this environment does not have');
    mountPath = await mountOrStorageError(module, 'idbfs', encodeURIComponent(mountName));
    [kind, path, flushKind] = ['directory', mountPath, 'idbfs'];
  } else if (storage && typeof storage === 'object' && typeof storage.directory === 'string') {
    mountPath = await mountOrStorageError(module, 'nodefs', storage.directory);
    [kind, path, flushKind] = ['directory', mountPath, 'nodefs'];
  } else if (storage !== 'memory') {
    throw new DataCollectError('INVALID_FORM', 'storage must be "indexeddb", "memory" or {directory: "<path>"}');
  }
  const engine = new module.Engine();
  const opened = engine.open(kind, path, flushKind);
  if (!isOk(opened)) {
    engine.delete();
    if (mountPath) await module.dcUnmount(mountPath);
    throw errorOf(opened);
  }
  return new StoreSession(module, engine, { name, mountPath, release });
}

async function mountOrStorageError(module, kind, where) {
  try {
    return await module.dcMount(kind, where);
  } catch (error) {
    throw new DataCollectError('STORAGE', `Cannot open the store's storage: ${error.message}`);
  }
}
