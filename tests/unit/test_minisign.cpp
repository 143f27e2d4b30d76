// test_minisign.cpp - minisign keys and signatures (crypto/minisign.hpp).
//
// Known answers: the minisign 0.11 test vector of docs/map-format.md
// (a -W key pair, map.txt signed prehashed and legacy).  Round trips with
// keys made here; every strictness rule of the parsers; encrypted secret
// keys with cheap scrypt limits (minisign's own limits take seconds: the
// integration test covers them with the real minisign).
#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/test_util.hpp"
#include "crypto/minisign.hpp"

namespace {

using namespace onionmx::crypto;
using onionmx::base::Status;
using onionmx::test::contains;

constexpr std::string_view kPub =
    "untrusted comment: minisign public key E60FE8AE7AF00424\n"
    "RWQkBPB6rugP5iC5uIpMuQopJWiA3rJ+zFFtjFnS12SS/ABH9dexh/Vc\n";
constexpr std::string_view kMap =
    "onionmx static map v1\n"
    "example.com aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion\n";
constexpr std::string_view kSigPrehashed =
    "untrusted comment: untrusted test\n"
    "RUQkBPB6rugP5rYF5ZYi++flmn8c+mPAsJB05PCyRaPjd5iJI33PaQ3PZZewoh7/yJbAxNBbgC1XAxgFRuAP6fY+bg63dC"
    "qOmAY=\n"
    "trusted comment: onionmx map serial=1\n"
    "vdUFD3ABGbwxfQXPWvG6j7LPhhdVeXNwCHHGz96hCDlIpXMZX9s+F25qthHiWnohFdCNIY9TnZvoOrESYMUvCA==\n";
constexpr std::string_view kSigLegacy =
    "untrusted comment: signature from minisign secret key\n"
    "RWQkBPB6rugP5uH5ZhLAMp+ipnaTT3t8NWAx68ktG2xphvXRpwGJA2iZDwT9FkRdPPQibNi9AfA/Hv/YReEyiIzfw9OICx"
    "4O1QQ=\n"
    "trusted comment: onionmx map serial=1 legacy\n"
    "o1uCZegAsDnQRaJStPFzEOd7BDZ4n9TM1kUFOt13jaYC8srSv5nfqxD0bdslZYOXf2J/9+Xc3fLV02wPaGgqCQ==\n";
constexpr std::string_view kSigDefaultComment =
    "untrusted comment: signature from minisign secret key\n"
    "RUQkBPB6rugP5rYF5ZYi++flmn8c+mPAsJB05PCyRaPjd5iJI33PaQ3PZZewoh7/yJbAxNBbgC1XAxgFRuAP6fY+bg63dC"
    "qOmAY=\n"
    "trusted comment: timestamp:1795312532\tfile:def.txt\thashed\n"
    "Ph5w5LCCClauX6JfjLmrm6kM1mVkOMpe1oJAzXKciOVI4uG7Pg+pbYi2HZT6Ap3v5SwM9BxMIGD+F4CnTXRyBA==\n";

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

MinisignPublicKey pub() {
  auto k = parse_minisign_public_key(kPub);
  EXPECT_TRUE(k) << k.error().detail;
  return *k;
}

TEST(MinisignPublicKey, ParsesTheDocumentedKey) {
  auto k = pub();
  EXPECT_EQ(key_id_hex(k.key_id), "E60FE8AE7AF00424");
  EXPECT_EQ(k.key_id[0], 0x24);
  EXPECT_EQ(k.pk[0], 0x20);
  EXPECT_EQ(k.pk[31], 0x5c);
  EXPECT_EQ(format_minisign_public_key(k), kPub);
}

TEST(MinisignPublicKey, AcceptsTheBareBase64LineAndCrlf) {
  EXPECT_TRUE(
      parse_minisign_public_key("RWQkBPB6rugP5iC5uIpMuQopJWiA3rJ+zFFtjFnS12SS/ABH9dexh/Vc"));
  EXPECT_TRUE(parse_minisign_public_key(
      "untrusted comment: x\r\nRWQkBPB6rugP5iC5uIpMuQopJWiA3rJ+zFFtjFnS12SS/ABH9dexh/Vc\r\n"));
}

TEST(MinisignPublicKey, RefusesMalformedKeys) {
  struct Case {
    std::string text;
    const char* why;
  };
  const Case cases[] = {
      {"", "truncated"},
      {"untrusted comment: x\n", "truncated"},
      {"comment: x\nRWQkBPB6rugP5iC5uIpMuQopJWiA3rJ+zFFtjFnS12SS/ABH9dexh/Vc\n",
       "unexpected text on line 2"},
      {"untrusted comment: x\nRWQkBPB6rugP5iC5uIpMuQopJWiA3rJ+zFFtjFnS12SS/ABH9dexh/V\n",
       "not valid base64"},
      {"untrusted comment: x\nRWQkBPB6rugP5iC5uIpMuQopJWiA3rJ+zFFtjFnS12SS/ABH9dexh/Vc\nextra\n",
       "unexpected text on line 3"},
      // "Ec" instead of "Ed".
      {"untrusted comment: x\nRWMkBPB6rugP5iC5uIpMuQopJWiA3rJ+zFFtjFnS12SS/ABH9dexh/Vc\n",
       "algorithm is not"},
      // 41 bytes.
      {"untrusted comment: x\nRWQkBPB6rugP5iC5uIpMuQopJWiA3rJ+zFFtjFnS12SS/ABH9dexh/U=\n",
       "expected 42"},
  };
  for (const auto& c : cases) {
    auto k = parse_minisign_public_key(c.text);
    ASSERT_FALSE(k) << c.text;
    EXPECT_EQ(k.error().code, Status::BadData);
    EXPECT_TRUE(contains(k.error().detail, c.why)) << k.error().detail << " / " << c.why;
  }
}

TEST(MinisignSignature, VerifiesTheDocumentedVectors) {
  const auto k = pub();
  for (auto text : {kSigPrehashed, kSigLegacy, kSigDefaultComment}) {
    auto s = parse_minisign_signature(text);
    ASSERT_TRUE(s) << s.error().detail;
    auto ok = verify_minisign(k, *s, bytes(kMap));
    EXPECT_TRUE(ok) << ok.error().detail;
  }
  auto s = parse_minisign_signature(kSigLegacy);
  EXPECT_EQ(s->algorithm, SignatureAlgorithm::Legacy);
  EXPECT_EQ(s->trusted_comment, "onionmx map serial=1 legacy");
  auto d = parse_minisign_signature(kSigDefaultComment);
  EXPECT_EQ(d->trusted_comment, "timestamp:1795312532\tfile:def.txt\thashed");
  EXPECT_EQ(parse_minisign_signature(kSigPrehashed)->algorithm, SignatureAlgorithm::Prehashed);
}

TEST(MinisignSignature, RefusesATamperedFile) {
  const auto k = pub();
  for (auto text : {kSigPrehashed, kSigLegacy}) {
    auto s = parse_minisign_signature(text);
    std::string changed(kMap);
    changed += "x";
    auto r = verify_minisign(k, *s, bytes(changed));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Status::BadSig);
    changed = kMap;
    changed[3] ^= 1;
    EXPECT_FALSE(verify_minisign(k, *s, bytes(changed)));
  }
}

TEST(MinisignSignature, RefusesAnAlteredOrSwappedTrustedComment) {
  const auto k = pub();
  auto s = parse_minisign_signature(kSigPrehashed);
  s->trusted_comment = "onionmx map serial=2";
  auto r = verify_minisign(k, *s, bytes(kMap));
  ASSERT_FALSE(r);
  EXPECT_TRUE(contains(r.error().detail, "trusted comment")) << r.error().detail;
  // The global signature of another file's signature does not fit.
  auto a = parse_minisign_signature(kSigPrehashed);
  auto b = parse_minisign_signature(kSigDefaultComment);
  a->trusted_comment = b->trusted_comment;
  EXPECT_FALSE(verify_minisign(k, *a, bytes(kMap)));
  a->global_signature = b->global_signature;
  EXPECT_TRUE(verify_minisign(k, *a, bytes(kMap)));  // both moved together: a valid signature
}

TEST(MinisignSignature, RefusesAnotherKey) {
  auto other = minisign_generate_key().public_key();
  auto s = parse_minisign_signature(kSigPrehashed);
  auto r = verify_minisign(other, *s, bytes(kMap));
  ASSERT_FALSE(r);
  EXPECT_TRUE(contains(r.error().detail, "does not match the public key")) << r.error().detail;
  // Same key id, other key: the signature check itself fails.
  other.key_id = s->key_id;
  r = verify_minisign(other, *s, bytes(kMap));
  ASSERT_FALSE(r);
  EXPECT_TRUE(contains(r.error().detail, "signature verification failed"));
}

TEST(MinisignSignature, RefusesMalformedFiles) {
  std::string s(kSigPrehashed);
  EXPECT_FALSE(parse_minisign_signature(s.substr(0, s.size() / 2)));
  EXPECT_FALSE(parse_minisign_signature(""));
  EXPECT_FALSE(parse_minisign_signature(s + "more\n"));
  std::string bad_alg = s;
  bad_alg.replace(bad_alg.find("RUQk"), 4, "RUUk");  // "EE"
  auto r = parse_minisign_signature(bad_alg);
  ASSERT_FALSE(r);
  EXPECT_TRUE(contains(r.error().detail, "unknown signature algorithm")) << r.error().detail;
  std::string no_trusted = s;
  no_trusted.replace(no_trusted.find("trusted comment: onionmx"), 8, "trustee ");
  EXPECT_FALSE(parse_minisign_signature(no_trusted));
  EXPECT_TRUE(parse_minisign_signature(s.substr(0, s.size() - 1)));  // no final LF
}

TEST(MinisignSignature, StreamedPrehashMatches) {
  Prehash h;
  h.update(bytes(kMap.substr(0, 10)));
  h.update(bytes(kMap.substr(10)));
  auto s = parse_minisign_signature(kSigPrehashed);
  EXPECT_TRUE(verify_minisign_prehashed(pub(), *s, h.final()));
  Prehash other;
  other.update(bytes("x"));
  EXPECT_FALSE(verify_minisign_prehashed(pub(), *s, other.final()));
  auto legacy = parse_minisign_signature(kSigLegacy);
  EXPECT_FALSE(verify_minisign_prehashed(pub(), *legacy, Prehash().final()));
}

TEST(MinisignSign, RoundTripsBothAlgorithms) {
  auto key = minisign_generate_key();
  for (auto alg : {SignatureAlgorithm::Prehashed, SignatureAlgorithm::Legacy}) {
    auto text = minisign_sign(key, bytes(kMap), "serial:7", "from a test", alg);
    ASSERT_TRUE(text);
    auto s = parse_minisign_signature(*text);
    ASSERT_TRUE(s) << s.error().detail;
    EXPECT_EQ(s->algorithm, alg);
    EXPECT_EQ(s->trusted_comment, "serial:7");
    EXPECT_EQ(s->untrusted_comment, "from a test");
    EXPECT_TRUE(verify_minisign(key.public_key(), *s, bytes(kMap)));
  }
  EXPECT_FALSE(minisign_sign(key, bytes(kMap), "two\nlines", "x"));
}

TEST(MinisignSecretKey, UnencryptedRoundTripMatchesMinisignW) {
  auto key = minisign_generate_key();
  auto text = format_minisign_secret_key(key, std::nullopt);
  ASSERT_TRUE(text);
  EXPECT_FALSE(*minisign_secret_key_is_encrypted(*text));
  auto back = parse_minisign_secret_key(*text, std::nullopt);
  ASSERT_TRUE(back) << back.error().detail;
  EXPECT_EQ(back->key_id, key.key_id);
  EXPECT_EQ(back->sk, key.sk);
}

TEST(MinisignSecretKey, EncryptedRoundTripAndWrongPassword) {
  auto key = minisign_generate_key();
  // Cheap scrypt limits for the test; the file carries them.
  auto text = format_minisign_secret_key(key, "correct horse", 32768, 8u << 20);
  ASSERT_TRUE(text);
  EXPECT_TRUE(*minisign_secret_key_is_encrypted(*text));
  auto back = parse_minisign_secret_key(*text, "correct horse");
  ASSERT_TRUE(back) << back.error().detail;
  EXPECT_EQ(back->sk, key.sk);
  auto wrong = parse_minisign_secret_key(*text, "wrong");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, Status::BadSig);
  EXPECT_TRUE(contains(wrong.error().detail, "wrong password"));
  auto none = parse_minisign_secret_key(*text, std::nullopt);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Status::Inval);
}

TEST(MinisignSecretKey, RefusesCorruptKeys) {
  auto key = minisign_generate_key();
  auto text = *format_minisign_secret_key(key, std::nullopt);
  // Line 2 starts "RWQAAEIy" = "Ed" 00 00 "B2"; "RWRTY0Iy" = "EdScB2".
  std::string other_kdf = text;
  other_kdf.replace(other_kdf.find("RWQAAEIy"), 8, "RWQBAEIy");
  auto r = parse_minisign_secret_key(other_kdf, std::nullopt);
  ASSERT_FALSE(r);
  EXPECT_TRUE(contains(r.error().detail, "key derivation")) << r.error().detail;
  EXPECT_FALSE(parse_minisign_secret_key(text.substr(0, 60), std::nullopt));
  EXPECT_FALSE(parse_minisign_secret_key("untrusted comment: x\nAAAA\n", std::nullopt));
}

}  // namespace
