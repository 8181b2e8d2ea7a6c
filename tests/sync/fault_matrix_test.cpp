// Fault matrix: each scripted fault × each point of push and pull (first, middle,
// last chunk; first, middle, last page), against both server behaviours. After recovery every
// event is on the server exactly once and every client holds every event exactly once.
#include <catch2/catch.hpp>

#include <iostream>
#include <set>

#include "sync_fixture.hpp"

using namespace dc;
using namespace dc::test;

namespace {

constexpr int kLocalEvents = 30;   // 3 push chunks of 10
constexpr int kRemoteEvents = 30;  // with A's own 30: 6 pull pages of 10

SyncOptions tenAtATime() {
  SyncOptions o = Client::fastOptions();
  o.pushChunkSize = 10;
  o.pullLimit = 10;
  return o;
}

struct Scenario {
  FakeClock clock;
  FakeServer server;
  Client a;
  explicit Scenario(bool original) : server(original), a(server, clock, "alice", tenAtATime()) {
    for (int i = 0; i < kRemoteEvents; ++i) {
      server.seedEvent(Json{{"guid", "zed-" + std::to_string(i)}, {"entityGuid", "ind-z" + std::to_string(i)},
                            {"type", "create-individual"}, {"data", {{"name", "Zed " + std::to_string(i)}, {"i", i}}},
                            {"timestamp", formatTimestamp(clock.nowMs() - 3'600'000 + i * 1000)}, {"userId", "zed"}});
    }
    for (int i = 0; i < kLocalEvents; ++i) {
      a.submit("create-individual", "ind-a" + std::to_string(i), {{"name", "Ann " + std::to_string(i)}, {"i", i}});
    }
    // 401 faults recover through the hook within the same sync.
    a.sync->setAuthRequiredHook([this](const std::string&, AuthRespond respond) { respond(server.issueToken("alice")); });
  }
  size_t requestsTo(const std::string& path) const {
    size_t n = 0;
    for (const auto& r : server.requests) n += r.path == path;
    return n;
  }
};

void requireExactlyOnce(const std::vector<std::string>& guids, size_t expected) {
  std::set<std::string> unique(guids.begin(), guids.end());
  CHECK(unique.size() == guids.size());
  CHECK(unique.size() == expected);
}

std::vector<std::string> serverGuids(FakeServer& s) {
  std::vector<std::string> out;
  for (const auto& e : s.events()) out.push_back(e["guid"].get<std::string>());
  return out;
}

std::vector<std::string> clientGuids(const Client& c) {
  std::vector<std::string> out;
  for (const auto& e : c.events.getAllEvents()) out.push_back(e.guid);
  return out;
}

}  // namespace

TEST_CASE("fault matrix: every fault at every point of push and pull, then recovery", "[sync][faults]") {
  size_t cells = 0, failedFirstSyncs = 0;
  for (bool original : {false, true}) {
    // A clean run tells how many push and pull requests there are, to aim at first/middle/last.
    Scenario clean(original);
    REQUIRE(clean.a.syncNow().code() == "OK");
    const size_t pushes = clean.requestsTo("/api/sync/push"), pulls = clean.requestsTo("/api/sync/pull");
    REQUIRE(pushes == 3);
    REQUIRE(pulls >= 6);
    struct Point {
      const char* name;
      const char* path;
      int skip;
    };
    const std::vector<Point> points = {
        {"first push chunk", "/api/sync/push", 0},      {"middle push chunk", "/api/sync/push", 1},
        {"last push chunk", "/api/sync/push", static_cast<int>(pushes) - 1},
        {"first pull page", "/api/sync/pull", 0},       {"middle pull page", "/api/sync/pull", static_cast<int>(pulls) / 2},
        {"last pull page", "/api/sync/pull", static_cast<int>(pulls) - 1},
    };
    for (Fault fault : allFaults()) {
      for (const auto& point : points) {
        ++cells;
        INFO((original ? "original server, " : "extended server, ") << faultName(fault) << " at " << point.name);
        Scenario s(original);
        s.server.addFault({fault, point.path, point.skip, 1});
        auto first = s.a.syncNow();
        REQUIRE(s.server.pendingFaults() == 0);  // the fault did fire
        if (first.code() != "OK") ++failedFirstSyncs;
        if (faultIsTransient(fault) || fault == Fault::Unauthorized) CHECK(first.code() == "OK");  // retried within the sync
        // Recovery: the next sync completes.
        auto second = s.a.syncNow();
        REQUIRE(second.code() == "OK");
        CHECK(s.a.sync->getUnsyncedEventsCount() == 0);
        Client fresh(s.server, s.clock, "carol", tenAtATime());
        REQUIRE(fresh.syncNow().code() == "OK");
        requireExactlyOnce(serverGuids(s.server), kLocalEvents + kRemoteEvents);
        requireExactlyOnce(clientGuids(s.a), kLocalEvents + kRemoteEvents);
        requireExactlyOnce(clientGuids(fresh), kLocalEvents + kRemoteEvents);
        CHECK(entitiesSnapshot(s.a) == entitiesSnapshot(fresh));
      }
    }
  }
  std::cout << "fault matrix: " << cells << " cells (" << allFaults().size() << " faults x 6 points x 2 server behaviours), "
            << failedFirstSyncs << " first syncs failed and recovered on the next sync\n";
  CHECK(cells == allFaults().size() * 6 * 2);
}
