// sources.hpp - the registry of sources: name -> factory.
//
// A source is added to onionmx by one entry here (engine/sources.cpp); its
// name, spelled once as its class's kName, is what resolver.order, the
// configuration's error messages and the JSON `source` field use.  The
// registry's order is the default chain (resolver.order unset).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/result.hpp"
#include "cache/cache.hpp"
#include "config/config.hpp"
#include "dns/dns_stats.hpp"
#include "event/loop.hpp"
#include "source/cached_lookup.hpp"
#include "source/source.hpp"
#include "source/trust_gate.hpp"

namespace onionmx::engine {

// The map a chain loaded, for onionmx_stats() (docs/c-api.md).
struct MapInfo {
  bool loaded = false;
  std::uint64_t serial = 0;
  std::size_t entries = 0;
  std::optional<std::int64_t> expires;  // Unix seconds
  std::int64_t loaded_at = 0;           // Unix seconds
};

// Built once per chain and shared by the links that use it: the "cache"
// and "dns" links ask DNS through one CachedLookup, so coalescing and
// serve-stale see every lookup.
struct SharedParts {
  std::shared_ptr<source::SrvLookup> dns;        // what the dns link fetches through
  std::shared_ptr<source::CachedLookup> cached;  // null without a cache
  std::shared_ptr<source::TrustGate> gate;       // null when [trust] turns both off
  bool dns_in_chain = false;                     // without the dns link nothing may query DNS
  bool built = false;
  dns::DnsStats* dns_stats = nullptr;  // in: where the DNS client counts (engine-owned)
  MapInfo map;                         // out: what the map link loaded
};

// What a factory may use; everything outlives the source it builds.
struct SourceContext {
  event::Loop& loop;
  const config::Config& config;
  const base::LogSink& log;
  const base::Clock& clock;
  // The engine's cache (it outlives generations); null when size is 0.
  std::shared_ptr<cache::Cache> cache;
  SharedParts& shared;
};

using SourceFactory = base::Result<std::unique_ptr<source::Source>> (*)(const SourceContext&);

struct SourceEntry {
  std::string_view name;
  SourceFactory make;
};

std::span<const SourceEntry> source_registry() noexcept;
std::span<const std::string_view> source_names() noexcept;

// The chain config.resolver.order names (the registry's order if unset).
[[nodiscard]] base::Result<std::vector<std::unique_ptr<source::Source>>> build_sources(
    const SourceContext& ctx);

}  // namespace onionmx::engine
