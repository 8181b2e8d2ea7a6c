#pragma once
// In-process test doubles for the sync engine:
//  - FakeClock: a deterministic event loop with virtual time (timers run in (time, order) order,
//    so backoff and timeouts cost nothing and every run is reproducible);
//  - FakeServer: the endpoints of docs/protocol.md, with its extensions or the original server's
//    behaviour (timestamp cursor, 10 per page, strict >, no cursor/accepted/rejected), and
//    scripted faults;
//  - FakeTransport: one client's network link to the server (can be taken offline).
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "sync/clock.hpp"
#include "sync/transport.hpp"

namespace dc::test {

class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t startMs = 1714557600000 /* 2024-05-01T10:00:00Z */) : now_(startMs) {}
  int64_t nowMs() override { return now_; }
  void setTimeout(int64_t delayMs, std::function<void()> fn) override;
  // Runs timers in order, advancing virtual time, until none is left (or maxSteps ran).
  void runUntilIdle(size_t maxSteps = 10'000'000);
  void advance(int64_t ms) { now_ += ms; }  // moves the wall clock without running timers
  size_t pending() const { return timers_.size(); }

 private:
  int64_t now_;
  uint64_t seq_ = 0;
  std::map<std::pair<int64_t, uint64_t>, std::function<void()>> timers_;
};

enum class Fault {
  Http500,            // 500 JSON {error}, request not processed
  Http502,            // 502 HTML from a proxy, not processed
  Timeout,            // processed, the response never arrives
  Dropped,            // processed, connection reset before the response
  MalformedJson,      // 200 with a body that is not JSON, not processed
  HtmlError,          // 404 HTML page, not processed
  Unauthorized,       // 401 {error}, not processed
  StatusError200,     // 200 {status:"error", message}, not processed
  DuplicatesBlocked,  // 200 {error: "...duplicates..."} on pull, not processed
  Truncated,          // processed, 200 with the JSON body cut in half
};
const char* faultName(Fault f);
std::vector<Fault> allFaults();
bool faultIsTransient(Fault f);  // recovers by retrying inside one sync (network, 5xx)

struct ScriptedFault {
  Fault fault;
  std::string path;  // "/api/sync/push", "/api/sync/pull", ...
  int skip = 0;      // matching requests let through before the fault fires
  int times = 1;     // how many matching requests it hits (-1 = forever)
};

struct RecordedRequest {
  HttpRequest request;
  std::string path;
  std::map<std::string, std::string> query;  // decoded
  std::string rawQuery;                      // as sent
  std::string header(const std::string& name) const;
};

class FakeServer {
 public:
  explicit FakeServer(bool originalBehaviour = false) : original(originalBehaviour) {}

  const std::string baseUrl = "https://sync.example.test";
  bool original;             // the original server: timestamp cursor, 10 per page, strict >
  size_t originalPageSize = 10;
  size_t maxLimit = 1000;    // cap of `limit` (extended mode)
  size_t defaultLimit = 100;
  // Honour `maxBytes` on pull as the reference server does (docs/protocol.md, 'Response size'):
  // pages stop under it, an event over it comes as a {guid, timestamp, tooLarge} placeholder.
  // With it, `paged=1` audit pulls are paged the same way (counted in auditPages).
  bool honoursMaxBytes = false;
  size_t auditPages = 0;
  size_t maxPushEvents = SIZE_MAX;  // larger push bodies get 413 with an HTML page
  // Extended mode: returns a message to reject an event on push (reported in `rejected`).
  std::function<std::optional<std::string>(const Json& event)> rejectOnPush;

  void addUser(const std::string& email, const std::string& password, const std::string& userId);
  std::string issueToken(const std::string& userId);  // a valid bearer token
  void revokeTokens() { tokens_.clear(); }
  void addFault(ScriptedFault f) { faults_.push_back(std::move(f)); }
  void clearFaults() { faults_.clear(); }
  size_t pendingFaults() const { return faults_.size(); }

  // Puts an event straight into a tenant's log (another client's push, or a poison event).
  void seedEvent(const Json& event, const std::string& configId = "default");

  // nullopt: the response never arrives (timeout).
  std::optional<HttpResponse> handle(const HttpRequest& request);

  std::vector<RecordedRequest> requests;
  const std::vector<Json>& events(const std::string& configId = "default") { return tenants_[configId].events; }
  size_t auditCount(const std::string& configId = "default") { return tenants_[configId].audit.size(); }

 private:
  struct Tenant {
    std::vector<Json> events;  // ingestion order; seq = index + 1
    std::set<std::string> guids;
    std::vector<Json> audit;
    std::set<std::string> auditGuids;
  };
  struct User {
    std::string password, userId;
  };
  std::optional<Fault> takeFault(const std::string& path);
  HttpResponse route(const RecordedRequest& rec);
  HttpResponse login(const Json& body);
  HttpResponse push(const Json& body);
  HttpResponse pull(const RecordedRequest& rec);
  HttpResponse pushAudit(const Json& body);
  HttpResponse pullAudit(const RecordedRequest& rec);
  bool authorized(const RecordedRequest& rec) const;

  std::map<std::string, Tenant> tenants_;
  std::map<std::string, User> users_;
  std::set<std::string> tokens_;
  uint64_t tokenSeq_ = 0;
  std::deque<ScriptedFault> faults_;
};

class FakeTransport : public Transport {
 public:
  FakeTransport(FakeServer& server, FakeClock& clock) : server_(server), clock_(clock) {}
  void send(const HttpRequest& request, ResponseCallback done) override;
  bool offline = false;
  int64_t latencyMs = 5;
  // Called just before a response is delivered to the client (a test arms a fault "while the
  // client handles the answer to request N").
  std::function<void(const HttpRequest&)> beforeDeliver;

 private:
  FakeServer& server_;
  FakeClock& clock_;
};

HttpResponse jsonResponse(int status, const Json& body);
HttpResponse textResponse(int status, std::string body);

}  // namespace dc::test
