#include "crypto/hmac.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#include <memory>

#include "crypto/crypto.hpp"

namespace onionmx::crypto {
namespace {

const char* digest_name(HmacDigest d) noexcept {
  switch (d) {
    case HmacDigest::Sha1:
      return "SHA1";
    case HmacDigest::Sha224:
      return "SHA224";
    case HmacDigest::Sha256:
      return "SHA256";
    case HmacDigest::Sha384:
      return "SHA384";
    case HmacDigest::Sha512:
      return "SHA512";
  }
  return "SHA256";
}

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }
};

}  // namespace

std::size_t hmac_size(HmacDigest d) noexcept {
  switch (d) {
    case HmacDigest::Sha1:
      return 20;
    case HmacDigest::Sha224:
      return 28;
    case HmacDigest::Sha256:
      return 32;
    case HmacDigest::Sha384:
      return 48;
    case HmacDigest::Sha512:
      return 64;
  }
  return 0;
}

std::optional<std::vector<std::uint8_t>> hmac(
    HmacDigest d, std::span<const std::uint8_t> key,
    std::span<const std::span<const std::uint8_t>> parts) {
  // Fetched once: an implicit fetch per call costs a provider lookup.
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) return std::nullopt;
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(mac));
  if (!ctx) return std::nullopt;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest_name(d)), 0),
      OSSL_PARAM_construct_end()};
  // EVP_MAC_init treats a NULL key as "keep the previous key"; an empty key
  // must still be a (zero-length) key, so pass a valid pointer.
  static const unsigned char kEmpty[1] = {0};
  const unsigned char* k = key.empty() ? kEmpty : key.data();
  if (EVP_MAC_init(ctx.get(), k, key.size(), params) != 1) return std::nullopt;
  for (const auto& p : parts)
    if (!p.empty() && EVP_MAC_update(ctx.get(), p.data(), p.size()) != 1) return std::nullopt;
  std::vector<std::uint8_t> out(hmac_size(d));
  std::size_t len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size())
    return std::nullopt;
  return out;
}

std::optional<std::vector<std::uint8_t>> hmac(HmacDigest d, std::span<const std::uint8_t> key,
                                              std::span<const std::uint8_t> data) {
  const std::span<const std::uint8_t> parts[] = {data};
  return hmac(d, key, parts);
}

bool equal_constant_time(std::span<const std::uint8_t> a,
                         std::span<const std::uint8_t> b) noexcept {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
  init();
  std::string compact;
  compact.reserve(text.size());
  for (char c : text)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') compact.push_back(c);
  if (compact.size() % 4 != 0) return std::nullopt;
  std::vector<std::uint8_t> out(compact.size() / 4 * 3 + 1);
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), compact.data(), compact.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != compact.data() + compact.size())
    return std::nullopt;
  out.resize(len);
  return out;
}

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  init();
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // drop the NUL
  return out;
}

}  // namespace onionmx::crypto
