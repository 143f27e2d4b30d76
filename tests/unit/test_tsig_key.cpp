// test_tsig_key.cpp - BIND key files (tsig-keygen output) and the
// [ALGORITHM:]NAME:SECRET argument: good inputs and precise errors.
#include <gtest/gtest.h>

#include <string>

#include "common/test_util.hpp"
#include "dns/tsig_key.hpp"

namespace {

using namespace onionmx::dns;
using onionmx::test::contains;

constexpr const char* kSecret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

TEST(TsigKeyFile, TsigKeygenOutput) {
  const std::string text =
      std::string("key \"onionmx-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"") + kSecret +
      "\";\n};\n";
  auto k = parse_tsig_key_file(text, "tsig.key");
  ASSERT_TRUE(k) << k.error().detail;
  EXPECT_EQ(k->name, "onionmx-key");
  EXPECT_EQ(k->algorithm, TsigAlgorithm::HmacSha256);
  ASSERT_EQ(k->secret.size(), 32u);
  EXPECT_EQ(k->secret[31], 0x1f);
}

TEST(TsigKeyFile, CommentsBareNameOtherAlgorithm) {
  const std::string text =
      std::string("# made by hand\n/* block\ncomment */ key Upd.Key. { // x\n") + "secret \"" +
      kSecret + "\"; algorithm HMAC-SHA512; };";
  auto k = parse_tsig_key_file(text, "f");
  ASSERT_TRUE(k) << k.error().detail;
  EXPECT_EQ(k->name, "upd.key");
  EXPECT_EQ(k->algorithm, TsigAlgorithm::HmacSha512);
}

TEST(TsigKeyFile, Errors) {
  const std::string s = kSecret;
  const std::pair<std::string, const char*> cases[] = {
      {"", "f:1: no key statement"},
      {"zone \"x\" {};", "expected 'key'"},
      {"key \"k\" { algorithm hmac-sha256; };", "key has no secret"},
      {"key \"k\" { secret \"" + s + "\"; };", "key has no algorithm"},
      {"key \"k\" { algorithm hmac-md5; secret \"" + s + "\"; };",
       "unsupported algorithm 'hmac-md5'"},
      {"key \"k\" { algorithm hmac-sha256; secret \"not base64!\"; };", "not valid base64"},
      {"key \"k\" { algorithm hmac-sha256; secret \"\"; };", "secret is empty"},
      {"key \"k\" { algorithm hmac-sha256; algorithm hmac-sha256; };", "algorithm given twice"},
      {"key \"k\" { algorithm hmac-sha256;\n secret \"" + s + "\" };", "f:2: expected ';'"},
      {"key \"k\" { algorithm hmac-sha256; secret \"" + s + "\"; }", "expected ';' after '}'"},
      {"key \"k\" { algorithm hmac-sha256; secret " + s + "; };", "quoted base64"},
      {"key \"k\" { algorithm hmac-sha256; secret \"" + s + "\"; owner x; };",
       "unknown statement 'owner'"},
      {"key \"k\" { algorithm hmac-sha256; secret \"" + s + "\"; };\nkey \"j\" {};",
       "f:2: more than one key"},
      {"key \"a..b\" { algorithm hmac-sha256; secret \"" + s + "\"; };", "bad key name"},
      {"key \"k\" { algorithm hmac-sha256; secret \"abc\n\"; };", "unterminated string"},
      {"/* open", "unterminated /* comment"},
      {"key \"k\" { algorithm hmac-sha256; secret \"" + s + "\"; }; junk", "unexpected 'junk'"},
      {"key \"k\" { @ };", "unexpected character '@'"},
  };
  for (const auto& [text, want] : cases) {
    auto k = parse_tsig_key_file(text, "f");
    ASSERT_FALSE(k) << text;
    EXPECT_EQ(k.error().code, onionmx::base::Status::BadData);
    EXPECT_TRUE(contains(k.error().detail, want)) << text << "\n got: " << k.error().detail;
    EXPECT_FALSE(contains(k.error().detail, "AAECAwQF")) << "secret leaked: " << k.error().detail;
  }
}

TEST(TsigKeyArg, Forms) {
  auto k = parse_tsig_key_arg(std::string("onionmx-key:") + kSecret);
  ASSERT_TRUE(k) << k.error().detail;
  EXPECT_EQ(k->name, "onionmx-key");
  EXPECT_EQ(k->algorithm, TsigAlgorithm::HmacSha256);
  EXPECT_EQ(k->secret.size(), 32u);
  auto k5 = parse_tsig_key_arg(std::string("hmac-sha512:k:") + kSecret);
  ASSERT_TRUE(k5);
  EXPECT_EQ(k5->algorithm, TsigAlgorithm::HmacSha512);
  for (const auto& [arg, want] :
       {std::pair<std::string, const char*>{"k", "expected [ALGORITHM:]NAME:SECRET"},
        {"a:b:c:d", "expected"},
        {std::string("hmac-md5:k:") + kSecret, "unsupported algorithm"},
        {"k:@@@@", "not valid base64"},
        {"k:", "secret is empty"},
        {std::string(":") + kSecret, "bad key name"}}) {
    auto r = parse_tsig_key_arg(arg);
    ASSERT_FALSE(r) << arg;
    EXPECT_EQ(r.error().code, onionmx::base::Status::Inval);
    EXPECT_TRUE(contains(r.error().detail, want)) << arg << ": " << r.error().detail;
  }
}

}  // namespace
