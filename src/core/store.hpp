#pragma once
// One store (docs/storage.md): event log, audit log, entities, potential duplicates, sync state, token.
// All of it lives in memory (core/store_state.hpp) and is persisted as one append-only journal of
// records (core/journal.hpp, core/record.hpp): one Transaction = one record, so an event, its
// entity changes, audit entries, duplicate flags and sync-state changes are durable together or
// not at all. A torn tail of the last segment is cut off on open; damage that an interrupted
// append cannot produce is Error(STORAGE) (docs/storage.md, 'Crash guarantees').
//
// EventStore and EntityStore (the API classes of js/index.d.ts) are views over one Store.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/duplicates.hpp"
#include "core/merkle.hpp"
#include "core/model.hpp"
#include "core/record.hpp"  // RejectedEvent
#include "core/storage.hpp"
#include "core/transaction.hpp"

namespace dc {

// State keys with this prefix survive clearEvents() (e.g. "device.authToken", "device.hlc").
inline constexpr const char* kDeviceStatePrefix = "device.";

// What one commit changed, for change listeners (the JS layer's store.onChange): entities put,
// deleted or marked synced, and events added or whose sync level changed. `cleared` is set by
// clearEvents()/clearEntities(); `rebuild` when the commit replaced the entities (a rebuild).
struct CommitNotice {
  std::vector<std::string> entityGuids;
  std::vector<std::string> eventGuids;
  bool rebuild = false;
  bool cleared = false;
};
using CommitObserver = std::function<void(const CommitNotice&)>;

class Store {
 public:
  // Replays the journal. Throws Error(STORAGE) only when the storage itself fails; a torn tail
  // is truncated, never fatal.
  static std::shared_ptr<Store> open(std::shared_ptr<Storage> storage);

  // --- read side (committed state) ---
  const std::vector<Event>& events() const;  // application order
  const Event* findEvent(const std::string& guid) const;
  const std::vector<AuditEntry>& auditLog() const;
  const EntityPair* findEntity(const std::string& guid) const;
  const std::unordered_map<std::string, EntityPair>& entities() const;
  const std::set<std::pair<std::string, std::string>>& potentialDuplicates() const;  // (entityGuid, duplicateGuid)
  const DuplicateIndex& duplicateIndex() const;
  std::optional<Json> state(const std::string& key) const;  // sync state, token, cursors, HLC
  const std::map<std::string, RejectedEvent>& rejectedEvents() const;  // by event guid
  const MerkleTree& merkle() const;
  size_t merkleIndexOf(const std::string& eventGuid) const;  // throws out_of_range when absent
  EventKey maxAppliedKey() const;                            // largest (timestamp, guid) in the log
  size_t auditPushedCount() const;                           // audit entries already sent
  // Indexes kept so the API classes answer without scanning the whole store.
  const std::map<EventKey, size_t>& eventsByKey() const;  // (timestamp, guid) -> index in events()
  const std::set<size_t>& outbox() const;                 // indices of LOCAL events, ascending
  bool hasAudit(const std::string& auditGuid) const;
  std::vector<const AuditEntry*> auditOfEntity(const std::string& entityGuid) const;  // log order
  const EntityPair* findEntityByExternalId(const std::string& externalId) const;
  // For scoped replay (docs/convergence.md, 'Scoped replay'): the stored events that touched or
  // read an entity (null when none); stored events whose refs are unknown (version 1 records);
  // whether the
  // entity was ever in a duplicate pair; the data entities had before their current data.
  const std::set<EventKey>* eventsReferencing(const std::string& entityGuid) const;
  const std::vector<std::string>* refsOfEvent(const std::string& eventGuid) const;  // besides its own entity
  bool hasEventsLackingRefs() const;
  bool eventLacksRefs(const std::string& eventGuid) const;
  bool everFlagged(const std::string& entityGuid) const;
  const DuplicateIndex& pastData() const;
  // Bytes of a torn tail cut off the last journal segment by open() (0 after a clean shutdown).
  size_t recoveredTailBytes() const;

  // Called after every commit that changed entities or events (never during replay). The
  // observer must not write to the store.
  void setCommitObserver(CommitObserver observer);

  // --- write side: everything goes through a Transaction ---
  Storage& storage();
  // Group commit: makes every committed transaction durable, then calls done.
  void flush(FlushCallback done);

  // While one exists, committed records are held back and appended to the journal in one write
  // when the outermost batch finishes (a pulled page: one write instead of one per event). Reads
  // see every commit at once, as always. If that write fails the store is left unusable
  // (STORAGE, "reopen the store") rather than holding state its journal lacks.
  class WriteBatch {
   public:
    explicit WriteBatch(Store& store);
    ~WriteBatch();  // finishes if finish() was not called; a failure then only marks the store
    void finish();  // throws Error(STORAGE) when the write fails
    WriteBatch(const WriteBatch&) = delete;
    WriteBatch& operator=(const WriteBatch&) = delete;

   private:
    Store& store_;
    bool finished_ = false;
  };

  // Outside-a-transaction operations, each one journal record.
  void markEventsSynced(const std::vector<std::string>& guids, int level);
  void markEntitiesSynced(const std::vector<std::string>& guids);  // initial := modified
  void setAuditPushedCount(size_t n);
  // Events, audit log, Merkle tree, outbox, sync state, rejected events. State keys starting with
  // kDeviceStatePrefix (token, clock) describe the device, not the log, and survive.
  void clearEvents();
  void clearEntities();  // entities and potential duplicates

 private:
  friend class Transaction;
  struct Impl;
  std::unique_ptr<Impl> impl_;

 public:
  Store();
  ~Store();
};

}  // namespace dc
