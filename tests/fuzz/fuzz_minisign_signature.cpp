// fuzz_minisign_signature.cpp - parse_minisign_signature on arbitrary bytes,
// then verification against the minisign 0.11 test key of
// docs/map-format.md.
//
// Invariants: a rejection carries a reason; an accepted signature never
// verifies a message other than the documented map.txt under that key
// (every input here differs from the real signature file or leaves the
// message fixed), and verification never crashes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "crypto/minisign.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace onionmx::crypto;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto sig = parse_minisign_signature(in);
  if (!sig) {
    if (sig.error().detail.empty()) std::abort();
    return 0;
  }
  static const auto key =
      *parse_minisign_public_key("RWQkBPB6rugP5iC5uIpMuQopJWiA3rJ+zFFtjFnS12SS/ABH9dexh/Vc");
  static constexpr std::string_view kOther = "not the signed map\n";
  auto r = verify_minisign(
      key, *sig, std::span(reinterpret_cast<const std::uint8_t*>(kOther.data()), kOther.size()));
  if (r) std::abort();  // a forgery
  if (r.error().detail.empty()) std::abort();
  return 0;
}
