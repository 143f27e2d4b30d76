// onion_address.hpp - Tor v3 onion names: parse, validate, encode.
//
// Spec: rend-spec-v3 "Encoding onion addresses"
//   base32(PUBKEY(32) | CHECKSUM(2) | VERSION(1)) + ".onion", 56 characters,
//   CHECKSUM = SHA3-256(".onion checksum" | PUBKEY | VERSION)[:2].
// Stricter than tor (docs/dns-discovery.md, "Validation"): VERSION must be 3 and
// the key must be a canonical prime-order Ed25519 point, so identity,
// small-order, torsion and non-canonical keys are refused.  Accepts
// "[label.]*<56>.onion", one trailing dot, any ASCII case (folded to lower);
// only the 56-character label is validated cryptographically, the full name
// is kept for the SOCKS layer.  Pure: no I/O, no DNS (RFC 7686).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

namespace onionmx::address {

inline constexpr std::size_t kOnionLabelLength = 56;
inline constexpr std::size_t kV2LabelLength = 16;
inline constexpr std::uint8_t kOnionVersion = 3;

enum class OnionError {
  NotOnion,       // last label is not "onion"
  BadSyntax,      // empty or malformed labels, too long, non-ASCII
  BadLength,      // address label is not 56 characters
  V2Unsupported,  // 16 characters: v2 onion services no longer exist
  BadBase32,      // character outside a-z2-7
  BadVersion,     // version byte is not 3
  BadChecksum,    // SHA3-256 checksum mismatch
  BadKey,         // not a valid prime-order Ed25519 point
};

struct OnionProblem {
  OnionError kind;
  std::string detail;  // precise, human-readable reason
};

struct OnionName {
  std::string full;     // lower case, no trailing dot: "smtp.<56>.onion"
  std::string address;  // lower case: "<56>.onion"
  std::array<std::uint8_t, 32> pubkey{};
};

// Short stable word for an error class ("bad checksum", "v2 unsupported", ...).
std::string_view onion_error_name(OnionError e) noexcept;

// True when the last label (after stripping one trailing dot) is "onion",
// in any case.  Such names must never be sent to DNS.
bool is_onion_name(std::string_view name) noexcept;

[[nodiscard]] tl::expected<OnionName, OnionProblem> parse_onion(std::string_view name);

// The same, except that a key for which key_known_valid(ctx, key) is true
// skips the costly prime-order check (every other check still runs).  For
// keys the caller validated before and remembers in trusted storage (the
// static map's state directory).
using KeyPredicate = bool (*)(const void* ctx, const std::array<std::uint8_t, 32>& key);
[[nodiscard]] tl::expected<OnionName, OnionProblem> parse_onion(std::string_view name,
                                                                KeyPredicate key_known_valid,
                                                                const void* ctx);

// "<56>.onion" for a public key.  Does not check the key.
std::string encode_onion(std::span<const std::uint8_t, 32> pubkey);

}  // namespace onionmx::address
