#include "core/store_state.hpp"

#include <algorithm>

#include "core/sha256.hpp"
#include "core/store.hpp"

namespace dc {
namespace {
std::optional<std::string> externalIdOf(const Json& entity) {
  auto it = entity.find("externalId");
  if (it != entity.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) return it->get<std::string>();
  return std::nullopt;
}
}  // namespace

void StoreState::unindexEntity(const std::string& guid, const Json& modified) {
  if (auto ext = externalIdOf(modified)) {
    auto it = byExternalId.find(*ext);
    if (it != byExternalId.end()) {
      it->second.erase(guid);
      if (it->second.empty()) byExternalId.erase(it);
    }
  }
}

void StoreState::rememberData(const std::string& guid, const Json& entityDoc) {
  const Json& data = entity::dataOf(entityDoc);
  if (data.empty()) return;
  pastData.upsert(guid + '\x1f' + std::to_string(pastDataList.size()), data);
  pastDataList.emplace_back(guid, data);
}

void StoreState::apply(Record&& d) {
  if (d.clearEvents) {
    events.clear();
    eventIndex.clear();
    byKey.clear();
    outbox.clear();
    merkle.clear();
    audit.clear();
    auditGuids.clear();
    auditByEntity.clear();
    rejected.clear();
    for (auto it = state.begin(); it != state.end();) {
      it = it->first.rfind(kDeviceStatePrefix, 0) == 0 ? std::next(it) : state.erase(it);
    }
  }
  if (d.clearEvents) {
    refsByEntity.clear();
    refsOfEvent.clear();
    eventsLackingRefs.clear();
  }
  if (d.clearEntities) {
    entities.clear();
    byExternalId.clear();
    dups.clear();
    dupIndex.clear();
    everFlagged.clear();
    pastData.clear();
    pastDataList.clear();
  }
  std::unordered_set<std::string_view> refsOf;
  for (const auto& [g, _] : d.refs) refsOf.insert(g);
  for (size_t k = 0; k < d.events.size(); ++k) {
    Event& e = d.events[k];
    if (eventIndex.count(e.guid)) continue;
    size_t i = events.size();
    if (d.version < 2 && !refsOf.count(e.guid)) eventsLackingRefs.insert(e.guid);
    refsByEntity[e.entityGuid].insert(keyOf(e));
    merkle.append(k < d.leaves.size() ? d.leaves[k] : sha256(e.canonicalJson()));
    eventIndex.emplace(e.guid, i);
    byKey.emplace(keyOf(e), i);
    if (e.syncLevel == LOCAL) outbox.insert(i);
    e.data.compact();  // held as text from here on (docs/storage.md, 'Memory')
    events.push_back(std::move(e));
  }
  for (const auto& guid : d.syncedGuids) {
    auto it = eventIndex.find(guid);
    if (it == eventIndex.end()) continue;
    events[it->second].syncLevel = d.syncedLevel;
    if (d.syncedLevel == LOCAL) {
      outbox.insert(it->second);
    } else {
      outbox.erase(it->second);
    }
  }
  for (const auto& [g, l] : d.refs) {
    auto it = eventIndex.find(g);
    if (it == eventIndex.end()) continue;
    eventsLackingRefs.erase(g);
    EventKey k = keyOf(events[it->second]);
    auto& known = refsOfEvent[g];
    for (const auto& entity : l) {
      if (refsByEntity[entity].insert(k).second && entity != events[it->second].entityGuid) known.push_back(entity);
    }
  }
  everFlagged.insert(d.everFlagged.begin(), d.everFlagged.end());
  for (auto& [guid, data] : d.pastData) {
    pastData.upsert(guid + '\x1f' + std::to_string(pastDataList.size()), data);
    pastDataList.emplace_back(guid, std::move(data));
  }
  for (auto& a : d.audit) {
    if (!auditGuids.insert(a.guid).second) continue;
    auditByEntity[a.entityGuid].push_back(audit.size());
    a.changes.compact();
    audit.push_back(std::move(a));
  }
  for (const auto& guid : d.deletes) {
    auto it = entities.find(guid);
    if (it == entities.end()) continue;
    unindexEntity(guid, it->second.modified);
    rememberData(guid, it->second.modified);
    entities.erase(it);
    dupIndex.remove(guid);
  }
  for (auto& p : d.puts) {
    auto it = entities.find(p.guid);
    if (it == entities.end()) {
      it = entities.emplace(p.guid, EntityPair{p.guid, Json(), Json()}).first;  // initial: same as modified
    } else {
      unindexEntity(p.guid, it->second.modified);
      if (entity::dataOf(it->second.modified) != entity::dataOf(p.modified)) rememberData(p.guid, it->second.modified);
      // The first change since creation or confirmation: the old state becomes `initial`.
      if (it->second.initial.is_null()) it->second.initial = std::move(it->second.modified);
    }
    it->second.modified = std::move(p.modified);
    if (auto ext = externalIdOf(it->second.modified)) byExternalId[*ext].insert(p.guid);
    dupIndex.upsert(p.guid, entity::dataOf(it->second.modified));
  }
  for (const auto& [a, b] : d.dupRemove) {
    dups.erase({a, b});
    dups.erase({b, a});
  }
  for (auto& pr : d.dupAdd) {
    everFlagged.insert(pr.first);
    everFlagged.insert(pr.second);
    if (!hasDuplicatePair(pr.first, pr.second)) dups.insert(std::move(pr));
  }
  for (auto& [k, v] : d.state) {
    if (v.is_null()) {
      state.erase(k);
    } else {
      state[k] = std::move(v);
    }
  }
  for (auto& [guid, r] : d.rejected) rejected[guid] = std::move(r);
  for (const auto& guid : d.unrejected) rejected.erase(guid);
  for (const auto& guid : d.entitiesSynced) {
    auto it = entities.find(guid);
    if (it != entities.end()) it->second.initial = Json();  // same as modified, held once
  }
}

CommitNotice StoreState::noticeOf(const Record& d, bool rebuild) const {
  CommitNotice n;
  n.rebuild = rebuild;
  n.cleared = d.clearEvents || d.clearEntities;
  if (d.clearEntities) {
    for (const auto& [g, _] : entities) n.entityGuids.push_back(g);
  }
  for (const auto& put : d.puts) n.entityGuids.push_back(put.guid);
  n.entityGuids.insert(n.entityGuids.end(), d.deletes.begin(), d.deletes.end());
  n.entityGuids.insert(n.entityGuids.end(), d.entitiesSynced.begin(), d.entitiesSynced.end());
  for (const auto& e : d.events) n.eventGuids.push_back(e.guid);
  n.eventGuids.insert(n.eventGuids.end(), d.syncedGuids.begin(), d.syncedGuids.end());
  return n;
}

}  // namespace dc
