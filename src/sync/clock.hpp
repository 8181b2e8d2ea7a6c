#pragma once
// Time and timers for the sync engine (backoff, token expiry, local timestamps).
#include <cstdint>
#include <functional>

namespace dc {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t nowMs() = 0;  // wall clock, ms since epoch
  // Runs fn once after delayMs (0 = on the next turn of the event loop). Never synchronously.
  virtual void setTimeout(int64_t delayMs, std::function<void()> fn) = 0;
};

}  // namespace dc
