// Potential duplicates (#/duplicates): each pair side by side; keep both or delete the new record.
// Redrawn on every change (a resolution here, or a sync that brings or resolves pairs).
import { confirmButton, h, toast } from '../lib/dom.js';
import { FIELD_LABELS, displayName, fmtTime, isGroup } from '../lib/format.js';
import { humanError } from '../lib/error-labels.js';
import { getEntity, onChange, potentialDuplicates, submit } from '../data/store.js';
import { dataList } from './detail.js';

const entityHref = (guid) => `#/entity/${encodeURIComponent(guid)}`;

function side(e, title) {
  return h('div', { class: 'dup-side', testid: 'dup-side' },
    h('h3', {}, title),
    e ? [h('p', { class: 'dup-name' }, h('a', { href: entityHref(e.guid) }, displayName(e))),
      h('p', { class: 'muted small' }, `${isGroup(e) ? 'Household' : 'Person'} · last change ${fmtTime(e.lastUpdated)}`),
      dataList(e.data, { skip: ['members'] })] : h('p', { class: 'muted' }, 'Not on this device.'));
}

async function pairItem(p) {
  const [a, b] = await Promise.all([getEntity(p.entityGuid), getEntity(p.duplicateGuid)]);
  const keys = [...new Set([...Object.keys((a && a.data) || {}), ...Object.keys((b && b.data) || {})])].filter((k) => k !== 'members');
  const same = keys.filter((k) => a && b && String(a.data[k] ?? '').trim().toLowerCase() === String(b.data[k] ?? '').trim().toLowerCase());
  const resolve = async (shouldDelete) => {
    try {
      await submit({ entityGuid: p.entityGuid, type: 'resolve-duplicate', data: { duplicates: [{ entityGuid: p.entityGuid, duplicateGuid: p.duplicateGuid }], shouldDelete } });
      toast(shouldDelete ? 'The new record was deleted.' : 'Both records kept.');
    } catch (e) { toast(humanError(e)); }
  };
  return h('li', { class: 'dup', testid: 'duplicate-pair', dataset: { entityGuid: p.entityGuid, duplicateGuid: p.duplicateGuid } },
    h('div', { class: 'dup-grid' }, side(a, 'New record'), side(b, 'Existing record')),
    h('p', { class: 'small muted' }, same.length ? `Same ${same.map((k) => (FIELD_LABELS[k] || k).toLowerCase()).join(', ')}.` : ''),
    h('div', { class: 'form-actions' },
      h('button', { type: 'button', class: 'btn btn-primary', testid: 'dup-keep-both', onclick: () => resolve(false) }, 'Keep both (different people)'),
      confirmButton('Delete the new record', 'Yes, delete it', 'dup-delete-new', () => resolve(true))));
}

async function build() {
  const pairs = await potentialDuplicates();
  const items = await Promise.all(pairs.map(pairItem));
  return h('section', { class: 'panel', testid: 'duplicates-screen', 'aria-labelledby': 'dup-title' },
    h('h1', { id: 'dup-title', tabindex: '-1' }, 'Potential duplicates'),
    pairs.length
      ? [h('p', {}, 'These records look like the same person or household. Sync stays blocked until each pair is resolved: keep both if they are different, or delete the new one.'),
        h('ul', { class: 'dups' }, items)]
      : h('p', { class: 'empty', testid: 'no-duplicates' }, 'No potential duplicates. Sync is not blocked.'));
}

export async function duplicatesView() {
  const root = h('div', { class: 'duplicates-host' });
  let seq = 0;
  const draw = async () => {
    const mine = ++seq;
    const node = await build();
    if (mine === seq) root.replaceChildren(node);
  };
  const off = onChange(() => { draw(); });
  await draw();
  return { node: root, dispose: off };
}
