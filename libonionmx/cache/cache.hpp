// cache.hpp - the store of the local cache: record sets by domain, LRU.
//
// Pure bookkeeping, no I/O and no DNS: source/cached_lookup decides when to
// ask DNS, this module remembers what it said (docs/cache.md).  An entry is
// a positive set (the validated SRV records, drawn into an RFC 2782 order
// anew for every lookup) or a definitive negative answer, with the TTL it
// may live (clamped to the configured range; RFC 2308 §5 for negatives),
// the AD flag and when it was fetched.
//
// Ages are measured on the monotonic clock while the process runs; the
// wall-clock fetch time is what persists (cache/cache_file), and a loaded
// entry is placed back on the monotonic clock by its age.
//
// An entry's life (age = now - fetched):
//   fresh        age < ttl                         answered as is
//   stale        positive, age < ttl + stale_max   served only when a
//                                                  refresh fails (RFC 8767)
//   expired      beyond that                       a positive one is kept
//     until evicted as a marker: the domain is known to have an onion, so
//     a DNS failure for it is never answered "not found" (failure policy).
//
// Lookups are O(1): a hash map of string_views into the entries, which
// live in an intrusive LRU list (std::list nodes never move).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.hpp"
#include "record/srv.hpp"
#include "record/trust.hpp"

namespace onionmx::cache {

// [cache] of onionmx.toml(5); defaults in docs/configuration.md.
struct Settings {
  std::size_t size = 10000;  // entries; 0 turns the cache off
  std::string file;          // persistent cache; empty: memory only
  std::uint32_t min_ttl = 60;
  std::uint32_t max_ttl = 86400;
  std::uint32_t min_negative_ttl = 30;
  std::uint32_t max_negative_ttl = 3600;  // RFC 2308 §5: 1-3 hours works well
  // RFC 8767 §5: the maximum stale timer, 1 to 3 days suggested.
  std::uint32_t stale_max = 86400;
  // RFC 8767 §4: stale answers go out with a TTL of 30 s (recommended).
  std::uint32_t stale_ttl = 30;
  // RFC 8767 §5: after a failed refresh, stale data is served without
  // asking DNS again for this long (the failure recheck timer).
  std::uint32_t stale_recheck = 30;
  bool prefetch = true;
  std::uint32_t prefetch_percent = 10;  // the last part of the TTL that triggers a refresh
  std::uint32_t prefetch_rate = 20;     // background refreshes per second at most
  std::uint32_t save_interval = 300;    // seconds between saves when changed

  bool enabled() const noexcept { return size > 0; }
  // TTL clamped to [min, max] for its kind.
  std::uint32_t clamp_ttl(bool positive, std::uint32_t ttl) const noexcept;
};

struct Entry {
  std::string domain;  // lower-case A-label, the key
  bool positive = false;
  std::vector<record::SrvRecord> records;  // positive: valid targets, wire order
  std::uint32_t ttl = 0;                   // clamped
  bool authenticated = false;
  std::string owner;   // positive: the SRV owner (after CNAMEs)
  std::string reason;  // negative: why (NXDOMAIN, NODATA, ...)
  base::Clock::Monotonic fetched{};
  std::int64_t fetched_wall = 0;  // Unix seconds; what persists
  // The last refresh that failed (RFC 8767 failure recheck); not persisted.
  base::Clock::Monotonic failed{};
  bool has_failed = false;
  // Fetched with the set (docs/route-trust.md); persisted.
  record::PolicyFacts policy;
  record::GuardFacts guard;
};

enum class Freshness { Fresh, Stale, Expired };

struct Stats {
  std::uint64_t hits = 0;            // fresh answers
  std::uint64_t misses = 0;          // no entry, or not fresh
  std::uint64_t stale = 0;           // stale answers served
  std::uint64_t evictions = 0;       // LRU evictions
  std::uint64_t prefetches = 0;      // background refreshes started
  std::uint64_t coalesced = 0;       // askers that joined a lookup in flight
  std::uint64_t pin_holds = 0;       // pinned routes answered instead of a changed or missing SRV
  std::uint64_t guard_refusals = 0;  // routes refused by the downgrade guard
};

class Cache {
 public:
  explicit Cache(Settings s) : settings_(std::move(s)) {}
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  const Settings& settings() const noexcept { return settings_; }
  // New limits apply at once; a smaller size evicts the oldest entries.
  void set_settings(Settings s);

  // The entry for `domain`, marked most recently used; nullptr if none.
  Entry* find(std::string_view domain) noexcept;
  // Without touching the LRU order (dumps, tests).
  const Entry* peek(std::string_view domain) const noexcept;
  // Inserts or replaces; evicts the least recently used beyond `size`.
  Entry& put(Entry e);
  bool erase(std::string_view domain);
  void clear();

  Freshness freshness(const Entry& e, base::Clock::Monotonic now) const noexcept;
  // Whole seconds since the entry was fetched (0 if the clock went back).
  static std::uint32_t age(const Entry& e, base::Clock::Monotonic now) noexcept;
  // True in the last prefetch_percent of a fresh entry's TTL.
  bool in_prefetch_window(const Entry& e, base::Clock::Monotonic now) const noexcept;

  std::size_t size() const noexcept { return index_.size(); }

  // Pins of enforce policies (docs/route-trust.md), by domain; at most
  // `size` of them (the one expiring first goes).  Expiry is wall-clock:
  // a pin is a promise with a date, and survives restarts (cache_file).
  const record::Pin* pin(std::string_view domain) const noexcept;
  void put_pin(record::Pin p);
  bool erase_pin(std::string_view domain);
  // Removes pins expired at `now_wall`; returns how many.
  std::size_t expire_pins(std::int64_t now_wall);
  std::size_t pin_count() const noexcept { return pins_.size(); }
  // In domain order (stable files and dumps).
  void for_each_pin(const std::function<void(const record::Pin&)>& fn) const;
  // Least recently used first, so a reload re-inserts in the same LRU order.
  void for_each(const std::function<void(const Entry&)>& fn) const;

  // Changed since mark_saved(): a save is due.
  bool dirty() const noexcept { return dirty_; }
  void mark_saved() noexcept { dirty_ = false; }
  void mark_dirty() noexcept { dirty_ = true; }

  Stats& stats() noexcept { return stats_; }
  const Stats& stats() const noexcept { return stats_; }

 private:
  void evict_to(std::size_t n);

  Settings settings_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;
  std::map<std::string, record::Pin, std::less<>> pins_;
  Stats stats_;
  bool dirty_ = false;
};

}  // namespace onionmx::cache
