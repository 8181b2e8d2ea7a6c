// A small consumer of the package's hand-written types (js/index.d.ts); compiled with
// `tsc --noEmit` by tests/js/types.test.mjs. Every public entry point appears at least once.
import {
  DataCollectError, EntityDataManager, InternalSyncManager, SyncLevel, createModuleInstance, getValidator, loadModule,
  open, validateEvent,
  type AuditLogEntry, type ChangeEvent, type EntityDoc, type EntityPage, type EntityPair, type ErrorCode, type EventApplier,
  type FormSubmission, type OpenStore, type PotentialDuplicate, type SyncProgress, type SyncResult, type SyncStatus,
  type SyncStateReport, type ValidationResult,
} from '../../../js/index.js';

async function main(): Promise<void> {
  await loadModule({ wasmUrl: new URL('https://example.org/datacollect.wasm') });
  const maybe: ValidationResult | Promise<ValidationResult> = validateEvent({ guid: 'g' });
  void maybe;
  const verdict: ValidationResult = (await getValidator())({ guid: 'g' });
  if (verdict.ok) {
    const event: FormSubmission = verdict.event;
    void event.timestamp;
  } else {
    const code: ErrorCode = verdict.code;
    void code;
  }
  const validate = await getValidator();
  void validate({});

  const store: OpenStore = await open({
    name: 'households', storage: { directory: '/tmp/x' }, userId: 'u', syncServerUrl: 'http://127.0.0.1:8080',
    authToken: '', configId: 'default', lock: 'wait',
    sync: { pushChunkSize: 10, onProgress: (p: SyncProgress) => void p.done, onAuthRequired: async () => null },
  });
  const { eventStore, entityStore, eventApplierService, entityDataManager } = store;

  const form: FormSubmission = {
    guid: 'g1', entityGuid: 'e1', type: 'create-individual', data: { name: 'Ada' },
    timestamp: new Date().toISOString(), userId: 'u', syncLevel: SyncLevel.LOCAL,
  };
  const entity: EntityDoc | null = await eventApplierService.submitForm(form);
  void entity?.version;
  // EntityDoc is a discriminated union: memberIds only after narrowing to a group.
  if (entity?.type === 'group') {
    const members: string[] = entity.memberIds;
    void members;
  }
  // @ts-expect-error a typo in a field name does not compile (no catch-all index signature)
  void entity?.nmae;
  // @ts-expect-error an individual has no memberIds
  if (entity?.type === 'individual') void entity.memberIds;

  const paged: EntityPage = await entityStore.getAllEntities({ limit: 50, offset: 0, sort: { field: 'name', order: 'desc' } });
  const total: number = paged.total;
  const arr: EntityPair[] = await entityStore.getAllEntities();
  const found: EntityPage = await entityStore.searchEntities([{ 'data.age': { $gt: 1 } }], { limit: 10, sort: 'name' });
  void [total, arr, found];
  const stopChanges = store.onChange((change: ChangeEvent) => {
    const source: 'local' | 'sync' | 'rebuild' = change.source;
    void [source, change.entityGuids.length, change.eventGuids.length];
  });
  const stopWatch = store.watch([{ type: 'group' }], (results, change) => void [results.items, change?.source], { limit: 20 });
  stopChanges();
  stopWatch();
  const applier: EventApplier = (current, f, ctx) => {
    const other = ctx.getEntity(f.entityGuid);
    if (other) ctx.saveEntity('touch', other, { ...other, version: other.version + 1 });
    return current;
  };
  await eventApplierService.registerEventApplier('custom', applier);

  const pairs: EntityPair[] = await entityStore.searchEntities([{ name: 'ada' }, { 'data.age': { $gt: 30 } }]);
  const dupes: PotentialDuplicate[] = await entityStore.getPotentialDuplicates();
  await entityStore.resolvePotentialDuplicates(dupes);
  const audit: AuditLogEntry[] = await eventStore.getAuditTrailByEntityGuid('e1');
  const page = await eventStore.getEventsSincePagination(null, 10);
  const next: string | null = page.nextCursor;
  const proof = await eventStore.getProof(form);
  const verified: boolean = await eventStore.verifyEvent(form, proof);
  await eventStore.setLastRemoteSyncTimestamp(new Date());
  void [pairs, audit, next, verified];

  await entityDataManager.submitForm({ entityGuid: 'e2', type: 'create-individual', data: { name: 'Bob' } });
  const detail = await entityDataManager.getEntity('e1');
  void detail.modified;
  const count: number = await entityDataManager.getUnsyncedEventsCount();
  void count;

  const manager = new InternalSyncManager(eventStore, entityStore, eventApplierService, 'http://127.0.0.1:8080', 'jwt-token', 'config-123');
  await manager.login('user@example.com', 'password');
  if (await manager.hasUnsyncedEvents() && !manager.isSyncing) {
    const result: SyncResult = await manager.sync();
    void result.pushed;
    void result.rejectedEvents.length;  // always present
    // @ts-expect-error a typo in a result field does not compile
    void result.pushedd;
  }
  const status: SyncStatus = manager.status;
  if (status.state === 'offline' || status.lastError?.code === 'NETWORK') void status.unsynced;
  void status.lastSyncedAt?.length;
  const stopStatus = manager.onStatusChange((s) => void s.progress?.total);
  stopStatus();
  manager.startAutoSync({ intervalMs: 60_000, afterWriteMs: 2_000, whenOnline: true, pauseWhenHidden: true });
  manager.stopAutoSync();
  const report: SyncStateReport = await manager.getSyncState();
  void report.lastResult?.pulled;
  await manager.pushToRemote();
  await manager.pullFromRemote();
  manager.setConflictResolver((conflict) => (conflict.fields.length ? null : null));

  const facade = new EntityDataManager(eventStore, entityStore, eventApplierService, manager, { userId: 'u' });
  await facade.syncWithSyncServer();

  try {
    await entityStore.getAllEntities();
  } catch (e) {
    if (e instanceof DataCollectError && e.code === 'CLOSED') void e.status;
  }
  await store.close();
  await open({ module: await createModuleInstance(), storage: 'memory' });
}

void main;

// @ts-expect-error storage must be one of the documented kinds
void open({ storage: 'floppy' });
// @ts-expect-error submitForm needs a FormSubmission
void (null as unknown as OpenStore).eventApplierService.submitForm({ type: 'x' });
// @ts-expect-error data holds JSON values only (a Date is rejected at run time too)
void (null as unknown as OpenStore).entityDataManager.submitForm({ entityGuid: 'e', type: 'x', data: { when: new Date() } });
