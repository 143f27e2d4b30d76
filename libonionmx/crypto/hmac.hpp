// hmac.hpp - HMAC (RFC 2104) over SHA-1 and SHA-2, constant-time compare,
// base64 (RFC 4648 §4) for key material.
//
// Used by TSIG (RFC 8945, dns/tsig.*).  HMAC comes from OpenSSL 3 EVP_MAC
// ("HMAC" with the digest as a parameter), MAC comparison from CRYPTO_memcmp,
// base64 from libsodium (sodium_base642bin, original variant with padding,
// as BIND's tsig-keygen writes it).  Part of crypto/, the only module that
// includes OpenSSL or libsodium.  Known-answer tests: RFC 4231 (SHA-2) and
// RFC 2202 (SHA-1) in tests/unit/test_hmac.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace onionmx::crypto {

enum class HmacDigest { Sha1, Sha224, Sha256, Sha384, Sha512 };

// Output length in bytes: 20, 28, 32, 48, 64.
std::size_t hmac_size(HmacDigest d) noexcept;

// HMAC of the concatenation of `parts` (no copy of the pieces is made).
// Empty on an internal OpenSSL failure only (any key length is valid).
[[nodiscard]] std::optional<std::vector<std::uint8_t>> hmac(
    HmacDigest d, std::span<const std::uint8_t> key,
    std::span<const std::span<const std::uint8_t>> parts);

[[nodiscard]] std::optional<std::vector<std::uint8_t>> hmac(HmacDigest d,
                                                            std::span<const std::uint8_t> key,
                                                            std::span<const std::uint8_t> data);

// Equal sizes and equal bytes; the time taken depends on the size only.
[[nodiscard]] bool equal_constant_time(std::span<const std::uint8_t> a,
                                       std::span<const std::uint8_t> b) noexcept;

// Strict base64 (RFC 4648 §4, '=' padding required); blanks (space, tab,
// CR, LF) between characters are ignored.  Empty optional on any other
// character or bad padding.
[[nodiscard]] std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);
std::string base64_encode(std::span<const std::uint8_t> bytes);

}  // namespace onionmx::crypto
