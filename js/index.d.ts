// Types of datacollect-sync (hand-written: Emscripten 3.1.6 cannot emit them, see docs/toolchain.md).
// The test suite type-checks a consumer against them (tests/js/types/consumer.ts) and the JS
// files against them (checkJs, tests/js/types/tsconfig.checkjs.json). Described in docs/api.md.

/** The codes of src/core/error_codes.def (docs/errors.md; checked by tests/js/error-codes.test.mjs). */
export type ErrorCode =
  | 'INVALID_FORM' | 'INVALID_MEMBER_DATA' | 'INVALID_GROUP' | 'ENTITY_NOT_FOUND' | 'NO_APPLIER'
  | 'DUPLICATES_EXIST' | 'UNAUTHORIZED' | 'NETWORK' | 'SERVER_ERROR' | 'BAD_RESPONSE' | 'STORAGE'
  | 'STORE_LOCKED' | 'CLOSED'
  /** API misuse: bad option values or arguments (page options, listeners, auto-sync options). */
  | 'INVALID_ARGUMENT'
  /** An engine bug (an unexpected C++ exception); never caused by input. */
  | 'INTERNAL'
  /** The WebAssembly module could not be loaded (a .wasm 404, a worker without a wasm location). */
  | 'LOAD_FAILED';

export declare const ErrorCodes: readonly ErrorCode[];

export declare class DataCollectError extends Error {
  constructor(code: ErrorCode, message: string, status?: number);
  readonly name: 'DataCollectError';
  readonly code: ErrorCode;
  /** HTTP status when a server answered. */
  readonly status?: number;
}

export declare const SyncLevel: Readonly<{ LOCAL: 0; REMOTE: 1; EXTERNAL: 2 }>;
export type SyncLevelValue = 0 | 1 | 2;

/** A value `data` may hold: plain JSON. Binary data, Date, Map, Set, NaN are rejected (INVALID_FORM). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * An event (FormSubmission). Built-in types: create-individual, update-individual, create-group,
 * update-group, add-member, remove-member, delete-entity (and any type with a registered applier).
 * `update-individual` / `update-group` on an entity that does not exist create it (upsert, as
 * the original library does).
 */
export interface FormSubmission {
  guid: string;
  entityGuid: string;
  type: string;
  data: { [key: string]: JsonValue };
  /** ISO-8601; stored as UTC with milliseconds. */
  timestamp: string;
  userId: string;
  syncLevel?: SyncLevelValue;
}

/** What EntityDataManager.submitForm accepts: guid, timestamp and userId are filled in when missing. */
export type FormInput = Omit<FormSubmission, 'guid' | 'timestamp' | 'userId'> &
  Partial<Pick<FormSubmission, 'guid' | 'timestamp' | 'userId'>>;

interface EntityBase {
  id: string;
  guid: string;
  externalId?: string;
  name?: string;
  version: number;
  data: { [key: string]: JsonValue };
  lastUpdated: string;
}

export interface IndividualDoc extends EntityBase {
  type: 'individual';
}

export interface GroupDoc extends EntityBase {
  type: 'group';
  memberIds: string[];
}

/** An entity document; narrow with `doc.type === 'group'`. */
export type EntityDoc = IndividualDoc | GroupDoc;

/** A group as returned by EntityDataManager.getEntity: with its members' documents. */
export interface DetailGroupDoc extends GroupDoc {
  members: EntityDoc[];
  memberCount: number;
}

export interface EntityPair<T extends EntityDoc | DetailGroupDoc = EntityDoc> {
  guid: string;
  /** State as last confirmed by the server (or the first local state). */
  initial: T;
  /** Current state. */
  modified: T;
}

export interface AuditLogEntry {
  guid: string;
  timestamp: string;
  userId: string;
  action: string;
  eventGuid: string;
  entityGuid: string;
  changes: { [key: string]: JsonValue };
  signature: string;
}

export interface PotentialDuplicate {
  entityGuid: string;
  duplicateGuid: string;
}

export interface ProofStep {
  hash: string;
  siblingOnLeft: boolean;
}

export interface RejectedEvent {
  /** As received (a rejected event need not be a valid FormSubmission). For code TOO_LARGE from a
   * pull, the server's placeholder `{guid, timestamp, tooLarge: <bytes>}` (docs/protocol.md, 'Response size'). */
  event: { [key: string]: JsonValue };
  code: string;
  message: string;
  source: 'pull' | 'push';
}

export interface EventPage {
  events: FormSubmission[];
  nextCursor: string | null;
}

export type SearchOperator = {
  $eq?: unknown; $ne?: unknown; $gt?: unknown; $gte?: unknown; $lt?: unknown; $lte?: unknown;
  $in?: unknown[]; $nin?: unknown[]; $regex?: string; $exists?: boolean;
};
/** Array of {field: condition}; all must hold. field: entity field or dotted path into data. */
export type SearchCriteria = Array<Record<string, string | number | boolean | null | SearchOperator>>;

/** Sort of a paged read: a search field ("name", "lastUpdated", "data.age", ...), ascending by default. */
export type SortSpec = string | { field: string; order?: 'asc' | 'desc' };

/** Page options of getAllEntities/searchEntities/watch. limit 0 (default) = no limit; ties sort by guid. */
export interface PageOptions {
  limit?: number;
  offset?: number;
  /** Default "guid". Strings compare case-insensitively; missing values sort first. */
  sort?: SortSpec;
}

export interface EntityPage {
  items: EntityPair[];
  /** How many entities matched in all (not only on this page). */
  total: number;
  limit: number;
  offset: number;
}

/** One committed change set (a local call, one pulled page, or a rebuild). */
export interface ChangeEvent {
  source: 'local' | 'sync' | 'rebuild';
  entityGuids: string[];
  eventGuids: string[];
  /** Set when clearStore() emptied entities or events. */
  cleared?: true;
}

export type Unsubscribe = () => void;

export interface ApplierContext {
  getEntity(guid: string): EntityDoc | null;
  saveEntity(action: string, existing: EntityDoc | null, modified: EntityDoc, changes?: { [key: string]: JsonValue }): void;
}

/** Synchronous and deterministic; returning a Promise is an error. */
export type EventApplier = (entity: EntityDoc | null, form: FormSubmission, ctx: ApplierContext) => EntityDoc | null;

export declare class EventStore {
  private constructor();
  getAllEvents(): Promise<FormSubmission[]>;
  getEvent(guid: string): Promise<FormSubmission | null>;
  isEventExisted(guid: string): Promise<boolean>;
  getEventsSince(timestamp: string | Date | null): Promise<FormSubmission[]>;
  getEventsSincePagination(cursor: string | Date | null, limit?: number): Promise<EventPage>;
  getUnsyncedEvents(): Promise<FormSubmission[]>;
  getUnsyncedEventsCount(): Promise<number>;
  updateEventSyncLevel(guids: string[], syncLevel: SyncLevelValue): Promise<void>;
  getAuditTrailByEntityGuid(entityGuid: string): Promise<AuditLogEntry[]>;
  getAuditLogsSince(timestamp: string | Date | null): Promise<AuditLogEntry[]>;
  saveAuditLogs(entries: AuditLogEntry[]): Promise<void>;
  getMerkleRoot(): Promise<string>;
  getProof(event: FormSubmission): Promise<ProofStep[]>;
  verifyEvent(event: FormSubmission, proof: ProofStep[]): Promise<boolean>;
  getSyncState(key: string): Promise<JsonValue>;
  setSyncState(key: string, value: JsonValue): Promise<void>;
  getRejectedEvents(): Promise<RejectedEvent[]>;
  getLastRemoteSyncTimestamp(): Promise<string>;
  setLastRemoteSyncTimestamp(timestamp: string | Date): Promise<void>;
  getLastLocalSyncTimestamp(): Promise<string>;
  setLastLocalSyncTimestamp(timestamp: string | Date): Promise<void>;
  getLastPullExternalSyncTimestamp(): Promise<string>;
  setLastPullExternalSyncTimestamp(timestamp: string | Date): Promise<void>;
  getLastPushExternalSyncTimestamp(): Promise<string>;
  setLastPushExternalSyncTimestamp(timestamp: string | Date): Promise<void>;
  /** Clears events, audit log, Merkle tree and every sync watermark/cursor. */
  clearStore(): Promise<void>;
}

export declare class EntityStore {
  private constructor();
  getEntity(guid: string): Promise<EntityPair | null>;
  getEntities(guids: string[]): Promise<Array<EntityPair | null>>;
  getEntityByExternalId(externalId: string): Promise<EntityPair | null>;
  getAllEntities(): Promise<EntityPair[]>;
  getAllEntities(page: PageOptions): Promise<EntityPage>;
  searchEntities(criteria: SearchCriteria): Promise<EntityPair[]>;
  searchEntities(criteria: SearchCriteria, page: PageOptions): Promise<EntityPage>;
  getModifiedEntitiesSince(timestamp: string | Date | null): Promise<EntityPair[]>;
  markEntityAsSynced(guid: string): Promise<void>;
  markAllEntitiesAsSynced(): Promise<void>;
  deleteEntity(guid: string): Promise<void>;
  savePotentialDuplicates(pairs: PotentialDuplicate[]): Promise<void>;
  getPotentialDuplicates(): Promise<PotentialDuplicate[]>;
  resolvePotentialDuplicates(pairs: PotentialDuplicate[]): Promise<void>;
  clearStore(): Promise<void>;
}

export declare class EventApplierService {
  private constructor();
  /** Resolves with the entity afterwards (null when deleted), once the event is durable. */
  submitForm(form: FormSubmission): Promise<EntityDoc | null>;
  registerEventApplier(type: string, applier: EventApplier): Promise<void>;
  getEventApplier(type: string): Promise<EventApplier | undefined>;
  searchEntities(criteria: SearchCriteria): Promise<EntityPair[]>;
  searchEntities(criteria: SearchCriteria, page: PageOptions): Promise<EntityPage>;
}

export interface SyncProgress {
  phase: 'push' | 'pull' | 'audit';
  done: number;
  total?: number;
}

export interface Conflict {
  entityGuid: string;
  localEventGuids: string[];
  remoteEventGuid: string;
  fields: string[];
  remoteEvent?: FormSubmission;
  localEvents?: FormSubmission[];
}

export interface SyncResult {
  pushed: number;
  pulled: number;
  applied: number;
  rejected: number;
  conflicts: number;
  rejectedEvents: RejectedEvent[];
  conflictList: Conflict[];
  /** The audit-log step failed; the events went through and the next sync retries it (docs/protocol.md). */
  auditError?: { code: ErrorCode; message: string; status?: number };
  /** A server paging by timestamp may have skipped events sharing one timestamp (docs/protocol.md). */
  possiblySkipped?: true;
}

/** What getSyncState() reports (never the token). */
export interface SyncStateReport {
  /** The pull cursor ("" before the first pull). */
  cursor: string;
  serverExtensions: boolean;
  lastResult: SyncResult | null;
  conflicts: Conflict[];
  rejectedEvents: RejectedEvent[];
}

export interface SyncStatus {
  /** "offline": the last attempt could not reach the server (NETWORK) or the browser is offline. */
  state: 'idle' | 'pushing' | 'pulling' | 'offline' | 'error';
  /** Local events not yet pushed. */
  unsynced: number;
  /** ISO-8601 time of the last successful sync(); kept in the store. */
  lastSyncedAt: string | null;
  lastError: { code: ErrorCode; message: string } | null;
  /** The last progress report of the running sync; null when none runs. */
  progress: SyncProgress | null;
}

export interface AutoSyncOptions {
  /** A sync every intervalMs (0 = none). Default 300000. */
  intervalMs?: number;
  /** A sync afterWriteMs after the last of a burst of local writes (0 = none). Default 2000. */
  afterWriteMs?: number;
  /** Sync when the browser's "online" event fires; no attempts while navigator.onLine is false. Default true. */
  whenOnline?: boolean;
  /** No automatic sync while document.visibilityState is "hidden". Default false. */
  pauseWhenHidden?: boolean;
  /** First retry after a failure; doubles per consecutive failure up to maxBackoffMs. Default 5000. */
  retryBaseMs?: number;
  /** Default 300000. */
  maxBackoffMs?: number;
}

export type AuthAnswer = string | { email: string; password: string } | null;

export interface SyncOptions {
  /** Events per push request; 0 = auto (10, or 500 once the server shows our protocol extensions, docs/protocol.md). */
  pushChunkSize?: number;
  /** `limit` sent on pull; 0 = auto. */
  pullLimit?: number;
  /** Attempts per request on network errors and 5xx. */
  maxAttempts?: number;
  backoffBaseMs?: number;
  /** Integer 1..2^31-1, default 30000; the request is aborted when it runs out. */
  requestTimeoutMs?: number;
  tokenRefreshMarginMs?: number;
  /** Largest response body accepted, integer 1024..2^31-1, default 8 MiB; a larger one is aborted while it arrives (docs/protocol.md, 'Transport'); pulls ask the server to stay under it (docs/protocol.md, 'Response size'). */
  maxResponseBytes?: number;
  onProgress?: (progress: SyncProgress) => void;
  onAuthRequired?: (reason: 'unauthorized' | 'token-expiring') => AuthAnswer | Promise<AuthAnswer>;
  /** Synchronous; returns a form to submit as the resolution, or null for the default order. */
  onConflict?: (conflict: Conflict) => FormInput | null;
}

export declare class InternalSyncManager {
  constructor(eventStore: EventStore, entityStore: EntityStore, eventApplierService: EventApplierService,
    syncServerUrl: string, authToken?: string, configId?: string, options?: SyncOptions);
  readonly isSyncing: boolean;
  login(email: string, password: string): Promise<{ userId?: string }>;
  setAuthToken(token: string): Promise<void>;
  logout(): Promise<void>;
  hasAuthToken(): Promise<boolean>;
  getUnsyncedEventsCount(): Promise<number>;
  hasUnsyncedEvents(): Promise<boolean>;
  checkIfDuplicatesExist(): Promise<boolean>;
  sync(): Promise<SyncResult>;
  pushToRemote(): Promise<SyncResult>;
  pullFromRemote(): Promise<SyncResult>;
  getSyncState(): Promise<SyncStateReport>;
  readonly status: SyncStatus;
  onStatusChange(listener: (status: SyncStatus) => void): Unsubscribe;
  /** Starts (or restarts with new options) automatic sync; close() stops it. */
  startAutoSync(options?: AutoSyncOptions): void;
  stopAutoSync(): void;
  readonly autoSyncRunning: boolean;
  getOptions(): Required<Omit<SyncOptions, 'onProgress' | 'onAuthRequired' | 'onConflict'>>;
  setOptions(options: Omit<SyncOptions, 'onProgress' | 'onAuthRequired' | 'onConflict'>): void;
  setProgressCallback(fn: ((progress: SyncProgress) => void) | null): void;
  setAuthRequiredHook(fn: SyncOptions['onAuthRequired'] | null): void;
  setConflictResolver(fn: SyncOptions['onConflict'] | null): void;
}

export declare class EntityDataManager {
  constructor(eventStore: EventStore, entityStore: EntityStore, eventApplierService: EventApplierService,
    internalSyncManager?: InternalSyncManager | null, options?: { userId?: string });
  submitForm(form: FormInput): Promise<EntityDoc | null>;
  /** Throws ENTITY_NOT_FOUND; a group's `modified` carries `members` and `memberCount`. */
  getEntity(guid: string): Promise<EntityPair<EntityDoc | DetailGroupDoc>>;
  /** Throws INVALID_GROUP when the guid is not a group. */
  getMembers(groupGuid: string): Promise<EntityPair[]>;
  getAllEntities(): Promise<EntityPair[]>;
  getAllEntities(page: PageOptions): Promise<EntityPage>;
  getAllEvents(): Promise<FormSubmission[]>;
  searchEntities(criteria: SearchCriteria): Promise<EntityPair[]>;
  searchEntities(criteria: SearchCriteria, page: PageOptions): Promise<EntityPage>;
  getAuditTrailByEntityGuid(entityGuid: string): Promise<AuditLogEntry[]>;
  getPotentialDuplicates(): Promise<PotentialDuplicate[]>;
  hasUnsyncedEvents(): Promise<boolean>;
  getUnsyncedEventsCount(): Promise<number>;
  isSyncing(): boolean;
  syncWithSyncServer(): Promise<SyncResult>;
  login(email: string, password: string): Promise<{ userId?: string }>;
  setAuthToken(token: string): Promise<void>;
}

/** An instance of the WebAssembly module (opaque). */
export interface DataCollectModule {
  readonly __brand?: 'DataCollectModule';
}

export interface OpenOptions {
  /** Store name (no slashes). Default "default". */
  name?: string;
  /** "indexeddb" (browser default), "memory" (Node default) or a directory (Node). */
  storage?: 'indexeddb' | 'memory' | { directory: string };
  /** Filled into forms submitted through entityDataManager without a userId. */
  userId?: string;
  /** Absolute http:/https: URL without credentials, query or fragment (else INVALID_ARGUMENT). */
  syncServerUrl?: string;
  authToken?: string;
  configId?: string;
  /** A second opener of the same store: "fail" (STORE_LOCKED, default) or "wait". */
  lock?: 'fail' | 'wait';
  sync?: SyncOptions;
  /** Advanced: a module instance from createModuleInstance() (tests model a page reload). */
  module?: DataCollectModule;
  /** Where the .wasm is, when the default (beside the package's dist/ files) does not work. */
  wasmUrl?: string | URL;
  /** The .wasm bytes themselves (instead of a URL). */
  wasmBinary?: ArrayBuffer | ArrayBufferView;
}

/** Options of the first loadModule() / of createModuleInstance(). */
export interface ModuleOptions {
  wasmUrl?: string | URL;
  wasmBinary?: ArrayBuffer | ArrayBufferView;
}

export interface OpenStore {
  eventStore: EventStore;
  entityStore: EntityStore;
  eventApplierService: EventApplierService;
  /** null when no syncServerUrl was given. */
  syncManager: InternalSyncManager | null;
  entityDataManager: EntityDataManager;
  /** listener(change) after each committed change set; listeners never run inside an engine call. */
  onChange(listener: (change: ChangeEvent) => void): Unsubscribe;
  /**
   * A live query: listener(page, null) with the current results (on a microtask), then
   * listener(page, change) after each change set that can affect them (an entity that matched
   * or matches now changed); at most one call per change batch.
   */
  watch(criteria: SearchCriteria, listener: (page: EntityPage, change: ChangeEvent | null) => void, page?: PageOptions): Unsubscribe;
  /** Waits for running operations, frees everything (listeners, automatic sync); later calls reject with CLOSED. */
  close(): Promise<void>;
}

export declare function open(options?: OpenOptions): Promise<OpenStore>;

export type ValidationResult =
  | { ok: true; event: FormSubmission }
  | { ok: false; code: ErrorCode; message: string };

/**
 * Event validation (dc::Event::fromJson) without storing. Synchronous once loadModule() has
 * resolved; called before that it returns a Promise of the result (`await` works either way;
 * getValidator() gives a function typed as synchronous).
 */
export declare function validateEvent(obj: unknown): ValidationResult | Promise<ValidationResult>;
export declare function getValidator(): Promise<(obj: unknown) => ValidationResult>;
/**
 * validateEvent for a whole array in one engine call (the reference server validates a push this
 * way): one result per element, in order. A valid result's `event.data` is the input's own
 * `data` object (validateEvent returns a copy). Synchronous once `await loadModule()` has resolved.
 */
export declare function validateEvents(list: unknown[]): ValidationResult[] | Promise<ValidationResult[]>;
/** Loads the shared module instance (once; the options of the call that loads it apply). LOAD_FAILED on failure. */
export declare function loadModule(options?: ModuleOptions): Promise<DataCollectModule>;
/** A new, independent module instance (own memory and file system). */
export declare function createModuleInstance(options?: ModuleOptions): Promise<DataCollectModule>;
