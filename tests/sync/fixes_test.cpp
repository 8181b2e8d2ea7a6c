// Sync fixes (docs/convergence.md) that need no browser; each fails on the original's behaviour.
#include <catch2/catch.hpp>

#include "sync/http_util.hpp"
#include "sync_fixture.hpp"

using namespace dc;
using namespace dc::test;

namespace {

size_t requestCount(const FakeServer& s, const std::string& path) {
  size_t n = 0;
  for (const auto& r : s.requests) n += r.path == path;
  return n;
}

}  // namespace

TEST_CASE("FIX: an old-timestamp event pushed late by A reaches B that already synced", "[sync][fix]") {
  for (bool original : {false, true}) {
    DYNAMIC_SECTION((original ? "original server loses it" : "server cursor delivers it")) {
      FakeClock clock;
      FakeServer server(original);
      Client a(server, clock, "alice");
      Client b(server, clock, "bob");
      a.transport.offline = true;
      // A's device clock is two hours behind; the event is made offline.
      std::string late = a.submit("create-individual", "ind-a", {{"name", "Late"}}, "2024-05-01T08:00:00.000Z");
      b.submit("create-individual", "ind-b", {{"name", "Early"}});
      REQUIRE(b.syncNow().code() == "OK");
      a.transport.offline = false;
      REQUIRE(a.syncNow().code() == "OK");
      REQUIRE(countOnServer(server, late) == 1);
      REQUIRE(b.syncNow().code() == "OK");
      if (original) {
        CHECK(b.countEvent(late) == 0);  // the timestamp cursor is already past 08:00
      } else {
        CHECK(b.countEvent(late) == 1);
        CHECK(entitiesSnapshot(a) == entitiesSnapshot(b));
      }
    }
  }
}

TEST_CASE("FIX: 25 events sharing one timestamp all arrive through 10-event pages", "[sync][fix]") {
  for (bool original : {false, true}) {
    DYNAMIC_SECTION((original ? "original server: strict > on a timestamp cursor loses 15" : "server cursor: all 25")) {
      FakeClock clock;
      FakeServer server(original);
      SyncOptions tenPerPage = Client::fastOptions();
      tenPerPage.pullLimit = 10;
      Client a(server, clock, "alice");
      Client b(server, clock, "bob", tenPerPage);
      const std::string ts = "2024-05-01T10:00:00.000Z";
      for (int i = 0; i < 25; ++i) a.submit("create-individual", "ind-" + std::to_string(i), {{"n", i}}, ts);
      REQUIRE(a.syncNow().code() == "OK");
      REQUIRE(server.events().size() == 25);
      auto out = b.syncNow();
      REQUIRE(out.code() == "OK");
      if (original) {
        CHECK(b.events.getAllEvents().size() == 10);
      } else {
        CHECK(b.events.getAllEvents().size() == 25);
        CHECK(out.result["pulled"] == 25);
        CHECK(out.result["applied"] == 25);
        CHECK(requestCount(server, "/api/sync/pull") >= 3 + 1);  // A's one pull + B's pages of 10, 10, 5
      }
    }
  }
}

TEST_CASE("FIX: an event created during a push (even with an older clock) is pushed next time", "[sync][fix]") {
  FakeClock clock;
  FakeServer server(/*original=*/true);
  Client a(server, clock, "alice");
  for (int i = 0; i < 15; ++i) a.submit("create-individual", "ind-" + std::to_string(i), {{"n", i}});
  std::string during;
  a.sync->setProgressCallback([&](const Json& p) {
    if (p["phase"] == "push" && during.empty()) {
      during = a.submit("create-individual", "ind-during", {{"name", "During"}}, "2024-05-01T09:00:00.000Z");
    }
  });
  auto first = a.syncNow();
  REQUIRE(first.code() == "OK");
  REQUIRE_FALSE(during.empty());
  CHECK(first.result["pushed"] == 15);
  CHECK(a.sync->getUnsyncedEventsCount() == 1);
  CHECK(countOnServer(server, during) == 0);
  auto second = a.syncNow();
  REQUIRE(second.code() == "OK");
  CHECK(second.result["pushed"] == 1);
  CHECK(countOnServer(server, during) == 1);
  CHECK(a.sync->getUnsyncedEventsCount() == 0);
}

TEST_CASE("FIX: a poison event from the server is rejected and reported, later events applied, next sync not blocked",
          "[sync][fix]") {
  FakeClock clock;
  FakeServer server;
  auto seed = [&](const std::string& guid, const std::string& type, const std::string& ts) {
    server.seedEvent(Json{{"guid", guid}, {"entityGuid", "ind-" + guid}, {"type", type}, {"data", {{"name", guid}}},
                          {"timestamp", ts}, {"userId", "zed"}});
  };
  seed("good-1", "create-individual", "2024-05-01T09:00:00.000Z");
  seed("poison", "no-such-type", "2024-05-01T09:00:01.000Z");
  seed("good-2", "create-individual", "2024-05-01T09:00:02.000Z");
  Client b(server, clock, "bob");
  auto out = b.syncNow();
  REQUIRE(out.code() == "OK");
  CHECK(out.result["pulled"] == 3);
  CHECK(out.result["applied"] == 2);
  CHECK(out.result["rejected"] == 1);
  REQUIRE(out.result["rejectedEvents"].size() == 1);
  CHECK(out.result["rejectedEvents"][0]["code"] == "NO_APPLIER");
  CHECK(out.result["rejectedEvents"][0]["source"] == "pull");
  CHECK(b.events.isEventExisted("good-2"));
  CHECK(b.sync->getSyncState()["rejectedEvents"].size() == 1);

  seed("good-3", "create-individual", "2024-05-01T09:00:03.000Z");
  auto next = b.syncNow();
  REQUIRE(next.code() == "OK");
  CHECK(next.result["pulled"] == 1);
  CHECK(next.result["rejected"] == 0);
  CHECK(b.events.isEventExisted("good-3"));
}

TEST_CASE("FIX: an event the server rejects on push is kept, reported and not re-sent forever", "[sync][fix]") {
  FakeClock clock;
  FakeServer server;
  server.rejectOnPush = [](const Json& e) -> std::optional<std::string> {
    if (e["data"].contains("poison")) return "Field poison is not allowed";
    return std::nullopt;
  };
  Client a(server, clock, "alice");
  std::string bad = a.submit("create-individual", "ind-bad", {{"poison", true}});
  std::string good = a.submit("create-individual", "ind-good", {{"name", "Fine"}});
  auto out = a.syncNow();
  REQUIRE(out.code() == "OK");
  CHECK(out.result["pushed"] == 1);
  CHECK(out.result["rejected"] == 1);
  CHECK(out.result["rejectedEvents"][0]["source"] == "push");
  CHECK(out.result["rejectedEvents"][0]["message"] == "Field poison is not allowed");
  CHECK(a.events.isEventExisted(bad));  // kept
  CHECK(a.sync->getUnsyncedEventsCount() == 0);
  size_t pushes = requestCount(server, "/api/sync/push");
  REQUIRE(a.syncNow().code() == "OK");
  CHECK(requestCount(server, "/api/sync/push") == pushes);  // nothing left to send
  CHECK(countOnServer(server, good) == 1);
}

TEST_CASE("FIX: sync() called twice shares one run", "[sync][fix]") {
  FakeClock clock;
  FakeServer server;
  Client a(server, clock, "alice");
  a.submit("create-individual", "ind-1", {{"name", "A"}});
  Outcome first, second, push;
  a.sync->sync(capture(first));
  CHECK(a.sync->isSyncing());
  a.sync->sync(capture(second));
  a.sync->pushToRemote(capture(push));  // a phase of the running sync joins it too
  clock.runUntilIdle();
  REQUIRE(first.done);
  REQUIRE(second.done);
  REQUIRE(push.done);
  CHECK(first.code() == "OK");
  CHECK(second.code() == "OK");
  CHECK(first.result == second.result);
  CHECK(first.result["pushed"] == 1);
  CHECK(requestCount(server, "/api/sync/push") == 1);
  CHECK(requestCount(server, "/api/sync/pull") == 1);
  CHECK_FALSE(a.sync->isSyncing());

  SECTION("a sync asked for during a pull-only run runs after it") {
    Outcome pull, full;
    a.sync->pullFromRemote(capture(pull));
    a.sync->sync(capture(full));
    clock.runUntilIdle();
    CHECK(pull.code() == "OK");
    CHECK(full.code() == "OK");
    CHECK(requestCount(server, "/api/sync/pull") == 3);
  }
}

TEST_CASE("FIX: 401 -> auth hook -> one retry", "[sync][fix][auth]") {
  FakeClock clock;
  FakeServer server;
  server.addUser("alice@example.org", "pw-alice", "alice");
  Client a(server, clock, "alice");
  std::string e = a.submit("create-individual", "ind-1", {{"name", "A"}});
  std::vector<std::string> reasons;

  SECTION("the hook answers with a new token") {
    server.revokeTokens();
    a.sync->setAuthRequiredHook([&](const std::string& reason, AuthRespond respond) {
      reasons.push_back(reason);
      clock.setTimeout(50, [&server, respond] { respond(server.issueToken("alice")); });  // asynchronously
    });
    auto out = a.syncNow();
    CHECK(out.code() == "OK");
    CHECK(reasons == std::vector<std::string>{"unauthorized"});
    CHECK(countOnServer(server, e) == 1);
  }
  SECTION("the hook answers with credentials; the manager logs in") {
    server.revokeTokens();
    a.sync->setAuthRequiredHook([&](const std::string& reason, AuthRespond respond) {
      reasons.push_back(reason);
      respond(Json{{"email", "alice@example.org"}, {"password", "pw-alice"}});
    });
    CHECK(a.syncNow().code() == "OK");
    CHECK(reasons.size() == 1);
    CHECK(countOnServer(server, e) == 1);
  }
  SECTION("a token the server refuses again -> UNAUTHORIZED after exactly one retry, nothing lost") {
    server.addFault({Fault::Unauthorized, "/api/sync/push", 0, -1});
    a.sync->setAuthRequiredHook([&](const std::string& reason, AuthRespond respond) {
      reasons.push_back(reason);
      respond(server.issueToken("alice"));
    });
    auto out = a.syncNow();
    CHECK(out.code() == "UNAUTHORIZED");
    CHECK(out.error->httpStatus() == 401);
    CHECK(requestCount(server, "/api/sync/push") == 2);
    CHECK(a.sync->getUnsyncedEventsCount() == 1);
  }
  SECTION("the hook gives up") {
    server.revokeTokens();
    a.sync->setAuthRequiredHook([&](const std::string&, AuthRespond respond) { respond(nullptr); });
    auto out = a.syncNow();
    CHECK(out.code() == "UNAUTHORIZED");
    CHECK(a.sync->getUnsyncedEventsCount() == 1);
  }
  SECTION("a JWT close to its exp asks the hook before the sync starts") {
    int64_t exp = clock.nowMs() / 1000 + 30;  // 30 s left, margin is 60 s
    std::string payload = Json{{"sub", "alice"}, {"exp", exp}}.dump();
    // base64url without padding, by hand: encode through the standard alphabet then swap.
    static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string enc;
    for (size_t i = 0; i < payload.size(); i += 3) {
      uint32_t n = static_cast<unsigned char>(payload[i]) << 16;
      if (i + 1 < payload.size()) n |= static_cast<unsigned char>(payload[i + 1]) << 8;
      if (i + 2 < payload.size()) n |= static_cast<unsigned char>(payload[i + 2]);
      enc += b64[(n >> 18) & 63];
      enc += b64[(n >> 12) & 63];
      if (i + 1 < payload.size()) enc += b64[(n >> 6) & 63];
      if (i + 2 < payload.size()) enc += b64[n & 63];
    }
    std::string jwt = "eyJhbGciOiJIUzI1NiJ9." + enc + ".sig";
    REQUIRE(http::jwtExpiryMs(jwt) == exp * 1000);
    a.sync->setAuthToken(jwt);
    size_t requestsAtHook = SIZE_MAX;
    a.sync->setAuthRequiredHook([&](const std::string& reason, AuthRespond respond) {
      reasons.push_back(reason);
      requestsAtHook = server.requests.size();
      respond(server.issueToken("alice"));
    });
    CHECK(a.syncNow().code() == "OK");
    CHECK(reasons == std::vector<std::string>{"token-expiring"});
    CHECK(requestsAtHook == 0);
  }
}

TEST_CASE("FIX: duplicates-blocked pull surfaces DUPLICATES_EXIST; local duplicates block before sending", "[sync][fix]") {
  FakeClock clock;
  FakeServer server;
  Client a(server, clock, "alice");
  SECTION("server side") {
    server.addFault({Fault::DuplicatesBlocked, "/api/sync/pull"});
    auto out = a.syncNow();
    CHECK(out.code() == "DUPLICATES_EXIST");
    CHECK(std::string(out.error->what()).find("Potential duplicates found") != std::string::npos);
  }
  SECTION("local side") {
    std::string j1 = a.submit("create-individual", "ind-1", {{"name", "John Doe"}});
    a.submit("create-individual", "ind-2", {{"name", "John Doe"}});
    REQUIRE(a.sync->checkIfDuplicatesExist());
    auto out = a.syncNow();
    CHECK(out.code() == "DUPLICATES_EXIST");
    CHECK(std::string(out.error->what()) == "Duplicates exist! Please resolve them before syncing.");
    CHECK(server.requests.empty());
    CHECK(a.sync->getUnsyncedEventsCount() == 2);
    a.submit("resolve-duplicate", "ind-2",
             {{"duplicates", Json::array({Json{{"entityGuid", "ind-2"}, {"duplicateGuid", "ind-1"}}})}, {"shouldDelete", true}});
    CHECK_FALSE(a.sync->checkIfDuplicatesExist());
    CHECK(a.syncNow().code() == "OK");
    CHECK(server.events().size() == 3);
  }
}

TEST_CASE("conflicts: concurrent edits are detected, recorded, reported and converge", "[sync][conflict]") {
  FakeClock clock;
  FakeServer server;
  Client a(server, clock, "alice");
  Client b(server, clock, "bob");
  a.submit("create-individual", "ind-1", {{"name", "Start"}, {"age", 30}});
  REQUIRE(a.syncNow().code() == "OK");
  REQUIRE(b.syncNow().code() == "OK");
  a.transport.offline = b.transport.offline = true;
  std::string fromA = a.submit("update-individual", "ind-1", {{"name", "From A"}, {"age", 31}});
  clock.advance(1000);
  std::string fromB = b.submit("update-individual", "ind-1", {{"name", "From B"}, {"city", "Paris"}});
  a.transport.offline = b.transport.offline = false;

  SECTION("default: the deterministic order decides") {
    REQUIRE(a.syncNow().code() == "OK");
    auto out = b.syncNow();
    REQUIRE(out.code() == "OK");
    CHECK(out.result["conflicts"] == 1);
    const Json& c = out.result["conflictList"][0];
    CHECK(c["entityGuid"] == "ind-1");
    CHECK(c["remoteEventGuid"] == fromA);
    CHECK(c["localEventGuids"] == Json::array({fromB}));
    CHECK(c["fields"] == Json::array({"name"}));
    CHECK(b.sync->getSyncState()["conflicts"].size() == 1);
    REQUIRE(a.syncNow().code() == "OK");
    CHECK(entitiesSnapshot(a) == entitiesSnapshot(b));
    CHECK(b.entities.getEntity("ind-1")->modified["name"] == "From B");  // later (timestamp, guid) wins
    CHECK(b.entities.getEntity("ind-1")->modified["data"]["age"] == 31);
  }
  SECTION("a resolver's choice becomes an event that every replica applies") {
    b.sync->setConflictResolver([](const Json& conflict) -> std::optional<Json> {
      return Json{{"type", "update-individual"}, {"data", {{"name", "Merged"}}}};
    });
    REQUIRE(a.syncNow().code() == "OK");
    auto out = b.syncNow();
    REQUIRE(out.code() == "OK");
    REQUIRE(out.result["conflicts"] == 1);
    CHECK(out.result["conflictList"][0].contains("resolutionEventGuid"));
    CHECK(b.sync->getUnsyncedEventsCount() == 1);
    REQUIRE(b.syncNow().code() == "OK");
    REQUIRE(a.syncNow().code() == "OK");
    CHECK(a.entities.getEntity("ind-1")->modified["name"] == "Merged");
    CHECK(entitiesSnapshot(a) == entitiesSnapshot(b));
  }
}

TEST_CASE("FIX: two clients converge after concurrent offline edits, in every sync order", "[sync][fix][convergence]") {
  // Orders of the four syncs after the offline period (each client syncs twice).
  const std::vector<std::string> orders = {"ABAB", "ABBA", "BAAB", "BABA", "AABB", "BBAA"};
  for (const auto& order : orders) {
    DYNAMIC_SECTION("order " << order) {
      FakeClock clock;
      FakeServer server;
      Client a(server, clock, "alice");
      Client b(server, clock, "bob");
      a.submit("create-group", "hh-1", {{"name", "House"}, {"members", Json::array({Json{{"guid", "m-1"}, {"name", "Kid"}}})}});
      REQUIRE(a.syncNow().code() == "OK");
      REQUIRE(b.syncNow().code() == "OK");
      a.transport.offline = b.transport.offline = true;
      a.submit("update-individual", "m-1", {{"name", "Kid A"}});
      b.submit("remove-member", "hh-1", {{"memberId", "m-1"}});
      b.submit("add-member", "hh-1", {{"members", Json::array({Json{{"guid", "m-2"}, {"name", "Baby"}}})}});
      a.submit("update-group", "hh-1", {{"name", "House A"}});
      a.transport.offline = b.transport.offline = false;
      for (char c : order) REQUIRE((c == 'A' ? a : b).syncNow().code() == "OK");
      // The client that did not sync last catches up with what the last one pushed.
      REQUIRE((order.back() == 'A' ? b : a).syncNow().code() == "OK");
      CHECK(eventGuids(a) == eventGuids(b));
      CHECK(entitiesSnapshot(a) == entitiesSnapshot(b));
    }
  }
}
