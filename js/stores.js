// EventStore, EntityStore and EventApplierService (docs/api.md) with the original's method names.
// Each is a thin view over a StoreSession: arguments become JSON text (one crossing per call, a
// whole batch at a time), results come back parsed, and writes resolve once durable.
import { criteriaText, readPage } from './changes.js';
import { DataCollectError, invalid, requireString, toJsonText } from './errors.js';
import { checkFormData } from './form-data.js';
// The declared types (js/index.d.ts) these classes are checked against (checkJs).
/** @typedef {import('./index.d.ts').EventStore} DeclaredEventStore */
/** @typedef {import('./index.d.ts').EntityStore} DeclaredEntityStore */
/** @typedef {import('./index.d.ts').EventApplierService} DeclaredEventApplierService */

function timestampArg(value, what) {
  if (value === undefined || value === null) return '';
  if (value instanceof Date) return value.toISOString();
  return requireString(value, what);
}

/** @implements {DeclaredEventStore} */
export class EventStore {
  /** @param {import('./session.js').StoreSession} session */
  constructor(session) {
    this._session = session;
  }

  async getAllEvents() { return this._session.call('getAllEvents'); }
  async getEvent(guid) { return this._session.call('getEvent', requireString(guid, 'guid')); }
  async isEventExisted(guid) { return this._session.call('isEventExisted', requireString(guid, 'guid')); }
  async getEventsSince(timestamp) { return this._session.call('getEventsSince', timestampArg(timestamp, 'timestamp')); }
  async getEventsSincePagination(cursor, limit = 10) {
    if (typeof limit !== 'number' || !(limit >= 1)) throw invalid('limit must be a positive number');
    return this._session.call('getEventsSincePagination', timestampArg(cursor, 'cursor'), limit);
  }
  async getUnsyncedEvents() { return this._session.call('getUnsyncedEvents'); }
  async getUnsyncedEventsCount() { return this._session.call('getUnsyncedEventsCount'); }
  async updateEventSyncLevel(guids, syncLevel) {
    return this._session.write('updateEventSyncLevel', toJsonText(guids, 'guids'), syncLevel);
  }
  async getAuditTrailByEntityGuid(entityGuid) {
    return this._session.call('getAuditTrailByEntityGuid', requireString(entityGuid, 'entityGuid'));
  }
  async getAuditLogsSince(timestamp) { return this._session.call('getAuditLogsSince', timestampArg(timestamp, 'timestamp')); }
  async saveAuditLogs(entries) { return this._session.write('saveAuditLogs', toJsonText(entries, 'audit logs')); }
  async getMerkleRoot() { return this._session.call('getMerkleRoot'); }
  async getProof(event) { return this._session.call('getProof', toJsonText(event, 'event')); }
  async verifyEvent(event, proof) {
    return this._session.call('verifyEvent', toJsonText(event, 'event'), toJsonText(proof, 'proof'));
  }
  async getSyncState(key) { return this._session.call('getSyncStateValue', requireString(key, 'key')); }
  async setSyncState(key, value) {
    return this._session.write('setSyncStateValue', requireString(key, 'key'), toJsonText(value, 'value'));
  }
  async getRejectedEvents() { return this._session.call('getRejectedEvents'); }
  // Clears events, audit log, Merkle tree and every sync watermark/cursor.
  async clearStore() { return this._session.write('clearEvents'); }

  // The original's watermark accessors.
  async getLastRemoteSyncTimestamp() { return this._watermark('lastRemoteSync'); }
  async setLastRemoteSyncTimestamp(timestamp) { return this._setWatermark('lastRemoteSync', timestamp); }
  async getLastLocalSyncTimestamp() { return this._watermark('lastLocalSync'); }
  async setLastLocalSyncTimestamp(timestamp) { return this._setWatermark('lastLocalSync', timestamp); }
  async getLastPullExternalSyncTimestamp() { return this._watermark('lastPullExternalSync'); }
  async setLastPullExternalSyncTimestamp(timestamp) { return this._setWatermark('lastPullExternalSync', timestamp); }
  async getLastPushExternalSyncTimestamp() { return this._watermark('lastPushExternalSync'); }
  async setLastPushExternalSyncTimestamp(timestamp) { return this._setWatermark('lastPushExternalSync', timestamp); }
  _watermark(name) { return this._session.call('getWatermark', name); }
  _setWatermark(name, timestamp) { return this._session.write('setWatermark', name, timestampArg(timestamp, 'timestamp')); }
}



/** @implements {DeclaredEntityStore} */
export class EntityStore {
  constructor(session) {
    this._session = session;
  }

  async getEntity(guid) { return this._session.call('getEntity', requireString(guid, 'guid')); }
  // Several entities in one engine call; null for each missing guid.
  async getEntities(guids) { return this._session.call('getEntities', toJsonText(guids, 'guids')); }
  async getEntityByExternalId(externalId) {
    return this._session.call('getEntityByExternalId', requireString(externalId, 'externalId'));
  }
  // Without page options: every pair (sorted by guid). With {limit, offset, sort}: one page,
  // {items, total, limit, offset}, so a large store never crosses into JS at once.
  async getAllEntities(page) {
    if (page === undefined) return this._session.call('getAllEntities');
    return readPage(this._session, [], page);
  }
  async searchEntities(criteria, page) {
    if (page === undefined) return this._session.call('searchEntities', criteriaText(criteria));
    return readPage(this._session, criteria, page);
  }
  async getModifiedEntitiesSince(timestamp) {
    return this._session.call('getModifiedEntitiesSince', timestampArg(timestamp, 'timestamp'));
  }
  async markEntityAsSynced(guid) { return this._session.write('markEntityAsSynced', requireString(guid, 'guid')); }
  async markAllEntitiesAsSynced() { return this._session.write('markAllEntitiesAsSynced'); }
  async deleteEntity(guid) { return this._session.write('deleteEntity', requireString(guid, 'guid')); }
  async savePotentialDuplicates(pairs) {
    return this._session.write('savePotentialDuplicates', toJsonText(pairs, 'potential duplicates'));
  }
  async getPotentialDuplicates() { return this._session.call('getPotentialDuplicates'); }
  async resolvePotentialDuplicates(pairs) {
    return this._session.write('resolvePotentialDuplicates', toJsonText(pairs, 'potential duplicates'));
  }
  async clearStore() { return this._session.write('clearEntities'); }
}

// Wraps a user's applier for the engine: (entityJson, formJson) -> JSON text of the result, or a
// marker object. It never throws into wasm (a JS exception unwinding through C++ frames would
// skip the Transaction's rollback), and it reports a Promise instead of waiting for it.
function engineApplier(session, type, applier) {
  const ctx = Object.freeze({
    getEntity: (guid) => session.call('applierGetEntity', requireString(guid, 'guid')),
    saveEntity: (action, existing, modified, changes = {}) =>
      session.call('applierSaveEntity', requireString(action, 'action'), toJsonText(existing ?? null, 'existing'),
        toJsonText(modified, 'modified'), toJsonText(changes, 'changes')),
  });
  return (entityJson, formJson) => {
    try {
      const result = applier(JSON.parse(entityJson), JSON.parse(formJson), ctx);
      if (result && typeof result.then === 'function') {
        result.then(undefined, () => {});  // the rejection is reported as the engine error instead
        return { thenable: true };
      }
      return toJsonText(result ?? null, `result of the event applier for ${type}`);
    } catch (error) {
      const code = error instanceof DataCollectError ? error.code : 'INVALID_FORM';
      const message = error instanceof DataCollectError
        ? error.message
        : `Event applier for type ${type} failed: ${error?.message ?? String(error)}`;
      return { error: { code, message } };
    }
  };
}

/** @implements {DeclaredEventApplierService} */
export class EventApplierService {
  constructor(session, entityStore = new EntityStore(session)) {
    this._session = session;
    this._entityStore = entityStore;
    this._appliers = new Map();
  }

  // Applies a form and resolves with the entity afterwards (null when deleted) once the
  // event is durable. Concurrent submits share flushes (group commit).
  async submitForm(form) {
    return submit(this._session, form, false);
  }

  // applier(entity, form, ctx) -> entity; synchronous and deterministic.
  async registerEventApplier(type, applier) {
    requireString(type, 'event type');
    if (typeof applier !== 'function') throw invalid('an event applier must be a function');
    if (applier.constructor?.name === 'AsyncFunction')
      throw invalid(`Event applier for type ${type} is an async function: event appliers must be synchronous and deterministic`);
    this._session.call('registerEventApplier', type, engineApplier(this._session, type, applier));
    this._appliers.set(type, applier);
  }

  async getEventApplier(type) { return this._appliers.get(type); }
  async searchEntities(criteria, page) { return this._entityStore.searchEntities(criteria, page); }
}

// Shared by EventApplierService.submitForm and EntityDataManager.submitForm (which lets the
// engine fill a missing timestamp from its hybrid logical clock).
export function submit(session, form, fillTimestamp) {
  let text;
  try {
    checkFormData(form);
    text = toJsonText(form, 'Form submission');
  } catch (error) {
    return Promise.reject(error);
  }
  return session.submits.submit(text, fillTimestamp);
}
