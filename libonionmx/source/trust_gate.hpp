// trust_gate.hpp - judges a record set by the domain's policy, its pin and
// the downgrade guard (docs/route-trust.md), turning it into the answer.
//
// The DNS and cache links both call it, for sets fresh from DNS and from
// the cache alike: the facts (record::PolicyFacts, record::GuardFacts) are
// stored with the set, the pins in the cache::Cache.  The decision:
//  - a live pin (enforce policy, until its wall-clock expiry) keeps its
//    routes against a changed or vanished SRV set unless DNSSEC
//    authenticates the change, and turns DNS failures into failures the
//    clearnet policy never touches (record::Failure::KnownRoute);
//  - the guard refuses an unauthenticated route of a domain that publishes
//    MTA-STS or DANE (not found, source "guard"), and defers when its own
//    queries failed;
//  - a used route under `enforce` is pinned for max_age.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "cache/cache.hpp"
#include "record/record_set.hpp"
#include "record/route.hpp"
#include "record/srv.hpp"
#include "record/trust.hpp"
#include "source/source.hpp"

namespace onionmx::source {

class TrustGate {
 public:
  // `cache` may be null (no cache: no pins).
  TrustGate(std::shared_ptr<cache::Cache> cache, const base::Clock& clock, base::LogSink log,
            record::TrustSettings settings);

  record::Answer judge(record::RecordSet set, const Query& q, const record::UniformRng& rng);

 private:
  void log(base::LogLevel level, const std::string& msg) const;
  std::int64_t now_wall() const;

  std::shared_ptr<cache::Cache> cache_;
  const base::Clock& clock_;
  base::LogSink log_;
  record::TrustSettings settings_;
};

// "2026-12-09T10:00:00Z" (RFC 3339), for messages.
std::string utc_time(std::int64_t unix_seconds);

}  // namespace onionmx::source
