#include "core/entity_store.hpp"

#include <algorithm>

#include "core/search.hpp"
#include "core/timestamp.hpp"

namespace dc {
namespace {
std::vector<EntityPair> sortedByGuid(std::vector<EntityPair> pairs) {
  std::sort(pairs.begin(), pairs.end(), [](const EntityPair& a, const EntityPair& b) { return a.guid < b.guid; });
  return pairs;
}
}  // namespace

EntityStore::EntityStore(std::shared_ptr<Store> store) : store_(std::move(store)) {}

std::optional<EntityPair> EntityStore::getEntity(const std::string& guid) const {
  const EntityPair* p = store_->findEntity(guid);
  if (!p) return std::nullopt;
  return p->filled();
}

std::optional<EntityPair> EntityStore::getEntityByExternalId(const std::string& externalId) const {
  const EntityPair* p = store_->findEntityByExternalId(externalId);
  if (!p) return std::nullopt;
  return p->filled();
}

std::vector<EntityPair> EntityStore::getAllEntities() const {
  std::vector<EntityPair> out;
  out.reserve(store_->entities().size());
  for (const auto& [_, p] : store_->entities()) out.push_back(p.filled());
  return sortedByGuid(std::move(out));
}

std::vector<EntityPair> EntityStore::searchEntities(const Json& criteria) const {
  validateSearchCriteria(criteria);  // bad criteria are an error, not an empty result
  std::vector<EntityPair> out;
  for (const auto& [_, p] : store_->entities()) {
    if (matchesCriteria(p.modified, criteria)) out.push_back(p.filled());
  }
  return sortedByGuid(std::move(out));
}

std::vector<EntityPair> EntityStore::getModifiedEntitiesSince(const std::string& timestamp) const {
  std::optional<int64_t> after;
  if (!timestamp.empty()) {
    after = parseTimestamp(timestamp);
    if (!after) throw Error(ErrorCode::InvalidForm, "Invalid timestamp: \"" + timestamp + "\"");
  }
  std::vector<EntityPair> out;
  for (const auto& [_, p] : store_->entities()) {
    auto it = p.modified.find("lastUpdated");
    std::optional<int64_t> ms;
    if (it != p.modified.end() && it->is_string()) ms = parseTimestamp(it->get_ref<const std::string&>());
    if (!after || (ms && *ms > *after)) out.push_back(p.filled());
  }
  return sortedByGuid(std::move(out));
}

void EntityStore::markEntityAsSynced(const std::string& guid) { store_->markEntitiesSynced({guid}); }

void EntityStore::markAllEntitiesAsSynced() {
  std::vector<std::string> guids;
  for (const auto& [g, _] : store_->entities()) guids.push_back(g);
  std::sort(guids.begin(), guids.end());
  store_->markEntitiesSynced(guids);
}

void EntityStore::deleteEntity(const std::string& guid) {
  Transaction tx(*store_);
  tx.deleteEntity(guid);
  // A pair naming a deleted entity could never be resolved and would block sync forever.
  tx.removeDuplicatesOf(guid);
  tx.commit();
}

void EntityStore::savePotentialDuplicates(const std::vector<PotentialDuplicate>& pairs) {
  Transaction tx(*store_);
  for (const auto& p : pairs) tx.addPotentialDuplicate(p.entityGuid, p.duplicateGuid);
  tx.commit();
}

std::vector<PotentialDuplicate> EntityStore::getPotentialDuplicates() const {
  std::vector<PotentialDuplicate> out;
  for (const auto& [a, b] : store_->potentialDuplicates()) out.push_back({a, b});
  return out;
}

void EntityStore::resolvePotentialDuplicates(const std::vector<PotentialDuplicate>& pairs) {
  Transaction tx(*store_);
  for (const auto& p : pairs) tx.removePotentialDuplicate(p.entityGuid, p.duplicateGuid);
  tx.commit();
}

void EntityStore::clearStore() { store_->clearEntities(); }

}  // namespace dc
