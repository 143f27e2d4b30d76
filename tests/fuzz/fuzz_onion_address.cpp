// fuzz_onion_address.cpp - parse_onion on arbitrary bytes.
//
// Invariants: an accepted name re-encodes from its key to exactly its
// address label, is recognised by is_onion_name, ends with that address,
// is lower case, and parses again to the same result.  A rejection always
// carries a reason.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "address/onion_address.hpp"

namespace {

using onionmx::address::encode_onion;
using onionmx::address::is_onion_name;
using onionmx::address::parse_onion;

void check(std::string_view in) {
  auto r = parse_onion(in);
  if (!r) {
    if (r.error().detail.empty()) std::abort();
    return;
  }
  if (encode_onion(r->pubkey) != r->address) std::abort();
  if (!is_onion_name(in)) std::abort();
  if (r->address.size() != 56 + 6) std::abort();
  if (r->full.size() < r->address.size() ||
      r->full.compare(r->full.size() - r->address.size(), r->address.size(), r->address) != 0)
    std::abort();
  for (char c : r->full)
    if (c >= 'A' && c <= 'Z') std::abort();
  auto again = parse_onion(r->full);
  if (!again || again->full != r->full || again->address != r->address ||
      again->pubkey != r->pubkey)
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  check(in);
  // Bare labels (no dot) also go through as "<input>.onion", so the fuzzer
  // reaches base32, version, checksum and key checks without having to
  // invent the suffix first.
  if (in.find('.') == std::string_view::npos && size <= 300) check(std::string(in) + ".onion");
  return 0;
}
