// Vite: no options at all; Vite finds the package's .wasm and the workers itself.
import { install } from './harness.js';

install({
  moduleWorker: () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }),
  classicWorker: () => new Worker(new URL('./worker.js', import.meta.url)),
});
