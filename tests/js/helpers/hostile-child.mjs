// One hostile-server case in its own process (tests/js/hostile.test.mjs), so a crash is seen as
// a crash. Usage: node hostile-child.mjs <case name> <hostile server URL>
// The hostile server proxies to a good (reference) server in mode "good" and answers as the
// case says in mode "hostile"; this child switches the mode through POST /__mode.
// Prints one JSON line: {ok, error: {code, message, status}, before, after, final, ...}.
import { loadModule, open } from '../../../js/index.js';
import { caseByName } from './hostile-cases.mjs';
import { DEMO_USER } from './env.mjs';

const [name, url] = process.argv.slice(2);
const c = caseByName(name);
if (!c) throw new Error(`unknown case ${name}`);
const tag = `h${process.pid}`;
const setMode = (mode) => fetch(`${url}/__mode`, { method: 'POST', body: JSON.stringify({ mode, name }) });
const stats = async () => (await fetch(`${url}/__stats`)).json();

const module = await loadModule();
// The wasm stack pointer and the allocator's break: both must be back after a failure.
const memory = () => ({ stack: module.stackSave(), heapBytes: module.HEAP8.length, inUse: module._dc_heap_in_use() });

const store = await open({ name: tag, storage: 'memory', userId: 'hostile', syncServerUrl: url, module,
  sync: { maxAttempts: 1, backoffBaseMs: 10, requestTimeoutMs: 5000, ...(c.options ?? {}) } });
const sm = store.syncManager;
await setMode('good');
await sm.login(DEMO_USER.email, DEMO_USER.password);
const goodToken = (await stats()).lastToken;
const edm = store.entityDataManager;
for (let i = 0; i < 3; i++)
  await edm.submitForm({ entityGuid: `${tag}-${i}`, type: 'create-individual', data: { name: `Hostile ${tag} ${i}` } });

const localState = async () => {
  const events = await store.eventStore.getAllEvents();
  const mine = events.filter((e) => String(e.entityGuid).startsWith(tag));
  return { count: mine.length, levels: mine.map((e) => e.syncLevel).join(','), unsynced: await sm.getUnsyncedEventsCount() };
};
const before = { ...(await localState()), ...memory() };

let hookCalls = 0;
if (c.hook) sm.setAuthRequiredHook(() => (hookCalls++, c.hook));
await setMode('hostile');
const started = Date.now();
let error = null;
let value = null;
let closeMs = null;
try {
  if (c.op === 'sync') value = await sm.sync();
  else if (c.op === 'pull') value = await sm.pullFromRemote();
  else if (c.op === 'login') value = await sm.login(DEMO_USER.email, DEMO_USER.password);
  else if (c.op === 'close') {
    const running = sm.sync();
    running.catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 400));
    const t = Date.now();
    await store.close();
    closeMs = Date.now() - t;
    value = await running;
  }
} catch (e) {
  error = { code: e?.code ?? null, name: e?.name, message: String(e?.message ?? e), status: e?.status ?? null,
    isDataCollectError: e?.name === 'DataCollectError' };
}
const failedAt = Date.now();
const elapsedMs = failedAt - started;
// Give a transport that did not abort the time to show it (bytes after the failure).
await new Promise((resolve) => setTimeout(resolve, c.closedWithinMs ? c.closedWithinMs + 50 : 50));
const hostileStats = await stats();
const out = { name, error, value, elapsedMs, closeMs, hookCalls, before, failedAt, hostileStats };

if (c.op !== 'close') {
  out.after = { ...(await localState()), ...memory() };
  if (c.hook) await sm.setAuthToken(goodToken);
  await setMode('good');
  try {
    const result = await sm.sync();
    out.final = { ok: true, pushed: result.pushed, ...(await localState()) };
    // What the good server holds of this child's events: a fresh store pulls everything.
    const reader = await open({ name: `${tag}-reader`, storage: 'memory', userId: 'reader', syncServerUrl: url, module,
      authToken: goodToken });
    await reader.syncManager.sync();
    const all = (await reader.eventStore.getAllEvents()).filter((e) => String(e.entityGuid).startsWith(tag));
    out.final.onServer = all.length;
    out.final.distinctOnServer = new Set(all.map((e) => e.guid)).size;
    await reader.close();
  } catch (e) {
    out.final = { ok: false, code: e?.code, message: String(e?.message ?? e) };
  }
  out.final.memory = memory();
  await store.close();
}
out.goodToken = goodToken;
process.stdout.write(`${JSON.stringify(out)}\n`);
