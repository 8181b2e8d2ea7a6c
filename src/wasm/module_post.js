// Appended after the MODULARIZE/UMD footer (--extern-post-js). Loaded as a browser ES module,
// the file has no `module`, `exports` or `define`, so the factory would be unreachable: expose it
// under one well-known global for js/index.js. CommonJS/AMD consumers are unaffected.
if (typeof module !== 'object' && typeof define !== 'function' && typeof exports !== 'object') {
  globalThis.DataCollectModule = DataCollectModule;
}
