// Writes dist/datacollect.mjs: the Emscripten factory (dist/datacollect.js, a CommonJS/UMD
// script) as an ES module, so browsers, workers and bundlers import it like any other module
// (js/loader.js) instead of injecting a <script> or calling importScripts. Run after every wasm
// link (src/wasm/CMakeLists.txt). Usage: node scripts/esm-factory.mjs <dist dir>
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dist = process.argv[2] ?? new URL('../dist/', import.meta.url).pathname;
const factory = readFileSync(join(dist, 'datacollect.js'), 'utf8');
if (!factory.includes('var DataCollectModule')) throw new Error('dist/datacollect.js does not define DataCollectModule');

// `module`/`exports` are local so the UMD footer hands the factory to `module.exports`;
// `require` is local so bundlers do not try to resolve the Node-only modules the factory
// requires on its Node path (never taken in a browser; Node loads dist/datacollect.js);
// `__filename`/`__dirname` are local so webpack does not replace them with values that only
// hold on a page (a worker then failed with "__filename is not defined").
const header = `// @ts-nocheck
// Generated from dist/datacollect.js by scripts/esm-factory.mjs; do not edit.
var module = { exports: {} };
var exports = module.exports;
var require = function (id) { throw new Error('datacollect: "' + id + '" is only available under Node'); };
var __filename, __dirname;
`;
writeFileSync(join(dist, 'datacollect.mjs'), `${header}${factory}\nexport default module.exports;\n`);
