// End to end on the reference server: an event over the reader's maxResponseBytes between normal
// ones (docs/protocol.md, 'Response size'). The sync completes, the others arrive, the big one is
// rejected with its guid, and the next sync does not stop at it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { open } from '../../js/index.js';
import { form, useLoggedInServer } from './helpers/env.mjs';

const ctx = useLoggedInServer();

test('an event larger than maxResponseBytes is rejected by name; the rest arrive; the next sync goes on', async () => {
  const writer = await open({ name: 'budget-w', storage: 'memory', syncServerUrl: ctx.server.url, authToken: ctx.token });
  const reader = await open({ name: 'budget-r', storage: 'memory', syncServerUrl: ctx.server.url, authToken: ctx.token,
    sync: { maxResponseBytes: 64 * 1024 } });
  try {
    const submit = async (data) => {
      const f = form('create-individual', randomUUID(), data);
      await writer.eventApplierService.submitForm(f);
      return f.guid;
    };
    const small = [];
    for (let i = 0; i < 3; i++) small.push(await submit({ name: `Before ${i}`, note: 'n'.repeat(10000) }));
    const bigGuid = await submit({ name: 'Big', note: 'b'.repeat(200 * 1024) });
    for (let i = 0; i < 3; i++) small.push(await submit({ name: `After ${i}`, note: 'n'.repeat(10000) }));
    await writer.syncManager.sync();

    const first = await reader.syncManager.sync();
    for (const g of small) assert.ok(await reader.eventStore.isEventExisted(g), `${g} did not arrive`);
    assert.equal(await reader.eventStore.isEventExisted(bigGuid), false);
    const rejected = first.rejectedEvents.filter((r) => r.code === 'TOO_LARGE');
    assert.equal(rejected.length, 1, JSON.stringify(first.rejectedEvents));
    assert.equal(rejected[0].event.guid, bigGuid);
    assert.equal(rejected[0].source, 'pull');
    assert.ok(rejected[0].event.tooLarge > 200 * 1024);
    assert.match(rejected[0].message, new RegExp(bigGuid));
    assert.equal((await reader.syncManager.getSyncState()).rejectedEvents.filter((r) => r.code === 'TOO_LARGE').length, 1);

    // A later event arrives; the sync does not stop at the big one.
    const later = await submit({ name: 'Later' });
    await writer.syncManager.sync();
    const second = await reader.syncManager.sync();
    assert.ok(await reader.eventStore.isEventExisted(later));
    assert.equal(second.rejectedEvents.filter((r) => r.code === 'TOO_LARGE').length, 0);
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('an audit log larger than maxResponseBytes arrives in full, page by page', async () => {
  const writer = await open({ name: 'audit-w', storage: 'memory', syncServerUrl: ctx.server.url, authToken: ctx.token });
  const reader = await open({ name: 'audit-r', storage: 'memory', syncServerUrl: ctx.server.url, authToken: ctx.token,
    sync: { maxResponseBytes: 16 * 1024 } });
  try {
    const mine = new Set();
    for (let i = 0; i < 80; i++) {
      const f = form('create-individual', randomUUID(), { name: `Audit ${i * 7919}`, note: 'a'.repeat(300) });
      mine.add(f.entityGuid);
      await writer.eventApplierService.submitForm(f);
    }
    await writer.syncManager.sync();
    // This test's entries (the log also holds the previous test's, one of them over the budget).
    const all = (await writer.eventStore.getAuditLogsSince(null)).filter((e) => mine.has(e.entityGuid));
    assert.ok(all.length >= 80);
    const result = await reader.syncManager.sync();
    assert.equal(result.auditError, undefined, JSON.stringify(result.auditError));
    const got = new Set((await reader.eventStore.getAuditLogsSince(null)).map((e) => e.guid));
    for (const e of all) assert.ok(got.has(e.guid), `audit entry ${e.guid} missing`);
  } finally {
    await writer.close();
    await reader.close();
  }
});
