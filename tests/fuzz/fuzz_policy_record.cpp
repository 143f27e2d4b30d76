// fuzz_policy_record.cpp - the v=ONIONMX1 policy record parser
// (docs/policy-record.md) on arbitrary text.
// Invariants: an accepted record has max_age within the limit, and its
// canonical form (format_policy) parses back to the same policy; selection
// over the NUL-separated pieces of the input never crashes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "record/policy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace onionmx::record;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto p = parse_policy(text);
  if (p) {
    if (p->max_age > kPolicyMaxAgeLimit) std::abort();
    auto back = parse_policy(format_policy(*p));
    if (!back || back->mode != p->mode || back->max_age != p->max_age) std::abort();
  } else if (p.error().detail.empty()) {
    std::abort();
  }
  std::vector<std::string> records;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i)
    if (i == text.size() || text[i] == '\0') {
      records.emplace_back(text.substr(start, i - start));
      start = i + 1;
    }
  auto s = select_policy(records);
  if (!s && s.error().detail.empty()) std::abort();
  return 0;
}
