// test_util.hpp - small helpers shared by the GoogleTest suites.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>

#include "base/clock.hpp"
#include "base/status.hpp"

namespace onionmx::test {

// A clock the test moves by hand: both faces advance together.
class ManualClock final : public base::Clock {
 public:
  Monotonic monotonic() const noexcept override { return mono; }
  Wall wall() const noexcept override { return wall_time; }
  void advance(std::chrono::nanoseconds d) {
    mono += d;
    wall_time += std::chrono::duration_cast<Wall::duration>(d);
  }
  Monotonic mono = Monotonic{} + std::chrono::hours(42);
  Wall wall_time = Wall{} + std::chrono::hours(24 * 365 * 56);
};

inline bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Readable names in assertion messages.
inline const char* status_name(base::Status s) {
  switch (s) {
    case base::Status::Ok:
      return "Ok";
    case base::Status::NotFound:
      return "NotFound";
    case base::Status::Temp:
      return "Temp";
    case base::Status::Inval:
      return "Inval";
    case base::Status::BadData:
      return "BadData";
    case base::Status::BadSig:
      return "BadSig";
    case base::Status::Io:
      return "Io";
    case base::Status::NoMem:
      return "NoMem";
    case base::Status::Internal:
      return "Internal";
  }
  return "?";
}

// Lower-case hex of bytes, for comparing with published test vectors.
inline std::string hex(std::span<const std::uint8_t> b) {
  std::string s;
  char buf[3];
  for (auto x : b) {
    std::snprintf(buf, sizeof buf, "%02x", x);
    s += buf;
  }
  return s;
}

}  // namespace onionmx::test
