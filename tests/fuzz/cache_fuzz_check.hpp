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

inline bool same_entry(const cache::Entry& a, const cache::Entry& b) {
  return a.domain == b.domain && a.positive == b.positive && a.ttl == b.ttl &&
         a.fetched_wall == b.fetched_wall && a.authenticated == b.authenticated &&
         a.owner == b.owner && a.reason == b.reason && same_records(a.records, b.records);
}

inline void check_entry(const cache::Entry& e) {
  if (!address::domain_syntax_problem(e.domain).empty() ||
      e.domain != base::ascii_lowercase(e.domain) || address::is_onion_name(e.domain))
    std::abort();
  if (!e.positive) {
    if (!e.records.empty()) std::abort();
    return;
  }
  if (e.records.empty() || !address::domain_syntax_problem(e.owner).empty()) std::abort();
  auto trusted = [](const void*, const std::array<std::uint8_t, 32>&) { return true; };
  for (const auto& r : e.records) {
    auto onion = address::parse_onion(r.target, trusted, nullptr);
    if (!onion || onion->full != r.target || r.port == 0) std::abort();
  }
}

// Runs cache::parse on `bytes` and checks everything above.
inline void check_parse(std::string_view bytes) {
  auto parsed = cache::parse(bytes);
  if (!parsed) {
    if (parsed.error().detail.empty()) std::abort();
    return;
  }
  for (const auto& e : *parsed) check_entry(e);

  // What a Cache holds after putting them in order: one entry per domain,
  // least recently put first.
  std::unordered_map<std::string, std::size_t> last;
  for (std::size_t i = 0; i < parsed->size(); ++i) last[(*parsed)[i].domain] = i;
  std::vector<const cache::Entry*> expected;
  for (std::size_t i = 0; i < parsed->size(); ++i)
    if (last[(*parsed)[i].domain] == i) expected.push_back(&(*parsed)[i]);

  cache::Settings s;
  s.size = parsed->size() + 1;
  cache::Cache c(s);
  for (const auto& e : *parsed) c.put(e);
  if (c.size() != expected.size()) std::abort();
  const std::string saved = cache::serialize(c, 1700000000);
  auto again = cache::parse(saved);
  if (!again || again->size() != expected.size()) std::abort();
  for (std::size_t i = 0; i < expected.size(); ++i)
    if (!same_entry(*expected[i], (*again)[i])) std::abort();
  // Serialising is deterministic: the second file is the same bytes.
  cache::Cache c2(s);
  for (const auto& e : *again) c2.put(e);
  if (cache::serialize(c2, 1700000000) != saved) std::abort();
}

}  // namespace onionmx::fuzz
