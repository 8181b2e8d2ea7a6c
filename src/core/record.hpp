#pragma once
// The journal record format (docs/storage.md, 'Record format'): what one commit changed, as one
// JSON object. Commit and replay both apply the same Record (core/store_state.hpp), so the state
// after a reopen is by construction the state before it. Snapshots are written as records too
// (docs/storage.md, 'Snapshots').
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/merkle.hpp"
#include "core/model.hpp"

namespace dc {

// Written as "v" in every record. 1: records before versioning (no "v"; events may lack "h").
// 2: "v" present; the rest is unchanged, so version 1 records are still read. A record of a
// newer version is refused (Error STORAGE) rather than half-understood.
inline constexpr int kRecordFormatVersion = 2;

// A pulled (or pushed) event that could not be applied/accepted; kept and reported, not retried
// forever (docs/protocol.md, 'Accepted and rejected'; docs/convergence.md, 'Failed events').
struct RejectedEvent {
  Json event;  // as received
  std::string code;
  std::string message;
  std::string source;  // "pull" (failed to apply here) or "push" (rejected by the server)
  Json toJson() const;
};

struct Record {
  int version = kRecordFormatVersion;  // of the record read; always the current one when written
  bool clearEvents = false;
  bool clearEntities = false;
  std::vector<Event> events;
  std::vector<Digest> leaves;  // Merkle leaf of each event, filled by encode() or decode()
  std::vector<std::string> syncedGuids;
  int syncedLevel = LOCAL;
  std::vector<AuditEntry> audit;
  std::vector<std::string> deletes;
  // An entity new to the store gets initial = modified (its first committed state,
  // docs/convergence.md); an existing one keeps its initial. Deciding this at apply time keeps
  // records small.
  struct Put {
    std::string guid;
    Json modified;
  };
  std::vector<Put> puts;
  std::vector<std::pair<std::string, std::string>> dupRemove;  // either orientation
  std::vector<std::pair<std::string, std::string>> dupAdd;
  std::vector<std::pair<std::string, Json>> state;  // null deletes the key
  std::vector<std::pair<std::string, RejectedEvent>> rejected;
  std::vector<std::string> unrejected;  // rejections withdrawn: the event applies now
  std::vector<std::string> entitiesSynced;
  // Entities each event touched or read when it was applied (event guid -> entity guids): the
  // per-entity event index scoped replay uses (docs/convergence.md, 'Scoped replay'). Only grows.
  std::vector<std::pair<std::string, std::vector<std::string>>> refs;

  bool empty() const;

  // Record text. Fills `leaves`. Invalid UTF-8 throws Error(STORAGE): it could not be read back.
  std::string encode();
  // Reads a record back (any version up to kRecordFormatVersion), moving the documents out of the
  // parsed tree. Throws on a malformed record.
  static Record decode(Json&& j);

  Record();
  ~Record();
  Record(Record&&) noexcept;
  Record& operator=(Record&&) noexcept;
};

// The audit log's `changes` for an entity going from `before` to `after`: top-level fields with
// their new value (null when removed) and `data` as a shallow diff, bookkeeping fields (id,
// version, lastUpdated) left out. The one definition: the applier records it, and the record
// format stores a creation entry (before = nothing) as a reference to the entity's put and
// recomputes it on replay.
Json auditChanges(const std::optional<Json>& before, const Json& after);

}  // namespace dc
