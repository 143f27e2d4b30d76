// fuzz_static_map_json.cpp - map::parse_map on arbitrary bytes.
//
// Invariants: a rejection carries a reason; an accepted map formats back
// (format_map) to a document that parses to the same entries, serial and
// expiry, and every key of it is found by lookup.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "map/static_map.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace onionmx;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto m = map::parse_map(in, map::ParseOptions{1, 20});
  if (!m) {
    if (m.error().detail.empty()) std::abort();
    return 0;
  }
  std::vector<map::Entry> entries;
  m->for_each([&](std::string_view key, const std::vector<record::Route>& routes) {
    entries.push_back(map::Entry{std::string(key), routes});
  });
  auto again =
      map::parse_map(map::format_map(m->serial(), m->expires(), entries), map::ParseOptions{1, 20});
  if (!again || again->serial() != m->serial() || again->expires() != m->expires() ||
      again->size() != m->size())
    std::abort();
  for (const auto& e : entries) {
    // A ".parent" key answers for a child name (unless a longer key does).
    const std::string probe = e.key.front() == '.' ? "x" + e.key : e.key;
    if (probe.size() > 253) continue;
    const auto* a = m->lookup(probe);
    const auto* b = again->lookup(probe);
    if (!a || !b || a->empty() || a->size() != b->size()) std::abort();
    for (std::size_t i = 0; i < a->size(); ++i)
      if ((*a)[i].onion != (*b)[i].onion || (*a)[i].port != (*b)[i].port ||
          (*a)[i].priority != (*b)[i].priority)
        std::abort();
  }
  return 0;
}
