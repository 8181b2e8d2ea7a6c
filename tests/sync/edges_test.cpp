// The engine at the edges: responses over maxResponseBytes, servers that page without
// progress, an audit-log step that fails, the original server's tied timestamps at a page
// boundary, and one login per store.
#include <catch2/catch.hpp>

#include "sync_fixture.hpp"

using namespace dc;
using namespace dc::test;

namespace {

Json individual(const std::string& guid, const std::string& ts, const std::string& name) {
  return Json{{"guid", guid}, {"entityGuid", "ind-" + guid}, {"type", "create-individual"},
              {"data", {{"name", name}}}, {"timestamp", ts}, {"userId", "zed"}};
}

// A transport answering one path with a scripted response (others go to the fake server).
class ScriptedTransport : public Transport {
 public:
  ScriptedTransport(FakeServer& s, FakeClock& c) : server_(s), clock_(c) {}
  std::string path;
  std::function<HttpResponse(const HttpRequest&)> answer;
  int hits = 0;
  void send(const HttpRequest& request, ResponseCallback done) override {
    std::string p = request.url.substr(server_.baseUrl.size());
    p = p.substr(0, p.find('?'));
    if (p == path && answer) {
      ++hits;
      clock_.setTimeout(1, [done, r = answer(request)] { done(r); });
      return;
    }
    auto r = server_.handle(request);
    clock_.setTimeout(1, [done, r = *r] { done(r); });
  }

 private:
  FakeServer& server_;
  FakeClock& clock_;
};


// `before` events on distinct timestamps, `tied` on one timestamp after them, then `after` more.
void seedTies(FakeServer& server, int before, int tied, int after) {
  for (int i = 0; i < before; ++i) server.seedEvent(individual("a" + std::to_string(i), formatTimestamp(1714550000000 + i), "A" + std::to_string(i)));
  for (int i = 0; i < tied; ++i) server.seedEvent(individual("t" + std::to_string(i), "2024-05-01T09:00:00.000Z", "T" + std::to_string(i)));
  for (int i = 0; i < after; ++i) server.seedEvent(individual("z" + std::to_string(i), formatTimestamp(1714557000000 + i), "Z" + std::to_string(i)));
}

}  // namespace

TEST_CASE("a pull page over maxResponseBytes halves `limit` down to one event; all events arrive", "[sync][edges]") {
  FakeClock clock;
  FakeServer server;
  for (int i = 0; i < 12; ++i) server.seedEvent(individual("big-" + std::to_string(i), formatTimestamp(1714550000000 + i * 1000), std::string(12000, 'a' + i)));
  SyncOptions o = Client::fastOptions();
  o.pullLimit = 64;
  o.maxResponseBytes = 64 * 1024;  // 12 x 12 KB do not fit, 4 do
  Client a(server, clock, "alice", o);
  auto out = a.syncNow();
  REQUIRE(out.code() == "OK");
  CHECK(a.events.getAllEvents().size() == 12);
  std::vector<std::string> limits;
  for (const auto& r : server.requests) if (r.path == "/api/sync/pull") limits.push_back(r.query.at("limit"));
  REQUIRE(limits.size() >= 3);
  CHECK(limits[0] == "64");
  CHECK(limits[1] == "32");
  CHECK(limits[2] == "16");
}

TEST_CASE("one event over maxResponseBytes: a coded error naming where it is, recorded as rejected", "[sync][edges]") {
  FakeClock clock;
  FakeServer server;
  server.seedEvent(individual("small-1", "2024-05-01T09:00:00.000Z", "S"));
  server.seedEvent(individual("huge-1", "2024-05-01T09:00:01.000Z", std::string(100000, 'h')));
  SyncOptions o = Client::fastOptions();
  o.pullLimit = 4;
  o.maxResponseBytes = 64 * 1024;
  Client a(server, clock, "alice", o);
  std::string local = a.submit("create-individual", "ind-mine", {{"name", "Mine"}});
  auto out = a.syncNow();
  CHECK(out.code() == "BAD_RESPONSE");
  CHECK(std::string(out.error->what()).find("larger than maxResponseBytes") != std::string::npos);
  CHECK_FALSE(a.sync->isSyncing());
  CHECK(countOnServer(server, local) == 1);  // the push went through first
  CHECK(a.events.isEventExisted("small-1"));  // events before it arrived
  auto rejected = a.sync->getSyncState()["rejectedEvents"];
  REQUIRE(rejected.size() == 1);
  CHECK(rejected[0]["code"] == "TOO_LARGE");
  CHECK(rejected[0]["source"] == "pull");
  // Raising the limit lets it through.
  o.maxResponseBytes = 1 << 20;
  a.sync->setOptions(o);
  REQUIRE(a.syncNow().code() == "OK");
  CHECK(a.events.isEventExisted("huge-1"));
}

TEST_CASE("pull sends maxBytes: a budget-aware server needs no halving, an event over it is rejected and the pull goes on", "[sync][edges]") {
  FakeClock clock;
  FakeServer server;
  server.honoursMaxBytes = true;
  server.seedEvent(individual("small-1", "2024-05-01T09:00:00.000Z", "S1"));
  server.seedEvent(individual("huge-1", "2024-05-01T09:00:01.000Z", std::string(100000, 'h')));
  for (int i = 0; i < 14; ++i) server.seedEvent(individual("mid-" + std::to_string(i), formatTimestamp(1714554002000 + i * 1000), std::string(12000, 'a' + i)));
  SyncOptions o = Client::fastOptions();
  o.pullLimit = 64;
  o.maxResponseBytes = 64 * 1024;
  Client a(server, clock, "alice", o);
  std::string local = a.submit("create-individual", "ind-mine", {{"name", "Mine"}});
  auto out = a.syncNow();
  REQUIRE(out.code() == "OK");
  CHECK(countOnServer(server, local) == 1);
  CHECK(a.events.isEventExisted("small-1"));
  CHECK_FALSE(a.events.isEventExisted("huge-1"));
  for (int i = 0; i < 14; ++i) CHECK(a.events.isEventExisted("mid-" + std::to_string(i)));
  // Every pull asked with the budget and the full limit: no halving round trips.
  size_t pulls = 0;
  for (const auto& r : server.requests) {
    if (r.path != "/api/sync/pull") continue;
    ++pulls;
    CHECK(r.query.at("limit") == "64");
    CHECK(r.query.at("maxBytes") == std::to_string(64 * 1024 - 512));
  }
  CHECK(pulls >= 3);  // 14 x 12 KB take three 64 KB pages
  // The big one is named in the result and in the sync state, with its size.
  REQUIRE(out.result["rejectedEvents"].size() == 1);
  auto r = out.result["rejectedEvents"][0];
  CHECK(r["code"] == "TOO_LARGE");
  CHECK(r["source"] == "pull");
  CHECK(r["event"]["guid"] == "huge-1");
  CHECK(r["message"].get<std::string>().find("huge-1") != std::string::npos);
  CHECK(r["message"].get<std::string>().find(r["event"]["tooLarge"].dump()) != std::string::npos);
  auto state = a.sync->getSyncState()["rejectedEvents"];
  REQUIRE(state.size() == 1);
  CHECK(state[0]["event"]["guid"] == "huge-1");
  // The next sync does not stop at it (and does not report it again as new).
  server.seedEvent(individual("later-1", "2024-05-01T10:00:00.000Z", "L"));
  auto again = a.syncNow();
  REQUIRE(again.code() == "OK");
  CHECK(a.events.isEventExisted("later-1"));
  CHECK(a.sync->getSyncState()["rejectedEvents"].size() == 1);
}

TEST_CASE("an audit log over maxResponseBytes is pulled page by page from a server that pages it", "[sync][edges]") {
  FakeClock clock;
  FakeServer server;
  server.honoursMaxBytes = true;
  Client w(server, clock, "writer", Client::fastOptions());
  for (int i = 0; i < 60; ++i) w.submit("create-individual", "ind-w" + std::to_string(i), {{"name", "W" + std::to_string(i * 7919)}, {"note", std::string(200, 'n')}});
  REQUIRE(w.syncNow().code() == "OK");
  REQUIRE(server.auditCount() >= 60);
  SyncOptions o = Client::fastOptions();
  o.maxResponseBytes = 8 * 1024;  // the whole audit log is several times this
  Client r(server, clock, "reader", o);
  size_t firstRequest = server.requests.size();
  auto out = r.syncNow();
  REQUIRE(out.code() == "OK");
  CHECK_FALSE(out.result.contains("auditError"));
  CHECK(r.store->auditLog().size() == server.auditCount());
  CHECK(server.auditPages >= 3);
  for (size_t i = firstRequest; i < server.requests.size(); ++i) {
    const auto& q = server.requests[i];
    if (q.path == "/api/sync/pull/audit-logs") CHECK(q.query.at("maxBytes") == std::to_string(8 * 1024 - 512));
  }
  // The next sync asks from the stored cursor and gets only what is new.
  w.submit("create-individual", "ind-late", {{"name", "Late"}});
  REQUIRE(w.syncNow().code() == "OK");
  size_t before = server.auditPages;
  auto again = r.syncNow();
  REQUIRE(again.code() == "OK");
  CHECK_FALSE(again.result.contains("auditError"));
  CHECK(r.store->auditLog().size() == server.auditCount());
  CHECK(server.auditPages == before + 1);
}

TEST_CASE("a server paging without progress stops with SERVER_ERROR after a bounded number of pages", "[sync][edges]") {
  for (bool newCursors : {true, false}) {
    INFO((newCursors ? "new cursors, no events" : "the same page forever"));
    FakeClock clock;
    FakeServer server;
    ScriptedTransport transport(server, clock);
    transport.path = "/api/sync/pull";
    int n = 0;
    transport.answer = [&](const HttpRequest&) {
      ++n;
      if (newCursors) return jsonResponse(200, Json{{"events", Json::array()}, {"nextCursor", "c" + std::to_string(n)}, {"cursor", "c" + std::to_string(n)}});
      return jsonResponse(200, Json{{"events", Json::array({individual("same-1", "2024-05-01T09:00:00.000Z", "Same")})},
                                    {"nextCursor", "2024-05-01T09:00:00.000Z"}});
    };
    auto store = Store::open(openMemoryStorage());
    EventStore events(store);
    EntityStore entities(store);
    EventApplierService applier(events, entities);
    InternalSyncManager m(events, entities, applier, server.baseUrl, server.issueToken("a"), "default", transport, clock,
                          Client::fastOptions());
    Outcome out;
    m.sync(capture(out));
    clock.runUntilIdle();
    REQUIRE(out.done);
    CHECK(out.code() == "SERVER_ERROR");
    CHECK(std::string(out.error->what()).find("no new events") != std::string::npos);
    CHECK(transport.hits <= 6);
    CHECK_FALSE(m.isSyncing());
  }
}

TEST_CASE("an audit-log step that fails does not undo the sync: result.auditError, retried next time", "[sync][edges]") {
  for (const char* path : {"/api/sync/push/audit-logs", "/api/sync/pull/audit-logs"}) {
    INFO(path);
    FakeClock clock;
    FakeServer server;
    ScriptedTransport transport(server, clock);
    transport.path = path;
    transport.answer = [](const HttpRequest&) { return textResponse(500, "<html><title>Internal Server Error</title></html>"); };
    auto store = Store::open(openMemoryStorage());
    EventStore events(store);
    EntityStore entities(store);
    EventApplierService applier(events, entities);
    SyncOptions o = Client::fastOptions();
    o.maxAttempts = 1;
    InternalSyncManager m(events, entities, applier, server.baseUrl, server.issueToken("a"), "default", transport, clock, o);
    applier.submitForm(Json{{"guid", "l-1"}, {"entityGuid", "ind-1"}, {"type", "create-individual"}, {"data", {{"name", "L"}}},
                            {"timestamp", applier.nextLocalTimestamp(clock.nowMs())}, {"userId", "a"}});
    Outcome out;
    m.sync(capture(out));
    clock.runUntilIdle();
    REQUIRE(out.code() == "OK");
    CHECK(out.result["pushed"] == 1);
    REQUIRE(out.result.contains("auditError"));
    CHECK(out.result["auditError"]["code"] == "SERVER_ERROR");
    CHECK(out.result["auditError"]["status"] == 500);
    CHECK(m.getUnsyncedEventsCount() == 0);
    transport.answer = {};  // the server is fine again: the next sync retries the audit step
    Outcome again;
    m.sync(capture(again));
    clock.runUntilIdle();
    REQUIRE(again.code() == "OK");
    CHECK_FALSE(again.result.contains("auditError"));
    CHECK(server.auditCount() == 1);
  }
}

TEST_CASE("original server: ties at a page boundary are recovered; a page all on one timestamp reports possiblySkipped",
          "[sync][edges]") {
  SECTION("9 events on the boundary timestamp (fewer than a page): all arrive") {
    FakeClock clock;
    FakeServer server(/*original=*/true);
    seedTies(server, 5, 9, 4);
    Client a(server, clock, "alice");
    auto out = a.syncNow();
    REQUIRE(out.code() == "OK");
    CHECK(a.events.getAllEvents().size() == 18);  // the original client gets 5 + 5 + 4 = 14
    CHECK_FALSE(out.result.contains("possiblySkipped"));
  }
  SECTION("23 events, 12 on one timestamp (the issue's case): 21 arrive and the result says some may be skipped") {
    FakeClock clock;
    FakeServer server(/*original=*/true);
    seedTies(server, 5, 12, 6);
    Client a(server, clock, "alice");
    auto out = a.syncNow();
    REQUIRE(out.code() == "OK");
    CHECK(a.events.getAllEvents().size() == 21);  // 10 of the 12 tied: a 10-event page cannot hold more
    CHECK(out.result["possiblySkipped"] == true);
  }
}

TEST_CASE("one login per store: every manager of a store shares the token; clearEvents keeps it", "[sync][edges][auth]") {
  FakeClock clock;
  FakeServer server;
  server.addUser("ann@example.org", "pw", "ann");
  auto store = Store::open(openMemoryStorage());
  EventStore events(store);
  EntityStore entities(store);
  EventApplierService applier(events, entities);
  FakeTransport transport(server, clock);
  InternalSyncManager first(events, entities, applier, server.baseUrl, "", "default", transport, clock);
  InternalSyncManager second(events, entities, applier, server.baseUrl, "", "default", transport, clock);
  Outcome login;
  second.login("ann@example.org", "pw", capture(login));
  clock.runUntilIdle();
  REQUIRE(login.code() == "OK");
  CHECK(first.hasAuthToken());  // failed before: the token lived in the manager that logged in
  Outcome synced;
  first.sync(capture(synced));
  clock.runUntilIdle();
  CHECK(synced.code() == "OK");
  // clearStore(): the device keeps its login, and every live manager agrees with the store.
  store->clearEvents();
  CHECK(first.hasAuthToken());
  CHECK(second.hasAuthToken());
  CHECK(events.getSyncState("device.authToken").has_value());
  first.logout();
  CHECK_FALSE(second.hasAuthToken());
}

TEST_CASE("a store written before keeps its login: the old authToken key moves to device.authToken", "[sync][edges][auth]") {
  FakeClock clock;
  FakeServer server;
  auto store = Store::open(openMemoryStorage());
  EventStore events(store);
  EntityStore entities(store);
  EventApplierService applier(events, entities);
  FakeTransport transport(server, clock);
  events.setSyncState("authToken", server.issueToken("ann"));
  InternalSyncManager m(events, entities, applier, server.baseUrl, "", "default", transport, clock);
  CHECK(m.hasAuthToken());
  CHECK_FALSE(events.getSyncState("authToken").has_value());
  CHECK(events.getSyncState("device.authToken").has_value());
  Outcome out;
  m.sync(capture(out));
  clock.runUntilIdle();
  CHECK(out.code() == "OK");
}
