// trust_lookup.hpp - the SRV lookup together with the queries route trust
// needs (docs/route-trust.md): a SrvLookup that wraps the DNS client and,
// in parallel with the SRV query, asks for the policy record
// (`_onion-mx._tcp.<domain> TXT`) and the downgrade guard's facts
// (`_mta-sts.<domain> TXT`, `<domain> MX`, then `_25._tcp.<mx> TLSA` when
// the MX RRset is DNSSEC-secure, RFC 7672 §2.2.1).
//
// The record set it answers carries record::PolicyFacts and
// record::GuardFacts, so the cache in front of it (source/cached_lookup)
// stores them with the SRV set and the trust gate (source/trust_gate)
// judges them per lookup.  A set without routes is answered at once: there
// is nothing to guard.  A DNSSEC-authenticated set does not wait for the
// guard.  Sits between CachedLookup and dns::CaresClient.
#pragma once

#include <memory>
#include <string>

#include "record/trust.hpp"
#include "source/rr_lookup.hpp"
#include "source/srv_lookup.hpp"

namespace onionmx::source {

// At most this many MX hosts are checked for TLSA records.
inline constexpr std::size_t kMaxGuardMxHosts = 8;

// Whether a TXT record is an MTA-STS record (RFC 8461 §3.1: "v=STSv1" first,
// then ";" or the end, blanks allowed before the ";").
bool is_mta_sts_record(std::string_view text) noexcept;

class TrustLookup final : public SrvLookup {
 public:
  // `rr` is usually the same object as `inner` (dns::CaresClient); it must
  // live as long as `inner`.
  TrustLookup(std::unique_ptr<SrvLookup> inner, RrLookup& rr, record::TrustSettings settings,
              std::string srv_prefix);
  // The inner lookup goes first: pending parts answer with its shutdown
  // failure, and every fetch is answered.
  ~TrustLookup() override;
  TrustLookup(const TrustLookup&) = delete;
  TrustLookup& operator=(const TrustLookup&) = delete;

  void fetch(const Query& q, FetchCallback done) override;
  std::size_t pending() const noexcept override { return inner_->pending(); }

 private:
  struct Join;
  void ask_policy(const std::shared_ptr<Join>& j);
  void ask_mta_sts(const std::shared_ptr<Join>& j);
  void ask_mx(const std::shared_ptr<Join>& j);
  static void maybe_finish(const std::shared_ptr<Join>& j);

  record::TrustSettings settings_;
  std::string srv_prefix_;
  RrLookup* rr_;
  bool shutting_down_ = false;
  // Last: destroyed first.
  std::unique_ptr<SrvLookup> inner_;
};

}  // namespace onionmx::source
