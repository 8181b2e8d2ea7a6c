// Shared page glue: window.dc.* for the test to drive.
import { autoSyncStore, missingWasm, roundTrip } from './app.js';

export function install({ options = {}, moduleWorker, classicWorker }) {
  const ask = (make, name, workerOptions = options) => new Promise((resolve) => {
    let worker;
    try {
      worker = make();
    } catch (error) {
      resolve({ ok: false, message: String(error) });
      return;
    }
    worker.onmessage = (event) => {
      resolve(event.data);
      worker.terminate();
    };
    worker.onerror = (event) => resolve({ ok: false, message: event.message ?? 'worker error' });
    worker.postMessage({ name, options: workerOptions });
  });
  window.dc = {
    missingWasm,
    page: () => roundTrip('page', options),
    moduleWorker: () => ask(moduleWorker, 'module-worker'),
    classicWorker: classicWorker ? () => ask(classicWorker, 'classic-worker') : null,
    // Without the wasmUrl option (a classic-script bundle has no import.meta.url to find it by).
    classicWorkerWithoutUrl: classicWorker ? () => ask(classicWorker, 'classic-no-url', {}) : null,
    autoSync: async () => (window.dc.auto = await autoSyncStore(options)) && true,
  };
  document.body.dataset.ready = 'true';
}
