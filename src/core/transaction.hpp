#pragma once
// Transaction (docs/storage.md, 'Transactions'): changes staged against a Store, committed as one
// journal record.
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/model.hpp"

namespace dc {

class Store;
struct RejectedEvent;

// Staged changes; reads see them. Nothing reaches the Store until commit(); a Transaction
// destroyed without commit() leaves no trace.
class Transaction {
 public:
  explicit Transaction(Store& store);
  ~Transaction();

  std::optional<Json> getEntity(const std::string& guid) const;
  // Upsert of `modified`. A guid new to the store gets initial = this first state.
  void putEntity(const Json& entity);
  void putEntity(Json&& entity);
  void deleteEntity(const std::string& guid);
  bool hasEvent(const std::string& guid) const;
  void addEvent(const Event& event);
  void addEvent(Event&& event);
  void addAudit(const AuditEntry& entry);
  void addAudit(AuditEntry&& entry);
  void addPotentialDuplicate(const std::string& entityGuid, const std::string& duplicateGuid);
  // Removes the pair in either orientation.
  void removePotentialDuplicate(const std::string& a, const std::string& b);
  void removeDuplicatesOf(const std::string& guid);  // every pair naming guid
  void setState(const std::string& key, const Json& value);  // null value deletes the key
  void addRejected(const std::string& eventGuid, const RejectedEvent& rejected);
  // Withdraws a recorded rejection (a stored event that a later rebuild could apply after all).
  void removeRejected(const std::string& eventGuid);
  // Rebuild mode (docs/convergence.md): from here on the transaction's view of entities and
  // duplicates starts empty; commit() replaces the store's entities and duplicates with the
  // staged result and journals only the differences. `initial` of surviving entities is kept.
  void beginRebuild();
  // Scoped rebuild (docs/convergence.md, 'Scoped replay'): the same, for the entities in `scope`
  // only (and duplicate pairs naming one of them); the rest of the store reads as committed.
  void beginScopedRebuild(std::unordered_set<std::string> scope);
  // Records the entities an event touched or read (see Store::eventsReferencing).
  void addRefs(const std::string& eventGuid, std::vector<std::string> entityGuids);
  // Drops everything staged so far.
  void rollback();
  // The entity guids and duplicate pairs ("a|b") commit() would change; drops what is staged.
  std::vector<std::string> entityDifferences();

  // Entity guids put or deleted so far (in first-touch order).
  const std::vector<std::string>& touchedEntities() const;

  // One journal record; updates memory. Throws Error(STORAGE) with the store unchanged. Either
  // way the transaction is empty afterwards (a failed commit's staged changes are dropped).
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};
}  // namespace dc
