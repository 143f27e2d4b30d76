// minisign.hpp - minisign keys and signatures with libsodium only.
//
// Formats (minisign 0.11, https://jedisct1.github.io/minisign/; docs/map-format.md):
//   public key  "untrusted comment: ..." LF base64("Ed" | key_id(8) | pk(32))
//   signature   "untrusted comment: ..." LF base64(alg(2) | key_id(8) | sig(64)) LF
//               "trusted comment: <text>" LF base64(global_sig(64)) LF
//               alg "ED" = Ed25519 over BLAKE2b-512(file) (prehashed, the default),
//               alg "Ed" = Ed25519 over the file itself (legacy, `minisign -l`);
//               global_sig = Ed25519 over sig(64) | <text> (no prefix, no LF).
//   secret key  "untrusted comment: ..." LF base64("Ed" | kdf(2) | "B2" | salt(32) |
//               opslimit(8 LE) | memlimit(8 LE) | key_id(8) | sk(64) | chk(32)), 158 bytes;
//               kdf "Sc": key_id|sk|chk XORed with crypto_pwhash_scryptsalsa208sha256
//               output; kdf 00 00 (`minisign -W`): stored in clear, chk all zero.
//               chk = BLAKE2b-256("Ed" | key_id | sk).
// A key id prints as the little-endian uint64 in upper-case hex.
// Parsers are pure and strict (exact lengths, algorithm tags, line layout;
// one trailing CR per line tolerated).  Secret material lives in a
// non-copyable holder wiped with sodium_memzero.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace onionmx::crypto {

using KeyId = std::array<std::uint8_t, 8>;

enum class SignatureAlgorithm { Legacy /* "Ed" */, Prehashed /* "ED" */ };

struct MinisignPublicKey {
  KeyId key_id{};
  std::array<std::uint8_t, 32> pk{};
};

struct MinisignSignature {
  SignatureAlgorithm algorithm = SignatureAlgorithm::Prehashed;
  KeyId key_id{};
  std::array<std::uint8_t, 64> signature{};
  std::string untrusted_comment;
  std::string trusted_comment;  // without "trusted comment: "
  std::array<std::uint8_t, 64> global_signature{};
};

// minisign's scrypt parameters (crypto_pwhash_scryptsalsa208sha256_*_SENSITIVE).
inline constexpr std::uint64_t kMinisignOpslimit = 33554432;
inline constexpr std::uint64_t kMinisignMemlimit = 1073741824;
// Refuse key files asking for more than this (a hostile file could ask for all memory).
inline constexpr std::uint64_t kMaxScryptMemlimit = 4ULL << 30;

class MinisignSecretKey {
 public:
  MinisignSecretKey() = default;
  MinisignSecretKey(const MinisignSecretKey&) = delete;
  MinisignSecretKey& operator=(const MinisignSecretKey&) = delete;
  MinisignSecretKey(MinisignSecretKey&& other) noexcept;
  MinisignSecretKey& operator=(MinisignSecretKey&& other) noexcept;
  ~MinisignSecretKey();

  KeyId key_id{};
  std::array<std::uint8_t, 64> sk{};  // libsodium layout: seed(32) | pk(32)

  MinisignPublicKey public_key() const;
};

// "E60FE8AE7AF00424" for bytes 24 04 f0 7a ae e8 0f e6.
std::string key_id_hex(const KeyId& id);

// Accepts the two-line file or the bare base64 line (`minisign -P`).
[[nodiscard]] base::Result<MinisignPublicKey> parse_minisign_public_key(std::string_view text);
[[nodiscard]] base::Result<MinisignSignature> parse_minisign_signature(std::string_view text);
// True if the key file is scrypt-encrypted (needs a password); errors as the parser's.
[[nodiscard]] base::Result<bool> minisign_secret_key_is_encrypted(std::string_view text);
// `password` is required for an encrypted key and ignored otherwise.  A wrong
// password is BadSig "wrong password or corrupted key (checksum mismatch)".
[[nodiscard]] base::Result<MinisignSecretKey> parse_minisign_secret_key(
    std::string_view text, std::optional<std::string_view> password);

// Ok iff key ids match, the signature over the message (prehashed or not)
// and the global signature over the trusted comment both verify.  BadSig
// with a precise reason otherwise.
[[nodiscard]] base::Result<void> verify_minisign(const MinisignPublicKey& key,
                                                 const MinisignSignature& sig,
                                                 std::span<const std::uint8_t> message);

// Streaming BLAKE2b-512 (the "ED" prehash), for files too large to hold
// in memory twice.
class Prehash {
 public:
  Prehash();
  ~Prehash();
  Prehash(const Prehash&) = delete;
  Prehash& operator=(const Prehash&) = delete;
  void update(std::span<const std::uint8_t> data) noexcept;
  std::array<std::uint8_t, 64> final() noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// verify_minisign for a prehashed ("ED") signature, given BLAKE2b-512 of
// the message.  BadSig for a legacy signature.
[[nodiscard]] base::Result<void> verify_minisign_prehashed(
    const MinisignPublicKey& key, const MinisignSignature& sig,
    const std::array<std::uint8_t, 64>& blake2b512);

// Overwrites a secret (password, key text) before it is freed.
void wipe(std::string& secret) noexcept;

// A new random key pair.
[[nodiscard]] MinisignSecretKey minisign_generate_key();

std::string format_minisign_public_key(const MinisignPublicKey& key);
// password: scrypt-encrypt as minisign does; nullopt: unencrypted (`minisign -W`).
// Internal errors only (scrypt out of memory).
[[nodiscard]] base::Result<std::string> format_minisign_secret_key(
    const MinisignSecretKey& key, std::optional<std::string_view> password,
    std::uint64_t opslimit = kMinisignOpslimit, std::uint64_t memlimit = kMinisignMemlimit);

// The four-line signature file.  Comments must not contain CR or LF.
[[nodiscard]] base::Result<std::string> minisign_sign(
    const MinisignSecretKey& key, std::span<const std::uint8_t> message,
    std::string_view trusted_comment, std::string_view untrusted_comment,
    SignatureAlgorithm algorithm = SignatureAlgorithm::Prehashed);

}  // namespace onionmx::crypto
