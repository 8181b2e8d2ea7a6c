#include <catch2/catch.hpp>

#include "applier_fixture.hpp"
#include "core/search.hpp"

using dc::ErrorCode;
using dc::Json;
using dc::matchesCriteria;
using dctest::errorOf;

namespace {
const Json kPerson = Json{{"id", "p1"},       {"guid", "p1"},    {"type", "individual"}, {"name", "John Doe"},
                          {"version", 3},     {"lastUpdated", "2024-05-01T10:00:00.000Z"},
                          {"data", {{"name", "John Doe"}, {"age", 42}, {"score", 7.5}, {"active", true},
                                    {"address", {{"city", "Nairobi"}, {"zip", "00100"}}}, {"tags", {"a", "b"}}}}};
bool matches(const Json& criteria) { return matchesCriteria(kPerson, criteria); }
dc::Error badCriteria(const Json& criteria) {
  return errorOf([&] { dc::validateSearchCriteria(criteria); });
}
}  // namespace

TEST_CASE("literal conditions: strings case-insensitive, numbers and booleans exact", "[search]") {
  CHECK(matches(Json::array({{{"name", "john doe"}}})));
  CHECK(matches(Json::array({{{"name", "JOHN DOE"}}})));
  CHECK_FALSE(matches(Json::array({{{"name", "John"}}})));  // equality, not substring
  CHECK(matches(Json::array({{{"age", 42}}})));
  CHECK(matches(Json::array({{{"age", 42.0}}})));
  CHECK_FALSE(matches(Json::array({{{"age", "42"}}})));  // no coercion between types
  CHECK(matches(Json::array({{{"active", true}}})));
  CHECK_FALSE(matches(Json::array({{{"active", false}}})));
  CHECK(matches(Json::array({{{"type", "individual"}}})));
  CHECK(matches(Json::array({{{"tags", "B"}}})));  // an array field matches one of its elements
  CHECK(matches(Json::array()));                   // no criteria: everything
}

TEST_CASE("fields: top-level, dotted data paths, data. prefix; all criteria must hold", "[search]") {
  CHECK(matches(Json::array({{{"address.city", "nairobi"}}})));
  CHECK(matches(Json::array({{{"data.address.city", "NAIROBI"}}})));
  CHECK(matches(Json::array({{{"data.age", 42}}})));
  CHECK(matches(Json::array({{{"version", 3}}})));
  CHECK(matches(Json::array({{{"tags.1", "b"}}})));
  CHECK_FALSE(matches(Json::array({{{"address.country", "kenya"}}})));
  CHECK(matches(Json::array({{{"age", 42}}, {{"name", "john doe"}}})));
  CHECK_FALSE(matches(Json::array({{{"age", 42}}, {{"name", "jane"}}})));
  CHECK_FALSE(matches(Json::array({{{"age", 42}, {"name", "jane"}}})));
}

TEST_CASE("operators", "[search]") {
  auto op = [](const char* field, Json cond) { return matches(Json::array({{{field, std::move(cond)}}})); };
  CHECK(op("age", {{"$eq", 42}}));
  CHECK(op("age", {{"$ne", 41}}));
  CHECK(op("missing", {{"$ne", 1}}));
  CHECK(op("age", {{"$gt", 41}}));
  CHECK_FALSE(op("age", {{"$gt", 42}}));
  CHECK(op("age", {{"$gte", 42}}));
  CHECK(op("age", {{"$lt", 42.5}}));
  CHECK(op("score", {{"$lte", 7.5}}));
  CHECK(op("age", {{"$gt", 18}, {"$lt", 65}}));
  CHECK_FALSE(op("age", {{"$gt", "18"}}));  // different types do not compare
  CHECK(op("lastUpdated", {{"$gt", "2024-01-01T00:00:00.000Z"}}));
  CHECK(op("address.city", {{"$in", {"Mombasa", "nairobi"}}}));
  CHECK_FALSE(op("address.city", {{"$nin", {"Mombasa", "nairobi"}}}));
  CHECK(op("address.city", {{"$nin", {"Mombasa"}}}));
  CHECK(op("name", {{"$regex", "^john"}, {"$options", "i"}}));
  CHECK_FALSE(op("name", {{"$regex", "^john"}}));
  CHECK(op("name", {{"$regex", "Do+e$"}}));
  CHECK_FALSE(op("age", {{"$regex", "4"}}));  // $regex matches strings only
  CHECK(op("address.zip", {{"$exists", true}}));
  CHECK(op("address.phone", {{"$exists", false}}));
  CHECK_FALSE(op("address.zip", {{"$exists", false}}));
  CHECK(op("address", Json{{"city", "Nairobi"}, {"zip", "00100"}}));  // object literal: equality
}

TEST_CASE("bad criteria are INVALID_FORM with a message, never a silent false", "[search]") {
  dc::Error e = badCriteria(Json::array({{{"age", {{"$foo", 1}}}}}));
  CHECK(e.code() == ErrorCode::InvalidForm);
  CHECK(std::string(e.what()) ==
        "Unknown search operator: $foo (in the condition for 'age'; supported: $eq $ne $gt $gte $lt $lte $in $nin $regex $exists)");
  CHECK(errorOf([] { matchesCriteria(kPerson, Json::array({{{"age", {{"$foo", 1}}}}})); }).code() == ErrorCode::InvalidForm);
  CHECK_THAT(badCriteria(Json::array({{{"name", {{"$regex", "(unclosed"}}}}})).what(),
             Catch::StartsWith("Invalid regular expression in search: /(unclosed/"));
  CHECK(std::string(badCriteria(Json::array({{{"age", {{"$in", 5}}}}})).what()) == "$in for 'age' needs an array");
  CHECK(std::string(badCriteria(Json::array({{{"age", {{"$exists", "yes"}}}}})).what()) == "$exists for 'age' needs true or false");
  CHECK(std::string(badCriteria(Json::array({{{"age", {{"$gt", 1}, {"x", 2}}}}})).what()) ==
        "Search condition for 'age' mixes operators ($...) with plain keys");
  CHECK(std::string(badCriteria(Json(5)).what()) == "Search criteria must be an array of {field: condition} objects, got number");
  CHECK(std::string(badCriteria(Json::array({"name"})).what()) == "Search criteria must be {field: condition} objects, got string");
  CHECK_NOTHROW(dc::validateSearchCriteria(Json::array({{{"age", {{"$gte", 1}}}}, {{"name", "x"}}})));
}

TEST_CASE("searchEntities through the store: by name, $gt, type, $regex", "[search][original]") {
  dctest::Engine eng;
  eng.submit("create-individual", "p1", {{"name", "John Doe"}, {"age", 30}});
  eng.submit("create-individual", "p2", {{"name", "Jane Roe"}, {"age", 25}});
  eng.submit("create-group", "g1", {{"name", "Doe household"}});
  auto guids = [&](const Json& criteria) {
    std::vector<std::string> out;
    for (const auto& p : eng.entities.searchEntities(criteria)) out.push_back(p.guid);
    return out;
  };
  CHECK(guids(Json::array({{{"name", "john doe"}}})) == std::vector<std::string>{"p1"});
  CHECK(guids(Json::array({{{"data.age", {{"$gt", 26}}}}})) == std::vector<std::string>{"p1"});
  CHECK(guids(Json::array({{{"type", "group"}}})) == std::vector<std::string>{"g1"});
  CHECK(guids(Json::array({{{"name", {{"$regex", "doe"}, {"$options", "i"}}}}})) == std::vector<std::string>{"g1", "p1"});
  CHECK(errorOf([&] { eng.entities.searchEntities(Json::array({{{"age", {{"$near", 1}}}}})); }).code() == ErrorCode::InvalidForm);
}
