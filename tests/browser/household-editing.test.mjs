// Demo app: the everyday screens: add and remove members, edit a household and a person, search by
// name and by a field, audit trail, delete an entity. All through the app's forms.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  SKIP, tid, startServer, launchBrowser, login, watchPage, createHousehold, createIndividual, editIndividual,
  openEntity, gotoList, householdShown, expectSynced, serverEvents, cleanupTmp, DESKTOP,
} from './helpers.mjs';

let srv;
let browser;
before(async () => { if (!SKIP) { srv = await startServer(); browser = await launchBrowser(); } });
after(async () => { await browser?.close(); await srv?.close(); cleanupTmp(); });

async function searchNames(page, { name = '', field, value = '' }) {
  await gotoList(page);
  await page.fill(tid('search-name'), name);
  if (field) await page.selectOption(tid('search-field'), field);
  await page.fill(tid('search-value'), value);
  const seq = await page.getAttribute(tid('entity-list'), 'data-search-seq');
  await page.click(tid('search-submit'));
  await page.waitForFunction((s) => document.querySelector('[data-testid="entity-list"]').dataset.searchSeq !== s, seq);
  return (await page.locator(tid('entity-row')).evaluateAll((rows) => rows.map((r) => r.dataset.name))).sort();
}

async function auditActions(page, guid) {
  await openEntity(page, guid);
  return page.locator(`${tid('audit-entry')} .audit-action`).allTextContents();
}

test('add and remove members, edit, search, audit trail, delete', { skip: SKIP, timeout: 180_000 }, async () => {
  const ctx = await browser.newContext({ viewport: DESKTOP });
  const page = await ctx.newPage();
  const errors = watchPage(page);
  await login(page, srv.url);

  const hh = await createHousehold(page, {
    name: 'Nguyen household',
    village: 'Lotus street 7',
    members: [{ name: 'Minh Nguyen', dateOfBirth: '1969-10-10', sex: 'male', relationship: 'head' }],
  });
  const loner = await createIndividual(page, { name: 'Lan Tran', dateOfBirth: '2000-02-29', sex: 'female', phone: '090' });

  // Add a member from the household page.
  await openEntity(page, hh);
  await page.click(tid('add-member-open'));
  await page.fill(tid('add-member-name'), 'Hoa Nguyen');
  await page.fill(tid('add-member-dob'), '1972-03-08');
  await page.selectOption(tid('add-member-sex'), 'female');
  await page.selectOption(tid('add-member-relationship'), 'spouse');
  await page.click(tid('add-member-save'));
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="member"]').length === 2);
  assert.deepEqual((await householdShown(page, hh)).members, ['Hoa Nguyen', 'Minh Nguyen']);

  // Remove the head: gone from the household, the person's record stays.
  const minh = await page.locator(`${tid('member')}[data-name="Minh Nguyen"]`);
  const minhGuid = await minh.getAttribute('data-guid');
  await minh.locator(tid('remove-member')).click();
  await minh.locator(tid('remove-member-confirm')).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="member"]').length === 1);
  assert.deepEqual((await householdShown(page, hh)).members, ['Hoa Nguyen']);
  await openEntity(page, minhGuid);
  assert.equal(await page.textContent(tid('entity-name')), 'Minh Nguyen');

  // Edit the household and a person.
  await openEntity(page, hh);
  await page.click(tid('edit-entity'));
  await page.waitForSelector(tid('household-edit-form'));
  await page.fill(tid('household-name'), 'Nguyen-Tran household');
  await page.click(tid('household-save'));
  await page.waitForFunction(() => document.querySelector('[data-testid="entity-name"]')?.textContent === 'Nguyen-Tran household');
  await editIndividual(page, loner, { phone: '091', sex: 'female' });
  assert.equal(await page.textContent(`${tid('entity-data')} dd[data-field="phone"]`), '091');

  // Audit trail of the household: every change, newest first.
  const actions = await auditActions(page, hh);
  for (const a of ['create-group', 'add-member', 'remove-member', 'update-group']) assert.ok(actions.includes(a), `audit has ${a}: ${actions}`);

  // Search by name (case-insensitive, part of the name) and by a field.
  assert.deepEqual(await searchNames(page, { name: 'NGUYEN' }), ['Hoa Nguyen', 'Minh Nguyen', 'Nguyen-Tran household']);
  assert.deepEqual(await searchNames(page, { field: 'sex', value: 'female' }), ['Hoa Nguyen', 'Lan Tran']);
  assert.deepEqual(await searchNames(page, { name: 'hoa', field: 'relationship', value: 'spouse' }), ['Hoa Nguyen']);
  assert.deepEqual(await searchNames(page, { field: 'type', value: 'group' }), ['Nguyen-Tran household']);
  assert.deepEqual(await searchNames(page, { name: 'zzz' }), []);
  await page.click(tid('search-clear'));

  // Delete the person who is on their own.
  await openEntity(page, loner);
  await page.click(tid('delete-entity'));
  await page.click(tid('delete-entity-confirm'));
  await page.waitForSelector(tid('list-screen'));
  await page.waitForFunction(() => !document.querySelector('[data-name="Lan Tran"]'));
  assert.equal(await page.locator(`${tid('entity-row')}[data-guid="${loner}"]`).count(), 0);

  // Everything reaches the server as events of the built-in types.
  await expectSynced(page);
  const types = new Set((await serverEvents(srv.url)).map((e) => e.type));
  for (const t of ['create-group', 'create-individual', 'add-member', 'remove-member', 'update-group', 'update-individual', 'delete-entity']) {
    assert.ok(types.has(t), `server has a ${t} event`);
  }
  assert.deepEqual(errors, []);
  await ctx.close();
});
