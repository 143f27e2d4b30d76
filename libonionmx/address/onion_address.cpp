#include "address/onion_address.hpp"

#include <cstring>
#include <unordered_map>
#include <vector>

#include "address/domain.hpp"
#include "base/base32.hpp"
#include "base/strings.hpp"
#include "crypto/crypto.hpp"

namespace onionmx::address {
namespace {

constexpr std::string_view kSuffix = ".onion";
constexpr std::string_view kChecksumPrefix = ".onion checksum";
constexpr std::size_t kMaxNameLength = 253;

tl::unexpected<OnionProblem> problem(OnionError kind, std::string detail) {
  return tl::unexpected<OnionProblem>(OnionProblem{kind, std::move(detail)});
}

std::array<std::uint8_t, 2> checksum(std::span<const std::uint8_t, 32> pk, std::uint8_t version) {
  std::array<std::uint8_t, 15 + 32 + 1> in{};
  std::memcpy(in.data(), kChecksumPrefix.data(), kChecksumPrefix.size());
  std::memcpy(in.data() + 15, pk.data(), 32);
  in[47] = version;
  crypto::Sha3Digest md{};
  if (!crypto::sha3_256(in, md)) return {0, 0};  // cannot match a real address
  return {md[0], md[1]};
}

// Full validation costs a base32 decode, a SHA3-256 and, above all,
// crypto_core_ed25519_is_valid_point: a scalar multiplication (~50 us, 85%
// of a DNS lookup's CPU before this memo).  A mail server routes to a small
// set of onions again and again, and validity is a pure function of the
// 56-character label, so labels that passed are remembered per thread (no
// locks), bounded, forgotten all at once when full.  Rejections are not
// remembered: they are rare and each keeps its precise reason.
constexpr std::size_t kMaxMemo = 4096;

std::unordered_map<std::string, std::array<std::uint8_t, 32>>& valid_labels() {
  thread_local std::unordered_map<std::string, std::array<std::uint8_t, 32>> memo;
  return memo;
}

std::string_view strip_dot(std::string_view s) noexcept {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view onion_error_name(OnionError e) noexcept {
  switch (e) {
    case OnionError::NotOnion:
      return "not an onion name";
    case OnionError::BadSyntax:
      return "bad syntax";
    case OnionError::BadLength:
      return "bad length";
    case OnionError::V2Unsupported:
      return "v2 unsupported";
    case OnionError::BadBase32:
      return "bad base32";
    case OnionError::BadVersion:
      return "bad version";
    case OnionError::BadChecksum:
      return "bad checksum";
    case OnionError::BadKey:
      return "bad key";
  }
  return "bad onion";
}

bool is_onion_name(std::string_view name) noexcept {
  name = strip_dot(name);
  return base::ends_with_label(name, "onion");
}

tl::expected<OnionName, OnionProblem> parse_onion(std::string_view input) {
  return parse_onion(input, nullptr, nullptr);
}

tl::expected<OnionName, OnionProblem> parse_onion(std::string_view input,
                                                  KeyPredicate key_known_valid, const void* ctx) {
  std::string_view stripped = strip_dot(input);
  if (!is_onion_name(stripped))
    return problem(OnionError::NotOnion, "not an onion name: " + base::printable(input));
  if (stripped.size() > kMaxNameLength)
    return problem(OnionError::BadSyntax, "name longer than 253 characters");
  for (unsigned char c : stripped)
    if (c < 0x21 || c > 0x7e)
      return problem(OnionError::BadSyntax, "non-printable or non-ASCII character in onion name");

  // "onion" and ".onion" name no service at all.
  if (stripped.size() <= kSuffix.size())
    return problem(OnionError::BadLength, "empty onion address (\".onion\" alone)");
  std::string full = base::ascii_lowercase(stripped);
  std::string_view rest(full);
  rest.remove_suffix(kSuffix.size());  // drop ".onion"

  // The address is the last label before ".onion"; anything left of it is
  // subdomain labels (kept, not validated cryptographically).
  std::string_view label = rest;
  std::string_view subdomains;
  if (auto dot = rest.rfind('.'); dot != std::string_view::npos) {
    label = rest.substr(dot + 1);
    subdomains = rest.substr(0, dot);
    if (subdomains.empty())
      return problem(OnionError::BadSyntax, "empty label before the onion address");
    if (auto why = domain_syntax_problem(subdomains); !why.empty())
      return problem(OnionError::BadSyntax,
                     "bad subdomain labels \"" + base::printable(subdomains) + "\": " + why);
  }

  if (label.size() == kV2LabelLength)
    return problem(
        OnionError::V2Unsupported,
        "v2 onion services no longer exist (16-character address \"" + std::string(label) + "\")");
  if (label.size() != kOnionLabelLength)
    return problem(OnionError::BadLength, "onion address label has " +
                                              std::to_string(label.size()) +
                                              " characters, a v3 address has 56");
  if (auto bad = base32::first_invalid(label); bad != std::string_view::npos)
    return problem(OnionError::BadBase32, "character '" + base::printable(label.substr(bad, 1)) +
                                              "' at position " + std::to_string(bad + 1) +
                                              " is not base32 (a-z, 2-7)");
  auto& memo = valid_labels();
  if (auto it = memo.find(std::string(label)); it != memo.end()) {
    OnionName out;
    out.address = std::string(label) + std::string(kSuffix);
    out.pubkey = it->second;
    out.full = std::move(full);
    return out;
  }
  auto raw = base32::decode(label);
  if (!raw || raw->size() != 35)
    return problem(OnionError::BadBase32, "address does not decode to 35 bytes");

  std::span<const std::uint8_t, 32> pk(raw->data(), 32);
  const std::uint8_t version = (*raw)[34];
  if (version != kOnionVersion)
    return problem(OnionError::BadVersion,
                   "version byte is " + std::to_string(version) + ", expected 3");
  auto sum = checksum(pk, version);
  if (sum[0] != (*raw)[32] || sum[1] != (*raw)[33])
    return problem(OnionError::BadChecksum, "checksum does not match the public key");
  std::array<std::uint8_t, 32> key{};
  std::memcpy(key.data(), pk.data(), 32);
  const bool known = key_known_valid != nullptr && key_known_valid(ctx, key);
  if (!known && !crypto::ed25519_is_valid_point(pk))
    return problem(OnionError::BadKey,
                   "public key is not a valid Ed25519 point of prime order "
                   "(identity, small-order, torsion, off-curve or non-canonical)");

  OnionName out;
  out.address = std::string(label) + std::string(kSuffix);
  std::memcpy(out.pubkey.data(), pk.data(), 32);
  out.full = std::move(full);
  if (memo.size() >= kMaxMemo) memo.clear();
  memo.emplace(std::string(label), out.pubkey);
  return out;
}

std::string encode_onion(std::span<const std::uint8_t, 32> pubkey) {
  std::array<std::uint8_t, 35> raw{};
  std::memcpy(raw.data(), pubkey.data(), 32);
  auto sum = checksum(pubkey, kOnionVersion);
  raw[32] = sum[0];
  raw[33] = sum[1];
  raw[34] = kOnionVersion;
  return base32::encode(raw) + std::string(kSuffix);
}

}  // namespace onionmx::address
