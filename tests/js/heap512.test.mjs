// The 512 MB-capped module (build/wasm/mem512, src/wasm/CMakeLists.txt): a client stores events
// in it and pushes them, and a fresh client in another instance of it pulls them all. At the
// benchmark's 100,000 (bench/run.mjs, section 9) the heap per event decides whether it fits;
// here N is small so the file stays quick.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { open } from '../../js/index.js';
import { nodeHttpSend } from '../../js/http-node.js';
import { login, REPO, startReferenceServer, tempDir } from './helpers/env.mjs';

const DIR = fileURLToPath(new URL('build/wasm/mem512/', REPO));
const N = 3000;

async function module512() {
  const require = createRequire(import.meta.url);
  const factory = require(`${DIR}datacollect.js`);
  // dcHttp: the engine's HTTP, as js/loader-node.js gives it to the shipped module.
  return factory({ wasmBinary: readFileSync(`${DIR}datacollect.wasm`), dcHttp: nodeHttpSend, print: () => {}, printErr: () => {} });
}

const data = (i) => ({
  name: `Person ${String(i).padStart(7, '0')}`, givenName: `Given${i}`, familyName: `Family${i % 500}`,
  dateOfBirth: `${1950 + (i % 60)}-01-01`, gender: i % 2 ? 'female' : 'male', phone: `+2547${String(i).padStart(8, '0')}`,
  email: `person${i}@example.org`, address: { street: `${1 + (i % 999)} Test Street`, city: 'Nairobi', postcode: '00100', country: 'KE' },
  householdSize: 1 + (i % 9), occupation: 'farmer', notes: 'Collected during the 512 MB test.',
});

test(`512 MB module: ${N} events stored, pushed, and pulled into a fresh store`, async () => {
  assert.ok(existsSync(`${DIR}datacollect.wasm`), 'build/wasm/mem512 is built by scripts/build.sh wasm (DC_WASM_MEM512)');
  const server = await startReferenceServer();
  const dirA = tempDir();
  const dirB = tempDir();
  try {
    const token = await login(server.url);
    const moduleA = await module512();
    const a = await open({ name: 'mem512-a', storage: { directory: dirA.dir }, module: moduleA, syncServerUrl: server.url, authToken: token, userId: 'user-a' });
    const base = moduleA.heapInUse();
    const forms = Array.from({ length: N }, (_, i) => ({
      guid: `00000512-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
      entityGuid: `00000513-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
      type: 'create-individual', data: data(i), timestamp: new Date(Date.UTC(2024, 0, 1) + i).toISOString(), userId: 'user-a',
    }));
    for (let i = 0; i < N; i += 500) await Promise.all(forms.slice(i, i + 500).map((f) => a.eventApplierService.submitForm(f)));
    const perEvent = (moduleA.heapInUse() - base) / N;
    await a.syncManager.pushToRemote();
    assert.equal(await a.eventStore.getUnsyncedEventsCount(), 0);
    await a.close();

    const moduleB = await module512();
    const b = await open({ name: 'mem512-b', storage: { directory: dirB.dir }, module: moduleB, syncServerUrl: server.url, authToken: token, userId: 'user-b' });
    await b.syncManager.pullFromRemote();
    assert.equal((await b.eventStore.getAllEvents()).length, N);
    assert.equal((await b.entityStore.getEntity(forms[N - 1].entityGuid))?.modified.data.email, `person${N - 1}@example.org`);
    await b.close();
    // Whether 100,000 fit is the benchmark's question (bench/run.mjs, section 9); the figure
    // here is for the log.
    assert.ok(perEvent > 0);
    console.log(`# 512 MB module: ${Math.round(perEvent)} bytes of heap per stored event at N = ${N}`);
  } finally {
    dirA.cleanup();
    dirB.cleanup();
    await server.close();
  }
});
