// mtaload_stats.hpp - what one mtaload run measured, and its reports.
//
// Every request sent ends as exactly one reply (counted by kind: the
// socketmap status word OK/NOTFOUND/TEMP/PERM, socketmap_table(5), or the
// tcp_table code 200/500/400, tcp_table(5)) or one error (counted by
// cause: timeout, closed, malformed, ...), so requests == replies + errors
// is the consistency check of the bench-smoke test.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mtabench {

struct RunInfo {
  std::string protocol;  // "socketmap" or "tcp_table"
  std::string endpoint;
  unsigned connections = 0;
};

class Stats {
 public:
  void sent() noexcept { ++requests_; }
  void reply(const std::string& kind, std::int64_t latency_ns);
  void error(const std::string& cause) { ++errors_[cause]; }
  void connect_error(const std::string& cause) { ++connect_errors_[cause]; }

  std::uint64_t requests() const noexcept { return requests_; }
  std::uint64_t replies() const noexcept { return latencies_ns_.size(); }

  // One human-readable block / one JSON object (one line), over `elapsed_s`.
  std::string text(const RunInfo& info, double elapsed_s) const;
  std::string json(const RunInfo& info, double elapsed_s) const;

 private:
  struct Summary {
    double rps = 0;
    double p50_us = 0, p90_us = 0, p99_us = 0, max_us = 0, mean_us = 0;
  };
  Summary summarise(double elapsed_s) const;

  std::uint64_t requests_ = 0;
  std::vector<std::int64_t> latencies_ns_;  // one per reply
  std::map<std::string, std::uint64_t> kinds_;
  std::map<std::string, std::uint64_t> errors_;
  std::map<std::string, std::uint64_t> connect_errors_;
};

}  // namespace mtabench
