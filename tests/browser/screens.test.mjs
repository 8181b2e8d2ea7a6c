// Demo app: screenshots of the main screens at phone (390x844) and desktop (1280x800) sizes, saved
// to tests/browser/artifacts/ (gitignored), plus layout checks: nothing wider than the viewport,
// every form control labelled.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  SKIP, tid, startServer, launchBrowser, login, waitReady, watchPage, createHousehold, createIndividual, openEntity,
  gotoList, expectSynced, screenshot, cleanupTmp, PHONE, DESKTOP,
} from './helpers.mjs';

let srv;
let browser;
before(async () => { if (!SKIP) { srv = await startServer(); browser = await launchBrowser(); } });
after(async () => { await browser?.close(); await srv?.close(); cleanupTmp(); });

const SIZES = { phone: PHONE, desktop: DESKTOP };

async function layoutProblems(page) {
  return page.evaluate(() => {
    const problems = [];
    const vw = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth > vw + 1) problems.push(`page scrolls sideways: ${document.documentElement.scrollWidth} > ${vw}`);
    for (const el of document.querySelectorAll('input, select, textarea, progress')) {
      if (el.offsetParent === null) continue;
      const labelled = el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
      if (!labelled) problems.push(`unlabelled ${el.tagName.toLowerCase()} ${el.name || el.id}`);
    }
    for (const b of document.querySelectorAll('button, a[href]')) {
      if (b.offsetParent === null) continue;
      if (!b.textContent.trim() && !b.getAttribute('aria-label')) problems.push(`${b.tagName} without a name`);
    }
    return problems;
  });
}

async function shoot(page, name, files) {
  await page.evaluate(() => { document.querySelector('[data-testid="toast"]').hidden = true; });
  await page.mouse.move(0, 0);
  for (const [size, viewport] of Object.entries(SIZES)) {
    await page.setViewportSize(viewport);
    await page.waitForTimeout(150);
    assert.deepEqual(await layoutProblems(page), [], `${name} at ${size}`);
    files.push(await screenshot(page, `${name}-${size}`));
  }
}

test('main screens at phone and desktop sizes', { skip: SKIP, timeout: 240_000 }, async () => {
  const ctx = await browser.newContext({ viewport: DESKTOP });
  const page = await ctx.newPage();
  const errors = watchPage(page);
  const files = [];

  await page.goto(srv.url);
  assert.equal(await waitReady(page), 'login');
  await shoot(page, '01-login', files);

  await login(page, srv.url);
  const hh = await createHousehold(page, {
    name: 'Mensah household',
    village: 'Hilltop, house 4',
    members: [
      { name: 'Kwame Mensah', dateOfBirth: '1978-05-02', sex: 'male', relationship: 'head' },
      { name: 'Akosua Mensah', dateOfBirth: '1981-08-19', sex: 'female', relationship: 'spouse' },
      { name: 'Yaw Mensah', dateOfBirth: '2010-12-01', sex: 'male', relationship: 'child' },
    ],
  });
  await createIndividual(page, { name: 'Esi Boateng', dateOfBirth: '1995-01-23', sex: 'female', phone: '+233 20 000 0000' });
  await expectSynced(page);
  await gotoList(page);
  await shoot(page, '02-list-synced', files);

  await openEntity(page, hh);
  await shoot(page, '03-household-detail', files);

  await page.click(tid('nav-new-household'));
  await page.waitForSelector(tid('household-form'));
  await page.fill(tid('household-name'), 'Addo household');
  await page.fill(tid('member-name-1'), 'Kofi Addo');
  await page.fill(tid('member-dob-1'), '1970-03-03');
  await page.selectOption(tid('member-sex-1'), 'male');
  await page.click(tid('add-member-row'));
  await page.fill(tid('member-name-2'), 'Ama Addo');
  await page.selectOption(tid('member-relationship-2'), 'spouse');
  await shoot(page, '04-household-form', files);

  // Offline, with unsynced changes.
  await ctx.setOffline(true);
  await page.waitForSelector(`${tid('net-status')}[data-online="false"]`);
  await createIndividual(page, { name: 'Kojo Asante', dateOfBirth: '2001-07-07', sex: 'male' });
  await gotoList(page);
  await page.fill(tid('search-name'), 'an');
  await page.click(tid('search-submit'));
  await page.waitForFunction(() => /found/.test(document.querySelector('[data-testid="result-count"]').textContent));
  await shoot(page, '05-offline-search', files);

  // Potential duplicates: side by side, sync blocked.
  await createIndividual(page, { name: 'Esi Boateng', dateOfBirth: '1995-01-23', sex: 'female', phone: '+233 20 000 0000' });
  await page.click(tid('nav-duplicates'));
  await page.waitForSelector(tid('duplicate-pair'));
  await page.waitForSelector(`${tid('sync-blocked')}:not([hidden])`);
  await shoot(page, '06-duplicates', files);

  await ctx.setOffline(false);
  assert.deepEqual(errors, []);
  assert.equal(files.length, 12);
  await ctx.close();
});
