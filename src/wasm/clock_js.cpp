// dc::Clock on the JS event loop: wall time from Date.now(), timers from setTimeout, so the
// engine never blocks and needs no ASYNCIFY. setTimeout is called through EM_JS rather than
// emscripten_async_call, which would pull Emscripten's whole `Browser` library into the bundle.
// Every timer is in one table by id so it can be cleared (an armed timer keeps a Node process
// alive: docs/protocol.md, 'Transport') and so a cleared timer's task is released at once.
#include <emscripten/emscripten.h>

#include <cstdint>
#include <functional>
#include <map>
#include <set>

#include "wasm/platform.hpp"

namespace {
std::map<uint32_t, std::function<void()>>& timerTable() {
  static std::map<uint32_t, std::function<void()>> table;
  return table;
}
uint32_t nextTimerId = 1;
}  // namespace

extern "C" {
// Called by the timer below.
EMSCRIPTEN_KEEPALIVE void dc_run_timer(uint32_t id) {
  auto it = timerTable().find(id);
  if (it == timerTable().end()) return;  // cleared meanwhile
  std::function<void()> fn = std::move(it->second);
  timerTable().erase(it);
  dc::wasm::runContinuation("a timer", fn);
}
}

// A delay of 0 still goes through setTimeout: never synchronous, as the Clock contract requires.
EM_JS(void, dc_set_timeout, (uint32_t id, double delayMs), {
  dcTimerHandles[id] = setTimeout(function() {
    delete dcTimerHandles[id];
    _dc_run_timer(id);
  }, delayMs);
});
EM_JS(void, dc_clear_timeout, (uint32_t id), {
  var handle = dcTimerHandles[id];
  delete dcTimerHandles[id];
  if (handle !== undefined) clearTimeout(handle);
});

EM_JS(double, dc_date_now, (), { return Date.now(); });

namespace dc::wasm {
namespace {

class JsClock final : public Clock {
 public:
  // A timer outliving its clock would run a task holding references to it: cleared instead.
  // (The store closes its sync managers first, so their tasks have run by then.)
  ~JsClock() override {
    while (!mine_.empty()) clearTimer(*mine_.begin());
  }
  int64_t nowMs() override { return static_cast<int64_t>(dc_date_now()); }
  void setTimeout(int64_t delayMs, std::function<void()> fn) override { setTimer(delayMs, std::move(fn)); }
  TimerId setTimer(int64_t delayMs, std::function<void()> fn) override {
    uint32_t id = nextTimerId++;
    mine_.insert(id);
    timerTable()[id] = [this, id, fn = std::move(fn)] {
      mine_.erase(id);
      fn();
    };
    dc_set_timeout(id, static_cast<double>(delayMs < 0 ? 0 : delayMs));
    return id;
  }
  void clearTimer(TimerId id) override {
    mine_.erase(static_cast<uint32_t>(id));
    auto it = timerTable().find(static_cast<uint32_t>(id));
    if (it == timerTable().end()) return;
    dc_clear_timeout(static_cast<uint32_t>(id));
    std::function<void()> released = std::move(it->second);  // destroyed after the table entry
    timerTable().erase(it);
  }

 private:
  std::set<uint32_t> mine_;
};

}  // namespace

std::unique_ptr<Clock> makeJsClock() { return std::make_unique<JsClock>(); }

}  // namespace dc::wasm
