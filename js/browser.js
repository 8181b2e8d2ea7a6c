// datacollect-sync for browsers and workers (package.json's "browser" condition): the API of
// js/api.js with nothing Node-specific reachable from it.
export * from './api.js';
