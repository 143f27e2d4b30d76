#include "crypto/minisign.hpp"

#include <sodium.h>

#include <cstring>
#include <utility>
#include <vector>

#include "crypto/crypto.hpp"

namespace onionmx::crypto {
namespace {

using base::fail;
using base::Status;

constexpr std::string_view kUntrustedPrefix = "untrusted comment: ";
constexpr std::string_view kTrustedPrefix = "trusted comment: ";
constexpr std::size_t kPublicKeyBytes = 2 + 8 + 32;
constexpr std::size_t kSignatureBytes = 2 + 8 + 64;
constexpr std::size_t kSecretKeyBytes = 2 + 2 + 2 + 32 + 8 + 8 + 8 + 64 + 32;
constexpr std::size_t kEncryptedPartBytes = 8 + 64 + 32;  // key_id | sk | chk
constexpr std::size_t kMaxCommentBytes = 1024;            // minisign's COMMENTMAXBYTES

// Lines split at LF with one trailing CR dropped.  A final LF does not start
// a line; text after the expected lines is an error for the caller to raise.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

// Strict base64 (RFC 4648 §4, padded) to exactly `expected` bytes.
base::Result<std::vector<std::uint8_t>> decode_b64(std::string_view line, std::size_t expected,
                                                   const char* what) {
  std::vector<std::uint8_t> out(expected + 3);
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), line.data(), line.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != line.data() + line.size())
    return fail(Status::BadData, std::string(what) + ": not valid base64");
  if (len != expected)
    return fail(Status::BadData, std::string(what) + ": decodes to " + std::to_string(len) +
                                     " bytes, expected " + std::to_string(expected));
  out.resize(len);
  return out;
}

std::string encode_b64(std::span<const std::uint8_t> bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // the terminating NUL
  return out;
}

base::Result<void> check_comment(std::string_view c, const char* what) {
  if (c.size() > kMaxCommentBytes)
    return fail(Status::BadData, std::string(what) + " longer than 1024 bytes");
  if (c.find_first_of("\r\n") != std::string_view::npos)
    return fail(Status::BadData, std::string(what) + " contains a line break");
  return {};
}

// Only trailing empty lines (a final LF) may follow the expected lines.
base::Result<void> check_no_extra(const std::vector<std::string_view>& lines, std::size_t n,
                                  const char* what) {
  if (lines.size() < n)
    return fail(Status::BadData, std::string(what) + ": truncated (" +
                                     std::to_string(lines.size()) + " lines, expected " +
                                     std::to_string(n) + ")");
  for (std::size_t i = n; i < lines.size(); ++i)
    if (!lines[i].empty())
      return fail(Status::BadData,
                  std::string(what) + ": unexpected text on line " + std::to_string(i + 1));
  return {};
}

std::array<std::uint8_t, 32> secret_key_checksum(const KeyId& id,
                                                 const std::array<std::uint8_t, 64>& sk) {
  std::array<std::uint8_t, 32> chk{};
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, chk.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>("Ed"), 2);
  crypto_generichash_update(&st, id.data(), id.size());
  crypto_generichash_update(&st, sk.data(), sk.size());
  crypto_generichash_final(&st, chk.data(), chk.size());
  sodium_memzero(&st, sizeof st);
  return chk;
}

// Wipes a buffer when it leaves scope.
template <std::size_t N>
struct Wiped {
  std::array<std::uint8_t, N> b{};
  Wiped() = default;
  Wiped(const Wiped&) = delete;
  Wiped& operator=(const Wiped&) = delete;
  ~Wiped() { sodium_memzero(b.data(), b.size()); }
};

struct SecretKeyFields {
  bool encrypted = false;
  std::vector<std::uint8_t> raw;  // 158 bytes, wiped by the caller
};

base::Result<SecretKeyFields> split_secret_key(std::string_view text) {
  auto lines = split_lines(text);
  ONIONMX_TRY(check_no_extra(lines, 2, "minisign secret key"));
  if (!lines[0].starts_with(kUntrustedPrefix))
    return fail(Status::BadData,
                "minisign secret key: line 1 does not start with \"untrusted comment: \"");
  auto raw = decode_b64(lines[1], kSecretKeyBytes, "minisign secret key");
  if (!raw) return fail(raw.error());
  SecretKeyFields f;
  f.raw = std::move(*raw);
  const auto* r = f.raw.data();
  auto wipe_and_fail = [&f](std::string why) {
    sodium_memzero(f.raw.data(), f.raw.size());
    return fail(Status::BadData, "minisign secret key: " + std::move(why));
  };
  if (std::memcmp(r, "Ed", 2) != 0) return wipe_and_fail("signature algorithm is not \"Ed\"");
  if (std::memcmp(r + 2, "Sc", 2) == 0)
    f.encrypted = true;
  else if (r[2] != 0 || r[3] != 0)
    return wipe_and_fail("unknown key derivation algorithm (expected \"Sc\" or none)");
  if (std::memcmp(r + 4, "B2", 2) != 0) return wipe_and_fail("checksum algorithm is not \"B2\"");
  return f;
}

std::uint64_t load_le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void store_le64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i, v >>= 8) p[i] = static_cast<std::uint8_t>(v & 0xff);
}

}  // namespace

MinisignSecretKey::MinisignSecretKey(MinisignSecretKey&& other) noexcept
    : key_id(other.key_id), sk(other.sk) {
  sodium_memzero(other.sk.data(), other.sk.size());
}

MinisignSecretKey& MinisignSecretKey::operator=(MinisignSecretKey&& other) noexcept {
  if (this != &other) {
    key_id = other.key_id;
    sk = other.sk;
    sodium_memzero(other.sk.data(), other.sk.size());
  }
  return *this;
}

MinisignSecretKey::~MinisignSecretKey() { sodium_memzero(sk.data(), sk.size()); }

MinisignPublicKey MinisignSecretKey::public_key() const {
  MinisignPublicKey p;
  p.key_id = key_id;
  std::memcpy(p.pk.data(), sk.data() + 32, 32);
  return p;
}

std::string key_id_hex(const KeyId& id) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string s;
  for (int i = 7; i >= 0; --i) {
    s.push_back(kHex[id[static_cast<std::size_t>(i)] >> 4]);
    s.push_back(kHex[id[static_cast<std::size_t>(i)] & 0xf]);
  }
  return s;
}

base::Result<MinisignPublicKey> parse_minisign_public_key(std::string_view text) {
  init();
  auto lines = split_lines(text);
  std::string_view b64;
  if (lines.size() >= 1 && !lines[0].starts_with("untrusted comment:")) {
    // The bare base64 line, as `minisign -P` takes it.
    ONIONMX_TRY(check_no_extra(lines, 1, "minisign public key"));
    b64 = lines[0];
  } else {
    ONIONMX_TRY(check_no_extra(lines, 2, "minisign public key"));
    if (!lines[0].starts_with(kUntrustedPrefix))
      return fail(Status::BadData,
                  "minisign public key: line 1 does not start with \"untrusted comment: \"");
    b64 = lines[1];
  }
  auto raw = decode_b64(b64, kPublicKeyBytes, "minisign public key");
  if (!raw) return fail(raw.error());
  if (std::memcmp(raw->data(), "Ed", 2) != 0)
    return fail(Status::BadData, "minisign public key: algorithm is not \"Ed\"");
  MinisignPublicKey k;
  std::memcpy(k.key_id.data(), raw->data() + 2, 8);
  std::memcpy(k.pk.data(), raw->data() + 10, 32);
  return k;
}

base::Result<MinisignSignature> parse_minisign_signature(std::string_view text) {
  init();
  auto lines = split_lines(text);
  ONIONMX_TRY(check_no_extra(lines, 4, "minisign signature"));
  if (!lines[0].starts_with(kUntrustedPrefix))
    return fail(Status::BadData,
                "minisign signature: line 1 does not start with \"untrusted comment: \"");
  if (!lines[2].starts_with(kTrustedPrefix))
    return fail(Status::BadData,
                "minisign signature: line 3 does not start with \"trusted comment: \"");
  MinisignSignature s;
  s.untrusted_comment = std::string(lines[0].substr(kUntrustedPrefix.size()));
  s.trusted_comment = std::string(lines[2].substr(kTrustedPrefix.size()));
  if (s.trusted_comment.size() > kMaxCommentBytes)
    return fail(Status::BadData, "minisign signature: trusted comment longer than 1024 bytes");
  auto sig = decode_b64(lines[1], kSignatureBytes, "minisign signature line 2");
  if (!sig) return fail(sig.error());
  if (std::memcmp(sig->data(), "ED", 2) == 0)
    s.algorithm = SignatureAlgorithm::Prehashed;
  else if (std::memcmp(sig->data(), "Ed", 2) == 0)
    s.algorithm = SignatureAlgorithm::Legacy;
  else
    return fail(Status::BadData,
                "minisign signature: unknown signature algorithm (expected \"ED\" or \"Ed\")");
  std::memcpy(s.key_id.data(), sig->data() + 2, 8);
  std::memcpy(s.signature.data(), sig->data() + 10, 64);
  auto global = decode_b64(lines[3], 64, "minisign signature line 4 (global signature)");
  if (!global) return fail(global.error());
  std::memcpy(s.global_signature.data(), global->data(), 64);
  return s;
}

base::Result<bool> minisign_secret_key_is_encrypted(std::string_view text) {
  auto f = split_secret_key(text);
  if (!f) return fail(f.error());
  sodium_memzero(f->raw.data(), f->raw.size());
  return f->encrypted;
}

base::Result<MinisignSecretKey> parse_minisign_secret_key(
    std::string_view text, std::optional<std::string_view> password) {
  init();
  auto f = split_secret_key(text);
  if (!f) return fail(f.error());
  std::uint8_t* r = f->raw.data();
  struct WipeRaw {
    std::vector<std::uint8_t>& v;
    ~WipeRaw() { sodium_memzero(v.data(), v.size()); }
  } wipe_raw{f->raw};
  std::uint8_t* part = r + 6 + 32 + 8 + 8;  // key_id | sk | chk
  const std::uint64_t opslimit = load_le64(r + 38);
  const std::uint64_t memlimit = load_le64(r + 46);
  if (f->encrypted) {
    if (!password)
      return fail(Status::Inval, "minisign secret key is encrypted: a password is required");
    if (memlimit > kMaxScryptMemlimit || opslimit > (1ULL << 40))
      return fail(Status::BadData, "minisign secret key: scrypt parameters too large (memlimit " +
                                       std::to_string(memlimit) + ")");
    Wiped<kEncryptedPartBytes> stream;
    if (crypto_pwhash_scryptsalsa208sha256(stream.b.data(), stream.b.size(), password->data(),
                                           password->size(), r + 6, opslimit,
                                           static_cast<std::size_t>(memlimit)) != 0)
      return fail(Status::NoMem, "minisign secret key: scrypt failed (out of memory?)");
    for (std::size_t i = 0; i < kEncryptedPartBytes; ++i) part[i] ^= stream.b[i];
  }
  MinisignSecretKey key;
  std::memcpy(key.key_id.data(), part, 8);
  std::memcpy(key.sk.data(), part + 8, 64);
  const std::uint8_t* chk = part + 72;
  static const std::array<std::uint8_t, 32> kZero{};
  const bool zero_chk = sodium_memcmp(chk, kZero.data(), 32) == 0;
  // minisign -W (0.11) leaves the checksum zero; accept that only unencrypted.
  if (f->encrypted || !zero_chk) {
    auto want = secret_key_checksum(key.key_id, key.sk);
    if (sodium_memcmp(want.data(), chk, 32) != 0)
      return fail(Status::BadSig, f->encrypted
                                      ? "minisign secret key: wrong password or corrupted key "
                                        "(checksum mismatch)"
                                      : "minisign secret key: corrupted key (checksum mismatch)");
  }
  // The public half must belong to the seed.
  Wiped<64> sk2;
  std::array<std::uint8_t, 32> pk2{};
  crypto_sign_seed_keypair(pk2.data(), sk2.b.data(), key.sk.data());
  if (sodium_memcmp(pk2.data(), key.sk.data() + 32, 32) != 0)
    return fail(Status::BadSig, "minisign secret key: public half does not match the seed");
  return key;
}

namespace {

base::Result<void> verify_global(const MinisignPublicKey& key, const MinisignSignature& sig) {
  std::vector<std::uint8_t> global(64 + sig.trusted_comment.size());
  std::memcpy(global.data(), sig.signature.data(), 64);
  std::memcpy(global.data() + 64, sig.trusted_comment.data(), sig.trusted_comment.size());
  if (crypto_sign_verify_detached(sig.global_signature.data(), global.data(), global.size(),
                                  key.pk.data()) != 0)
    return fail(Status::BadSig, "trusted comment signature verification failed (comment altered?)");
  return {};
}

base::Result<void> check_key_id(const MinisignPublicKey& key, const MinisignSignature& sig) {
  if (key.key_id != sig.key_id)
    return fail(Status::BadSig, "signature key id " + key_id_hex(sig.key_id) +
                                    " does not match the public key " + key_id_hex(key.key_id));
  return {};
}

}  // namespace

struct Prehash::State {
  alignas(64) crypto_generichash_state st;
};

Prehash::Prehash() : state_(std::make_unique<State>()) {
  init();
  crypto_generichash_init(&state_->st, nullptr, 0, 64);
}

Prehash::~Prehash() = default;

void Prehash::update(std::span<const std::uint8_t> data) noexcept {
  crypto_generichash_update(&state_->st, data.data(), data.size());
}

std::array<std::uint8_t, 64> Prehash::final() noexcept {
  std::array<std::uint8_t, 64> h{};
  crypto_generichash_final(&state_->st, h.data(), h.size());
  return h;
}

void wipe(std::string& secret) noexcept { sodium_memzero(secret.data(), secret.size()); }

base::Result<void> verify_minisign_prehashed(const MinisignPublicKey& key,
                                             const MinisignSignature& sig,
                                             const std::array<std::uint8_t, 64>& h) {
  init();
  ONIONMX_TRY(check_key_id(key, sig));
  if (sig.algorithm != SignatureAlgorithm::Prehashed)
    return fail(Status::BadSig, "legacy signature: needs the whole message");
  if (crypto_sign_verify_detached(sig.signature.data(), h.data(), h.size(), key.pk.data()) != 0)
    return fail(Status::BadSig, "signature verification failed (file altered?)");
  return verify_global(key, sig);
}

base::Result<void> verify_minisign(const MinisignPublicKey& key, const MinisignSignature& sig,
                                   std::span<const std::uint8_t> message) {
  init();
  ONIONMX_TRY(check_key_id(key, sig));
  int rc = -1;
  if (sig.algorithm == SignatureAlgorithm::Prehashed) {
    std::array<std::uint8_t, 64> h{};
    crypto_generichash(h.data(), h.size(), message.data(), message.size(), nullptr, 0);
    rc = crypto_sign_verify_detached(sig.signature.data(), h.data(), h.size(), key.pk.data());
  } else {
    rc = crypto_sign_verify_detached(sig.signature.data(), message.data(), message.size(),
                                     key.pk.data());
  }
  if (rc != 0) return fail(Status::BadSig, "signature verification failed (file altered?)");
  return verify_global(key, sig);
}

MinisignSecretKey minisign_generate_key() {
  init();
  MinisignSecretKey k;
  std::array<std::uint8_t, 32> pk{};
  crypto_sign_keypair(pk.data(), k.sk.data());
  randombytes_buf(k.key_id.data(), k.key_id.size());
  return k;
}

std::string format_minisign_public_key(const MinisignPublicKey& key) {
  std::array<std::uint8_t, kPublicKeyBytes> raw{};
  std::memcpy(raw.data(), "Ed", 2);
  std::memcpy(raw.data() + 2, key.key_id.data(), 8);
  std::memcpy(raw.data() + 10, key.pk.data(), 32);
  return "untrusted comment: minisign public key " + key_id_hex(key.key_id) + "\n" +
         encode_b64(raw) + "\n";
}

base::Result<std::string> format_minisign_secret_key(const MinisignSecretKey& key,
                                                     std::optional<std::string_view> password,
                                                     std::uint64_t opslimit,
                                                     std::uint64_t memlimit) {
  init();
  Wiped<kSecretKeyBytes> raw;
  std::uint8_t* r = raw.b.data();
  std::memcpy(r, "Ed", 2);
  std::memcpy(r + 4, "B2", 2);
  std::uint8_t* part = r + 54;
  std::memcpy(part, key.key_id.data(), 8);
  std::memcpy(part + 8, key.sk.data(), 64);
  if (password) {
    std::memcpy(r + 2, "Sc", 2);
    randombytes_buf(r + 6, 32);
    store_le64(r + 38, opslimit);
    store_le64(r + 46, memlimit);
    auto chk = secret_key_checksum(key.key_id, key.sk);
    std::memcpy(part + 72, chk.data(), 32);
    Wiped<kEncryptedPartBytes> stream;
    if (crypto_pwhash_scryptsalsa208sha256(stream.b.data(), stream.b.size(), password->data(),
                                           password->size(), r + 6, opslimit,
                                           static_cast<std::size_t>(memlimit)) != 0)
      return fail(Status::NoMem, "scrypt failed (out of memory?)");
    for (std::size_t i = 0; i < kEncryptedPartBytes; ++i) part[i] ^= stream.b[i];
  }
  // Unencrypted: kdf 00 00, zero salt and limits, zero checksum, as minisign -W writes.
  std::string b64 = encode_b64(raw.b);
  std::string out = "untrusted comment: minisign encrypted secret key\n" + b64 + "\n";
  sodium_memzero(b64.data(), b64.size());
  return out;
}

base::Result<std::string> minisign_sign(const MinisignSecretKey& key,
                                        std::span<const std::uint8_t> message,
                                        std::string_view trusted_comment,
                                        std::string_view untrusted_comment,
                                        SignatureAlgorithm algorithm) {
  init();
  ONIONMX_TRY(check_comment(trusted_comment, "trusted comment"));
  ONIONMX_TRY(check_comment(untrusted_comment, "untrusted comment"));
  std::array<std::uint8_t, kSignatureBytes> sigline{};
  std::memcpy(sigline.data(), algorithm == SignatureAlgorithm::Prehashed ? "ED" : "Ed", 2);
  std::memcpy(sigline.data() + 2, key.key_id.data(), 8);
  if (algorithm == SignatureAlgorithm::Prehashed) {
    std::array<std::uint8_t, 64> h{};
    crypto_generichash(h.data(), h.size(), message.data(), message.size(), nullptr, 0);
    crypto_sign_detached(sigline.data() + 10, nullptr, h.data(), h.size(), key.sk.data());
  } else {
    crypto_sign_detached(sigline.data() + 10, nullptr, message.data(), message.size(),
                         key.sk.data());
  }
  std::vector<std::uint8_t> global(64 + trusted_comment.size());
  std::memcpy(global.data(), sigline.data() + 10, 64);
  std::memcpy(global.data() + 64, trusted_comment.data(), trusted_comment.size());
  std::array<std::uint8_t, 64> gsig{};
  crypto_sign_detached(gsig.data(), nullptr, global.data(), global.size(), key.sk.data());
  std::string out;
  out.append(kUntrustedPrefix).append(untrusted_comment).push_back('\n');
  out.append(encode_b64(sigline)).push_back('\n');
  out.append(kTrustedPrefix).append(trusted_comment).push_back('\n');
  out.append(encode_b64(gsig)).push_back('\n');
  return out;
}

}  // namespace onionmx::crypto
