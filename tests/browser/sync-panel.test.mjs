// The sync panel through its states, driven by the sync manager's status: idle with the last-sync
// time (which survives a reload), automatic sync after a local write and on coming back online,
// downloading with a real bar (done of total), offline shown calmly, and a red error. Screenshots
// of each state at phone and desktop sizes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  SKIP, tid, startServer, launchPersistent, login, waitReady, watchPage, createIndividual, badge, syncNow, expectSynced,
  serverEvents, seedHouseholds, throttlePulls, waitSyncIdle, waitServiceWorker, screenshot, cleanupTmp, DESKTOP, PHONE,
} from './helpers.mjs';

let srv;
before(async () => { if (!SKIP) srv = await startServer(); });
after(async () => { await srv?.close(); cleanupTmp(); });

const panel = (page) => page.evaluate(() => {
  const q = (id) => document.querySelector(`[data-testid="${id}"]`);
  const bar = q('sync-progress');
  return {
    state: q('sync-panel').dataset.state,
    lastAt: q('last-synced').dataset.at,
    lastText: q('last-synced').textContent,
    determinate: bar.hasAttribute('value') && bar.position >= 0,
    value: bar.value,
    max: bar.max,
    phase: q('sync-phase').textContent,
    offline: q('sync-offline').hidden ? null : q('sync-offline').textContent,
    error: q('sync-error').hidden ? null : q('sync-error').textContent,
    buttonDisabled: q('sync-button').disabled,
  };
});

async function shootBoth(page, name) {
  await page.evaluate(() => { document.querySelector('[data-testid="toast"]').hidden = true; });
  for (const [size, viewport] of [['phone', PHONE], ['desktop', DESKTOP]]) {
    await page.setViewportSize(viewport);
    await page.waitForTimeout(150);
    await screenshot(page, `${name}-${size}`, { fullPage: false });
  }
}

test('sync panel: idle, last sync after reload, automatic sync after a write and when back online, offline, error', { skip: SKIP, timeout: 240_000 }, async () => {
  const ctx = await launchPersistent(DESKTOP);
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    const errors = watchPage(page);
    await login(page, srv.url);
    await page.waitForFunction(() => document.querySelector('[data-testid="last-synced"]').dataset.at !== '', null, { timeout: 30_000 });

    // Idle after the first sync, with the time of that sync.
    let p = await panel(page);
    assert.equal(p.state, 'idle');
    assert.ok(!Number.isNaN(Date.parse(p.lastAt)), `last sync time: ${p.lastAt}`);
    assert.match(p.lastText, /Last synced just now/);
    await shootBoth(page, '12-sync-idle');

    // The last-sync time is kept with the store: a reload shows the same time. The reload is made
    // offline (the service worker serves the app), as the automatic sync would otherwise start
    // a new sync at once.
    await waitServiceWorker(page);
    await ctx.setOffline(true);
    await page.reload();
    assert.equal(await waitReady(page), 'true');
    await page.waitForFunction(() => document.querySelector('[data-testid="last-synced"]').dataset.at !== '');
    const afterReload = await panel(page);
    assert.equal(afterReload.lastAt, p.lastAt, 'same last-sync time after a reload');
    assert.match(afterReload.lastText, /Last synced/);

    // Offline: a calm note (not the red error), the button waits for the network.
    assert.equal(afterReload.state, 'offline');
    await createIndividual(page, { name: 'Written Offline', dateOfBirth: '1992-02-02', sex: 'male' });
    await page.waitForFunction(() => document.querySelector('[data-testid="unsynced-badge"]').dataset.count === '1');
    p = await panel(page);
    assert.equal(p.state, 'offline');
    assert.equal(p.error, null, 'offline is not an error');
    assert.match(p.offline, /You are offline\. 1 change saved on this device will be sent automatically/);
    assert.equal(p.buttonDisabled, true);
    const colours = await page.evaluate(() => ({
      note: getComputedStyle(document.querySelector('[data-testid="sync-offline"]')).backgroundColor,
      pill: getComputedStyle(document.querySelector('[data-testid="net-status"]')).backgroundColor,
    }));
    for (const c of Object.values(colours)) assert.doesNotMatch(c, /rgb\((1[7-9]\d|2\d\d), (\d|[1-8]\d), (\d|[1-8]\d)\)/, `not red: ${c}`);
    await shootBoth(page, '14-sync-offline');

    // Back online: the automatic sync sends it, without a click.
    await ctx.setOffline(false);
    await page.waitForFunction((at) => document.querySelector('[data-testid="unsynced-badge"]').dataset.count === '0'
      && document.querySelector('[data-testid="last-synced"]').dataset.at > at, afterReload.lastAt, { timeout: 20_000 });
    assert.ok((await serverEvents(srv.url)).some((e) => e.data && e.data.name === 'Written Offline'), 'sent when back online');

    // Automatic sync after a local write: no click, the change reaches the server.
    await waitSyncIdle(page);
    const before = (await panel(page)).lastAt;
    const guid = await createIndividual(page, { name: 'Auto Synced', dateOfBirth: '1991-01-01', sex: 'female' });
    await page.waitForFunction((at) => document.querySelector('[data-testid="unsynced-badge"]').dataset.count === '0'
      && document.querySelector('[data-testid="last-synced"]').dataset.at > at, before, { timeout: 20_000 });
    assert.ok((await serverEvents(srv.url)).some((e) => e.entityGuid === guid), 'pushed by the automatic sync');
    p = await panel(page);
    assert.equal(p.state, 'idle');

    // A server error: red, with what to do, and the bar says it failed.
    await page.route('**/api/sync/**', (route) => route.fulfill({ status: 500, contentType: 'text/html', body: '<html><body>Internal Server Error</body></html>' }));
    const r = await syncNow(page);
    assert.equal(r.state, 'error');
    assert.equal(r.panelState, 'error');
    assert.match(r.error, /ran into a problem|could not read/);
    const errColour = await page.$eval(tid('sync-error'), (el) => getComputedStyle(el).backgroundColor);
    assert.notEqual(errColour, colours.note, 'an error does not look like offline');
    await shootBoth(page, '15-sync-error');
    await page.unroute('**/api/sync/**');
    await expectSynced(page);
    // The browser logs the injected 500s; nothing else may be logged.
    assert.deepEqual(errors.filter((e) => !/status of 500/.test(e)), []);
  } finally {
    await ctx.close();
  }
});

test('sync panel while downloading: a real bar, done of total, page after page', { skip: SKIP, timeout: 180_000 }, async () => {
  const ctx = await launchPersistent(DESKTOP);
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    const errors = watchPage(page);
    await login(page, srv.url);
    let p;
    // Downloading: 300 households from another device, pulled in pages of 100; the second page is
    // held while the bar is looked at.
    await seedHouseholds(srv.url, 300, { prefix: 'Remote' });
    let release;
    const held = new Promise((r) => { release = r; });
    let pulls = 0;
    await throttlePulls(page, { limit: 100, delayMs: 100, hold: async () => { if (++pulls === 2) await held; } });
    await page.click(tid('sync-button'));
    await page.waitForFunction(() => document.querySelector('[data-testid="sync-panel"]').dataset.state === 'pulling'
      && /Downloading/.test(document.querySelector('[data-testid="sync-phase"]').textContent), null, { timeout: 20_000 });
    p = await panel(page);
    assert.equal(p.buttonDisabled, true, 'no second sync while one runs');
    await shootBoth(page, '13-sync-downloading');
    assert.ok(p.determinate, `a real bar while downloading (phase "${p.phase}")`);
    assert.ok(p.max >= 300 && p.value >= 100 && p.value < p.max, `done of total: ${p.value} of ${p.max}`);
    assert.match(p.phase, /Downloading changes: 100 of 3\d\d/);
    release();
    await waitSyncIdle(page, 60_000);
    await page.unroute(/\/api\/sync\/pull(\?|$)/);
    p = await panel(page);
    assert.equal(p.state, 'idle');
    assert.equal(p.value, p.max, 'the bar completes');

    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});
