// EntityStore: initial/modified pairs, external-id index, modified-since,
// potential duplicates as unordered pairs.
#include <catch2/catch.hpp>

#include "store_fixture.hpp"

using namespace storetest;
using dc::Json;

TEST_CASE("getEntityByExternalId follows changes of the external id", "[entity-store]") {
  Opened db(dc::openMemoryStorage());
  applyUpsert(*db.store, makeEvent("ev-1", ts(1), "p1", {{"name", "A"}, {"externalId", "EXT-1"}}));
  applyUpsert(*db.store, makeEvent("ev-2", ts(2), "p2", {{"name", "B"}}));
  CHECK(db.entities.getEntityByExternalId("EXT-1")->guid == "p1");
  CHECK_FALSE(db.entities.getEntityByExternalId("EXT-2"));
  applyUpsert(*db.store, makeEvent("ev-3", ts(3), "p1", {{"name", "A"}, {"externalId", "EXT-2"}}), 2);
  CHECK_FALSE(db.entities.getEntityByExternalId("EXT-1"));
  CHECK(db.entities.getEntityByExternalId("EXT-2")->guid == "p1");
  db.entities.deleteEntity("p1");
  CHECK_FALSE(db.entities.getEntityByExternalId("EXT-2"));
}

TEST_CASE("getModifiedEntitiesSince compares lastUpdated as instants", "[entity-store]") {
  Opened db(dc::openMemoryStorage());
  applyUpsert(*db.store, makeEvent("ev-1", ts(1), "p1"));
  applyUpsert(*db.store, makeEvent("ev-2", ts(2), "p2"));
  applyUpsert(*db.store, makeEvent("ev-3", ts(3), "p3"));
  auto since = db.entities.getModifiedEntitiesSince(ts(1));
  REQUIRE(since.size() == 2);
  CHECK(since[0].guid == "p2");
  CHECK(since[1].guid == "p3");
  CHECK(db.entities.getModifiedEntitiesSince("").size() == 3);
  CHECK(db.entities.getModifiedEntitiesSince("2024-05-01T12:00:02.000+02:00").size() == 1);
  CHECK_THROWS_AS(db.entities.getModifiedEntitiesSince("not a time"), dc::Error);
}

TEST_CASE("markEntityAsSynced sets initial := modified", "[entity-store]") {
  Opened db(dc::openMemoryStorage());
  applyUpsert(*db.store, makeEvent("ev-1", ts(1), "p1", {{"name", "v1"}}));
  applyUpsert(*db.store, makeEvent("ev-2", ts(2), "p1", {{"name", "v2"}}), 2);
  applyUpsert(*db.store, makeEvent("ev-3", ts(3), "p2", {{"name", "w1"}}));
  applyUpsert(*db.store, makeEvent("ev-4", ts(4), "p2", {{"name", "w2"}}), 2);
  db.entities.markEntityAsSynced("p1");
  db.entities.markEntityAsSynced("missing");  // nothing to do
  CHECK(db.entities.getEntity("p1")->initial["name"] == "v2");
  CHECK(db.entities.getEntity("p2")->initial["name"] == "w1");
  db.entities.markAllEntitiesAsSynced();
  CHECK(db.entities.getEntity("p2")->initial["name"] == "w2");
}

TEST_CASE("searchEntities evaluates on modified and rejects bad criteria", "[entity-store]") {
  Opened db(dc::openMemoryStorage());
  applyUpsert(*db.store, makeEvent("ev-1", ts(1), "p1", {{"name", "Old Name"}, {"age", 30}}));
  applyUpsert(*db.store, makeEvent("ev-2", ts(2), "p1", {{"name", "New Name"}, {"age", 31}}), 2);
  applyUpsert(*db.store, makeEvent("ev-3", ts(3), "p2", {{"name", "Other"}, {"age", 10}}));
  CHECK(db.entities.searchEntities(Json::array({{{"name", "old name"}}})).empty());
  CHECK(db.entities.searchEntities(Json::array({{{"name", "new name"}}})).at(0).guid == "p1");
  auto adults = db.entities.searchEntities(Json::array({{{"data.age", {{"$gt", 18}}}}}));
  REQUIRE(adults.size() == 1);
  CHECK(adults[0].guid == "p1");
  CHECK_THROWS_AS(db.entities.searchEntities(Json::array({{{"age", {{"$bogus", 1}}}}})), dc::Error);
}

TEST_CASE("potential duplicates are unordered pairs; deleting an entity drops its pairs", "[entity-store]") {
  Opened db(dc::openMemoryStorage());
  db.entities.savePotentialDuplicates({{"new", "old"}, {"old", "new"}, {"x", "old"}});
  auto pairs = db.entities.getPotentialDuplicates();
  REQUIRE(pairs.size() == 2);
  CHECK(pairs[0].entityGuid == "new");
  CHECK(pairs[0].duplicateGuid == "old");
  db.entities.resolvePotentialDuplicates({{"old", "new"}});
  CHECK(db.entities.getPotentialDuplicates().size() == 1);
  db.entities.deleteEntity("old");
  CHECK(db.entities.getPotentialDuplicates().empty());
}

TEST_CASE("EntityStore clearStore removes entities and duplicates only", "[entity-store]") {
  Opened db(dc::openMemoryStorage());
  applyUpsert(*db.store, makeEvent("ev-1", ts(1), "p1"));
  db.entities.savePotentialDuplicates({{"p1", "p2"}});
  db.entities.clearStore();
  CHECK(db.entities.getAllEntities().empty());
  CHECK(db.entities.getPotentialDuplicates().empty());
  CHECK_FALSE(db.entities.getEntityByExternalId("anything"));
  CHECK(db.events.getAllEvents().size() == 1);
}
