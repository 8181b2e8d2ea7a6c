// Shared helpers of the browser suite: the reference sync server in-process on an ephemeral port
// with a temp data dir, Debian's Chromium through playwright-core, and the app's UI steps.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { createServer } from '../../web/server/app.js';

export const CHROMIUM = '/usr/bin/chromium';
export const HAVE_CHROMIUM = fs.existsSync(CHROMIUM);
export const SKIP = HAVE_CHROMIUM ? false : `Chromium not found at ${CHROMIUM} (install it with scripts/setup.sh); browser tests skipped`;
export const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
export const DEMO = { email: 'demo@example.org', password: 'demo-password' };
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const tmpDirs = [];
export function tmpDir(prefix) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}
export function cleanupTmp() {
  for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

// The real reference server serving web/app, js/ and dist/.
export async function startServer() {
  const dataDir = tmpDir('dc-browser-server-');
  const server = createServer({ dataDir, host: '127.0.0.1', port: 0, logger: false, bcryptRounds: 4 });
  const url = await server.listen();
  return { url, server, close: () => server.close() };
}

export async function launchBrowser() {
  // playwright-core gives each launch a fresh temporary profile, and each newContext() is a fresh,
  // isolated one (own IndexedDB, service workers, storage).
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

// A persistent profile (for reload / two-tab tests): IndexedDB, service worker, localStorage live on disk.
export async function launchPersistent(viewport = DESKTOP) {
  return chromium.launchPersistentContext(tmpDir('dc-profile-'), { executablePath: CHROMIUM, args: ARGS, viewport });
}

export function watchPage(page, label = 'page') {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`${label}: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`${label} console: ${m.text()}`); });
  return errors;
}

const tid = (id) => `[data-testid="${id}"]`;
export { tid };

// Waits until the app has opened its store: 'login' (signed out) or 'true' (signed in).
export async function waitReady(page, timeout = 30_000) {
  await page.waitForFunction(() => ['login', 'true'].includes(document.body.dataset.ready), null, { timeout });
  return page.evaluate(() => document.body.dataset.ready);
}

export async function login(page, url, { email = DEMO.email, password = DEMO.password } = {}) {
  await page.goto(url);
  const state = await waitReady(page);
  if (state === 'true') return;
  await page.fill(tid('login-email'), email);
  await page.fill(tid('login-password'), password);
  await page.click(tid('login-submit'));
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 20_000 });
  await waitSyncIdle(page); // signing in starts a first sync
}

export async function waitSyncIdle(page, timeout = 30_000) {
  await page.waitForFunction(() => document.body.dataset.syncing !== 'true', null, { timeout });
}

export async function waitServiceWorker(page) {
  await page.waitForFunction(() => document.body.dataset.sw === 'ready' && !!navigator.serviceWorker.controller, null, { timeout: 20_000 });
}

export async function badge(page) {
  return Number(await page.getAttribute(tid('unsynced-badge'), 'data-count'));
}

// Clicks "Sync now" (or joins a running sync) and returns the outcome shown in the UI.
export async function syncNow(page) {
  await waitSyncIdle(page);
  await page.waitForFunction(() => !document.querySelector('[data-testid="sync-button"]').disabled, null, { timeout: 10_000 });
  await page.click(tid('sync-button'));
  await page.waitForFunction(() => document.body.dataset.syncing === 'true' || ['done', 'error'].includes(document.querySelector('[data-testid="sync-progress"]').dataset.state), null, { timeout: 10_000 });
  await waitSyncIdle(page, 60_000);
  return page.evaluate(() => ({
    state: document.querySelector('[data-testid="sync-progress"]').dataset.state,
    value: document.querySelector('[data-testid="sync-progress"]').value,
    max: document.querySelector('[data-testid="sync-progress"]').max,
    phases: (document.querySelector('[data-testid="sync-progress"]').dataset.phases || '').split(' ').filter(Boolean),
    status: document.querySelector('[data-testid="sync-status"]').textContent,
    error: document.querySelector('[data-testid="sync-error"]').hidden ? null : document.querySelector('[data-testid="sync-error"]').textContent,
    errorCode: document.querySelector('[data-testid="sync-error"]').hidden ? null : document.querySelector('[data-testid="sync-error"]').dataset.code,
  }));
}

export async function expectSynced(page) {
  const r = await syncNow(page);
  assert.equal(r.error, null, `sync failed: ${r.error}`);
  assert.equal(r.state, 'done');
  assert.equal(Number(r.value), Number(r.max), 'progress bar completes');
  await page.waitForFunction(() => document.querySelector('[data-testid="unsynced-badge"]').dataset.count === '0');
  return r;
}

async function fillPerson(page, scope, prefix, p, idx = '') {
  if (p.name !== undefined) await scope.locator(tid(`${prefix}name${idx}`)).fill(p.name);
  if (p.dateOfBirth) await scope.locator(tid(`${prefix}dob${idx}`)).fill(p.dateOfBirth);
  if (p.sex) await scope.locator(tid(`${prefix}sex${idx}`)).selectOption(p.sex);
  if (p.relationship) await scope.locator(tid(`${prefix}relationship${idx}`)).selectOption(p.relationship);
  if (p.phone !== undefined) await scope.locator(tid(`${prefix}phone${idx}`)).fill(p.phone);
}

// Registers a household through the form; returns its guid (from the detail page).
export async function createHousehold(page, { name, village, members }) {
  await page.click(tid('nav-new-household'));
  await page.waitForSelector(tid('household-form'));
  await page.fill(tid('household-name'), name);
  if (village) await page.fill(tid('household-village'), village);
  for (let i = 0; i < members.length; i++) {
    if (i > 0) await page.click(tid('add-member-row'));
    await fillPerson(page, page, 'member-', members[i], `-${i + 1}`);
  }
  await page.click(tid('household-save'));
  const detail = page.locator(`${tid('entity-detail')}[data-type="group"]`);
  await detail.waitFor({ timeout: 15_000 });
  await page.waitForFunction((n) => document.querySelector('[data-testid="entity-name"]')?.textContent === n, name);
  return detail.getAttribute('data-guid');
}

export async function createIndividual(page, person) {
  await page.click(tid('nav-new-individual'));
  await page.waitForSelector(tid('individual-form'));
  await fillPerson(page, page, 'person-', person);
  await page.click(tid('person-save'));
  const detail = page.locator(`${tid('entity-detail')}[data-type="individual"]`);
  await page.waitForFunction((n) => document.querySelector('[data-testid="entity-detail"]') && document.querySelector('[data-testid="entity-name"]')?.textContent === n, person.name, { timeout: 15_000 });
  return detail.getAttribute('data-guid');
}

export async function editIndividual(page, guid, changes) {
  await openEntity(page, guid);
  await page.click(tid('edit-entity'));
  await page.waitForSelector(tid('individual-form'));
  await fillPerson(page, page, 'person-', changes);
  await page.click(tid('person-save'));
  await page.waitForSelector(`${tid('entity-detail')}[data-guid="${guid}"]`);
}

export async function openEntity(page, guid) {
  await page.evaluate((g) => { location.hash = `#/entity/${encodeURIComponent(g)}`; }, guid);
  await page.waitForSelector(`${tid('entity-detail')}[data-guid="${guid}"]`, { timeout: 15_000 });
}

export async function gotoList(page) {
  await page.click(tid('nav-list'));
  await page.waitForSelector(tid('list-screen'));
}

// What the detail page shows for a household: its name and its members' names (sorted).
export async function householdShown(page, guid) {
  await openEntity(page, guid);
  return page.evaluate(() => ({
    name: document.querySelector('[data-testid="entity-name"]').textContent,
    members: [...document.querySelectorAll('[data-testid="member"]')].map((r) => r.dataset.name).sort(),
  }));
}

// The entity as the package holds it (read through the package's API in the page).
export async function entityState(page, guid) {
  return page.evaluate(async (g) => {
    const { db } = window.__dcApp.state;
    const r = await (db.entityDataManager?.getEntity ? db.entityDataManager.getEntity(g) : db.entityStore.getEntity(g));
    const e = r && r.modified ? r.modified : r;
    if (!e) return null;
    return { guid: e.guid, type: e.type, name: e.name, version: e.version, data: e.data, memberIds: e.memberIds, lastUpdated: e.lastUpdated };
  }, guid);
}

// Every event the server holds for configId "default", through its public API.
export async function serverEvents(url) {
  const login = await fetch(`${url}/api/users/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(DEMO) });
  assert.equal(login.status, 200);
  const { token } = await login.json();
  const events = [];
  let since = '';
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${url}/api/sync/pull?since=${encodeURIComponent(since)}&configId=default&limit=1000`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
    const body = await r.json();
    events.push(...body.events);
    if (!body.nextCursor) break;
    since = body.cursor ?? body.nextCursor;
  }
  return events;
}

export async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
