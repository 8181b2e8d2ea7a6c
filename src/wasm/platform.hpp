#pragma once
// Browser/Node implementations of the sync engine's platform interfaces (src/sync/transport.hpp,
// src/sync/clock.hpp), plus the guard every asynchronous continuation runs under.
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <utility>

#include "core/error.hpp"

#include "sync/clock.hpp"
#include "sync/transport.hpp"

namespace dc::wasm {

// HTTP over the package's glue (src/wasm/http_glue.js: node:http under Node, fetch() in
// browsers). Always asynchronous; never follows a redirect; bodies bounded while received.
std::unique_ptr<Transport> makeJsTransport();

// Date.now() and setTimeout.
std::unique_ptr<Clock> makeJsClock();

// Runs a continuation called from the JS event loop (a fetch completion, a timer). Nothing above
// it on the stack can catch: an escaping C++ exception would reach JS as a bare number and, in
// Node, kill the process (an uncaught exception). The engine settles its operations through its
// own boundary (src/sync/sync_manager.cpp, guarded()), so what arrives here is a bug that got
// past it: `onError` gets its coded error (STORAGE for the store, INTERNAL otherwise) and ends
// the operation (InternalSyncManager::failRunning), so no Promise is left pending and isSyncing
// turns false. Never rethrown.
template <class F, class OnError>
void runContinuation(const char* where, F&& continuation, OnError&& onError) {
  std::optional<Error> err;
  try {
    continuation();
  } catch (...) {
    err = currentExceptionAsError(where);
  }
  if (!err) return;
  std::fprintf(stderr, "datacollect: %s in %s: %s\n", err->codeName(), where, err->what());
  try {
    onError(*err);
  } catch (...) {
    std::fprintf(stderr, "datacollect: could not end the operation after an error in %s\n", where);
  }
}

// Without an operation to end (the transport's and clock's own glue): logged only.
template <class F>
void runContinuation(const char* where, F&& continuation) {
  runContinuation(where, std::forward<F>(continuation), [](const Error&) {});
}

}  // namespace dc::wasm
