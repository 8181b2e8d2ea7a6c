// One behaviour suite for the Store, run against every storage back-end.
// Each section starts from a fresh, empty back-end; "reopen" means a new Store over the same files.
#include <catch2/catch.hpp>

#include "store_fixture.hpp"

using namespace storetest;
using dc::Json;

namespace {
template <class Backend>
struct Harness {
  Backend backend;
  std::unique_ptr<Opened> db = std::make_unique<Opened>(backend.storage);
  dc::Store& store() { return *db->store; }
  void reopen() {
    db.reset();
    db = std::make_unique<Opened>(backend.reopen());
  }
};
}  // namespace

TEMPLATE_TEST_CASE("store behaviour", "[store]", MemoryBackend, DirectoryBackend) {
  Harness<TestType> h;
  INFO("back-end: " << TestType::name);

  SECTION("a fresh store is empty and has nothing to sync") {
    CHECK(h.store().events().empty());
    CHECK(h.store().entities().empty());
    CHECK(h.db->events.getUnsyncedEventsCount() == 0);
    CHECK(h.db->events.getMerkleRoot() == "");
    CHECK(h.store().maxAppliedKey() == dc::EventKey{});
    h.reopen();
    CHECK(h.store().events().empty());
  }

  SECTION("reopen restores events, audit, entities, duplicates, sync state, rejected events, Merkle root") {
    auto e1 = makeEvent("ev-1", ts(1), "p1", {{"name", "Ann"}, {"externalId", "X-1"}});
    auto e2 = makeEvent("ev-2", ts(2), "p2", {{"name", "Ann"}});
    auto e3 = makeEvent("ev-3", ts(3), "p1", {{"name", "Ann B"}, {"externalId", "X-1"}});
    applyUpsert(h.store(), e1);
    applyUpsert(h.store(), e2);
    applyUpsert(h.store(), e3, 2);
    {
      dc::Transaction tx(h.store());
      tx.addPotentialDuplicate("p2", "p1");
      tx.setState("pullCursor", "c-7");
      tx.setState("device.authToken", "secret");
      tx.addRejected("ev-bad", dc::RejectedEvent{Json{{"guid", "ev-bad"}}, "INVALID_FORM", "no data", "pull"});
      tx.commit();
    }
    h.store().markEventsSynced({"ev-1"}, dc::REMOTE);
    h.db->events.setLastRemoteSyncTimestamp(ts(2));
    Json before = snapshot(h.store());
    std::string root = h.db->events.getMerkleRoot();
    REQUIRE(root.size() == 64);

    h.reopen();
    CHECK(snapshot(h.store()) == before);
    CHECK(h.db->events.getMerkleRoot() == root);
    auto p1 = h.db->entities.getEntity("p1");
    REQUIRE(p1);
    CHECK(p1->initial["name"] == "Ann");     // first state
    CHECK(p1->modified["name"] == "Ann B");  // current state
    CHECK(h.db->entities.getEntityByExternalId("X-1")->guid == "p1");
    CHECK(h.db->events.getUnsyncedEventsCount() == 2);
    CHECK(h.db->events.getLastRemoteSyncTimestamp() == ts(2));
    CHECK(h.db->events.getSyncState("pullCursor") == Json("c-7"));
    CHECK(h.db->events.getRejectedEvents().at(0).code == "INVALID_FORM");
    CHECK(h.store().maxAppliedKey() == dc::keyOf(e3));
    CHECK(h.store().duplicateIndex().findMatches("p2", dc::signatureOf(Json{{"name", "Ann"}})).empty());
    CHECK(h.store().duplicateIndex().size() == 2);

    // The reopened store keeps accepting writes, and they survive the next reopen too.
    applyUpsert(h.store(), makeEvent("ev-4", ts(4), "p3"));
    h.reopen();
    CHECK(h.store().events().size() == 4);
    CHECK(h.db->events.getMerkleRoot() != root);
  }

  SECTION("a transaction destroyed without commit leaves no trace") {
    {
      dc::Transaction tx(h.store());
      tx.addEvent(makeEvent("ev-1", ts(1)));
      tx.putEntity(individual("p1", {{"name", "A"}}, ts(1)));
      tx.setState("k", 1);
    }
    CHECK(h.store().events().empty());
    CHECK(h.store().entities().empty());
    CHECK_FALSE(h.store().state("k"));
    h.reopen();
    CHECK(h.store().events().empty());
    CHECK(h.store().entities().empty());
  }

  SECTION("a transaction reads its own staged writes") {
    applyUpsert(h.store(), makeEvent("ev-1", ts(1), "p1"));
    dc::Transaction tx(h.store());
    CHECK(tx.hasEvent("ev-1"));
    CHECK_FALSE(tx.hasEvent("ev-2"));
    tx.addEvent(makeEvent("ev-2", ts(2), "p2"));
    CHECK(tx.hasEvent("ev-2"));
    tx.putEntity(individual("p2", {{"name", "B"}}, ts(2)));
    CHECK(tx.getEntity("p2")->at("name") == "B");
    tx.deleteEntity("p1");
    CHECK_FALSE(tx.getEntity("p1"));
    CHECK(tx.touchedEntities() == std::vector<std::string>{"p2", "p1"});
    CHECK(h.store().findEntity("p1"));  // committed state untouched until commit
    tx.commit();
    CHECK_FALSE(h.store().findEntity("p1"));
    CHECK(h.store().findEntity("p2"));
    CHECK(h.store().events().size() == 2);
  }

  SECTION("a repeated event guid is a no-op") {
    auto e = makeEvent("ev-1", ts(1));
    applyUpsert(h.store(), e);
    std::string root = h.store().merkle().rootHex();
    dc::Transaction tx(h.store());
    tx.addEvent(e);
    tx.commit();
    CHECK(h.store().events().size() == 1);
    CHECK(h.store().merkle().rootHex() == root);
  }

  SECTION("initial is the first state until the entity is marked synced") {
    applyUpsert(h.store(), makeEvent("ev-1", ts(1), "p1", {{"name", "v1"}}));
    applyUpsert(h.store(), makeEvent("ev-2", ts(2), "p1", {{"name", "v2"}}), 2);
    auto p = *h.db->entities.getEntity("p1");
    CHECK(p.initial["version"] == 1);
    CHECK(p.modified["version"] == 2);
    h.db->entities.markEntityAsSynced("p1");
    h.reopen();
    p = *h.db->entities.getEntity("p1");
    CHECK(p.initial == p.modified);
    CHECK(h.store().findEntity("p1")->initial.is_null());  // confirmed: the store holds it once
    applyUpsert(h.store(), makeEvent("ev-3", ts(3), "p1", {{"name", "v3"}}), 3);
    CHECK(h.db->entities.getEntity("p1")->initial["name"] == "v2");
  }

  SECTION("rebuild replaces entities and duplicate flags and journals only differences") {
    applyUpsert(h.store(), makeEvent("ev-1", ts(1), "keep", {{"name", "K"}}));
    applyUpsert(h.store(), makeEvent("ev-2", ts(2), "drop", {{"name", "D"}}));
    {
      dc::Transaction tx(h.store());
      tx.addPotentialDuplicate("keep", "drop");
      tx.commit();
    }
    dc::Transaction tx(h.store());
    tx.beginRebuild();
    CHECK_FALSE(tx.getEntity("keep"));  // the rebuild starts from nothing
    tx.putEntity(individual("keep", {{"name", "K2"}}, ts(3), 2));
    tx.putEntity(individual("new", {{"name", "N"}}, ts(3)));
    tx.addPotentialDuplicate("new", "keep");
    tx.commit();
    auto check = [&] {
      CHECK_FALSE(h.store().findEntity("drop"));
      CHECK(h.store().findEntity("keep")->initialState()["name"] == "K");  // survivors keep initial
      CHECK(h.store().findEntity("keep")->modified["name"] == "K2");
      CHECK(h.store().findEntity("new")->initialState()["name"] == "N");
      CHECK(h.store().findEntity("new")->initial.is_null());  // held once while unchanged
      CHECK(h.store().potentialDuplicates() == std::set<std::pair<std::string, std::string>>{{"new", "keep"}});
    };
    check();
    h.reopen();
    check();
  }

  SECTION("potential duplicates are unordered pairs") {
    dc::Transaction tx(h.store());
    tx.addPotentialDuplicate("a", "b");
    tx.addPotentialDuplicate("c", "a");
    tx.addPotentialDuplicate("c", "d");
    tx.commit();
    tx.addPotentialDuplicate("b", "a");  // same pair, other orientation
    tx.commit();
    CHECK(h.store().potentialDuplicates().size() == 3);
    h.db->entities.resolvePotentialDuplicates({{"b", "a"}});  // resolved in either orientation
    CHECK(h.store().potentialDuplicates().size() == 2);
    tx.removeDuplicatesOf("c");
    tx.commit();
    h.reopen();
    CHECK(h.store().potentialDuplicates().empty());
  }

  SECTION("the duplicate index follows every commit") {
    applyUpsert(h.store(), makeEvent("ev-1", ts(1), "p1", {{"name", "John Doe"}}));
    applyUpsert(h.store(), makeEvent("ev-2", ts(2), "p2", {{"name", " john doe "}}));
    auto sig = dc::signatureOf(Json{{"name", "John Doe"}});
    CHECK(h.store().duplicateIndex().findMatches("p1", sig) == std::vector<std::string>{"p2"});
    h.reopen();
    CHECK(h.store().duplicateIndex().findMatches("p1", sig) == std::vector<std::string>{"p2"});
    dc::Transaction tx(h.store());
    tx.deleteEntity("p2");
    tx.commit();
    CHECK(h.store().duplicateIndex().findMatches("p1", sig).empty());
  }

  SECTION("markEventsSynced moves events out of the outbox, durably") {
    for (int i = 1; i <= 5; ++i) applyUpsert(h.store(), makeEvent("ev-" + std::to_string(i), ts(i)));
    h.db->events.updateEventSyncLevel({"ev-2", "ev-4", "unknown"}, dc::REMOTE);
    h.reopen();
    std::vector<std::string> outbox;
    for (const auto& e : h.db->events.getUnsyncedEvents()) outbox.push_back(e.guid);
    CHECK(outbox == std::vector<std::string>{"ev-1", "ev-3", "ev-5"});
    CHECK(h.db->events.getUnsyncedEvents(2).size() == 2);
    CHECK(h.store().findEvent("ev-2")->syncLevel == dc::REMOTE);
  }

  SECTION("clearStore resets watermarks and cursors, keeps device state") {
    applyUpsert(h.store(), makeEvent("ev-1", ts(1), "p1"));
    h.db->events.setLastRemoteSyncTimestamp(ts(1));
    h.db->events.setLastLocalSyncTimestamp(ts(1));
    h.db->events.setLastPullExternalSyncTimestamp(ts(1));
    h.db->events.setLastPushExternalSyncTimestamp(ts(1));
    h.db->events.setSyncState("pullCursor", "42");
    h.db->events.setSyncState(dc::kAuthTokenStateKey, "t");  // the key the sync manager writes (tests/sync/edges_test.cpp)
    h.store().setAuditPushedCount(1);
    h.db->events.clearStore();
    h.db->entities.clearStore();
    auto check = [&] {
      CHECK(h.store().events().empty());
      CHECK(h.store().auditLog().empty());
      CHECK(h.store().entities().empty());
      CHECK(h.db->events.getMerkleRoot() == "");
      CHECK(h.db->events.getLastRemoteSyncTimestamp() == "");
      CHECK(h.db->events.getLastLocalSyncTimestamp() == "");
      CHECK(h.db->events.getLastPullExternalSyncTimestamp() == "");
      CHECK(h.db->events.getLastPushExternalSyncTimestamp() == "");
      CHECK_FALSE(h.db->events.getSyncState("pullCursor"));
      CHECK(h.store().auditPushedCount() == 0);
      CHECK(h.db->events.getSyncState(dc::kAuthTokenStateKey) == Json("t"));
    };
    check();
    h.reopen();
    check();
    // A full re-sync can refill the store: the old guid is not considered "already stored".
    applyUpsert(h.store(), makeEvent("ev-1", ts(1), "p1"));
    CHECK(h.store().events().size() == 1);
  }

  SECTION("a storage failure on append is a STORAGE error and leaves the store unchanged") {
    auto failing = std::make_shared<FailingStorage>(h.backend.storage);
    Opened db(failing);
    applyUpsert(*db.store, makeEvent("ev-1", ts(1), "p1"));
    Json before = snapshot(*db.store);
    failing->failAppend = true;
    failing->writeHalfFirst = GENERATE(false, true);
    try {
      applyUpsert(*db.store, makeEvent("ev-2", ts(2), "p2"));
      FAIL("commit should have thrown");
    } catch (const dc::Error& e) {
      CHECK(e.code() == dc::ErrorCode::Storage);
    }
    CHECK_THROWS_AS(db.events.setSyncState("k", 1), dc::Error);
    CHECK(snapshot(*db.store) == before);
    // Once the disk works again, writes continue and nothing half-written got into the journal.
    failing->failAppend = false;
    applyUpsert(*db.store, makeEvent("ev-3", ts(3), "p3"));
    h.reopen();
    CHECK(h.store().recoveredTailBytes() == 0);
    CHECK(h.store().events().size() == 2);
    CHECK_FALSE(h.store().findEvent("ev-2"));
  }

  SECTION("a write batch appends its commits in one write; they are visible at once and durable after it") {
    auto counting = std::make_shared<FailingStorage>(h.backend.storage);
    Opened db(counting);
    applyUpsert(*db.store, makeEvent("ev-0", ts(0), "p0"));
    size_t bytesBefore = counting->appendedBytes;
    size_t appendsBefore = counting->appends;
    {
      dc::Store::WriteBatch batch(*db.store);
      for (int i = 1; i <= 5; ++i) applyUpsert(*db.store, makeEvent("ev-" + std::to_string(i), ts(i), "p" + std::to_string(i)));
      CHECK(db.store->events().size() == 6);  // reads see the commits
      CHECK(counting->appends == appendsBefore);  // nothing written yet
      batch.finish();
    }
    CHECK(counting->appends == appendsBefore + 1);
    CHECK(counting->appendedBytes > bytesBefore);
    Json after = snapshot(*db.store);
    h.reopen();
    CHECK(snapshot(h.store()) == after);
  }

  SECTION("a write batch whose write fails leaves the journal as before it and the store refusing writes") {
    auto failing = std::make_shared<FailingStorage>(h.backend.storage);
    Json before;
    {
      Opened db(failing);
      applyUpsert(*db.store, makeEvent("ev-0", ts(0), "p0"));
      before = snapshot(*db.store);
      failing->writeHalfFirst = GENERATE(false, true);
      dc::Store::WriteBatch batch(*db.store);
      applyUpsert(*db.store, makeEvent("ev-1", ts(1), "p1"));
      failing->failAppend = true;
      try {
        batch.finish();
        FAIL("finish should have thrown");
      } catch (const dc::Error& e) {
        CHECK(e.code() == dc::ErrorCode::Storage);
      }
      failing->failAppend = false;
      CHECK_THROWS_AS(applyUpsert(*db.store, makeEvent("ev-2", ts(2), "p2")), dc::Error);  // reopen first
    }
    h.reopen();
    CHECK(h.store().recoveredTailBytes() == 0);
    CHECK(snapshot(h.store()) == before);
  }

  SECTION("stores on different storage do not see each other's data (tenant isolation)") {
    TestType otherBackend;
    Opened other(otherBackend.storage);
    applyUpsert(h.store(), makeEvent("ev-1", ts(1), "p1"));
    applyUpsert(*other.store, makeEvent("ev-2", ts(2), "p2"));
    h.reopen();
    Opened otherAgain(otherBackend.reopen());
    CHECK(h.store().events().size() == 1);
    CHECK(h.store().findEntity("p1"));
    CHECK_FALSE(h.store().findEntity("p2"));
    CHECK(otherAgain.store->events().size() == 1);
    CHECK_FALSE(otherAgain.store->findEvent("ev-1"));
  }

  SECTION("flush completes after the commits before it") {
    applyUpsert(h.store(), makeEvent("ev-1", ts(1), "p1"));
    std::optional<dc::Error> result = dc::Error(dc::ErrorCode::Closed, "not called");
    h.store().flush([&](std::optional<dc::Error> err) { result = err; });
    CHECK_FALSE(result);
  }
}
