// Scoped replay (docs/convergence.md, 'Scoped replay'): an event that sorts before the log's end
// re-applies only the entities it touches, and the result equals a full replay (every test runs
// with setVerifyReplays, which replays everything after each late event and throws INTERNAL on a
// difference).
#include <catch2/catch.hpp>

#include "applier_fixture.hpp"
#include "core/journal.hpp"

using namespace dctest;
using dc::Json;

namespace {
// A form with an explicit time (seconds after a fixed base) instead of the fixture's clock.
Json at(Engine& e, int second, const std::string& type, const std::string& entityGuid, const Json& data) {
  Json f = e.form(type, entityGuid, data);
  f["timestamp"] = dc::formatTimestamp(*dc::parseTimestamp("2024-05-01T10:00:00.000Z") + second * 1000LL);
  return f;
}

std::string afterFullRebuild(Engine& e) {
  e.service.rebuild();
  return e.dumpEntities();
}
}  // namespace

TEST_CASE("a late submit of a new entity replays only that entity", "[applier][scoped]") {
  Engine e;
  e.service.setVerifyReplays(true);
  for (int i = 0; i < 50; ++i) e.service.submitForm(at(e, 100 + i, "create-individual", "p" + std::to_string(i), {{"name", "P" + std::to_string(i)}, {"n", i}}));
  e.service.submitForm(at(e, 10, "create-individual", "late", {{"name", "Late"}}));
  CHECK(e.service.replayCounts().scoped == 1);
  CHECK(e.service.replayCounts().full == 0);
  CHECK(e.entity("late")["data"]["name"] == "Late");
  CHECK(e.entity("late")["lastUpdated"] == "2024-05-01T10:00:10.000Z");
  std::string scoped = e.dumpEntities();
  CHECK(afterFullRebuild(e) == scoped);
}

TEST_CASE("a late update re-applies the entity's later events in order", "[applier][scoped]") {
  Engine e;
  e.service.setVerifyReplays(true);
  e.service.submitForm(at(e, 10, "create-individual", "p1", {{"name", "Ann"}, {"age", 1}}));
  e.service.submitForm(at(e, 30, "update-individual", "p1", {{"age", 3}}));
  e.service.submitForm(at(e, 40, "create-individual", "other", {{"name", "Other"}}));
  // Sorts between the two events of p1: its age is overwritten by the later update, its new field stays.
  e.service.submitForm(at(e, 20, "update-individual", "p1", {{"age", 2}, {"village", "North"}}));
  CHECK(e.service.replayCounts().scoped == 1);
  Json p1 = e.entity("p1");
  CHECK(p1["data"]["age"] == 3);
  CHECK(p1["data"]["village"] == "North");
  CHECK(p1["version"] == 3);
  CHECK(p1["lastUpdated"] == "2024-05-01T10:00:30.000Z");
  std::string scoped = e.dumpEntities();
  CHECK(afterFullRebuild(e) == scoped);
}

TEST_CASE("a late event reaching members and groups widens the scope to them", "[applier][scoped]") {
  Engine e;
  e.service.setVerifyReplays(true);
  e.service.submitForm(at(e, 10, "create-group", "g1", {{"name", "Household"}, {"members", {member("m1", "Mia"), member("m2", "Max")}}}));
  e.service.submitForm(at(e, 30, "update-individual", "m1", {{"age", 7}}));
  e.service.submitForm(at(e, 40, "create-individual", "x", {{"name", "Unrelated"}}));
  // Deleting the group before m1's update: the cascade deletes m1 and m2, and the later update of
  // m1 then re-creates m1 alone (an update of a missing individual creates it).
  e.service.submitForm(at(e, 20, "delete-entity", "g1", {{"reason", "moved"}}));
  CHECK(e.service.replayCounts().scoped + e.service.replayCounts().full == 1);
  CHECK_FALSE(e.exists("g1"));
  CHECK_FALSE(e.exists("m2"));
  CHECK(e.exists("m1"));
  CHECK(e.exists("x"));
  std::string scoped = e.dumpEntities();
  CHECK(afterFullRebuild(e) == scoped);
}

TEST_CASE("a late event that fails in its position is refused; one that makes a stored failure apply withdraws it",
          "[applier][scoped]") {
  Engine e;
  e.service.setVerifyReplays(true);
  e.service.submitForm(at(e, 10, "create-individual", "p1", {{"name", "Ann"}}));
  e.service.submitForm(at(e, 30, "create-individual", "p2", {{"name", "Bob"}}));
  // add-member to a group that does not exist at its time: refused, nothing stored.
  dc::Error err = errorOf([&] { e.service.submitForm(at(e, 20, "add-member", "g-missing", {{"members", {member("p9", "Zed")}}})); });
  CHECK(err.code() == dc::ErrorCode::InvalidGroup);
  CHECK(e.events.getAllEvents().size() == 2);

  // Pulled: an add-member (stored with its rejection), then the group it needs, earlier.
  Json add = at(e, 50, "add-member", "g1", {{"members", {member("p3", "Cy")}}});
  add["syncLevel"] = 1;
  auto first = e.service.applyRemoteEvents({add});
  REQUIRE(first.size() == 1);
  CHECK(first[0].error);
  CHECK(e.events.getRejectedEvents().size() == 1);
  Json group = at(e, 40, "create-group", "g1", {{"name", "G"}});
  group["syncLevel"] = 1;
  auto second = e.service.applyRemoteEvents({group});
  REQUIRE(second.size() == 1);
  CHECK(second[0].applied);
  CHECK(e.service.replayCounts().scoped >= 1);
  CHECK(e.events.getRejectedEvents().empty());
  CHECK(e.exists("p3"));
  CHECK(e.entity("g1")["memberIds"] == Json::array({"p3"}));
  // The applier reports what the late event touched (the sync manager's conflict check uses it).
  CHECK(second[0].touchedEntities == std::vector<std::string>{"g1"});
  std::string scoped = e.dumpEntities();
  CHECK(afterFullRebuild(e) == scoped);
}

TEST_CASE("entities that were potential duplicates are replayed in full", "[applier][scoped]") {
  Engine e;
  e.service.setVerifyReplays(true);
  e.service.submitForm(at(e, 10, "create-individual", "a", {{"name", "Same Name"}}));
  e.service.submitForm(at(e, 30, "create-individual", "b", {{"name", "Same Name"}}));
  REQUIRE(e.entities.getPotentialDuplicates().size() == 1);
  e.service.submitForm(at(e, 20, "update-individual", "a", {{"age", 4}}));
  CHECK(e.service.replayCounts().full == 1);
  // New data matching an entity outside the scope: full as well.
  e.service.submitForm(at(e, 40, "create-individual", "c", {{"name", "Carla"}}));
  e.service.submitForm(at(e, 15, "create-individual", "d", {{"name", "Carla"}}));
  CHECK(e.service.replayCounts().full == 2);
  CHECK(e.entities.getPotentialDuplicates().size() == 2);
  std::string entities = e.dumpEntities();
  CHECK(afterFullRebuild(e) == entities);
}

TEST_CASE("refs survive a reopen; events from version 1 records take the full replay until one records them",
          "[applier][scoped][journal]") {
  auto storage = dc::openMemoryStorage();
  {
    auto store = dc::Store::open(storage);
    dc::EventStore events{store};
    dc::EntityStore entities{store};
    dc::EventApplierService service{events, entities};
    Engine shape;  // only for its form builder
    service.submitForm(at(shape, 10, "create-group", "g1", {{"name", "G"}, {"members", {member("m1", "Mia")}}}));
    service.submitForm(at(shape, 30, "create-individual", "x", {{"name", "X"}}));
  }
  auto store = dc::Store::open(storage);
  REQUIRE(store->eventsReferencing("m1"));
  CHECK(store->eventsReferencing("m1")->size() == 1);  // the group's creation created m1
  CHECK_FALSE(store->hasEventsLackingRefs());

  // A version 1 record (no "v", no refs): its events' refs are unknown.
  auto old = dc::openMemoryStorage();
  Json v1 = {{"events", {{{"guid", "ev-old"}, {"entityGuid", "p-old"}, {"type", "create-individual"},
                          {"data", {{"name", "Old"}}}, {"timestamp", "2024-05-01T10:01:00.000Z"}, {"userId", "u1"},
                          {"syncLevel", 1}}}},
             {"put", {{{"guid", "p-old"}, {"modified", {{"guid", "p-old"}, {"id", "p-old"}, {"type", "individual"}, {"version", 1},
                                                       {"data", {{"name", "Old"}}}, {"name", "Old"},
                                                       {"lastUpdated", "2024-05-01T10:01:00.000Z"}}}}}}};
  old->append("journal-000001.log", dc::journal::frame(v1.dump()));
  {
    auto s1 = dc::Store::open(old);
    CHECK(s1->hasEventsLackingRefs());
    dc::EventStore events{s1};
    dc::EntityStore entities{s1};
    dc::EventApplierService service{events, entities};
    service.setVerifyReplays(true);
    Engine shape;
    service.submitForm(at(shape, 10, "create-individual", "new", {{"name", "New"}}));  // late
    CHECK(service.replayCounts().full == 1);
    CHECK_FALSE(s1->hasEventsLackingRefs());  // the full replay recorded them
    service.submitForm(at(shape, 5, "create-individual", "newer", {{"name", "Newer"}}));
    CHECK(service.replayCounts().scoped == 1);
  }
  auto s2 = dc::Store::open(old);
  CHECK_FALSE(s2->hasEventsLackingRefs());
}
