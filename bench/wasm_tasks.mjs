// One benchmark task of the wasm package under Node, run in its own process so that peak RSS
// belongs to that task alone. Usage: node bench/wasm_tasks.mjs <task> '<json args>'
// Prints one line `BENCH_RESULT {json}` on stdout; anything else is progress.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createForm, BASE_MS } from './lib/data.mjs';

// DC_BENCH_ROOT: measure another checkout's package (bench/run.mjs --before DIR: the "before" side).
const ROOT = process.env.DC_BENCH_ROOT ? path.resolve(process.env.DC_BENCH_ROOT) : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [task, argJson = '{}'] = process.argv.slice(2);
const args = JSON.parse(argJson);
const now = () => performance.now();
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const peakRssMB = () => +(process.resourceUsage().maxRSS / 1024).toFixed(1);

function emit(result) {
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}

async function loadPackage() {
  if (task === 'idbfs-flush' || args.fakeIndexedDb) await import('fake-indexeddb/auto');
  const t0 = now();
  const pkg = await import(pathToFileURL(path.join(ROOT, 'js/index.js')).href);
  return { pkg, importMs: now() - t0 };
}

// The package may expose the wasm heap size; try the likely spellings, else null.
function wasmHeapMB(pkg, db) {
  const candidates = [
    () => db?.eventStore?._session?.module?.HEAP8?.length,
    () => db?.wasmHeapBytes,
    () => (typeof db?.wasmHeapSize === 'function' ? db.wasmHeapSize() : db?.wasmHeapSize),
    () => (typeof db?.heapSize === 'function' ? db.heapSize() : db?.heapSize),
    () => (typeof db?.memoryUsage === 'function' ? db.memoryUsage()?.wasmHeap : undefined),
    () => db?.module?.HEAP8?.length,
    () => db?._module?.HEAP8?.length,
    () => (typeof pkg?.wasmHeapBytes === 'function' ? pkg.wasmHeapBytes() : pkg?.wasmHeapBytes),
    () => (typeof pkg?.getWasmHeapSize === 'function' ? pkg.getWasmHeapSize() : undefined),
  ];
  for (const c of candidates) {
    try {
      const v = c();
      if (typeof v === 'number' && v > 0) return +(v / 1048576).toFixed(1);
    } catch {}
  }
  return null;
}

// The 512 MB-capped module (build/wasm/mem512, src/wasm/CMakeLists.txt), one instance per process.
let module512;
async function loadModule512() {
  if (module512) return module512;
  const dir = path.join(ROOT, 'build/wasm/mem512');
  const require = createRequire(import.meta.url);
  const factory = require(path.join(dir, 'datacollect.js'));
  const { nodeHttpSend } = await import('../js/http-node.js');  // the engine's HTTP, as js/loader-node.js gives it
  module512 = await factory({ wasmBinary: fs.readFileSync(path.join(dir, 'datacollect.wasm')), dcHttp: nodeHttpSend, print: () => {}, printErr: () => {} });
  return module512;
}

// Bytes malloc'd in the wasm heap (the module's heapInUse), or null for builds without it.
function heapInUse(db) {
  const m = db?.eventStore?._session?.module;
  return typeof m?.heapInUse === 'function' ? m.heapInUse() : null;
}

async function openStore(pkg, extra = {}) {
  const opts = { name: args.name ?? `bench-${task}-${process.pid}`, userId: args.userId ?? 'bench-user', ...extra };
  if (args.mem512) opts.module = await loadModule512();
  if (args.syncOptions) opts.sync = args.syncOptions;  // open({sync}) -> InternalSyncManager options
  const db = await pkg.open(opts);
  let optionsApplied = null;
  if (args.syncOptions) {
    const sm = db.syncManager;
    if (typeof sm?.setOptions === 'function') {
      await sm.setOptions(args.syncOptions);
      optionsApplied = 'syncManager.setOptions';
    } else optionsApplied = 'open({sync}) only';
  }
  return { db, optionsApplied };
}

function storageOption(kind, dir) {
  if (kind === 'memory') return 'memory';
  if (kind === 'indexeddb') return 'indexeddb';
  return { directory: dir };
}

// Submits forms in windows of `window` concurrent submits (group commit: many submits, one
// flush); window 1 awaits each submit before the next (one flush per event).
async function submitMany(db, tag, n, window, t0ms = BASE_MS, first = 0) {
  const svc = db.eventApplierService;
  for (let i = first; i < first + n; i += window) {
    const batch = [];
    for (let j = i; j < Math.min(first + n, i + window); j++) batch.push(svc.submitForm(createForm(tag, j, t0ms + j - first)));
    await Promise.all(batch);
  }
}

function scratchDir(label) {
  return fs.mkdtempSync(path.join(args.tmp ?? os.tmpdir(), `dc-bench-${label}-`));
}

const tasks = {
  // 1. submitForm throughput through the package.
  async submit() {
    const { pkg } = await loadPackage();
    const dir = args.storage === 'directory' ? scratchDir('submit') : null;
    const { db } = await openStore(pkg, { storage: storageOption(args.storage, dir) });
    const n = args.n;
    const budgetMs = args.budgetMs ?? 20000;
    await submitMany(db, 0x1000, Math.min(200, n), 50, BASE_MS - 10_000_000);  // warm-up
    const c0 = cpuMs();
    const t0 = now();
    let done = 0;
    const window = args.window ?? 1;
    while (done < n && now() - t0 < budgetMs) {
      const k = Math.min(window, n - done);
      const batch = [];
      for (let j = done; j < done + k; j++) batch.push(db.eventApplierService.submitForm(createForm(0x1100, j, BASE_MS + j)));
      await Promise.all(batch);
      done += k;
    }
    const ms = now() - t0;
    const cpu = cpuMs() - c0;
    const heap = wasmHeapMB(pkg, db);
    await db.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    return { storage: args.storage, window, events: done, ms, cpuMs: cpu, eventsPerSec: done / (ms / 1000), eventsPerCpuSec: done / (cpu / 1000), peakRssMB: peakRssMB(), wasmHeapMB: heap };
  },

  // Heap per stored event: heapInUse after submitting up to each checkpoint, minus after open.
  // With mem512 the store lives in the 512 MB-capped module (completes = it fit).
  async heap() {
    const { pkg } = await loadPackage();
    const dir = args.storage === 'directory' ? scratchDir('heap') : null;
    const { db } = await openStore(pkg, { storage: storageOption(args.storage, dir) });
    const base = heapInUse(db);
    const baseHeap = wasmHeapMB(pkg, db);
    const points = [];
    let done = 0;
    const c0 = cpuMs();
    const t0 = now();
    let error = null;
    try {
      for (const n of args.points) {
        await submitMany(db, 0x6000, n - done, 1000, BASE_MS + done, done);
        done = n;
        const used = heapInUse(db);
        const mb = wasmHeapMB(pkg, db);
        // Builds without heapInUse: the growth of the heap itself (coarse: it grows in steps).
        const bytes = used != null && base != null ? used - base : (mb - baseHeap) * 1048576;
        points.push({ events: n, heapBytes: bytes, bytesPerEvent: bytes / n, coarse: used == null, wasmHeapMB: mb });
      }
    } catch (e) {
      error = `${e?.code ? e.code + ': ' : ''}${e?.message ?? e}`;
    }
    const ms = now() - t0;
    const cpu = cpuMs() - c0;
    const stored = error ? null : (await db.eventStore.getUnsyncedEventsCount());
    await db.close().catch(() => {});
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    return { storage: args.storage, mem512: !!args.mem512, baseHeapMB: baseHeap, points, stored, error, ms, cpuMs: cpu, peakRssMB: peakRssMB() };
  },

  // 2. Client A: submit N, then push them.
  async 'cycle-push'() {
    const { pkg } = await loadPackage();
    const dir = args.storage === 'directory' ? scratchDir('client-a') : null;
    const { db, optionsApplied } = await openStore(pkg, {
      storage: storageOption(args.storage, dir),
      syncServerUrl: args.url,
      authToken: args.token,
      configId: args.configId,
      userId: 'bench-client-a',
    });
    const c0 = cpuMs();
    const t0 = now();
    await submitMany(db, args.tag, args.n, args.window ?? 1000);
    const submitMs = now() - t0;
    const c1 = cpuMs();
    const t1 = now();
    const result = await db.syncManager.pushToRemote();
    const pushMs = now() - t1;
    const submitCpuMs = c1 - c0;
    const pushCpuMs = cpuMs() - c1;
    const unsynced = await db.syncManager.getUnsyncedEventsCount();
    const heap = wasmHeapMB(pkg, db);
    await db.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    return { n: args.n, submitMs, pushMs, submitCpuMs, pushCpuMs, pushResult: result, unsyncedAfter: unsynced, optionsApplied, peakRssMB: peakRssMB(), wasmHeapMB: heap };
  },

  // 2./3. Fresh client B: pull and apply everything.
  async 'cycle-pull'() {
    const { pkg } = await loadPackage();
    const dir = args.storage === 'directory' ? scratchDir('client-b') : null;
    const { db, optionsApplied } = await openStore(pkg, {
      storage: storageOption(args.storage, dir),
      syncServerUrl: args.url,
      authToken: args.token,
      configId: args.configId,
      userId: 'bench-client-b',
    });
    const c0 = cpuMs();
    const t0 = now();
    const result = await db.syncManager.pullFromRemote();
    const pullMs = now() - t0;
    const pullCpuMs = cpuMs() - c0;
    const t1 = now();
    const events = await db.eventStore.getAllEvents();
    const countMs = now() - t1;
    const heap = wasmHeapMB(pkg, db);
    await db.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    return { pullMs, pullCpuMs, pullResult: result, eventsStored: events.length, countMs, optionsApplied, peakRssMB: peakRssMB(), wasmHeapMB: heap };
  },

  // 8. Convergence rebase through the server: client D pulls the server's events (10,000
  // create-individual events of the cycle), then client C pushes 1,000 updates to the first 1,000
  // of those entities with timestamps older than all of them, and D pulls again.
  async rebase() {
    const { pkg } = await loadPackage();
    const base = { syncServerUrl: args.url, authToken: args.token, configId: args.configId, storage: 'memory' };
    const { db: d } = await openStore(pkg, { ...base, name: 'bench-rebase-d', userId: 'bench-client-d' });
    const t0 = now();
    const first = await d.syncManager.pullFromRemote();
    const firstPullMs = now() - t0;
    const { db: c } = await openStore(pkg, { ...base, name: 'bench-rebase-c', userId: 'bench-client-c' });
    const late = args.late ?? 1000;
    const forms = [];
    for (let j = 0; j < late; j++) {
      forms.push({
        guid: `late0000-0000-4000-8000-${j.toString(16).padStart(12, '0')}`,
        entityGuid: args.entityGuids[j % args.entityGuids.length],
        type: 'update-individual',
        data: { lateField: j, occupation: `late-${j % 7}` },
        timestamp: new Date(BASE_MS - 1_000_000 + j).toISOString(),
        userId: 'bench-client-c',
      });
    }
    await Promise.all(forms.map((f) => c.eventApplierService.submitForm(f)));
    await c.syncManager.pushToRemote();
    await c.close();
    const t1 = now();
    const second = await d.syncManager.pullFromRemote();
    const latePullMs = now() - t1;
    const heap = wasmHeapMB(pkg, d);
    await d.close();
    return { firstPulled: first?.pulled ?? first?.applied, firstPullMs, late, latePullMs, secondResult: second, peakRssMB: peakRssMB(), wasmHeapMB: heap };
  },

  // 4. IDBFS (fake-indexeddb) flush after one event in a store of N events.
  async 'idbfs-flush'() {
    const { pkg } = await loadPackage();
    const { db } = await openStore(pkg, { storage: 'indexeddb', name: `bench-idbfs-${args.n}` });
    const t0 = now();
    await submitMany(db, 0x4000, args.n, args.window ?? 1000);
    const buildMs = now() - t0;
    const probes = [];
    for (let k = 0; k < (args.probes ?? 10); k++) {
      const tp = now();
      await db.eventApplierService.submitForm(createForm(0x4100, k, BASE_MS + args.n + 10 + k));
      probes.push(now() - tp);
    }
    const heap = wasmHeapMB(pkg, db);
    await db.close();
    return { n: args.n, buildMs, durableSubmitMedianMs: median(probes), probesMs: probes, peakRssMB: peakRssMB(), wasmHeapMB: heap };
  },

  // 4./5. Directory store of N events: durable single-submit latency, then open time (warm module).
  async 'dir-store'() {
    const { pkg } = await loadPackage();
    const dir = args.dir;
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    let { db } = await openStore(pkg, { storage: { directory: dir }, name: 'bench-store' });
    const t0 = now();
    await submitMany(db, 0x5000, args.n, args.window ?? 1000);
    const buildMs = now() - t0;
    const probes = [];
    for (let k = 0; k < (args.probes ?? 10); k++) {
      const tp = now();
      await db.eventApplierService.submitForm(createForm(0x5100, k, BASE_MS + args.n + 10 + k));
      probes.push(now() - tp);
    }
    await db.close();
    const to = now();
    ({ db } = await openStore(pkg, { storage: { directory: dir }, name: 'bench-store' }));
    const reopenMs = now() - to;
    let count = null;
    try {
      count = (await db.eventStore.getAllEvents()).length;
    } catch {}
    await db.close();
    return { n: args.n, buildMs, durableSubmitMedianMs: median(probes), probesMs: probes, reopenWarmMs: reopenMs, eventsAfterReopen: count, peakRssMB: peakRssMB() };
  },

  // 5. Open a directory store in a fresh process: module load, then open().
  async 'dir-open'() {
    const { pkg, importMs } = await loadPackage();
    const c0 = cpuMs();
    const t0 = now();
    const { db } = await openStore(pkg, { storage: { directory: args.dir }, name: 'bench-store' });
    const openMs = now() - t0;
    const openCpuMs = cpuMs() - c0;
    const heap = wasmHeapMB(pkg, db);
    await db.close();
    if (args.cleanup) fs.rmSync(args.dir, { recursive: true, force: true });
    return { importMs, openMs, openCpuMs, peakRssMB: peakRssMB(), wasmHeapMB: heap };
  },
};

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
}

try {
  if (!tasks[task]) throw new Error(`unknown task ${task}`);
  const r = await tasks[task]();
  emit({ ok: true, ...r });
  process.exit(0);
} catch (err) {
  emit({ ok: false, error: `${err?.code ? err.code + ': ' : ''}${err?.message ?? err}`, peakRssMB: peakRssMB() });
  process.exit(0);
}
