// policy.hpp - the onionmx policy TXT record (docs/policy-record.md).
//
//   _onion-mx._tcp.<domain> TXT "v=ONIONMX1; mode=enforce; max_age=604800"
//
// Grammar modelled on MTA-STS (RFC 8461 §3.1): version first and
// case-sensitive, fields separated by *WSP ";" *WSP, optional trailing ";",
// `mode` (enforce / testing / none) and `max_age` (decimal seconds,
// 0..31557600) exactly once each, unknown extensions (RFC 8461 sts-extension
// syntax) ignored.  Selection across several TXT records (select_policy):
// drop those not beginning with "v=ONIONMX1;" (or equal to "v=ONIONMX1");
// exactly one must be left.  Pure; fuzzed (tests/fuzz/fuzz_policy_record.cpp).
// Only the grammar lives here; what a lookup does with the policy is
// source/trust_gate's (docs/route-trust.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace onionmx::record {

enum class PolicyMode { Enforce, Testing, None };

inline constexpr std::uint32_t kPolicyMaxAgeLimit = 31557600;  // as MTA-STS max_age

struct Policy {
  PolicyMode mode = PolicyMode::Enforce;
  std::uint32_t max_age = 0;
};

std::string_view policy_mode_name(PolicyMode m) noexcept;  // "enforce", "testing", "none"
bool policy_mode_from_name(std::string_view s, PolicyMode& out) noexcept;

// One record's text (character-strings already joined).  BadData with the
// reason when it does not match the grammar.
[[nodiscard]] base::Result<Policy> parse_policy(std::string_view text);

// Canonical text: "v=ONIONMX1; mode=<mode>; max_age=<n>".
std::string format_policy(const Policy& p);

// RFC 8461 §3.1 selection over all TXT records at the name.  NotFound when
// none begins with the version, BadData when several do or the one fails
// to parse.
[[nodiscard]] base::Result<Policy> select_policy(const std::vector<std::string>& records);

}  // namespace onionmx::record
