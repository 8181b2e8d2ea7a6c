// The package as a user gets it: `npm pack`, installed into a scratch project, then a tiny app
// (tests/bundlers/app) built with esbuild, with Vite (build and dev server) and with webpack, served on
// 127.0.0.1 and run in headless Chromium: an IndexedDB store opened, a form submitted, the page
// reloaded and the entity read back, on the page, in a module worker and in a classic worker;
// a missing .wasm is LOAD_FAILED; automatic sync across context.setOffline.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SKIP, launchBrowser, tmpDir, cleanupTmp } from '../browser/helpers.mjs';
import { createServer as createReferenceServer } from '../../web/server/app.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const APP = fileURLToPath(new URL('./app/', import.meta.url));
const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

let scratch;   // the user's project, with the packed package installed
let packed;    // npm pack --json report
let browser;
const servers = [];

before(async () => {
  const packDir = tmpDir('dc-pack-');
  [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', packDir], REPO));
  scratch = tmpDir('dc-scratch-');
  fs.writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  npm(['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(packDir, packed.filename)], scratch);
  fs.cpSync(APP, path.join(scratch, 'src'), { recursive: true });
  if (!SKIP) browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  for (const close of servers.splice(0)) await close();
  cleanupTmp();
});

// The reference server serving `dir` at / (same origin for the sync API).
async function serve(dir) {
  const server = createReferenceServer({ dataDir: tmpDir('dc-bundler-data-'), host: '127.0.0.1', port: 0, logger: false,
    bcryptRounds: 4, staticDirs: { '/': dir } });
  const url = String(await server.listen()).replace(/\/+$/, '');
  servers.push(() => server.close());
  return url;
}

test('npm pack: the tarball holds the entries, types, assets and LICENSE; Node imports and requires it', () => {
  const files = packed.files.map((f) => f.path).sort();
  for (const f of ['LICENSE', 'README.md', 'package.json', 'js/index.js', 'js/browser.js', 'js/index.d.ts',
    'dist/datacollect.js', 'dist/datacollect.mjs', 'dist/datacollect.wasm', 'dist/package.json']) {
    assert.ok(files.includes(f), `${f} is in the tarball`);
  }
  assert.ok(!files.some((f) => f.startsWith('tests/') || f.startsWith('src/') || f.startsWith('web/')), files.join(' '));
  const license = fs.readFileSync(path.join(scratch, 'node_modules/datacollect-sync/LICENSE'), 'utf8');
  assert.match(license, /Apache License\s+Version 2\.0/);
  assert.equal(JSON.parse(fs.readFileSync(path.join(scratch, 'node_modules/datacollect-sync/package.json'), 'utf8')).license, 'Apache-2.0');

  const script = `const store = await m.open({ storage: 'memory', userId: 'u' });
    await store.entityDataManager.submitForm({ type: 'create-individual', entityGuid: 'e1', data: { name: 'Ada' } });
    const page = await store.entityStore.getAllEntities({ limit: 1 });
    console.log(page.total, page.items[0].modified.name);
    await store.close();`;
  const esm = execFileSync(process.execPath, ['--input-type=module', '-e', `import * as m from 'datacollect-sync'; ${script}`],
    { cwd: scratch, encoding: 'utf8' });
  assert.equal(esm.trim(), '1 Ada');
  const cjs = execFileSync(process.execPath, ['-e', `const m = require('datacollect-sync'); (async () => { ${script} })()`],
    { cwd: scratch, encoding: 'utf8' });
  assert.equal(cjs.trim(), '1 Ada', 'require() works (require(esm), Node >= 20.19, as package.json engines says)');
  // The assets are reachable through `exports`.
  const resolved = execFileSync(process.execPath, ['--input-type=module', '-e',
    `console.log(import.meta.resolve('datacollect-sync/dist/datacollect.wasm'), import.meta.resolve('datacollect-sync/package.json'))`],
  { cwd: scratch, encoding: 'utf8' });
  assert.match(resolved, /dist\/datacollect\.wasm .*package\.json/);
});

// Runs the harness in Chromium: LOAD_FAILED for a missing .wasm, then page / module worker /
// classic worker round trips, a reload, and the same again reading back what was stored.
async function roundTrips(url, { classic = true } = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(`${url}/index.html`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 30_000 });
    assert.equal(await page.evaluate(() => window.dc.missingWasm()), 'LOAD_FAILED');
    assert.deepEqual(await page.evaluate(() => window.dc.page()), { before: 0, names: ['Ada page'] });
    assert.deepEqual(await page.evaluate(() => window.dc.moduleWorker()), { ok: true, result: { before: 0, names: ['Ada module-worker'] } });
    if (classic) assert.deepEqual(await page.evaluate(() => window.dc.classicWorker()), { ok: true, result: { before: 0, names: ['Ada classic-worker'] } });
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 30_000 });
    assert.deepEqual(await page.evaluate(() => window.dc.page()), { before: 1, names: ['Ada page'] }, 'read back after a reload');
    assert.deepEqual(await page.evaluate(() => window.dc.moduleWorker()), { ok: true, result: { before: 1, names: ['Ada module-worker'] } });
    if (classic) assert.deepEqual(await page.evaluate(() => window.dc.classicWorker()), { ok: true, result: { before: 1, names: ['Ada classic-worker'] } });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
}

let esbuildUrl;

test('esbuild (--platform=browser, .wasm via the file loader): page, module worker, classic worker', { skip: SKIP }, async () => {
  const esbuild = await import('esbuild');
  const out = path.join(scratch, 'out-esbuild');
  const common = { absWorkingDir: scratch, bundle: true, platform: 'browser', outdir: out, loader: { '.wasm': 'file' }, logLevel: 'silent' };
  await esbuild.build({ ...common, format: 'esm', entryPoints: { 'page-esbuild': 'src/page-esbuild.js', worker: 'src/worker.js' } });
  await esbuild.build({ ...common, format: 'iife', entryPoints: { 'worker-classic': 'src/worker.js' } });
  fs.writeFileSync(path.join(out, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"></head><body><script type="module" src="./page-esbuild.js"></script></body></html>');
  assert.ok(fs.readdirSync(out).some((f) => /^datacollect-.*\.wasm$/.test(f)), 'esbuild emitted the .wasm');
  esbuildUrl = await serve(out);
  await roundTrips(esbuildUrl);
  // An IIFE worker bundle without wasmUrl cannot locate the .wasm: LOAD_FAILED saying what to pass.
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${esbuildUrl}/index.html`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 30_000 });
    const answer = await page.evaluate(() => window.dc.classicWorkerWithoutUrl());
    assert.equal(answer.ok, false);
    assert.equal(answer.code, 'LOAD_FAILED');
    assert.match(answer.message, /wasmUrl/);
  } finally {
    await context.close();
  }
});

test('Vite build (no configuration): page, module worker, classic worker', { skip: SKIP }, async () => {
  const { build } = await import('vite');
  const root = path.join(scratch, 'src');
  const out = path.join(scratch, 'out-vite');
  await build({ root, configFile: false, logLevel: 'silent', build: { outDir: out, emptyOutDir: true } });
  const assets = fs.readdirSync(path.join(out, 'assets'));
  assert.ok(assets.some((f) => f.endsWith('.wasm')), `Vite emitted the .wasm: ${assets}`);
  await roundTrips(await serve(out));
});

test('webpack 5 (production, no configuration beyond the entry): page, module worker, classic worker', { skip: SKIP }, async () => {
  const { default: webpack } = await import('webpack');
  const out = path.join(scratch, 'out-webpack');
  const stats = await new Promise((resolve, reject) => {
    const compiler = webpack({ mode: 'production', context: scratch, entry: './src/page-vite.js', devtool: false,
      output: { path: out, clean: true } });
    compiler.run((error, result) => compiler.close(() => (error ? reject(error) : resolve(result))));
  });
  assert.ok(!stats.hasErrors(), stats.toString({ all: false, errors: true }));
  assert.ok(fs.readdirSync(out).some((f) => f.endsWith('.wasm')), `webpack emitted the .wasm: ${fs.readdirSync(out)}`);
  fs.writeFileSync(path.join(out, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"></head><body><script src="./main.js"></script></body></html>');
  await roundTrips(await serve(out));
});

test('Vite dev server (no configuration): page and module worker', { skip: SKIP }, async () => {
  const { createServer } = await import('vite');
  const server = await createServer({ root: path.join(scratch, 'src'), configFile: false, logLevel: 'silent',
    server: { host: '127.0.0.1', port: 0, strictPort: false } });
  await server.listen();
  servers.push(() => server.close());
  const url = server.resolvedUrls.local[0].replace(/\/+$/, '');
  // A classic worker cannot import ES modules, and the dev server serves ES modules.
  await roundTrips(url, { classic: false });
});

test('Chromium: automatic sync pushes a write, goes "offline" with context.setOffline, resumes when online', { skip: SKIP }, async () => {
  assert.ok(esbuildUrl, 'the esbuild test served the app');
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`${esbuildUrl}/index.html`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 30_000 });
    await page.evaluate(() => window.dc.autoSync());
    const status = () => page.evaluate(() => window.dc.auto.status());
    const waitFor = (fn, arg) => page.waitForFunction(fn, arg, { timeout: 20_000 });
    await page.evaluate(() => window.dc.auto.submit('online write'));
    await waitFor(() => { const s = window.dc.auto.status(); return s.state === 'idle' && s.unsynced === 0 && s.lastSyncedAt; });

    await context.setOffline(true);
    await page.evaluate(() => window.dc.auto.submit('offline write'));
    await waitFor(() => window.dc.auto.status().state === 'offline');
    assert.equal((await status()).unsynced, 1, 'kept locally while offline');

    await context.setOffline(false);
    await waitFor(() => { const s = window.dc.auto.status(); return s.state === 'idle' && s.unsynced === 0; });
    const states = await page.evaluate(() => window.dc.auto.states);
    assert.ok(states.includes('offline') && states.includes('pushing') && states.at(-1) === 'idle', states.join());
    assert.deepEqual(await page.evaluate(() => window.dc.auto.serverNames()), ['offline write', 'online write'], 'the server has both writes');
    await page.evaluate(() => window.dc.auto.close());
  } finally {
    await context.close();
  }
});
