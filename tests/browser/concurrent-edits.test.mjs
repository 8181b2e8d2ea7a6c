// Demo app: concurrent offline edits of the same person on two devices converge to the same state
// whatever the order of syncs (docs/convergence.md), as seen in the app and in the package.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  SKIP, tid, startServer, launchBrowser, login, watchPage, createIndividual, editIndividual, openEntity,
  expectSynced, entityState, cleanupTmp, DESKTOP,
} from './helpers.mjs';

let srv;
let browser;
before(async () => { if (!SKIP) { srv = await startServer(); browser = await launchBrowser(); } });
after(async () => { await browser?.close(); await srv?.close(); cleanupTmp(); });

async function shownData(page, guid) {
  await openEntity(page, guid);
  return page.evaluate(() => Object.fromEntries([...document.querySelectorAll('[data-testid="entity-data"] dd')].map((d) => [d.dataset.field, d.firstChild.textContent])));
}

test('concurrent offline edits converge in both sync orders', { skip: SKIP, timeout: 240_000 }, async () => {
  const ctxA = await browser.newContext({ viewport: DESKTOP });
  const ctxB = await browser.newContext({ viewport: DESKTOP });
  const a = await ctxA.newPage();
  const b = await ctxB.newPage();
  const errors = [...[watchPage(a, 'A'), watchPage(b, 'B')]];
  await login(a, srv.url);
  await login(b, srv.url);

  const guid = await createIndividual(a, { name: 'Maria Santos', dateOfBirth: '1990-03-14', sex: 'female', phone: '555-0100' });
  await expectSynced(a);
  await expectSynced(b);
  assert.equal((await entityState(b, guid)).name, 'Maria Santos', 'B received the person');

  const rounds = [
    { order: ['A', 'B', 'A'], editA: { name: 'Maria dos Santos', phone: '555-0111' }, editB: { phone: '555-0222', dateOfBirth: '1990-03-15' } },
    { order: ['B', 'A', 'B'], editA: { phone: '555-0333' }, editB: { name: 'Maria S. Santos', phone: '555-0444' } },
  ];
  const pages = { A: a, B: b };
  for (const [i, round] of rounds.entries()) {
    await ctxA.setOffline(true);
    await ctxB.setOffline(true);
    await editIndividual(a, guid, round.editA);
    await editIndividual(b, guid, round.editB);
    await ctxA.setOffline(false);
    await ctxB.setOffline(false);
    for (const who of round.order) await expectSynced(pages[who]);

    const sa = await entityState(a, guid);
    const sb = await entityState(b, guid);
    assert.deepEqual(sa, sb, `round ${i + 1} (${round.order.join(' → ')}): both devices hold the same entity`);
    // The untouched and single-sided fields survive on both; the field both edited has one value.
    if (i === 0) {
      assert.equal(sa.data.name, 'Maria dos Santos');
      assert.equal(sa.data.dateOfBirth, '1990-03-15');
      assert.ok(['555-0111', '555-0222'].includes(sa.data.phone));
    } else {
      assert.equal(sa.data.name, 'Maria S. Santos');
      assert.ok(['555-0333', '555-0444'].includes(sa.data.phone));
    }
    assert.deepEqual(await shownData(a, guid), await shownData(b, guid), `round ${i + 1}: both apps show the same data`);
    assert.equal(await a.textContent(tid('entity-name')), await b.textContent(tid('entity-name')));
  }
  assert.deepEqual(errors.flat(), []);
  await ctxA.close();
  await ctxB.close();
});
