// Household survey: the demo PWA of the DataCollect sync engine.
// Plain ES module, no framework, no build step. Everything goes through the package's public API
// (js/index.d.ts): open() -> { eventStore, entityStore, eventApplierService, syncManager, entityDataManager }.

const STORE_NAME = 'household-survey';
const CONFIG_ID = 'default';
const SESSION_KEY = 'dc.session'; // { email, userId } only; the token lives in the package's store.

const SEX = [['', 'Select…'], ['female', 'Female'], ['male', 'Male'], ['other', 'Other'], ['unknown', 'Prefer not to say']];
const RELATIONSHIP = [['', 'Select…'], ['head', 'Head of household'], ['spouse', 'Spouse / partner'], ['child', 'Child'],
  ['parent', 'Parent'], ['sibling', 'Sibling'], ['grandchild', 'Grandchild'], ['other-relative', 'Other relative'],
  ['non-relative', 'Not related']];
const FIELD_LABELS = { name: 'Name', dateOfBirth: 'Date of birth', sex: 'Sex', relationship: 'Relationship', village: 'Village / address', phone: 'Phone', externalId: 'External ID' };
const SEARCH_FIELDS = [['sex', 'Sex'], ['relationship', 'Relationship'], ['dateOfBirth', 'Date of birth'], ['village', 'Village / address'], ['type', 'Record type (individual / group)']];

const ERROR_TEXT = {
  UNAUTHORIZED: 'The sync server did not accept your sign-in (it may have expired). Sign in again; nothing on this device is lost.',
  NETWORK: 'The sync server cannot be reached. Your data is safe on this device and will sync when the connection is back.',
  SERVER_ERROR: 'The sync server ran into a problem. Try again in a moment; nothing was lost.',
  BAD_RESPONSE: 'The sync server sent an answer the app could not read. Try again later or tell your supervisor.',
  DUPLICATES_EXIST: 'Sync is blocked: some records look like duplicates. Resolve them first (Duplicates tab).',
  STORAGE: 'This device could not save the data (storage full or unavailable). Free some space, then try again; what was already saved is kept.',
  STORE_LOCKED: 'The survey is open in another tab or window of this browser. Close it there; this tab will continue automatically.',
  CLOSED: 'The local store was closed. Reload the page.',
  INVALID_FORM: 'The form could not be saved',
  INVALID_MEMBER_DATA: 'A household member could not be saved',
  INVALID_GROUP: 'The household could not be found',
  ENTITY_NOT_FOUND: 'That record no longer exists on this device',
  NO_APPLIER: 'This kind of change is not supported by this version of the app',
};

// ---------------------------------------------------------------------------------------------
// State
const state = {
  pkg: null,        // the package module
  db: null,         // open() result
  session: loadSession(),
  syncing: null,    // promise of the running sync
  duplicates: [],
  lastResult: null,
  progressPhase: null,
};

const $ = (sel, root = document) => root.querySelector(sel);
const view = () => $('#view');

function loadSession() {
  try { return JSON.parse(localStorage.getItem(SESSION_KEY) || 'null'); } catch { return null; }
}
function saveSession(s) {
  state.session = s;
  if (s) localStorage.setItem(SESSION_KEY, JSON.stringify(s)); else localStorage.removeItem(SESSION_KEY);
}

// ---------------------------------------------------------------------------------------------
// Small DOM helper: h('div', {class: 'x', onclick: fn}, 'text', child)
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'testid') el.dataset.testid = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((n) => n.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

// A local timestamp that never sorts before the state it edits (so an edit made after seeing a
// remote change wins the deterministic (timestamp, guid) order).
function stamp(after) {
  let t = Date.now();
  const a = after ? Date.parse(after) : NaN;
  if (!Number.isNaN(a) && a >= t) t = a + 1;
  return new Date(t).toISOString();
}

function humanError(err) {
  const code = err && err.code;
  const msg = (err && err.message) || String(err);
  if (code && ERROR_TEXT[code]) {
    const base = ERROR_TEXT[code];
    // The engine's message says what and where (never a token); show it where it helps.
    if (/^(INVALID_|ENTITY_NOT_FOUND|NO_APPLIER)/.test(code) && msg) return `${base}: ${msg}`;
    if (/^(SERVER_ERROR|BAD_RESPONSE)$/.test(code) && msg) return `${base} Details: ${msg}`;
    return base;
  }
  return `Something went wrong: ${msg}`;
}

const docOf = (x) => (x && x.modified) ? x.modified : x; // EntityPair or EntityDoc -> EntityDoc
const displayName = (e) => (e && (e.name || (e.data && e.data.name))) || (e && e.type === 'group' ? 'Unnamed household' : 'Unnamed person');
const isGroup = (e) => e && e.type === 'group';
const labelOf = (list, v) => (list.find(([k]) => k === v) || [null, v])[1];

function formatValue(key, v) {
  if (v === undefined || v === null || v === '') return '—';
  if (key === 'sex') return labelOf(SEX, v);
  if (key === 'relationship') return labelOf(RELATIONSHIP, v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function ageOf(dob) {
  const d = Date.parse(dob);
  if (Number.isNaN(d)) return '';
  const now = new Date(); const b = new Date(d);
  let a = now.getFullYear() - b.getFullYear();
  if (now.getMonth() < b.getMonth() || (now.getMonth() === b.getMonth() && now.getDate() < b.getDate())) a--;
  return a >= 0 ? `${a} y` : '';
}

function fmtTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
}

// ---------------------------------------------------------------------------------------------
// Package access (tolerant to the two facades the package offers)
const dm = () => state.db.entityDataManager;
const sm = () => state.db.syncManager;

// Through EntityDataManager.submitForm: it fills the event guid and takes the timestamp from the
// engine's hybrid logical clock (a local edit then sorts after every event seen here, docs/convergence.md).
// Resolves once the event is durable.
async function submit(form) {
  const d = dm();
  let r;
  if (d && d.submitForm) {
    const { timestamp, ...rest } = form; // let the engine's clock stamp it
    r = await d.submitForm({ userId: userId(), syncLevel: 0, ...rest });
  } else {
    r = await state.db.eventApplierService.submitForm({ guid: uuid(), timestamp: stamp(), userId: userId(), syncLevel: 0, ...form });
  }
  await refreshCounters();
  return r;
}
function userId() { return (state.session && (state.session.userId || state.session.email)) || 'device'; }

async function getEntity(guid) {
  try {
    const r = dm() && dm().getEntity ? await dm().getEntity(guid) : await state.db.entityStore.getEntity(guid);
    return r || null;
  } catch (e) {
    if (e && e.code === 'ENTITY_NOT_FOUND') return null;
    throw e;
  }
}
async function allEntities() {
  const r = dm() && dm().getAllEntities ? await dm().getAllEntities() : await state.db.entityStore.getAllEntities();
  return (r || []).map(docOf).filter(Boolean);
}
async function search(criteria) {
  const svc = (dm() && dm().searchEntities) ? dm() : state.db.eventApplierService;
  const r = await svc.searchEntities(criteria);
  return (r || []).map(docOf).filter(Boolean);
}
async function potentialDuplicates() {
  const r = dm() && dm().getPotentialDuplicates ? await dm().getPotentialDuplicates() : await state.db.entityStore.getPotentialDuplicates();
  return r || [];
}
async function auditTrail(guid) {
  const r = dm() && dm().getAuditTrailByEntityGuid ? await dm().getAuditTrailByEntityGuid(guid) : await state.db.eventStore.getAuditTrailByEntityGuid(guid);
  return r || [];
}
async function unsyncedCount() {
  return Number(await sm().getUnsyncedEventsCount()) || 0;
}

async function isLoggedIn() {
  const s = sm();
  try {
    if (typeof s.isLoggedIn === 'function') return !!(await s.isLoggedIn());
    if (typeof s.hasAuthToken === 'function') return !!(await s.hasAuthToken());
    if (typeof s.getAuthToken === 'function') return !!(await s.getAuthToken());
    if ('authToken' in s) return !!s.authToken;
  } catch { /* fall through */ }
  return !!state.session;
}

// Case-insensitive "contains" as an ECMAScript regex without flags: "jo" -> "[Jj][Oo]".
function ciPattern(text) {
  return [...text].map((c) => {
    if (/[A-Za-z]/.test(c)) return `[${c.toUpperCase()}${c.toLowerCase()}]`;
    return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }).join('');
}

// ---------------------------------------------------------------------------------------------
// Boot
async function boot() {
  registerServiceWorker();
  updateNet();
  window.addEventListener('online', () => { updateNet(); autoSync(); });
  window.addEventListener('offline', updateNet);
  window.addEventListener('hashchange', route);
  $('#login-form').addEventListener('submit', onLogin);
  $('#logout-btn').addEventListener('click', onLogout);
  $('#sync-btn').addEventListener('click', () => runSync('button'));
  $('#view').addEventListener('input', (ev) => { if (!ev.target.closest('form.search')) viewDirty = true; });
  $('#boot-retry').addEventListener('click', () => { $('#boot-retry').hidden = true; openStore(); });
  // Release the store (and its Web Lock) as soon as the page goes away, so another tab can open it;
  // a page restored from the back/forward cache then reopens from scratch.
  window.addEventListener('pagehide', () => { try { state.db && state.db.close && state.db.close(); } catch { /* ignore */ } });
  window.addEventListener('pageshow', (ev) => { if (ev.persisted) location.reload(); });
  await openStore();
}

let lockTimer = null;
async function openStore() {
  const msg = $('#boot-msg');
  showOnly('boot');
  try {
    if (!state.pkg) {
      msg.textContent = 'Loading the sync engine.';
      state.pkg = await import(new URL('js/index.js', document.baseURI).href);
    }
    msg.textContent = 'Opening the data stored on this device.';
    state.db = await state.pkg.open({
      name: STORE_NAME,
      storage: 'indexeddb',
      userId: userId(),
      syncServerUrl: location.origin,
      configId: CONFIG_ID,
    });
  } catch (err) {
    document.body.dataset.ready = 'false';
    if (err && err.code === 'STORE_LOCKED') {
      $('#boot-title').textContent = 'Open in another tab';
      msg.textContent = ERROR_TEXT.STORE_LOCKED;
      $('#boot').dataset.state = 'locked';
      clearTimeout(lockTimer);
      lockTimer = setTimeout(openStore, 1500);
      return;
    }
    $('#boot-title').textContent = 'Could not start';
    $('#boot').dataset.state = 'error';
    console.error('Opening the store failed:', err && err.code, err && err.message);
    msg.textContent = err && err.code ? humanError(err) : `The sync engine could not be loaded (${(err && err.message) || err}). Check the connection and try again.`;
    $('#boot-retry').hidden = false;
    return;
  }
  $('#boot').dataset.state = 'open';
  attachHooks();
  if (await isLoggedIn()) enterApp(); else showLogin();
}

function attachHooks() {
  const s = sm();
  const onProgress = (p) => showProgress(p);
  // docs/protocol.md, 'Progress': a progress callback receiving {phase, done, total?}.
  if (typeof s.setProgressCallback === 'function') s.setProgressCallback(onProgress);
  else if (typeof s.onProgress === 'function') s.onProgress(onProgress);
  else s.onProgress = onProgress;
  // docs/protocol.md: on 401 (or a token about to expire) the manager asks for a new token. The app keeps
  // no password, so it answers "none": the sync then fails with UNAUTHORIZED, shown with a
  // "Sign in again" button, and nothing stored is lost.
  const onAuthRequired = () => null;
  if (typeof s.setAuthRequiredHook === 'function') s.setAuthRequiredHook(onAuthRequired);
  else if (!('onAuthRequired' in s) || s.onAuthRequired == null) s.onAuthRequired = onAuthRequired;
}

function showOnly(which) {
  $('#boot').hidden = which !== 'boot';
  $('#login').hidden = which !== 'login';
  $('#app').hidden = which !== 'app';
  const loggedIn = which === 'app';
  $('#logout-btn').hidden = !loggedIn;
  const ul = $('[data-testid="user-label"]');
  ul.hidden = !loggedIn;
  ul.textContent = loggedIn && state.session ? state.session.email || state.session.userId : '';
}

function showLogin(message) {
  showOnly('login');
  document.body.dataset.ready = 'login';
  const err = $('#login-error');
  err.hidden = !message; err.textContent = message || '';
  if (state.session && state.session.email) $('#login-email').value = state.session.email;
  $('#login-email').focus();
}

async function onLogin(ev) {
  ev.preventDefault();
  const email = $('#login-email').value.trim();
  const password = $('#login-password').value;
  const err = $('#login-error');
  const btn = $('[data-testid="login-submit"]');
  err.hidden = true;
  if (!email || !password) { err.textContent = 'Enter your email and password.'; err.hidden = false; return; }
  if (!navigator.onLine) { err.textContent = 'You are offline. Signing in needs the sync server once; connect and try again.'; err.hidden = false; return; }
  btn.disabled = true; btn.textContent = 'Signing in…';
  try {
    const r = await sm().login(email, password);
    const uid = (r && typeof r === 'object' && r.userId != null) ? String(r.userId) : email;
    saveSession({ email, userId: uid });
    $('#login-password').value = '';
    enterApp();
    autoSync();
  } catch (e) {
    err.textContent = e && e.code === 'UNAUTHORIZED' ? 'Wrong email or password.' : humanError(e);
    err.hidden = false;
  } finally {
    btn.disabled = false; btn.textContent = 'Sign in';
  }
}

async function onLogout() {
  try {
    const s = sm();
    if (typeof s.logout === 'function') await s.logout();
    else if (typeof s.setAuthToken === 'function') await s.setAuthToken('');
  } catch (e) { /* still sign out locally */ }
  const email = state.session && state.session.email;
  saveSession(null);
  if (email) $('#login-email').value = email;
  showLogin();
}

function enterApp() {
  showOnly('app');
  document.body.dataset.ready = 'true';
  if (!location.hash || location.hash === '#' || location.hash === '#/') location.hash = '#/list';
  route();
  refreshCounters();
}

// ---------------------------------------------------------------------------------------------
// Network, counters, sync
function updateNet() {
  const on = navigator.onLine;
  const el = $('[data-testid="net-status"]');
  el.dataset.online = String(on);
  $('.net-text', el).textContent = on ? 'Online' : 'Offline';
}

async function refreshCounters() {
  if (!state.db) return;
  try {
    const n = await unsyncedCount();
    const b = $('#unsynced-badge');
    b.textContent = String(n);
    b.dataset.count = String(n);
    b.setAttribute('aria-label', `${n} change${n === 1 ? '' : 's'} not yet synced`);
  } catch { /* store closing */ }
  try {
    state.duplicates = await potentialDuplicates();
  } catch { state.duplicates = []; }
  const n = state.duplicates.length;
  const dc = $('#dup-count');
  dc.hidden = n === 0; dc.textContent = String(n);
  const blocked = $('#sync-blocked');
  if (n > 0) {
    blocked.hidden = false;
    blocked.replaceChildren(`Sync is blocked: ${n} potential duplicate${n === 1 ? '' : 's'} must be resolved first. `,
      h('a', { href: '#/duplicates' }, 'Review duplicates'));
  } else blocked.hidden = true;
  $('#sync-btn').disabled = n > 0 || !!state.syncing;
  $('#sync-btn').setAttribute('aria-describedby', n > 0 ? 'sync-blocked' : 'sync-status');
}

function autoSync() {
  if (!state.db || !state.session || !navigator.onLine) return;
  runSync('auto');
}

const PHASES = { push: [0, 45, 'Sending changes'], audit: [45, 50, 'Sending audit log'], pull: [50, 100, 'Receiving changes'] };
function showProgress(p) {
  if (!p) return;
  const bar = $('#sync-progress');
  const [lo, hi, text] = PHASES[p.phase] || [0, 100, 'Syncing'];
  let frac;
  if (p.total) frac = Math.min(1, p.done / p.total);
  else frac = 1 - 1 / (1 + (Number(p.done) || 0) / 50); // unknown total: approach the end of the phase
  const v = Math.round(lo + (hi - lo) * frac);
  bar.value = Math.max(Number(bar.value) || 0, v);
  const seen = new Set((bar.dataset.phases || '').split(' ').filter(Boolean));
  seen.add(p.phase);
  bar.dataset.phases = [...seen].join(' ');
  $('#sync-phase').textContent = `${text}: ${p.done}${p.total ? ` of ${p.total}` : ''}`;
}

function showSyncError(err) {
  const el = $('#sync-error');
  el.hidden = false;
  el.dataset.code = (err && err.code) || '';
  el.replaceChildren(humanError(err));
  if (err && err.code === 'UNAUTHORIZED') {
    el.append(' ', h('button', { type: 'button', class: 'btn btn-small', testid: 'relogin', onclick: onLogout }, 'Sign in again'));
  }
}

function countOf(x) { return Array.isArray(x) ? x.length : (Number(x) || 0); }

async function runSync(trigger) {
  if (state.syncing) return state.syncing;
  const status = $('#sync-status');
  const errEl = $('#sync-error');
  await refreshCounters();
  if (state.duplicates.length) {
    if (trigger === 'button') showSyncError({ code: 'DUPLICATES_EXIST' });
    return null;
  }
  if (!navigator.onLine) {
    if (trigger === 'button') showSyncError({ code: 'NETWORK' });
    return null;
  }
  const bar = $('#sync-progress');
  const btn = $('#sync-btn');
  errEl.hidden = true;
  bar.value = 0; bar.dataset.state = 'running'; bar.dataset.phases = '';
  $('#sync-phase').textContent = 'Starting';
  document.body.dataset.syncing = 'true';
  btn.disabled = true; btn.setAttribute('aria-busy', 'true'); btn.textContent = 'Syncing…';
  status.textContent = 'Syncing…';
  const run = (async () => {
    try {
      const r = await sm().sync();
      state.lastResult = r || {};
      bar.value = 100; bar.dataset.state = 'done';
      $('#sync-phase').textContent = 'Done';
      const x = state.lastResult;
      status.replaceChildren(
        h('span', { testid: 'last-result' }, `Last sync ${new Date().toLocaleTimeString()}: `,
          h('span', { testid: 'result-pushed' }, `${countOf(x.pushed)} sent`), ', ',
          // "received" = events new to this device (applied), not our own events echoed back by the pull.
          h('span', { testid: 'result-pulled' }, `${countOf(x.applied ?? x.pulled)} received`), ', ',
          h('span', { testid: 'result-rejected' }, `${countOf(x.rejected)} rejected`), ', ',
          h('span', { testid: 'result-conflicts' }, `${countOf(x.conflicts)} conflict${countOf(x.conflicts) === 1 ? '' : 's'}`), '.'));
      if (countOf(x.rejected)) status.append(' Rejected changes are kept on this device and listed in the record\'s history.');
      if (countOf(x.conflicts)) status.append(' Concurrent edits were merged in a fixed order; every device ends with the same result.');
    } catch (e) {
      bar.dataset.state = 'error';
      $('#sync-phase').textContent = 'Failed';
      status.textContent = 'Last sync failed.';
      showSyncError(e);
    } finally {
      document.body.dataset.syncing = 'false';
      btn.removeAttribute('aria-busy'); btn.textContent = 'Sync now';
      state.syncing = null;
      await refreshCounters();
      // Show pulled data, but never throw away what the user is typing.
      if (!viewDirty) route();
    }
  })();
  state.syncing = run;
  return run;
}

// ---------------------------------------------------------------------------------------------
// Router and views
let routeSeq = 0;
let viewDirty = false; // the user has typed into a form of the current view
async function route() {
  if (!state.db || $('#app').hidden) return;
  const seq = ++routeSeq;
  const hash = location.hash.replace(/^#\/?/, '');
  const [name, arg, sub] = hash.split('/');
  for (const a of document.querySelectorAll('.tabs a')) {
    const active = a.getAttribute('href') === `#/${name}`;
    if (active) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  let node;
  try {
    if (name === 'new-household') node = householdForm();
    else if (name === 'new-individual') node = individualForm(null);
    else if (name === 'entity' && arg && sub === 'edit') node = await editView(decodeURIComponent(arg));
    else if (name === 'entity' && arg) node = await detailView(decodeURIComponent(arg));
    else if (name === 'duplicates') node = await duplicatesView();
    else node = await listView();
  } catch (e) {
    node = h('section', { class: 'panel' }, h('h1', { tabindex: '-1' }, 'Could not show this page'), h('p', { class: 'form-error', role: 'alert' }, humanError(e)));
  }
  if (seq !== routeSeq) return; // a newer navigation won
  const prevFocusInView = view().contains(document.activeElement);
  view().replaceChildren(node);
  viewDirty = false;
  const h1 = $('h1', view());
  if (h1 && (prevFocusInView || lastHash !== location.hash)) h1.focus({ preventScroll: false });
  lastHash = location.hash;
}
let lastHash = '';

function toast(text) {
  const t = $('#toast');
  t.textContent = text; t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
}

// --- list + search
let lastSearch = { name: '', field: 'sex', value: '' };
let searchSeq = 0;
async function listView() {
  const nameIn = h('input', { id: 'q-name', type: 'search', value: lastSearch.name, testid: 'search-name', autocomplete: 'off' });
  const fieldSel = h('select', { id: 'q-field', testid: 'search-field' }, SEARCH_FIELDS.map(([k, l]) => h('option', { value: k, selected: k === lastSearch.field }, l)));
  const valueIn = h('input', { id: 'q-value', type: 'search', value: lastSearch.value, testid: 'search-value', autocomplete: 'off' });
  const results = h('div', { class: 'results', testid: 'entity-list', 'aria-live': 'polite' });
  const count = h('p', { class: 'muted small', testid: 'result-count' });

  async function runSearch() {
    lastSearch = { name: nameIn.value.trim(), field: fieldSel.value, value: valueIn.value.trim() };
    const criteria = [];
    if (lastSearch.name) criteria.push({ name: { $regex: ciPattern(lastSearch.name) } });
    if (lastSearch.value) {
      const f = lastSearch.field;
      criteria.push({ [f === 'type' ? 'type' : f]: f === 'type' ? (/^h|^g/i.test(lastSearch.value) ? 'group' : /^p|^i/i.test(lastSearch.value) ? 'individual' : lastSearch.value) : lastSearch.value });
    }
    let list;
    try {
      list = criteria.length ? await search(criteria) : await allEntities();
    } catch (e) {
      results.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, humanError(e)));
      return;
    }
    const all = criteria.length ? await allEntities() : list;
    const parentOf = new Map();
    for (const g of all.filter(isGroup)) for (const m of g.memberIds || []) parentOf.set(m, g);
    list.sort((a, b) => (isGroup(b) - isGroup(a)) || displayName(a).localeCompare(displayName(b)));
    results.dataset.searchSeq = String(++searchSeq);
    count.textContent = `${list.length} record${list.length === 1 ? '' : 's'}${criteria.length ? ' found' : ''}`;
    if (!list.length) {
      results.replaceChildren(h('p', { class: 'empty', testid: 'empty-list' }, criteria.length ? 'Nothing matches this search.' : 'No records yet. Register a household to start.'));
      return;
    }
    results.replaceChildren(h('ul', { class: 'cards' }, list.map((e) => {
      const parent = parentOf.get(e.guid);
      return h('li', { class: 'card', testid: 'entity-row', dataset: { guid: e.guid, type: e.type, name: displayName(e) } },
        h('a', { href: `#/entity/${encodeURIComponent(e.guid)}`, class: 'card-link' },
          h('span', { class: `tag tag-${e.type}` }, isGroup(e) ? 'Household' : 'Person'),
          h('span', { class: 'card-title' }, displayName(e))),
        h('span', { class: 'card-meta muted small' },
          isGroup(e) ? `${(e.memberIds || []).length} member${(e.memberIds || []).length === 1 ? '' : 's'}${e.data && e.data.village ? ` · ${e.data.village}` : ''}`
            : [e.data && e.data.dateOfBirth ? `${e.data.dateOfBirth} (${ageOf(e.data.dateOfBirth)})` : '', e.data && e.data.sex ? formatValue('sex', e.data.sex) : '', parent ? `in ${displayName(parent)}` : ''].filter(Boolean).join(' · ')));
    })));
  }

  const form = h('form', { class: 'search', role: 'search', testid: 'search-form', onsubmit: (ev) => { ev.preventDefault(); runSearch(); } },
    h('div', { class: 'field' }, h('label', { for: 'q-name' }, 'Name contains'), nameIn),
    h('div', { class: 'field' }, h('label', { for: 'q-field' }, 'Field'), fieldSel),
    h('div', { class: 'field' }, h('label', { for: 'q-value' }, 'equals'), valueIn),
    h('div', { class: 'search-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', testid: 'search-submit' }, 'Search'),
      h('button', { type: 'button', class: 'btn', testid: 'search-clear', onclick: () => { nameIn.value = ''; valueIn.value = ''; runSearch(); } }, 'Clear')));
  await runSearch();
  return h('section', { class: 'panel', 'aria-labelledby': 'list-title', testid: 'list-screen' },
    h('div', { class: 'panel-head' }, h('h1', { id: 'list-title', tabindex: '-1' }, 'People & households'),
      h('div', { class: 'head-actions' },
        h('a', { class: 'btn', href: '#/new-household', testid: 'list-new-household' }, '+ Household'),
        h('a', { class: 'btn', href: '#/new-individual', testid: 'list-new-individual' }, '+ Person'))),
    form, count, results);
}

// --- form parts
let fieldSeq = 0;
function field(label, input, hint) {
  const id = input.id || `f${++fieldSeq}`;
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('span', { class: 'hint muted small' }, hint) : null);
}
function select(name, options, value, extra = {}) {
  return h('select', { name, ...extra }, options.map(([k, l]) => h('option', { value: k, selected: k === (value || '') }, l)));
}
function personFields(prefix, data = {}, { withRelationship = true, idx = '' } = {}) {
  const t = (n) => `${prefix}${n}${idx}`;
  return [
    field('Full name', h('input', { name: 'name', required: true, value: data.name || '', autocomplete: 'off', testid: t('name') })),
    field('Date of birth', h('input', { name: 'dateOfBirth', type: 'date', value: data.dateOfBirth || '', max: new Date().toISOString().slice(0, 10), testid: t('dob') })),
    field('Sex', select('sex', SEX, data.sex, { testid: t('sex') })),
    withRelationship ? field('Relationship to head', select('relationship', RELATIONSHIP, data.relationship, { testid: t('relationship') })) : null,
  ];
}
function readPerson(fs) {
  const out = {};
  for (const el of fs.querySelectorAll('input[name], select[name]')) {
    const v = el.value.trim();
    if (v) out[el.name] = v;
  }
  return out;
}
function formError(form, text) {
  let el = $('.form-error', form);
  if (!el) { el = h('p', { class: 'form-error', role: 'alert', testid: 'form-error' }); form.querySelector('.form-actions').before(el); }
  el.textContent = text; el.hidden = !text;
  if (text) el.focus?.();
}

// --- new household
function householdForm() {
  const members = h('div', { class: 'members', testid: 'member-rows' });
  let n = 0;
  function addRow(data = {}) {
    n++;
    const i = members.children.length + 1;
    const fs = h('fieldset', { class: 'member', testid: 'member-row' },
      h('legend', {}, `Member ${i}`),
      h('div', { class: 'grid' }, personFields('member-', data, { idx: `-${i}` })),
      h('button', { type: 'button', class: 'btn btn-quiet btn-small', testid: `member-remove-${i}`, onclick: () => { fs.remove(); renumber(); } }, `Remove member ${i}`));
    members.append(fs);
    return fs;
  }
  function renumber() {
    [...members.children].forEach((fs, k) => {
      $('legend', fs).textContent = `Member ${k + 1}`;
      const b = $('button', fs); b.textContent = `Remove member ${k + 1}`; b.dataset.testid = `member-remove-${k + 1}`;
      for (const el of fs.querySelectorAll('[data-testid^="member-"]')) {
        if (el.tagName !== 'BUTTON') el.dataset.testid = el.dataset.testid.replace(/-\d+$/, `-${k + 1}`);
      }
    });
  }
  addRow({ relationship: 'head' });
  const form = h('form', { class: 'panel form', testid: 'household-form', novalidate: true, 'aria-labelledby': 'hh-title' },
    h('h1', { id: 'hh-title', tabindex: '-1' }, 'Register a household'),
    h('div', { class: 'grid' },
      field('Household name', h('input', { name: 'hh-name', required: true, autocomplete: 'off', testid: 'household-name' }), 'Usually the family name of the head'),
      field('Village / address', h('input', { name: 'hh-village', autocomplete: 'off', testid: 'household-village' }))),
    h('h2', {}, 'Members'),
    members,
    h('button', { type: 'button', class: 'btn', testid: 'add-member-row', onclick: () => { const fs = addRow(); $('input', fs).focus(); } }, '+ Add a member'),
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', testid: 'household-save' }, 'Save household'),
      h('a', { href: '#/list', class: 'btn btn-quiet' }, 'Cancel')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = form.elements['hh-name'].value.trim();
    const village = form.elements['hh-village'].value.trim();
    const rows = [...members.children].map(readPerson);
    if (!name) return formError(form, 'Enter the household name.');
    const bad = rows.findIndex((r) => !r.name);
    if (bad >= 0) return formError(form, `Enter the name of member ${bad + 1}, or remove that member.`);
    const guid = uuid();
    const data = { name };
    if (village) data.village = village;
    data.members = rows.map((r) => ({ guid: uuid(), type: 'individual', ...r }));
    const btn = $('[data-testid="household-save"]', form);
    btn.disabled = true;
    try {
      await submit({ entityGuid: guid, type: 'create-group', data });
      toast(`Household “${name}” saved on this device.`);
      location.hash = `#/entity/${encodeURIComponent(guid)}`;
    } catch (e) { formError(form, humanError(e)); btn.disabled = false; }
  });
  return form;
}

// --- new / edit individual
function individualForm(existing) {
  const d = (existing && existing.data) || {};
  const editing = !!existing;
  const form = h('form', { class: 'panel form', testid: 'individual-form', novalidate: true, 'aria-labelledby': 'ind-title' },
    h('h1', { id: 'ind-title', tabindex: '-1' }, editing ? `Edit ${displayName(existing)}` : 'Register a person'),
    h('div', { class: 'grid' },
      personFields('person-', d, { withRelationship: false }),
      field('Phone', h('input', { name: 'phone', type: 'tel', value: d.phone || '', autocomplete: 'off', testid: 'person-phone' }))),
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', testid: 'person-save' }, editing ? 'Save changes' : 'Save person'),
      h('a', { href: editing ? `#/entity/${encodeURIComponent(existing.guid)}` : '#/list', class: 'btn btn-quiet' }, 'Cancel')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const data = readPerson(form);
    if (!data.name) return formError(form, 'Enter the person’s full name.');
    const guid = editing ? existing.guid : uuid();
    let payload = data;
    if (editing) { // send only what changed (cleared fields become "")
      payload = {};
      for (const k of ['name', 'dateOfBirth', 'sex', 'phone']) {
        const nv = data[k] || ''; const ov = d[k] || '';
        if (nv !== ov) payload[k] = nv;
      }
      if (!Object.keys(payload).length) { location.hash = `#/entity/${encodeURIComponent(guid)}`; return; }
    }
    try {
      await submit({ entityGuid: guid, type: editing ? 'update-individual' : 'create-individual', data: payload,
        timestamp: stamp(editing ? existing.lastUpdated : undefined) });
      toast(editing ? 'Changes saved on this device.' : `“${data.name}” saved on this device.`);
      location.hash = `#/entity/${encodeURIComponent(guid)}`;
    } catch (e) { formError(form, humanError(e)); }
  });
  return form;
}

function groupEditForm(g) {
  const d = g.data || {};
  const form = h('form', { class: 'panel form', testid: 'household-edit-form', novalidate: true, 'aria-labelledby': 'hh-edit-title' },
    h('h1', { id: 'hh-edit-title', tabindex: '-1' }, `Edit ${displayName(g)}`),
    h('div', { class: 'grid' },
      field('Household name', h('input', { name: 'name', required: true, value: d.name || '', testid: 'household-name' })),
      field('Village / address', h('input', { name: 'village', value: d.village || '', testid: 'household-village' }))),
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', testid: 'household-save' }, 'Save changes'),
      h('a', { href: `#/entity/${encodeURIComponent(g.guid)}`, class: 'btn btn-quiet' }, 'Cancel')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = form.elements.name.value.trim(); const village = form.elements.village.value.trim();
    if (!name) return formError(form, 'Enter the household name.');
    const payload = {};
    if (name !== (d.name || '')) payload.name = name;
    if (village !== (d.village || '')) payload.village = village;
    if (!Object.keys(payload).length) { location.hash = `#/entity/${encodeURIComponent(g.guid)}`; return; }
    try {
      await submit({ entityGuid: g.guid, type: 'update-group', data: payload, timestamp: stamp(g.lastUpdated) });
      toast('Changes saved on this device.');
      location.hash = `#/entity/${encodeURIComponent(g.guid)}`;
    } catch (e) { formError(form, humanError(e)); }
  });
  return form;
}

async function editView(guid) {
  const r = await getEntity(guid);
  const e = docOf(r);
  if (!e) return notFound();
  return isGroup(e) ? groupEditForm(e) : individualForm(e);
}

function notFound() {
  return h('section', { class: 'panel', testid: 'not-found' }, h('h1', { tabindex: '-1' }, 'Record not found'),
    h('p', {}, 'It may have been deleted on this device or by a sync.'), h('a', { href: '#/list', class: 'btn' }, 'Back to the list'));
}

// --- detail
function dataList(data, { skip = [] } = {}) {
  const keys = Object.keys(data || {}).filter((k) => !skip.includes(k));
  if (!keys.length) return h('p', { class: 'muted' }, 'No data.');
  const order = Object.keys(FIELD_LABELS);
  keys.sort((a, b) => ((order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99)) || a.localeCompare(b));
  return h('dl', { class: 'kv', testid: 'entity-data' }, keys.map((k) => [
    h('dt', {}, FIELD_LABELS[k] || k),
    h('dd', { dataset: { field: k } }, formatValue(k, data[k]), k === 'dateOfBirth' && ageOf(data[k]) ? h('span', { class: 'muted' }, ` (${ageOf(data[k])})`) : null)]));
}

function confirmButton(label, confirmLabel, testid, action, cls = 'btn btn-danger') {
  const wrap = h('span', { class: 'confirm' });
  const first = h('button', { type: 'button', class: cls, testid, onclick: () => {
    wrap.replaceChildren(
      h('span', { class: 'small', role: 'status' }, 'Are you sure? '),
      h('button', { type: 'button', class: 'btn btn-danger btn-small', testid: `${testid}-confirm`, onclick: action }, confirmLabel),
      h('button', { type: 'button', class: 'btn btn-small', onclick: () => { wrap.replaceChildren(first); first.focus(); } }, 'Cancel'));
    $('[data-testid$="-confirm"]', wrap).focus();
  } }, label);
  wrap.append(first);
  return wrap;
}

async function detailView(guid) {
  const r = await getEntity(guid);
  const e = docOf(r);
  if (!e) return notFound();
  const group = isGroup(e);
  const audit = await auditTrail(guid).catch(() => []);
  const all = await allEntities();
  const byGuid = new Map(all.map((x) => [x.guid, x]));
  const parents = all.filter((g) => isGroup(g) && (g.memberIds || []).includes(guid));

  let members = [];
  if (group) {
    const detail = (r && r.members) || (r && r.modified && r.modified.members) || null;
    const fromDetail = Array.isArray(detail) ? new Map(detail.map(docOf).filter(Boolean).map((m) => [m.guid, m])) : new Map();
    members = (e.memberIds || []).map((id) => fromDetail.get(id) || byGuid.get(id) || { guid: id, data: {}, missing: true });
  }

  const del = async () => {
    try {
      await submit({ entityGuid: guid, type: 'delete-entity', data: { reason: 'deleted in the app' } });
      toast(`“${displayName(e)}” deleted.`);
      location.hash = '#/list';
    } catch (err) { toast(humanError(err)); }
  };

  const sections = [
    h('div', { class: 'panel-head' },
      h('div', {}, h('span', { class: `tag tag-${e.type}` }, group ? 'Household' : 'Person'),
        h('h1', { tabindex: '-1', testid: 'entity-name' }, displayName(e))),
      h('div', { class: 'head-actions' },
        h('a', { class: 'btn', href: `#/entity/${encodeURIComponent(guid)}/edit`, testid: 'edit-entity' }, 'Edit'),
        confirmButton(group ? 'Delete household' : 'Delete person', 'Yes, delete', 'delete-entity', del))),
    h('p', { class: 'muted small' }, `Version ${e.version ?? '—'} · last change ${e.lastUpdated ? fmtTime(e.lastUpdated) : '—'}`),
    parents.length ? h('p', { testid: 'member-of' }, 'Member of ', parents.map((p, i) => [i ? ', ' : '', h('a', { href: `#/entity/${encodeURIComponent(p.guid)}` }, displayName(p))])) : null,
    h('section', { 'aria-labelledby': 'data-title' }, h('h2', { id: 'data-title' }, 'Details'), dataList(e.data, { skip: ['members'] })),
  ];

  if (group) {
    const addForm = memberAddForm(e);
    sections.push(h('section', { 'aria-labelledby': 'members-title', testid: 'members' },
      h('h2', { id: 'members-title' }, `Members (${members.length})`),
      members.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'table', testid: 'members-table' },
        h('caption', { class: 'visually-hidden' }, `Members of ${displayName(e)}`),
        h('thead', {}, h('tr', {}, ['Name', 'Date of birth', 'Sex', 'Relationship', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, members.map((m) => h('tr', { testid: 'member', dataset: { guid: m.guid, name: displayName(m) } },
          h('td', { 'data-label': 'Name' }, m.missing ? h('span', { class: 'muted' }, 'Not on this device yet') : h('a', { href: `#/entity/${encodeURIComponent(m.guid)}` }, displayName(m))),
          h('td', { 'data-label': 'Date of birth' }, formatValue('dateOfBirth', m.data && m.data.dateOfBirth)),
          h('td', { 'data-label': 'Sex' }, formatValue('sex', m.data && m.data.sex)),
          h('td', { 'data-label': 'Relationship' }, formatValue('relationship', m.data && m.data.relationship)),
          h('td', {}, confirmButton('Remove', 'Yes, remove', 'remove-member', async () => {
            try {
              await submit({ entityGuid: guid, type: 'remove-member', data: { memberId: m.guid }, timestamp: stamp(e.lastUpdated) });
              toast(`${displayName(m)} removed from the household (the person's record is kept).`);
              route();
            } catch (err) { toast(humanError(err)); }
          }, 'btn btn-quiet btn-small'))))))) : h('p', { class: 'muted' }, 'No members yet.'),
      addForm));
  }

  sections.push(h('section', { 'aria-labelledby': 'audit-title', testid: 'audit-trail' },
    h('h2', { id: 'audit-title' }, 'History'),
    audit.length ? h('ol', { class: 'audit' }, [...audit].sort((a, b) => String(b.timestamp).localeCompare(String(a.timestamp))).map((a) =>
      h('li', { testid: 'audit-entry' },
        h('span', { class: 'audit-action' }, a.action),
        h('span', { class: 'muted small' }, ` · ${fmtTime(a.timestamp)} · by ${state.session && a.userId === state.session.userId ? `you (${state.session.email})` : a.userId}`),
        a.changes && Object.keys(a.changes).length ? h('details', {}, h('summary', { class: 'small' }, 'Changes'), h('pre', { class: 'small' }, JSON.stringify(a.changes, null, 2))) : null)))
      : h('p', { class: 'muted' }, 'No history recorded.')));

  sections.push(h('p', {}, h('a', { href: '#/list' }, '← Back to the list')));
  return h('article', { class: 'panel', testid: 'entity-detail', dataset: { guid, type: e.type } }, sections);
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
      await submit({ entityGuid: g.guid, type: 'add-member', data: { members: [{ guid: uuid(), type: 'individual', ...data }] }, timestamp: stamp(g.lastUpdated) });
      toast(`${data.name} added to the household.`);
      route();
    } catch (e) { formError(form, humanError(e)); }
  });
  return h('details', { class: 'add-member-box' }, h('summary', { testid: 'add-member-open' }, '+ Add a member'), form);
}

// --- duplicates
async function duplicatesView() {
  await refreshCounters();
  const pairs = state.duplicates;
  const body = [];
  for (const p of pairs) {
    const a = docOf(await getEntity(p.entityGuid));
    const b = docOf(await getEntity(p.duplicateGuid));
    const keys = [...new Set([...Object.keys((a && a.data) || {}), ...Object.keys((b && b.data) || {})])].filter((k) => k !== 'members');
    const resolve = async (shouldDelete) => {
      try {
        await submit({ entityGuid: p.entityGuid, type: 'resolve-duplicate', data: { duplicates: [{ entityGuid: p.entityGuid, duplicateGuid: p.duplicateGuid }], shouldDelete } });
        toast(shouldDelete ? 'The new record was deleted.' : 'Both records kept.');
        route();
      } catch (e) { toast(humanError(e)); }
    };
    const card = (e, title) => h('div', { class: 'dup-side', testid: 'dup-side' },
      h('h3', {}, title),
      e ? [h('p', { class: 'dup-name' }, h('a', { href: `#/entity/${encodeURIComponent(e.guid)}` }, displayName(e))),
        h('p', { class: 'muted small' }, `${isGroup(e) ? 'Household' : 'Person'} · last change ${fmtTime(e.lastUpdated)}`),
        dataList(e.data, { skip: ['members'] })] : h('p', { class: 'muted' }, 'Not on this device.'));
    const same = keys.filter((k) => a && b && String(a.data[k] ?? '').trim().toLowerCase() === String(b.data[k] ?? '').trim().toLowerCase());
    body.push(h('li', { class: 'dup', testid: 'duplicate-pair', dataset: { entityGuid: p.entityGuid, duplicateGuid: p.duplicateGuid } },
      h('div', { class: 'dup-grid' }, card(a, 'New record'), card(b, 'Existing record')),
      h('p', { class: 'small muted' }, same.length ? `Same ${same.map((k) => (FIELD_LABELS[k] || k).toLowerCase()).join(', ')}.` : ''),
      h('div', { class: 'form-actions' },
        h('button', { type: 'button', class: 'btn btn-primary', testid: 'dup-keep-both', onclick: () => resolve(false) }, 'Keep both (different people)'),
        confirmButton('Delete the new record', 'Yes, delete it', 'dup-delete-new', () => resolve(true)))));
  }
  return h('section', { class: 'panel', testid: 'duplicates-screen', 'aria-labelledby': 'dup-title' },
    h('h1', { id: 'dup-title', tabindex: '-1' }, 'Potential duplicates'),
    pairs.length
      ? [h('p', {}, 'These records look like the same person or household. Sync stays blocked until each pair is resolved: keep both if they are different, or delete the new one.'),
        h('ul', { class: 'dups' }, body)]
      : h('p', { class: 'empty', testid: 'no-duplicates' }, 'No potential duplicates. Sync is not blocked.'));
}

// ---------------------------------------------------------------------------------------------
// Service worker
function registerServiceWorker() {
  const el = $('#sw-state');
  if (!('serviceWorker' in navigator)) { el.textContent = 'Offline mode is not available in this browser.'; return; }
  navigator.serviceWorker.register('sw.js').then(() => navigator.serviceWorker.ready).then(() => {
    el.textContent = 'Available offline.';
    document.body.dataset.sw = 'ready';
  }).catch(() => { el.textContent = 'Offline mode could not be set up.'; });
}

// Exposed for debugging and for the browser tests (read-only use).
window.__dcApp = { state, refreshCounters, runSync };

boot();
