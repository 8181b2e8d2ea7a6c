// Loads the WebAssembly module. This file has no Node imports, so bundlers targeting browsers and
// workers can take it as it is; under Node, js/index.js plugs in js/loader-node.js.
// - Browsers and workers (page, module worker, bundled classic worker): the factory is the ES
//   module dist/datacollect.mjs (imported, so every bundler follows it) and the .wasm is fetched
//   here from `new URL('../dist/datacollect.wasm', import.meta.url)`: that literal form is what
//   Vite, webpack and Rollup recognise and emit as an asset. The URL or the bytes can be given
//   instead (loadModule({wasmUrl}) / {wasmBinary}), e.g. when a bundler does not copy assets.
// - Emscripten's own loader is bypassed for the .wasm (instantiateWasm): it does not recognise a
//   module worker (no importScripts there), and a 404 would leave its ready Promise pending.
// Every failure rejects with DataCollectError LOAD_FAILED.
import { DataCollectError } from './errors.js';
import { fetchHttpSend } from './http-fetch.js';

const host = /** @type {any} */ (globalThis);
export const isNode =
  typeof host.process === 'object' && host.process !== null && typeof host.process.versions?.node === 'string' &&
  typeof host.window === 'undefined';

const loadFailed = (message, cause) => {
  const error = new DataCollectError('LOAD_FAILED', message);
  if (cause !== undefined) error.cause = cause;
  return error;
};

let nodeLoader = null;  // () => Promise<{factory, options}>, set by js/index.js under Node
export function useNodeLoader(load) {
  nodeLoader = load;
}

// The default .wasm location beside the factory. Written as one literal expression on purpose
// (see the top of this file); throws where import.meta.url is not a URL (a classic-script bundle).
function defaultWasmUrl() {
  return new URL('../dist/datacollect.wasm', import.meta.url).href;
}

function checkOptions(options) {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw new DataCollectError('INVALID_ARGUMENT', 'module options must be an object');
  const { wasmUrl, wasmBinary } = options;
  if (wasmUrl !== undefined && typeof wasmUrl !== 'string' && !(wasmUrl instanceof URL))
    throw new DataCollectError('INVALID_ARGUMENT', 'wasmUrl must be a string or a URL');
  if (wasmBinary !== undefined && !(wasmBinary instanceof ArrayBuffer) && !ArrayBuffer.isView(wasmBinary))
    throw new DataCollectError('INVALID_ARGUMENT', 'wasmBinary must be an ArrayBuffer or a typed array');
  return { wasmUrl: wasmUrl === undefined ? undefined : String(wasmUrl), wasmBinary };
}

async function instantiate(source, imports) {
  if (source.bytes) return WebAssembly.instantiate(source.bytes, imports);
  let response;
  try {
    response = await fetch(source.url, { credentials: 'same-origin' });
  } catch (error) {
    throw loadFailed(`Could not fetch the WebAssembly module ${source.url}: ${error?.message ?? error}`, error);
  }
  if (!response.ok) throw loadFailed(`Could not fetch the WebAssembly module ${source.url}: HTTP ${response.status}`);
  const type = response.headers.get('content-type') ?? '';
  if (typeof WebAssembly.instantiateStreaming === 'function' && type.startsWith('application/wasm'))
    return WebAssembly.instantiateStreaming(response, imports);
  return WebAssembly.instantiate(await response.arrayBuffer(), imports);
}

async function browserFactory(options) {
  let factory;
  try {
    factory = (await import('../dist/datacollect.mjs')).default;
  } catch (error) {
    throw loadFailed(`Could not load the module's script (dist/datacollect.mjs): ${error?.message ?? error}`, error);
  }
  let source;
  if (options.wasmBinary) {
    source = { bytes: options.wasmBinary };
  } else {
    let url = options.wasmUrl;
    if (url === undefined) {
      try {
        url = defaultWasmUrl();
      } catch (error) {
        throw loadFailed('The .wasm location is unknown here (no import.meta.url, e.g. a classic-script bundle): ' +
          'pass loadModule({wasmUrl}) or open({wasmUrl})', error);
      }
    }
    source = { url };
  }
  let failLoad;
  const failed = new Promise((_, reject) => (failLoad = reject));
  failed.catch(() => {});
  return {
    factory,
    failed,
    options: {
      dcHttp: fetchHttpSend,  // the engine's HTTP (docs/protocol.md, 'Transport')
      instantiateWasm(imports, receive) {
        instantiate(source, imports).then(
          (result) => receive(result.instance, result.module),
          (error) => failLoad(error instanceof DataCollectError ? error
            : loadFailed(`Could not instantiate the WebAssembly module: ${error?.message ?? error}`, error)));
        return {};  // asynchronous: receive() is called later
      },
    },
  };
}

// A new, independent module instance (its own memory and file system). Tests use it to model a
// page reload; applications use loadModule().
export async function createModuleInstance(options) {
  const checked = checkOptions(options);
  let loaded;
  if (isNode) {
    if (!nodeLoader) throw loadFailed('Under Node, import the package entry (js/index.js), which loads the Node loader');
    loaded = await nodeLoader(checked);
  } else {
    loaded = await browserFactory(checked);
  }
  const { factory, options: factoryOptions, failed } = loaded;
  const ready = Promise.resolve().then(() => factory({
    ...factoryOptions, print: () => {}, printErr: (text) => console.warn(`[datacollect] ${text}`),
  }));
  try {
    return await (failed ? Promise.race([ready, failed]) : ready);
  } catch (error) {
    if (error instanceof DataCollectError) throw error;
    throw loadFailed(`Could not start the WebAssembly module: ${error?.message ?? error}`, error);
  }
}

let shared;     // Promise of the shared instance
let sharedReady; // the shared instance once loaded (for synchronous validateEvent)

// The shared module instance, loaded once (options apply to the load that creates it).
export function loadModule(options) {
  shared ??= createModuleInstance(options).then(
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
