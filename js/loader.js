// Loads the WebAssembly module (dist/datacollect.js + dist/datacollect.wasm) in Node 20 without
// flags and in browsers/workers.
// - Node: the Emscripten 3.1.6 loader would fetch() the .wasm and fail (docs/toolchain.md), so
//   the bytes are read with fs and passed as wasmBinary; the factory is CommonJS (docs/toolchain.md) and is
//   loaded with createRequire; emscripten_fetch needs XMLHttpRequest, so xhr2's is installed when
//   the host has none.
// - Browsers: the factory is a classic script (a <script> tag or importScripts), the .wasm is
//   located beside it.

export const isNode =
  typeof process === 'object' && process !== null && typeof process.versions?.node === 'string' &&
  typeof window === 'undefined';

const distUrl = (file) => new URL(`../dist/${file}`, import.meta.url);

async function nodeFactory() {
  const { createRequire } = await import('node:module');
  const { readFileSync } = await import('node:fs');
  const require = createRequire(import.meta.url);
  if (typeof globalThis.XMLHttpRequest === 'undefined') globalThis.XMLHttpRequest = require('xhr2');
  return {
    factory: require('../dist/datacollect.js'),
    options: { wasmBinary: readFileSync(distUrl('datacollect.wasm')) },
  };
}

function loadClassicScript(url) {
  if (typeof document !== 'undefined') {
    return new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = url;
      script.onload = resolve;
      script.onerror = () => reject(new Error(`Could not load ${url}`));
      document.head.appendChild(script);
    });
  }
  if (typeof importScripts === 'function') return Promise.resolve(importScripts(url));  // classic worker
  return import(/* webpackIgnore: true */ url);  // module worker: src/wasm/module_post.js sets the global
}

async function browserFactory() {
  if (typeof globalThis.DataCollectModule !== 'function') await loadClassicScript(distUrl('datacollect.js').href);
  return {
    factory: globalThis.DataCollectModule,
    options: { locateFile: (file) => distUrl(file).href },
  };
}

// A new, independent module instance (its own memory and file system). Tests use it to model a
// page reload; applications use loadModule().
export async function createModuleInstance() {
  const { factory, options } = isNode ? await nodeFactory() : await browserFactory();
  return factory({ ...options, print: () => {}, printErr: (text) => console.warn(`[datacollect] ${text}`) });
}

let shared;     // Promise of the shared instance
let sharedReady; // the shared instance once loaded (for synchronous validateEvent)

// The shared module instance, loaded once.
export function loadModule() {
  shared ??= createModuleInstance().then(
    (module) => (sharedReady = module),
    (error) => {
      shared = undefined;  // a failed load may be retried
      throw error;
    });
  return shared;
}

// The shared instance if loadModule() has finished, else undefined.
export function loadedModule() {
  return sharedReady;
}
