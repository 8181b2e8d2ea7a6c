// The README's first example (README.md, "Quick start"), against the server given as argv[2].
// Prints "closed <ms since epoch>" right after close(); the parent measures when the process exits.
import { open } from '../../../js/index.js';

const store = await open({ name: 'survey', storage: 'memory', userId: 'user-1', syncServerUrl: process.argv[2] });
await store.syncManager.login('demo@example.org', 'demo-password');
await store.entityDataManager.submitForm({
  type: 'create-group', entityGuid: crypto.randomUUID(),
  data: { name: 'Mensah household', members: [{ guid: crypto.randomUUID(), name: 'Kwame' }] },
});
const result = await store.syncManager.sync();
if (result.pushed !== 1) throw new Error(`pushed ${result.pushed}`);
await store.close();
process.stdout.write(`closed ${Date.now()}\n`);
