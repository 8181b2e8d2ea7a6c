// docs/protocol.md: every failure shape becomes a typed error with the HTTP status and the server's
// message; nothing is marked synced or lost by a failed step; secrets never reach messages.
#include <catch2/catch.hpp>

#include "sync_fixture.hpp"

using namespace dc;
using namespace dc::test;

namespace {

// Answers every request to `path` with one canned response; everything else goes to the server.
class CannedTransport : public Transport {
 public:
  CannedTransport(FakeServer& server, FakeClock& clock) : server_(server), clock_(clock) {}
  std::string path;
  std::optional<HttpResponse> canned;  // nullopt with path set: never answer (timeout)
  int hits = 0;
  void send(const HttpRequest& request, ResponseCallback done) override {
    bool matches = !path.empty() && (request.url == server_.baseUrl + path || request.url.rfind(server_.baseUrl + path + "?", 0) == 0);
    if (!matches) {
      auto r = server_.handle(request);
      clock_.setTimeout(1, [done, r = *r] { done(r); });
      return;
    }
    ++hits;
    if (!canned) return;  // hangs: the manager's own timeout guard must fire
    clock_.setTimeout(1, [done, r = *canned] { done(r); });
  }

 private:
  FakeServer& server_;
  FakeClock& clock_;
};

struct Shape {
  const char* name;
  const char* path;
  std::optional<HttpResponse> response;
  const char* code;
  int status;
  const char* messagePart;
  int expectedHits;  // 3 = retried (network/5xx), 1 = final at once
};

HttpResponse resp(int status, std::string body) { return textResponse(status, std::move(body)); }
HttpResponse networkError(bool timedOut) {
  HttpResponse r;
  r.timedOut = timedOut;
  r.networkError = timedOut ? "timeout" : "connection refused";
  return r;
}

}  // namespace

TEST_CASE("every failure shape of the protocol becomes a typed error with status and message", "[sync][errors]") {
  const std::string push = "/api/sync/push", pull = "/api/sync/pull";
  std::vector<Shape> shapes = {
      {"HTML 500 on push", "/api/sync/push", resp(500, "<html><body><h1>Internal Server Error</h1></body></html>"), "SERVER_ERROR", 500, "Internal Server Error", 3},
      {"plain-text 502 on pull", "/api/sync/pull", resp(502, "Bad Gateway\n"), "SERVER_ERROR", 502, "Bad Gateway", 3},
      {"HTML 404 on pull", "/api/sync/pull", resp(404, "<!DOCTYPE html><title>Not Found</title><p>Cannot GET"), "SERVER_ERROR", 404, "Not Found", 1},
      {"400 {error} unknown configId", "/api/sync/push", resp(400, R"({"error":"Unknown configId: x"})"), "SERVER_ERROR", 400, "Unknown configId: x", 1},
      {"400 {message}", "/api/sync/pull", resp(400, R"({"message":"since is invalid"})"), "SERVER_ERROR", 400, "since is invalid", 1},
      {"413 text on push", "/api/sync/push", resp(413, "request entity too large"), "SERVER_ERROR", 413, "request entity too large", 1},
      {"200 {status:error} on push", "/api/sync/push", resp(200, R"({"status":"error","message":"Unknown configId"})"), "SERVER_ERROR", 200, "Unknown configId", 1},
      {"200 {status:error} on pull", "/api/sync/pull", resp(200, R"({"status":"error","message":"Unknown configId"})"), "SERVER_ERROR", 200, "Unknown configId", 1},
      {"200 {error} on pull (duplicates)", "/api/sync/pull", resp(200, R"({"error":"Potential duplicates exist on the server"})"), "DUPLICATES_EXIST", 200, "Potential duplicates exist", 1},
      {"200 {error} on push", "/api/sync/push", resp(200, R"({"error":"Something broke"})"), "SERVER_ERROR", 200, "Something broke", 1},
      {"malformed JSON on pull", "/api/sync/pull", resp(200, R"({"events": [ {"guid": oops)"), "BAD_RESPONSE", 200, "not valid JSON", 1},
      {"truncated JSON on push", "/api/sync/push", resp(200, R"({"status":"succ)"), "BAD_RESPONSE", 200, "not valid JSON", 1},
      {"pull without events list", "/api/sync/pull", resp(200, R"({"items": []})"), "BAD_RESPONSE", 200, "no event list", 1},
      {"empty 200 body on push", "/api/sync/push", resp(200, ""), "BAD_RESPONSE", 200, "not valid JSON", 1},
      {"captive portal (200 HTML) on push", "/api/sync/push", resp(200, "<html><title>Sign in to Hotel WiFi</title></html>"), "BAD_RESPONSE", 200, "not valid JSON", 1},
      {"200 {} on push", "/api/sync/push", resp(200, "{}"), "BAD_RESPONSE", 200, "acknowledgement", 1},
      {"200 JSON array on push", "/api/sync/push", resp(200, "[]"), "BAD_RESPONSE", 200, "acknowledgement", 1},
      {"200 accepted not a list on push", "/api/sync/push", resp(200, R"({"status":"success","accepted":"all"})"), "BAD_RESPONSE", 200, "not a list", 1},
      {"307 redirect on push", "/api/sync/push", [] { HttpResponse r; r.status = 307; r.redirected = true; r.location = "https://evil.test/x"; return r; }(), "SERVER_ERROR", 307, "redirect", 1},
      {"301 redirect without Location on pull", "/api/sync/pull", [] { HttpResponse r; r.status = 301; r.redirected = true; return r; }(), "SERVER_ERROR", 301, "redirect", 1},
      {"status 0 on push", "/api/sync/push", networkError(false), "NETWORK", 0, "connection refused", 3},
      {"transport timeout on pull", "/api/sync/pull", networkError(true), "NETWORK", 0, "timed out", 3},
      {"no answer at all on pull", "/api/sync/pull", std::nullopt, "NETWORK", 0, "timed out", 3},
      {"401 without a hook", "/api/sync/push", resp(401, R"({"error":"Invalid token"})"), "UNAUTHORIZED", 401, "Invalid token", 1},
  };
  for (const auto& shape : shapes) {
    DYNAMIC_SECTION(shape.name) {
      FakeClock clock;
      FakeServer server;
      server.seedEvent(Json{{"guid", "remote-1"}, {"entityGuid", "ind-r"}, {"type", "create-individual"},
                            {"data", {{"name", "R"}}}, {"timestamp", "2024-05-01T09:00:00.000Z"}, {"userId", "zed"}});
      CannedTransport transport(server, clock);
      transport.path = shape.path;
      transport.canned = shape.response;
      auto store = Store::open(openMemoryStorage());
      EventStore events(store);
      EntityStore entities(store);
      EventApplierService applier(events, entities);
      std::string token = server.issueToken("alice");
      SyncOptions opts = Client::fastOptions();
      InternalSyncManager m(events, entities, applier, server.baseUrl, token, "default", transport, clock, opts);
      applier.submitForm(Json{{"guid", "local-1"}, {"entityGuid", "ind-1"}, {"type", "create-individual"},
                              {"data", {{"name", "L"}}}, {"timestamp", applier.nextLocalTimestamp(clock.nowMs())}, {"userId", "alice"}});
      Outcome out;
      m.sync(capture(out));
      clock.runUntilIdle();
      REQUIRE(out.done);
      CHECK(out.code() == shape.code);
      REQUIRE(out.error);
      CHECK(out.error->httpStatus() == shape.status);
      std::string message = out.error->what();
      INFO(message);
      CHECK(message.find(shape.messagePart) != std::string::npos);
      CHECK(message.find(token) == std::string::npos);
      CHECK(transport.hits == shape.expectedHits);
      CHECK_FALSE(m.isSyncing());
      if (std::string(shape.path) == push) {
        // Nothing marked synced by a failed push.
        CHECK(m.getUnsyncedEventsCount() == 1);
        CHECK(events.getEvent("local-1")->syncLevel == LOCAL);
      }
      if (std::string(shape.path) == pull) {
        CHECK(m.getUnsyncedEventsCount() == 0);           // the push went through before
        CHECK_FALSE(events.isEventExisted("remote-1"));  // a failed page is not applied
        CHECK(m.getSyncState()["cursor"] == "");         // and its cursor not advanced
      }
      CHECK(events.isEventExisted("local-1"));  // nothing local lost
    }
  }
}

TEST_CASE("a server echoing the token or password never puts it in an error message", "[sync][errors][auth]") {
  FakeClock clock;
  FakeServer server;
  CannedTransport transport(server, clock);
  auto store = Store::open(openMemoryStorage());
  EventStore events(store);
  EntityStore entities(store);
  EventApplierService applier(events, entities);
  std::string token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";
  InternalSyncManager m(events, entities, applier, server.baseUrl, token, "default", transport, clock, Client::fastOptions());

  transport.path = "/api/sync/pull";
  transport.canned = textResponse(400, Json{{"error", "bad token " + token}}.dump());
  Outcome out;
  m.pullFromRemote(capture(out));
  clock.runUntilIdle();
  REQUIRE(out.error);
  CHECK(std::string(out.error->what()).find(token) == std::string::npos);
  CHECK(std::string(out.error->what()).find("[redacted]") != std::string::npos);

  transport.path = "/api/users/login";
  transport.canned = textResponse(401, Json{{"message", "wrong password hunter2"}}.dump());
  Outcome login;
  m.login("a@b.c", "hunter2", capture(login));
  clock.runUntilIdle();
  REQUIRE(login.error);
  CHECK(login.code() == "UNAUTHORIZED");
  CHECK(std::string(login.error->what()).find("hunter2") == std::string::npos);
}

TEST_CASE("backoff is exponential in virtual time and gives up after maxAttempts", "[sync][errors]") {
  FakeClock clock;
  FakeServer server;
  server.addFault({Fault::Http500, "/api/sync/push", 0, -1});
  SyncOptions opts = Client::fastOptions();
  opts.maxAttempts = 4;
  opts.backoffBaseMs = 1000;
  Client a(server, clock, "alice", opts);
  a.submit("create-individual", "ind-1", {{"name", "A"}});
  int64_t start = clock.nowMs();
  auto out = a.syncNow();
  CHECK(out.code() == "SERVER_ERROR");
  size_t attempts = 0;
  for (const auto& r : server.requests) attempts += r.path == "/api/sync/push";
  CHECK(attempts == 4);
  // 1000 + 2000 + 4000 ms of backoff (plus small latencies) went by in virtual time.
  CHECK(clock.nowMs() - start >= 7000);
}
