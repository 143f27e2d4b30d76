// mtaload_stats.cpp - see mtaload_stats.hpp.
#include "mtaload_stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>

namespace mtabench {

void Stats::reply(const std::string& kind, std::int64_t latency_ns) {
  ++kinds_[kind];
  latencies_ns_.push_back(latency_ns);
}

Stats::Summary Stats::summarise(double elapsed_s) const {
  Summary s;
  if (elapsed_s > 0) s.rps = static_cast<double>(replies()) / elapsed_s;
  if (latencies_ns_.empty()) return s;
  std::vector<std::int64_t> v = latencies_ns_;
  std::sort(v.begin(), v.end());
  // Nearest-rank percentile: the smallest value with at least p of the
  // samples at or below it.
  const auto rank = [&v](double p) {
    const auto idx = static_cast<std::size_t>(p * static_cast<double>(v.size()) + 0.999999);
    return static_cast<double>(v[std::clamp<std::size_t>(idx, 1, v.size()) - 1]) / 1000.0;
  };
  s.p50_us = rank(0.50);
  s.p90_us = rank(0.90);
  s.p99_us = rank(0.99);
  s.max_us = static_cast<double>(v.back()) / 1000.0;
  s.mean_us = static_cast<double>(std::accumulate(v.begin(), v.end(), std::int64_t{0})) /
              static_cast<double>(v.size()) / 1000.0;
  return s;
}

namespace {

std::string counts_text(const std::map<std::string, std::uint64_t>& m) {
  if (m.empty()) return "none";
  std::string out;
  for (const auto& [k, n] : m) {
    if (!out.empty()) out += ' ';
    out += k + '=' + std::to_string(n);
  }
  return out;
}

// Fewer digits in the JSON; elapsed_s keeps microseconds so that rps *
// elapsed_s gives the reply count back even for a run of a few requests.
double rounded(double x, double scale) { return std::round(x * scale) / scale; }
double round3(double x) { return rounded(x, 1e3); }

}  // namespace

std::string Stats::text(const RunInfo& info, double elapsed_s) const {
  const Summary s = summarise(elapsed_s);
  char line[512];
  std::snprintf(line, sizeof line,
                "%s %s, %u connections: %llu requests, %llu replies in %.3f s = %.0f req/s\n"
                "latency us: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  mean %.1f\n",
                info.protocol.c_str(), info.endpoint.c_str(), info.connections,
                static_cast<unsigned long long>(requests_),
                static_cast<unsigned long long>(replies()), elapsed_s, s.rps, s.p50_us, s.p90_us,
                s.p99_us, s.max_us, s.mean_us);
  return std::string(line) + "replies: " + counts_text(kinds_) +
         "\nerrors: " + counts_text(errors_) + "\nconnect errors: " + counts_text(connect_errors_) +
         "\n";
}

std::string Stats::json(const RunInfo& info, double elapsed_s) const {
  const Summary s = summarise(elapsed_s);
  std::uint64_t errors = 0;
  for (const auto& e : errors_) errors += e.second;
  const nlohmann::json j = {
      {"protocol", info.protocol},
      {"endpoint", info.endpoint},
      {"connections", info.connections},
      {"requests", requests_},
      {"replies", replies()},
      {"errors", errors},
      {"elapsed_s", rounded(elapsed_s, 1e6)},
      {"rps", round3(s.rps)},
      {"latency_us",
       {{"p50", round3(s.p50_us)},
        {"p90", round3(s.p90_us)},
        {"p99", round3(s.p99_us)},
        {"max", round3(s.max_us)},
        {"mean", round3(s.mean_us)}}},
      {"kinds", kinds_},
      {"error_causes", errors_},
      {"connect_errors", connect_errors_},
  };
  return j.dump() + "\n";
}

}  // namespace mtabench
