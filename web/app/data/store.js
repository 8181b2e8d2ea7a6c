// The app's one door to the package's store: open/close, writes, reads, change events and live
// queries. Views import from here and never touch the package objects themselves.
export const STORE_NAME = 'household-survey';
export const CONFIG_ID = 'default';
const SESSION_KEY = 'dc.session'; // { email, userId } only; the token lives in the package's store.

// The order of the people & households list.
/** @type {import('../../../js/index.js').SortSpec} */
export const LIST_SORT = { field: 'name', order: 'asc' };

// The package's types (js/index.d.ts) check this app's use of it (tests/browser/app-types.test.mjs).
/** @typedef {typeof import('../../../js/index.js')} Package */
/** @typedef {import('../../../js/index.js').OpenStore} OpenStore */
/** @typedef {import('../../../js/index.js').EntityDoc} EntityDoc */
/** @typedef {import('../../../js/index.js').SearchCriteria} SearchCriteria */
/** @typedef {import('../../../js/index.js').PageOptions} PageOptions */

export const app = {
  /** @type {Package} the package module, once loaded */
  pkg: null,
  /** @type {OpenStore} open()'s result while the store is open */
  db: null,
  session: loadSession(),
};

function loadSession() {
  try { return JSON.parse(localStorage.getItem(SESSION_KEY) || 'null'); } catch { return null; }
}
export function saveSession(s) {
  app.session = s;
  if (s) localStorage.setItem(SESSION_KEY, JSON.stringify(s)); else localStorage.removeItem(SESSION_KEY);
}
export const userId = () => (app.session && (app.session.userId || app.session.email)) || 'device';

export async function loadPackage() {
  // The package's browser entry (nothing Node-specific in its module graph).
  if (!app.pkg) app.pkg = await import(new URL('js/browser.js', document.baseURI).href);
  return app.pkg;
}

export async function openStore() {
  await loadPackage();
  app.db = await app.pkg.open({
    name: STORE_NAME,
    storage: 'indexeddb',
    userId: userId(),
    syncServerUrl: location.origin,
    configId: CONFIG_ID,
    sync: {
      // On a 401 (or a token about to expire) the manager asks for a new token. The app keeps no
      // password, so it answers "none": the sync then fails with UNAUTHORIZED, shown with a
      // "Sign in again" button, and nothing stored is lost.
      onAuthRequired: () => null,
    },
  });
  return app.db;
}

export function closeStore() {
  const db = app.db;
  app.db = null;
  try { db?.close(); } catch { /* closing anyway */ }
}

const dm = () => app.db.entityDataManager;

// Through EntityDataManager.submitForm: it fills the event guid and takes the timestamp from the
// engine's hybrid logical clock, so a local edit sorts after every event seen here. Resolves once
// the event is durable.
export async function submit(form) {
  return dm().submitForm({ userId: userId(), syncLevel: 0, ...form });
}

// The entity document (a group with `members`), or null when it is not on this device.
/** @returns {Promise<EntityDoc & {members?: EntityDoc[]} | null>} */
export async function getEntity(guid) {
  try {
    return (await dm().getEntity(guid)).modified;
  } catch (e) {
    if (e && e.code === 'ENTITY_NOT_FOUND') return null;
    throw e;
  }
}

/** @param {SearchCriteria} criteria @returns {Promise<EntityDoc[]>} */
export async function search(criteria) {
  return (await dm().searchEntities(criteria)).map((p) => p.modified);
}
export const auditTrail = (guid) => dm().getAuditTrailByEntityGuid(guid);
export const potentialDuplicates = () => dm().getPotentialDuplicates();

// listener({source: "local"|"sync"|"rebuild", entityGuids, eventGuids}) once per committed
// change set; returns unsubscribe.
export const onChange = (listener) => app.db.onChange(listener);

// A live, paged query: listener({items: EntityDoc[], total}) now and whenever a change could
// affect the page. criteria: searchEntities criteria ([] = everything). Returns unsubscribe.
/** @type {(criteria: SearchCriteria, listener: (r: {items: EntityDoc[], total: number}) => void, page: PageOptions) => () => void} */
export const watch = (criteria, listener, page) =>
  app.db.watch(criteria, (r) => listener({ ...r, items: r.items.map((p) => p.modified) }), page);
