#include "core/event_store.hpp"

#include <algorithm>
#include <unordered_set>

#include "core/timestamp.hpp"

namespace dc {
namespace {

const char* const kLastRemoteSync = "lastRemoteSyncTimestamp";
const char* const kLastLocalSync = "lastLocalSyncTimestamp";
const char* const kLastPullExternalSync = "lastPullExternalSyncTimestamp";
const char* const kLastPushExternalSync = "lastPushExternalSyncTimestamp";

int64_t parseOrThrow(const std::string& text, const char* what) {
  auto ms = parseTimestamp(text);
  if (!ms) throw Error(ErrorCode::InvalidForm, std::string("Invalid ") + what + ": \"" + text + "\"");
  return *ms;
}

// First position strictly after `cursor` in (timestamp, guid) order. A plain timestamp means
// "after every event at that time"; "<timestamp>|<guid>" means "after that very event", which is
// what lets a page boundary fall between events sharing a timestamp.
std::map<EventKey, size_t>::const_iterator positionAfter(const std::map<EventKey, size_t>& byKey,
                                                         const std::string& cursor) {
  if (cursor.empty()) return byKey.begin();
  auto bar = cursor.find('|');
  if (bar == std::string::npos) return byKey.lower_bound(EventKey{parseOrThrow(cursor, "timestamp") + 1, ""});
  EventKey key{parseOrThrow(cursor.substr(0, bar), "pagination cursor"), cursor.substr(bar + 1)};
  return byKey.upper_bound(key);
}

}  // namespace

EventStore::EventStore(std::shared_ptr<Store> store) : store_(std::move(store)) {}

std::vector<Event> EventStore::getAllEvents() const { return store_->events(); }

std::optional<Event> EventStore::getEvent(const std::string& guid) const {
  const Event* e = store_->findEvent(guid);
  if (!e) return std::nullopt;
  return *e;
}

bool EventStore::isEventExisted(const std::string& guid) const { return store_->findEvent(guid) != nullptr; }

std::vector<Event> EventStore::getEventsSince(const std::string& timestamp) const {
  const auto& byKey = store_->eventsByKey();
  std::vector<Event> out;
  for (auto it = positionAfter(byKey, timestamp); it != byKey.end(); ++it) out.push_back(store_->events()[it->second]);
  return out;
}

EventStore::Page EventStore::getEventsSincePagination(const std::string& cursor, size_t limit) const {
  const auto& byKey = store_->eventsByKey();
  Page page;
  auto it = positionAfter(byKey, cursor);
  for (; it != byKey.end() && page.events.size() < limit; ++it) page.events.push_back(store_->events()[it->second]);
  if (it != byKey.end() && !page.events.empty()) {
    const Event& last = page.events.back();
    page.nextCursor = last.timestamp + "|" + last.guid;
  }
  return page;
}

std::vector<Event> EventStore::getUnsyncedEvents(size_t limit) const {
  std::vector<Event> out;
  for (size_t i : store_->outbox()) {
    if (out.size() >= limit) break;
    out.push_back(store_->events()[i]);
  }
  return out;
}

size_t EventStore::getUnsyncedEventsCount() const { return store_->outbox().size(); }

void EventStore::updateEventSyncLevel(const std::vector<std::string>& guids, int level) {
  store_->markEventsSynced(guids, level);
}

std::vector<AuditEntry> EventStore::getAuditTrailByEntityGuid(const std::string& entityGuid) const {
  std::vector<AuditEntry> out;
  for (const AuditEntry* a : store_->auditOfEntity(entityGuid)) out.push_back(*a);
  return out;
}

std::vector<AuditEntry> EventStore::getAuditLogsSince(const std::string& timestamp) const {
  int64_t after = timestamp.empty() ? INT64_MIN : parseOrThrow(timestamp, "timestamp");
  std::vector<std::pair<int64_t, const AuditEntry*>> hits;
  for (const auto& a : store_->auditLog()) {
    auto ms = parseTimestamp(a.timestamp);
    if (ms && *ms > after) hits.emplace_back(*ms, &a);
  }
  std::stable_sort(hits.begin(), hits.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<AuditEntry> out;
  for (const auto& [_, a] : hits) out.push_back(*a);
  return out;
}

void EventStore::saveAuditLogs(const std::vector<AuditEntry>& entries) {
  Transaction tx(*store_);
  std::unordered_set<std::string> seen;
  for (const auto& a : entries) {
    if (store_->hasAudit(a.guid) || !seen.insert(a.guid).second) continue;
    tx.addAudit(a);
  }
  tx.commit();
}

std::string EventStore::getMerkleRoot() const { return store_->merkle().rootHex(); }

std::vector<ProofStep> EventStore::getProof(const Event& event) const {
  if (!store_->findEvent(event.guid)) return {};
  return store_->merkle().proof(store_->merkleIndexOf(event.guid));
}

bool EventStore::verifyEvent(const Event& event, const std::vector<ProofStep>& proof) const {
  // The proof ties the event's own hash to the current root, so any change to a hashed field
  // (data, timestamp, type, ...) fails, as does an event that was never stored.
  if (!store_->findEvent(event.guid)) return false;
  return MerkleTree::verify(sha256(event.canonicalJson()), proof, store_->merkle().rootHex());
}

namespace {
std::string stringState(const Store& store, const char* key) {
  auto v = store.state(key);
  return v && v->is_string() ? v->get<std::string>() : "";
}
}  // namespace

std::string EventStore::getLastRemoteSyncTimestamp() const { return stringState(*store_, kLastRemoteSync); }
void EventStore::setLastRemoteSyncTimestamp(const std::string& ts) { setSyncState(kLastRemoteSync, ts); }
std::string EventStore::getLastLocalSyncTimestamp() const { return stringState(*store_, kLastLocalSync); }
void EventStore::setLastLocalSyncTimestamp(const std::string& ts) { setSyncState(kLastLocalSync, ts); }
std::string EventStore::getLastPullExternalSyncTimestamp() const { return stringState(*store_, kLastPullExternalSync); }
void EventStore::setLastPullExternalSyncTimestamp(const std::string& ts) { setSyncState(kLastPullExternalSync, ts); }
std::string EventStore::getLastPushExternalSyncTimestamp() const { return stringState(*store_, kLastPushExternalSync); }
void EventStore::setLastPushExternalSyncTimestamp(const std::string& ts) { setSyncState(kLastPushExternalSync, ts); }

std::optional<Json> EventStore::getSyncState(const std::string& key) const { return store_->state(key); }

void EventStore::setSyncState(const std::string& key, const Json& value) {
  Transaction tx(*store_);
  tx.setState(key, value);
  tx.commit();
}

std::vector<RejectedEvent> EventStore::getRejectedEvents() const {
  std::vector<RejectedEvent> out;
  for (const auto& [_, r] : store_->rejectedEvents()) out.push_back(r);
  return out;
}

void EventStore::clearStore() { store_->clearEvents(); }

}  // namespace dc
