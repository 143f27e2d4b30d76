// rr_lookup.hpp - the seam for the DNS queries besides the SRV one: the
// policy TXT record and the downgrade guard's MTA-STS TXT, MX and TLSA
// queries (docs/route-trust.md).  Implemented by dns::CaresClient, which
// gives them the same time budget, query IDs and in-flight limit as the
// SRV lookups; tests inject fakes.  The callback runs exactly once,
// possibly before query() returns.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.hpp"

namespace onionmx::source {

// The types asked for (RFC 1035 §3.2.2, RFC 6698 §7.1).
enum class RrType : std::uint16_t { Mx = 15, Txt = 16, Tlsa = 52 };

struct RrQuery {
  std::string name;  // presentation form, no trailing dot
  RrType type = RrType::Txt;
  bool explain = false;
  // Report the resolver's AD bit even with dns.dnssec = off: the guard's
  // queries, where a secure answer can only make onionmx stricter.
  bool trust_ad = false;
};

struct RrSet {
  // Ok: `data` holds the RRset; NotFound: NXDOMAIN or NODATA (a definitive
  // answer); Temp: no answer, `reason` says why.
  base::Status status = base::Status::Internal;
  // TXT: each record's character-strings joined (RFC 1035 §3.3.14);
  // MX: exchange names, lower case, no trailing dot, by preference;
  // TLSA: one empty string per record (only presence matters here).
  std::vector<std::string> data;
  std::uint32_t ttl = 0;       // positive, or RFC 2308 negative TTL
  bool authenticated = false;  // every answer of the chain had AD set
  std::string owner;           // after CNAMEs
  std::string reason;
  std::vector<std::string> explain;
};

using RrCallback = std::function<void(RrSet)>;

class RrLookup {
 public:
  virtual ~RrLookup() = default;
  virtual void query(const RrQuery& q, RrCallback done) = 0;
};

}  // namespace onionmx::source
