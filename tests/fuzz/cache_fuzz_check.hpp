// cache_fuzz_check.hpp - the invariants of cache::parse, shared by
// fuzz_cache_file (whole files) and fuzz_cache_entry (entry lines inside a
// correctly checksummed file).  Aborts on a violation:
//   - a rejection carries a reason;
//   - every accepted entry has a syntactically valid lower-case domain that
//     is not an onion name; a positive one has an owner and 1..n records,
//     each with a valid onion target (as the file reader checks it: syntax
//     and checksum, not the Ed25519 point) and a port; a negative one none;
//   - the accepted entries, put into a Cache large enough for all of them
//     and serialised again, parse to the same entries (a domain listed
//     twice keeps its last entry, at the place of its last use, as
//     cache::load would put them).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "address/domain.hpp"
#include "address/onion_address.hpp"
#include "base/strings.hpp"
#include "cache/cache.hpp"
#include "cache/cache_file.hpp"

namespace onionmx::fuzz {

inline bool same_records(const std::vector<record::SrvRecord>& a,
                         const std::vector<record::SrvRecord>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].priority != b[i].priority || a[i].weight != b[i].weight || a[i].port != b[i].port ||
        a[i].target != b[i].target)
      return false;
  return true;
}

inline bool same_facts(const cache::Entry& a, const cache::Entry& b) {
  return a.policy.state == b.policy.state && a.policy.policy.mode == b.policy.policy.mode &&
         a.policy.policy.max_age == b.policy.policy.max_age &&
         a.policy.authenticated == b.policy.authenticated && a.policy.reason == b.policy.reason &&
         a.guard.state == b.guard.state && a.guard.mta_sts == b.guard.mta_sts &&
         a.guard.dane == b.guard.dane && a.guard.dane_host == b.guard.dane_host &&
         a.guard.reason == b.guard.reason;
}

inline bool same_entry(const cache::Entry& a, const cache::Entry& b) {
  return a.domain == b.domain && a.positive == b.positive && a.ttl == b.ttl &&
         a.fetched_wall == b.fetched_wall && a.authenticated == b.authenticated &&
         a.owner == b.owner && a.reason == b.reason && same_records(a.records, b.records) &&
         same_facts(a, b);
}

inline bool same_pin(const record::Pin& a, const record::Pin& b) {
  return a.domain == b.domain && a.expires == b.expires && a.max_age == b.max_age &&
         same_records(a.records, b.records);
}

inline void check_domain(const std::string& d) {
  if (!address::domain_syntax_problem(d).empty() || d != base::ascii_lowercase(d) ||
      address::is_onion_name(d))
    std::abort();
}

inline void check_records(const std::vector<record::SrvRecord>& records) {
  if (records.empty()) std::abort();
  auto trusted = [](const void*, const std::array<std::uint8_t, 32>&) { return true; };
  for (const auto& r : records) {
    auto onion = address::parse_onion(r.target, trusted, nullptr);
    if (!onion || onion->full != r.target || r.port == 0) std::abort();
  }
}

inline void check_entry(const cache::Entry& e) {
  check_domain(e.domain);
  if (e.policy.policy.max_age > record::kPolicyMaxAgeLimit || e.policy.reason.size() > 512 ||
      e.guard.reason.size() > 512 ||
      (!e.guard.dane_host.empty() && !address::domain_syntax_problem(e.guard.dane_host).empty()))
    std::abort();
  if (!e.positive) {
    if (!e.records.empty()) std::abort();
    return;
  }
  if (!address::domain_syntax_problem(e.owner).empty()) std::abort();
  check_records(e.records);
}

inline void check_pin(const record::Pin& p) {
  check_domain(p.domain);
  check_records(p.records);
  if (p.max_age > record::kPolicyMaxAgeLimit) std::abort();
}

// Runs cache::parse on `bytes` and checks everything above.
inline void check_parse(std::string_view bytes) {
  auto parsed = cache::parse(bytes);
  if (!parsed) {
    if (parsed.error().detail.empty()) std::abort();
    return;
  }
  const auto& entries = parsed->entries;
  const auto& pins = parsed->pins;
  for (const auto& e : entries) check_entry(e);
  std::map<std::string, const record::Pin*> pin_by_domain;  // Cache order
  for (const auto& p : pins) {
    check_pin(p);
    if (!pin_by_domain.emplace(p.domain, &p).second) std::abort();
  }

  // What a Cache holds after putting them in order: one entry per domain,
  // least recently put first.
  std::unordered_map<std::string, std::size_t> last;
  for (std::size_t i = 0; i < entries.size(); ++i) last[entries[i].domain] = i;
  std::vector<const cache::Entry*> expected;
  for (std::size_t i = 0; i < entries.size(); ++i)
    if (last[entries[i].domain] == i) expected.push_back(&entries[i]);

  cache::Settings s;
  s.size = entries.size() + pins.size() + 1;
  cache::Cache c(s);
  for (const auto& e : entries) c.put(e);
  for (const auto& p : pins) c.put_pin(p);
  if (c.size() != expected.size() || c.pin_count() != pins.size()) std::abort();
  const std::string saved = cache::serialize(c, 1700000000);
  auto again = cache::parse(saved);
  if (!again || again->entries.size() != expected.size() || again->pins.size() != pins.size())
    std::abort();
  for (std::size_t i = 0; i < expected.size(); ++i)
    if (!same_entry(*expected[i], again->entries[i])) std::abort();
  std::size_t i = 0;
  for (const auto& [domain, p] : pin_by_domain)
    if (!same_pin(*p, again->pins[i++])) std::abort();
  // Serialising is deterministic: the second file is the same bytes.
  cache::Cache c2(s);
  for (const auto& e : again->entries) c2.put(e);
  for (const auto& p : again->pins) c2.put_pin(p);
  if (cache::serialize(c2, 1700000000) != saved) std::abort();
}

}  // namespace onionmx::fuzz
