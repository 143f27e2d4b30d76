#include "engine/stats.hpp"

#include <algorithm>

#include "cache/cache.hpp"
#include "engine/engine.hpp"
#include "engine/sources.hpp"

namespace onionmx::engine {

namespace {
double num(std::uint64_t v) { return static_cast<double>(v); }
}  // namespace

std::vector<Stat> collect_stats(const Engine& engine, std::int64_t now) {
  using enum StatKind;
  std::vector<Stat> out;
  out.reserve(16);
  // The cache: zero without one (size 0).  A reload that changes
  // cache.file starts a new cache, and its counters start again at zero
  // (Prometheus treats a counter that goes down as a reset).
  const cache::Cache* c = engine.cache();
  const cache::Stats none;
  const cache::Stats& cs = c ? c->stats() : none;
  out.push_back({"onionmx_cache_hits_total", "Lookups answered by a fresh cache entry", Counter,
                 num(cs.hits)});
  out.push_back({"onionmx_cache_misses_total",
                 "Lookups that found no fresh cache entry and needed DNS", Counter,
                 num(cs.misses)});
  out.push_back({"onionmx_cache_stale_total",
                 "Stale cache entries served because DNS failed (RFC 8767)", Counter,
                 num(cs.stale)});
  out.push_back({"onionmx_cache_prefetches_total",
                 "Background refreshes of cache entries near the end of their TTL", Counter,
                 num(cs.prefetches)});
  out.push_back({"onionmx_cache_coalesced_total",
                 "Lookups that joined a DNS query already in flight for the same domain", Counter,
                 num(cs.coalesced)});
  out.push_back({"onionmx_cache_evictions_total",
                 "Cache entries evicted because the cache was full", Counter, num(cs.evictions)});
  out.push_back({"onionmx_cache_entries", "Entries in the cache", Gauge, num(c ? c->size() : 0)});
  // DNS: counted by the engine across reloads.
  const dns::DnsStats& d = engine.dns_stats();
  out.push_back({"onionmx_dns_queries_total", "SRV queries sent to DNS (CNAME hops included)",
                 Counter, num(d.queries)});
  out.push_back({"onionmx_dns_failures_total",
                 "DNS lookups that ended in a temporary failure (timeouts included)", Counter,
                 num(d.failures)});
  out.push_back({"onionmx_dns_timeouts_total", "DNS lookups that ended without an answer in time",
                 Counter, num(d.timeouts)});
  out.push_back({"onionmx_trust_queries_total",
                 "Policy and downgrade-guard queries sent to DNS (TXT, MX, TLSA)", Counter,
                 num(d.trust_queries)});
  out.push_back({"onionmx_trust_query_failures_total",
                 "Policy and downgrade-guard queries that ended in a temporary failure", Counter,
                 num(d.trust_failures)});
  out.push_back(
      {"onionmx_pins", "Routes pinned by enforce policies", Gauge, num(c ? c->pin_count() : 0)});
  out.push_back(
      {"onionmx_pin_holds_total",
       "Pinned routes answered instead of a changed or missing SRV set (possible hijacks)", Counter,
       num(cs.pin_holds)});
  out.push_back({"onionmx_guard_refusals_total",
                 "Onion routes refused by the downgrade guard (MTA-STS or DANE, not authenticated)",
                 Counter, num(cs.guard_refusals)});
  // The static map of the running configuration.
  const MapInfo& m = engine.map_info();
  out.push_back(
      {"onionmx_map_loaded", "1 if a static map is loaded, else 0", Gauge, m.loaded ? 1.0 : 0.0});
  out.push_back(
      {"onionmx_map_serial", "Serial of the loaded static map (0: none)", Gauge, num(m.serial)});
  out.push_back(
      {"onionmx_map_entries", "Domains pinned by the loaded static map", Gauge, num(m.entries)});
  out.push_back(
      {"onionmx_map_age_seconds", "Seconds since the static map was loaded (0: none)", Gauge,
       m.loaded ? static_cast<double>(std::max<std::int64_t>(now - m.loaded_at, 0)) : 0.0});
  out.push_back({"onionmx_map_expiry_timestamp_seconds",
                 "Unix time at which the loaded static map expires (0: none or no expiry)", Gauge,
                 m.loaded && m.expires ? static_cast<double>(*m.expires) : 0.0});
  out.push_back({"onionmx_config_generation",
                 "Configuration generation: 1 at start, +1 per successful reload", Gauge,
                 num(engine.generation())});
  return out;
}

}  // namespace onionmx::engine
