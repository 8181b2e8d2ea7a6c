// The package's end-to-end sync examples against the reference sync server (web/server) on
// 127.0.0.1 through the package's HTTP transport. The bodies: tests/js/helpers/sync-examples.mjs.
import { startReferenceServer } from './helpers/env.mjs';
import { syncExamples } from './helpers/sync-examples.mjs';

syncExamples('reference server', startReferenceServer);
