// docs/protocol.md wire details: paths, headers, query encoding, body shapes, batch sizes, login.
#include <catch2/catch.hpp>

#include "sync_fixture.hpp"

using namespace dc;
using namespace dc::test;

namespace {

std::vector<RecordedRequest> requestsTo(const FakeServer& s, const std::string& path) {
  std::vector<RecordedRequest> out;
  for (const auto& r : s.requests) {
    if (r.path == path) out.push_back(r);
  }
  return out;
}

}  // namespace

TEST_CASE("sync sends the original protocol: paths, headers, bodies, first pull with empty since", "[sync][wire]") {
  FakeClock clock;
  FakeServer server(/*original=*/true);
  Client a(server, clock, "alice");
  std::string e1 = a.submit("create-individual", "ind-1", {{"name", "Ann"}});
  auto out = a.syncNow();
  REQUIRE(out.code() == "OK");

  auto pushes = requestsTo(server, "/api/sync/push");
  REQUIRE(pushes.size() == 1);
  CHECK(pushes[0].request.method == "POST");
  CHECK(pushes[0].header("Content-Type") == "application/json");
  CHECK(pushes[0].header("Authorization").rfind("Bearer tok-alice-", 0) == 0);
  Json body = Json::parse(pushes[0].request.body);
  CHECK(body["configId"] == "default");
  REQUIRE(body["events"].size() == 1);
  const Json& ev = body["events"][0];
  for (const char* key : {"guid", "entityGuid", "type", "data", "timestamp", "userId", "syncLevel"}) {
    INFO(key);
    CHECK(ev.contains(key));
  }
  CHECK(ev["guid"] == e1);

  auto pulls = requestsTo(server, "/api/sync/pull");
  REQUIRE(pulls.size() == 1);
  CHECK(pulls[0].request.method == "GET");
  CHECK(pulls[0].request.body.empty());
  CHECK(pulls[0].query.at("since") == "");
  CHECK(pulls[0].rawQuery.rfind("since=&configId=default", 0) == 0);
  CHECK(pulls[0].header("Authorization") == pushes[0].header("Authorization"));

  auto auditPush = requestsTo(server, "/api/sync/push/audit-logs");
  REQUIRE(auditPush.size() == 1);
  Json audit = Json::parse(auditPush[0].request.body);
  CHECK(audit["configId"] == "default");
  CHECK(audit["auditLogs"].is_array());
  CHECK(!audit["auditLogs"].empty());
  CHECK(requestsTo(server, "/api/sync/pull/audit-logs").size() == 1);
  CHECK(requestsTo(server, "/api/sync/pull/audit-logs")[0].query.count("since") == 1);

  CHECK(a.sync->getUnsyncedEventsCount() == 0);
  CHECK(a.events.getEvent(e1)->syncLevel == REMOTE);
}

TEST_CASE("query values are URL-encoded (configId and timestamp cursor)", "[sync][wire]") {
  FakeClock clock;
  FakeServer server(/*original=*/true);
  Client b(server, clock, "bob", Client::fastOptions(), "tenant a&b/é=1");
  for (int i = 0; i < 10; ++i) {  // a full original page so a timestamp nextCursor comes back
    server.seedEvent(Json{{"guid", "s-" + std::to_string(i)}, {"entityGuid", "ind-" + std::to_string(i)},
                          {"type", "create-individual"}, {"data", {{"name", "N" + std::to_string(i)}}},
                          {"timestamp", "2024-05-01T10:00:0" + std::to_string(i) + ".000Z"}, {"userId", "x"}},
                     "tenant a&b/é=1");
  }
  REQUIRE(b.syncNow().code() == "OK");
  CHECK(b.events.getAllEvents().size() == 10);
  auto pulls = requestsTo(server, "/api/sync/pull");
  REQUIRE(pulls.size() == 2);
  CHECK(pulls[0].rawQuery.find("configId=tenant%20a%26b%2F%C3%A9%3D1") != std::string::npos);
  CHECK(pulls[0].query.at("configId") == "tenant a&b/é=1");
  // The next page asks from just before the page's last timestamp, so ties at the boundary are
  // not skipped (docs/protocol.md, 'The original server').
  CHECK(pulls[1].rawQuery.find("since=2024-05-01T10%3A00%3A08.999Z") != std::string::npos);
  CHECK(pulls[1].query.at("since") == "2024-05-01T10:00:08.999Z");
}

TEST_CASE("batch sizes: 10 with an original server, large once the server shows the extensions", "[sync][wire]") {
  FakeClock clock;
  SECTION("original server: push chunks and pull pages of 10") {
    FakeServer server(/*original=*/true);
    Client a(server, clock, "alice");
    for (int i = 0; i < 25; ++i) a.submit("create-individual", "ind-" + std::to_string(i), {{"name", "P" + std::to_string(i)}});
    std::vector<Json> progress;
    a.sync->setProgressCallback([&](const Json& p) { progress.push_back(p); });
    REQUIRE(a.syncNow().code() == "OK");
    auto pushes = requestsTo(server, "/api/sync/push");
    REQUIRE(pushes.size() == 3);
    CHECK(Json::parse(pushes[0].request.body)["events"].size() == 10);
    CHECK(Json::parse(pushes[2].request.body)["events"].size() == 5);
    CHECK(requestsTo(server, "/api/sync/pull")[0].query.at("limit") == "10");
    CHECK(a.sync->getSyncState()["serverExtensions"] == false);
    // Progress after each chunk, with a total.
    std::vector<Json> pushProgress;
    for (const auto& p : progress) {
      if (p["phase"] == "push") pushProgress.push_back(p);
    }
    REQUIRE(pushProgress.size() == 3);
    CHECK(pushProgress.back() == Json{{"phase", "push"}, {"done", 25}, {"total", 25}});
  }
  SECTION("extended server: after the first reply shows `cursor`/`accepted`, batches are large") {
    FakeServer server;
    Client a(server, clock, "alice");
    for (int i = 0; i < 25; ++i) a.submit("create-individual", "ind-" + std::to_string(i), {{"name", "P" + std::to_string(i)}});
    REQUIRE(a.syncNow().code() == "OK");
    auto pushes = requestsTo(server, "/api/sync/push");
    REQUIRE(pushes.size() == 2);  // 10 before the server showed `accepted`, then the other 15 at once
    CHECK(Json::parse(pushes[1].request.body)["events"].size() == 15);
    CHECK(a.sync->getSyncState()["serverExtensions"] == true);
    auto pulls = requestsTo(server, "/api/sync/pull");
    CHECK(pulls.back().query.at("limit") == "500");
  }
}

TEST_CASE("413 halves the push chunk down to one event", "[sync][wire]") {
  FakeClock clock;
  FakeServer server;
  server.maxPushEvents = 3;
  SyncOptions opts = Client::fastOptions();
  opts.pushChunkSize = 10;
  Client a(server, clock, "alice", opts);
  for (int i = 0; i < 12; ++i) a.submit("create-individual", "ind-" + std::to_string(i), {{"name", "P" + std::to_string(i)}});
  REQUIRE(a.syncNow().code() == "OK");
  CHECK(server.events().size() == 12);
  std::vector<size_t> sizes;
  for (const auto& r : requestsTo(server, "/api/sync/push")) sizes.push_back(Json::parse(r.request.body)["events"].size());
  CHECK(sizes.front() == 10);
  CHECK(sizes[1] == 5);
  CHECK(sizes[2] == 2);
  SECTION("a single event still too large fails with the 413 and stays in the outbox") {
    server.maxPushEvents = 0;
    a.submit("create-individual", "ind-x", {{"name", "X"}});
    auto out = a.syncNow();
    CHECK(out.code() == "SERVER_ERROR");
    CHECK(out.error->httpStatus() == 413);
    CHECK(std::string(out.error->what()).find("413 Request Entity Too Large") != std::string::npos);
    CHECK(a.sync->getUnsyncedEventsCount() == 1);
  }
}

TEST_CASE("login stores the token with the store; logout clears it; reopen stays logged in", "[sync][wire][auth]") {
  FakeClock clock;
  FakeServer server;
  server.addUser("ann@example.org", "s3cret!", "ann");
  auto store = Store::open(openMemoryStorage());
  EventStore events(store);
  EntityStore entities(store);
  EventApplierService applier(events, entities);
  FakeTransport transport(server, clock);
  {
    InternalSyncManager m(events, entities, applier, server.baseUrl + "/", "", "default", transport, clock);
    CHECK_FALSE(m.hasAuthToken());
    Outcome bad;
    m.login("ann@example.org", "wrong", capture(bad));
    clock.runUntilIdle();
    CHECK(bad.code() == "UNAUTHORIZED");
    CHECK(bad.error->httpStatus() == 401);
    CHECK(std::string(bad.error->what()).find("Invalid email or password") != std::string::npos);
    CHECK(std::string(bad.error->what()).find("wrong") == std::string::npos);

    Outcome ok;
    m.login("ann@example.org", "s3cret!", capture(ok));
    clock.runUntilIdle();
    REQUIRE(ok.code() == "OK");
    CHECK(ok.result["userId"] == "ann");
    CHECK_FALSE(ok.result.contains("token"));
    auto login = server.requests.back();
    CHECK(login.path == "/api/users/login");
    CHECK(Json::parse(login.request.body) == Json{{"email", "ann@example.org"}, {"password", "s3cret!"}});
    CHECK(login.header("Content-Type") == "application/json");
    CHECK(m.hasAuthToken());
    CHECK(events.getSyncState("device.authToken").has_value());  // the device's: clearStore() keeps it
    CHECK_FALSE(events.getSyncState("authToken").has_value());
    CHECK(m.getSyncState().dump().find("tok-") == std::string::npos);  // never exposed
  }
  {
    InternalSyncManager reopened(events, entities, applier, server.baseUrl, "", "default", transport, clock);
    CHECK(reopened.hasAuthToken());
    Outcome out;
    reopened.sync(capture(out));
    clock.runUntilIdle();
    CHECK(out.code() == "OK");
    reopened.logout();
    CHECK_FALSE(reopened.hasAuthToken());
  }
  InternalSyncManager afterLogout(events, entities, applier, server.baseUrl, "", "default", transport, clock);
  CHECK_FALSE(afterLogout.hasAuthToken());
  Outcome out;
  afterLogout.sync(capture(out));
  clock.runUntilIdle();
  CHECK(out.code() == "UNAUTHORIZED");
}
