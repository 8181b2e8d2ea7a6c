// Starting up when the engine cannot load (its .wasm answers 404): the package's LOAD_FAILED is
// said in plain words with a "Try again" button, and trying again once the file is back opens the
// store. Service workers are blocked so that the first load really goes to the (faulty) network.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SKIP, tid, startServer, launchBrowser, waitReady, watchPage, screenshot, cleanupTmp, PHONE } from './helpers.mjs';

let srv;
let browser;
before(async () => { if (!SKIP) { srv = await startServer(); browser = await launchBrowser(); } });
after(async () => { await browser?.close(); await srv?.close(); cleanupTmp(); });

test('the engine fails to load: LOAD_FAILED explained, "Try again" recovers', { skip: SKIP, timeout: 60_000 }, async () => {
  const ctx = await browser.newContext({ viewport: PHONE, serviceWorkers: 'block' });
  const page = await ctx.newPage();
  const errors = watchPage(page);
  await page.route('**/dist/datacollect.wasm', (route) => route.fulfill({ status: 404, contentType: 'text/plain', body: 'Not found' }));
  await page.goto(srv.url);
  await page.waitForFunction(() => document.querySelector('[data-testid="boot"]').dataset.state === 'error', null, { timeout: 30_000 });
  assert.equal(await page.textContent('#boot-title'), 'Could not start');
  const message = await page.textContent(tid('boot-message'));
  assert.match(message, /^The sync engine could not be loaded\. Check the connection and try again\. Details: /);
  assert.equal(await page.isVisible(tid('boot-retry')), true);
  assert.notEqual(await page.evaluate(() => document.body.dataset.ready), 'true');
  // The message (with a long URL in it) stays inside the panel.
  assert.ok(await page.$eval(tid('boot-message'), (el) => el.scrollWidth <= el.clientWidth), 'message wraps');
  await screenshot(page, '16-boot-load-failed-phone', { fullPage: false });

  await page.unroute('**/dist/datacollect.wasm');
  await page.click(tid('boot-retry'));
  assert.equal(await waitReady(page), 'login', 'the store opens on the second try');
  assert.equal(await page.isVisible(tid('boot-retry')), false);
  // Only the failure itself was logged (the 404 and the app's one line about it).
  assert.deepEqual(errors.filter((e) => !/404|Opening the store failed: LOAD_FAILED/.test(e)), []);
  await ctx.close();
});
