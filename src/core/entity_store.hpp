#pragma once
// EntityStore, the original's method names. A view over a Store.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/store.hpp"

namespace dc {

// A page of a sorted read: `limit` entities (0 = all) from `offset`, ordered by `sortField`
// (a search field: "guid", "name", "lastUpdated", "data.age", ...; ties by guid), and the
// number of entities that matched in all.
struct PageRequest {
  size_t limit = 0;
  size_t offset = 0;
  std::string sortField = "guid";
  bool descending = false;
};
struct EntityPage {
  std::vector<EntityPair> items;
  size_t total = 0;
};

class EntityStore {
 public:
  explicit EntityStore(std::shared_ptr<Store> store);
  Store& store() { return *store_; }
  std::shared_ptr<Store> sharedStore() { return store_; }

  std::optional<EntityPair> getEntity(const std::string& guid) const;
  std::optional<EntityPair> getEntityByExternalId(const std::string& externalId) const;
  std::vector<EntityPair> getAllEntities() const;  // sorted by guid
  // Pairs with criteria matched on `modified`. Throws INVALID_FORM on bad criteria.
  std::vector<EntityPair> searchEntities(const Json& criteria) const;
  // Only the page's entities are copied; the rest are compared in place.
  EntityPage searchEntitiesPage(const Json& criteria, const PageRequest& page) const;
  // The same page over given entities (a live query's known matches); absent guids are skipped.
  EntityPage pageOf(const std::vector<std::string>& guids, const PageRequest& page) const;
  std::vector<EntityPair> getModifiedEntitiesSince(const std::string& timestamp) const;  // lastUpdated > ts
  void markEntityAsSynced(const std::string& guid);
  void markAllEntitiesAsSynced();
  void deleteEntity(const std::string& guid);  // plain removal (no cascade, no event)

  void savePotentialDuplicates(const std::vector<PotentialDuplicate>& pairs);
  std::vector<PotentialDuplicate> getPotentialDuplicates() const;
  void resolvePotentialDuplicates(const std::vector<PotentialDuplicate>& pairs);

  void clearStore();  // entities and duplicates
  void flush(FlushCallback done) { store_->flush(std::move(done)); }

 private:
  std::shared_ptr<Store> store_;
};

}  // namespace dc
