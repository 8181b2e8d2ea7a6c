// EntityDataManager: the facade the original's apps use day to day (js/index.d.ts).
import { DataCollectError, invalid, requireString } from './errors.js';
import { submit } from './stores.js';

function newGuid() {
  if (typeof globalThis.crypto?.randomUUID === 'function') return globalThis.crypto.randomUUID();
  throw new DataCollectError('INVALID_FORM', 'Form submission is missing a GUID (no crypto.randomUUID here to make one)');
}

export class EntityDataManager {
  constructor(eventStore, entityStore, eventApplierService, internalSyncManager = null, { userId } = {}) {
    this.eventStore = eventStore;
    this.entityStore = entityStore;
    this.eventApplierService = eventApplierService;
    this.internalSyncManager = internalSyncManager;
    this.userId = userId;
  }

  // Fills guid (UUID v4), userId (the store's user) and timestamp (the engine's hybrid logical
  // clock, so a local edit sorts after every event seen here) when missing; resolves once durable.
  async submitForm(form) {
    let filled = form;
    if (form && typeof form === 'object' && !Array.isArray(form)) {
      filled = { ...form };
      if (filled.guid === undefined || filled.guid === null || filled.guid === '') filled.guid = newGuid();
      if ((filled.userId === undefined || filled.userId === null) && this.userId) filled.userId = this.userId;
    }
    return submit(this.eventStore._session, filled, true);
  }

  // The entity pair; a group's `modified` gains `members` (member documents) and `memberCount`.
  async getEntity(guid) {
    const pair = await this.entityStore.getEntity(requireString(guid, 'guid'));
    if (!pair) throw new DataCollectError('ENTITY_NOT_FOUND', `Entity with ID ${guid} not found`);
    if (pair.modified?.type !== 'group') return pair;
    const members = (await this.entityStore.getEntities(pair.modified.memberIds ?? []))
      .filter(Boolean)
      .map((member) => member.modified);
    return { ...pair, modified: { ...pair.modified, members, memberCount: members.length } };
  }

  // Member pairs of a group, in memberIds order (missing members skipped).
  async getMembers(groupGuid) {
    const pair = await this.entityStore.getEntity(requireString(groupGuid, 'groupGuid'));
    if (!pair || pair.modified?.type !== 'group')
      throw new DataCollectError('INVALID_GROUP', `Group with ID ${groupGuid} not found or is not a group`);
    return (await this.entityStore.getEntities(pair.modified.memberIds ?? [])).filter(Boolean);
  }

  async getAllEntities() { return this.entityStore.getAllEntities(); }
  async getAllEvents() { return this.eventStore.getAllEvents(); }
  async searchEntities(criteria) { return this.entityStore.searchEntities(criteria); }
  async getAuditTrailByEntityGuid(entityGuid) { return this.eventStore.getAuditTrailByEntityGuid(entityGuid); }
  async getPotentialDuplicates() { return this.entityStore.getPotentialDuplicates(); }
  async hasUnsyncedEvents() { return (await this.eventStore.getUnsyncedEventsCount()) > 0; }
  async getUnsyncedEventsCount() { return this.eventStore.getUnsyncedEventsCount(); }
  isSyncing() { return this.internalSyncManager?.isSyncing ?? false; }

  async syncWithSyncServer() { return this.#sync().sync(); }
  async login(email, password) { return this.#sync().login(email, password); }
  async setAuthToken(token) { return this.#sync().setAuthToken(token); }

  #sync() {
    if (!this.internalSyncManager) throw invalid('No sync server configured: open the store with syncServerUrl');
    return this.internalSyncManager;
  }
}
