#pragma once
// InternalSyncManager (docs/protocol.md): pushes the outbox to a sync server and pulls everyone
// else's events, over a Transport (HTTP request -> response callback) and a Clock (timers).
// Single-threaded and continuation driven: every operation returns at once and completes
// through its callback; nothing blocks, nothing needs ASYNCIFY.
//
// Everything crossing the API is JSON-shaped so the wasm layer can pass it through as one
// string. The implementation lives behind a pointer so this header stays stable for bindings.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/entity_store.hpp"
#include "core/error.hpp"
#include "core/event_applier.hpp"
#include "core/event_store.hpp"
#include "core/json.hpp"
#include "sync/clock.hpp"
#include "sync/transport.hpp"

namespace dc {

struct SyncOptions {
  // Events per push request. 0 = auto: 10 against a server that has shown no extensions
  // (the original's default), 500 once it has (remembered in the sync state).
  size_t pushChunkSize = 0;
  // `limit` sent on pull. 0 = auto, same rule as pushChunkSize.
  size_t pullLimit = 0;
  // Attempts per request on network errors and 5xx (4xx other than 401/413 are never retried).
  int maxAttempts = 3;
  // Backoff before attempt n (n >= 2): backoffBaseMs * 2^(n-2).
  int64_t backoffBaseMs = 500;
  int requestTimeoutMs = 30000;
  // Largest response body accepted; the transport aborts a response past it (docs/protocol.md, 'Transport').
  size_t maxResponseBytes = 8u << 20;
  // A JWT whose `exp` is closer than this triggers the auth-required hook before a sync starts.
  int64_t tokenRefreshMarginMs = 60000;
};

// Completion of every operation: an error, or a JSON result.
// sync/push/pull result: {pushed, pulled, applied, rejected, conflicts,
//                         rejectedEvents: [RejectedEvent JSON], conflictList: [conflict JSON],
//                         auditError?: {code, message, status?}  (the audit-log step failed; retried next time)
//                         possiblySkipped?: true  (the server's timestamp paging may have skipped events)}
// login result: {userId}
// (The token is never part of a result, a message or a log line.)
using SyncCallback = std::function<void(std::optional<Error> error, Json result)>;

// Progress after each chunk/page: {phase: "push"|"pull"|"audit", done, total?}.
using SyncProgressCallback = std::function<void(const Json& progress)>;

// Answer to the auth-required hook: a JSON string (a new token), an object {email, password}
// (log in with these), or null (give up -> UNAUTHORIZED).
using AuthRespond = std::function<void(const Json& answer)>;
// reason: "unauthorized" (the server answered 401) or "token-expiring" (JWT exp near).
using AuthRequiredHook = std::function<void(const std::string& reason, AuthRespond respond)>;

// Called synchronously for each conflict (docs/convergence.md, 'Conflicts'):
//   {entityGuid, localEventGuids: [...], remoteEventGuid, fields: [...], remoteEvent, localEvents}
// Returning an event JSON (a form: entityGuid, type, data; guid/timestamp/userId filled in when
// missing) submits it as a new local event, so the choice syncs and every replica converges.
// Returning nullopt keeps the deterministic (timestamp, guid) order.
using ConflictResolver = std::function<std::optional<Json>(const Json& conflict)>;

class InternalSyncManager {
 public:
  InternalSyncManager(EventStore& eventStore, EntityStore& entityStore, EventApplierService& applier,
                      std::string syncServerUrl, std::string authToken, std::string configId, Transport& transport,
                      Clock& clock, SyncOptions options = {});
  ~InternalSyncManager();
  InternalSyncManager(const InternalSyncManager&) = delete;
  InternalSyncManager& operator=(const InternalSyncManager&) = delete;

  bool isSyncing() const;
  // Ends the running sync/push/pull now with `error` (its callbacks get it, isSyncing() turns
  // false, the next call starts afresh). The platform's event loop calls it when an exception
  // escapes a continuation (src/wasm/platform.hpp, runContinuation). No-op when nothing runs.
  void failRunning(const Error& error);
  // The store is closing: aborts the requests in flight (their operations end with CLOSED) and
  // starts no new ones. Irreversible.
  void close();

  // POST /api/users/login; on success the token is kept and persisted in the store.
  void login(const std::string& email, const std::string& password, SyncCallback done);
  // Keeps and persists the token ("" = none). A non-empty constructor token overrides the stored one.
  void setAuthToken(const std::string& token);
  bool hasAuthToken() const;
  void logout();  // forgets the token (memory and store)

  size_t getUnsyncedEventsCount() const;
  bool hasUnsyncedEvents() const;
  bool checkIfDuplicatesExist() const;

  // Full sync (push, then pull). A call while a sync runs joins it: both callbacks get the same outcome.
  void sync(SyncCallback done);
  // The phases on their own (also single flight with sync()).
  void pushToRemote(SyncCallback done);
  void pullFromRemote(SyncCallback done);

  void setProgressCallback(SyncProgressCallback fn);
  void setAuthRequiredHook(AuthRequiredHook fn);
  void setConflictResolver(ConflictResolver fn);

  const SyncOptions& options() const;
  void setOptions(const SyncOptions& options);

  // {cursor, serverExtensions, lastResult, conflicts: [...], rejectedEvents: [...]}; no token.
  Json getSyncState() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace dc
