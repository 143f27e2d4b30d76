// record_set.hpp - an SRV record set as the DNS delivered it, before any
// per-lookup choice.
//
// The DNS client validates targets once, when the answer arrives; the RFC
// 2782 weighted order is drawn later, for every lookup that uses the set
// (record/srv.hpp order_routes), so a cache in between can serve one set
// many times and still spread the load as the domain's weights ask.  The
// receive time and TTL let such a cache age the set under any Clock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/status.hpp"
#include "record/srv.hpp"
#include "record/trust.hpp"

namespace onionmx::record {

struct RecordSet {
  // Ok: `records` holds at least one valid onion target.
  // NotFound: NXDOMAIN, NODATA, a lone "." target or no valid target; a
  //   definitive negative answer, cacheable for `ttl` (RFC 2308).
  // Temp (or another error): no answer; `reason` says why.
  base::Status status = base::Status::Internal;
  std::vector<SrvRecord> records;  // valid targets only, in wire order
  std::uint32_t ttl = 0;           // positive or negative TTL, already capped
  bool authenticated = false;      // every answer of the chain had AD set
  base::Clock::Monotonic received{};
  std::string owner;                 // the name whose RRset this is (after CNAMEs)
  std::string reason;                // NotFound and failures
  std::vector<std::string> explain;  // when asked for
  // Set by the cache (source/cached_lookup): answered from a stored set,
  // `age` seconds after it was fetched; `stale` when served past its TTL
  // because a refresh failed (RFC 8767).
  bool from_cache = false;
  bool stale = false;
  std::uint32_t age = 0;
  // A failure for a domain the cache knows to have an onion route: never
  // the clearnet failure policy (record::Failure::KnownRoute).
  bool known_route = false;
  // Fetched with the SRV set (source/trust_lookup, docs/route-trust.md).
  PolicyFacts policy;
  GuardFacts guard;
};

}  // namespace onionmx::record
