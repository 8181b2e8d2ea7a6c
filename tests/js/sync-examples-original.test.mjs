// The package's end-to-end sync examples against a fake of the original DataCollect sync server
// (tests/js/helpers/original-server.mjs): an app switching to this package keeps its server.
// The bodies: tests/js/helpers/sync-examples.mjs.
import { startOriginalServer } from './helpers/original-server.mjs';
import { syncExamples } from './helpers/sync-examples.mjs';

syncExamples('original server', startOriginalServer);
