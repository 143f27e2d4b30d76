// dns_source.hpp - the "dns" source: `_onion-mx._tcp.<domain>` SRV records,
// fetched through a SrvLookup (the c-ares client, usually behind the cache:
// source/cached_lookup), turned into an answer with the RFC 2782 order
// drawn anew for this lookup.  An answer the cache gave names "cache" as
// its source.
//
// Failures it reports are marked record::Failure::Dns, so the resolver's
// failure policy recognises them by kind, not by which source said them.
// .onion domains never reach DNS (RFC 7686), whatever the source order.
#pragma once

#include <memory>
#include <string_view>

#include "record/record_set.hpp"
#include "record/route.hpp"
#include "record/srv.hpp"
#include "source/source.hpp"
#include "source/srv_lookup.hpp"
#include "source/trust_gate.hpp"

namespace onionmx::source {

// The answer a record set gives, its routes in an order drawn with `rng`;
// source "dns", or "cache" for a set the cache served.
record::Answer answer_from_set(record::RecordSet set, const record::UniformRng& rng);

class DnsSource final : public Source {
 public:
  static constexpr std::string_view kName = "dns";
  // `gate` (may be null) applies policy, pins and the downgrade guard.
  DnsSource(std::shared_ptr<SrvLookup> lookup, record::UniformRng rng,
            std::shared_ptr<TrustGate> gate = nullptr);
  void lookup(const Query& q, StepCallback done) override;
  void shutdown() noexcept override { lookup_.reset(); }
  // Tests inject a deterministic generator for the RFC 2782 order.
  void set_rng(record::UniformRng rng) { rng_ = std::move(rng); }
  SrvLookup& fetcher() noexcept { return *lookup_; }

 private:
  // rng_ first: pending fetches may still answer while lookup_ goes.
  record::UniformRng rng_;
  std::shared_ptr<TrustGate> gate_;
  std::shared_ptr<SrvLookup> lookup_;
};

}  // namespace onionmx::source
