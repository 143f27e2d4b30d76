// test_hmac.cpp - crypto/hmac against published known answers: RFC 4231
// (HMAC-SHA-224/256/384/512, test cases 1-4, 6, 7; case 5 is a truncation
// test), RFC 2202 (HMAC-SHA-1, cases 1-2); base64 against RFC 4648 §10.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/test_util.hpp"
#include "crypto/hmac.hpp"

namespace {

using onionmx::crypto::HmacDigest;

std::vector<std::uint8_t> unhex(std::string_view h) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}
std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }
using onionmx::test::hex;

struct Rfc4231Case {
  const char* name;
  std::vector<std::uint8_t> key, data;
  const char *sha224, *sha256, *sha384, *sha512;
};

std::vector<Rfc4231Case> rfc4231() {
  const auto aa131 = std::vector<std::uint8_t>(131, 0xaa);
  return {
      {"case1", std::vector<std::uint8_t>(20, 0x0b), bytes("Hi There"),
       "896fb1128abbdf196832107cd49df33f47b4b1169912ba4f53684b22",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
       "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152"
       "e8b2fa9cb6",
       "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b27"
       "4eaea3f4e4be9d914eeb61f1702e696c203a126854"},
      {"case2", bytes("Jefe"), bytes("what do ya want for nothing?"),
       "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
       "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239"
       "ecfab21649",
       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f"
       "65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
      {"case3", std::vector<std::uint8_t>(20, 0xaa), std::vector<std::uint8_t>(50, 0xdd),
       "7fb3cb3588c6c1f6ffa9694d7d6ad2649365b0c1f65d69d1ec8333ea",
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
       "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6"
       "e101a34f27",
       "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485"
       "a47e67c807b946a337bee8942674278859e13292fb"},
      {"case4", unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
       std::vector<std::uint8_t>(50, 0xcd),
       "6c11506874013cac6a2abc1bb382627cec6a90d86efc012de7afec5a",
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
       "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a3"
       "86c674cffb",
       "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d67927"
       "5cc5788063a5f19741120c4f2de2adebeb10a298dd"},
      {"case6", aa131, bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
       "95e9a0db962095adaebe9b2d6f0dbce2d499f112f2d2b7273fa6870e",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
       "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248d"
       "f163f44952",
       "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2"
       "215d6a1e5295e64f73f63f0aec8b915a985d786598"},
      {"case7", aa131,
       bytes("This is a test using a larger than block-size key and a larger than block-size "
             "data. The key needs to be hashed before being used by the HMAC algorithm."),
       "3a854166ac5d9f023f54d517d0b39dbd946770db9c2b95c9f6f565d1",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
       "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6"
       "110c46523e",
       "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb"
       "55c3e4de15134676fb6de0446065c97440fa8c6a58"},
  };
}

TEST(Hmac, Rfc4231KnownAnswers) {
  for (const auto& c : rfc4231()) {
    SCOPED_TRACE(c.name);
    for (auto [d, want] :
         {std::pair{HmacDigest::Sha224, c.sha224}, std::pair{HmacDigest::Sha256, c.sha256},
          std::pair{HmacDigest::Sha384, c.sha384}, std::pair{HmacDigest::Sha512, c.sha512}}) {
      auto mac = onionmx::crypto::hmac(d, c.key, c.data);
      ASSERT_TRUE(mac);
      EXPECT_EQ(hex(*mac), want);
      EXPECT_EQ(mac->size(), onionmx::crypto::hmac_size(d));
    }
  }
}

TEST(Hmac, Rfc4231Case5TruncatedPrefix) {
  // Case 5 gives only the first 128 bits: the full MAC must start with them.
  const auto key = std::vector<std::uint8_t>(20, 0x0c);
  auto mac = onionmx::crypto::hmac(HmacDigest::Sha256, key, bytes("Test With Truncation"));
  ASSERT_TRUE(mac);
  EXPECT_EQ(hex(*mac).substr(0, 32), "a3b6167473100ee06e0c796c2955552b");
}

TEST(Hmac, Rfc2202Sha1) {
  auto m1 = onionmx::crypto::hmac(HmacDigest::Sha1, std::vector<std::uint8_t>(20, 0x0b),
                                  bytes("Hi There"));
  ASSERT_TRUE(m1);
  EXPECT_EQ(hex(*m1), "b617318655057264e28bc0b6fb378c8ef146be00");
  auto m2 =
      onionmx::crypto::hmac(HmacDigest::Sha1, bytes("Jefe"), bytes("what do ya want for nothing?"));
  ASSERT_TRUE(m2);
  EXPECT_EQ(hex(*m2), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

TEST(Hmac, PartsEqualConcatenation) {
  const auto key = bytes("Jefe");
  const auto a = bytes("what do ya "), b = bytes("want for nothing?");
  const std::span<const std::uint8_t> parts[] = {a, {}, b};
  auto mac = onionmx::crypto::hmac(HmacDigest::Sha256, key, parts);
  ASSERT_TRUE(mac);
  EXPECT_EQ(hex(*mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Hmac, EmptyKeyIsAKey) {
  // HMAC-SHA256 with an empty key and empty message (python hmac.new(b"", b"", sha256)).
  auto mac = onionmx::crypto::hmac(HmacDigest::Sha256, std::span<const std::uint8_t>{},
                                   std::span<const std::uint8_t>{});
  ASSERT_TRUE(mac);
  EXPECT_EQ(hex(*mac), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(Hmac, ConstantTimeEqual) {
  const auto a = unhex("00112233"), b = unhex("00112233"), c = unhex("00112234"),
             d = unhex("001122");
  EXPECT_TRUE(onionmx::crypto::equal_constant_time(a, b));
  EXPECT_FALSE(onionmx::crypto::equal_constant_time(a, c));
  EXPECT_FALSE(onionmx::crypto::equal_constant_time(a, d));
  EXPECT_TRUE(onionmx::crypto::equal_constant_time({}, {}));
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> v[] = {{"", ""},
                                                   {"f", "Zg=="},
                                                   {"fo", "Zm8="},
                                                   {"foo", "Zm9v"},
                                                   {"foob", "Zm9vYg=="},
                                                   {"fooba", "Zm9vYmE="},
                                                   {"foobar", "Zm9vYmFy"}};
  for (auto [plain, enc] : v) {
    EXPECT_EQ(onionmx::crypto::base64_encode(bytes(plain)), enc);
    auto d = onionmx::crypto::base64_decode(enc);
    ASSERT_TRUE(d) << enc;
    EXPECT_EQ(std::string(d->begin(), d->end()), plain);
  }
}

TEST(Base64, RejectsBadInput) {
  for (const char* bad : {"Zg", "Zg=", "Z===", "Zm9v!", "Zm9vYg=a", "Zm9vYg==Zg=="}) {
    EXPECT_FALSE(onionmx::crypto::base64_decode(bad)) << bad;
  }
  auto spaced = onionmx::crypto::base64_decode(" Zm9v\nYmFy ");
  ASSERT_TRUE(spaced);
  EXPECT_EQ(spaced->size(), 6u);
}

}  // namespace
