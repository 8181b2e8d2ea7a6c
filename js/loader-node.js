// The Node half of the loader (js/loader.js), plugged in by js/index.js. The Emscripten 3.1.6
// loader would fetch() the .wasm under Node and fail (see docs/toolchain.md), so the bytes are
// read with fs and passed as wasmBinary; the factory is CommonJS and is loaded with
// createRequire; the engine's HTTP is js/http-node.js (node:http; docs/protocol.md, 'Transport').
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { DataCollectError } from './errors.js';
import { nodeHttpSend } from './http-node.js';

const require = createRequire(import.meta.url);

// wasmUrl: a file: URL or a path (relative to the working directory).
export async function nodeFactory({ wasmUrl, wasmBinary } = {}) {
  try {
    const bytes = wasmBinary ?? readFileSync(wasmUrl ? new URL(wasmUrl, pathToFileURL(`${process.cwd()}/`)) : new URL('../dist/datacollect.wasm', import.meta.url));
    return { factory: require('../dist/datacollect.js'), options: { wasmBinary: bytes, dcHttp: nodeHttpSend } };
  } catch (error) {
    const failure = new DataCollectError('LOAD_FAILED', `Could not load the WebAssembly module: ${error?.message ?? error}`);
    failure.cause = error;
    throw failure;
  }
}
