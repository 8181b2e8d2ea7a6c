// EventStore: ordering, pagination without tie loss (FIX), outbox, audit queries,
// watermarks.
#include <catch2/catch.hpp>

#include "store_fixture.hpp"

using namespace storetest;
using dc::Json;

namespace {
std::vector<std::string> guids(const std::vector<dc::Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.guid);
  return out;
}
}  // namespace

TEST_CASE("getEventsSince is strictly after, in (timestamp, guid) order", "[event-store]") {
  Opened db(dc::openMemoryStorage());
  // Applied out of timestamp order; ties broken by guid.
  applyUpsert(*db.store, makeEvent("c", ts(3)));
  applyUpsert(*db.store, makeEvent("b", ts(1)));
  applyUpsert(*db.store, makeEvent("a", ts(3)));
  applyUpsert(*db.store, makeEvent("d", ts(2)));
  CHECK(guids(db.events.getAllEvents()) == std::vector<std::string>{"c", "b", "a", "d"});  // application order
  CHECK(guids(db.events.getEventsSince("")) == std::vector<std::string>{"b", "d", "a", "c"});
  CHECK(guids(db.events.getEventsSince(ts(1))) == std::vector<std::string>{"d", "a", "c"});
  CHECK(guids(db.events.getEventsSince(ts(3))).empty());
  // Other spellings of the same instant are normalised before comparing (a fix, docs/convergence.md).
  CHECK(guids(db.events.getEventsSince("2024-05-01T12:00:02+02:00")) == std::vector<std::string>{"a", "c"});
  CHECK_THROWS_AS(db.events.getEventsSince("yesterday"), dc::Error);
  CHECK(db.events.isEventExisted("a"));
  CHECK_FALSE(db.events.isEventExisted("z"));
  CHECK(db.events.getEvent("d")->timestamp == ts(2));
}

TEST_CASE("pagination: 25 events sharing one timestamp all arrive through pages of 10 (FIX)", "[event-store]") {
  Opened db(dc::openMemoryStorage());
  applyUpsert(*db.store, makeEvent("before", ts(0)));
  for (int i = 0; i < 25; ++i) {
    char guid[16];
    std::snprintf(guid, sizeof guid, "tie-%02d", i);
    applyUpsert(*db.store, makeEvent(guid, ts(5)));
  }
  applyUpsert(*db.store, makeEvent("after", ts(9)));

  std::vector<std::string> seen;
  std::string cursor = ts(0);  // "since the first event"
  int pages = 0;
  for (;;) {
    auto page = db.events.getEventsSincePagination(cursor, 10);
    ++pages;
    for (const auto& e : page.events) seen.push_back(e.guid);
    if (!page.nextCursor) break;
    cursor = *page.nextCursor;
  }
  CHECK(pages == 3);
  REQUIRE(seen.size() == 26);
  CHECK(seen.front() == "tie-00");
  CHECK(seen[24] == "tie-24");
  CHECK(seen.back() == "after");

  // The original's cursor: the last page's timestamp, then strictly after it. Same data: 15 lost.
  std::vector<std::string> original;
  std::string since = ts(0);
  for (;;) {
    std::vector<dc::Event> all = db.events.getEventsSince(since);
    std::vector<dc::Event> page(all.begin(), all.begin() + std::min<size_t>(10, all.size()));
    for (const auto& e : page) original.push_back(e.guid);
    if (page.size() < 10) break;
    since = page.back().timestamp;
  }
  CHECK(original.size() == 11);  // 10 ties + "after": 15 of the 25 tied events never arrive
}

TEST_CASE("pagination edge cases", "[event-store]") {
  Opened db(dc::openMemoryStorage());
  CHECK(db.events.getEventsSincePagination("", 10).events.empty());
  CHECK_FALSE(db.events.getEventsSincePagination("", 10).nextCursor);
  for (int i = 1; i <= 10; ++i) applyUpsert(*db.store, makeEvent("ev-" + std::to_string(100 + i), ts(i)));
  auto exact = db.events.getEventsSincePagination("", 10);
  CHECK(exact.events.size() == 10);
  CHECK_FALSE(exact.nextCursor);  // a full last page does not promise more
  auto first = db.events.getEventsSincePagination("", 4);
  REQUIRE(first.nextCursor);
  CHECK(*first.nextCursor == ts(4) + "|ev-104");
  CHECK(db.events.getEventsSincePagination(*first.nextCursor, 100).events.size() == 6);
  CHECK_THROWS_AS(db.events.getEventsSincePagination("garbage|x", 10), dc::Error);
}

TEST_CASE("outbox holds LOCAL events in application order", "[event-store]") {
  Opened db(dc::openMemoryStorage());
  applyUpsert(*db.store, makeEvent("l1", ts(5)));
  dc::Event remote = makeEvent("r1", ts(1));
  remote.syncLevel = dc::REMOTE;
  applyUpsert(*db.store, remote);
  applyUpsert(*db.store, makeEvent("l2", ts(2)));
  CHECK(db.events.getUnsyncedEventsCount() == 2);
  CHECK(guids(db.events.getUnsyncedEvents()) == std::vector<std::string>{"l1", "l2"});
  db.events.updateEventSyncLevel({"l1"}, dc::REMOTE);
  CHECK(guids(db.events.getUnsyncedEvents()) == std::vector<std::string>{"l2"});
  db.events.updateEventSyncLevel({"l1"}, dc::LOCAL);  // back into the outbox, in its old place
  CHECK(guids(db.events.getUnsyncedEvents()) == std::vector<std::string>{"l1", "l2"});
}

TEST_CASE("audit log queries and idempotent saveAuditLogs", "[event-store]") {
  Opened db(dc::openMemoryStorage());
  auto e1 = makeEvent("ev-1", ts(1), "p1");
  auto e2 = makeEvent("ev-2", ts(2), "p2");
  auto e3 = makeEvent("ev-3", ts(3), "p1");
  applyUpsert(*db.store, e1);
  applyUpsert(*db.store, e2);
  applyUpsert(*db.store, e3, 2);
  auto trail = db.events.getAuditTrailByEntityGuid("p1");
  REQUIRE(trail.size() == 2);
  CHECK(trail[0].eventGuid == "ev-1");
  CHECK(trail[1].eventGuid == "ev-3");
  CHECK(db.events.getAuditTrailByEntityGuid("nobody").empty());
  CHECK(db.events.getAuditLogsSince(ts(1)).size() == 2);
  CHECK(db.events.getAuditLogsSince("").size() == 3);

  auto fromServer = audit("server-1", makeEvent("ev-9", ts(9), "p9"));
  db.events.saveAuditLogs({fromServer, fromServer, audit("audit-ev-1", e1)});  // duplicate + known guid
  db.events.saveAuditLogs({fromServer});
  CHECK(db.store->auditLog().size() == 4);
  CHECK(db.events.getAuditLogsSince(ts(3)).at(0).guid == "server-1");
}

TEST_CASE("watermarks and sync state persist until changed", "[event-store]") {
  Opened db(dc::openMemoryStorage());
  CHECK(db.events.getLastRemoteSyncTimestamp() == "");
  db.events.setLastRemoteSyncTimestamp(ts(1));
  db.events.setLastLocalSyncTimestamp(ts(2));
  db.events.setLastPullExternalSyncTimestamp(ts(3));
  db.events.setLastPushExternalSyncTimestamp(ts(4));
  db.events.setSyncState("cursor", Json{{"seq", 7}});
  CHECK(db.events.getLastRemoteSyncTimestamp() == ts(1));
  CHECK(db.events.getLastLocalSyncTimestamp() == ts(2));
  CHECK(db.events.getLastPullExternalSyncTimestamp() == ts(3));
  CHECK(db.events.getLastPushExternalSyncTimestamp() == ts(4));
  CHECK(db.events.getSyncState("cursor")->at("seq") == 7);
  db.events.setSyncState("cursor", nullptr);  // null deletes
  CHECK_FALSE(db.events.getSyncState("cursor"));
}
