// Submits arriving in one JS turn become one engine call (Engine.submitFormBatch), one journal
// write and one flush (docs/api.md, 'Submits in one turn'). Each submit keeps its own Promise: a
// bad form rejects only itself. Any other engine call drains the queue first (StoreSession.invoke
// and .async), so calls still reach the engine in the order they were made.
import { DataCollectError, errorOf, isOk } from './errors.js';

export class SubmitBatcher {
  /** @param {import('./session.js').StoreSession} session */
  constructor(session) {
    this.session = session;
    /** @type {{texts: string[], fill: string, waiters: {resolve: (v: any) => void, reject: (e: any) => void}[], finish: () => void} | null} */
    this.pending = null;
  }

  // text: the form's JSON text (JSON.stringify output: never a raw newline, the separator).
  submit(text, fillTimestamp) {
    const session = this.session;
    if (session.closed) return Promise.reject(new DataCollectError('CLOSED', 'The store is closed'));
    let batch = this.pending;
    if (!batch) {
      /** @type {() => void} */
      let finish = () => {};
      // close() waits for it like for any operation in flight.
      const done = new Promise((resolve) => (finish = () => resolve(undefined)));
      batch = this.pending = { texts: [], fill: '', waiters: [], finish };
      session.running.add(done);
      done.then(() => session.running.delete(done));
      queueMicrotask(() => this.drain());
    }
    batch.texts.push(text);
    batch.fill += fillTimestamp ? '1' : '0';
    return new Promise((resolve, reject) => batch.waiters.push({ resolve, reject }));
  }

  // Hands the queued submits to the engine now (no-op when none are queued).
  drain() {
    const batch = this.pending;
    if (!batch) return;
    this.pending = null;
    const { waiters } = batch;
    // Called from C++ (directory stores, once durable): must not throw into wasm.
    const settle = (result) => {
      try {
        if (!isOk(result)) {
          const error = errorOf(result);
          for (const w of waiters) w.reject(error);
          return;
        }
        const items = JSON.parse(result);
        items.forEach((item, i) => (item.e ? waiters[i].reject(errorOf(item.e)) : waiters[i].resolve(item.v)));
      } catch (error) {
        for (const w of waiters) w.reject(error);
      } finally {
        batch.finish();
      }
    };
    try {
      // The engine is alive: close() waits for this batch before it frees the handle.
      const now = this.session.engine.submitFormBatch(batch.texts.join('\n'), batch.fill, Date.now(), settle);
      if (now !== undefined) settle(now);
    } catch (error) {
      settle({ ok: false, code: 'INTERNAL', message: `submitFormBatch failed: ${error?.message ?? error}` });
    }
  }
}
