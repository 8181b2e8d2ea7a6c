// Fault matrix: each scripted fault × each point of push and pull (first, middle,
// last chunk; first, middle, last page), against both server behaviours. After recovery every
// event is on the server exactly once and every client holds every event exactly once.
// Storage cells: each storage fault (write failure, quota, flush failure) while the client handles
// the answer of each step (login, push, audit push, pull, audit pull): the operation ends with
// STORAGE, isSyncing is false, and after the fault clears (and a reopen when the store asks for
// one) the next sync completes with nothing lost. Bugs in a continuation end it with INTERNAL.
#include <catch2/catch.hpp>

#include <iostream>
#include <set>

#include "faulty_storage.hpp"
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

namespace {

// A replica whose store sits on a FaultyStorage over a memory "disk" it can be reopened from.
struct Replica {
  FakeServer& server;
  FakeClock& clock;
  std::shared_ptr<FaultyStorage> disk = std::make_shared<FaultyStorage>(openMemoryStorage());
  std::shared_ptr<Store> store;
  std::unique_ptr<EventStore> events;
  std::unique_ptr<EntityStore> entities;
  std::unique_ptr<EventApplierService> applier;
  FakeTransport transport;
  std::unique_ptr<InternalSyncManager> sync;
  int counter = 0;

  Replica(FakeServer& s, FakeClock& c, const std::string& token) : server(s), clock(c), transport(s, c) { open(token); }
  void open(const std::string& token) {
    store = Store::open(disk);
    events = std::make_unique<EventStore>(store);
    entities = std::make_unique<EntityStore>(store);
    applier = std::make_unique<EventApplierService>(*events, *entities);
    sync = std::make_unique<InternalSyncManager>(*events, *entities, *applier, server.baseUrl, token, "default", transport,
                                                 clock, tenAtATime());
  }
  void reopen() {
    sync.reset();
    applier.reset();
    entities.reset();
    events.reset();
    store.reset();
    open("");  // the stored token
  }
  Outcome run(std::function<void(SyncCallback)> op) {
    Outcome out;
    op(capture(out));
    clock.runUntilIdle();
    return out;
  }
  Outcome syncNow() {
    return run([this](SyncCallback cb) { sync->sync(std::move(cb)); });
  }
  void submit(int i) {
    applier->submitForm(Json{{"guid", "ann-" + std::to_string(i)}, {"entityGuid", "ind-a" + std::to_string(i)},
                             {"type", "create-individual"}, {"data", {{"name", "Ann " + std::to_string(i)}}},
                             {"timestamp", applier->nextLocalTimestamp(clock.nowMs())}, {"userId", "alice"}});
  }
  // Arms `fault` when the response to the n-th (0-based) request to `path` is about to arrive.
  void armAt(const std::string& path, int n, StorageFault fault) {
    auto seen = std::make_shared<int>(0);
    transport.beforeDeliver = [this, path, n, fault, seen](const HttpRequest& req) {
      std::string p = req.url.substr(server.baseUrl.size());
      p = p.substr(0, p.find('?'));
      if (p == path && (*seen)++ == n) disk->fault = fault;
    };
  }
  std::vector<std::string> guids() const {
    std::vector<std::string> out;
    for (const auto& e : events->getAllEvents()) out.push_back(e.guid);
    return out;
  }
};

// The server already holds bob's events and audit entries, so every step has something to write.
void seedOtherClient(FakeServer& server, FakeClock& clock) {
  Client bob(server, clock, "bob", tenAtATime());
  for (int i = 0; i < 5; ++i) bob.submit("create-individual", "ind-b" + std::to_string(i), {{"name", "Bob " + std::to_string(i)}});
  REQUIRE(bob.syncNow().code() == "OK");
}

}  // namespace

TEST_CASE("fault matrix, storage: write failure, quota and flush failure at each step of push, pull, audit and login",
          "[sync][faults][storage]") {
  struct Step {
    const char* name;
    const char* path;
    int n;
  };
  const std::vector<Step> steps = {
      {"first push chunk", "/api/sync/push", 0},  {"last push chunk", "/api/sync/push", 2},
      {"audit push", "/api/sync/push/audit-logs", 0}, {"first pull page", "/api/sync/pull", 0},
      {"last pull page", "/api/sync/pull", 3},    {"audit pull", "/api/sync/pull/audit-logs", 0},
  };
  size_t cells = 0, reopened = 0;
  for (StorageFault fault : {StorageFault::WriteFails, StorageFault::Quota, StorageFault::FlushFails}) {
    for (const auto& step : steps) {
      ++cells;
      INFO(storageFaultName(fault) << " at " << step.name);
      FakeClock clock;
      FakeServer server;
      seedOtherClient(server, clock);
      Replica a(server, clock, server.issueToken("alice"));
      for (int i = 0; i < 30; ++i) a.submit(i);
      const size_t localAudit = a.store->auditLog().size();
      a.armAt(step.path, step.n, fault);
      auto first = a.syncNow();
      REQUIRE(a.disk->fired > 0);  // the fault did fire
      CHECK(first.code() == "STORAGE");
      CHECK_FALSE(a.sync->isSyncing());
      // The fault clears; reopen when the store says so; the next sync completes.
      a.disk->fault = StorageFault::None;
      a.transport.beforeDeliver = {};
      auto second = a.syncNow();
      if (second.code() == "STORAGE" && std::string(second.error->what()).find("reopen") != std::string::npos) {
        ++reopened;
        a.reopen();
        second = a.syncNow();
      }
      REQUIRE(second.code() == "OK");
      CHECK(a.sync->getUnsyncedEventsCount() == 0);
      requireExactlyOnce(serverGuids(server), 35);
      requireExactlyOnce(a.guids(), 35);
      CHECK(server.auditCount() == localAudit + 5);  // every audit entry reached the server once
      CHECK(a.store->auditLog().size() == localAudit + 5);
      Client fresh(server, clock, "carol", tenAtATime());
      REQUIRE(fresh.syncNow().code() == "OK");
      requireExactlyOnce(clientGuids(fresh), 35);
      // After a reopen too: what was reported synced is durable.
      a.reopen();
      requireExactlyOnce(a.guids(), 35);
      CHECK(a.sync->getUnsyncedEventsCount() == 0);
    }
    // Login: the token must be stored (and flushed) before login reports success.
    ++cells;
    INFO(storageFaultName(fault) << " at login");
    FakeClock clock;
    FakeServer server;
    server.addUser("ann@example.org", "pw", "alice");
    Replica a(server, clock, "");
    a.submit(0);
    a.armAt("/api/users/login", 0, fault);
    auto login = a.run([&](SyncCallback cb) { a.sync->login("ann@example.org", "pw", std::move(cb)); });
    REQUIRE(a.disk->fired > 0);
    CHECK(login.code() == "STORAGE");
    CHECK_FALSE(a.sync->isSyncing());
    a.disk->fault = StorageFault::None;
    a.transport.beforeDeliver = {};
    a.reopen();
    login = a.run([&](SyncCallback cb) { a.sync->login("ann@example.org", "pw", std::move(cb)); });
    REQUIRE(login.code() == "OK");
    REQUIRE(a.syncNow().code() == "OK");
    requireExactlyOnce(serverGuids(server), 1);
  }
  std::cout << "fault matrix, storage: " << cells << " cells (3 storage faults x (6 sync steps + login)), " << reopened
            << " needed a reopen\n";
  CHECK(cells == 21);
}

TEST_CASE("a bug in a continuation (an exception that is not a dc::Error) ends the operation with INTERNAL",
          "[sync][faults]") {
  for (const char* phase : {"push", "audit", "pull"}) {
    INFO("throws in the " << phase << " continuation");
    FakeClock clock;
    FakeServer server;
    Client a(server, clock, "alice", tenAtATime());
    for (int i = 0; i < 3; ++i) a.submit("create-individual", "ind-" + std::to_string(i), {{"name", "Person " + std::to_string(i * 7)}});
    server.seedEvent(Json{{"guid", "zed-1"}, {"entityGuid", "ind-z"}, {"type", "create-individual"},
                          {"data", {{"name", "Z"}}}, {"timestamp", "2024-05-01T09:00:00.000Z"}, {"userId", "zed"}});
    bool armed = true;
    a.sync->setProgressCallback([&](const Json& p) {
      if (armed && p["phase"] == phase) throw std::logic_error(std::string("bug in the ") + phase + " handler");
    });
    auto first = a.syncNow();
    CHECK(first.code() == "INTERNAL");
    CHECK(std::string(first.error->what()).find("bug in the") != std::string::npos);
    CHECK_FALSE(a.sync->isSyncing());
    armed = false;
    REQUIRE(a.syncNow().code() == "OK");
    CHECK(a.sync->getUnsyncedEventsCount() == 0);
    requireExactlyOnce(clientGuids(a), 4);
  }
}

TEST_CASE("failRunning: the event loop's backstop settles a sync whose continuation threw", "[sync][faults]") {
  FakeClock clock;
  FakeServer server;
  Client a(server, clock, "alice", tenAtATime());
  a.submit("create-individual", "ind-1", {{"name", "N"}});
  a.transport.offline = true;  // the answer comes later, through the clock
  Outcome out, joined;
  a.sync->sync(capture(out));
  a.sync->sync(capture(joined));
  REQUIRE(a.sync->isSyncing());
  a.sync->failRunning(Error(ErrorCode::Internal, "an exception escaped a continuation"));
  CHECK(out.code() == "INTERNAL");
  CHECK(joined.code() == "INTERNAL");
  CHECK_FALSE(a.sync->isSyncing());
  a.sync->failRunning(Error(ErrorCode::Internal, "nothing runs"));  // no-op
  clock.runUntilIdle();  // the old run's answers arrive and are ignored
  a.transport.offline = false;
  REQUIRE(a.syncNow().code() == "OK");
  CHECK(countOnServer(server, a.events.getAllEvents().front().guid) == 1);
}
