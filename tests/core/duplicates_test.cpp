#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>

#include "core/duplicates.hpp"

using dc::DuplicateIndex;
using dc::isPotentialDuplicate;
using dc::Json;
using dc::Signature;
using dc::signatureOf;

TEST_CASE("signature: dotted paths of non-empty primitives, normalised", "[duplicates]") {
  Json data = {{"name", "  John DOE "}, {"age", 42}, {"height", 1.5}, {"alive", true},
               {"address", {{"city", "Nairobi"}, {"geo", {{"lat", 0}}}}}, {"tags", {"x"}}, {"note", ""},
               {"blank", "   "}, {"none", nullptr}};
  Signature expected = {{"address.city", "s:nairobi"}, {"address.geo.lat", "n:0"}, {"age", "n:42"},
                        {"alive", "b:1"}, {"height", "n:1.5"}, {"name", "s:john doe"}};
  CHECK(signatureOf(data) == expected);
  CHECK(signatureOf(Json{{"n", 42.0}}) == signatureOf(Json{{"n", 42}}));  // one JSON number type
  CHECK(signatureOf(Json{{"n", "42"}}) != signatureOf(Json{{"n", 42}}));  // but strings stay strings
  CHECK(signatureOf(Json::object()).empty());
  CHECK(signatureOf(Json::array()).empty());
}

TEST_CASE("potential duplicate = one signature a non-empty subset of the other (symmetric)", "[duplicates]") {
  Signature john = signatureOf(Json{{"name", "John Doe"}});
  Signature johnFull = signatureOf(Json{{"name", "john doe "}, {"age", 30}});
  Signature johnOther = signatureOf(Json{{"name", "John Doe"}, {"age", 31}});
  CHECK(isPotentialDuplicate(john, johnFull));
  CHECK(isPotentialDuplicate(johnFull, john));
  CHECK(isPotentialDuplicate(john, john));
  CHECK_FALSE(isPotentialDuplicate(johnFull, johnOther));
  CHECK_FALSE(isPotentialDuplicate(john, signatureOf(Json{{"name", "John"}})));  // no substring matching
  CHECK_FALSE(isPotentialDuplicate({}, john));
  CHECK_FALSE(isPotentialDuplicate({}, {}));
}

TEST_CASE("DuplicateIndex finds subsets and supersets, follows upserts and removals", "[duplicates]") {
  DuplicateIndex idx;
  idx.upsert("a", {{"name", "John"}});
  idx.upsert("b", {{"name", "John"}, {"age", 30}});
  idx.upsert("c", {{"name", "Jane"}, {"age", 30}});
  idx.upsert("e", Json::object());
  CHECK(idx.size() == 4);
  CHECK(idx.findMatches("q", signatureOf({{"name", "john"}})) == std::vector<std::string>{"a", "b"});
  CHECK(idx.findMatches("q", signatureOf({{"name", "john"}, {"age", 30}, {"x", 1}})) == std::vector<std::string>{"a", "b"});
  CHECK(idx.findMatches("a", signatureOf({{"name", "john"}})) == std::vector<std::string>{"b"});  // never itself
  CHECK(idx.findMatches("q", signatureOf({{"age", 30}})) == std::vector<std::string>{"b", "c"});
  CHECK(idx.findMatches("q", {}).empty());

  idx.upsert("b", {{"name", "Bob"}});
  CHECK(idx.findMatches("q", signatureOf({{"name", "john"}})) == std::vector<std::string>{"a"});
  idx.remove("a");
  idx.remove("missing");
  CHECK(idx.findMatches("q", signatureOf({{"name", "john"}})).empty());
  CHECK(idx.size() == 3);

  DuplicateIndex snapshot = idx;  // copy-on-write: the copy is unaffected by later writes
  idx.clear();
  CHECK(idx.size() == 0);
  CHECK(snapshot.findMatches("q", signatureOf({{"age", 30}})) == std::vector<std::string>{"c"});
}

TEST_CASE("DuplicateIndex agrees with a brute-force scan on random data", "[duplicates]") {
  std::mt19937 rng(7);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  auto randomData = [&] {
    Json d = Json::object();
    if (pick(4)) d["name"] = "n" + std::to_string(pick(6));
    if (pick(2)) d["age"] = pick(3);
    if (pick(3) == 0) d["village"] = {{"id", pick(2)}};
    if (pick(5) == 0) d["flag"] = pick(2) == 0;
    return d;
  };
  DuplicateIndex idx;
  std::map<std::string, Signature> truth;
  for (int step = 0; step < 3000; ++step) {
    std::string guid = "e" + std::to_string(pick(300));
    if (pick(6) == 0) {
      idx.remove(guid);
      truth.erase(guid);
    } else {
      Json d = randomData();
      idx.upsert(guid, d);
      truth[guid] = signatureOf(d);
    }
    if (step % 10 == 0) {
      Signature q = signatureOf(randomData());
      std::vector<std::string> expected;
      for (const auto& [g, sig] : truth)
        if (g != "q" && isPotentialDuplicate(q, sig)) expected.push_back(g);
      REQUIRE(idx.findMatches("q", q) == expected);
    }
  }
  CHECK(idx.size() == truth.size());
}
