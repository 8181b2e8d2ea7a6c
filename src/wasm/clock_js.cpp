// dc::Clock on the JS event loop: wall time from Date.now(), timers from setTimeout, so the
// engine never blocks and needs no ASYNCIFY. setTimeout is called through EM_JS rather than
// emscripten_async_call, which would pull Emscripten's whole `Browser` library into the bundle.
#include <emscripten/emscripten.h>

#include <functional>

#include "wasm/platform.hpp"

extern "C" {
// Called by the timer below; owns and deletes the task.
EMSCRIPTEN_KEEPALIVE void dc_run_timer(void* arg) {
  auto* task = static_cast<std::function<void()>*>(arg);
  std::function<void()> fn = std::move(*task);
  delete task;
  dc::wasm::runContinuation("a timer", fn);
}
}

// A delay of 0 still goes through setTimeout: never synchronous, as the Clock contract requires.
EM_JS(void, dc_set_timeout, (void* task, double delayMs), {
  setTimeout(function() { _dc_run_timer(task); }, delayMs);
});

EM_JS(double, dc_date_now, (), { return Date.now(); });

namespace dc::wasm {
namespace {

class JsClock final : public Clock {
 public:
  int64_t nowMs() override { return static_cast<int64_t>(dc_date_now()); }
  void setTimeout(int64_t delayMs, std::function<void()> fn) override {
    dc_set_timeout(new std::function<void()>(std::move(fn)), static_cast<double>(delayMs < 0 ? 0 : delayMs));
  }
};

}  // namespace

std::unique_ptr<Clock> makeJsClock() { return std::make_unique<JsClock>(); }

}  // namespace dc::wasm
