// The people & households list while a first sync downloads 600 households (1,800 records): it
// fills page after pulled page (a live query, not "No records yet" until the end), and it shows one
// page of rows at a time (never 1,800 rows in the DOM), at phone and desktop sizes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  SKIP, tid, startServer, launchBrowser, login, waitReady, watchPage, gotoList, seedHouseholds, throttlePulls, waitSyncIdle,
  screenshot, cleanupTmp, DESKTOP, PHONE,
} from './helpers.mjs';

const HOUSEHOLDS = 600;
const PAGE_SIZE = 50;

let srv;
let browser;
let entities;
before(async () => {
  if (SKIP) return;
  srv = await startServer();
  browser = await launchBrowser();
  entities = await seedHouseholds(srv.url, HOUSEHOLDS);
});
after(async () => { await browser?.close(); await srv?.close(); cleanupTmp(); });

// Samples what the list shows, every animation frame, while the test runs.
function recordList() {
  window.__samples = [];
  const tick = () => {
    const list = document.querySelector('[data-testid="entity-list"]');
    if (list) {
      window.__samples.push({
        syncing: document.body.dataset.syncing === 'true',
        total: Number(list.dataset.total || 0),
        rows: list.querySelectorAll('[data-testid="entity-row"]').length,
        empty: document.querySelector('[data-testid="empty-list"]')?.textContent || '',
      });
    }
    window.__raf = requestAnimationFrame(tick);
  };
  tick();
}

test('the list fills live during a sync of 600 households, one page of rows at a time', { skip: SKIP, timeout: 240_000 }, async () => {
  const ctx = await browser.newContext({ viewport: PHONE });
  const page = await ctx.newPage();
  const errors = watchPage(page);
  // Pages of 100 events, each answered after 300 ms: the download takes several seconds.
  let released = false;
  let releaseHeld = () => { released = true; };
  let pulls = 0;
  await throttlePulls(page, {
    limit: 100,
    delayMs: 300,
    hold: async () => {
      pulls++;
      // Hold the fourth page until the screenshots of the list during the sync are taken.
      if (pulls === 4 && !released) await new Promise((r) => { releaseHeld = r; });
    },
  });
  await page.goto(srv.url);
  assert.equal(await waitReady(page), 'login');
  await page.evaluate(recordList);
  await page.fill(tid('login-email'), 'demo@example.org');
  await page.fill(tid('login-password'), 'demo-password');
  await page.click(tid('login-submit'));

  // While the fourth page is held: the list already shows what the first three brought.
  await page.waitForFunction(() => document.body.dataset.syncing === 'true'
    && Number(document.querySelector('[data-testid="entity-list"]')?.dataset.total || 0) >= 900, null, { timeout: 60_000 });
  const mid = await page.evaluate(() => ({
    total: Number(document.querySelector('[data-testid="entity-list"]').dataset.total),
    rows: document.querySelectorAll('[data-testid="entity-row"]').length,
    count: document.querySelector('[data-testid="result-count"]').textContent,
  }));
  assert.ok(mid.total > 0 && mid.total < entities, `partial list during the sync: ${mid.total} of ${entities}`);
  assert.equal(mid.rows, PAGE_SIZE, 'one page of rows');
  assert.match(mid.count, /receiving more/);
  await screenshot(page, '10-list-during-sync-phone', { fullPage: false });
  await page.setViewportSize(DESKTOP);
  await page.waitForTimeout(150);
  await screenshot(page, '10-list-during-sync-desktop', { fullPage: false });
  releaseHeld();
  await waitSyncIdle(page, 120_000);
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="entity-list"]').dataset.total) === n, entities, { timeout: 30_000 });
  const samples = await page.evaluate(() => { cancelAnimationFrame(window.__raf); return window.__samples; });

  // Live: during the sync the total grew through several values, never back; never "No records
  // yet" while records were arriving; never more than a page of rows in the DOM.
  const during = samples.filter((s) => s.syncing);
  const totals = [...new Set(during.map((s) => s.total))];
  assert.ok(totals.filter((t) => t > 0 && t < entities).length >= 3, `the list grew page by page during the sync: ${totals.join(', ')}`);
  for (let i = 1; i < samples.length; i++) assert.ok(samples[i].total >= samples[i - 1].total, 'the total never goes back');
  assert.ok(!during.some((s) => /No records yet/.test(s.empty)), 'no "No records yet" while records are arriving');
  assert.ok(Math.max(...samples.map((s) => s.rows)) <= PAGE_SIZE, 'never more than one page of rows');

  // Paging through 1,800 records: 36 pages; rows of the next page differ; the last page is partial.
  await gotoList(page);
  const firstPage = await page.locator(tid('entity-row')).evaluateAll((rs) => rs.map((r) => r.dataset.guid));
  assert.equal(firstPage.length, PAGE_SIZE);
  assert.equal(await page.textContent(tid('page-info')), `Page 1 of ${Math.ceil(entities / PAGE_SIZE)}`);
  assert.match(await page.textContent(tid('result-count')), /1,800 records · showing 1–50/);
  // Sorted by name.
  const names = await page.locator(tid('entity-row')).evaluateAll((rs) => rs.map((r) => r.dataset.name));
  assert.deepEqual(names, [...names].sort());
  assert.equal(names[0], 'Seed household 0001');
  await page.click(tid('page-next'));
  await page.waitForSelector(`${tid('page-info')}:text("Page 2 of 36")`);
  const secondPage = await page.locator(tid('entity-row')).evaluateAll((rs) => rs.map((r) => r.dataset.guid));
  assert.equal(secondPage.length, PAGE_SIZE);
  assert.ok(!secondPage.some((g) => firstPage.includes(g)), 'page 2 shows other records');
  await screenshot(page, '11-list-paged-desktop');
  for (let p = 2; p < 36; p++) await page.click(tid('page-next'));
  await page.waitForSelector(`${tid('page-info')}:text("Page 36 of 36")`);
  assert.equal(await page.isDisabled(tid('page-next')), true);
  assert.equal(await page.locator(tid('entity-row')).count(), entities - 35 * PAGE_SIZE);

  // A search narrows the total and starts at page 1.
  await page.fill(tid('search-name'), 'household 01');
  await page.click(tid('search-submit'));
  await page.waitForSelector(`${tid('page-info')}:text("Page 1 of 2")`, { state: 'attached' });
  assert.match(await page.textContent(tid('result-count')), /100 records found/);
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(150);
  await page.locator(tid('pager')).scrollIntoViewIfNeeded();
  await screenshot(page, '11-list-paged-phone', { fullPage: false });
  assert.deepEqual(errors, []);
  await ctx.close();
});
