#pragma once
// The committed state of a store in memory (docs/storage.md, 'Store state'): the logs, entities,
// duplicate pairs, sync state and the indexes derived from them. It changes only by apply() of a
// Record, on commit and on replay alike.
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/duplicates.hpp"
#include "core/merkle.hpp"
#include "core/model.hpp"
#include "core/record.hpp"

namespace dc {

struct CommitNotice;

struct StoreState {
  // Event log and its indexes.
  std::vector<Event> events;                        // application order; Merkle leaf i is events[i]
  std::unordered_map<std::string, size_t> eventIndex;  // guid -> index in events
  std::map<EventKey, size_t> byKey;                 // (timestamp, guid) -> index in events
  std::set<size_t> outbox;                          // indices of LOCAL events
  MerkleTree merkle;

  // Audit log and its indexes.
  std::vector<AuditEntry> audit;
  std::unordered_set<std::string> auditGuids;
  std::unordered_map<std::string, std::vector<size_t>> auditByEntity;

  // Entities, potential duplicates and their indexes.
  std::unordered_map<std::string, EntityPair> entities;
  std::unordered_map<std::string, std::set<std::string>> byExternalId;
  std::set<std::pair<std::string, std::string>> dups;  // (entityGuid, duplicateGuid), one orientation
  DuplicateIndex dupIndex;

  // Scoped replay (docs/convergence.md, 'Scoped replay'): the events that touched or read each
  // entity; whether every stored event has its refs (false after version 1 records: then late
  // events take the full replay); entities ever in a duplicate pair; past data signatures.
  std::unordered_map<std::string, std::set<EventKey>> refsByEntity;
  std::unordered_map<std::string, std::vector<std::string>> refsOfEvent;  // the same, by event guid (its own entity implied)
  std::unordered_set<std::string> eventsLackingRefs;  // stored by version 1 records
  std::unordered_set<std::string> everFlagged;
  DuplicateIndex pastData;  // keyed "<guid>\x1f<n>": every data an entity had before its current one
  size_t pastSeq = 0;

  std::map<std::string, Json> state;  // sync state, token, cursors, clock
  std::map<std::string, RejectedEvent> rejected;

  bool hasDuplicatePair(const std::string& a, const std::string& b) const {
    return dups.count({a, b}) || dups.count({b, a});
  }

  // Applies a record. Only container operations: it cannot fail half-way for a reason other than
  // running out of memory.
  void apply(Record&& r);

  // The guids a record touches, read before it is applied (a cleared store's entities are listed).
  CommitNotice noticeOf(const Record& r, bool rebuild) const;

 private:
  void unindexEntity(const std::string& guid, const Json& modified);
  void rememberData(const std::string& guid, const Json& entityDoc);
};

}  // namespace dc
