// trust.hpp - what DNS said about a domain besides its SRV records: the
// policy record and the facts the downgrade guard needs (docs/route-trust.md).
//
// Fetched in parallel with the SRV set (source/trust_lookup), cached with it
// (cache/), and judged per lookup, together with the domain's pin, by
// source/trust_gate.  Plain data: no I/O here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "record/policy.hpp"
#include "record/srv.hpp"

namespace onionmx::record {

// [trust] of onionmx.toml(5) (docs/route-trust.md).
struct TrustSettings {
  bool policy = true;           // read the policy record, keep pins
  bool downgrade_guard = true;  // MTA-STS / DANE downgrade guard
  // Ask the policy and guard queries with the SRV query (one round trip,
  // four queries per lookup), or only once it gave routes (one query for
  // the many domains without an onion; one more round trip for the others).
  bool parallel = true;

  bool any() const noexcept { return policy || downgrade_guard; }
};

// The `v=ONIONMX1` TXT record at the SRV name (docs/policy-record.md).
struct PolicyFacts {
  enum class State : std::uint8_t {
    Unknown,  // not asked (turned off, or the SRV answer came first and gave no route)
    Absent,   // no policy record (NXDOMAIN, NODATA, or no TXT beginning v=ONIONMX1)
    Valid,
    Invalid,  // several policy records, or one that does not parse: `reason`
    Failed,   // the TXT query failed: `reason`
  };
  State state = State::Unknown;
  Policy policy;               // Valid
  bool authenticated = false;  // the TXT answer (or its denial) had AD set
  std::string reason;          // Invalid, Failed
};

// MTA-STS and DANE presence (RFC 8461 §3.1, RFC 7672 §2.2).
struct GuardFacts {
  enum class State : std::uint8_t {
    Unknown,  // not asked
    Checked,
    Failed,  // a query failed: `reason`; neither flag may be trusted
  };
  State state = State::Unknown;
  bool mta_sts = false;   // _mta-sts.<domain> has a TXT record beginning v=STSv1
  bool dane = false;      // a DNSSEC-secure MX host has a DNSSEC-secure TLSA RRset
  std::string dane_host;  // the MX host whose TLSA records were found
  std::string reason;     // Failed
};

// A pinned route set (enforce policy), kept by the cache until `expires`.
struct Pin {
  std::string domain;
  std::vector<SrvRecord> records;  // as answered when pinned, wire order
  std::int64_t expires = 0;        // Unix seconds
  std::uint32_t max_age = 0;       // of the policy that pinned it
};

}  // namespace onionmx::record
