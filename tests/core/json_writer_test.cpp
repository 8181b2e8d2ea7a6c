// The streaming writers behind journal records and canonical event JSON must produce exactly
// what Json::dump() produces: stored Merkle leaves and replicas' hashes depend on every byte.
#include <catch2/catch.hpp>

#include "core/json.hpp"
#include "core/model.hpp"

using dc::Json;

namespace {
std::string viaWriter(const std::string& s) {
  std::string out = "x";  // appends after what is there
  REQUIRE(dc::appendJsonString(out, s));
  return out.substr(1);
}
}  // namespace

TEST_CASE("appendJsonString escapes exactly like Json::dump", "[json]") {
  std::vector<std::string> samples = {"", "plain", "quote \" and backslash \\", "tab\tnl\ncr\rbs\bff\f",
                                      "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "del\x7F", "/slash/"};
  std::string controls;
  for (int c = 0; c < 0x20; ++c) controls.push_back(static_cast<char>(c));
  samples.push_back(controls);
  for (const auto& s : samples) {
    INFO(Json(s).dump());
    CHECK(viaWriter(s) == Json(s).dump());
  }
}

TEST_CASE("appendJsonString refuses invalid UTF-8 where Json::dump throws, leaving out unchanged", "[json]") {
  for (std::string bad : {std::string("\xC3"), std::string("a\xFF"), std::string("\xED\xA0\x80"),  // surrogate
                          std::string("\xC0\xAF"), std::string("\xF4\x90\x80\x80"), std::string("ok\xE2\x82")}) {
    std::string out = "prefix";
    CHECK_FALSE(dc::appendJsonString(out, bad));
    CHECK(out == "prefix");
    CHECK_THROWS(Json(bad).dump());
  }
}

TEST_CASE("appendJson equals dump for nested documents; replace mode matches dump's", "[json]") {
  Json doc = Json::parse(R"({"b":[1,2.5,-3,true,null,{"z":"\u0001"}],"a":{"x":"caf\u00e9","n":1e300},"e":{},"f":[]})");
  std::string out;
  dc::appendJson(out, doc);
  CHECK(out == doc.dump());
  Json bad = {{"k", std::string("a\xFF")}};
  std::string replaced;
  dc::appendJson(replaced, bad, true);
  CHECK(replaced == bad.dump(-1, ' ', false, Json::error_handler_t::replace));
  std::string strict;
  CHECK_THROWS(dc::appendJson(strict, bad));
}

TEST_CASE("Event::canonicalJson is the sorted dump of the event without syncLevel", "[json][model]") {
  dc::Event e;
  e.guid = "g-\"1\"";
  e.entityGuid = "ent\n1";
  e.type = "create-individual";
  e.data = Json::parse(R"({"name":"Zo\u00eb","age":3,"nested":{"b":1,"a":[true]}})");
  e.timestamp = "2024-01-01T00:00:00.000Z";
  e.userId = "u\\1";
  Json reference{{"guid", e.guid}, {"entityGuid", e.entityGuid}, {"type", e.type},
                 {"data", e.data.value()}, {"timestamp", e.timestamp},   {"userId", e.userId}};
  CHECK(e.canonicalJson() == reference.dump());
  CHECK(e.canonicalJson(true) == reference.dump());
  e.userId = "bad\xFF";  // falls back to dump: replaced when hashing, refused when storing
  CHECK(e.canonicalJson() == Json{{"guid", e.guid}, {"entityGuid", e.entityGuid}, {"type", e.type},
                                  {"data", e.data.value()}, {"timestamp", e.timestamp}, {"userId", e.userId}}
                                 .dump(-1, ' ', false, Json::error_handler_t::replace));
  CHECK_THROWS(e.canonicalJson(true));
}

TEST_CASE("FrozenJson: the same document as a tree and once compact (text)", "[json][model]") {
  Json doc = Json::parse(R"({"name":"Zo\u00eb","age":3.5,"nested":{"b":1,"a":[true,null]},"big":18446744073709551615})");
  dc::FrozenJson tree(doc);
  dc::FrozenJson text(doc);
  text.compact();
  CHECK_FALSE(tree.isCompact());
  CHECK(text.isCompact());
  CHECK(text.tree() == nullptr);
  CHECK(tree == text);
  CHECK(text == doc);
  CHECK(text.value() == doc);
  Json scratch;
  CHECK(&tree.view(scratch) == tree.tree());  // no copy while a tree
  CHECK(text.view(scratch) == doc);
  std::string a, b;
  tree.append(a);
  text.append(b);
  CHECK(a == doc.dump());
  CHECK(b == doc.dump());
  CHECK(dc::FrozenJson(Json{{"x", 1}}) != text);
  // Invalid UTF-8 cannot be written strictly: the document stays a tree, reads unchanged.
  dc::FrozenJson bad(Json{{"s", "bad\xFF"}});
  bad.compact();
  CHECK_FALSE(bad.isCompact());
  CHECK(bad.value()["s"] == "bad\xFF");
  // Events and audit entries stored by a Store are compact.
  dc::Event e = dc::Event::fromJson(Json{{"guid", "e1"}, {"entityGuid", "p1"}, {"type", "create-individual"},
                                         {"data", {{"name", "A"}}}, {"timestamp", "2024-01-01T00:00:00Z"}, {"userId", "u"}});
  CHECK(e.toJson()["data"] == Json{{"name", "A"}});
  e.data.compact();
  CHECK(e.toJson()["data"] == Json{{"name", "A"}});
  CHECK(e.canonicalJson().find(R"({"data":{"name":"A"},)") == 0);
}
