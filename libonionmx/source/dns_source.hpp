// dns_source.hpp - the "dns" source: `_onion-mx._tcp.<domain>` SRV records,
// fetched through a SrvLookup (the c-ares client, later a cache), turned
// into an answer with the RFC 2782 order drawn anew for this lookup.
//
// Failures it reports are marked record::Failure::Dns, so the resolver's
// failure policy recognises them by kind, not by which source said them.
// .onion domains never reach DNS (RFC 7686), whatever the source order.
#pragma once

#include <memory>
#include <string_view>

#include "record/srv.hpp"
#include "source/source.hpp"
#include "source/srv_lookup.hpp"

namespace onionmx::source {

class DnsSource final : public Source {
 public:
  static constexpr std::string_view kName = "dns";
  DnsSource(std::unique_ptr<SrvLookup> lookup, record::UniformRng rng);
  void lookup(const Query& q, StepCallback done) override;
  // Tests inject a deterministic generator for the RFC 2782 order.
  void set_rng(record::UniformRng rng) { rng_ = std::move(rng); }
  SrvLookup& fetcher() noexcept { return *lookup_; }

 private:
  std::unique_ptr<SrvLookup> lookup_;
  record::UniformRng rng_;
};

}  // namespace onionmx::source
