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

namespace {
// Sort order of a field's values: absent/null, then booleans, numbers, strings (case-insensitive,
// then exact), then anything else by its JSON text.
int typeRank(const Json* v) {
  if (!v || v->is_null()) return 0;
  if (v->is_boolean()) return 1;
  if (v->is_number()) return 2;
  if (v->is_string()) return 3;
  return 4;
}

int compareValues(const Json* a, const Json* b) {
  int ra = typeRank(a), rb = typeRank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0: return 0;
    case 1: return static_cast<int>(a->get<bool>()) - static_cast<int>(b->get<bool>());
    case 2: {
      double x = a->get<double>(), y = b->get<double>();
      return x < y ? -1 : (y < x ? 1 : 0);
    }
    case 3: {
      const auto& x = a->get_ref<const std::string&>();
      const auto& y = b->get_ref<const std::string&>();
      size_t n = std::min(x.size(), y.size());
      for (size_t i = 0; i < n; ++i) {
        char p = x[i], q = y[i];
        if (p >= 'A' && p <= 'Z') p = static_cast<char>(p - 'A' + 'a');
        if (q >= 'A' && q <= 'Z') q = static_cast<char>(q - 'A' + 'a');
        if (p != q) return static_cast<unsigned char>(p) < static_cast<unsigned char>(q) ? -1 : 1;
      }
      if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
      return x.compare(y) < 0 ? -1 : (x == y ? 0 : 1);
    }
    default: {
      std::string x = a->dump(), y = b->dump();
      return x < y ? -1 : (x == y ? 0 : 1);
    }
  }
}
}  // namespace

namespace {
// Sorts only what the page needs: nth_element puts the `offset` first rows before the rest,
// then the page itself is partially sorted (O(n + n log limit), not O(n log (offset + limit))).
EntityPage sortedPage(std::vector<const EntityPair*>& pairs, const PageRequest& page) {
  struct Row {
    const EntityPair* pair;
    const Json* key;
  };
  bool byGuid = page.sortField == "guid";
  std::vector<Row> rows;
  rows.reserve(pairs.size());
  for (const EntityPair* p : pairs) rows.push_back({p, byGuid ? nullptr : searchFieldValue(p->modified, page.sortField)});
  EntityPage out;
  out.total = rows.size();
  if (page.offset >= rows.size()) return out;
  size_t end = page.limit ? std::min(rows.size(), page.offset + page.limit) : rows.size();
  auto less = [&](const Row& a, const Row& b) {
    int c = byGuid ? 0 : compareValues(a.key, b.key);
    if (c == 0) c = a.pair->guid.compare(b.pair->guid);
    return page.descending ? c > 0 : c < 0;
  };
  auto first = rows.begin() + static_cast<std::ptrdiff_t>(page.offset);
  if (page.offset > 0) std::nth_element(rows.begin(), first, rows.end(), less);
  std::partial_sort(first, rows.begin() + static_cast<std::ptrdiff_t>(end), rows.end(), less);
  out.items.reserve(end - page.offset);
  for (size_t i = page.offset; i < end; ++i) out.items.push_back(rows[i].pair->filled());
  return out;
}
}  // namespace

EntityPage EntityStore::searchEntitiesPage(const Json& criteria, const PageRequest& page) const {
  bool all = criteria.is_null() || (criteria.is_array() && criteria.empty());
  if (!all) validateSearchCriteria(criteria);
  std::vector<const EntityPair*> pairs;
  pairs.reserve(all ? store_->entities().size() : 64);
  for (const auto& [_, p] : store_->entities()) {
    if (all || matchesCriteria(p.modified, criteria)) pairs.push_back(&p);
  }
  return sortedPage(pairs, page);
}

EntityPage EntityStore::pageOf(const std::vector<std::string>& guids, const PageRequest& page) const {
  std::vector<const EntityPair*> pairs;
  pairs.reserve(guids.size());
  for (const auto& guid : guids) {
    if (const EntityPair* p = store_->findEntity(guid)) pairs.push_back(p);
  }
  return sortedPage(pairs, page);
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
