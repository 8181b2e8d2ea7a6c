// Benchmark suite: `npm run bench [-- --quick] [--no-build] [--only a,b] [--sizes 1000,10000]`.
// Prints markdown tables and writes bench/results/{results.md,results.json,scaling.svg}.
// Benchmarks report; they do not fail. A measurement whose component is missing prints a row
// "not available: <why>". Everything runs on 127.0.0.1; every loop and child is bounded.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { startCountingProxy } from './lib/proxy.mjs';
import { startReferenceServer, serverAvailable, login } from './lib/server.mjs';
import { logLogPlot } from './lib/svg.mjs';
import { guidOf } from './lib/data.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, '..');
const OUT_ARG = process.argv.find((a) => a.startsWith('--out='));
const OUT = OUT_ARG ? path.resolve(OUT_ARG.slice(6)) : path.join(BENCH, 'results');
const argv = process.argv.slice(2);
const flag = (f) => argv.includes(f);
const opt = (name) => {
  const i = argv.findIndex((a) => a === name || a.startsWith(name + '='));
  if (i < 0) return null;
  return argv[i].includes('=') ? argv[i].split('=').slice(1).join('=') : argv[i + 1];
};
const QUICK = flag('--quick');
const NO_BUILD = flag('--no-build');
const ONLY = opt('--only')?.split(',') ?? null;
const want = (s) => !ONLY || ONLY.includes(s);
const SIZES = opt('--sizes')?.split(',').map(Number) ?? (QUICK ? [1000, 10000] : [1000, 10000, 100000]);
// The native stores are cheap to build: outside --quick they always include 100,000 events.
const NATIVE_SIZES = opt('--native-sizes')?.split(',').map(Number) ?? (QUICK ? SIZES : [...new Set([...SIZES, 100000])].sort((a, b) => a - b));
// wasm stores are built through the package (slow today); 100,000 only when asked for.
const WASM_STORE_SIZES = opt('--wasm-store-sizes')?.split(',').map(Number) ?? SIZES.filter((n) => n <= 10000);
// The 10-events-a-page pull costs N/10 round trips; above this N it is skipped unless asked for.
const ORIGINAL_MAX = Number(opt('--original-max') ?? (QUICK ? 1000 : 10000));
const STORE_SIZES = [...new Set([...WASM_STORE_SIZES, ...NATIVE_SIZES])].sort((a, b) => a - b);
const CYCLE_STORAGE = opt('--cycle-storage') ?? 'directory';
const CONFIG_ID = opt('--config-id') ?? 'default';
const BUILD_DIR = process.env.DC_BENCH_BUILD_DIR ?? path.join(ROOT, 'build/h-bench');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_N = Number(opt('--chromium-n') ?? 10000);  // the cycle size whose server Chromium pulls from
const t00 = performance.now();
// --quick must finish in under a minute whatever the engine's speed: every child gets at most the
// time left, and optional work is skipped (and reported as skipped) once the budget is spent.
const QUICK_BUDGET_MS = Number(opt('--budget') ?? 55) * 1000;
const deadline = QUICK ? t00 + QUICK_BUDGET_MS : Infinity;
const left = () => deadline - performance.now();
const capped = (ms) => Math.max(1000, Math.min(ms, left()));
// Scratch space of this run (client stores of killed children included), removed at the end.
const RUN_TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-run-'));
const BUDGET_SPENT = 'skipped: the --quick time budget (55 s) was spent';

const results = {
  meta: {
    date: new Date().toISOString(),
    quick: QUICK,
    sizes: SIZES,
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    loadAvgAtStart: os.loadavg().map((x) => +x.toFixed(2)),
    cycleStorage: CYCLE_STORAGE,
  },
};
const notes = [];
const log = (...a) => process.stderr.write(`bench: ${a.join(' ')}\n`);

// ---------------------------------------------------------------------------------------------
// helpers
const fmt = (v, d = 0) => (v == null || Number.isNaN(v) ? '—' : Number(v).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
const ms = (v) => (v == null ? '—' : v < 10 ? fmt(v, 2) : v < 100 ? fmt(v, 1) : fmt(v, 0));
const verdict = (ok) => (ok == null ? 'n/a' : ok ? 'met' : '**missed**');
const na = (why) => `not available: ${String(why).replace(/\s+/g, ' ').slice(0, 160)}`;
const kb = (b) => fmt(b / 1024, 1);
const cpuOf = (u) => (u.user + u.system) / 1000;

function table(headers, rows) {
  const lines = [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.map((c) => String(c ?? '—').replace(/\|/g, '\\|')).join(' | ')} |`);
  return lines.join('\n');
}

// Runs one wasm task in a child process; resolves {ok, ...} or {ok:false, error}.
// root: another checkout whose package and server the task measures (--before DIR).
function runTask(task, args, timeoutMs, root = null) {
  timeoutMs = capped(timeoutMs);
  if (QUICK && left() < 1500) return Promise.resolve({ ok: false, error: BUDGET_SPENT });
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(BENCH, 'wasm_tasks.mjs'), task, JSON.stringify({ tmp: RUN_TMP, ...args })], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: root ? { ...process.env, DC_BENCH_ROOT: root } : process.env,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ ok: false, error: `timed out after ${(timeoutMs / 1000).toFixed(0)} s${QUICK ? ' (--quick budget)' : ''}` });
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (line) return resolve(JSON.parse(line.slice('BENCH_RESULT '.length)));
      const tail = (err || out).trim().split('\n').slice(-3).join(' ');
      resolve({ ok: false, error: `exited ${code ?? signal}: ${tail}` });
    });
  });
}

function packageMissing() {
  if (!fs.existsSync(path.join(ROOT, 'js/index.js'))) return 'js/index.js does not exist';
  if (!fs.existsSync(path.join(ROOT, 'dist')) || !fs.readdirSync(path.join(ROOT, 'dist')).some((f) => f.endsWith('.wasm')))
    return 'no .wasm in dist/ (run `npm run build`)';
  return null;
}

// ---------------------------------------------------------------------------------------------
// native
function nativeBinary() {
  const candidates = [process.env.DC_NATIVE_BENCH, path.join(BUILD_DIR, 'bench/native_bench'), path.join(ROOT, 'build/native/bench/native_bench')];
  return candidates.find((p) => p && fs.existsSync(p)) ?? null;
}

function buildNative() {
  if (NO_BUILD) return nativeBinary() ? null : 'no native_bench binary and --no-build given';
  const cores = fs.readdirSync(path.join(ROOT, 'src/core')).filter((f) => f.endsWith('.cpp'));
  if (cores.length < 3) return `src/core has only ${cores.length} .cpp files (the core is not written yet)`;
  log('building native_bench (incremental, -j1) in', path.relative(ROOT, BUILD_DIR));
  if (!fs.existsSync(path.join(BUILD_DIR, 'CMakeCache.txt'))) {
    const c = spawnSync('cmake', ['-S', ROOT, '-B', BUILD_DIR, '-DCMAKE_BUILD_TYPE=Release', '-DDC_BUILD_TESTS=OFF'], { encoding: 'utf8' });
    if (c.status !== 0) return `cmake configure failed: ${(c.stderr || c.stdout).trim().split('\n').slice(-2).join(' ')}`;
  }
  const b = spawnSync('cmake', ['--build', BUILD_DIR, '-j1', '--target', 'native_bench'], { encoding: 'utf8', timeout: 15 * 60 * 1000 });
  if (b.status !== 0) {
    const lines = (b.stdout + b.stderr).split('\n').filter((l) => /error:|undefined reference/i.test(l));
    return `build failed: ${lines.slice(0, 2).join(' ') || 'see cmake output'}`;
  }
  return null;
}

function runNative() {
  const why = buildNative();
  const bin = nativeBinary();
  if (!bin) return { ok: false, error: why ?? 'native_bench not built' };
  if (why) notes.push(`native_bench could not be rebuilt (${why}); the existing binary was used.`);
  log('running', path.relative(ROOT, bin));
  const args = ['--sizes', NATIVE_SIZES.join(',')];
  if (QUICK) args.push('--quick');
  if (ONLY) {
    const sections = [want('submit') && 'submit', (want('flush') || want('open')) && 'store', want('rebase') && 'rebase',
      ...(want('targets') ? ['memory', 'late', 'latepage', 'openStore'] : [])].filter(Boolean);
    args.push('--only', sections.join(',') || 'none');
  }
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: QUICK ? 25_000 : 900_000, maxBuffer: 64 << 20 });
  if (r.status !== 0 || !r.stdout.trim()) return { ok: false, error: `native_bench exited ${r.status ?? r.signal}: ${r.stderr.trim().split('\n').slice(-2).join(' ')}` };
  try {
    return { ok: true, ...JSON.parse(r.stdout) };
  } catch (e) {
    return { ok: false, error: `native_bench printed no JSON: ${e.message}` };
  }
}

// ---------------------------------------------------------------------------------------------
// 1. submitForm throughput
async function benchSubmit(native) {
  const rows = [];
  // native_bench prints its submit rows in this order.
  const nativeLabels = ['native, memory', 'native, directory, fsync after every event', 'native, directory, group commit (fsync every 256 events)'];
  nativeLabels.forEach((what, i) => {
    const r = native.ok ? native.submit?.[i] : null;
    if (!r) rows.push({ what, error: native.error ?? 'not run' });
    else rows.push({ what, ...r, durable: i > 0, target: i === 2 ? 'reference' : null });
  });
  const missing = packageMissing();
  const n = QUICK ? 5000 : 20000;
  const W = QUICK ? 250 : 1000;  // submits in flight at once; the quick run keeps windows short to stay in budget
  const cases = [
    { what: 'wasm, memory, one submit at a time', storage: 'memory', window: 1, n: QUICK ? 2000 : 10000 },
    { what: `wasm, memory, ${fmt(W)} concurrent submits`, storage: 'memory', window: W, n },
    { what: 'wasm, directory, each submit awaited (one flush per event)', storage: 'directory', window: 1, n: QUICK ? 300 : 2000, durable: true },
    { what: `wasm, directory, ${fmt(W)} concurrent submits (group commit)`, storage: 'directory', window: W, n, durable: true, target: 20000 },
  ];
  for (const c of cases) {
    if (missing) {
      rows.push({ what: c.what, error: missing, target: c.target });
      continue;
    }
    log('submit:', c.what);
    const r = await runTask('submit', { storage: c.storage, window: c.window, n: c.n, budgetMs: QUICK ? 1500 : 20000 }, QUICK ? 8_000 : 120_000);
    rows.push({ ...c, ...r });
  }
  results.submit = rows;
  if (BEFORE && !missing) {
    const c = cases.find((x) => x.target === 20000);
    log('submit (before):', c.what);
    const b = await runTask('submit', { storage: c.storage, window: c.window, n: c.n, budgetMs: QUICK ? 1500 : 20000 }, QUICK ? 8_000 : 120_000, BEFORE);
    const a = rows.find((x) => x.target === 20000);
    const cell = (x) => (x?.ok ? `${fmt(x.eventsPerSec)}/s (${fmt(x.eventsPerCpuSec)} per CPU-s)` : na(x?.error ?? 'not run'));
    (results.beforeAfter ??= []).push([`durable submitForm, ${c.what.replace('wasm, ', '')}`, cell(b), cell(a)]);
  }
  return [
    '### 1. submitForm throughput (create-individual, ~300 bytes of data)',
    '',
    table(
      ['configuration', 'events', 'time (ms)', 'events/s', 'CPU ms', 'events per CPU-s', 'durable', 'peak RSS (MB)', 'wasm heap (MB)', 'target', 'result'],
      rows.map((r) =>
        r.error
          ? [r.what, na(r.error), '', '', '', '', '', '', '', r.target ? `≥ ${fmt(r.target)}/s` : '—', r.target ? 'n/a' : '—']
          : [
              r.what,
              fmt(r.events),
              ms(r.ms),
              fmt(r.eventsPerSec),
              ms(r.cpuMs),
              fmt(r.eventsPerCpuSec),
              r.durable ? 'yes' : 'no',
              fmt(r.peakRssMB, 1),
              r.wasmHeapMB == null ? (r.storage && !String(r.what).startsWith('native') ? 'not exposed' : '—') : fmt(r.wasmHeapMB, 1),
              r.target === 'reference' ? 'reference' : r.target ? `≥ ${fmt(r.target)}/s` : '—',
              r.target && r.target !== 'reference' ? verdict(r.eventsPerSec >= r.target) : '—',
            ],
      ),
    ),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// 2, 3, 6. Full cycle through the reference server, original paging, Chromium
// The phone-sized targets (bench/README.md, section 9; the earlier ones were 3 s and 30 s).
const CYCLE_TARGET_MS = { 10000: 1500, 100000: 15000 };

async function benchCycle() {
  const cycles = [];
  const original = [];
  let chromium = null;
  const missing = packageMissing() ?? (serverAvailable() ? null : 'web/server/app.js does not exist');
  for (const n of SIZES) {
    if (missing) {
      cycles.push({ n, error: missing });
      original.push({ n, error: missing });
      continue;
    }
    let server = null;
    let proxy = null;
    try {
      server = await startReferenceServer({ label: String(n) });
      proxy = await startCountingProxy(server.url);
      const token = await login(server.url);
      const common = { url: proxy.url, token, configId: CONFIG_ID, storage: CYCLE_STORAGE };
      const big = n >= 100000;
      log(`cycle N=${n}: client A submits and pushes`);
      proxy.reset();
      const srvA = process.cpuUsage();
      const a = await runTask('cycle-push', { ...common, n, tag: 0x2000 + n }, big ? 480_000 : 180_000);
      const aReq = proxy.snapshot();
      const serverCpuA = cpuOf(process.cpuUsage(srvA));
      if (!a.ok) throw new Error(`client A: ${a.error}`);
      log(`cycle N=${n}: client B pulls and applies`);
      proxy.reset();
      const srvB = process.cpuUsage();
      const b = await runTask('cycle-pull', { ...common }, big ? 480_000 : 180_000);
      const bReq = proxy.snapshot();
      const serverCpuB = cpuOf(process.cpuUsage(srvB));
      if (!b.ok) throw new Error(`client B: ${b.error}`);
      const total = a.submitMs + a.pushMs + b.pullMs;
      cycles.push({
        n, submitMs: a.submitMs, pushMs: a.pushMs, pullMs: b.pullMs, totalMs: total,
        pushRequests: aReq.total, pushCounts: aReq.counts, pullRequests: bReq.total, pullCounts: bReq.counts,
        bytesPushed: aReq.bytesIn, bytesPulled: bReq.bytesOut, eventsStoredB: b.eventsStored,
        rssA: a.peakRssMB, rssB: b.peakRssMB, heapA: a.wasmHeapMB, heapB: b.wasmHeapMB,
        pushResult: a.pushResult, pullResult: b.pullResult, unsyncedAfterPush: a.unsyncedAfter,
        cpuA: a.submitCpuMs + a.pushCpuMs, submitCpuMs: a.submitCpuMs, pushCpuMs: a.pushCpuMs, cpuB: b.pullCpuMs, serverCpuA, serverCpuB,
      });
      // 3. the original server's paging: 10 events a page, the client sending no useful limit.
      const origCap = ORIGINAL_MAX;
      if (!want('cycle')) original.push({ n, error: 'not run (--only)' });
      else if (n <= origCap) {
        log(`cycle N=${n}: client C pulls with 10-event pages`);
        proxy.reset();
        proxy.state.forcePullLimit = 10;
        const c = await runTask('cycle-pull', { ...common, syncOptions: { pullLimit: 10, pushChunkSize: 10 } }, big ? 900_000 : 300_000);
        proxy.state.forcePullLimit = null;
        const cReq = proxy.snapshot();
        original.push(c.ok ? { n, pullMs: c.pullMs, requests: cReq.total, counts: cReq.counts, eventsStored: c.eventsStored, rss: c.peakRssMB, optionsApplied: c.optionsApplied, largePullMs: b.pullMs, largeRequests: bReq.total } : { n, error: c.error });
      } else original.push({ n, error: `skipped above N=${fmt(origCap)} (${fmt(n / 10)} round trips; --original-max raises it)` });
      // 6. Chromium pulls the same 10,000 events into IDBFS on real IndexedDB.
      if (n === CHROMIUM_N && want('chromium')) chromium = await benchChromium(server.url, token, n);
      // 8. (wasm) rebase: 1,000 late updates sorting before the 10,000 events already applied.
      if (n === 10000 && want('rebase')) {
        log('rebase (wasm): 1,000 late events after 10,000 applied');
        const entityGuids = Array.from({ length: 1000 }, (_, j) => guidOf(0x2000 + n + 1, j));
        results.rebaseWasm = await runTask('rebase', { ...common, storage: 'memory', entityGuids, late: 1000 }, 180_000);
      }
    } catch (e) {
      log(`cycle N=${n} failed:`, e.message);
      cycles.push({ n, error: e.message });
      if (original.length < cycles.length) original.push({ n, error: e.message });
    } finally {
      await proxy?.close();
      await server?.close();
    }
  }
  if (want('chromium') && !chromium) chromium = { n: CHROMIUM_N, error: missing ?? (SIZES.includes(CHROMIUM_N) ? `the N=${fmt(CHROMIUM_N)} cycle did not complete` : `N=${fmt(CHROMIUM_N)} not among --sizes`) };
  results.cycle = cycles;
  results.originalPaging = original;
  results.chromium = chromium;

  const t10 = cycles.find((c) => c.n === 10000 && !c.error)?.totalMs;
  const cycleRows = cycles.map((c) => {
    let target = '—';
    let ok = null;
    if (CYCLE_TARGET_MS[c.n]) {
      target = `< ${fmt(CYCLE_TARGET_MS[c.n] / 1000, 1)} s`;
      if (c.n === 100000) target += ' and ≤ 12× the 10k time';
      target = target.replace('<', '≤');
      if (!c.error) ok = c.totalMs <= CYCLE_TARGET_MS[c.n] && (c.n !== 100000 || t10 == null || c.totalMs <= 12 * t10);
    }
    if (c.error) return [fmt(c.n), na(c.error), '', '', '', '', '', '', '', '', target, CYCLE_TARGET_MS[c.n] ? 'n/a' : '—'];
    const complete = c.eventsStoredB === c.n ? '' : ` (B holds ${fmt(c.eventsStoredB)})`;
    return [
      fmt(c.n),
      `${ms(c.submitMs)} (${fmt(c.n / (c.submitMs / 1000))}/s)`,
      `${ms(c.pushMs)} / ${fmt(c.pushRequests)} req (${fmt(c.n / (c.pushMs / 1000))}/s)`,
      `${ms(c.pullMs)} / ${fmt(c.pullRequests)} req (${fmt(c.n / (c.pullMs / 1000))}/s)${complete}`,
      ms(c.totalMs),
      fmt(c.n / (c.totalMs / 1000)),
      `${fmt(c.submitCpuMs / 1000, 1)} + ${fmt(c.pushCpuMs / 1000, 1)} / ${fmt(c.cpuB / 1000, 1)} / ${fmt((c.serverCpuA + c.serverCpuB) / 1000, 1)}`,
      `${fmt(c.rssA, 0)} / ${fmt(c.rssB, 0)}`,
      c.heapA == null && c.heapB == null ? 'not exposed' : `${fmt(c.heapA, 0)} / ${fmt(c.heapB, 0)}`,
      c.n === 100000 && t10 ? `${fmt(c.totalMs / t10, 1)}×` : '—',
      target,
      verdict(ok),
    ];
  });
  const origRows = original.map((o) =>
    o.error
      ? [fmt(o.n), na(o.error), '', '', '', '', '—', '—']
      : [
          fmt(o.n),
          fmt(o.requests),
          ms(o.pullMs),
          fmt(o.n / (o.pullMs / 1000)),
          `${ms(o.largePullMs)} / ${fmt(o.largeRequests)} req`,
          `${fmt(o.pullMs / o.largePullMs, 1)}×`,
          '— (shows the cost of round trips)',
          o.eventsStored === o.n ? 'complete' : `B holds ${fmt(o.eventsStored)}`,
        ],
  );
  const c = chromium;
  const chromeRows = !c
    ? []
    : [
        c.error
          ? [fmt(c.n ?? CHROMIUM_N), na(c.error), '', '', '', '', '< 5 s (10,000)', 'n/a']
          : [
              fmt(c.n),
              `${ms(c.pullMs)} (${fmt(c.n / (c.pullMs / 1000))}/s)`,
              fmt(c.pullRequests),
              ms(c.loadOpenMs),
              `${ms(c.reopenMs)}${c.reopenEvents === c.n ? '' : ` (holds ${fmt(c.reopenEvents)})`}`,
              c.wasmHeapMB == null ? 'not exposed' : fmt(c.wasmHeapMB, 0),
              '< 5 s (10,000)',
              c.n === 10000 ? verdict(c.pullMs < 5000 && c.eventsStored === c.n) : 'n/a (N ≠ 10,000)',
            ],
      ];
  return [
    `### 2. Full cycle through the reference server (127.0.0.1, client storage: ${CYCLE_STORAGE})`,
    '',
    'Client A submits N events (1,000 concurrent submits at a time) and pushes them; a fresh client B pulls and applies them. ' +
      'Requests are counted by a proxy in front of the server. Total = submit + push + pull. RSS and heap are per client process (A / B).',
    '',
    table(['N', 'A: submit ms', 'A: push ms / requests', 'B: pull+apply ms / requests', 'total ms', 'events/s', 'CPU s (A submit + push / B / server+proxy)', 'peak RSS MB (A / B)', 'wasm heap MB (A / B)', 'vs 10k', 'target', 'result'], cycleRows),
    '',
    '### 3. Pull with the original server\'s paging (10 events a page)',
    '',
    'A fresh client pulls the same N events; the proxy forces `limit=10` on every pull, as the original server serves 10 events a page.',
    '',
    table(['N', 'requests', 'pull+apply ms', 'events/s', 'same pull, large pages', 'slowdown', 'target', 'complete'], origRows),
    ...(chromeRows.length
      ? ['', `### 6. Headless Chromium: pull and apply ${fmt(c.n ?? CHROMIUM_N)} events into IDBFS on real IndexedDB`, '',
         table(['N', 'pull+apply ms', 'pull requests', 'module load + open ms', 'reopen (new page) ms', 'wasm heap MB', 'target', 'result'], chromeRows)]
      : []),
  ].join('\n');
}

async function benchChromium(serverUrl, token, n) {
  let pw;
  try {
    pw = await import('playwright-core');
  } catch (e) {
    return { error: `playwright-core not installed (${e.message})` };
  }
  if (!fs.existsSync(CHROMIUM)) return { error: `${CHROMIUM} not found` };
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-chromium-'));
  let ctx = null;
  log(`chromium: pull + apply ${n} events into IDBFS`);
  try {
    ctx = await pw.chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    let pullRequests = 0;
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/sync/pull') pullRequests++;
    });
    const consoleErrors = [];
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    // Any page of the server's origin will do; the package is imported from /js/index.js.
    await page.goto(`${serverUrl}/js/index.js`, { timeout: 30_000 });
    const withTimeout = (p, s) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timed out after ${s} s`)), s * 1000))]);
    const r = await withTimeout(
      page.evaluate(async ({ url, token, configId }) => {
        const t0 = performance.now();
        const m = await import('/js/index.js');
        const db = await m.open({ name: 'bench-chromium', storage: 'indexeddb', userId: 'bench-chromium', syncServerUrl: url, authToken: token, configId });
        const t1 = performance.now();
        const res = await db.syncManager.pullFromRemote();
        const t2 = performance.now();
        const events = await db.eventStore.getAllEvents();
        const heap = (await m.loadModule())?.HEAP8?.length;
        await db.close();
        return { loadOpenMs: t1 - t0, pullMs: t2 - t1, pullResult: res, eventsStored: events.length, wasmHeapMB: heap ? heap / 1048576 : null, jsHeapMB: performance.memory ? performance.memory.usedJSHeapSize / 1048576 : null };
      }, { url: serverUrl, token, configId: CONFIG_ID }),
      120,
    );
    // Reload: a new page opens the store from IndexedDB.
    const page2 = await ctx.newPage();
    await page2.goto(`${serverUrl}/js/index.js`, { timeout: 30_000 });
    const r2 = await withTimeout(
      page2.evaluate(async () => {
        const m = await import('/js/index.js');
        const t0 = performance.now();
        const db = await m.open({ name: 'bench-chromium', storage: 'indexeddb', userId: 'bench-chromium' });
        const t1 = performance.now();
        const events = await db.eventStore.getAllEvents();
        await db.close();
        return { reopenMs: t1 - t0, reopenEvents: events.length };
      }),
      120,
    );
    return { n, ...r, ...r2, pullRequests, consoleErrors: consoleErrors.slice(0, 5) };
  } catch (e) {
    return { error: e.message.split('\n')[0] };
  } finally {
    await ctx?.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// 4, 5. Flush after one event, open time
async function benchStores(native) {
  const missing = packageMissing();
  // native_bench prints one store row per size, in --sizes order (error rows carry no n).
  const nativeBy = new Map((native.ok ? native.store ?? [] : []).map((r, i) => [NATIVE_SIZES[i], { n: NATIVE_SIZES[i], ...r }]));
  const wasmDir = new Map();
  const idbfs = new Map();
  for (const n of WASM_STORE_SIZES) {
    if (missing) break;
    if (QUICK && left() < 5000) {
      wasmDir.set(n, { built: { ok: false, error: BUDGET_SPENT } });
      idbfs.set(n, { ok: false, error: BUDGET_SPENT });
      continue;
    }
    const dir = fs.mkdtempSync(path.join(RUN_TMP, `store-${n}-`));
    log(`store N=${n}: wasm directory build, durable submit, reopen`);
    const big = n >= 100000;
    const built = await runTask('dir-store', { n, dir, probes: QUICK ? 5 : 15 }, big ? 600_000 : 120_000);
    let opened = { ok: false, error: 'store was not built' };
    if (built.ok) opened = await runTask('dir-open', { dir }, 120_000);
    fs.rmSync(dir, { recursive: true, force: true });
    wasmDir.set(n, { built, opened });
    if (!QUICK || n <= 10000) {
      log(`store N=${n}: IDBFS on fake-indexeddb`);
      idbfs.set(n, await runTask('idbfs-flush', { n, probes: QUICK ? 5 : 15 }, big ? 900_000 : 180_000));
    } else idbfs.set(n, { ok: false, error: 'skipped in --quick' });
  }
  results.stores = { native: [...nativeBy.values()], wasmDirectory: Object.fromEntries(wasmDir), idbfs: Object.fromEntries(idbfs) };

  const first = STORE_SIZES[0];
  const last = STORE_SIZES[STORE_SIZES.length - 1];
  const notRun = (n) => (WASM_STORE_SIZES.includes(n) ? 'not run' : 'not run (wasm stores: --wasm-store-sizes)');
  const nf = (n) => nativeBy.get(n);
  const cell = (r, key) => (!r ? null : r.error ? na(r.error) : r[key]);
  const nativeErr = native.ok ? null : native.error;
  const flushRows = STORE_SIZES.map((n) => {
    const nr = nf(n);
    const wd = wasmDir.get(n)?.built;
    const ib = idbfs.get(n);
    const isLast = n === last && n >= 100000;
    const ratio = (get) => {
      const a = get(first), b = get(n);
      return a && b ? b / a : null;
    };
    const rn = ratio((k) => nf(k)?.flushMedianMs);
    const rw = ratio((k) => (wasmDir.get(k)?.built?.ok ? wasmDir.get(k).built.durableSubmitMedianMs : null));
    const ri = ratio((k) => (idbfs.get(k)?.ok ? idbfs.get(k).durableSubmitMedianMs : null));
    const show = (v, r) => (v == null ? '—' : typeof v === 'string' ? v : `${ms(v)}${r && n !== first ? ` (${fmt(r, 2)}×)` : ''}`);
    const ratios = [rn, rw, ri].filter((x) => x != null);
    return [
      fmt(n),
      nativeErr ? na(nativeErr) : !nr ? na(notRun(n)) : nr.error ? na(nr.error) : show(nr.flushMedianMs, rn),
      nr && !nr.error ? ms(nr.flushP90Ms) : '—',
      missing ? na(missing) : wd?.ok ? show(wd.durableSubmitMedianMs, rw) : na(wd?.error ?? notRun(n)),
      missing ? na(missing) : ib?.ok ? show(ib.durableSubmitMedianMs, ri) : na(ib?.error ?? notRun(n)),
      isLast ? '≤ 2× the 1k cost' : '—',
      isLast ? (ratios.length ? `${verdict(ratios.every((x) => x <= 2))} (${ratios.map((x) => fmt(x, 2) + '×').join(', ')})` : 'n/a') : '—',
    ];
  });
  const openRows = STORE_SIZES.map((n) => {
    const nr = nf(n);
    const w = wasmDir.get(n);
    const ok = [nr && !nr.error ? nr.openMs : null, w?.opened?.ok ? w.opened.openMs : null].filter((x) => x != null);
    const target = n >= 100000 ? '< 2 s' : '—';
    return [
      fmt(n),
      nativeErr ? na(nativeErr) : !nr ? na(notRun(n)) : nr.error ? na(nr.error) : ms(nr.openMs),
      nr && !nr.error ? `${kb(nr.bytesOnDisk)} KB / ${nr.files} files` : '—',
      missing ? na(missing) : w?.opened?.ok ? `${ms(w.opened.openMs)} (CPU ${ms(w.opened.openCpuMs)})` : na(w?.opened?.error ?? w?.built?.error ?? notRun(n)),
      w?.opened?.ok ? ms(w.opened.importMs) : '—',
      w?.built?.ok ? ms(w.built.reopenWarmMs) : '—',
      target,
      n >= 100000 ? (ok.length ? verdict(ok.every((x) => x < 2000)) : 'n/a') : '—',
    ];
  });
  return [
    '### 4. Cost of making one more event durable, by store size',
    '',
    'Native: flush after one submitForm (fsync). wasm: one awaited submitForm (resolves when durable), directory storage (NODEFS) and IDBFS on fake-indexeddb. Median of the probes; (×) = relative to the smallest store.',
    '',
    table(['stored events', 'native flush ms (median)', 'native p90 ms', 'wasm directory: durable submit ms', 'wasm IDBFS (fake-indexeddb): durable submit ms', 'target', 'result'], flushRows),
    '',
    '### 5. Open (load) time of a store',
    '',
    table(['stored events', 'native open ms', 'native size on disk', 'wasm directory open ms (fresh process)', 'wasm module import ms', 'wasm reopen ms (warm module)', 'target', 'result'], openRows),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// 7. Bundle size
function benchBundle() {
  const files = [];
  const add = (dir, pred) => {
    const abs = path.join(ROOT, dir);
    if (!fs.existsSync(abs)) return;
    for (const f of fs.readdirSync(abs)) {
      const p = path.join(abs, f);
      if (fs.statSync(p).isFile() && pred(f)) files.push(path.join(dir, f));
    }
  };
  add('dist', (f) => /\.(wasm|js|mjs|cjs)$/.test(f));
  add('js', (f) => /\.(js|mjs|cjs)$/.test(f) && !f.endsWith('.d.ts'));
  const rows = files.map((f) => {
    const buf = fs.readFileSync(path.join(ROOT, f));
    return { file: f, raw: buf.length, gzip: zlib.gzipSync(buf, { level: 9 }).length };
  });
  results.bundle = rows;
  const wasm = rows.filter((r) => r.file.endsWith('.wasm'));
  const total = rows.reduce((a, r) => ({ raw: a.raw + r.raw, gzip: a.gzip + r.gzip }), { raw: 0, gzip: 0 });
  const body = rows.map((r) => [r.file, kb(r.raw), kb(r.gzip), '', '']);
  if (!wasm.length) body.push(['dist/*.wasm', na('no .wasm in dist/ yet (run `npm run build`)'), '', '', '']);
  body.push(['**total (wasm + JS)**', kb(total.raw), kb(total.gzip), '≤ 500 KB gzipped', wasm.length ? verdict(total.gzip <= 500 * 1024) : 'n/a']);
  return ['### 7. Bundle size (KB = 1,024 bytes; gzip -9)', '', table(['file', 'raw KB', 'gzipped KB', 'target', 'result'], body)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// 8. Convergence rebase (native)
function benchRebase(native) {
  const r = native.ok ? native.rebase : null;
  results.rebase = r ?? { error: native.error };
  const rows = [];
  if (!r || r.error) rows.push([`native: ${na(r?.error ?? native.error ?? 'not run')}`, '', '', '', '', '—', 'n/a']);
  else
    rows.push([
      `native (memory storage): ${fmt(r.applied)} applied (${fmt(r.entities)} entities × 10 events), then ${fmt(r.late)} late, pages of ${r.page}${QUICK ? ' (reduced in --quick)' : ''}`,
      ms(r.applyMs),
      `${ms(r.lateBeforeMs)}${r.lateBeforeRejected ? ` (${r.lateBeforeRejected} not applied)` : ''}`,
      ms(r.lateAfterMs),
      `${fmt(r.lateBeforeMs / r.lateAfterMs, 1)}×`,
      `${ms(r.fullRebuildMs)} (${fmt(r.applied + r.late)} events)`,
      'no target set (reported)',
    ]);
  const w = results.rebaseWasm;
  const wrow = !w
    ? ['wasm: not run (needs the N=10,000 cycle)', '', '', '', '', '', '—']
    : !w.ok
      ? [`wasm: ${na(w.error)}`, '', '', '', '', '', '—']
      : [
          `wasm (memory storage, via the server): ${fmt(w.firstPulled)} pulled (one event per entity), then ${fmt(w.late)} late`,
          `${ms(w.firstPullMs)} (pull)`,
          `${ms(w.latePullMs)} (pull of the late events${w.secondResult?.rejected ? `, ${w.secondResult.rejected} rejected` : ''})`,
          `≈ ${ms((w.firstPullMs / Math.max(1, w.firstPulled)) * w.late)} (same rate as the first pull)`,
          `${fmt(w.latePullMs / ((w.firstPullMs / Math.max(1, w.firstPulled)) * w.late), 1)}×`,
          '—',
          'no target set (reported)',
        ];
  rows.push(wrow);
  return [
    '### 8. Convergence rebase: 1,000 late events sorting before 10,000 applied ones',
    '',
    'Late events are updates, one per entity, with timestamps older than everything applied; they arrive as pulled pages. Native: "in order" is the same 1,000 updates sorting after everything (incremental apply). wasm: client D pulls the 10,000 events of the N=10,000 cycle, client C pushes 1,000 late updates to 1,000 of those entities, D pulls again.',
    '',
    table(['scenario', 'apply ms', 'late events sorting before: ms', 'same number in order: ms', 'rebase / in order', 'full rebuild ms', 'target'], rows),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
function plot() {
  const pts = (arr, x, y) => (arr ?? []).filter((r) => !r.error && r[y] != null).map((r) => [r[x], r[y]]);
  const cyc = results.cycle ?? [];
  const stores = results.stores ?? {};
  const wd = Object.entries(stores.wasmDirectory ?? {});
  const ib = Object.entries(stores.idbfs ?? {});
  const series = [
    { name: 'full cycle total (wasm)', points: pts(cyc, 'n', 'totalMs') },
    { name: 'A: submit N (wasm)', points: pts(cyc, 'n', 'submitMs'), dashed: true },
    { name: 'A: push N (wasm)', points: pts(cyc, 'n', 'pushMs'), dashed: true },
    { name: 'B: pull+apply N (wasm)', points: pts(cyc, 'n', 'pullMs'), dashed: true },
    { name: 'pull, 10 events/page', points: pts(results.originalPaging, 'n', 'pullMs') },
    { name: 'open store, native', points: pts(stores.native, 'n', 'openMs') },
    { name: 'open store, wasm dir', points: wd.filter(([, v]) => v.opened?.ok).map(([n, v]) => [+n, v.opened.openMs]) },
    { name: 'flush 1 event, native', points: pts(stores.native, 'n', 'flushMedianMs') },
    { name: '1 durable submit, wasm dir', points: wd.filter(([, v]) => v.built?.ok).map(([n, v]) => [+n, v.built.durableSubmitMedianMs]) },
    { name: '1 durable submit, IDBFS', points: ib.filter(([, v]) => v.ok).map(([n, v]) => [+n, v.durableSubmitMedianMs]) },
  ].filter((s) => s.points.length);
  return logLogPlot({
    title: `Time vs N (log-log)${QUICK ? ' — quick run' : ''}`,
    xLabel: 'N (events in the cycle / events in the store)',
    yLabel: 'time (ms)',
    series,
    guides: [{ y: 1500, label: 'target: 10k cycle ≤ 1.5 s' }, { y: 15000, label: 'target: 100k cycle ≤ 15 s' }],
  });
}

// ---------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------
// 9. The phone-sized targets: heap per event, the 512 MB module, the server's push CPU; every target met/missed,
// and before (--before DIR: a checkout of main at 7fe49e0, built) / after in the same run.
const BEFORE = opt('--before');
const HEAP_LIMIT = 3 * 1024;  // bytes per stored event
const SERVER_PUSH_LIMIT_MS = 300;

function serverPush(root) {
  // bench/server_bench.mjs --cycle of that checkout: server CPU of pushing 10,000 events.
  if (QUICK) return { ok: false, error: 'skipped in --quick (about 30 s)' };
  const out = path.join(RUN_TMP, `server-${root ? 'before' : 'after'}.json`);
  const script = path.join(root ?? ROOT, 'bench/server_bench.mjs');
  const r = spawnSync(process.execPath, [script, '--cycle', '--sizes', '10000', '--json', out], { cwd: root ?? ROOT, encoding: 'utf8', timeout: 240_000 });
  if (!fs.existsSync(out)) return { ok: false, error: `server_bench exited ${r.status ?? r.signal}: ${(r.stderr || '').trim().split('\n').slice(-1)[0] ?? ''}` };
  const push = JSON.parse(fs.readFileSync(out, 'utf8')).results[0].phases.find((p) => p.phase === 'push');
  return { ok: true, cpuMs: push.cpuMs, validatorMs: push.validatorMs, wallMs: push.wallMs };
}

async function heap512Cycle(n) {
  // A fresh client B in the 512 MB-capped module (its own process) pulls n events that client A
  // (the shipped module) stored and pushed. Whether a store of n fits at all is the heap row.
  let server = null;
  try {
    server = await startReferenceServer({ label: 'heap512' });
    const token = await login(server.url);
    const common = { url: server.url, token, configId: CONFIG_ID, storage: 'directory', mem512: true };
    const a = await runTask('cycle-push', { ...common, mem512: false, n, tag: 0x7000 }, 900_000);
    if (!a.ok) return { ok: false, error: `client A: ${a.error}` };
    const b = await runTask('cycle-pull', { ...common }, 900_000);
    if (!b.ok) return { ok: false, error: `client B: ${b.error}` };
    return { ok: b.eventsStored === n && a.unsyncedAfter === 0, n, heapA: a.wasmHeapMB, heapB: b.wasmHeapMB, pullMs: b.pullMs, eventsStored: b.eventsStored, submitMs: a.submitMs, pushMs: a.pushMs };
  } catch (e) {
    return { ok: false, error: e.message };
  } finally {
    await server?.close();
  }
}

async function benchTargets(native) {
  const missing = packageMissing();
  const points = QUICK ? [2000] : [10000, 100000];  // --quick: a small store, so it fits in the budget
  const r = { heap: null, heapBefore: null, mem512: null, mem512Cycle: null, server: null, serverBefore: null };
  if (!missing) {
    log('targets: heap per stored event (wasm, directory store)');
    r.heap = await runTask('heap', { storage: 'directory', points }, QUICK ? 20_000 : 600_000);
    if (BEFORE) r.heapBefore = await runTask('heap', { storage: 'directory', points: [10000] }, QUICK ? 20_000 : 300_000, BEFORE);
    const has512 = fs.existsSync(path.join(ROOT, 'build/wasm/mem512/datacollect.wasm'));
    if (!has512) r.mem512 = { ok: false, error: 'build/wasm/mem512 not built (scripts/build.sh wasm)' };
    else if (QUICK) r.mem512 = { ok: false, error: 'skipped in --quick (100,000 events: minutes)' };
    else {
      log('targets: 100,000 events in the 512 MB module');
      r.mem512 = await runTask('heap', { storage: 'directory', points: [100000], mem512: true }, 900_000);
      r.mem512Cycle = await heap512Cycle(100000);
    }
    log('targets: server push CPU');
    r.server = serverPush(null);
    if (BEFORE) r.serverBefore = serverPush(BEFORE);
    if (BEFORE && !QUICK) {
      // The before checkout's own cycle benchmark at N = 10,000 (its server, its package).
      log('targets: cycle N=10,000 of the before checkout');
      const out = path.join(RUN_TMP, 'before-cycle');
      spawnSync(process.execPath, [path.join(BEFORE, 'bench/run.mjs'), '--only', 'cycle', '--sizes', '10000', '--no-build', `--out=${out}`], { cwd: BEFORE, encoding: 'utf8', timeout: 400_000 });
      try {
        r.cycleBefore = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')).cycle?.[0] ?? null;
      } catch {
        r.cycleBefore = null;
      }
      const a = results.cycle?.find((c) => c.n === 10000 && !c.error);
      const cell = (c) => (c && !c.error ? `${ms(c.totalMs)} ms (submit ${ms(c.submitMs)}, push ${ms(c.pushMs)}, pull ${ms(c.pullMs)}; client CPU ${fmt((c.cpuA + c.cpuB) / 1000, 1)} s)` : na(c?.error ?? 'not run'));
      (results.beforeAfter ??= []).push(['full cycle N = 10,000', cell(r.cycleBefore), cell(a)]);
    }
  }
  results.targets = r;
  const perEvent = (t, n) => t?.ok && !t.error ? t.points?.find((p) => p.events === n)?.bytesPerEvent ?? null : null;
  const submitRow = results.submit?.find((x) => x.target === 20000);
  const cyc = (n) => results.cycle?.find((c) => c.n === n && !c.error);
  const rows = [];
  const row = (target, value, ok, note = '') => rows.push([target, value, ok == null ? 'n/a' : verdict(ok), note]);
  row('durable submitForm (wasm, directory, group commit) ≥ 20,000 events/s', submitRow && !submitRow.error ? `${fmt(submitRow.eventsPerSec)}/s (${fmt(submitRow.eventsPerCpuSec)} per CPU-s)` : na(submitRow?.error ?? 'not run'), submitRow && !submitRow.error ? submitRow.eventsPerSec >= 20000 : null);
  for (const n of [10000, 100000]) {
    const c = cyc(n);
    row(`full cycle N = ${fmt(n)} ≤ ${fmt(CYCLE_TARGET_MS[n] / 1000, 1)} s`, c ? `${ms(c.totalMs)} ms (client CPU ${fmt((c.cpuA + c.cpuB) / 1000, 1)} s)` : na('not run'), c ? c.totalMs <= CYCLE_TARGET_MS[n] : null);
  }
  row(`server push of 10,000 events ≤ ${SERVER_PUSH_LIMIT_MS} ms server CPU`, r.server?.ok ? `${ms(r.server.cpuMs)} ms (validator ${ms(r.server.validatorMs)})` : na(r.server?.error ?? missing), r.server?.ok ? r.server.cpuMs <= SERVER_PUSH_LIMIT_MS : null);
  for (const n of [...new Set([...points, 10000, 100000])].sort((x, y) => x - y)) {
    const b = perEvent(r.heap, n);
    row(`wasm heap per stored event ≤ 3 KB at ${fmt(n)} (directory store)`, b == null ? na(r.heap?.error ?? (QUICK && n > 10000 ? 'skipped in --quick' : 'not run')) : `${kb(b)} KB`, b == null ? null : b <= HEAP_LIMIT);
  }
  if (native?.ok && Array.isArray(native.memory))
    for (const st of native.memory)
      for (const p of st.points) row(`native heap per stored event at ${fmt(p.events)} (${st.storage} store)`, `${kb(p.bytesPerEvent)} KB`, null, 'reported (64-bit pointers; the target is for wasm)');
  const m = r.mem512;
  row('512 MB module stores 100,000 events (Node)', m?.ok && !m.error ? `stored ${fmt(m.stored ?? 0)}; heap ${fmt(m.points?.[0]?.wasmHeapMB)} MB` : na(m?.error ?? missing), m?.ok ? !m.error && m.stored === 100000 : null);
  const mc = r.mem512Cycle;
  row('512 MB module: full pull of 100,000 into a fresh store (Node)', mc ? (mc.error ? na(mc.error) : `${fmt(mc.eventsStored)} pulled in ${ms(mc.pullMs)} ms; heaps ${fmt(mc.heapA)} / ${fmt(mc.heapB)} MB`) : na(m?.error ?? 'not run'), mc ? mc.ok : null);
  row('512 MB module in headless Chromium', na('not measured by this suite yet'), null);
  // The store's targets (native_bench sections of the store work; bench/README.md).
  const lateRows = native?.ok && Array.isArray(native.late) ? native.late : null;
  if (lateRows) for (const l of lateRows) row(`late submits / in order ≤ 2× (N = ${fmt(l.n)}, ${l.storage})`, l.error ? na(l.error) : `${fmt(l.ratio, 2)}× (${ms(l.late?.ms)} / ${ms(l.inOrder?.ms)} ms)`, l.error ? null : l.ratio <= 2);
  else row('late submits / in order ≤ 2× (N = 2,000 and 10,000)', na('native_bench has no late section'), null);
  const lp = native?.ok && native.latePage ? [].concat(native.latePage) : null;
  if (lp) for (const l of lp) row(`pulled page of late events / in order ≤ 2× (N = ${fmt(l.n)}, page ${fmt(l.page)})`, l.error ? na(l.error) : `${fmt(l.ratio, 2)}× (${ms(l.late?.ms)} / ${ms(l.inOrder?.ms)} ms)`, l.error ? null : l.ratio <= 2);
  else row('pulled page of late events / in order ≤ 2×', na('native_bench has no latepage section'), null);
  const op = native?.ok && native.openStore ? [].concat(native.openStore) : null;
  if (op) for (const o of op) row(`native open of ${fmt(o.n)} events ≤ 1 s`, `${ms(o.openMs)} ms; journal ${fmt(o.journalBytesPerEvent)} B/event; snapshot ${kb(o.snapshotBytes ?? 0)} KB`, o.openMs <= 1000);
  else row('native open of 100,000 events ≤ 1 s (see section 5)', na('native_bench has no openStore section'), null);

  const lines = ['### 9. Targets: phone-sized heap, start-up and throughput', '', table(['target', 'measured', 'result', 'note'], rows)];
  if (BEFORE) {
    const hb = perEvent(r.heapBefore, 10000);
    const ha = perEvent(r.heap, 10000);
    const ba = [
      ['wasm heap per stored event at 10,000 (directory store)', hb == null ? na(r.heapBefore?.error ?? 'not run') : `${kb(hb)} KB${r.heapBefore.points[0].coarse ? ' (heap growth: that build has no heapInUse)' : ''}`, ha == null ? '—' : `${kb(ha)} KB`],
      ['server push of 10,000: server CPU ms (validator)', r.serverBefore?.ok ? `${ms(r.serverBefore.cpuMs)} (${ms(r.serverBefore.validatorMs)})` : na(r.serverBefore?.error ?? 'not run'), r.server?.ok ? `${ms(r.server.cpuMs)} (${ms(r.server.validatorMs)})` : '—'],
    ];
    for (const x of results.beforeAfter ?? []) ba.push(x);
    lines.push('', `Before = ${BEFORE} (built), after = this tree; measured in this run, one after the other.`, '', table(['measurement', 'before', 'after'], ba));
  }
  return lines.join('\n');
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  const sections = [];
  let native = { ok: false, error: 'not run (--only)' };
  const distStamp = () =>
    ['datacollect.js', 'datacollect.wasm'].map((f) => {
      try {
        return fs.statSync(path.join(ROOT, 'dist', f)).mtimeMs;
      } catch {
        return 0;
      }
    }).join(',');
  const distAtStart = distStamp();
  const nativeFrom = opt('--native-from');
  if (nativeFrom) {
    // Reuse the native numbers of an earlier run (results.json) and measure only the wasm side.
    native = JSON.parse(fs.readFileSync(nativeFrom, 'utf8')).native ?? { ok: false, error: `no native results in ${nativeFrom}` };
    results.native = native;
    notes.push(`Native numbers reused from ${path.basename(nativeFrom)} (${native.ok ? 'measured earlier on the same machine' : native.error}).`);
  } else if (want('submit') || want('flush') || want('open') || want('rebase') || want('native') || want('targets')) {
    native = runNative();
    results.native = native;
    if (!native.ok) log('native:', native.error);
  }
  if (want('submit')) sections.push(await benchSubmit(native));
  if (want('cycle') || want('chromium')) sections.push(await benchCycle());
  if (want('flush') || want('open')) sections.push(await benchStores(native));
  if (want('bundle')) sections.push(benchBundle());
  if (want('rebase')) sections.push(benchRebase(native));
  if (want('targets')) sections.push(await benchTargets(native));

  if (distStamp() !== distAtStart) notes.push('dist/ was rebuilt while this run was going: wasm rows may mix two builds (or fail to load); run again.');
  const elapsed = (performance.now() - t00) / 1000;
  results.meta.elapsedS = +elapsed.toFixed(1);
  results.meta.loadAvgAtEnd = os.loadavg().map((x) => +x.toFixed(2));
  const m = results.meta;
  const header = [
    `## Benchmarks${QUICK ? ' (quick)' : ''} — ${m.date}`,
    '',
    `Node ${m.node}, ${m.cpus} × ${m.cpuModel}; load average at start ${m.loadAvgAtStart.join(' / ')} (the machine is shared: other builds running inflate the times). Sizes: ${SIZES.map((n) => fmt(n)).join(', ')} (native stores: ${NATIVE_SIZES.map((n) => fmt(n)).join(', ')}). Run time ${fmt(elapsed, 1)} s.`,
    ...(notes.length ? ['', ...notes.map((n) => `- ${n}`)] : []),
  ].join('\n');
  const md = [header, ...sections, '![time vs N](scaling.svg)'].join('\n\n') + '\n';
  process.stdout.write(md);
  fs.writeFileSync(path.join(OUT, 'results.md'), md);
  fs.writeFileSync(path.join(OUT, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  fs.writeFileSync(path.join(OUT, 'scaling.svg'), plot() + '\n');
  log(`wrote ${path.relative(ROOT, OUT)}/results.md, results.json, scaling.svg in ${fmt(elapsed, 1)} s`);
}

const cleanup = () => fs.rmSync(RUN_TMP, { recursive: true, force: true });
if (flag('--replot')) {
  // Redraws scaling.svg from an existing results.json (no measurement).
  Object.assign(results, JSON.parse(fs.readFileSync(path.join(OUT, 'results.json'), 'utf8')));
  fs.writeFileSync(path.join(OUT, 'scaling.svg'), plot() + '\n');
  cleanup();
  log(`redrew ${path.relative(ROOT, OUT)}/scaling.svg`);
  process.exit(0);
}
main().then(
  () => {
    cleanup();
    process.exit(0);
  },
  (e) => {
    log('failed:', e.stack ?? e);
    cleanup();
    process.exit(1);
  },
);
