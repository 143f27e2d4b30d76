// fuzz_minisign_key.cpp - minisign public and secret key parsers on
// arbitrary bytes.
//
// Invariants: rejections carry a reason; an accepted public key formats
// back to a file that parses to the same key; an accepted unencrypted
// secret key re-encodes and parses to the same key.  Encrypted keys are
// only classified (scrypt would make each input cost seconds).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "crypto/minisign.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace onionmx::crypto;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto pub = parse_minisign_public_key(in);
  if (pub) {
    auto again = parse_minisign_public_key(format_minisign_public_key(*pub));
    if (!again || again->key_id != pub->key_id || again->pk != pub->pk) std::abort();
  } else if (pub.error().detail.empty()) {
    std::abort();
  }
  auto encrypted = minisign_secret_key_is_encrypted(in);
  if (!encrypted) {
    if (encrypted.error().detail.empty()) std::abort();
    return 0;
  }
  if (*encrypted) return 0;
  auto sec = parse_minisign_secret_key(in, std::nullopt);
  if (!sec) {
    if (sec.error().detail.empty()) std::abort();
    return 0;
  }
  auto text = format_minisign_secret_key(*sec, std::nullopt);
  if (!text) std::abort();
  auto again = parse_minisign_secret_key(*text, std::nullopt);
  if (!again || again->sk != sec->sk || again->key_id != sec->key_id) std::abort();
  return 0;
}
