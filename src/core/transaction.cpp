#include "core/transaction.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "core/store_impl.hpp"

namespace dc {
namespace {
std::pair<std::string, std::string> unordered(const std::string& a, const std::string& b) {
  return a < b ? std::make_pair(a, b) : std::make_pair(b, a);
}
}  // namespace


struct Transaction::Impl {
  Store::Impl& store;
  bool rebuild = false;
  bool scoped = false;                   // rebuild of `scope` only
  std::unordered_set<std::string> scope;
  std::vector<std::pair<std::string, std::vector<std::string>>> refs;
  bool inRebuild(const std::string& guid) const { return rebuild && (!scoped || scope.count(guid)); }
  std::unordered_map<std::string, std::optional<Json>> entities;  // nullopt: deleted
  std::vector<std::string> touched;
  std::unordered_set<std::string> touchedSet;
  std::vector<Event> events;
  std::unordered_set<std::string> eventGuids;
  std::vector<AuditEntry> audit;
  // Keyed by the unordered pair; value = orientation to store, nullopt = remove.
  std::map<std::pair<std::string, std::string>, std::optional<std::pair<std::string, std::string>>> dups;
  std::map<std::string, Json> state;
  std::map<std::string, std::optional<RejectedEvent>> rejected;  // nullopt: withdraw the rejection

  explicit Impl(Store::Impl& s) : store(s) {}

  void touch(const std::string& guid) {
    if (touchedSet.insert(guid).second) touched.push_back(guid);
  }

  // The staged result expressed as differences from the committed store. Moves the staged
  // documents out: reset() follows.
  Record takeRecord() {
    Record d;
    d.events = std::move(events);
    d.audit = std::move(audit);
    d.refs = std::move(refs);
    for (auto& [k, v] : state) d.state.emplace_back(k, std::move(v));
    for (auto& [g, r] : rejected) {
      if (r) d.rejected.emplace_back(g, std::move(*r));
      else if (store.st.rejected.count(g)) d.unrejected.push_back(g);
    }

    std::vector<std::string> guids = touched;
    if (rebuild) {
      // Everything not re-put during the rebuild is gone; sorted for a deterministic record.
      std::vector<std::string> dropped;
      if (scoped) {
        for (const auto& g : scope)
          if (store.st.entities.count(g) && !entities.count(g)) dropped.push_back(g);
      } else {
        for (const auto& [g, _] : store.st.entities) {
          if (!entities.count(g)) dropped.push_back(g);
        }
      }
      std::sort(dropped.begin(), dropped.end());
      d.deletes = std::move(dropped);
    }
    for (const auto& g : guids) {
      auto staged = entities.find(g);
      if (staged == entities.end()) continue;  // touched before beginRebuild() and not since
      auto base = store.st.entities.find(g);
      if (!staged->second) {
        if (base != store.st.entities.end()) d.deletes.push_back(g);
      } else if (base == store.st.entities.end() || base->second.modified != *staged->second) {
        d.puts.push_back({g, std::move(*staged->second)});
      }
    }

    for (const auto& [key, v] : dups) {
      bool inBase = store.st.hasDuplicatePair(key.first, key.second);
      if (v && !inBase) d.dupAdd.push_back(*v);
      if (!v && inBase) d.dupRemove.push_back(key);
    }
    if (rebuild) {
      for (const auto& pr : store.st.dups) {
        if (scoped && !scope.count(pr.first) && !scope.count(pr.second)) continue;
        auto it = dups.find(unordered(pr.first, pr.second));
        if (it == dups.end()) d.dupRemove.push_back(pr);  // staged removals were handled above
      }
    }
    return d;
  }

  void reset() {
    rebuild = false;
    scoped = false;
    scope.clear();
    refs.clear();
    entities.clear();
    touched.clear();
    touchedSet.clear();
    events.clear();
    eventGuids.clear();
    audit.clear();
    dups.clear();
    state.clear();
    rejected.clear();
  }
};

Transaction::Transaction(Store& store) : impl_(std::make_unique<Impl>(*store.impl_)) {}
Transaction::~Transaction() = default;

std::optional<Json> Transaction::getEntity(const std::string& guid) const {
  auto it = impl_->entities.find(guid);
  if (it != impl_->entities.end()) return it->second;
  if (impl_->inRebuild(guid)) return std::nullopt;
  auto base = impl_->store.st.entities.find(guid);
  if (base == impl_->store.st.entities.end()) return std::nullopt;
  return base->second.modified;
}

void Transaction::putEntity(const Json& entity) { putEntity(Json(entity)); }

void Transaction::putEntity(Json&& entity) {
  auto it = entity.find("guid");
  if (it == entity.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    throw std::invalid_argument("putEntity: entity has no guid");
  }
  const std::string guid = it->get_ref<const std::string&>();
  impl_->touch(guid);
  impl_->entities[guid] = std::move(entity);
}

void Transaction::deleteEntity(const std::string& guid) {
  impl_->touch(guid);
  impl_->entities[guid] = std::nullopt;
}

bool Transaction::hasEvent(const std::string& guid) const {
  return impl_->eventGuids.count(guid) || impl_->store.st.eventIndex.count(guid);
}

void Transaction::addEvent(const Event& event) { addEvent(Event(event)); }

void Transaction::addEvent(Event&& event) {
  if (hasEvent(event.guid)) return;  // a repeated guid is a no-op
  impl_->eventGuids.insert(event.guid);
  impl_->events.push_back(std::move(event));
}

void Transaction::addAudit(const AuditEntry& entry) { impl_->audit.push_back(entry); }
void Transaction::addAudit(AuditEntry&& entry) { impl_->audit.push_back(std::move(entry)); }

void Transaction::addPotentialDuplicate(const std::string& entityGuid, const std::string& duplicateGuid) {
  if (entityGuid == duplicateGuid) return;
  auto& staged = impl_->dups[unordered(entityGuid, duplicateGuid)];
  if (!staged) staged = std::make_pair(entityGuid, duplicateGuid);  // like the store: first orientation wins
}

void Transaction::removePotentialDuplicate(const std::string& a, const std::string& b) {
  impl_->dups[unordered(a, b)] = std::nullopt;
}

void Transaction::removeDuplicatesOf(const std::string& guid) {
  {
    for (const auto& [a, b] : impl_->store.st.dups) {
      if ((a == guid || b == guid) && !impl_->inRebuild(a) && !impl_->inRebuild(b)) impl_->dups[unordered(a, b)] = std::nullopt;
    }
  }
  for (auto& [key, v] : impl_->dups) {
    if (key.first == guid || key.second == guid) v = std::nullopt;
  }
}

void Transaction::setState(const std::string& key, const Json& value) { impl_->state[key] = value; }

void Transaction::addRejected(const std::string& eventGuid, const RejectedEvent& rejected) {
  impl_->rejected[eventGuid] = rejected;
}

void Transaction::removeRejected(const std::string& eventGuid) { impl_->rejected[eventGuid] = std::nullopt; }

void Transaction::beginRebuild() {
  impl_->rebuild = true;
  impl_->entities.clear();
  impl_->dups.clear();
}

void Transaction::beginScopedRebuild(std::unordered_set<std::string> scope) {
  impl_->rebuild = true;
  impl_->scoped = true;
  impl_->scope = std::move(scope);
  for (auto it = impl_->entities.begin(); it != impl_->entities.end();)
    it = impl_->scope.count(it->first) ? impl_->entities.erase(it) : std::next(it);
  for (auto it = impl_->dups.begin(); it != impl_->dups.end();)
    it = impl_->scope.count(it->first.first) || impl_->scope.count(it->first.second) ? impl_->dups.erase(it) : std::next(it);
}

void Transaction::addRefs(const std::string& eventGuid, std::vector<std::string> entityGuids) {
  impl_->refs.emplace_back(eventGuid, std::move(entityGuids));
}

void Transaction::rollback() { impl_->reset(); }

std::vector<std::string> Transaction::entityDifferences() {
  Record d = impl_->takeRecord();
  impl_->reset();
  std::vector<std::string> out;
  for (const auto& p : d.puts) out.push_back(p.guid);
  out.insert(out.end(), d.deletes.begin(), d.deletes.end());
  for (const auto& [a, b] : d.dupAdd) out.push_back(a + "|" + b);
  for (const auto& [a, b] : d.dupRemove) out.push_back(a + "|" + b);
  return out;
}

const std::vector<std::string>& Transaction::touchedEntities() const { return impl_->touched; }

void Transaction::commit() {
  // A scoped replay is a rebuild too for listeners (source "rebuild", docs/api.md 'Change
  // events'); its record, like a full one's, lists only what changed.
  bool rebuild = impl_->rebuild;
  Record d = impl_->takeRecord();
  impl_->reset();
  impl_->store.committingRebuild = rebuild;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } resetFlag{impl_->store.committingRebuild};
  impl_->store.commit(std::move(d));
}

}  // namespace dc
