// EntityStore::searchEntitiesPage (sorted, paged reads with a total) and Store's commit observer
// (the change sets behind the JS store.onChange / store.watch).
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "applier_fixture.hpp"
#include "core/search.hpp"

using dc::Json;
using dc::PageRequest;
using dctest::errorOf;

namespace {
std::vector<std::string> names(const dc::EntityPage& page) {
  std::vector<std::string> out;
  for (const auto& p : page.items) out.push_back(p.modified.value("name", std::string("?")));
  return out;
}

void people(dctest::Engine& e) {
  e.submit("create-individual", "g3", {{"name", "Zed"}, {"age", 40}});
  e.submit("create-individual", "g1", {{"name", "amy"}, {"age", 31}});
  e.submit("create-individual", "g5", {{"name", "Bob"}, {"age", 20}});
  e.submit("create-individual", "g2", {{"name", "Cal"}, {"age", 50}});
  e.submit("create-individual", "g4", {{"name", "dan"}});  // no age: sorts first
}
}  // namespace

TEST_CASE("searchEntitiesPage: sort by any search field, ties by guid, limit/offset, total", "[paging]") {
  dctest::Engine e;
  people(e);
  PageRequest byGuid;
  auto all = e.entities.searchEntitiesPage(Json::array(), byGuid);
  CHECK(all.total == 5);
  CHECK(names(all) == std::vector<std::string>{"amy", "Cal", "Zed", "dan", "Bob"});  // g1..g5

  PageRequest byName{2, 1, "name", false};
  auto page = e.entities.searchEntitiesPage(Json::array(), byName);
  CHECK(page.total == 5);
  CHECK(names(page) == std::vector<std::string>{"Bob", "Cal"});  // case-insensitive

  PageRequest byAgeDesc{0, 0, "data.age", true};
  CHECK(names(e.entities.searchEntitiesPage(Json::array(), byAgeDesc)) ==
        std::vector<std::string>{"Cal", "Zed", "amy", "Bob", "dan"});  // missing last when descending

  PageRequest byAge{10, 0, "age", false};
  auto old = e.entities.searchEntitiesPage(Json::array({{{"age", {{"$gte", 31}}}}}), byAge);
  CHECK(old.total == 3);
  CHECK(names(old) == std::vector<std::string>{"amy", "Zed", "Cal"});

  PageRequest past{10, 99, "name", false};
  auto none = e.entities.searchEntitiesPage(Json::array(), past);
  CHECK(none.items.empty());
  CHECK(none.total == 5);
  CHECK(errorOf([&] { e.entities.searchEntitiesPage(Json::array({{{"age", {{"$bogus", 1}}}}}), byAge); }).code() ==
        dc::ErrorCode::InvalidForm);
}

TEST_CASE("commit observer: one notice per commit with entity and event guids; rebuild flagged", "[paging]") {
  dctest::Engine e;
  std::vector<dc::CommitNotice> notices;
  e.store->setCommitObserver([&](const dc::CommitNotice& n) { notices.push_back(n); });
  e.submit("create-individual", "a", {{"name", "A"}});
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].entityGuids == std::vector<std::string>{"a"});
  CHECK(notices[0].eventGuids == std::vector<std::string>{"ev-1"});
  CHECK_FALSE(notices[0].rebuild);

  e.entities.deleteEntity("a");
  REQUIRE(notices.size() == 2);
  CHECK(notices[1].entityGuids == std::vector<std::string>{"a"});
  CHECK(notices[1].eventGuids.empty());

  e.events.setSyncState("k", 1);  // neither entities nor events: no notice
  CHECK(notices.size() == 2);

  e.submit("create-individual", "b", {{"name", "B"}});
  REQUIRE(notices.size() == 3);
  CHECK_FALSE(notices[2].rebuild);
  // "a" was removed without an event, so replaying the log brings it back: a rebuild notice.
  e.service.rebuild();
  REQUIRE(notices.size() == 4);
  CHECK(notices[3].rebuild);
  CHECK(notices[3].entityGuids == std::vector<std::string>{"a"});

  e.entities.clearStore();
  REQUIRE_FALSE(notices.empty());
  CHECK(notices.back().cleared);
  auto cleared = notices.back().entityGuids;
  std::sort(cleared.begin(), cleared.end());
  CHECK(cleared == std::vector<std::string>{"a", "b"});  // every entity that was there
}
