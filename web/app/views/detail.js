// Detail of a person or household (#/entity/<guid>): data, members (add, remove), history, delete.
// Redrawn when a change touches the record, unless the user is typing into one of its forms.
import { $, confirmButton, h, toast, uuid } from '../lib/dom.js';
import { FIELD_LABELS, ageOf, displayName, fmtTime, formatValue, isGroup } from '../lib/format.js';
import { humanError } from '../lib/error-labels.js';
import { app, auditTrail, getEntity, onChange, search, submit } from '../data/store.js';
import { formError, personFields, readPerson } from './fields.js';

const entityHref = (guid) => `#/entity/${encodeURIComponent(guid)}`;

export function notFound() {
  return h('section', { class: 'panel', testid: 'not-found' }, h('h1', { tabindex: '-1' }, 'Record not found'),
    h('p', {}, 'It may have been deleted on this device or by a sync.'), h('a', { href: '#/list', class: 'btn' }, 'Back to the list'));
}

export function dataList(data, { skip = [] } = {}) {
  const keys = Object.keys(data || {}).filter((k) => !skip.includes(k));
  if (!keys.length) return h('p', { class: 'muted' }, 'No data.');
  const order = Object.keys(FIELD_LABELS);
  keys.sort((a, b) => ((order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99)) || a.localeCompare(b));
  return h('dl', { class: 'kv', testid: 'entity-data' }, keys.map((k) => [
    h('dt', {}, FIELD_LABELS[k] || k),
    h('dd', { dataset: { field: k } }, formatValue(k, data[k]), k === 'dateOfBirth' && ageOf(data[k]) ? h('span', { class: 'muted' }, ` (${ageOf(data[k])})`) : null)]));
}

function byWhom(userId) {
  const s = app.session;
  return s && userId === s.userId ? `you (${s.email})` : userId;
}

async function build(guid) {
  const e = await getEntity(guid);
  if (!e) return { node: notFound(), related: [] };
  const group = isGroup(e);
  const memberIds = e.type === 'group' ? e.memberIds || [] : [];
  const [audit, parents] = await Promise.all([
    auditTrail(guid).catch(() => []),
    search([{ type: 'group' }, { memberIds: guid }]),
  ]);
  const memberDocs = new Map((e.members || []).map((m) => [m.guid, m]));
  // A member not (yet) on this device still gets its row.
  const members = group ? memberIds.map((id) => memberDocs.get(id) || { guid: id, data: /** @type {Record<string, any>} */ ({}) }) : [];

  const del = async () => {
    try {
      await submit({ entityGuid: guid, type: 'delete-entity', data: { reason: 'deleted in the app' } });
      toast(`“${displayName(e)}” deleted.`);
      location.hash = '#/list';
    } catch (err) { toast(humanError(err)); }
  };
  const removeMember = (m) => async () => {
    try {
      await submit({ entityGuid: guid, type: 'remove-member', data: { memberId: m.guid } });
      toast(`${displayName(m)} removed from the household (the person's record is kept).`);
    } catch (err) { toast(humanError(err)); }
  };

  const sections = [
    h('div', { class: 'panel-head' },
      h('div', {}, h('span', { class: `tag tag-${e.type}` }, group ? 'Household' : 'Person'),
        h('h1', { tabindex: '-1', testid: 'entity-name' }, displayName(e))),
      h('div', { class: 'head-actions' },
        h('a', { class: 'btn', href: `${entityHref(guid)}/edit`, testid: 'edit-entity' }, 'Edit'),
        confirmButton(group ? 'Delete household' : 'Delete person', 'Yes, delete', 'delete-entity', del))),
    h('p', { class: 'muted small' }, `Version ${e.version ?? '—'} · last change ${e.lastUpdated ? fmtTime(e.lastUpdated) : '—'}`),
    parents.length ? h('p', { testid: 'member-of' }, 'Member of ', parents.map((p, i) => [i ? ', ' : '', h('a', { href: entityHref(p.guid) }, displayName(p))])) : null,
    h('section', { 'aria-labelledby': 'data-title' }, h('h2', { id: 'data-title' }, 'Details'), dataList(e.data, { skip: ['members'] })),
  ];

  if (group) {
    sections.push(h('section', { 'aria-labelledby': 'members-title', testid: 'members' },
      h('h2', { id: 'members-title' }, `Members (${members.length})`),
      members.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'table', testid: 'members-table' },
        h('caption', { class: 'visually-hidden' }, `Members of ${displayName(e)}`),
        h('thead', {}, h('tr', {}, ['Name', 'Date of birth', 'Sex', 'Relationship', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, members.map((m) => h('tr', { testid: 'member', dataset: { guid: m.guid, name: displayName(m) } },
          h('td', { 'data-label': 'Name' }, !memberDocs.has(m.guid) ? h('span', { class: 'muted' }, 'Not on this device yet') : h('a', { href: entityHref(m.guid) }, displayName(m))),
          h('td', { 'data-label': 'Date of birth' }, formatValue('dateOfBirth', m.data && m.data.dateOfBirth)),
          h('td', { 'data-label': 'Sex' }, formatValue('sex', m.data && m.data.sex)),
          h('td', { 'data-label': 'Relationship' }, formatValue('relationship', m.data && m.data.relationship)),
          h('td', {}, confirmButton('Remove', 'Yes, remove', 'remove-member', removeMember(m), 'btn btn-quiet btn-small'))))))) : h('p', { class: 'muted' }, 'No members yet.'),
      memberAddForm(e)));
  }

  sections.push(h('section', { 'aria-labelledby': 'audit-title', testid: 'audit-trail' },
    h('h2', { id: 'audit-title' }, 'History'),
    audit.length ? h('ol', { class: 'audit' }, [...audit].sort((a, b) => String(b.timestamp).localeCompare(String(a.timestamp))).map((a) =>
      h('li', { testid: 'audit-entry' },
        h('span', { class: 'audit-action' }, a.action),
        h('span', { class: 'muted small' }, ` · ${fmtTime(a.timestamp)} · by ${byWhom(a.userId)}`),
        a.changes && Object.keys(a.changes).length ? h('details', {}, h('summary', { class: 'small' }, 'Changes'), h('pre', { class: 'small' }, JSON.stringify(a.changes, null, 2))) : null)))
      : h('p', { class: 'muted' }, 'No history recorded.')));

  sections.push(h('p', {}, h('a', { href: '#/list' }, '← Back to the list')));
  const node = h('article', { class: 'panel', testid: 'entity-detail', dataset: { guid, type: e.type } }, sections);
  return { node, related: [guid, ...memberIds, ...parents.map((p) => p.guid)] };
}

function memberAddForm(g) {
  const form = h('form', { class: 'add-member', testid: 'add-member-form', novalidate: true },
    h('div', { class: 'grid' }, personFields('add-member-', {})),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', testid: 'add-member-save' }, 'Add member')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const data = readPerson(form);
    if (!data.name) return formError(form, 'Enter the new member’s name.');
    try {
      form.dataset.dirty = '';
      await submit({ entityGuid: g.guid, type: 'add-member', data: { members: [{ guid: uuid(), type: 'individual', ...data }] } });
      toast(`${data.name} added to the household.`);
    } catch (e) { formError(form, humanError(e)); }
  });
  return h('details', { class: 'add-member-box' }, h('summary', { testid: 'add-member-open' }, '+ Add a member'), form);
}

export async function detailView({ guid }) {
  const root = h('div', { class: 'detail-host' });
  let related = [];
  let stale = false;
  let seq = 0;
  const draw = async () => {
    const mine = ++seq;
    const built = await build(guid);
    if (mine !== seq) return;
    const focusInside = root.contains(document.activeElement);
    related = built.related;
    root.replaceChildren(built.node);
    if (focusInside) $('h1', root)?.focus();
  };
  const typing = () => [...root.querySelectorAll('form')].some((f) => f.dataset.dirty === 'true');
  root.addEventListener('input', (ev) => { const f = ev.target.closest('form'); if (f) f.dataset.dirty = 'true'; });
  // A change that could touch what is shown: redraw, but never under the user's typing.
  const off = onChange((c) => {
    const hit = c.source === 'rebuild' || !c.entityGuids?.length || c.entityGuids.some((g) => related.includes(g));
    if (!hit) return;
    if (typing()) { stale = true; return; }
    draw();
  });
  root.addEventListener('focusout', () => { if (stale && !typing()) { stale = false; draw(); } });
  await draw();
  return { node: root, dispose: off };
}
