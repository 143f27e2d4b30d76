// fuzz_hs_dir.cpp - parse_hs_files on arbitrary HiddenServiceDir contents.
//
// Input: first byte L, then L bytes of hs_ed25519_public_key, then the
// hostname file.  Invariant: an accepted directory's hostname is exactly the
// address encoded from the key in the key file.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "address/hs_dir.hpp"
#include "address/onion_address.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t key_len = data[0] < size - 1 ? data[0] : size - 1;
  const std::string_view key(reinterpret_cast<const char*>(data + 1), key_len);
  const std::string_view host(reinterpret_cast<const char*>(data + 1 + key_len),
                              size - 1 - key_len);
  auto r = onionmx::address::parse_hs_files(key, host, "key", "hostname");
  if (r) {
    if (key.size() != 64) std::abort();
    std::array<std::uint8_t, 32> pk{};
    std::memcpy(pk.data(), key.data() + 32, 32);
    if (onionmx::address::encode_onion(pk) != r->address) std::abort();
  } else if (r.error().detail.empty()) {
    std::abort();
  }
  return 0;
}
