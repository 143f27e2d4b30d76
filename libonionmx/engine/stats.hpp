// stats.hpp - the engine's counters and gauges as a flat list, for
// onionmx_stats() (docs/c-api.md, "Statistics").
//
// Names are stable ABI, listed in docs/c-api.md: Prometheus-style, prefixed
// onionmx_, counters end in _total, units in the name (_seconds).  A name
// is never reused with another meaning; new ones may be added.  Reading
// them costs no more than the list: every value is a plain integer kept by
// its module on the loop thread.
#pragma once

#include <cstdint>
#include <vector>

namespace onionmx::engine {

class Engine;

enum class StatKind { Counter = 0, Gauge = 1 };  // = ONIONMX_STAT_COUNTER/GAUGE

// name and help are string literals: NUL-terminated, as the C API hands them on.
struct Stat {
  const char* name;
  const char* help;
  StatKind kind;
  double value;
};

// Every statistic, in a fixed order; `now` is the wall clock in Unix
// seconds (ages are measured from it).
std::vector<Stat> collect_stats(const Engine& engine, std::int64_t now);

}  // namespace onionmx::engine
