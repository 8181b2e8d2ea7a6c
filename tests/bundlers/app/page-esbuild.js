// esbuild: the .wasm comes in through the file loader (--loader:.wasm=file) and is passed on;
// the workers are their own entry points (worker.js as ESM, worker-classic.js as an IIFE).
import wasm from 'datacollect-sync/dist/datacollect.wasm';
import { install } from './harness.js';

const wasmUrl = new URL(wasm, location.href).href;
install({
  options: { wasmUrl },
  moduleWorker: () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }),
  classicWorker: () => new Worker(new URL('./worker-classic.js', import.meta.url)),
});
