// cached_lookup.hpp - the cache in front of the DNS client: a SrvLookup
// that wraps another (dns::CaresClient) and a cache::Cache (docs/cache.md).
//
//  - fresh entries answer at once; in the last prefetch_percent of their
//    TTL they are also refreshed in the background (rate-limited), so hot
//    domains never wait for DNS;
//  - one DNS query in flight per name: concurrent askers join it;
//  - definitive answers (records, NXDOMAIN, NODATA, ".") are stored for
//    their clamped TTL (RFC 2308 for negatives); failures are not;
//  - when a refresh fails temporarily, an expired positive entry younger
//    than ttl + stale_max is served, marked stale, with stale_ttl (RFC
//    8767), and DNS is not asked again for stale_recheck seconds; past
//    stale_max the failure is marked known_route, which the failure policy
//    never turns into "not found";
//  - a route that changes or disappears is logged with old and new.
//
// The Cache outlives generations (the engine owns it); this object lives
// with one generation, like the client it wraps.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "cache/cache.hpp"
#include "source/srv_lookup.hpp"

namespace onionmx::source {

class CachedLookup final : public SrvLookup {
 public:
  CachedLookup(std::unique_ptr<SrvLookup> inner, std::shared_ptr<cache::Cache> cache,
               const base::Clock& clock, base::LogSink log);
  // The inner lookup goes first: its pending fetches answer their waiters
  // with its shutdown failure, which is not stored.
  ~CachedLookup() override;
  CachedLookup(const CachedLookup&) = delete;
  CachedLookup& operator=(const CachedLookup&) = delete;

  void fetch(const Query& q, FetchCallback done) override;
  // Askers waiting for DNS (background refreshes are not counted).
  std::size_t pending() const noexcept override { return waiting_; }

  // A fresh entry's set, or nothing (the cache link: source/cache_source).
  // Starts a background refresh in the prefetch window.
  std::optional<record::RecordSet> fresh(const Query& q);

  cache::Cache& cache() noexcept { return *cache_; }

 private:
  struct Flight {
    std::vector<FetchCallback> waiters;
    std::vector<std::string> explain;  // of the asker that started it
  };

  record::RecordSet from_entry(const cache::Entry& e, base::Clock::Monotonic now, bool stale,
                               bool explain) const;
  // The answer of a fresh entry (and a prefetch in its window), or nothing.
  std::optional<record::RecordSet> serve_fresh(cache::Entry* e, const Query& q,
                                               base::Clock::Monotonic now);
  void start(const Query& q, std::vector<std::string> explain, FetchCallback first);
  void maybe_prefetch(const cache::Entry& e);
  void on_answer(const std::string& domain, record::RecordSet set);
  void store(const std::string& domain, const record::RecordSet& set);
  void maybe_save();
  void log(base::LogLevel level, const std::string& msg) const;

  std::shared_ptr<cache::Cache> cache_;
  const base::Clock& clock_;
  base::LogSink log_;
  std::unordered_map<std::string, Flight> flights_;
  std::size_t waiting_ = 0;
  // Token bucket of background refreshes (Settings::prefetch_rate per s).
  double prefetch_tokens_ = 0;
  base::Clock::Monotonic prefetch_refill_{};
  base::Clock::Monotonic last_save_{};
  bool shutting_down_ = false;
  // Last: destroyed first, while the members above still exist.
  std::unique_ptr<SrvLookup> inner_;
};

}  // namespace onionmx::source
