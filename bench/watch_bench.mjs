// Live queries and paged reads on a large store (the npm package under Node, memory storage).
// Usage: node bench/watch_bench.mjs [--quick] [--size N]   (default 100,000 entities; quick 10,000)
// Prints markdown tables and writes bench/results/watch.md. Reports; never fails on timings.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createForm } from './lib/data.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const sizeArg = argv.indexOf('--size');
const N = sizeArg >= 0 ? Number(argv[sizeArg + 1]) : quick ? 10_000 : 100_000;
const REPEAT = quick ? 5 : 10;
const now = () => performance.now();
const tick = () => new Promise((resolve) => setImmediate(resolve));
const ms = (v) => (v < 10 ? v.toFixed(2) : v.toFixed(1));

const { open } = await import(pathToFileURL(path.join(ROOT, 'js/index.js')).href);
const store = await open({ name: 'watch-bench', storage: 'memory', userId: 'bench-user' });
const { entityStore, eventApplierService } = store;

let t0 = now();
for (let i = 0; i < N; i++) await eventApplierService.submitForm(createForm(0x100, i));
const fillS = (now() - t0) / 1000;
console.error(`filled ${N} entities in ${fillS.toFixed(1)} s`);

// Median of `REPEAT` runs of an async function, in ms.
async function median(fn) {
  const times = [];
  for (let i = 0; i < REPEAT; i++) {
    const start = now();
    await fn(i);
    times.push(now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const city = [{ 'address.city': 'Nairobi' }];  // 1 in 8 entities
const reads = [
  ['getAllEntities() — every pair, unpaged (the original API)', () => entityStore.getAllEntities()],
  ['getAllEntities({limit: 50}) — by guid', () => entityStore.getAllEntities({ limit: 50 })],
  ['getAllEntities({limit: 50, sort: "name"})', () => entityStore.getAllEntities({ limit: 50, sort: 'name' })],
  [`getAllEntities({limit: 50, offset: ${N / 2}, sort: "name"})`, () => entityStore.getAllEntities({ limit: 50, offset: N / 2, sort: 'name' })],
  ['getAllEntities({limit: 50, sort: {field: "data.householdSize", order: "desc"}})',
    () => entityStore.getAllEntities({ limit: 50, sort: { field: 'data.householdSize', order: 'desc' } })],
  ['searchEntities(city) — unpaged', () => entityStore.searchEntities(city)],
  ['searchEntities(city, {limit: 50, sort: "name"})', () => entityStore.searchEntities(city, { limit: 50, sort: 'name' })],
];
const readRows = [];
for (const [what, fn] of reads) readRows.push([what, ms(await median(fn))]);

// Watches: opening one (scans every entity once), then the cost a submit pays for it.
let opened = 0;
t0 = now();
const stopCity = store.watch(city, () => { opened += 1; }, { limit: 50, sort: 'name' });
const openMs = now() - t0;
while (opened === 0) await tick();

let calls = 0;
let next = N;  // fresh entity numbers for the measured submits
const stopAll = [];
async function submitCost(label, affects) {
  const cost = await median(async () => {
    const before = calls;
    const data = createForm(0x300, (next += 1));
    data.data.address.city = affects ? 'Nairobi' : 'Garissa';
    await eventApplierService.submitForm(data);
    await tick();  // change sets are delivered and watches re-run on a microtask
    if (affects && calls === before) throw new Error(`the watch was not called (${label})`);
  });
  return ms(cost);
}
stopCity();
const baseline = await submitCost('no watch', false);
stopAll.push(store.watch(city, () => { calls += 1; }, { limit: 50, sort: 'name' }));
await tick();
const unaffected = await submitCost('watch, change elsewhere', false);
const affected = await submitCost('watch, change affects it', true);
for (let k = 0; k < 9; k++) stopAll.push(store.watch([{ 'data.occupation': 'nurse' }, { 'data.householdSize': { $gte: k } }], () => {}, { limit: 50, sort: 'name' }));
await tick();
const tenWatches = await submitCost('10 watches, one affected', true);
for (const stop of stopAll) stop();
await store.close();

const out = [];
out.push(`### Paged reads and live queries at ${N.toLocaleString('en')} entities`);
out.push('', `Filled in ${fillS.toFixed(1)} s (memory store, one submit at a time). Medians of ${REPEAT} runs, this machine.`, '');
out.push('| read | ms |', '|---|---|', ...readRows.map(([a, b]) => `| ${a} | ${b} |`));
out.push('', '| watch | ms |', '|---|---|',
  `| open a watch (matching set built by one scan) | ${ms(openMs)} |`,
  `| submit + change delivery, no watch | ${baseline} |`,
  `| submit, a watch it cannot affect (not re-run) | ${unaffected} |`,
  `| submit + re-evaluation of the watch it affects (limit 50, sort by name) | ${affected} |`,
  `| submit with 10 watches, the city watch re-run | ${tenWatches} |`);
const text = out.join('\n');
console.log(text);
fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'bench/results/watch.md'), `${text}\n`);
