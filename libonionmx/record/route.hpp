// route.hpp - what a lookup produces: an ordered list of onion routes plus
// the verdict, its origin and how long it may be cached.
//
// Answer.status uses the internal Status model: Ok = found, NotFound = no
// onion route (the MTA routes normally), anything else is an error that
// defers (never NotFound: that would send the mail over the clearnet).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.hpp"

namespace onionmx::record {

struct Route {
  std::string onion;  // lower case, "[label.]*<56>.onion", validated
  std::uint16_t port = 25;
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
};

// Origins that are not sources (the JSON `source` field).  A source's own
// name is its kName (source/*.hpp), spelled there once.
inline constexpr std::string_view kOriginNone = "none";      // decided before any source
inline constexpr std::string_view kOriginPolicy = "policy";  // the failure policy answered
inline constexpr std::string_view kOriginGuard = "guard";    // the downgrade guard refused a route
inline constexpr std::string_view kOriginPin = "pin";        // a pinned route, in place of DNS

// Why an answer failed, by kind: the failure policy applies to DNS
// failures only (docs/status-model.md), whatever source reported them.
// KnownRoute: DNS failed for a domain the cache knows to have an onion
// (past serve-stale); the policy never sends it to the clearnet.
enum class Failure { None, Dns, KnownRoute };

// Policy state of one answer (the JSON `policy` field).
struct AnswerPolicy {
  bool present = false;  // false: JSON null (no record, no live pin)
  std::string mode;      // "enforce", "testing", "none", "invalid"
  std::uint32_t max_age = 0;
  bool pinned = false;
  std::int64_t pin_expires = 0;
  bool authenticated = false;
  std::string error;  // mode "invalid"
};

struct Answer {
  base::Status status = base::Status::Internal;
  std::string key;            // as the MTA sent it
  std::string domain;         // lower case, no trailing dot; empty if none
  std::vector<Route> routes;  // best first; non-empty iff status == Ok
  // Points at a string with static storage (a kName or kOrigin*).
  std::string_view source = kOriginNone;
  Failure failure = Failure::None;
  std::uint32_t ttl = 0;             // seconds the answer may be cached
  bool authenticated = false;        // DNSSEC AD bit from a trusted resolver
  bool stale = false;                // served past its TTL (RFC 8767), from the cache
  std::uint32_t age = 0;             // seconds since the routes were fetched (cache)
  std::string reason;                // why (always set for non-Ok)
  AnswerPolicy policy;               // docs/route-trust.md
  std::vector<std::string> explain;  // decision path, when asked for
};

}  // namespace onionmx::record
