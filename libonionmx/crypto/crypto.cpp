#include "crypto/crypto.hpp"

#include <openssl/evp.h>
#include <sodium.h>

#include <mutex>

namespace onionmx::crypto {

void init() {
  static std::once_flag once;
  std::call_once(once, [] {
    // sodium_init returns 1 when already initialised, -1 only on failure to
    // open the system RNG, which later calls would hit anyway.
    if (sodium_init() < 0) {
      // Nothing to do here: randombytes aborts by itself if it has no RNG.
    }
  });
}

bool sha3_256(std::span<const std::uint8_t> data, Sha3Digest& out) noexcept {
  // OpenSSL 3 looks the algorithm up on every EVP_sha3_256() digest
  // (implicit fetch); fetching it once halves the cost of a checksum.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA3-256", nullptr);
  unsigned int len = 0;
  return md && EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) == 1 &&
         len == out.size();
}

bool ed25519_is_valid_point(std::span<const std::uint8_t, 32> point) noexcept {
  init();
  return crypto_core_ed25519_is_valid_point(point.data()) == 1;
}

void random_bytes(std::span<std::uint8_t> out) noexcept {
  init();
  randombytes_buf(out.data(), out.size());
}

std::uint32_t random_uniform_inclusive(std::uint32_t upper_inclusive) noexcept {
  init();
  if (upper_inclusive == UINT32_MAX) return randombytes_random();
  return randombytes_uniform(upper_inclusive + 1);
}

}  // namespace onionmx::crypto
