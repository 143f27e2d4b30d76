// metrics.hpp - onionmxd's own counters and the Prometheus page that shows
// them with the library's (onionmx_stats(), docs/c-api.md).
//
// Plain integers bumped on the loop thread by small hooks in server.cpp and
// main.cpp; render() writes the text exposition format 0.0.4 (the format
// Prometheus scrapes; docs/onionmxd.md, "Metrics", lists every metric).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <map>
#include <onionmx/onionmx.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.hpp"

namespace onionmxd {

enum class Protocol;  // server.hpp

// Why a connection was closed for breaking its protocol.
enum class ProtocolError { Malformed, Oversized, Invalid };

class Metrics {
 public:
  // Upper bounds of the latency histogram, in seconds.
  static constexpr std::array<double, 16> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                      0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                      1.0,    2.5,     5.0,    10.0};

  Metrics();

  // One answered request: its outcome, the source that decided it (the
  // library's source name, or the daemon's: deadline, protocol, config,
  // error) and the time from its start to the answer.
  void lookup(Protocol p, onionmx::base::Outcome o, std::string_view source, double seconds);
  void accepted() { ++accepted_; }
  void refused() { ++refused_; }
  void closed_idle() { ++closed_idle_; }
  void protocol_error(Protocol p, ProtocolError e);
  void deadline(Protocol p);
  void reload(bool ok) { ++(ok ? reloads_ok_ : reloads_failed_); }

  // The whole page: the daemon's metrics, then the library's `stats`.
  std::string render(std::size_t open_connections, const std::vector<onionmx::Stat>& stats) const;

 private:
  static constexpr std::size_t kProtocols = 2;
  static constexpr std::size_t kOutcomes = 4;
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};  // not cumulative
    std::uint64_t count = 0;
    double sum = 0;
  };

  // Source name -> count, per protocol and outcome; std::less<> finds a
  // string_view without building a string.
  std::array<std::array<std::map<std::string, std::uint64_t, std::less<>>, kOutcomes>, kProtocols>
      lookups_;
  std::array<Histogram, kProtocols> latency_;
  std::array<std::array<std::uint64_t, 3>, kProtocols> protocol_errors_{};
  std::array<std::uint64_t, kProtocols> deadlines_{};
  std::uint64_t accepted_ = 0;
  std::uint64_t refused_ = 0;
  std::uint64_t closed_idle_ = 0;
  std::uint64_t reloads_ok_ = 0;
  std::uint64_t reloads_failed_ = 0;
  std::time_t started_;
};

}  // namespace onionmxd
