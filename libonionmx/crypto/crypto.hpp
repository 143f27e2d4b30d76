// crypto.hpp - the only door to OpenSSL (libcrypto) and libsodium.
//
// SHA3-256 is FIPS 202 SHA3 (not Keccak), from OpenSSL's EVP_sha3_256:
// libsodium has none.  Ed25519 point validation and randomness come from
// libsodium.  No other module includes an OpenSSL or libsodium header.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace onionmx::crypto {

using Sha3Digest = std::array<std::uint8_t, 32>;

// Process-wide sodium_init(), once (std::call_once); safe to call often.
void init();

// false only if OpenSSL fails internally (never for valid input).
[[nodiscard]] bool sha3_256(std::span<const std::uint8_t> data, Sha3Digest& out) noexcept;

// libsodium crypto_core_ed25519_is_valid_point: canonical encoding, on the
// curve, not small order, in the prime-order subgroup.
[[nodiscard]] bool ed25519_is_valid_point(std::span<const std::uint8_t, 32> point) noexcept;

void random_bytes(std::span<std::uint8_t> out) noexcept;
// Uniform integer in [0, upper_inclusive].
std::uint32_t random_uniform_inclusive(std::uint32_t upper_inclusive) noexcept;

}  // namespace onionmx::crypto
