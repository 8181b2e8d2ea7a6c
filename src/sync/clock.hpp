#pragma once
// Time and timers for the sync engine (backoff, token expiry, local timestamps).
#include <cstdint>
#include <functional>

namespace dc {

class Clock {
 public:
  using TimerId = uint64_t;  // 0 = no timer
  virtual ~Clock() = default;
  virtual int64_t nowMs() = 0;  // wall clock, ms since epoch
  // Runs fn once after delayMs (0 = on the next turn of the event loop). Never synchronously.
  virtual void setTimeout(int64_t delayMs, std::function<void()> fn) = 0;
  // The same, cancellable: clearTimer(id) before it ran means fn never runs (and is released).
  // A timer left armed keeps a Node process alive, so timers that guard a request are cleared
  // when it completes. The defaults suit clocks whose timers need no clearing (test fakes).
  virtual TimerId setTimer(int64_t delayMs, std::function<void()> fn) {
    setTimeout(delayMs, std::move(fn));
    return 0;
  }
  virtual void clearTimer(TimerId) {}
};

}  // namespace dc
