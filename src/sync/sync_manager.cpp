// InternalSyncManager: the sync algorithm of docs/protocol.md as a chain of continuations.
//
//   sync()  = refresh token if expiring -> refuse on duplicates -> push outbox -> push audit
//             -> pull pages -> pull audit -> finish
//
// Every network step goes through callWithRetry (backoff on network errors and 5xx) and
// sendOnce (one request, 401 -> auth hook -> one retry). Responses are classified into typed
// errors in one place (classify), so every failure shape (docs/protocol.md) ends up the same way.
#include "sync/sync_manager.hpp"

#include <map>

#include <algorithm>
#include <random>
#include <set>
#include <unordered_map>
#include <utility>

#include "core/timestamp.hpp"
#include "sync/http_util.hpp"

namespace dc {

namespace {

// Batch sizes (docs/protocol.md): the original's documented default, and what we use once the server has
// shown it implements the extensions (it then also pages by an opaque cursor).
constexpr size_t kOriginalBatch = 10;
constexpr size_t kExtendedBatch = 500;
constexpr size_t kMaxRecordedConflicts = 200;
// Pull pages in a row that say "more" without events or without a new cursor before giving up.
constexpr size_t kMaxPagesWithoutProgress = 3;
// The pull asks for maxResponseBytes minus this as `maxBytes` (docs/protocol.md, 'Response size').
constexpr size_t kPullByteMargin = 512;
constexpr const char* kEpoch = "1970-01-01T00:00:00.000Z";

// Sync-state keys, persisted with the store (Store::state).
// The token is the device's, not the log's: under kDeviceStatePrefix it survives clearStore(), like
// the live managers' view of it (docs/api.md, 'One login per store'). Every manager of a store reads
// it from the store, so a login through any of them is seen by all.
constexpr const char* kAuthTokenKey = kAuthTokenStateKey;
constexpr const char* kLegacyAuthTokenKey = "authToken";  // stores written before: moved on open
constexpr const char* kPullCursorKey = "pullCursor";
constexpr const char* kAuditCursorKey = "auditPullCursor";
// The reference server's audit cursor, once it has answered a paged audit pull (docs/protocol.md, 'Audit logs').
constexpr const char* kAuditServerCursorKey = "auditPullServerCursor";
// Audit pages in one sync at most: far beyond any real log, bounds a server that never ends.
constexpr size_t kMaxAuditPages = 100000;
constexpr const char* kExtensionsKey = "serverExtensions";
constexpr const char* kLastResultKey = "lastSyncResult";
constexpr const char* kConflictsKey = "conflicts";
// Audit-log length at the end of the previous successful pull: entries after it are local
// changes made since, which is what makes a pulled event a conflict (docs/convergence.md, 'Conflicts').
constexpr const char* kConflictMarkKey = "conflictAuditMark";

constexpr const char* kDuplicatesMessage = "Duplicates exist! Please resolve them before syncing.";

// The one exception boundary of the continuations (docs/protocol.md, 'Failures'): a throw in `body`
// (a store write failing: STORAGE; anything else is a bug: INTERNAL) ends the step through `fail`
// with its coded error instead of unwinding into the event loop, where nothing would settle the
// operation. `fail` runs outside the try, so a throw after it cannot report twice.
template <class Fail, class Body>
void guarded(const std::string& during, Fail&& fail, Body&& body) {
  std::optional<Error> err;
  try {
    body();
  } catch (...) {
    err = currentExceptionAsError(during);
  }
  if (err) fail(std::move(*err));
}

bool isRetryable(const Error& e) {
  return e.code() == ErrorCode::Network || (e.code() == ErrorCode::ServerError && e.httpStatus() >= 500);
}

Json emptyResult() {
  return Json{{"pushed", 0},      {"pulled", 0},         {"applied", 0},           {"rejected", 0},
              {"conflicts", 0},   {"rejectedEvents", Json::array()}, {"conflictList", Json::array()}};
}

std::string cursorText(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return v.dump();
}

}  // namespace

// One HTTP exchange as the algorithm sees it.
struct ApiCall {
  std::string method;  // "GET" | "POST"
  std::string path;    // "/api/sync/push"
  std::vector<std::pair<std::string, std::string>> query;  // values encoded when sent
  // Serialised once: the call is copied into every retry and callback, a 500-event Json body
  // would be deep-copied each time.
  std::shared_ptr<const std::string> body;
  bool authenticated = true;
  std::string secret;  // extra text that must never reach an error message (a password)
  // Endpoint-specific check of a 2xx JSON body (shape, pull's `error` field).
  std::function<std::optional<Error>(const Json&)> validate;
  // When set, receives whether the last response was over maxResponseBytes (pull lowers `limit`).
  std::shared_ptr<bool> tooLarge;
  std::string what() const { return method + " " + path; }
};

std::shared_ptr<const std::string> jsonBody(const Json& j) { return std::make_shared<const std::string>(j.dump()); }

using ReplyCallback = std::function<void(std::optional<Error>, Json body)>;
using Next = std::function<void(std::optional<Error>)>;

struct InternalSyncManager::Impl : std::enable_shared_from_this<Impl> {
  enum class Op { Sync, Push, Pull };

  struct Flight {
    Op op;
    std::vector<SyncCallback> waiters;
  };

  // What one run accumulates: the result object and the pull's view of local changes.
  struct Run {
    Op op;
    Json result = emptyResult();
    // entityGuid -> local events that touched it since the previous successful pull.
    std::unordered_map<std::string, std::vector<std::string>> localChanges;
    bool finished = false;  // finish() ran: later completions (a step ending twice) are ignored
    size_t limitOverride = 0;  // pull `limit` lowered after a page over maxResponseBytes (0 = none)
    size_t stalledPages = 0;   // consecutive pull pages with "more" but no events or no new cursor
  };
  using RunPtr = std::shared_ptr<Run>;

  EventStore& events;
  EntityStore& entities;
  EventApplierService& applier;
  std::string baseUrl;
  std::string configId;
  Transport& transport;
  Clock& clock;
  SyncOptions opts;

  SyncProgressCallback onProgress;
  AuthRequiredHook onAuthRequired;
  ConflictResolver resolver;

  bool closed = false;
  // Armed backoff waits by timer id: close() runs them at once (they then end with CLOSED), so
  // closing never waits out a backoff.
  std::map<Clock::TimerId, std::function<void()>> backoffs;
  std::optional<Flight> running;
  RunPtr current;  // the running flight's run (failRunning ends it)
  std::vector<Flight> queued;
  std::mt19937_64 rng;

  Impl(EventStore& ev, EntityStore& en, EventApplierService& ap, std::string url, std::string tok, std::string cfg,
       Transport& tr, Clock& cl, SyncOptions o)
      : events(ev), entities(en), applier(ap), baseUrl(std::move(url)), configId(std::move(cfg)), transport(tr),
        clock(cl), opts(o), rng(std::random_device{}() ^ static_cast<uint64_t>(cl.nowMs())) {
    while (!baseUrl.empty() && baseUrl.back() == '/') baseUrl.pop_back();
    // A token given to the constructor wins (for every manager of the store); otherwise a reload
    // stays logged in. A token stored under the old key moves to the device key.
    if (!tok.empty()) setToken(tok);
    else if (state(kLegacyAuthTokenKey)) setToken(token());
  }

  // EventStore::store() is non-const but reading through it is; the references are not owned.
  Store& store() const { return events.store(); }
  std::optional<Json> state(const char* key) const { return events.getSyncState(key); }

  // The store's token: the one every manager of the store uses.
  std::string token() const {
    auto t = state(kAuthTokenKey);
    if (!t) t = state(kLegacyAuthTokenKey);
    return t && t->is_string() ? t->get<std::string>() : std::string();
  }

  // One record: the token and the removal of the old key (throws STORAGE, nothing changed).
  void setToken(const std::string& t) {
    Json value = t.empty() ? Json(nullptr) : Json(t);
    bool legacy = state(kLegacyAuthTokenKey).has_value();
    if (!legacy && state(kAuthTokenKey).value_or(Json(nullptr)) == value) return;
    Transaction tx(store());
    tx.setState(kAuthTokenKey, value);
    if (legacy) tx.setState(kLegacyAuthTokenKey, nullptr);
    tx.commit();
  }

  bool extensionsSeen() const {
    auto v = state(kExtensionsKey);
    return v && v->is_boolean() && v->get<bool>();
  }
  void noteExtensions() {
    if (!extensionsSeen()) events.setSyncState(kExtensionsKey, true);
  }
  size_t pushChunkSize() const { return opts.pushChunkSize ? opts.pushChunkSize : (extensionsSeen() ? kExtendedBatch : kOriginalBatch); }
  size_t pullLimit() const { return opts.pullLimit ? opts.pullLimit : (extensionsSeen() ? kExtendedBatch : kOriginalBatch); }

  void progress(const char* phase, size_t done, std::optional<size_t> total) {
    if (!onProgress) return;
    Json p{{"phase", phase}, {"done", done}};
    if (total) p["total"] = *total;
    onProgress(p);
  }

  // ------------------------------------------------------------------ single flight ----------

  void enqueue(Op op, SyncCallback done) {
    // A call while the same operation (or a full sync, which contains both phases) runs joins it.
    if (running && (running->op == op || running->op == Op::Sync)) {
      running->waiters.push_back(std::move(done));
      return;
    }
    if (running) {
      auto same = std::find_if(queued.begin(), queued.end(), [&](const Flight& f) { return f.op == op; });
      if (same != queued.end()) same->waiters.push_back(std::move(done));
      else queued.push_back(Flight{op, {std::move(done)}});
      return;
    }
    running = Flight{op, {std::move(done)}};
    startRun(op);
  }

  void startRun(Op op) {
    auto run = std::make_shared<Run>();
    run->op = op;
    auto self = shared_from_this();
    std::vector<std::function<void(Next)>> steps;
    steps.push_back([self](Next next) { self->refreshTokenIfExpiring(std::move(next)); });
    if (op != Op::Pull) {
      steps.push_back([self](Next next) { next(self->refuseOnDuplicates()); });
      steps.push_back([self, run](Next next) { self->pushOutbox(run, std::move(next)); });
      steps.push_back([self, run](Next next) { self->pushAuditLogs(run, std::move(next)); });
    }
    if (op != Op::Push) {
      steps.push_back([self, run](Next next) { self->pullPages(run, std::move(next)); });
      steps.push_back([self, run](Next next) { self->pullAuditLogs(run, std::move(next)); });
    }
    current = run;
    runSteps(std::make_shared<decltype(steps)>(std::move(steps)), 0, run);
  }

  // Each step gets a one-shot `next`; a step that throws while starting ends the run with its
  // coded error (the continuations' boundary, see guarded()).
  void runSteps(std::shared_ptr<std::vector<std::function<void(Next)>>> steps, size_t i, RunPtr run) {
    if (run->finished) return;
    if (closed) return finish(run, Error(ErrorCode::Closed, "The sync manager was closed during a sync."));
    if (i == steps->size()) return finish(run, std::nullopt);
    auto self = shared_from_this();
    auto called = std::make_shared<bool>(false);
    Next next = [self, steps, i, run, called](std::optional<Error> err) {
      if (*called) return;
      *called = true;
      if (err) return self->finish(run, std::move(err));
      self->runSteps(steps, i + 1, run);
    };
    guarded("running a sync step", next, [&] { (*steps)[i](next); });
  }

  // Ends the running operation now with `err` (the last-resort boundary of the platform's event
  // loop: src/wasm/platform.hpp, runContinuation). No-op when nothing runs.
  void failRunning(const Error& err) {
    if (running && current && !current->finished) finish(current, err);
  }

  void finish(RunPtr run, std::optional<Error> err) {
    if (run->finished) return;
    run->finished = true;
    auto completed = std::make_shared<bool>(false);
    auto complete = [self = shared_from_this(), run, completed](std::optional<Error> e) {
      if (*completed || !self->running) return;
      *completed = true;
      Flight flight = std::move(*self->running);
      self->running.reset();
      if (self->current == run) self->current.reset();
      for (auto& waiter : flight.waiters) waiter(e, run->result);
      if (!self->running && !self->queued.empty()) {
        Flight next = std::move(self->queued.front());
        self->queued.erase(self->queued.begin());
        self->running = std::move(next);
        self->startRun(self->running->op);
      }
    };
    if (closed) return complete(err);
    guarded("recording the sync result", [&](Error e) { if (!err) err = std::move(e); }, [&] {
      if (!err) confirmEntitiesIfAllSynced();
      events.setSyncState(kLastResultKey, run->result);
    });
    // Report only once what this run changed is durable.
    guarded("flushing the store", [&](Error e) { complete(err ? err : std::optional<Error>(std::move(e))); }, [&] {
      events.flush([complete, err](std::optional<Error> flushError) { complete(err ? err : flushError); });
    });
  }

  // `initial` is the state the server has confirmed (docs/convergence.md): true for everything once nothing
  // local is left to push.
  void confirmEntitiesIfAllSynced() {
    if (outboxGuids().empty()) entities.markAllEntitiesAsSynced();
  }

  // ------------------------------------------------------------------ auth -------------------

  void refreshTokenIfExpiring(Next next) {
    auto exp = http::jwtExpiryMs(token());
    if (!exp || *exp - clock.nowMs() > opts.tokenRefreshMarginMs || !onAuthRequired) return next(std::nullopt);
    // Whatever the hook answers, go on: a token the server refuses comes back as a 401. A device
    // failure (the new token could not be stored) or a bug ends the sync.
    askForAuth("token-expiring", [next](std::optional<Error> e) {
      bool fatal = e && (e->code() == ErrorCode::Storage || e->code() == ErrorCode::Internal);
      next(fatal ? e : std::nullopt);
    });
  }

  // Calls the hook and acts on its answer: a token, credentials to log in with, or nothing.
  void askForAuth(const std::string& reason, Next done) {
    if (!onAuthRequired) return done(Error(ErrorCode::Unauthorized, "Not authorized by the sync server; log in again."));
    auto self = shared_from_this();
    auto answered = std::make_shared<bool>(false);
    auto respond = [self, answered, done](const Json& answer) {
      if (*answered || self->closed) return;  // a hook answering twice is ignored
      *answered = true;
      if (answer.is_string() && !answer.get<std::string>().empty()) {
        std::optional<Error> stored;
        guarded("storing the token from the auth hook", [&](Error e) { stored = std::move(e); },
                [&] { self->setToken(answer.get<std::string>()); });
        return done(std::move(stored));
      }
      if (answer.is_object() && answer.contains("email") && answer.contains("password") &&
          answer["email"].is_string() && answer["password"].is_string()) {
        return self->loginRequest(answer["email"].get<std::string>(), answer["password"].get<std::string>(),
                                  [done](std::optional<Error> e, Json) { done(std::move(e)); });
      }
      done(Error(ErrorCode::Unauthorized, "Not authorized by the sync server; log in again."));
    };
    // A hook that throws (a bug in the app's code) ends the wait instead of leaving it forever.
    guarded("calling the auth-required hook", [&](Error e) {
      if (*answered) return;
      *answered = true;
      done(std::move(e));
    }, [&] { onAuthRequired(reason, respond); });
  }

  void loginRequest(const std::string& email, const std::string& password, SyncCallback done) {
    ApiCall call{"POST", "/api/users/login", {}, jsonBody({{"email", email}, {"password", password}}), false, password, {}};
    call.validate = [](const Json& body) -> std::optional<Error> {
      if (body.is_object() && body.contains("token") && body["token"].is_string()) return std::nullopt;
      return Error(ErrorCode::BadResponse, "The sync server's login response has no token.", 200);
    };
    auto self = shared_from_this();
    auto called = std::make_shared<bool>(false);
    SyncCallback once = [done, called](std::optional<Error> e, Json r) {
      if (*called) return;
      *called = true;
      done(std::move(e), std::move(r));
    };
    callWithRetry(call, [self, once](std::optional<Error> err, Json body) {
      if (err) return once(std::move(err), Json::object());
      Json result = Json::object();
      bool stored = false;
      guarded("storing the token after login", [&](Error e) { once(std::move(e), Json::object()); }, [&] {
        self->setToken(body["token"].get<std::string>());
        if (body.contains("userId")) result["userId"] = body["userId"];
        stored = true;
      });
      if (!stored) return;
      // Report only once the token is durable (a flush failure is the login's STORAGE error).
      guarded("flushing the token", [&](Error e) { once(std::move(e), Json::object()); }, [&] {
        self->events.flush([once, result](std::optional<Error> e) { once(e, e ? Json::object() : result); });
      });
    });
  }

  // ------------------------------------------------------------------ HTTP -------------------

  HttpRequest buildRequest(const ApiCall& call) const {
    HttpRequest req;
    req.method = call.method;
    req.url = baseUrl + call.path;
    for (size_t i = 0; i < call.query.size(); ++i) {
      req.url += (i == 0 ? "?" : "&") + call.query[i].first + "=" + http::urlEncode(call.query[i].second);
    }
    req.headers.emplace_back("Content-Type", "application/json");
    if (std::string t = token(); call.authenticated && !t.empty()) req.headers.emplace_back("Authorization", "Bearer " + t);
    if (call.body) req.body = *call.body;
    req.timeoutMs = opts.requestTimeoutMs;
    req.maxResponseBytes = opts.maxResponseBytes;
    return req;
  }

  // Turns any response into either a JSON body or a typed error carrying status and message.
  std::optional<Error> classify(const ApiCall& call, const HttpResponse& resp, Json& body) const {
    const std::string current = token();
    auto clean = [&](std::string text) { return http::redact(http::redact(std::move(text), current), call.secret); };
    const std::string what = call.what();
    // docs/protocol.md, 'Transport': redirects are never followed, bodies are bounded.
    if (resp.redirected) {
      std::string where = resp.location.empty() ? "without a Location" : "to " + resp.location.substr(0, 200);
      std::string status = resp.status ? std::to_string(resp.status) + " " : "";
      return Error(ErrorCode::ServerError,
                   clean("Sync server answered " + status + "to " + what + " with a redirect (" + where +
                         "), which is not followed: set syncServerUrl to the server's final address."),
                   resp.status);
    }
    if (resp.tooLarge) {
      bool answered = resp.status >= 200 && resp.status < 300;
      return Error(answered ? ErrorCode::BadResponse : ErrorCode::ServerError,
                   "Sync server's response (status " + std::to_string(resp.status) + ") to " + what +
                       " is larger than maxResponseBytes (" + std::to_string(opts.maxResponseBytes) +
                       " bytes); it was not received.",
                   resp.status);
    }
    if (resp.outOfMemory) {
      return Error(ErrorCode::BadResponse, "The response to " + what +
                                               " could not be held in memory; lower maxResponseBytes (now " +
                                               std::to_string(opts.maxResponseBytes) + " bytes).");
    }
    if (resp.status == 0) {
      if (resp.timedOut) return Error(ErrorCode::Network, "Request to the sync server timed out (" + what + ").");
      std::string why = resp.networkError.empty() ? "no response" : resp.networkError;
      return Error(ErrorCode::Network, clean("Could not reach the sync server (" + what + "): " + why));
    }
    if (resp.status < 200 || resp.status >= 300) {
      ErrorCode code = resp.status == 401 ? ErrorCode::Unauthorized : ErrorCode::ServerError;
      return Error(code,
                   clean("Sync server answered " + std::to_string(resp.status) + " to " + what + ": " +
                         http::serverMessage(resp.body)),
                   resp.status);
    }
    try {
      body = parseJson(resp.body, "response");
    } catch (const std::exception& e) {
      return Error(ErrorCode::BadResponse,
                   "Sync server sent a response to " + what + " that is not valid JSON (status " +
                       std::to_string(resp.status) + "; " + std::to_string(resp.body.size()) + " bytes).",
                   resp.status);
    }
    // Some servers report failures with a 2xx status: {status: "error", message} or {error}
    // (the endpoint's own check comes first: on pull, {error} means server-side duplicates).
    auto reportedError = [&] {
      return Error(ErrorCode::ServerError,
                   clean("Sync server reported an error for " + what + " (status " + std::to_string(resp.status) +
                         "): " + http::serverMessage(resp.body)),
                   resp.status);
    };
    if (body.is_object() && body.value("status", Json()) == "error") return reportedError();
    if (call.validate) {
      if (auto err = call.validate(body)) return Error(err->code(), clean(err->what()), resp.status);
    }
    if (body.is_object() && body.contains("error") && !body["error"].is_null()) return reportedError();
    return std::nullopt;
  }

  // One request; a 401 asks the auth hook once and repeats the request with the new token.
  void sendOnce(const ApiCall& call, bool authRetried, ReplyCallback done) {
    if (closed) return done(Error(ErrorCode::Closed, "The sync manager was closed during a sync."), Json());
    auto self = shared_from_this();
    auto settled = std::make_shared<bool>(false);
    auto inSend = std::make_shared<bool>(true);
    auto guard = std::make_shared<Clock::TimerId>(0);
    auto onResponse = [self, call, authRetried, done, settled, inSend, guard](HttpResponse resp) {
      if (*settled) return;  // the timeout guard or the transport already answered
      *settled = true;
      // An armed timer keeps a Node process alive after close() (docs/protocol.md, 'Transport').
      if (*guard) self->clock.clearTimer(*guard);
      if (*inSend) {  // a synchronous transport: continue on the next turn so loops never recurse
        return self->clock.setTimeout(0, [self, call, authRetried, done, resp] { self->onReply(call, authRetried, done, resp); });
      }
      self->onReply(call, authRetried, done, resp);
    };
    // Guard: a transport that never answers still ends in a timeout.
    *guard = clock.setTimer(opts.requestTimeoutMs, [onResponse] {
      HttpResponse timeout;
      timeout.timedOut = true;
      timeout.networkError = "timeout";
      onResponse(timeout);
    });
    transport.send(buildRequest(call), onResponse);
    *inSend = false;
  }

  void onReply(const ApiCall& call, bool authRetried, ReplyCallback done, const HttpResponse& resp) {
    if (closed) return done(Error(ErrorCode::Closed, "The sync manager was closed during a sync."), Json());
    if (call.tooLarge) *call.tooLarge = resp.tooLarge;
    Json body;
    std::optional<Error> err;
    guarded("reading the response to " + call.what(), [&](Error e) { err = std::move(e); },
            [&] { err = classify(call, resp, body); });
    if (err && resp.status == 401 && call.authenticated && !authRetried) {
      auto self = shared_from_this();
      return askForAuth("unauthorized", [self, call, done, err](std::optional<Error> authErr) {
        if (authErr) return done(Error(ErrorCode::Unauthorized, err->what(), 401), Json());
        self->sendOnce(call, /*authRetried=*/true, done);
      });
    }
    done(std::move(err), std::move(body));
  }

  // Retries network errors and 5xx with exponential backoff; everything else is final.
  // A throw while sending (building the request, the transport) ends the call with its error.
  void callWithRetry(const ApiCall& call, ReplyCallback done, int attempt = 1) {
    auto self = shared_from_this();
    auto sent = std::make_shared<bool>(false);
    ReplyCallback once = [done, sent](std::optional<Error> e, Json b) {
      if (*sent) return;
      *sent = true;
      done(std::move(e), std::move(b));
    };
    guarded("sending " + call.what(), [&](Error e) { once(std::move(e), Json()); },
            [&] { callWithRetryUnguarded(call, once, attempt); });
  }

  void callWithRetryUnguarded(const ApiCall& call, ReplyCallback done, int attempt) {
    auto self = shared_from_this();
    sendOnce(call, false, [self, call, done, attempt](std::optional<Error> err, Json body) {
      if (!err || !isRetryable(*err) || attempt >= self->opts.maxAttempts || self->closed) return done(std::move(err), std::move(body));
      int64_t delay = self->opts.backoffBaseMs << std::min(attempt - 1, 20);
      std::function<void()> retry = [self, call, done, attempt] { self->callWithRetry(call, done, attempt + 1); };
      auto id = std::make_shared<Clock::TimerId>(0);
      *id = self->clock.setTimer(delay, [self, id, retry] {
        self->backoffs.erase(*id);
        retry();
      });
      if (*id) self->backoffs[*id] = retry;
    });
  }

  // ------------------------------------------------------------------ duplicates -------------

  std::optional<Error> refuseOnDuplicates() const {
    if (store().potentialDuplicates().empty()) return std::nullopt;
    return Error(ErrorCode::DuplicatesExist, kDuplicatesMessage);
  }

  // ------------------------------------------------------------------ push -------------------

  // The outbox: LOCAL events in application order, minus those the server has rejected
  // (kept and reported, never re-sent forever).
  std::vector<std::string> outboxGuids() const {
    const auto& rejected = store().rejectedEvents();
    std::vector<std::string> guids;
    for (size_t i : store().outbox()) {
      const Event& e = store().events()[i];
      if (!rejected.count(e.guid)) guids.push_back(e.guid);
    }
    return guids;
  }

  struct PushState {
    std::vector<std::string> outbox;  // snapshot: events created meanwhile go next time
    size_t pos = 0;
    size_t chunk = 0;
    bool autoChunk = false;  // grows to the large batch as soon as the server shows the extensions
  };

  void pushOutbox(RunPtr run, Next next) {
    auto st = std::make_shared<PushState>();
    st->outbox = outboxGuids();
    st->chunk = pushChunkSize();
    st->autoChunk = opts.pushChunkSize == 0;
    pushNextChunk(run, st, std::move(next));
  }

  void pushNextChunk(RunPtr run, std::shared_ptr<PushState> st, Next next) {
    if (st->pos >= st->outbox.size()) return next(std::nullopt);
    std::vector<std::string> guids(st->outbox.begin() + st->pos,
                                   st->outbox.begin() + std::min(st->outbox.size(), st->pos + st->chunk));
    // The body is written straight from the stored events (no Json copy of a 500-event batch).
    auto text = std::make_shared<std::string>("{\"configId\":" + Json(configId).dump() + ",\"events\":[");
    std::vector<std::string> sent;
    for (const auto& g : guids) {
      const Event* e = store().findEvent(g);
      if (!e) continue;
      if (!sent.empty()) *text += ',';
      e->appendJson(*text);
      sent.push_back(g);
    }
    *text += "]}";
    ApiCall call{"POST", "/api/sync/push", {}, std::move(text), true, "", validateAck};
    auto self = shared_from_this();
    callWithRetry(call, [self, run, st, next, guids, sent](std::optional<Error> err, Json body) {
      guarded("recording the push", next, [&] {
        if (err && err->httpStatus() == 413 && guids.size() > 1) {  // too large: halve and retry
          st->chunk = guids.size() / 2;
          st->autoChunk = false;
          return self->pushNextChunk(run, st, next);
        }
        if (err) return next(std::move(err));
        self->recordPushReply(run, sent, body);
        st->pos += guids.size();
        if (st->autoChunk) st->chunk = self->pushChunkSize();
        self->progress("push", st->pos, st->outbox.size());
        self->pushNextChunk(run, st, next);
      });
    });
  }

  // An acknowledgement must be a sync server's JSON answer (docs/protocol.md, 'Acknowledgements'):
  // {status: "success"} (the original) and/or `accepted`/`rejected` lists (the extension). A captive
  // portal's page, `{}` or another API's JSON never marks events as synced.
  static std::optional<Error> validateAck(const Json& body) {
    auto bad = [](const std::string& why) {
      return Error(ErrorCode::BadResponse, "The sync server's acknowledgement " + why + "; nothing is marked as synced.");
    };
    if (!body.is_object()) return bad("is not a JSON object");
    if (body.contains("error") && !body["error"].is_null()) return std::nullopt;  // classify reports it
    bool success = body.value("status", Json()) == "success";
    bool detailed = body.contains("accepted") || body.contains("rejected");
    if (!success && !detailed) return bad("has neither status \"success\" nor accepted/rejected lists");
    for (const char* key : {"accepted", "rejected"}) {
      if (body.contains(key) && !body[key].is_array()) return bad(std::string("has a `") + key + "` that is not a list");
    }
    return std::nullopt;
  }

  // Marks what the server accepted as REMOTE and records what it rejected. Without the
  // `accepted`/`rejected` fields, a success accepts the whole chunk.
  void recordPushReply(RunPtr run, const std::vector<std::string>& sentGuids, const Json& body) {
    bool detailed = body.is_object() && (body.contains("accepted") || body.contains("rejected"));
    if (detailed) noteExtensions();
    std::set<std::string> sent(sentGuids.begin(), sentGuids.end());

    std::vector<std::string> accepted;
    if (detailed && body.contains("accepted") && body["accepted"].is_array()) {
      for (const auto& g : body["accepted"]) {
        if (g.is_string() && sent.count(g.get<std::string>())) accepted.push_back(g.get<std::string>());
      }
    } else if (!detailed || !body.contains("accepted")) {
      accepted.assign(sent.begin(), sent.end());
    }

    std::vector<RejectedEvent> rejected;
    if (detailed && body.contains("rejected") && body["rejected"].is_array()) {
      for (const auto& r : body["rejected"]) {
        if (!r.is_object() || !r.contains("guid") || !r["guid"].is_string()) continue;
        std::string guid = r["guid"].get<std::string>();
        if (!sent.count(guid)) continue;
        accepted.erase(std::remove(accepted.begin(), accepted.end(), guid), accepted.end());
        const Event* ev = store().findEvent(guid);
        if (!ev) continue;
        rejected.push_back(RejectedEvent{ev->toJson(), r.value("code", std::string("REJECTED")),
                                         r.value("message", std::string("Rejected by the sync server")), "push"});
      }
    }
    if (!rejected.empty()) {
      Transaction tx(store());
      for (const auto& r : rejected) tx.addRejected(r.event["guid"].get<std::string>(), r);
      tx.commit();
      for (const auto& r : rejected) addRejectedToResult(run, r);
    }
    if (!accepted.empty()) store().markEventsSynced(accepted, REMOTE);
    run->result["pushed"] = run->result["pushed"].get<size_t>() + accepted.size();
  }

  void addRejectedToResult(RunPtr run, const RejectedEvent& r) {
    run->result["rejected"] = run->result["rejected"].get<size_t>() + 1;
    run->result["rejectedEvents"].push_back(r.toJson());
  }

  // ------------------------------------------------------------------ audit logs -------------

  void pushAuditLogs(RunPtr run, Next next) {
    size_t from = store().auditPushedCount();
    size_t total = store().auditLog().size();
    if (from >= total) return next(std::nullopt);
    size_t to = std::min(total, from + pushChunkSize());
    auto text = std::make_shared<std::string>("{\"auditLogs\":[");
    for (size_t i = from; i < to; ++i) {
      if (i > from) *text += ',';
      store().auditLog()[i].appendJson(*text);
    }
    *text += "],\"configId\":" + Json(configId).dump() + "}";
    ApiCall call{"POST", "/api/sync/push/audit-logs", {}, std::move(text), true, "", validateAck};
    auto self = shared_from_this();
    callWithRetry(call, [self, run, next, to, total](std::optional<Error> err, Json) {
      guarded("recording the audit-log push", next, [&] {
        if (err) return self->auditFailed(run, std::move(*err), next);
        self->store().setAuditPushedCount(to);
        self->progress("audit", to, total);
        self->pushAuditLogs(run, next);
      });
    });
  }

  // docs/protocol.md, 'Audit logs': a server failing the audit-log step does not undo a sync whose
  // events went through. The result reports it as `auditError` (nothing is marked as sent, so the
  // next sync retries); the device's own failures (STORAGE, INTERNAL) and CLOSED still end the run.
  void auditFailed(RunPtr run, Error err, Next next) {
    ErrorCode c = err.code();
    if (c == ErrorCode::Storage || c == ErrorCode::Internal || c == ErrorCode::Closed) return next(std::move(err));
    Json info{{"code", err.codeName()}, {"message", err.what()}};
    if (err.httpStatus()) info["status"] = err.httpStatus();
    if (!run->result.contains("auditError")) run->result["auditError"] = info;
    next(std::nullopt);
  }

  void pullAuditLogs(RunPtr run, Next next) { pullAuditPage(run, std::move(next), 0, 0); }

  // docs/protocol.md, 'Audit logs': asks for a page (`limit`, `maxBytes`, `paged=1`). The
  // reference server answers {auditLogs, cursor, nextCursor} and is followed page by page with its
  // cursor; the original server ignores all three and answers everything in one plain array.
  void pullAuditPage(RunPtr run, Next next, size_t pages, size_t done) {
    auto serverCursor = state(kAuditServerCursorKey);
    auto since = state(kAuditCursorKey);
    // Never an empty `since`: the original server compares it as a timestamp and answers 500
    // (docs/protocol.md, 'The original server'); the epoch means "everything".
    std::string from = serverCursor ? cursorText(*serverCursor) : since ? cursorText(*since) : "";
    if (from.empty()) from = kEpoch;
    ApiCall call{"GET",
                 "/api/sync/pull/audit-logs",
                 {{"since", from}, {"configId", configId}, {"limit", std::to_string(pullLimit())},
                  {"maxBytes", std::to_string(pullByteBudget())}, {"paged", "1"}},
                 nullptr,
                 true,
                 "",
                 {}};
    call.validate = [](const Json& body) -> std::optional<Error> {
      if (body.is_array()) return std::nullopt;
      if (body.is_object() && body.contains("auditLogs") && body["auditLogs"].is_array()) return std::nullopt;
      return Error(ErrorCode::BadResponse, "The sync server's audit-log response is not a list.");
    };
    auto self = shared_from_this();
    callWithRetry(call, [self, run, next, from, pages, done](std::optional<Error> err, Json body) {
      guarded("saving pulled audit logs", next, [&] {
        if (err) return self->auditFailed(run, std::move(*err), next);
        if (body.is_array()) {  // one plain array: everything (the original server)
          self->saveAuditPage(body);
          self->progress("audit", body.size(), std::nullopt);
          return next(std::nullopt);
        }
        Json& entries = body["auditLogs"];
        Json kept = Json::array();
        for (auto& e : entries) {
          // An entry over the budget comes as a placeholder: not an entry, not stored.
          if (e.is_object() && e.contains("tooLarge") && e["tooLarge"].is_number()) continue;
          kept.push_back(std::move(e));
        }
        self->saveAuditPage(kept);
        bool hasCursor = body.contains("cursor") && !body["cursor"].is_null();
        std::string cursor = hasCursor ? cursorText(body["cursor"]) : from;
        if (hasCursor) self->events.setSyncState(kAuditServerCursorKey, cursor);
        self->progress("audit", done + kept.size(), std::nullopt);
        bool more = body.contains("nextCursor") && !body["nextCursor"].is_null();
        if (!more) return next(std::nullopt);
        if (!hasCursor || cursor == from || pages + 1 >= kMaxAuditPages) {
          return self->auditFailed(run, Error(ErrorCode::ServerError, "The sync server's audit-log pages do not move on (cursor \"" + cursor + "\"); audit pull stopped."), next);
        }
        self->pullAuditPage(run, next, pages + 1, done + kept.size());
      });
    });
  }

  void saveAuditPage(Json& body) {  // entries are moved out of `body`
    std::vector<AuditEntry> entries;
    std::string newest;
    for (auto& j : body) {
      // The original server rewrites userId to the pushing account's numeric id.
      if (j.is_object() && j.contains("userId") && j["userId"].is_number()) j["userId"] = j["userId"].dump();
      try {
        entries.push_back(AuditEntry::fromJson(std::move(j)));
        newest = std::max(newest, entries.back().timestamp);
      } catch (const std::exception&) {
        // A malformed audit entry is the server's problem; it must not block sync.
      }
    }
    if (entries.empty()) return;
    // Entries that came from the server need no push back: skip them when nothing local waits.
    size_t before = store().auditLog().size();
    bool nothingPending = store().auditPushedCount() == before;
    auto mark = state(kConflictMarkKey);
    events.saveAuditLogs(entries);
    if (nothingPending) store().setAuditPushedCount(store().auditLog().size());
    // Server entries are not local changes: keep them out of the next conflict window.
    if (mark && mark->is_number_unsigned() && mark->get<size_t>() == before) {
      events.setSyncState(kConflictMarkKey, store().auditLog().size());
    }
    events.setSyncState(kAuditCursorKey, newest);
  }

  // ------------------------------------------------------------------ pull -------------------

  void pullPages(RunPtr run, Next next) {
    run->localChanges = localChangesSinceLastPull();
    pullNextPage(run, std::move(next));
  }

  void pullNextPage(RunPtr run, Next next) {
    auto stored = state(kPullCursorKey);
    std::string since = stored ? cursorText(*stored) : "";
    ApiCall call{"GET",
                 "/api/sync/pull",
                 {{"since", since}, {"configId", configId},
                  {"limit", std::to_string(run->limitOverride ? run->limitOverride : pullLimit())},
                  {"maxBytes", std::to_string(pullByteBudget())}},
                 nullptr,
                 true,
                 "",
                 validatePullPage};
    auto self = shared_from_this();
    call.tooLarge = std::make_shared<bool>(false);
    callWithRetry(call, [self, run, next, since, tooLarge = call.tooLarge](std::optional<Error> err, Json body) {
      guarded("applying pulled events", next, [&] { self->onPullPage(run, next, since, *tooLarge, std::move(err), body); });
    });
  }

  void onPullPage(RunPtr run, Next next, const std::string& since, bool tooLarge, std::optional<Error> err, Json& body) {
    auto self = shared_from_this();
    {
      if (err && tooLarge) return pageTooLarge(run, next, since, std::move(*err));
      if (err) return next(std::move(err));
      // `remaining` (our server's extension, see docs/protocol.md): events after this page; with
      // it the progress has a total. Older servers omit it.
      std::optional<size_t> remaining;
      if (auto it = body.find("remaining"); it != body.end() && it->is_number_unsigned()) remaining = it->get<size_t>();
      bool more = self->applyPage(run, since, body);  // moves the events out of `body`
      if (run->stalledPages > kMaxPagesWithoutProgress) {
        return next(Error(ErrorCode::ServerError,
                          "The sync server keeps answering pulls with more pages but no new events (" +
                              std::to_string(run->stalledPages) + " pages in a row); pull stopped."));
      }
      size_t pulled = run->result["pulled"].get<size_t>();
      self->progress("pull", pulled, remaining ? std::optional<size_t>(pulled + *remaining) : std::nullopt);
      if (more) return self->pullNextPage(run, next);
      self->events.setSyncState(kConflictMarkKey, self->store().auditLog().size());
      next(std::nullopt);
    }
  }

  // docs/protocol.md, 'Response size': the `maxBytes` a pull asks for. A margin below
  // maxResponseBytes covers a server that counts its envelope a little differently.
  size_t pullByteBudget() const {
    size_t margin = std::min<size_t>(kPullByteMargin, opts.maxResponseBytes / 2);
    return std::max<size_t>(1, opts.maxResponseBytes - margin);
  }

  // A server that honours `maxBytes` sends {guid, timestamp, tooLarge: <bytes>} for an event over
  // it (docs/protocol.md, 'Response size'). Never an event: events carry `data`, not `tooLarge`.
  static bool isTooLargePlaceholder(const Json& ev) {
    return ev.is_object() && ev.contains("tooLarge") && ev["tooLarge"].is_number() && !ev.contains("data");
  }

  // Records the placeholders of a page as rejected before the page (and its cursor) is applied:
  // a crash in between re-receives them, and the record is keyed by guid.
  void rejectTooLarge(RunPtr run, const Json& page) {
    std::vector<RejectedEvent> found;
    for (const auto& ev : page) {
      if (!isTooLargePlaceholder(ev)) continue;
      std::string guid = ev.contains("guid") && ev["guid"].is_string() ? ev["guid"].get<std::string>() : "";
      if (guid.empty() || events.isEventExisted(guid)) continue;
      std::string size = ev["tooLarge"].dump();
      std::string message = "Pulled event \"" + guid + "\" is " + size + " bytes, over the pull budget (maxBytes " +
                            std::to_string(pullByteBudget()) + " from maxResponseBytes " + std::to_string(opts.maxResponseBytes) +
                            "); the server sent a placeholder and the pull went on past it. It is not in this store: "
                            "raise maxResponseBytes and pull into a fresh store to receive it.";
      found.push_back(RejectedEvent{ev, "TOO_LARGE", message, "pull"});
    }
    if (found.empty()) return;
    Transaction tx(store());
    for (const auto& r : found) tx.addRejected(r.event["guid"].get<std::string>(), r);
    tx.commit();
    for (const auto& r : found) addRejectedToResult(run, r);
  }

  // docs/protocol.md, 'Response size': a page over maxResponseBytes is asked again with half the
  // `limit`, down to one event; one event over the limit is an error that names where it is
  // (the transport did not receive it, so its guid is unknown) and is recorded in rejectedEvents.
  void pageTooLarge(RunPtr run, Next next, const std::string& since, Error err) {
    size_t limit = run->limitOverride ? run->limitOverride : pullLimit();
    if (limit > 1) {
      run->limitOverride = limit / 2;
      return pullNextPage(run, next);
    }
    std::string key = "pull-after:" + since;
    std::string message = "The event after pull cursor \"" + since + "\" is larger than maxResponseBytes (" +
                          std::to_string(opts.maxResponseBytes) + " bytes) and was not received; raise maxResponseBytes to pull it.";
    RejectedEvent r{Json{{"guid", key}, {"cursor", since}}, "TOO_LARGE", message, "pull"};
    if (!store().rejectedEvents().count(key)) {
      Transaction tx(store());
      tx.addRejected(key, r);
      tx.commit();
    }
    addRejectedToResult(run, r);
    next(Error(ErrorCode::BadResponse, message, err.httpStatus()));
  }

  static std::optional<Error> validatePullPage(const Json& body) {
    if (body.is_object() && body.contains("error")) {
      // The original server refuses to serve pulls while it holds unresolved duplicates.
      return Error(ErrorCode::DuplicatesExist, "The sync server refused the pull: " + http::serverMessage(body.dump()));
    }
    if (!body.is_object() || !body.contains("events") || !body["events"].is_array()) {
      return Error(ErrorCode::BadResponse, "The sync server's pull response has no event list.");
    }
    return std::nullopt;
  }

  // Applies one page with its cursor in the same transaction; returns whether to ask for more.
  bool applyPage(RunPtr run, const std::string& since, Json& body) {
    Json& page = body["events"];
    bool hasServerCursor = body.contains("cursor") && !body["cursor"].is_null();
    bool hasNext = body.contains("nextCursor") && !body["nextCursor"].is_null();
    // docs/protocol.md, 'Cursor': the server's opaque cursor beats the original's timestamp cursor.
    std::string cursor = since;
    if (hasServerCursor) cursor = cursorText(body["cursor"]);
    else if (hasNext) cursor = cursorText(body["nextCursor"]);
    else if (!page.empty() && page.back().is_object() && page.back().contains("timestamp")) cursor = cursorText(page.back()["timestamp"]);
    if (!hasServerCursor && hasNext) cursor = recoverTies(run, page, cursor);
    // A server that answers "there is more" without moving on or without events (docs/protocol.md,
    // 'Pull'): tolerated a few pages, then an error (onPullPage), never an endless loop.
    if (hasNext && (page.empty() || cursor == since)) ++run->stalledPages;
    else run->stalledPages = 0;

    std::vector<Json> fresh;
    size_t pageSize = page.size();
    rejectTooLarge(run, page);
    for (auto& e : page) {
      if (isTooLargePlaceholder(e)) continue;
      Json ev = std::move(e);
      if (ev.is_object()) {
        if (ev.contains("guid") && ev["guid"].is_string() && events.isEventExisted(ev["guid"].get<std::string>())) continue;
        if (!ev.contains("syncLevel") || !ev["syncLevel"].is_number() || ev["syncLevel"].get<int>() < REMOTE) ev["syncLevel"] = REMOTE;
      }
      fresh.push_back(std::move(ev));
    }
    Json patch{{kPullCursorKey, cursor}};
    if (hasServerCursor && !extensionsSeen()) patch[kExtensionsKey] = true;

    std::vector<ApplyOutcome> outcomes;
    if (fresh.empty()) {
      for (auto& [key, value] : patch.items()) events.setSyncState(key, value);
    } else {
      outcomes = applier.applyRemoteEvents(fresh, patch);
      for (const auto& outcome : outcomes) tally(run, outcome, fresh);
    }
    auto conflicts = detectConflicts(run, fresh, outcomes);
    run->result["pulled"] = run->result["pulled"].get<size_t>() + pageSize;
    recordConflicts(run, conflicts);
    return hasNext;
  }

  // docs/protocol.md, 'The original server': its next page asks `timestamp > cursor`, so events
  // sharing the last timestamp T of a full page but not on it would be skipped. Ask again from
  // just before T instead (what is stored already is skipped on arrival). When the whole page has
  // timestamp T nothing can be gained: go on after T and report `possiblySkipped`.
  static std::string recoverTies(RunPtr run, const Json& page, const std::string& cursor) {
    if (page.empty() || !page.front().is_object() || !page.back().is_object()) return cursor;
    std::string last = page.back().value("timestamp", Json("")).is_string() ? page.back().value("timestamp", "") : "";
    if (last.empty() || cursor != last) return cursor;  // not a timestamp cursor
    auto ms = parseTimestamp(last);
    if (!ms) return cursor;
    std::string first = page.front().value("timestamp", Json("")).is_string() ? page.front().value("timestamp", "") : "";
    auto firstMs = parseTimestamp(first);
    if (firstMs && *firstMs == *ms) {
      run->result["possiblySkipped"] = true;
      return cursor;
    }
    return formatTimestamp(*ms - 1);
  }

  void tally(RunPtr run, const ApplyOutcome& outcome, const std::vector<Json>& fresh) {
    if (outcome.applied) run->result["applied"] = run->result["applied"].get<size_t>() + 1;
    if (!outcome.error) return;
    auto ev = std::find_if(fresh.begin(), fresh.end(), [&](const Json& e) { return e.is_object() && e.value("guid", "") == outcome.eventGuid; });
    addRejectedToResult(run, RejectedEvent{ev == fresh.end() ? Json(nullptr) : *ev, outcome.error->codeName(),
                                           outcome.error->what(), "pull"});
  }

  // ------------------------------------------------------------------ conflicts --------------

  // The entities a pulled event touched, as the applier reports them (members and cascades
  // included); its own entity when it did not apply.
  static std::vector<std::string> entitiesTouchedBy(const Json& ev, const ApplyOutcome* outcome) {
    std::vector<std::string> out;
    if (ev.is_object() && ev.contains("entityGuid") && ev["entityGuid"].is_string()) out.push_back(ev["entityGuid"].get<std::string>());
    if (outcome) {
      for (const auto& g : outcome->touchedEntities)
        if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
    }
    return out;
  }

  static std::set<std::string> fieldsOf(const Json& ev) {
    std::set<std::string> fields;
    if (!ev.is_object() || !ev.contains("data") || !ev["data"].is_object()) return fields;
    for (auto& [key, value] : ev["data"].items()) {
      if (key != "members") fields.insert(key);
    }
    return fields;
  }

  // Entities changed here since the previous successful pull, read from the audit log
  // (eventGuid -> entityGuid), so it also covers members and cascades.
  std::unordered_map<std::string, std::vector<std::string>> localChangesSinceLastPull() const {
    std::unordered_map<std::string, std::vector<std::string>> changes;
    auto mark = state(kConflictMarkKey);
    const auto& log = store().auditLog();
    size_t from = mark && mark->is_number_unsigned() ? mark->get<size_t>() : 0;  // never pulled: all of it
    for (size_t i = std::min(from, log.size()); i < log.size(); ++i) {
      auto& list = changes[log[i].entityGuid];
      if (std::find(list.begin(), list.end(), log[i].eventGuid) == list.end()) list.push_back(log[i].eventGuid);
    }
    return changes;
  }

  std::vector<Json> detectConflicts(RunPtr run, const std::vector<Json>& fresh, const std::vector<ApplyOutcome>& outcomes) const {
    std::vector<Json> conflicts;
    for (size_t i = 0; i < fresh.size(); ++i) {
      const Json& remote = fresh[i];
      for (const auto& entityGuid : entitiesTouchedBy(remote, i < outcomes.size() ? &outcomes[i] : nullptr)) {
        auto local = run->localChanges.find(entityGuid);
        if (local == run->localChanges.end()) continue;
        Json conflict{{"entityGuid", entityGuid},    {"remoteEventGuid", remote.value("guid", "")},
                      {"remoteEvent", remote},       {"localEventGuids", Json::array()},
                      {"localEvents", Json::array()}, {"fields", Json::array()}};
        std::set<std::string> remoteFields = fieldsOf(remote);
        std::set<std::string> both;
        for (const auto& guid : local->second) {
          auto ev = events.getEvent(guid);
          if (!ev) continue;
          Json localJson = ev->toJson();
          conflict["localEventGuids"].push_back(guid);
          conflict["localEvents"].push_back(localJson);
          for (const auto& f : fieldsOf(localJson)) {
            if (remoteFields.count(f)) both.insert(f);
          }
        }
        if (conflict["localEventGuids"].empty()) continue;
        for (const auto& f : both) conflict["fields"].push_back(f);
        conflicts.push_back(std::move(conflict));
      }
    }
    return conflicts;
  }

  // Reports and records conflicts; a resolver's choice becomes a new local event.
  void recordConflicts(RunPtr run, std::vector<Json>& conflicts) {
    if (conflicts.empty()) return;
    for (auto& conflict : conflicts) {
      if (resolver) resolveConflict(conflict);
      run->result["conflicts"] = run->result["conflicts"].get<size_t>() + 1;
      run->result["conflictList"].push_back(conflict);
    }
    Json recorded = state(kConflictsKey).value_or(Json::array());
    if (!recorded.is_array()) recorded = Json::array();
    for (Json c : conflicts) {  // the events themselves are in the log: keep the record small
      c.erase("localEvents");
      c.erase("remoteEvent");
      recorded.push_back(std::move(c));
    }
    if (recorded.size() > kMaxRecordedConflicts) {
      recorded.erase(recorded.begin(), recorded.begin() + static_cast<long>(recorded.size() - kMaxRecordedConflicts));
    }
    events.setSyncState(kConflictsKey, recorded);
  }

  void resolveConflict(Json& conflict) {
    std::optional<Json> choice;
    try {
      choice = resolver(conflict);
    } catch (const std::exception& e) {
      conflict["resolutionError"] = std::string("The conflict resolver failed: ") + e.what();
      return;
    }
    if (!choice || !choice->is_object()) return;
    Json form = *choice;
    if (!form.contains("guid")) form["guid"] = newGuid();
    if (!form.contains("entityGuid")) form["entityGuid"] = conflict["entityGuid"];
    if (!form.contains("timestamp")) form["timestamp"] = applier.nextLocalTimestamp(clock.nowMs());
    if (!form.contains("userId") && !conflict["localEvents"].empty()) form["userId"] = conflict["localEvents"].back()["userId"];
    form["syncLevel"] = LOCAL;
    try {
      applier.submitForm(form);
      conflict["resolutionEventGuid"] = form["guid"];
    } catch (const Error& e) {
      conflict["resolutionError"] = e.what();
    }
  }

  std::string newGuid() {
    // UUID v4 text from 128 random bits.
    uint64_t hi = rng(), lo = rng();
    hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;
    lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
    static const char* hex = "0123456789abcdef";
    std::string s;
    for (int i = 60; i >= 0; i -= 4) s += hex[(hi >> i) & 15];
    for (int i = 60; i >= 0; i -= 4) s += hex[(lo >> i) & 15];
    return s.substr(0, 8) + "-" + s.substr(8, 4) + "-" + s.substr(12, 4) + "-" + s.substr(16, 4) + "-" + s.substr(20);
  }
};

// ---------------------------------------------------------------------- public API ----------

InternalSyncManager::InternalSyncManager(EventStore& eventStore, EntityStore& entityStore, EventApplierService& applier,
                                         std::string syncServerUrl, std::string authToken, std::string configId,
                                         Transport& transport, Clock& clock, SyncOptions options)
    : impl_(std::make_shared<Impl>(eventStore, entityStore, applier, std::move(syncServerUrl), std::move(authToken),
                                   std::move(configId), transport, clock, options)) {}

InternalSyncManager::~InternalSyncManager() {
  // Continuations still in flight hold the Impl; they see `closed` and stop touching the stores.
  impl_->closed = true;
}

bool InternalSyncManager::isSyncing() const { return impl_->running.has_value(); }
void InternalSyncManager::failRunning(const Error& error) { impl_->failRunning(error); }

void InternalSyncManager::close() {
  impl_->closed = true;
  impl_->transport.abortAll();
  auto waits = std::move(impl_->backoffs);
  impl_->backoffs.clear();
  for (auto& [id, retry] : waits) {
    impl_->clock.clearTimer(id);
    impl_->clock.setTimeout(0, std::move(retry));
  }
}

void InternalSyncManager::login(const std::string& email, const std::string& password, SyncCallback done) {
  impl_->loginRequest(email, password, std::move(done));
}
void InternalSyncManager::setAuthToken(const std::string& token) { impl_->setToken(token); }
bool InternalSyncManager::hasAuthToken() const { return !impl_->token().empty(); }
void InternalSyncManager::logout() { impl_->setToken(""); }

size_t InternalSyncManager::getUnsyncedEventsCount() const { return impl_->outboxGuids().size(); }
bool InternalSyncManager::hasUnsyncedEvents() const { return getUnsyncedEventsCount() > 0; }
bool InternalSyncManager::checkIfDuplicatesExist() const { return !impl_->store().potentialDuplicates().empty(); }

void InternalSyncManager::sync(SyncCallback done) { impl_->enqueue(Impl::Op::Sync, std::move(done)); }
void InternalSyncManager::pushToRemote(SyncCallback done) { impl_->enqueue(Impl::Op::Push, std::move(done)); }
void InternalSyncManager::pullFromRemote(SyncCallback done) { impl_->enqueue(Impl::Op::Pull, std::move(done)); }

void InternalSyncManager::setProgressCallback(SyncProgressCallback fn) { impl_->onProgress = std::move(fn); }
void InternalSyncManager::setAuthRequiredHook(AuthRequiredHook fn) { impl_->onAuthRequired = std::move(fn); }
void InternalSyncManager::setConflictResolver(ConflictResolver fn) { impl_->resolver = std::move(fn); }

const SyncOptions& InternalSyncManager::options() const { return impl_->opts; }
void InternalSyncManager::setOptions(const SyncOptions& options) { impl_->opts = options; }

Json InternalSyncManager::getSyncState() const {
  Json rejected = Json::array();
  for (const auto& [guid, r] : impl_->store().rejectedEvents()) rejected.push_back(r.toJson());
  return Json{{"cursor", impl_->state(kPullCursorKey).value_or(Json(""))},
              {"serverExtensions", impl_->extensionsSeen()},
              {"lastResult", impl_->state(kLastResultKey).value_or(Json(nullptr))},
              {"conflicts", impl_->state(kConflictsKey).value_or(Json::array())},
              {"rejectedEvents", rejected}};
}

}  // namespace dc
