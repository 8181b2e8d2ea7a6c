// datacollect-sync: the package entry for Node, and for pages that import this file by path.
// Bundlers are sent to js/browser.js by package.json's "browser" condition; both export the same
// API (js/api.js). Under Node the Node loader is plugged in; its module name is not a literal,
// so a bundler that does come here does not try to follow it into Node's built-ins.
import { isNode, useNodeLoader } from './loader.js';

const NODE_LOADER = './loader-node.js';
if (isNode) useNodeLoader(async (options) => (await import(/* @vite-ignore */ /* webpackIgnore: true */ NODE_LOADER)).nodeFactory(options));

export * from './api.js';
