#pragma once
// EventApplierService: validates a form, applies it to entities, and stores event,
// entity changes, audit entries and duplicate flags in one Transaction.
// Events are applied in the total order (timestamp, guid) (docs/convergence.md): an event that sorts after
// everything applied is applied incrementally; one that sorts before is applied in its position by
// re-applying, in order, the stored events of the entities it touches (docs/convergence.md,
// 'Scoped replay'), or all of them where that could differ, so every replica that holds the same
// events holds byte-identical entities.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/entity_store.hpp"
#include "core/event_store.hpp"

namespace dc {

// What a custom applier may do besides returning the new state of form.entityGuid.
class ApplierContext {
 public:
  virtual ~ApplierContext() = default;
  virtual std::optional<Json> getEntity(const std::string& guid) = 0;
  // Stores `modified` (an entity document), records an audit entry with `action` and `changes`.
  virtual void saveEntity(const std::string& action, const std::optional<Json>& existing, const Json& modified,
                          const Json& changes) = 0;
};

// (entity or null, form JSON, ctx) -> new entity document for form.entityGuid, or null for
// "no change to it". Must be synchronous and deterministic; may throw dc::Error.
using EventApplier =
    std::function<std::optional<Json>(const std::optional<Json>& entity, const Json& form, ApplierContext& ctx)>;

struct ApplyOutcome {
  std::string eventGuid;
  bool applied = false;   // false: skipped (already stored) or rejected
  bool duplicate = false; // guid already stored
  std::optional<Error> error;
  std::vector<std::string> touchedEntities;
};

class EventApplierService {
 public:
  EventApplierService(EventStore& eventStore, EntityStore& entityStore);

  // Validates and applies a form (syncLevel LOCAL unless the form says otherwise). Returns the
  // current state of form.entityGuid afterwards (nullopt when deleted). A guid already stored is
  // a no-op returning the current entity. Throws dc::Error; a failure leaves no trace.
  std::optional<Json> submitForm(const Json& form);
  std::optional<Json> submitForm(Json&& form);  // the same, moving the form's data into the log

  // Applies events received from the server, in order, each atomically; `statePatch` (e.g. the
  // pull cursor) is committed together with the last one so a page and its cursor are durable
  // together. Events failing to apply are recorded as rejected (source "pull") and do not stop
  // the others. A failing event that parses is still stored in the log (with no effect): the
  // server has it, so every replica must replay it in the same position, and one that arrived
  // before an event it depends on applies when a later replay puts both in order. Unparseable
  // events are only recorded as rejected. Pulled events are stored at least REMOTE. Events that
  // sort before the log's end are applied with one rebuild per call. Never throws for a bad
  // event; throws Error(STORAGE) if the store fails.
  std::vector<ApplyOutcome> applyRemoteEvents(const std::vector<Json>& events, const Json& statePatch = Json::object());

  // Replays the whole log in (timestamp, guid) order into fresh entities and duplicate flags.
  void rebuild();

  // Off by default (tests turn it on): after every replay of late events, replays everything
  // again and compares; a difference keeps the full result and throws Error(INTERNAL).
  void setVerifyReplays(bool on) { verifyReplays_ = on; }
  // How late events were applied so far (scoped replays, full replays), for tests and benchmarks.
  struct ReplayCounts {
    size_t scoped = 0;
    size_t full = 0;
  };
  ReplayCounts replayCounts() const { return replayCounts_; }

  // Custom types only: registering a built-in type throws INVALID_FORM.
  void registerEventApplier(const std::string& type, EventApplier applier);
  bool hasEventApplier(const std::string& type) const;
  std::vector<std::string> registeredTypes() const;

  // Hybrid logical clock for local events: max(wallClockMs, last seen event time + 1ms), as an
  // ISO timestamp; persisted (state key "device.hlc", which survives clearEvents()) so it never
  // goes backwards across restarts.
  std::string nextLocalTimestamp(int64_t wallClockMs);

  EventStore& eventStore() { return events_; }
  EntityStore& entityStore() { return entities_; }

 private:
  std::optional<Json> submitEvent(Event&& ev);
  void verifyReplay();
  bool verifyReplays_ = false;
  ReplayCounts replayCounts_;
  EventStore& events_;
  EntityStore& entities_;
  std::map<std::string, EventApplier> appliers_;
};

}  // namespace dc
