// Change sets, live queries and paged reads over one StoreSession.
//
// The engine collects what each commit changed into change sets (one per source, in commit
// order: "local" calls, "sync" responses being applied, "rebuild"s) and pokes `schedule`
// once; the sets are taken on a microtask, so all commits of one pulled page arrive as one set
// and no listener ever runs inside a wasm call. A watch's engine side remembers which entities
// matched, so the engine can say which watches a set can affect without re-running them.
import { DataCollectError, toJsonText } from './errors.js';

const badArgument = (message) => new DataCollectError('INVALID_ARGUMENT', message);

function reportListenerError(what, error) {
  console.warn(`[datacollect] ${what} threw: ${error?.message ?? error}`);
}

// {limit, offset, sort} -> the engine's searchPage arguments [limit, offset, field, descending].
export function pageArguments(page) {
  if (page === null || typeof page !== 'object' || Array.isArray(page))
    throw badArgument('page options must be an object {limit, offset, sort}');
  const { limit = 0, offset = 0, sort = 'guid' } = page;
  for (const [name, value] of [['limit', limit], ['offset', offset]]) {
    if (!Number.isSafeInteger(value) || value < 0) throw badArgument(`${name} must be a non-negative integer, got ${String(value)}`);
  }
  let field = sort;
  let order = 'asc';
  if (sort && typeof sort === 'object') ({ field, order = 'asc' } = sort);
  if (typeof field !== 'string' || field === '') throw badArgument('sort must be a field name or {field, order}');
  if (order !== 'asc' && order !== 'desc') throw badArgument('sort order must be "asc" or "desc"');
  return [limit, offset, field, order === 'desc'];
}

export function criteriaText(criteria) {
  if (!Array.isArray(criteria)) throw new DataCollectError('INVALID_FORM', 'search criteria must be an array of {field: condition}');
  return toJsonText(criteria, 'search criteria');
}

// {items, total, limit, offset} of one page.
export function readPage(session, criteria, page) {
  const args = pageArguments(page);
  const result = session.call('searchPage', criteriaText(criteria), ...args);
  return { items: result.items, total: result.total, limit: args[0], offset: args[1] };
}

// The session's hub (one per open store, shared by the store object and its sync manager).
export function changeHub(session) {
  session.changeHub ??= new ChangeHub(session);
  return session.changeHub;
}

export class ChangeHub {
  constructor(session) {
    this._session = session;
    this._listeners = new Set();
    this._watches = new Map();  // engine watch id -> watch
    this._listening = false;
    this._scheduled = false;
    session.onClose(() => {
      this._listeners.clear();
      this._watches.clear();
    });
  }

  // listener({source, entityGuids, eventGuids}) after each committed change set.
  onChange(listener) {
    if (typeof listener !== 'function') throw badArgument('onChange needs a listener function');
    this._session.requireOpen();
    const entry = { listener };  // a wrapper: the same function may subscribe twice
    this._listeners.add(entry);
    this._update();
    return () => {
      this._listeners.delete(entry);
      this._update();
    };
  }

  // listener({items, total, limit, offset}, change) now (on a microtask) and after each change
  // set that can affect the results; change is null for the first call.
  watch(criteria, listener, page = {}) {
    if (typeof listener !== 'function') throw badArgument('watch needs a listener function');
    const text = criteriaText(criteria);
    pageArguments(page);  // bad options fail here, not in the first refresh
    const id = this._session.call('watchOpen', text);
    const watch = { id, criteria, page: { ...page }, listener, active: true };
    this._watches.set(id, watch);
    this._update();
    queueMicrotask(() => this._refresh(watch, null));
    return () => {
      if (!watch.active) return;
      watch.active = false;
      this._watches.delete(id);
      if (!this._session.closed) this._session.engine.watchClose(id);
      this._update();
    };
  }

  _refresh(watch, change) {
    if (!watch.active || this._session.closed) return;
    let result;
    try {
      // From the engine's set of matching entities: no scan of the whole store.
      const args = pageArguments(watch.page);
      const page = this._session.call('watchPage', watch.id, ...args);
      result = { items: page.items, total: page.total, limit: args[0], offset: args[1] };
    } catch (error) {
      reportListenerError('watch query', error);
      return;
    }
    try {
      watch.listener(result, change);
    } catch (error) {
      reportListenerError('watch listener', error);
    }
  }

  // Collect change sets only while someone listens (nobody would take them otherwise).
  _update() {
    if (this._session.closed) return;
    const wanted = this._listeners.size > 0 || this._watches.size > 0;
    if (wanted === this._listening) return;
    this._listening = wanted;
    this._session.engine.setChangeListener(wanted ? () => this._schedule() : null);
  }

  // Called from inside a wasm commit: only schedules.
  _schedule() {
    if (this._scheduled) return;
    this._scheduled = true;
    queueMicrotask(() => this._drain());
  }

  _drain() {
    this._scheduled = false;
    if (this._session.closed || !this._listening) return;
    let sets;
    try {
      sets = this._session.call('takeChanges');
    } catch (error) {
      reportListenerError('takeChanges', error);
      return;
    }
    const affected = new Map();  // watch -> the last change set that affects it
    for (const set of sets) {
      const change = Object.freeze({ source: set.source, entityGuids: set.entityGuids, eventGuids: set.eventGuids,
        ...(set.cleared ? { cleared: true } : {}) });
      for (const { listener } of [...this._listeners]) {
        try {
          listener(change);
        } catch (error) {
          reportListenerError('change listener', error);
        }
      }
      for (const id of set.watches) {
        const watch = this._watches.get(id);
        if (watch) affected.set(watch, change);
      }
    }
    // One re-evaluation per watch per drain, however many sets touched it.
    for (const [watch, change] of affected) this._refresh(watch, change);
  }
}
