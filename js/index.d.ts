// Types of datacollect-sync (hand-written: Emscripten 3.1.6 cannot emit them, see docs/toolchain.md).
// Type-checked against tests/js/types/consumer.ts by the test suite.

export type ErrorCode =
  | 'INVALID_FORM' | 'INVALID_MEMBER_DATA' | 'INVALID_GROUP' | 'ENTITY_NOT_FOUND' | 'NO_APPLIER'
  | 'DUPLICATES_EXIST' | 'UNAUTHORIZED' | 'NETWORK' | 'SERVER_ERROR' | 'BAD_RESPONSE' | 'STORAGE'
  | 'STORE_LOCKED' | 'CLOSED'
  /** An engine bug (an unexpected C++ exception); never caused by input. */
  | 'INTERNAL';

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

/** An event (FormSubmission): its wire shape is in docs/protocol.md, 'Conventions'. */
export interface FormSubmission {
  guid: string;
  entityGuid: string;
  type: string;
  data: Record<string, unknown>;
  /** ISO-8601; stored as UTC with milliseconds. */
  timestamp: string;
  userId: string;
  syncLevel?: SyncLevelValue;
}

/** What EntityDataManager.submitForm accepts: guid, timestamp and userId are filled in when missing. */
export type FormInput = Omit<FormSubmission, 'guid' | 'timestamp' | 'userId'> &
  Partial<Pick<FormSubmission, 'guid' | 'timestamp' | 'userId'>>;

export interface EntityDoc {
  id: string;
  guid: string;
  externalId?: string;
  name?: string;
  type: 'individual' | 'group' | string;
  version: number;
  data: Record<string, unknown>;
  lastUpdated: string;
  [extra: string]: unknown;
}

export interface GroupDoc extends EntityDoc {
  type: 'group';
  memberIds: string[];
}

/** A group as returned by EntityDataManager.getEntity: with its members' documents. */
export interface DetailGroupDoc extends GroupDoc {
  members: EntityDoc[];
  memberCount: number;
}

export interface EntityPair<T extends EntityDoc = EntityDoc> {
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
  changes: Record<string, unknown>;
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
  event: FormSubmission | Record<string, unknown>;
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

export interface ApplierContext {
  getEntity(guid: string): EntityDoc | null;
  saveEntity(action: string, existing: EntityDoc | null, modified: EntityDoc, changes?: Record<string, unknown>): void;
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
  getSyncState(key: string): Promise<unknown>;
  setSyncState(key: string, value: unknown): Promise<void>;
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
  searchEntities(criteria: SearchCriteria): Promise<EntityPair[]>;
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
  rejectedEvents?: RejectedEvent[];
  conflictList?: Conflict[];
  [extra: string]: unknown;
}

export type AuthAnswer = string | { email: string; password: string } | null;

export interface SyncOptions {
  /** Events per push request; 0 = auto (10, or 500 once the server shows the extensions; docs/protocol.md). */
  pushChunkSize?: number;
  /** `limit` sent on pull; 0 = auto. */
  pullLimit?: number;
  /** Attempts per request on network errors and 5xx. */
  maxAttempts?: number;
  backoffBaseMs?: number;
  requestTimeoutMs?: number;
  tokenRefreshMarginMs?: number;
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
  getSyncState(): Promise<Record<string, unknown>>;
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
  getAllEvents(): Promise<FormSubmission[]>;
  searchEntities(criteria: SearchCriteria): Promise<EntityPair[]>;
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
  syncServerUrl?: string;
  authToken?: string;
  configId?: string;
  /** A second opener of the same store: "fail" (STORE_LOCKED, default) or "wait". */
  lock?: 'fail' | 'wait';
  sync?: SyncOptions;
  /** Advanced: a module instance from createModuleInstance() (tests model a page reload). */
  module?: DataCollectModule;
}

export interface OpenStore {
  eventStore: EventStore;
  entityStore: EntityStore;
  eventApplierService: EventApplierService;
  /** null when no syncServerUrl was given. */
  syncManager: InternalSyncManager | null;
  entityDataManager: EntityDataManager;
  /** Waits for running operations, frees everything; later calls reject with CLOSED. */
  close(): Promise<void>;
}

export declare function open(options?: OpenOptions): Promise<OpenStore>;

export type ValidationResult =
  | { ok: true; event: FormSubmission }
  | { ok: false; code: ErrorCode; message: string };

/**
 * The engine's event validation (dc::Event::fromJson) without storing. Synchronous once loadModule() has
 * resolved; called before that it returns a Promise of the result (`await` works either way).
 */
export declare function validateEvent(obj: unknown): ValidationResult;
export declare function getValidator(): Promise<(obj: unknown) => ValidationResult>;
/** Loads the shared module instance (once). */
export declare function loadModule(): Promise<DataCollectModule>;
/** A new, independent module instance (own memory and file system). */
export declare function createModuleInstance(): Promise<DataCollectModule>;
