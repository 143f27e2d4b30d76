// clock.hpp - the one injectable clock.
//
// Everything that ages, expires or measures (DNS deadlines, the time a
// record set was received, later the cache's TTLs) asks a Clock, so unit
// tests can drive time by hand instead of sleeping.  monotonic() never
// jumps (CLOCK_MONOTONIC); wall() is the calendar time, for what outlives
// the process (files, logs).
#pragma once

#include <chrono>

namespace onionmx::base {

class Clock {
 public:
  using Monotonic = std::chrono::steady_clock::time_point;
  using Wall = std::chrono::system_clock::time_point;

  virtual ~Clock() = default;
  virtual Monotonic monotonic() const noexcept = 0;
  virtual Wall wall() const noexcept = 0;
};

// The real clocks.  Stateless; one instance serves the whole process.
class SystemClock final : public Clock {
 public:
  Monotonic monotonic() const noexcept override { return std::chrono::steady_clock::now(); }
  Wall wall() const noexcept override { return std::chrono::system_clock::now(); }
  static const SystemClock& instance() noexcept {
    static const SystemClock clock;
    return clock;
  }
};

}  // namespace onionmx::base
