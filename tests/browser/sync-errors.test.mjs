// Demo app: sync failures become clear messages (error .code -> plain words), nothing is lost, and
// the next sync completes. Faults are injected on the wire with page routes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  SKIP, tid, startServer, launchBrowser, login, createIndividual, badge, syncNow, expectSynced, serverEvents,
  screenshot, cleanupTmp, DESKTOP, PHONE,
} from './helpers.mjs';

let srv;
let browser;
before(async () => { if (!SKIP) { srv = await startServer(); browser = await launchBrowser(); } });
after(async () => { await browser?.close(); await srv?.close(); cleanupTmp(); });

test('server errors, HTML error pages, dropped connections and 401 are explained; nothing is lost', { skip: SKIP, timeout: 180_000 }, async () => {
  const ctx = await browser.newContext({ viewport: DESKTOP });
  const page = await ctx.newPage();
  await login(page, srv.url);
  await createIndividual(page, { name: 'Pending Person', dateOfBirth: '1988-08-08', sex: 'female' });
  const pending = await badge(page);
  assert.ok(pending >= 1);

  const faults = [
    { what: 'HTML 500 page', codes: ['SERVER_ERROR', 'BAD_RESPONSE'], text: /sync server/i,
      handler: (route) => route.fulfill({ status: 500, contentType: 'text/html', body: '<html><body>Internal Server Error</body></html>' }) },
    { what: 'dropped connection', codes: ['NETWORK'], text: /cannot be reached/i, handler: (route) => route.abort('connectionreset') },
    { what: '401', codes: ['UNAUTHORIZED'], text: /sign in again/i,
      handler: (route) => route.fulfill({ status: 401, contentType: 'application/json', body: '{"error":"Invalid token"}' }) },
  ];
  for (const f of faults) {
    await page.route('**/api/sync/**', f.handler);
    const r = await syncNow(page);
    await page.unroute('**/api/sync/**');
    assert.equal(r.state, 'error', `${f.what}: the sync fails`);
    assert.ok(f.codes.includes(r.errorCode), `${f.what}: code ${r.errorCode}`);
    assert.match(r.error, f.text, `${f.what}: message "${r.error}"`);
    assert.doesNotMatch(r.error, /Bearer|eyJ/, 'no token in the message');
    assert.equal(await badge(page), pending, `${f.what}: the unsynced events are kept`);
  }
  // After a 401 the app offers to sign in again.
  assert.equal(await page.locator(tid('relogin')).count(), 1);
  await page.setViewportSize(PHONE);
  await page.evaluate(() => { document.querySelector('[data-testid="toast"]').hidden = true; });
  await screenshot(page, '08-sync-error-phone');
  await page.setViewportSize(DESKTOP);

  // Network back to normal: the next sync sends everything once.
  await expectSynced(page);
  const events = await serverEvents(srv.url);
  assert.equal(events.length, pending, 'each event stored once');
  await ctx.close();
});

test('a malformed (truncated JSON) answer from the server is a BAD_RESPONSE, then a clean resume', { skip: SKIP, timeout: 120_000 }, async () => {
  const ctx = await browser.newContext({ viewport: DESKTOP });
  const page = await ctx.newPage();
  await login(page, srv.url);
  const before = (await serverEvents(srv.url)).length;
  await createIndividual(page, { name: 'Malformed Case', dateOfBirth: '1977-07-07', sex: 'male' });
  const pending = await badge(page);
  await page.route('**/api/sync/**', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: '{"status": "succ' }));
  const r = await syncNow(page);
  await page.unroute('**/api/sync/**');
  assert.equal(r.errorCode, 'BAD_RESPONSE');
  assert.match(r.error, /could not read/i);
  assert.equal(await badge(page), pending);
  await expectSynced(page);
  assert.equal((await serverEvents(srv.url)).length, before + pending);
  await ctx.close();
});
