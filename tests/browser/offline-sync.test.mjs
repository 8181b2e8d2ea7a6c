// Demo app: offline household registration survives a reload (real IndexedDB through IDBFS and the
// service worker), syncs to the server with a completed progress bar, and reaches a second device.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  SKIP, tid, startServer, launchBrowser, launchPersistent, login, waitReady, waitServiceWorker, watchPage,
  badge, createHousehold, householdShown, expectSynced, serverEvents, gotoList, cleanupTmp, DESKTOP,
} from './helpers.mjs';

const HOUSEHOLD = {
  name: 'Okafor household',
  village: 'Riverside, plot 12',
  members: [
    { name: 'Chinedu Okafor', dateOfBirth: '1980-04-12', sex: 'male', relationship: 'head' },
    { name: 'Ngozi Okafor', dateOfBirth: '1984-09-30', sex: 'female', relationship: 'spouse' },
    { name: 'Ada Okafor', dateOfBirth: '2012-01-05', sex: 'female', relationship: 'child' },
  ],
};

let srv;
before(async () => { if (!SKIP) srv = await startServer(); });
after(async () => { await srv?.close(); cleanupTmp(); });

test('offline household with three members survives a reload, syncs, and reaches a second device', { skip: SKIP, timeout: 180_000 }, async () => {
  const ctx = await launchPersistent(DESKTOP);
  let browser;
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    const errors = watchPage(page, 'A');
    await login(page, srv.url);
    await waitServiceWorker(page);
    // The service worker has the shell, every module of the package and the wasm build, and no /api.
    const cached = await page.evaluate(async () => {
      const out = [];
      for (const name of await caches.keys()) for (const r of await (await caches.open(name)).keys()) out.push(new URL(r.url).pathname);
      return out;
    });
    for (const p of ['/', '/app.js', '/app.css', '/js/index.js', '/dist/datacollect.js', '/dist/datacollect.wasm']) assert.ok(cached.includes(p), `${p} cached`);
    assert.ok(!cached.some((p) => p.startsWith('/api/')), '/api is never cached');
    assert.equal(await badge(page), 0, 'a fresh store has nothing to sync');

    // Offline: the indicator says so and the household is registered locally.
    await ctx.setOffline(true);
    await page.waitForSelector(`${tid('net-status')}[data-online="false"]`);
    const guid = await createHousehold(page, HOUSEHOLD);
    assert.ok(guid);
    const shown = await householdShown(page, guid);
    assert.deepEqual(shown.members, HOUSEHOLD.members.map((m) => m.name).sort());
    const pending = await badge(page);
    assert.ok(pending >= 1, `unsynced badge counts the offline events (got ${pending})`);

    // Reload while still offline: the service worker serves the app, IndexedDB still has the data,
    // and the user is still signed in.
    await page.reload();
    assert.equal(await waitReady(page), 'true', 'still signed in after a reload');
    assert.equal(await badge(page), pending, 'unsynced events are still there after the reload');
    const afterReload = await householdShown(page, guid);
    assert.equal(afterReload.name, HOUSEHOLD.name);
    assert.deepEqual(afterReload.members, shown.members);
    await gotoList(page);
    assert.equal(await page.locator(`${tid('entity-row')}[data-type="individual"]`).count(), 3);

    // Back online: the app syncs by itself (on `online`); its progress bar is fed by the package's
    // progress callback through push and pull and completes; the badge drops to 0.
    await page.evaluate(() => { const bar = document.querySelector('[data-testid="sync-progress"]'); bar.dataset.state = ''; bar.dataset.phases = ''; });
    await ctx.setOffline(false);
    await page.waitForSelector(`${tid('net-status')}[data-online="true"]`);
    await page.waitForFunction(() => document.querySelector('[data-testid="sync-progress"]').dataset.state === 'done'
      && document.querySelector('[data-testid="unsynced-badge"]').dataset.count === '0', null, { timeout: 60_000 });
    const auto = await page.evaluate(() => {
      const bar = document.querySelector('[data-testid="sync-progress"]');
      return { value: bar.value, max: bar.max, phases: bar.dataset.phases.split(' '), status: document.querySelector('[data-testid="sync-status"]').textContent };
    });
    assert.equal(auto.value, auto.max, 'progress bar completes');
    assert.ok(auto.phases.includes('push') && auto.phases.includes('pull'), `progress callback fed the bar (phases: ${auto.phases})`);
    assert.match(auto.status, new RegExp(`${pending} sent`));
    assert.equal(await badge(page), 0);
    // The button works too (nothing left to send).
    const again = await expectSynced(page);
    assert.match(again.status, /0 sent/);

    // The server holds the events: the group with its three members.
    const events = await serverEvents(srv.url);
    const create = events.find((e) => e.entityGuid === guid && e.type === 'create-group');
    assert.ok(create, 'the create-group event is on the server');
    assert.deepEqual(create.data.members.map((m) => m.name).sort(), shown.members);
    assert.equal(events.length, pending, 'every unsynced event was pushed, none twice');

    // A second device (fresh profile) signs in, syncs, and shows the same household.
    browser = await launchBrowser();
    const ctxB = await browser.newContext({ viewport: DESKTOP });
    const pageB = await ctxB.newPage();
    const errorsB = watchPage(pageB, 'B');
    await login(pageB, srv.url);
    await expectSynced(pageB);
    const onB = await householdShown(pageB, guid);
    assert.deepEqual(onB, afterReload);
    assert.deepEqual(errors, []);
    assert.deepEqual(errorsB, []);
  } finally {
    await ctx.close();
    await browser?.close();
  }
});
