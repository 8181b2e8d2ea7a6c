#include <catch2/catch.hpp>

#include "applier_fixture.hpp"
#include "core/model.hpp"

using dc::ErrorCode;
using dc::Event;
using dc::Json;
using dctest::errorOf;

namespace {
Json validForm() {
  return Json{{"guid", "e1"},      {"entityGuid", "p1"},
              {"type", "create-individual"}, {"data", {{"name", "Ann"}}},
              {"timestamp", "2024-05-01T12:00:00+02:00"}, {"userId", "u1"}};
}
// The INVALID_FORM message for `form`.
std::string messageFor(const Json& form) {
  dc::Error e = errorOf([&] { Event::fromJson(form); });
  CHECK(e.code() == ErrorCode::InvalidForm);
  return e.what();
}
}  // namespace

TEST_CASE("Event::fromJson validates in the original's order with exact messages", "[model]") {
  Json f = validForm();
  // Everything missing: the first check (guid) wins, then the next, and so on.
  Json empty = Json::object();
  CHECK(messageFor(empty) == "Form submission is missing a GUID");
  empty["guid"] = "g";
  CHECK(messageFor(empty) == "Form submission is missing an entity GUID");
  empty["entityGuid"] = "x";
  CHECK(messageFor(empty) == "Form submission is missing a type");
  empty["type"] = "t";
  CHECK(messageFor(empty) == "Form submission has no data");
  empty["data"] = {{"a", 1}};
  CHECK(messageFor(empty) == "Form submission is missing a timestamp");
  empty["timestamp"] = "2024-05-01T00:00:00Z";
  CHECK(messageFor(empty) == "Form submission is missing a user ID");
  empty["userId"] = "u";
  CHECK_NOTHROW(Event::fromJson(empty));

  SECTION("empty strings count as missing") {
    f["guid"] = "";
    CHECK(messageFor(f) == "Form submission is missing a GUID");
  }
  SECTION("data must be a non-empty object") {
    for (Json bad : {Json::object(), Json::array({1, 2}), Json("text"), Json(5), Json()}) {
      f["data"] = bad;
      CHECK(messageFor(f) == "Form submission has no data");
    }
  }
  SECTION("an unparseable timestamp is INVALID_FORM (FIX)") {
    f["timestamp"] = "yesterday";
    CHECK(messageFor(f) == "Form submission has an invalid timestamp: \"yesterday\" (expected ISO-8601, e.g. 2024-05-01T10:00:00.000Z)");
    f["timestamp"] = 1714557600000;
    CHECK_THAT(messageFor(f), Catch::StartsWith("Form submission has an invalid timestamp: \"1714557600000\""));
  }
  SECTION("wrong types are named, not coerced") {
    f["guid"] = 42;
    CHECK(messageFor(f) == "Form submission GUID must be a string, got number");
    f = validForm();
    f["userId"] = Json::array();
    CHECK(messageFor(f) == "Form submission user ID must be a string, got array");
    f = validForm();
    f["syncLevel"] = 7;
    CHECK(messageFor(f) == "Form submission has an invalid syncLevel: 7 (expected 0, 1 or 2)");
    CHECK(messageFor(Json::array()) == "Form submission must be a JSON object, got array");
  }
}

TEST_CASE("Event round trip, normalised timestamp, canonical JSON without syncLevel", "[model]") {
  Json f = validForm();
  f["syncLevel"] = 1;
  Event e = Event::fromJson(f);
  CHECK(e.timestamp == "2024-05-01T10:00:00.000Z");
  CHECK(e.timeMs == *dc::parseTimestamp("2024-05-01T10:00:00Z"));
  CHECK(e.syncLevel == dc::REMOTE);
  Json back = e.toJson();
  CHECK(back["timestamp"] == "2024-05-01T10:00:00.000Z");
  CHECK(back["syncLevel"] == 1);
  CHECK(Event::fromJson(back).toJson() == back);
  CHECK(e.canonicalJson() ==
        R"({"data":{"name":"Ann"},"entityGuid":"p1","guid":"e1","timestamp":"2024-05-01T10:00:00.000Z","type":"create-individual","userId":"u1"})");
  e.syncLevel = dc::LOCAL;
  CHECK(e.canonicalJson() == Event::fromJson(back).canonicalJson());  // syncLevel is local-only
  CHECK(Event::fromJson(validForm()).syncLevel == dc::LOCAL);
}

TEST_CASE("entity helpers and record codecs", "[model]") {
  Json g = dc::entity::makeNew("g1", dc::entity::kGroup);
  CHECK(g["id"] == "g1");
  CHECK(g["version"] == 0);
  CHECK(dc::entity::isGroup(g));
  CHECK(dc::entity::memberIds(g).empty());
  g["memberIds"] = {"a", 5, "b"};
  CHECK(dc::entity::memberIds(g) == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(dc::entity::isGroup(dc::entity::makeNew("i1", dc::entity::kIndividual)));

  dc::EntityPair p{"g1", g, g};
  CHECK(dc::EntityPair::fromJson(p.toJson()).toJson() == p.toJson());
  dc::AuditEntry a{"a1", "2024-05-01T10:00:00.000Z", "u", "create-group", "e1", "g1", {{"name", "x"}}, ""};
  CHECK(dc::AuditEntry::fromJson(a.toJson()).toJson() == a.toJson());
  dc::PotentialDuplicate d{"n", "o"};
  CHECK(dc::PotentialDuplicate::fromJson(d.toJson()).toJson() == d.toJson());
  CHECK(errorOf([] { dc::PotentialDuplicate::fromJson(Json{{"entityGuid", "x"}}); }).code() == ErrorCode::InvalidForm);
  CHECK(errorOf([] { dc::AuditEntry::fromJson(Json::array()); }).code() == ErrorCode::InvalidForm);
}
