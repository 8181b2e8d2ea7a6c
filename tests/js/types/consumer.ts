// A small consumer of the package's hand-written types (js/index.d.ts); compiled with
// `tsc --noEmit` by tests/js/types.test.mjs. Every public entry point appears at least once.
import {
  DataCollectError, EntityDataManager, InternalSyncManager, SyncLevel, createModuleInstance, getValidator, loadModule,
  open, validateEvent,
  type AuditLogEntry, type EntityDoc, type EntityPair, type ErrorCode, type EventApplier, type FormSubmission,
  type OpenStore, type PotentialDuplicate, type SyncProgress, type SyncResult, type ValidationResult,
} from '../../../js/index.js';

async function main(): Promise<void> {
  await loadModule();
  const verdict: ValidationResult = validateEvent({ guid: 'g' });
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
  }
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
