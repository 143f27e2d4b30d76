#include "engine/sources.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <string>
#include <system_error>

#include "base/file.hpp"
#include "base/strings.hpp"
#include "crypto/crypto.hpp"
#include "dns/cares_client.hpp"
#include "map/signed_map.hpp"
#include "source/cache_source.hpp"
#include "source/dns_source.hpp"
#include "source/local_domains.hpp"
#include "source/map_source.hpp"
#include "source/onion_recipients.hpp"
#include "source/trust_lookup.hpp"

namespace onionmx::engine {
namespace {

base::Result<std::unique_ptr<source::Source>> make_local(const SourceContext& c) {
  return std::make_unique<source::LocalDomainSource>(c.config.resolver.local_domains);
}

base::Result<std::unique_ptr<source::Source>> make_onion(const SourceContext& c) {
  return std::make_unique<source::OnionAddressSource>(c.config.resolver.onion_port);
}

// Loads the configured map; any refusal fails the whole generation, so a
// reload with a bad map leaves the running one in place.
base::Result<std::unique_ptr<source::Source>> make_map(const SourceContext& c) {
  const config::MapSettings& m = c.config.map;
  if (m.path.empty()) return std::make_unique<source::MapSource>(nullptr, c.clock, c.log);
  map::LoadOptions o;
  for (const auto& path : m.trusted_keys) {
    auto text = base::read_file(path, 4096, "4096 bytes");
    if (!text) return base::fail(text.error());
    auto key = crypto::parse_minisign_public_key(*text);
    if (!key) return base::fail(key.error().code, path + ": " + key.error().detail);
    o.trusted_keys.push_back(*key);
  }
  if (!m.state_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(m.state_dir, ec);
    if (ec)
      return base::fail(base::Status::Io, "state directory " + m.state_dir + ": " + ec.message());
  }
  o.state_dir = m.state_dir;
  o.allow_unsigned = m.allow_unsigned;
  o.now =
      std::chrono::duration_cast<std::chrono::seconds>(c.clock.wall().time_since_epoch()).count();
  auto loaded = map::load_signed_map(m.path, o);
  if (!loaded) return base::fail(loaded.error().code, m.path + ": " + loaded.error().detail);
  if (c.log) {
    for (const auto& w : loaded->warnings) c.log(base::LogLevel::Warning, m.path + ": " + w);
    c.log(base::LogLevel::Info, m.path + ": static map serial " +
                                    std::to_string(loaded->map.serial()) + ", " +
                                    std::to_string(loaded->map.size()) + " entries");
  }
  c.shared.map =
      MapInfo{true, loaded->map.serial(), loaded->map.size(), loaded->map.expires(), o.now};
  auto shared = std::make_shared<const map::StaticMap>(std::move(loaded->map));
  return std::make_unique<source::MapSource>(std::move(shared), c.clock, c.log);
}

std::uint32_t random_uniform(std::uint32_t n) { return crypto::random_uniform_inclusive(n); }

// The DNS client, behind the cache when there is one; built by whichever
// of the two links comes first.
base::Result<void> build_shared(const SourceContext& c) {
  SharedParts& p = c.shared;
  if (p.built) return {};
  p.built = true;
  const record::TrustSettings& trust = c.config.trust;
  if (trust.any()) p.gate = std::make_shared<source::TrustGate>(c.cache, c.clock, c.log, trust);
  if (!p.dns_in_chain) {
    // A cache link alone answers what is stored and never refreshes it.
    if (c.cache)
      p.cached = std::make_shared<source::CachedLookup>(nullptr, c.cache, c.clock, c.log);
    return {};
  }
  auto client = dns::CaresClient::create(c.loop, c.config.dns, c.log, c.clock, p.dns_stats);
  if (!client) return base::fail(client.error());
  // The policy and guard queries go with the SRV query, below the cache, so
  // their answers are cached with the set (docs/route-trust.md).
  std::unique_ptr<source::SrvLookup> fetcher;
  if (trust.any()) {
    source::RrLookup& rr = **client;
    fetcher = std::make_unique<source::TrustLookup>(std::move(*client), rr, trust,
                                                    c.config.dns.srv_prefix);
  } else {
    fetcher = std::move(*client);
  }
  if (!c.cache) {
    p.dns = std::move(fetcher);
    return {};
  }
  p.cached = std::make_shared<source::CachedLookup>(std::move(fetcher), c.cache, c.clock, c.log);
  p.dns = p.cached;
  return {};
}

base::Result<std::unique_ptr<source::Source>> make_cache(const SourceContext& c) {
  if (!c.cache) return std::make_unique<source::CacheSource>(nullptr, &random_uniform);
  ONIONMX_TRY(build_shared(c));
  return std::make_unique<source::CacheSource>(c.shared.cached, &random_uniform, c.shared.gate);
}

base::Result<std::unique_ptr<source::Source>> make_dns(const SourceContext& c) {
  ONIONMX_TRY(build_shared(c));
  return std::make_unique<source::DnsSource>(c.shared.dns, &random_uniform, c.shared.gate);
}

// The default chain, in order: answers that need no network first.
constexpr std::array kRegistry = {
    SourceEntry{source::LocalDomainSource::kName, &make_local},
    SourceEntry{source::OnionAddressSource::kName, &make_onion},
    // Pinned routes win over DNS: a pinned domain never leaks a lookup.
    SourceEntry{source::MapSource::kName, &make_map},
    // Fresh cached DNS answers, before DNS itself (docs/cache.md).
    SourceEntry{source::CacheSource::kName, &make_cache},
    SourceEntry{source::DnsSource::kName, &make_dns},
};

constexpr auto kNames = [] {
  std::array<std::string_view, kRegistry.size()> names{};
  for (std::size_t i = 0; i < kRegistry.size(); ++i) names[i] = kRegistry[i].name;
  return names;
}();

}  // namespace

std::span<const SourceEntry> source_registry() noexcept { return kRegistry; }
std::span<const std::string_view> source_names() noexcept { return kNames; }

base::Result<std::vector<std::unique_ptr<source::Source>>> build_sources(const SourceContext& ctx) {
  std::vector<std::string_view> order(ctx.config.resolver.order.begin(),
                                      ctx.config.resolver.order.end());
  if (order.empty()) order.assign(kNames.begin(), kNames.end());
  ctx.shared.dns_in_chain =
      std::find(order.begin(), order.end(), source::DnsSource::kName) != order.end();
  std::vector<std::unique_ptr<source::Source>> out;
  for (std::string_view name : order) {
    auto it = std::find_if(kRegistry.begin(), kRegistry.end(),
                           [&](const SourceEntry& e) { return e.name == name; });
    if (it == kRegistry.end())
      return base::fail(base::Status::Inval, "unknown source \"" + base::printable(name) + "\"");
    auto src = it->make(ctx);
    if (!src) return base::fail(src.error());
    out.push_back(std::move(*src));
  }
  return out;
}

}  // namespace onionmx::engine
