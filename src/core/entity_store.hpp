#pragma once
// EntityStore, the original's method names. A view over a Store.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/store.hpp"

namespace dc {

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
