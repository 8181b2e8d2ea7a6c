// One test per fix (docs/convergence.md) about applying, searching and duplicates; each fails on the
// original's behaviour (noted per case).
#include <catch2/catch.hpp>

#include <algorithm>

#include "applier_fixture.hpp"

using dc::ErrorCode;
using dc::Json;
using dctest::Engine;
using dctest::errorOf;
using dctest::member;

TEST_CASE("FIX add-member adds all members (original: only the first)", "[fix]") {
  Engine eng;
  eng.submit("create-group", "g", {{"name", "H"}});
  auto g = eng.submit("add-member", "g", {{"members", {member("a", "A"), member("b", "B"), member("c", "C")}}});
  CHECK((*g)["memberIds"] == Json{"a", "b", "c"});
  for (const char* m : {"a", "b", "c"}) CHECK(eng.exists(m));
}

TEST_CASE("FIX an existing member is merged, not recreated at version 1", "[fix]") {
  Engine eng;
  eng.submit("create-individual", "m1", {{"name", "Alice"}, {"phone", "123"}});
  eng.submit("update-individual", "m1", {{"age", 40}});
  eng.submit("create-group", "g", {{"name", "H"}, {"members", {member("m1", "Alice B.")}}});
  Json m = eng.entity("m1");
  CHECK(m["version"] == 3);
  CHECK(m["data"] == Json{{"name", "Alice B."}, {"phone", "123"}, {"age", 40}});
  CHECK(eng.entities.getEntity("m1")->initial["version"] == 1);  // history kept
}

TEST_CASE("FIX a deleted guid is removed from every group's memberIds", "[fix]") {
  Engine eng;
  eng.submit("create-group", "g1", {{"name", "H1"}, {"members", {member("shared", "S"), member("x", "X")}}});
  eng.submit("create-group", "g2", {{"name", "H2"}, {"members", {member("shared", "S")}}});
  eng.submit("delete-entity", "shared", {{"reason", "x"}});
  CHECK(eng.entity("g1")["memberIds"] == Json{"x"});
  CHECK(eng.entity("g2")["memberIds"] == Json::array());
  CHECK(eng.entity("g2")["version"] == 2);
  SECTION("also members of a deleted sub-group's cascade") {
    Json sub = member("sub", "Sub", "group");
    sub["members"] = Json::array({member("k", "K")});
    eng.submit("create-group", "g3", {{"name", "H3"}, {"members", {sub}}});
    eng.submit("add-member", "g1", {{"members", {member("k", "K")}}});
    eng.submit("delete-entity", "g3", {{"reason", "x"}});
    CHECK_FALSE(eng.exists("k"));
    CHECK(eng.entity("g1")["memberIds"] == Json{"x"});
  }
}

TEST_CASE("FIX delete-entity terminates on membership cycles", "[fix]") {
  Engine eng;
  // A custom applier can create any shape, including a cycle a -> b -> a (and a self-loop).
  eng.service.registerEventApplier("link", [](const std::optional<Json>& e, const Json& form, dc::ApplierContext&) {
    Json g = *e;
    g["memberIds"].push_back(form["data"]["to"]);
    return std::optional<Json>(g);
  });
  eng.submit("create-group", "a", {{"name", "A"}});
  eng.submit("create-group", "b", {{"name", "B"}});
  eng.submit("link", "a", {{"to", "b"}});
  eng.submit("link", "b", {{"to", "a"}});
  eng.submit("link", "b", {{"to", "b"}});
  eng.submit("create-group", "c", {{"name", "C"}, {"members", {member("ind", "I")}}});
  eng.submit("link", "c", {{"to", "a"}});
  eng.submit("delete-entity", "a", {{"reason", "cycle"}});
  CHECK_FALSE(eng.exists("a"));
  CHECK_FALSE(eng.exists("b"));
  CHECK(eng.entity("c")["memberIds"] == Json{"ind"});
}

TEST_CASE("FIX a failed apply leaves no event, entity, audit entry or flag", "[fix]") {
  Engine eng;
  eng.submit("create-individual", "p1", {{"name", "John Doe"}});
  std::string before = eng.dumpEntities();
  size_t audits = eng.events.getAuditLogsSince("").size();
  // Members are applied one by one: the first is valid (and a duplicate of p1), the second fails.
  dc::Error e = errorOf([&] {
    eng.submit("create-group", "g", {{"name", "H"}, {"members", {member("m1", "John Doe"), Json{{"name", "no guid"}}}}});
  });
  CHECK(e.code() == ErrorCode::InvalidMemberData);
  CHECK(std::string(e.what()) == "Member GUID is required");
  CHECK(eng.events.getAllEvents().size() == 1);
  CHECK_FALSE(eng.events.isEventExisted("ev-2"));
  CHECK(eng.dumpEntities() == before);
  CHECK(eng.events.getAuditLogsSince("").size() == audits);
  CHECK(eng.entities.getPotentialDuplicates().empty());
  CHECK(eng.events.getUnsyncedEventsCount() == 1);
}

TEST_CASE("FIX duplicate detection is symmetric: creation order does not matter", "[fix]") {
  // Original: substring/one-directional matching, so "full record first, short record second"
  // and the reverse gave different answers.
  Json shortRec = {{"name", "John Doe"}};
  Json fullRec = {{"name", " JOHN DOE"}, {"birth", {{"year", 1980}}}, {"village", "K"}};
  for (bool shortFirst : {true, false}) {
    Engine eng;
    eng.submit("create-individual", "first", shortFirst ? shortRec : fullRec);
    eng.submit("create-individual", "second", shortFirst ? fullRec : shortRec);
    auto dups = eng.entities.getPotentialDuplicates();
    REQUIRE(dups.size() == 1);
    CHECK(dups[0].entityGuid == "second");
    CHECK(dups[0].duplicateGuid == "first");
  }
  Engine eng;  // neither is a subset of the other: not duplicates, in both orders
  eng.submit("create-individual", "a", {{"name", "John Doe"}, {"village", "K"}});
  eng.submit("create-individual", "b", {{"name", "John Doe"}, {"village", "L"}});
  CHECK(eng.entities.getPotentialDuplicates().empty());
}

TEST_CASE("FIX members are checked for duplicates too", "[fix]") {
  Engine eng;
  eng.submit("create-individual", "p1", {{"name", "Mary Major"}});
  eng.submit("create-group", "g", {{"name", "H"}, {"members", {member("m1", "mary major")}}});
  auto dups = eng.entities.getPotentialDuplicates();
  REQUIRE(dups.size() == 1);
  CHECK(dups[0].entityGuid == "m1");
  CHECK(dups[0].duplicateGuid == "p1");
}

TEST_CASE("FIX search reads modified, not stale initial values", "[fix]") {
  Engine eng;
  eng.submit("create-individual", "p1", {{"name", "Old Name"}});
  eng.submit("update-individual", "p1", {{"name", "New Name"}});
  CHECK(eng.entities.searchEntities(Json::array({{{"name", "old name"}}})).empty());
  auto found = eng.entities.searchEntities(Json::array({{{"name", "new name"}}}));
  REQUIRE(found.size() == 1);
  CHECK(found[0].guid == "p1");
}

TEST_CASE("FIX replay in a different arrival order gives byte-identical entities", "[fix]") {
  // One history, delivered to replicas in different orders: every replica ends identical, with
  // lastUpdated from the events (original: wall clock, so replicas disagreed).
  Engine source;
  source.submit("create-group", "g", {{"name", "H"}, {"members", {member("a", "Ann"), member("b", "Bob")}}});
  source.submit("update-individual", "a", {{"age", 30}});
  source.submit("create-individual", "c", {{"name", "ann"}});
  source.submit("add-member", "g", {{"members", {member("c", "Ann C")}}});
  source.submit("remove-member", "g", {{"memberId", "b"}});
  source.submit("update-group", "g", {{"village", "K"}});
  source.submit("create-individual", "d", {{"name", "Bob"}});
  source.submit("delete-entity", "a", {{"reason", "left"}});
  std::vector<Json> log;
  for (const auto& e : source.events.getAllEvents()) log.push_back(e.toJson());
  const std::string expected = source.dumpEntities();
  CHECK(expected.find("\"lastUpdated\":\"2024-05-01T10:00:0") != std::string::npos);

  std::vector<size_t> order(log.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  SECTION("one page, reversed") {
    std::reverse(order.begin(), order.end());
    Engine replica;
    std::vector<Json> page;
    for (size_t i : order) page.push_back(log[i]);
    replica.service.applyRemoteEvents(page);
    CHECK(replica.dumpEntities() == expected);
  }
  SECTION("every rotation, one event per call") {
    for (size_t shift = 1; shift < log.size(); ++shift) {
      Engine replica;
      for (size_t k = 0; k < log.size(); ++k) replica.service.applyRemoteEvents({log[(k + shift) % log.size()]});
      CHECK(replica.dumpEntities() == expected);
      CHECK(replica.entities.getPotentialDuplicates().size() == source.entities.getPotentialDuplicates().size());
    }
  }
  SECTION("rebuild() from the log reproduces the state") {
    source.service.rebuild();
    CHECK(source.dumpEntities() == expected);
  }
}

TEST_CASE("FIX an unparseable timestamp is rejected (original compared raw strings)", "[fix]") {
  Engine eng;
  Json f = eng.form("create-individual", "p1", {{"name", "A"}});
  f["timestamp"] = "01/05/2024 10:00";
  dc::Error e = errorOf([&] { eng.service.submitForm(f); });
  CHECK(e.code() == ErrorCode::InvalidForm);
  CHECK_THAT(e.what(), Catch::StartsWith("Form submission has an invalid timestamp"));
  CHECK(eng.events.getAllEvents().empty());
  f["timestamp"] = "2024-05-01T12:00:00+02:00";  // offsets are normalised to UTC
  eng.service.submitForm(f);
  CHECK(eng.events.getAllEvents()[0].timestamp == "2024-05-01T10:00:00.000Z");
  CHECK(eng.entity("p1")["lastUpdated"] == "2024-05-01T10:00:00.000Z");
}

TEST_CASE("FIX update-individual on a group is rejected (original: no type check)", "[fix]") {
  Engine eng;
  eng.submit("create-group", "g", {{"name", "H"}});
  dc::Error e = errorOf([&] { eng.submit("update-individual", "g", {{"name", "oops"}}); });
  CHECK(e.code() == ErrorCode::InvalidForm);
  CHECK(std::string(e.what()) == "Cannot apply update-individual to g: it is a group, not an individual");
  CHECK(eng.entity("g")["name"] == "H");
  CHECK(eng.events.getAllEvents().size() == 1);
  CHECK(errorOf([&] { eng.submit("create-individual", "g", {{"name", "oops"}}); }).code() == ErrorCode::InvalidForm);
}
