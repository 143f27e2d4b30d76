#include "engine/sources.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "base/strings.hpp"
#include "crypto/crypto.hpp"
#include "dns/cares_client.hpp"
#include "source/dns_source.hpp"
#include "source/local_domains.hpp"
#include "source/onion_recipients.hpp"

namespace onionmx::engine {
namespace {

base::Result<std::unique_ptr<source::Source>> make_local(const SourceContext& c) {
  return std::make_unique<source::LocalDomainSource>(c.config.resolver.local_domains);
}

base::Result<std::unique_ptr<source::Source>> make_onion(const SourceContext& c) {
  return std::make_unique<source::OnionAddressSource>(c.config.resolver.onion_port);
}

base::Result<std::unique_ptr<source::Source>> make_dns(const SourceContext& c) {
  auto client = dns::CaresClient::create(c.loop, c.config.dns, c.log, c.clock);
  if (!client) return base::fail(client.error());
  return std::make_unique<source::DnsSource>(
      std::move(*client), [](std::uint32_t n) { return crypto::random_uniform_inclusive(n); });
}

// The default chain, in order: answers that need no network first.
constexpr std::array kRegistry = {
    SourceEntry{source::LocalDomainSource::kName, &make_local},
    SourceEntry{source::OnionAddressSource::kName, &make_onion},
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

base::Result<std::vector<std::unique_ptr<source::Source>>> build_sources(
    const SourceContext& ctx) {
  std::vector<std::string_view> order(ctx.config.resolver.order.begin(),
                                      ctx.config.resolver.order.end());
  if (order.empty()) order.assign(kNames.begin(), kNames.end());
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
