#pragma once
// Browser/Node implementations of the sync engine's platform interfaces (src/sync/transport.hpp,
// src/sync/clock.hpp), plus the guard every asynchronous continuation runs under.
#include <cstdio>
#include <exception>
#include <memory>

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
// Node, kill the process (an uncaught exception). The engine reports its errors through its
// callbacks, so anything caught here is an engine bug: it is logged, never rethrown.
template <class F>
void runContinuation(const char* where, F&& continuation) {
  try {
    continuation();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "datacollect: internal error in %s: %s\n", where, e.what());
  } catch (...) {
    std::fprintf(stderr, "datacollect: internal error in %s\n", where);
  }
}

}  // namespace dc::wasm
