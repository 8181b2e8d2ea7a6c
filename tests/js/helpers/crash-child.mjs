// Child process for the SIGKILL tests. Opens a directory store and either
//   submits: submits forms in concurrent bursts, printing "ok <guid>" after each one resolves, or
//   sync:    submits `count` forms, prints "ready", then syncs (slowly, in small chunks).
// The parent kills it with SIGKILL at a moment of its choosing.
import { open } from '../../../js/index.js';
import { DEMO_USER } from './env.mjs';

const [mode, directory, url, countText] = process.argv.slice(2);
const store = await open({
  name: 'crash', storage: { directory }, syncServerUrl: url || undefined, userId: 'crash-child',
  sync: { pushChunkSize: 5, pullLimit: 5 },
});
const edm = store.entityDataManager;
const print = (line) => process.stdout.write(`${line}\n`);

if (mode === 'submits') {
  for (let burst = 0; ; burst++) {
    await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      const entityGuid = `c-${burst}-${i}`;
      await edm.submitForm({ entityGuid, type: 'create-individual', data: { name: `Crash ${burst} ${i}`, burst } });
      print(`ok ${entityGuid}`);
    }));
  }
} else if (mode === 'sync') {
  await store.syncManager.login(DEMO_USER.email, DEMO_USER.password);
  const count = Number(countText);
  for (let i = 0; i < count; i++)
    await edm.submitForm({ entityGuid: `s-${i}`, type: 'create-individual', data: { name: `Sync crash ${i}` } });
  print('ready');
  await store.syncManager.sync();
  print('synced');
}
