// The original library's own suite: the cases about applying, searching and duplicates,
// ported from the TypeScript client's EventApplierService / EntityDataManager tests.
#include <catch2/catch.hpp>

#include "applier_fixture.hpp"

using dc::ErrorCode;
using dc::Json;
using dctest::Engine;
using dctest::errorOf;
using dctest::member;

TEST_CASE("create individual", "[original]") {
  Engine eng;
  auto e = eng.submit("create-individual", "ind-1", {{"name", "John Doe"}, {"age", 30}});
  REQUIRE(e);
  CHECK((*e)["guid"] == "ind-1");
  CHECK((*e)["id"] == "ind-1");
  CHECK((*e)["type"] == "individual");
  CHECK((*e)["name"] == "John Doe");
  CHECK((*e)["version"] == 1);
  CHECK((*e)["data"] == Json{{"name", "John Doe"}, {"age", 30}});
  CHECK(eng.events.getAllEvents().size() == 1);
}

TEST_CASE("create group", "[original]") {
  Engine eng;
  auto g = eng.submit("create-group", "grp-1", {{"name", "Smith household"}});
  REQUIRE(g);
  CHECK((*g)["type"] == "group");
  CHECK((*g)["name"] == "Smith household");
  CHECK((*g)["memberIds"] == Json::array());
  CHECK((*g)["version"] == 1);
}

TEST_CASE("update individual: version 2, initial is the version-1 state", "[original]") {
  Engine eng;
  eng.submit("create-individual", "ind-1", {{"name", "John"}, {"age", 30}});
  eng.submit("update-individual", "ind-1", {{"age", 31}});
  auto pair = eng.entities.getEntity("ind-1");
  REQUIRE(pair);
  CHECK(pair->modified["version"] == 2);
  CHECK(pair->modified["data"] == Json{{"name", "John"}, {"age", 31}});
  CHECK(pair->initial["version"] == 1);
  CHECK(pair->initial["data"]["age"] == 30);
}

TEST_CASE("add member", "[original]") {
  Engine eng;
  eng.submit("create-group", "grp-1", {{"name", "Household"}});
  auto g = eng.submit("add-member", "grp-1", {{"members", {member("m1", "Alice")}}});
  CHECK((*g)["memberIds"] == Json{"m1"});
  CHECK((*g)["version"] == 2);
  CHECK(eng.entity("m1")["name"] == "Alice");
}

TEST_CASE("create group with members: members stored, not kept in group data", "[original]") {
  Engine eng;
  auto g = eng.submit("create-group", "grp-1",
                      {{"name", "Household"}, {"members", {member("m1", "Alice"), member("m2", "Bob")}}});
  CHECK((*g)["memberIds"] == Json{"m1", "m2"});
  CHECK_FALSE((*g)["data"].contains("members"));
  CHECK(eng.entity("m1")["type"] == "individual");
  CHECK(eng.entity("m2")["data"]["name"] == "Bob");
}

TEST_CASE("unknown event type rejects with NO_APPLIER", "[original]") {
  Engine eng;
  dc::Error e = errorOf([&] { eng.submit("teleport", "x", {{"a", 1}}); });
  CHECK(e.code() == ErrorCode::NoApplier);
  CHECK(std::string(e.what()) == "No event applier found for event type: teleport");
  CHECK(eng.events.getAllEvents().empty());
}

TEST_CASE("nested groups", "[original]") {
  Engine eng;
  Json sub = member("sub-1", "Sub family", "group");
  sub["members"] = Json::array({member("c1", "Child")});
  eng.submit("create-group", "grp-1", {{"name", "Clan"}, {"members", {sub, member("m1", "Head")}}});
  CHECK(eng.entity("grp-1")["memberIds"] == Json{"sub-1", "m1"});
  CHECK(eng.entity("sub-1")["type"] == "group");
  CHECK(eng.entity("sub-1")["memberIds"] == Json{"c1"});
  CHECK_FALSE(eng.entity("sub-1")["data"].contains("members"));
  CHECK(eng.entity("c1")["name"] == "Child");
}

TEST_CASE("add member to a pre-saved group", "[original]") {
  Engine eng;
  eng.submit("create-group", "grp-1", {{"name", "Household"}, {"members", {member("m1", "Alice")}}});
  auto g = eng.submit("add-member", "grp-1", {{"members", {member("m2", "Bob")}}});
  CHECK((*g)["memberIds"] == Json{"m1", "m2"});
}

TEST_CASE("update a member", "[original]") {
  Engine eng;
  eng.submit("create-group", "grp-1", {{"name", "Household"}, {"members", {member("m1", "Alice")}}});
  eng.submit("update-individual", "m1", {{"name", "Alice Smith"}, {"age", 40}});
  Json m = eng.entity("m1");
  CHECK(m["name"] == "Alice Smith");
  CHECK(m["version"] == 2);
  CHECK(eng.entity("grp-1")["memberIds"] == Json{"m1"});
}

namespace {
// The original's example appliers, written as C++ EventAppliers.
std::optional<Json> addElderly(const std::optional<Json>& group, const Json& form, dc::ApplierContext& ctx) {
  if (!group) throw dc::Error(ErrorCode::InvalidGroup, "Group with ID " + form["entityGuid"].get<std::string>() + " not found");
  const Json& d = form["data"];
  Json elderly = {{"guid", d["memberGuid"]}, {"type", "individual"}, {"data", {{"name", d["name"]}, {"age", 80}}}};
  ctx.saveEntity("add-elderly", ctx.getEntity(d["memberGuid"]), elderly, Json{{"age", 80}});
  Json g = *group;
  g["memberIds"].push_back(d["memberGuid"]);
  return g;
}

// Moves data.memberIds out of the household into a new group data.newGroupGuid.
std::optional<Json> splitHousehold(const std::optional<Json>& group, const Json& form, dc::ApplierContext& ctx) {
  const Json& d = form["data"];
  Json moved = d["memberIds"];
  Json newGroup = {{"guid", d["newGroupGuid"]}, {"type", "group"}, {"data", {{"name", d["newName"]}}}, {"memberIds", moved}};
  ctx.saveEntity("split-household", std::nullopt, newGroup, Json{{"memberIds", moved}});
  Json g = *group;
  Json kept = Json::array();
  for (const auto& id : g["memberIds"])
    if (std::find(moved.begin(), moved.end(), id) == moved.end()) kept.push_back(id);
  g["memberIds"] = kept;
  return g;
}
}  // namespace

TEST_CASE("custom applier: add an elderly member", "[original]") {
  Engine eng;
  eng.service.registerEventApplier("add-elderly", addElderly);
  eng.submit("create-group", "grp-1", {{"name", "Household"}, {"members", {member("m1", "Alice")}}});
  auto g = eng.submit("add-elderly", "grp-1", {{"memberGuid", "old-1"}, {"name", "Grandpa"}});
  CHECK((*g)["memberIds"] == Json{"m1", "old-1"});
  CHECK((*g)["version"] == 2);
  Json elder = eng.entity("old-1");
  CHECK(elder["data"]["age"] == 80);
  CHECK(elder["name"] == "Grandpa");
  CHECK(elder["version"] == 1);
  auto trail = eng.events.getAuditTrailByEntityGuid("old-1");
  REQUIRE(trail.size() == 1);
  CHECK(trail[0].action == "add-elderly");
  CHECK(trail[0].changes == Json{{"age", 80}});
}

TEST_CASE("custom applier: split a household into two groups", "[original]") {
  Engine eng;
  eng.service.registerEventApplier("split-household", splitHousehold);
  eng.submit("create-group", "hh-1",
             {{"name", "Big household"},
              {"members", {member("a", "A"), member("b", "B"), member("c", "C"), member("d", "D")}}});
  eng.submit("split-household", "hh-1", {{"newGroupGuid", "hh-2"}, {"newName", "New household"}, {"memberIds", {"c", "d"}}});
  CHECK(eng.entity("hh-1")["memberIds"] == Json{"a", "b"});
  CHECK(eng.entity("hh-2")["memberIds"] == Json{"c", "d"});
  CHECK(eng.entity("hh-2")["type"] == "group");
  CHECK(eng.entity("hh-2")["name"] == "New household");
}

TEST_CASE("remove member", "[original]") {
  Engine eng;
  eng.submit("create-group", "grp-1", {{"name", "Household"}, {"members", {member("m1", "Alice"), member("m2", "Bob")}}});
  auto g = eng.submit("remove-member", "grp-1", {{"memberId", "m1"}});
  CHECK((*g)["memberIds"] == Json{"m2"});
  CHECK((*g)["version"] == 2);
  CHECK(eng.exists("m1"));  // a removed individual stays
}

TEST_CASE("concurrent creation of three 4-member groups", "[original]") {
  Engine eng;
  for (int g = 0; g < 3; ++g) {
    Json members = Json::array();
    for (int m = 0; m < 4; ++m) {
      std::string id = "g" + std::to_string(g) + "-m" + std::to_string(m);
      members.push_back(member(id, "Person " + id));
    }
    eng.submit("create-group", "g" + std::to_string(g), {{"name", "Group " + std::to_string(g)}, {"members", members}});
  }
  for (int g = 0; g < 3; ++g) CHECK(eng.entity("g" + std::to_string(g))["memberIds"].size() == 4);
  CHECK(eng.entities.getAllEntities().size() == 15);
  CHECK(eng.entities.getPotentialDuplicates().empty());
}

TEST_CASE("group detail with members", "[original]") {
  Engine eng;
  eng.submit("create-group", "grp-1", {{"name", "Household"}, {"members", {member("m1", "Alice"), member("m2", "Bob")}}});
  // The facade's getEntity(group) = the group plus `members` resolved from memberIds.
  Json g = eng.entity("grp-1");
  Json members = Json::array();
  for (const auto& id : dc::entity::memberIds(g)) members.push_back(eng.entity(id));
  REQUIRE(members.size() == 2);
  CHECK(members[0]["name"] == "Alice");
  CHECK(members[1]["name"] == "Bob");
}

TEST_CASE("cascade delete", "[original]") {
  Engine eng;
  Json sub = member("sub", "Sub", "group");
  sub["members"] = Json::array({member("c1", "Child")});
  eng.submit("create-group", "top", {{"name", "Top"}, {"members", {sub, member("m1", "Head")}}});
  auto r = eng.submit("delete-entity", "top", {{"reason", "moved away"}});
  CHECK_FALSE(r);
  for (const char* g : {"top", "sub", "c1", "m1"}) CHECK_FALSE(eng.exists(g));
  // Children first in the audit log, the root with the event's action.
  auto logs = eng.events.getAuditLogsSince("");
  std::vector<std::string> order;
  for (const auto& a : logs)
    if (a.eventGuid == "ev-2") order.push_back(a.entityGuid + ":" + a.action);
  CHECK(order == std::vector<std::string>{"c1:cascade-delete-entity", "sub:cascade-delete-entity",
                                          "m1:cascade-delete-entity", "top:delete-entity"});
}

TEST_CASE("two identical John Doe are flagged; resolve-duplicate clears", "[original]") {
  Engine eng;
  eng.submit("create-individual", "p1", {{"name", "John Doe"}});
  eng.submit("create-individual", "p2", {{"name", "John Doe"}});
  auto dups = eng.entities.getPotentialDuplicates();
  REQUIRE(dups.size() == 1);
  CHECK(dups[0].entityGuid == "p2");
  CHECK(dups[0].duplicateGuid == "p1");
  auto trail = eng.events.getAuditTrailByEntityGuid("p2");
  REQUIRE(trail.size() == 2);
  CHECK(trail[1].action == "flag-potential-duplicate");

  eng.submit("resolve-duplicate", "p2", {{"duplicates", {{{"entityGuid", "p2"}, {"duplicateGuid", "p1"}}}}, {"shouldDelete", false}});
  CHECK(eng.entities.getPotentialDuplicates().empty());
  CHECK(eng.exists("p2"));

  SECTION("shouldDelete removes the newer entity") {
    eng.submit("create-individual", "p3", {{"name", "john doe"}});
    REQUIRE(eng.entities.getPotentialDuplicates().size() == 2);
    eng.submit("resolve-duplicate", "p3", {{"duplicates", {{{"entityGuid", "p3"}, {"duplicateGuid", "p1"}}}}, {"shouldDelete", true}});
    CHECK_FALSE(eng.exists("p3"));
    CHECK(eng.entities.getPotentialDuplicates().empty());  // the p3/p2 pair went with p3
  }
}

TEST_CASE("a fresh store has 0 unsynced events", "[original]") {
  Engine eng;
  CHECK(eng.events.getUnsyncedEventsCount() == 0);
  eng.submit("create-individual", "p1", {{"name", "A"}});
  CHECK(eng.events.getUnsyncedEventsCount() == 1);
}
