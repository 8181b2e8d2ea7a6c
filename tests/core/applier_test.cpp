// EventApplierService beyond the ported suite: every built-in type's rules and errors, custom
// appliers, idempotency, audit entries, ordering/rebuild, pulled events and the local clock.
#include <catch2/catch.hpp>

#include "applier_fixture.hpp"

using dc::ErrorCode;
using dc::Json;
using dctest::Engine;
using dctest::errorOf;
using dctest::member;

namespace {
void checkError(const dc::Error& e, ErrorCode code, const std::string& message) {
  CHECK(e.codeName() == std::string(dc::errorCodeName(code)));
  CHECK(std::string(e.what()) == message);
}
}  // namespace

TEST_CASE("upsert rules: defaults, merge, name, externalId, lastUpdated", "[applier]") {
  Engine eng;
  auto e = eng.submit("create-individual", "p1", {{"age", 3}});
  CHECK((*e)["name"] == "Unnamed Individual");
  CHECK((*e)["lastUpdated"] == "2024-05-01T10:00:01.000Z");
  e = eng.submit("update-individual", "p1", {{"name", "Ann"}, {"externalId", "EXT-9"}});
  CHECK((*e)["name"] == "Ann");
  CHECK((*e)["externalId"] == "EXT-9");
  CHECK((*e)["data"] == Json{{"age", 3}, {"name", "Ann"}, {"externalId", "EXT-9"}});
  CHECK((*e)["lastUpdated"] == "2024-05-01T10:00:02.000Z");
  CHECK(eng.entities.getEntityByExternalId("EXT-9")->guid == "p1");
  CHECK((*eng.submit("create-group", "g", {{"size", 1}}))["name"] == "Unnamed Group");
}

TEST_CASE("a repeated event guid is a no-op returning the current entity", "[applier]") {
  Engine eng;
  Json f = eng.form("create-individual", "p1", {{"name", "Ann"}});
  eng.service.submitForm(f);
  eng.submit("update-individual", "p1", {{"age", 5}});
  auto again = eng.service.submitForm(f);
  CHECK((*again)["version"] == 2);
  CHECK((*again)["data"]["age"] == 5);
  CHECK(eng.events.getAllEvents().size() == 2);
}

TEST_CASE("audit entries: one per change, event timestamp and user, deterministic guids", "[applier]") {
  Engine a, b;
  for (Engine* eng : {&a, &b}) eng->submit("create-group", "g", {{"name", "H"}, {"members", {member("m1", "A")}}});
  auto logs = a.events.getAuditLogsSince("");
  REQUIRE(logs.size() == 2);
  CHECK(logs[0].entityGuid == "m1");
  CHECK(logs[1].entityGuid == "g");
  for (const auto& l : logs) {
    CHECK(l.action == "create-group");
    CHECK(l.timestamp == "2024-05-01T10:00:01.000Z");
    CHECK(l.userId == "user-1");
    CHECK(l.eventGuid == "ev-1");
  }
  CHECK(logs[1].changes.value()["memberIds"] == Json{"m1"});
  CHECK(logs[1].changes.value()["data"] == Json{{"name", "H"}});
  auto other = b.events.getAuditLogsSince("");
  CHECK(other[0].guid == logs[0].guid);  // same event, same audit guid on every replica
  CHECK(logs[0].guid != logs[1].guid);
}

TEST_CASE("group member rules and errors", "[applier]") {
  Engine eng;
  eng.submit("create-individual", "ind", {{"name", "I"}});
  eng.submit("create-group", "g", {{"name", "H"}});
  SECTION("add-member needs an existing group") {
    checkError(errorOf([&] { eng.submit("add-member", "nope", {{"members", {member("m", "M")}}}); }), ErrorCode::InvalidGroup,
               "Group with ID nope not found or is not a group");
    checkError(errorOf([&] { eng.submit("add-member", "ind", {{"members", {member("m", "M")}}}); }), ErrorCode::InvalidGroup,
               "Group with ID ind not found or is not a group");
  }
  SECTION("add-member needs a non-empty members array; each member a guid") {
    for (Json bad : {Json::array(), Json("m"), Json::object()})
      checkError(errorOf([&] { eng.submit("add-member", "g", {{"members", bad}}); }), ErrorCode::InvalidMemberData,
                 "add-member needs data.members: a non-empty array of members");
    checkError(errorOf([&] { eng.submit("add-member", "g", {{"members", {{{"name", "x"}}}}}); }), ErrorCode::InvalidMemberData,
               "Member GUID is required");
    checkError(errorOf([&] { eng.submit("add-member", "g", {{"members", {42}}}); }), ErrorCode::InvalidMemberData,
               "Member GUID is required");
  }
  SECTION("a group cannot contain itself; member kinds must match") {
    checkError(errorOf([&] { eng.submit("add-member", "g", {{"members", {member("g", "G", "group")}}}); }),
               ErrorCode::InvalidMemberData, "Group g cannot be a member of itself");
    checkError(errorOf([&] { eng.submit("add-member", "g", {{"members", {member("ind", "I", "group")}}}); }),
               ErrorCode::InvalidMemberData, "Cannot apply add-member to ind: it is an individual, not a group");
    checkError(errorOf([&] { eng.submit("create-group", "ind", {{"name", "x"}}); }), ErrorCode::InvalidForm,
               "Cannot apply create-group to ind: it is an individual, not a group");
    checkError(errorOf([&] { eng.submit("add-member", "g", {{"members", {member("x", "X", "household")}}}); }),
               ErrorCode::InvalidMemberData, "Member x has an invalid type (expected \"individual\" or \"group\")");
  }
  SECTION("adding an existing member again changes nothing") {
    eng.submit("add-member", "g", {{"members", {Json{{"guid", "ind"}}}}});
    CHECK(eng.entity("g")["version"] == 2);
    CHECK(eng.entity("ind")["version"] == 1);  // no data: not a change
    eng.submit("add-member", "g", {{"members", {Json{{"guid", "ind"}}}}});
    CHECK(eng.entity("g")["version"] == 2);
    CHECK(eng.entity("g")["memberIds"] == Json{"ind"});
  }
  SECTION("remove-member rules") {
    checkError(errorOf([&] { eng.submit("remove-member", "g", {{"other", 1}}); }), ErrorCode::InvalidMemberData,
               "Member ID is required");
    checkError(errorOf([&] { eng.submit("remove-member", "ind", {{"memberId", "x"}}); }), ErrorCode::InvalidGroup,
               "Group with ID ind not found or is not a group");
    Json sub = member("sub", "S", "group");
    sub["members"] = Json::array({member("deep", "D")});
    eng.submit("add-member", "g", {{"members", {sub, Json{{"guid", "ind"}}}}});
    eng.submit("remove-member", "g", {{"memberId", "sub"}});
    CHECK_FALSE(eng.exists("sub"));   // a removed sub-group goes ...
    CHECK_FALSE(eng.exists("deep"));  // ... with everything below it
    eng.submit("remove-member", "g", {{"memberId", "ind"}});
    CHECK(eng.exists("ind"));
    CHECK(eng.entity("g")["memberIds"] == Json::array());
  }
  SECTION("deleting a missing entity is a no-op") {
    CHECK_FALSE(eng.submit("delete-entity", "ghost", {{"reason", "x"}}));
    CHECK(eng.events.isEventExisted("ev-3"));
  }
  // Every failure above left the store as it was.
  CHECK(eng.entity("g")["name"] == "H");
}

TEST_CASE("custom appliers: registration, context, errors", "[applier]") {
  Engine eng;
  CHECK(errorOf([&] { eng.service.registerEventApplier("create-group", [](auto&, auto&, auto&) { return std::nullopt; }); })
            .code() == ErrorCode::InvalidForm);
  eng.service.registerEventApplier("rename-all", [](const std::optional<Json>&, const Json& form, dc::ApplierContext& ctx) {
    for (const auto& g : form["data"]["guids"]) {
      auto e = ctx.getEntity(g.get<std::string>());
      if (!e) throw dc::Error(ErrorCode::EntityNotFound, "no " + g.get<std::string>());
      (*e)["data"]["name"] = form["data"]["name"];
      ctx.saveEntity("", e, *e, Json::object());
    }
    return std::optional<Json>();
  });
  eng.service.registerEventApplier("explode", [](auto&, auto&, auto&) -> std::optional<Json> { throw std::runtime_error("boom"); });
  eng.service.registerEventApplier("bad-shape", [](auto&, auto&, auto&) { return std::optional<Json>(Json{{"type", "car"}}); });
  CHECK(eng.service.hasEventApplier("rename-all"));
  CHECK(eng.service.hasEventApplier("add-member"));
  CHECK(eng.service.registeredTypes() == std::vector<std::string>{"bad-shape", "explode", "rename-all"});

  eng.submit("create-individual", "a", {{"name", "A"}});
  eng.submit("create-individual", "b", {{"name", "B"}});
  eng.submit("rename-all", "a", {{"guids", {"a", "b"}}, {"name", "Z"}});
  CHECK(eng.entity("a")["name"] == "Z");
  CHECK(eng.entity("b")["version"] == 2);
  CHECK(eng.events.getAuditTrailByEntityGuid("b").back().action == "rename-all");

  std::string before = eng.dumpEntities();
  // Fails on the second guid after staging the first: nothing of it may remain.
  checkError(errorOf([&] { eng.submit("rename-all", "a", {{"guids", {"a", "zz"}}, {"name", "Y"}}); }), ErrorCode::EntityNotFound, "no zz");
  checkError(errorOf([&] { eng.submit("explode", "a", {{"x", 1}}); }), ErrorCode::InvalidForm, "Event applier for explode failed: boom");
  checkError(errorOf([&] { eng.submit("bad-shape", "a", {{"x", 1}}); }), ErrorCode::InvalidForm,
             "Event applier for bad-shape produced an entity of type \"car\" (expected \"individual\" or \"group\")");
  CHECK(eng.dumpEntities() == before);
  CHECK(eng.events.getAllEvents().size() == 3);
}

TEST_CASE("a local event that sorts before applied ones is replayed in its position", "[applier][order]") {
  Engine eng;
  eng.submit("create-individual", "p", {{"name", "A"}});      // 10:00:01
  eng.submit("update-individual", "p", {{"name", "C"}});      // 10:00:02
  Json early = eng.form("update-individual", "p", {{"name", "B"}, {"age", 9}});
  early["timestamp"] = "2024-05-01T10:00:01.500Z";
  eng.service.submitForm(early);
  Json p = eng.entity("p");
  CHECK(p["name"] == "C");  // the later edit still wins
  CHECK(p["data"]["age"] == 9);
  CHECK(p["version"] == 3);
  CHECK(p["lastUpdated"] == "2024-05-01T10:00:02.000Z");
  CHECK(eng.events.getAuditTrailByEntityGuid("p").size() == 3);  // old events' entries not re-added

  SECTION("and rejected, with nothing stored, when it fails there") {
    Json bad = eng.form("add-member", "p", {{"members", {member("m", "M")}}});
    bad["timestamp"] = "2024-05-01T10:00:00.000Z";
    std::string before = eng.dumpEntities();
    checkError(errorOf([&] { eng.service.submitForm(bad); }), ErrorCode::InvalidGroup, "Group with ID p not found or is not a group");
    CHECK(eng.dumpEntities() == before);
    CHECK(eng.events.getAllEvents().size() == 3);
  }
}

TEST_CASE("pulled events: per-event atomic, rejected recorded, cursor with the page", "[applier][remote]") {
  Engine source, eng;
  source.submit("create-group", "g", {{"name", "H"}});
  source.submit("add-member", "g", {{"members", {member("m", "M")}}});
  std::vector<Json> page;
  for (const auto& e : source.events.getAllEvents()) page.push_back(e.toJson());
  Json poison = source.form("remove-member", "g", {{"nope", true}});
  Json garbage = Json{{"guid", "junk"}, {"type", "create-individual"}};
  page.insert(page.begin() + 1, poison);
  page.push_back(garbage);
  page.push_back(page[0]);  // repeated in the same page

  auto out = eng.service.applyRemoteEvents(page, Json{{"pullCursor", "42"}});
  REQUIRE(out.size() == 5);
  CHECK(out[0].applied);
  CHECK(out[1].error->code() == ErrorCode::InvalidMemberData);
  CHECK(out[2].applied);
  CHECK(out[2].touchedEntities == std::vector<std::string>{"m", "g"});
  CHECK(out[3].error->code() == ErrorCode::InvalidForm);
  CHECK(out[4].duplicate);
  CHECK(eng.entity("g")["memberIds"] == Json{"m"});
  CHECK(eng.events.getSyncState("pullCursor") == Json("42"));
  auto rejected = eng.events.getRejectedEvents();
  REQUIRE(rejected.size() == 2);
  for (const auto& r : rejected) CHECK(r.source == "pull");
  for (const auto& e : eng.events.getAllEvents()) CHECK(e.syncLevel == dc::REMOTE);
  CHECK(eng.events.getUnsyncedEventsCount() == 0);
  // Pulling the same page again changes nothing.
  eng.service.applyRemoteEvents(page);
  CHECK(eng.events.getAllEvents().size() == 3);  // incl. the poison event, kept for replay order
}

TEST_CASE("an event pulled before the one it depends on applies once that one arrives", "[applier][remote]") {
  Engine source, eng;
  source.submit("create-group", "g", {{"name", "H"}});
  source.submit("add-member", "g", {{"members", {member("m", "M")}}});
  auto log = source.events.getAllEvents();
  auto first = eng.service.applyRemoteEvents({log[1].toJson()});
  CHECK(first[0].error->code() == ErrorCode::InvalidGroup);
  CHECK(eng.events.getRejectedEvents().size() == 1);
  auto second = eng.service.applyRemoteEvents({log[0].toJson()});
  CHECK(second[0].applied);
  CHECK(eng.dumpEntities() == source.dumpEntities());
  // It applies now, so it is no longer reported as rejected (also after a reopen of the journal).
  CHECK(eng.events.getRejectedEvents().empty());
  CHECK(dc::Store::open(eng.storage)->rejectedEvents().empty());
}

TEST_CASE("duplicate flags are recomputed by a replay, resolutions replayed", "[applier][order]") {
  Engine eng;
  eng.submit("create-individual", "a", {{"name", "Sam"}});
  eng.submit("create-individual", "b", {{"name", "sam"}});
  eng.submit("resolve-duplicate", "b", {{"duplicates", {{{"entityGuid", "b"}, {"duplicateGuid", "a"}}}}});
  eng.submit("update-individual", "b", {{"name", "sam"}});  // data unchanged: stays resolved
  CHECK(eng.entities.getPotentialDuplicates().empty());
  Json early = eng.form("create-individual", "c", {{"name", "SAM "}});
  early["timestamp"] = "2024-05-01T10:00:01.500Z";  // between a and b
  eng.service.submitForm(early);
  auto dups = eng.entities.getPotentialDuplicates();
  REQUIRE(dups.size() == 2);  // c~a (c is newer), b~c (b is newer); b~a stays resolved
  CHECK(dups[0].entityGuid == "b");
  CHECK(dups[0].duplicateGuid == "c");
  CHECK(dups[1].entityGuid == "c");
  CHECK(dups[1].duplicateGuid == "a");
}

TEST_CASE("nextLocalTimestamp never goes behind seen events or itself", "[applier][clock]") {
  Engine eng;
  const int64_t wall = *dc::parseTimestamp("2024-05-01T09:00:00Z");
  CHECK(eng.service.nextLocalTimestamp(wall) == "2024-05-01T09:00:00.000Z");
  CHECK(eng.service.nextLocalTimestamp(wall) == "2024-05-01T09:00:00.001Z");  // same ms: +1
  eng.submit("create-individual", "p", {{"name", "A"}});                     // 10:00:01 from elsewhere
  CHECK(eng.service.nextLocalTimestamp(wall) == "2024-05-01T10:00:01.001Z");
  CHECK(eng.service.nextLocalTimestamp(wall + 7200000) == "2024-05-01T11:00:00.000Z");
  eng.events.clearStore();  // the clock is device state: it survives
  CHECK(eng.service.nextLocalTimestamp(wall) == "2024-05-01T11:00:00.001Z");
}

TEST_CASE("an event that changes the same entity twice keeps the last state", "[applier]") {
  // Regression: staging a guid a second time used to store a moved-from (null) document.
  Engine eng;
  eng.submit("create-group", "g", {{"name", "H"}});
  eng.submit("add-member", "g", {{"members", Json::array({member("m", "First"), member("m", "Second")})}});
  CHECK(eng.entity("m")["name"] == "Second");
  CHECK(eng.entity("g")["memberIds"] == Json::array({"m"}));
}
