#pragma once
// EventStore, the original's method names. A view over a Store.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/store.hpp"

namespace dc {

class EventStore {
 public:
  explicit EventStore(std::shared_ptr<Store> store);
  Store& store() { return *store_; }
  std::shared_ptr<Store> sharedStore() { return store_; }

  std::vector<Event> getAllEvents() const;  // application order
  std::optional<Event> getEvent(const std::string& guid) const;
  bool isEventExisted(const std::string& guid) const;
  // Events with timestamp strictly after `timestamp` ("" = all), ascending by (timestamp, guid).
  std::vector<Event> getEventsSince(const std::string& timestamp) const;
  // Same order, at most `limit`. `cursor` is "" (start), an ISO timestamp, or a nextCursor from a
  // previous page; nextCursor encodes (timestamp, guid) of the last event returned, so events
  // sharing a timestamp are never skipped. nextCursor is nullopt when no more events exist.
  struct Page {
    std::vector<Event> events;
    std::optional<std::string> nextCursor;
  };
  Page getEventsSincePagination(const std::string& cursor, size_t limit) const;

  // Outbox: LOCAL events in application order.
  std::vector<Event> getUnsyncedEvents(size_t limit = SIZE_MAX) const;
  size_t getUnsyncedEventsCount() const;
  void updateEventSyncLevel(const std::vector<std::string>& guids, int level);

  // Audit log.
  std::vector<AuditEntry> getAuditTrailByEntityGuid(const std::string& entityGuid) const;
  std::vector<AuditEntry> getAuditLogsSince(const std::string& timestamp) const;  // strictly after
  void saveAuditLogs(const std::vector<AuditEntry>& entries);  // from the server; skips known guids

  // Merkle tree.
  std::string getMerkleRoot() const;
  std::vector<ProofStep> getProof(const Event& event) const;  // empty when the event is not stored
  bool verifyEvent(const Event& event, const std::vector<ProofStep>& proof) const;

  // Sync watermarks and other sync state (persisted with the store).
  std::string getLastRemoteSyncTimestamp() const;
  void setLastRemoteSyncTimestamp(const std::string& ts);
  std::string getLastLocalSyncTimestamp() const;
  void setLastLocalSyncTimestamp(const std::string& ts);
  std::string getLastPullExternalSyncTimestamp() const;
  void setLastPullExternalSyncTimestamp(const std::string& ts);
  std::string getLastPushExternalSyncTimestamp() const;
  void setLastPushExternalSyncTimestamp(const std::string& ts);
  std::optional<Json> getSyncState(const std::string& key) const;
  void setSyncState(const std::string& key, const Json& value);

  std::vector<RejectedEvent> getRejectedEvents() const;

  // Clears events, audit log, Merkle tree and every sync watermark/cursor (a fix, docs/convergence.md).
  void clearStore();
  void flush(FlushCallback done) { store_->flush(std::move(done)); }

 private:
  std::shared_ptr<Store> store_;
};

}  // namespace dc
