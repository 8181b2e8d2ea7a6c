// People & households (#/list): search by name and by one field, one page of results at a time,
// kept live by a watch (a sync that pulls 600 households fills the list page by page).
import { h } from '../lib/dom.js';
import { SEARCH_FIELDS, ageOf, containsCriterion, displayName, formatValue, isGroup, plural } from '../lib/format.js';
import { humanError } from '../lib/error-labels.js';
import { LIST_SORT, search, watch } from '../data/store.js';
import { syncStatus, onSyncStatus } from '../data/sync.js';

export const PAGE_SIZE = 50;

// Kept across visits of the list, so that "back to the list" returns to the same search and page.
let lastSearch = { name: '', field: 'sex', value: '', page: 0 };
let renderSeq = 0;

function criteriaOf({ name, field, value }) {
  const criteria = [];
  if (name) criteria.push(containsCriterion('name', name));
  if (value) {
    if (field === 'type') criteria.push({ type: /^h|^g/i.test(value) ? 'group' : /^p|^i/i.test(value) ? 'individual' : value });
    else criteria.push({ [field]: value });
  }
  return criteria;
}

const entityHref = (guid) => `#/entity/${encodeURIComponent(guid)}`;
const syncing = (s) => s.state === 'pushing' || s.state === 'pulling';

function row(e, parent) {
  const members = (e.memberIds || []).length;
  const meta = isGroup(e)
    ? `${plural(members, 'member')}${e.data && e.data.village ? ` · ${e.data.village}` : ''}`
    : [e.data && e.data.dateOfBirth ? `${e.data.dateOfBirth} (${ageOf(e.data.dateOfBirth)})` : '', e.data && e.data.sex ? formatValue('sex', e.data.sex) : '',
      parent ? `in ${displayName(parent)}` : ''].filter(Boolean).join(' · ');
  return h('li', { class: 'card', testid: 'entity-row', dataset: { guid: e.guid, type: e.type, name: displayName(e) } },
    h('a', { href: entityHref(e.guid), class: 'card-link' },
      h('span', { class: `tag tag-${e.type}` }, isGroup(e) ? 'Household' : 'Person'),
      h('span', { class: 'card-title' }, displayName(e))),
    h('span', { class: 'card-meta muted small' }, meta));
}

export async function listView() {
  const nameIn = h('input', { id: 'q-name', type: 'search', value: lastSearch.name, testid: 'search-name', autocomplete: 'off' });
  const fieldSel = h('select', { id: 'q-field', testid: 'search-field' }, SEARCH_FIELDS.map(([k, l]) => h('option', { value: k, selected: k === lastSearch.field }, l)));
  const valueIn = h('input', { id: 'q-value', type: 'search', value: lastSearch.value, testid: 'search-value', autocomplete: 'off' });
  const results = h('div', { class: 'results', testid: 'entity-list' });
  const count = h('p', { class: 'muted small', testid: 'result-count', role: 'status', 'aria-live': 'polite' });
  const pager = h('nav', { class: 'pager', testid: 'pager', 'aria-label': 'Pages of results', hidden: true });

  let unwatch = () => {};
  let latest = null;
  let filtered = false;

  // Individuals on this page that belong to a household: one search for the whole page.
  async function parentsOf(items) {
    const people = items.filter((e) => !isGroup(e)).map((e) => e.guid);
    if (!people.length) return new Map();
    const groups = await search([{ type: 'group' }, { memberIds: { $in: people } }]).catch(() => []);
    const out = new Map();
    for (const g of groups) for (const m of g.memberIds || []) out.set(m, g);
    return out;
  }

  // fresh: a result of the current watch (tests wait for data-search-seq to change after a search).
  async function show(r, fresh = true) {
    latest = r;
    const seq = ++renderSeq;
    const { total } = r;
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    if (r.error) {
      results.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, humanError(r.error)));
      return;
    }
    // The watched page ran past the end (records deleted, or a narrower search): go to the last page.
    if (lastSearch.page >= pages) { setPage(pages - 1); return; }
    const parents = await parentsOf(r.items);
    if (seq !== renderSeq) return;
    if (fresh) results.dataset.searchSeq = String(seq);
    results.dataset.total = String(total);
    const first = lastSearch.page * PAGE_SIZE;
    count.textContent = total
      ? `${plural(total, 'record')}${filtered ? ' found' : ''}${pages > 1 ? ` · showing ${first + 1}–${first + r.items.length}` : ''}${syncing(syncStatus()) ? ' · receiving more…' : ''}`
      : '';
    if (!r.items.length) {
      const receiving = syncing(syncStatus()) && !filtered;
      results.replaceChildren(h('p', { class: 'empty', testid: 'empty-list' },
        filtered ? 'Nothing matches this search.' : receiving ? 'Receiving records from the sync server…' : 'No records yet. Register a household to start.'));
    } else {
      results.replaceChildren(h('ul', { class: 'cards' }, r.items.map((e) => row(e, parents.get(e.guid)))));
    }
    pager.hidden = pages <= 1;
    pager.replaceChildren(
      h('button', { type: 'button', class: 'btn', testid: 'page-prev', disabled: lastSearch.page === 0, onclick: () => setPage(lastSearch.page - 1) }, '← Previous'),
      h('span', { class: 'small', testid: 'page-info', 'aria-current': 'page' }, `Page ${lastSearch.page + 1} of ${pages}`),
      h('button', { type: 'button', class: 'btn', testid: 'page-next', disabled: lastSearch.page >= pages - 1, onclick: () => setPage(lastSearch.page + 1) }, 'Next →'));
  }

  function start() {
    unwatch();
    const criteria = criteriaOf(lastSearch);
    filtered = criteria.length > 0;
    unwatch = watch(criteria, show, { limit: PAGE_SIZE, offset: lastSearch.page * PAGE_SIZE, sort: LIST_SORT });
  }
  function setPage(p) {
    lastSearch.page = Math.max(0, p);
    start();
  }
  function runSearch() {
    lastSearch = { name: nameIn.value.trim(), field: fieldSel.value, value: valueIn.value.trim(), page: 0 };
    start();
  }

  const form = h('form', { class: 'search', role: 'search', testid: 'search-form', onsubmit: (ev) => { ev.preventDefault(); runSearch(); } },
    h('div', { class: 'field' }, h('label', { for: 'q-name' }, 'Name contains'), nameIn),
    h('div', { class: 'field' }, h('label', { for: 'q-field' }, 'Field'), fieldSel),
    h('div', { class: 'field' }, h('label', { for: 'q-value' }, 'equals'), valueIn),
    h('div', { class: 'search-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', testid: 'search-submit' }, 'Search'),
      h('button', { type: 'button', class: 'btn', testid: 'search-clear', onclick: () => { nameIn.value = ''; valueIn.value = ''; runSearch(); } }, 'Clear')));

  // The count line says "receiving more…" while a sync runs; redraw it when that changes.
  let wasSyncing = syncing(syncStatus());
  const offStatus = onSyncStatus((s) => { if (syncing(s) !== wasSyncing) { wasSyncing = syncing(s); if (latest) show(latest, false); } });

  const node = h('section', { class: 'panel', 'aria-labelledby': 'list-title', testid: 'list-screen' },
    h('div', { class: 'panel-head' }, h('h1', { id: 'list-title', tabindex: '-1' }, 'People & households'),
      h('div', { class: 'head-actions' },
        h('a', { class: 'btn', href: '#/new-household', testid: 'list-new-household' }, '+ Household'),
        h('a', { class: 'btn', href: '#/new-individual', testid: 'list-new-individual' }, '+ Person'))),
    form, count, results, pager);
  start();
  return { node, dispose: () => { unwatch(); offStatus(); } };
}
