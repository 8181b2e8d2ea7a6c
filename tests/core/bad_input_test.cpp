// Bad input never corrupts or drops stored data: malformed JSON, wrong types, huge
// strings and hostile nesting give typed errors and leave the store exactly as it was.
#include <catch2/catch.hpp>

#include "applier_fixture.hpp"
#include "core/json.hpp"

using dc::ErrorCode;
using dc::Json;
using dctest::Engine;
using dctest::errorOf;

namespace {
// A store holding a little of everything, and a fingerprint of all of it.
struct Populated : Engine {
  Populated() {
    submit("create-group", "g", {{"name", "H"}, {"members", {dctest::member("m", "M")}}});
    submit("create-individual", "p", {{"name", "M"}});  // flagged as a duplicate of m
  }
  std::string fingerprint() const {
    Json f = {{"entities", dumpEntities()}, {"events", events.getAllEvents().size()},
              {"audit", events.getAuditLogsSince("").size()}, {"dups", entities.getPotentialDuplicates().size()},
              {"root", events.getMerkleRoot()}};
    return f.dump();
  }
};

// `depth` nested objects {"a": {"a": ...}} built in O(depth) without recursive copies.
Json deepObject(int depth) {
  Json root = Json::object();
  Json* cur = &root;
  for (int i = 1; i < depth; ++i) cur = &(*cur)["a"];
  *cur = Json::object();
  return root;
}
}  // namespace

TEST_CASE("malformed JSON text is a typed error naming what and where", "[bad-input]") {
  for (const char* bad : {"", "{", "{\"a\":}", "[1,2", "{\"a\":1} trailing", "nul", "{'a':1}", "\"\xff\xfe\"", "{\"a\":01}"}) {
    dc::Error e = errorOf([&] { dc::parseJson(bad, "form"); });
    CHECK(e.code() == ErrorCode::InvalidForm);
    CHECK_THAT(e.what(), Catch::StartsWith("form is not valid JSON: "));
  }
  CHECK(errorOf([] { dc::parseJson("{", "server response", 512, ErrorCode::BadResponse); }).code() == ErrorCode::BadResponse);
  Json parsed = dc::parseJson(std::string(2000, ' ') + "{\"a\":[1,{\"b\":\"[{\\\"[[\"}]}", "form", 3);
  CHECK(parsed["a"][1]["b"] == "[{\"[[");  // brackets (and escaped quotes) inside strings do not count
}

TEST_CASE("nesting 10000 levels deep is refused without recursion", "[bad-input]") {
  std::string text = std::string(10000, '[') + std::string(10000, ']');
  dc::Error e = errorOf([&] { dc::parseJson(text, "form"); });
  CHECK(e.code() == ErrorCode::InvalidForm);
  CHECK(std::string(e.what()) == "form is not valid JSON: nesting deeper than 512 levels at byte 512");
  std::string objects;
  for (int i = 0; i < 10000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(10000, '}');
  CHECK(errorOf([&] { dc::parseJson(objects); }).code() == ErrorCode::InvalidForm);
  CHECK_NOTHROW(dc::parseJson(std::string(512, '[') + std::string(512, ']')));

  Populated eng;
  const std::string before = eng.fingerprint();
  // The same depth reaching the engine as a JSON value (e.g. built by a caller, not parsed).
  Json form = eng.form("create-individual", "deep", {{"x", 1}});
  form["data"] = Json{{"nested", deepObject(10000)}};
  dc::Error deep = errorOf([&] { eng.service.submitForm(form); });
  CHECK(deep.code() == ErrorCode::InvalidForm);
  CHECK(std::string(deep.what()) == "Form submission data is nested more than 100 levels deep");
  std::vector<Json> page;
  page.push_back(std::move(form));  // moved: copying 10000 levels would recurse (wasm's stack is small)
  auto out = eng.service.applyRemoteEvents(page);
  REQUIRE(eng.events.getRejectedEvents().size() == 1);
  CHECK(eng.events.getRejectedEvents()[0].event.contains("omitted"));  // the journal stays readable
  CHECK(out[0].error->code() == ErrorCode::InvalidForm);
  CHECK_FALSE(eng.exists("deep"));
  CHECK(eng.fingerprint() == before);
}

TEST_CASE("wrong types are INVALID_FORM and leave the store unchanged", "[bad-input]") {
  Populated eng;
  const std::string before = eng.fingerprint();
  auto rejectedWith = [&](const char* key, Json value, const std::string& message) {
    Json f = eng.form("update-individual", "p", {{"name", "X"}});
    f[key] = std::move(value);
    dc::Error e = errorOf([&] { eng.service.submitForm(f); });
    CHECK(e.code() == ErrorCode::InvalidForm);
    CHECK(std::string(e.what()) == message);
    CHECK(eng.fingerprint() == before);
  };
  rejectedWith("data", Json::array({{{"name", "X"}}}), "Form submission has no data");
  rejectedWith("data", "name=X", "Form submission has no data");
  rejectedWith("guid", 12345, "Form submission GUID must be a string, got number");
  rejectedWith("entityGuid", Json::object(), "Form submission entity GUID must be a string, got object");
  rejectedWith("type", true, "Form submission type must be a string, got boolean");
  rejectedWith("userId", 7, "Form submission user ID must be a string, got number");
  rejectedWith("timestamp", Json::array(), "Form submission has an invalid timestamp: \"[]\" (expected ISO-8601, e.g. 2024-05-01T10:00:00.000Z)");
  CHECK(errorOf([&] { eng.service.submitForm(Json("not a form")); }).code() == ErrorCode::InvalidForm);
  CHECK(errorOf([&] { eng.service.submitForm(Json()); }).code() == ErrorCode::InvalidForm);
  // Wrong shapes inside data for the built-in types.
  CHECK(errorOf([&] { eng.submit("create-group", "g2", {{"members", "m"}}); }).code() == ErrorCode::InvalidMemberData);
  CHECK(errorOf([&] { eng.submit("remove-member", "g", {{"memberId", 5}}); }).code() == ErrorCode::InvalidMemberData);
  CHECK(errorOf([&] { eng.submit("resolve-duplicate", "p", {{"duplicates", "all"}}); }).code() == ErrorCode::InvalidForm);
  CHECK(errorOf([&] { eng.submit("resolve-duplicate", "p", {{"duplicates", {1}}}); }).code() == ErrorCode::InvalidForm);
  CHECK(eng.fingerprint() == before);
  // Pulled garbage is rejected per event and does not disturb the rest.
  auto out = eng.service.applyRemoteEvents({Json(5), Json::array(), Json{{"guid", 1}}});
  for (const auto& o : out) CHECK(o.error->code() == ErrorCode::InvalidForm);
  CHECK(eng.events.getRejectedEvents().size() == 3);
  CHECK(eng.dumpEntities() == Json::parse(before)["entities"]);
}

TEST_CASE("1 MB strings are accepted and stay consistent", "[bad-input]") {
  Populated eng;
  const std::string big(1 << 20, 'x');
  auto e = eng.submit("create-individual", "big", {{"name", big}, {"note", big + "y"}});
  CHECK((*e)["name"].get<std::string>().size() == big.size());
  CHECK(eng.entities.searchEntities(Json::array({{{"name", big}}})).size() == 1);
  CHECK(eng.entities.searchEntities(Json::array({{{"note", {{"$regex", "xy$"}}}}})).size() == 1);
  eng.submit("create-individual", "big2", {{"name", big}});
  auto dups = eng.entities.getPotentialDuplicates();
  CHECK(std::count_if(dups.begin(), dups.end(), [](const dc::PotentialDuplicate& d) { return d.entityGuid == "big2"; }) == 1);
  // A 1 MB guid is just a long guid.
  std::string bigGuid(1 << 20, 'g');
  eng.submit("create-individual", bigGuid, {{"name", "G"}});
  CHECK(eng.exists(bigGuid));
  // A 1 MB unparseable timestamp is rejected with a bounded message.
  Json f = eng.form("create-individual", "t", {{"name", "T"}});
  f["timestamp"] = big;
  dc::Error err = errorOf([&] { eng.service.submitForm(f); });
  CHECK(err.code() == ErrorCode::InvalidForm);
  CHECK(std::string(err.what()).size() < 200);
  CHECK_FALSE(eng.exists("t"));
}
