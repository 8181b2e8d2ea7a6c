// Demo app: two identical people are shown side by side as potential duplicates, sync is blocked
// with the reason, and resolving (keep both, or delete the new one) unblocks sync.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  SKIP, tid, startServer, launchBrowser, login, watchPage, createIndividual, gotoList, badge,
  expectSynced, serverEvents, cleanupTmp, DESKTOP,
} from './helpers.mjs';

let srv;
let browser;
before(async () => { if (!SKIP) { srv = await startServer(); browser = await launchBrowser(); } });
after(async () => { await browser?.close(); await srv?.close(); cleanupTmp(); });

const JOHN = { name: 'John Doe', dateOfBirth: '1985-02-20', sex: 'male' };
const MARY = { name: 'Mary Major', dateOfBirth: '1992-11-11', sex: 'female' };

async function openDuplicates(page) {
  await page.click(tid('nav-duplicates'));
  await page.waitForSelector(tid('duplicates-screen'));
}

test('duplicates block sync until resolved: keep both, then delete the new one', { skip: SKIP, timeout: 180_000 }, async () => {
  const ctx = await browser.newContext({ viewport: DESKTOP });
  const page = await ctx.newPage();
  const errors = watchPage(page);
  await login(page, srv.url);

  // Two identical John Does.
  const first = await createIndividual(page, JOHN);
  const second = await createIndividual(page, JOHN);
  assert.notEqual(first, second);
  await page.waitForSelector(`${tid('dup-count')}:not([hidden])`);
  assert.equal(await page.textContent(tid('dup-count')), '1');

  // Panel: the two records side by side.
  await openDuplicates(page);
  const pair = page.locator(tid('duplicate-pair'));
  assert.equal(await pair.count(), 1);
  const guids = [await pair.getAttribute('data-entity-guid'), await pair.getAttribute('data-duplicate-guid')].sort();
  assert.deepEqual(guids, [first, second].sort());
  assert.equal(await pair.locator(tid('dup-side')).count(), 2);
  for (const side of await pair.locator(tid('dup-side')).all()) assert.match(await side.textContent(), /John Doe/);

  // Sync is blocked, with the reason, and nothing reaches the server.
  await page.waitForSelector(`${tid('sync-blocked')}:not([hidden])`);
  assert.match(await page.textContent(tid('sync-blocked')), /duplicate/i);
  assert.equal(await page.isDisabled(tid('sync-button')), true);
  const pendingBefore = await badge(page);
  assert.ok(pendingBefore >= 2);
  // The engine refuses too (not only the UI): DUPLICATES_EXIST.
  const code = await page.evaluate(() => window.__dcApp.state.db.syncManager.sync().then(() => 'ok', (e) => e.code));
  assert.equal(code, 'DUPLICATES_EXIST');
  assert.equal((await serverEvents(srv.url)).length, 0, 'nothing was sent while duplicates exist');

  // Resolve by keeping both.
  await page.click(tid('dup-keep-both'));
  await page.waitForSelector(tid('no-duplicates'));
  await page.waitForSelector(`${tid('sync-blocked')}[hidden]`, { state: 'attached' });
  await expectSynced(page);
  await gotoList(page);
  assert.equal(await page.locator(`${tid('entity-row')}[data-name="John Doe"]`).count(), 2, 'both John Does kept');

  // A second pair, resolved by deleting the new record.
  const m1 = await createIndividual(page, MARY);
  const m2 = await createIndividual(page, MARY);
  await page.waitForSelector(`${tid('sync-blocked')}:not([hidden])`);
  assert.equal(await page.isDisabled(tid('sync-button')), true, 'sync blocked again');
  await openDuplicates(page);
  const newer = await page.locator(tid('duplicate-pair')).getAttribute('data-entity-guid');
  assert.ok([m1, m2].includes(newer));
  await page.click(tid('dup-delete-new'));
  await page.click(tid('dup-delete-new-confirm'));
  await page.waitForSelector(tid('no-duplicates'));
  await expectSynced(page);
  await gotoList(page);
  assert.equal(await page.locator(`${tid('entity-row')}[data-name="Mary Major"]`).count(), 1, 'the new Mary Major was deleted');
  assert.equal(await page.locator(`${tid('entity-row')}[data-guid="${newer}"]`).count(), 0);

  const types = (await serverEvents(srv.url)).map((e) => e.type);
  assert.equal(types.filter((t) => t === 'resolve-duplicate').length, 2, 'both resolutions were synced as resolve-duplicate events');
  assert.deepEqual(errors, []);
  await ctx.close();
});
