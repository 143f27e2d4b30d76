// test_static_map.cpp - the static map (map/static_map.hpp) and its signed
// loading (map/signed_map.hpp): format, lookup, every refusal.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "address/onion_address.hpp"
#include "common/test_util.hpp"
#include "crypto/minisign.hpp"
#include "map/signed_map.hpp"
#include "map/static_map.hpp"

namespace {

using namespace onionmx;
using base::Status;
using test::contains;

// docs/test-vectors.md §1.4 (valid) and §1.5 (invalid).
const std::string kV1 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion";
const std::string kV2 = "efjprum3peosirjsilqv6lvlns3476t3njpngaexsyhangeb3mjo7sad.onion";
const std::string kV3 = "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid.onion";
const std::string kBadChecksum = "boqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion";
const std::string kIdentity = "aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaahmjqd.onion";
const std::string kTorsion = "wfkl2yqyrlrihxiyp7x6rqy7lytw5xyihngp6eoj2xh7qvwhirabj3id.onion";
const std::string kOnionV2 = "expyuzz4wqqyqhjn.onion";

std::string doc(const std::string& entries, const std::string& extra = "") {
  return R"({"format": "onionmx-map", "version": 1, "serial": 42)" + extra + R"(, "entries": {)" +
         entries + "}}";
}

base::Result<map::StaticMap> parse(const std::string& entries, const std::string& extra = "") {
  return map::parse_map(doc(entries, extra));
}

TEST(StaticMap, ExactAndSubdomainLookup) {
  auto m = parse(R"("example.org": [")" + kV1 + R"("],
      ".example.org": [{"onion": ")" +
                 kV2 + R"(", "port": 2525, "priority": 10}, ")" + kV3 +
                 R"("], "deep.sub.example.org": [")" + kV3 + R"("])");
  ASSERT_TRUE(m) << m.error().detail;
  EXPECT_EQ(m->serial(), 42u);
  EXPECT_EQ(m->size(), 3u);
  EXPECT_EQ(m->distinct_onions(), 3u);
  auto* r = m->lookup("example.org");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].onion, kV1);
  EXPECT_EQ((*r)[0].port, 25);
  r = m->lookup("mx.a.example.org");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].onion, kV3);  // priority 0 first
  EXPECT_EQ((*r)[1].onion, kV2);
  EXPECT_EQ((*r)[1].port, 2525);
  EXPECT_EQ((*r)[1].priority, 10);
  EXPECT_EQ(m->lookup("deep.sub.example.org"), m->lookup("deep.sub.example.org"));
  EXPECT_EQ(m->lookup("deep.sub.example.org")->front().onion, kV3);
  EXPECT_EQ(m->lookup("Example.ORG."), m->lookup("example.org"));
  EXPECT_EQ(m->lookup("example.net"), nullptr);
  EXPECT_EQ(m->lookup("org"), nullptr);
  EXPECT_EQ(m->lookup("notexample.org"), nullptr);
  EXPECT_EQ(m->lookup(""), nullptr);
}

TEST(StaticMap, DotKeyDoesNotMatchTheParentItself) {
  auto m = parse(R"(".example.net": [")" + kV1 + R"("])");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->lookup("example.net"), nullptr);
  EXPECT_NE(m->lookup("a.example.net"), nullptr);
}

TEST(StaticMap, SharesRouteListsAndManyEntries) {
  std::string entries;
  for (int i = 0; i < 5000; ++i) {
    if (i) entries += ",";
    entries += "\"d" + std::to_string(i) + ".example\": [\"" + (i % 2 ? kV1 : kV2) + "\"]";
  }
  auto m = parse(entries);
  ASSERT_TRUE(m) << m.error().detail;
  EXPECT_EQ(m->size(), 5000u);
  EXPECT_EQ(m->distinct_route_lists(), 2u);
  for (int i = 0; i < 5000; ++i) {
    auto* r = m->lookup("d" + std::to_string(i) + ".example");
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->front().onion, i % 2 ? kV1 : kV2);
  }
  EXPECT_EQ(m->lookup("d5000.example"), nullptr);
}

// Validation runs on worker threads while the parse goes on: the verdict
// and the reported problems do not depend on the number of threads.
TEST(StaticMap, ThreadedValidationGivesTheSameVerdict) {
  std::string good, mixed;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 400; ++i) {
    auto key = crypto::minisign_generate_key();
    std::array<std::uint8_t, 32> pk{};
    std::copy_n(key.sk.begin() + 32, 32, pk.begin());
    const std::string valid = address::encode_onion(pk);
    for (auto& b : pk) b = static_cast<std::uint8_t>(rng());
    const std::string random = address::encode_onion(pk);  // rarely a valid point
    const std::string entry = "\"d" + std::to_string(i) + ".example\": [\"";
    good += (i ? "," : "") + entry + valid + "\"]";
    mixed += (i ? "," : "") + entry + (i % 50 == 7 ? random : valid) + "\"]";
  }
  for (unsigned threads : {1u, 2u, 4u}) {
    map::ParseOptions o;
    o.threads = threads;
    o.max_problems = 100;
    auto m = map::parse_map(doc(good), o);
    ASSERT_TRUE(m) << m.error().detail;
    EXPECT_EQ(m->distinct_onions(), 400u);
    auto bad = map::parse_map(doc(mixed), o);
    ASSERT_FALSE(bad);
    EXPECT_TRUE(contains(bad.error().detail, "entry \"d7.example\"")) << bad.error().detail;
    EXPECT_TRUE(contains(bad.error().detail, "entry \"d357.example\"")) << bad.error().detail;
    EXPECT_FALSE(contains(bad.error().detail, "entry \"d8.example\""));
  }
}

TEST(StaticMap, RefusesInvalidOnionsNamingTheEntry) {
  struct Case {
    std::string onion;
    const char* why;
  };
  const Case cases[] = {
      {kOnionV2, "v2 onion services no longer exist"},
      {kBadChecksum, "checksum"},
      {kIdentity, "not a valid Ed25519 point"},
      {kTorsion, "not a valid Ed25519 point"},
      {"example.com", "not an onion name"},
      {kV1.substr(1), "characters"},
  };
  for (const auto& c : cases) {
    auto m = parse(R"("ok.example": [")" + kV1 + R"("], "bad.example": [")" + c.onion + R"("])");
    ASSERT_FALSE(m) << c.onion;
    EXPECT_EQ(m.error().code, Status::BadData);
    EXPECT_TRUE(contains(m.error().detail, "entry \"bad.example\"")) << m.error().detail;
    EXPECT_TRUE(contains(m.error().detail, c.why)) << m.error().detail;
  }
}

TEST(StaticMap, RefusesBadDomainsAndDuplicates) {
  auto bad = [](const std::string& entries, const char* why) {
    auto m = parse(entries);
    ASSERT_FALSE(m) << entries;
    EXPECT_TRUE(contains(m.error().detail, why)) << m.error().detail << " / " << why;
  };
  bad(R"("bad domain!": [")" + kV1 + R"("])", "bad domain");
  bad(R"("": [")" + kV1 + R"("])", "empty domain");
  bad(R"(".": [")" + kV1 + R"("])", "empty domain");
  bad(R"("x.onion": [")" + kV1 + R"("])", "onion name");
  bad(R"("a.example": [])", "no routes");
  bad(R"("a.example": [")" + kV1 + R"("], "a.example": [")" + kV2 + R"("])",
      "conflicting duplicate");
  bad(R"("a.example": [")" + kV1 + R"("], "A.example": [")" + kV2 + R"("])",
      "conflicting duplicate");
  bad(R"("a.example": [{"onion": ")" + kV1 + R"(", "port": 0}])", "port 0 out of range");
  bad(R"("a.example": [{"onion": ")" + kV1 + R"(", "port": 65536}])", "out of range");
  bad(R"("a.example": [{"port": 25}])", "without \"onion\"");
  bad(R"("a.example": [{"onion": ")" + kV1 + R"(", "weight": 1}])", "unknown route key");
  bad(R"("a.example": ")" + kV1 + R"(")", "unexpected a string");
  // An identical duplicate is harmless.
  auto m = parse(R"("a.example": [")" + kV1 + R"("], "a.example": [")" + kV1 + R"("])");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->size(), 1u);
}

TEST(StaticMap, RefusesBadDocuments) {
  auto bad = [](const std::string& text, const char* why) {
    auto m = map::parse_map(text);
    ASSERT_FALSE(m) << text;
    EXPECT_EQ(m.error().code, Status::BadData);
    EXPECT_TRUE(contains(m.error().detail, why)) << m.error().detail << " / " << why;
  };
  const std::string good = doc(R"("a.example": [")" + kV1 + R"("])");
  bad(good.substr(0, good.size() - 10), "not valid JSON");
  bad("", "not valid JSON");
  bad("\x01\x02garbage", "not valid JSON");
  bad("[]", "unexpected an array");
  bad(R"({"format": "onionmx-map", "version": 1, "entries": {}})", "missing \"serial\"");
  bad(R"({"format": "other", "version": 1, "serial": 1, "entries": {}})", "\"format\"");
  bad(R"({"format": "onionmx-map", "version": 2, "serial": 1, "entries": {}})",
      "unsupported format version 2");
  bad(R"({"format": "onionmx-map", "version": 1, "serial": -1, "entries": {}})", "negative");
  bad(R"({"format": "onionmx-map", "version": 1, "serial": 1.5, "entries": {}})", "non-integer");
  bad(R"({"format": "onionmx-map", "version": 1, "serial": 1, "serial": 2, "entries": {}})",
      "appears twice");
  bad(R"({"format": "onionmx-map", "version": 1, "serial": 1, "entries": {}, "x": 1})",
      "unknown top-level key");
  bad(doc("", R"(, "expires": "tomorrow")"), "RFC 3339");
  bad(good + "{}", "not valid JSON");
  EXPECT_TRUE(map::parse_map(doc("")));  // an empty map is valid
}

TEST(StaticMap, FormatRoundTrips) {
  std::vector<map::Entry> entries;
  entries.push_back({"example.org", {record::Route{kV1, 25, 0, 0}}});
  entries.push_back(
      {".example.net", {record::Route{kV2, 2525, 0, 0}, record::Route{kV3, 25, 5, 0}}});
  const std::string text = map::format_map(9, 1900000000, entries);
  auto m = map::parse_map(text);
  ASSERT_TRUE(m) << m.error().detail << "\n" << text;
  EXPECT_EQ(m->serial(), 9u);
  EXPECT_EQ(*m->expires(), 1900000000);
  EXPECT_EQ(m->lookup("x.example.net")->size(), 2u);
  EXPECT_EQ(m->lookup("x.example.net")->at(0).port, 2525);
  std::vector<std::string> keys;
  m->for_each([&](std::string_view k, const auto&) { keys.emplace_back(k); });
  EXPECT_EQ(keys, (std::vector<std::string>{"example.org", ".example.net"}));
}

TEST(Rfc3339, ParsesAndFormats) {
  EXPECT_EQ(map::parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(map::parse_rfc3339("2027-01-01T00:00:00Z"), 1798761600);
  EXPECT_EQ(map::parse_rfc3339("2027-01-01T02:00:00+02:00"), 1798761600);
  EXPECT_EQ(map::parse_rfc3339("2024-02-29T12:00:00Z"), 1709208000);
  EXPECT_FALSE(map::parse_rfc3339("2023-02-29T12:00:00Z"));
  EXPECT_FALSE(map::parse_rfc3339("2027-01-01 00:00:00Z"));
  EXPECT_FALSE(map::parse_rfc3339("2027-01-01T00:00:00"));
  EXPECT_FALSE(map::parse_rfc3339("2027-13-01T00:00:00Z"));
  EXPECT_EQ(map::format_rfc3339(1798761600), "2027-01-01T00:00:00Z");
  EXPECT_EQ(map::format_rfc3339(1709208000), "2024-02-29T12:00:00Z");
}

class SignedMap : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/onionmx-map-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    state_ = dir_ + "/state";
    std::filesystem::create_directory(state_);
    path_ = dir_ + "/map.json";
    options_.trusted_keys.push_back(other_.public_key());
    options_.trusted_keys.push_back(key_.public_key());
    options_.state_dir = state_;
    options_.now = 1800000000;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }
  // Writes MAP and MAP.minisig.
  void publish(std::uint64_t serial, const std::string& extra = "",
               const crypto::MinisignSecretKey* key = nullptr) {
    std::string text = R"({"format": "onionmx-map", "version": 1, "serial": )" +
                       std::to_string(serial) + extra + R"(, "entries": {"a.example": [")" + kV1 +
                       R"("]}})";
    write(path_, text);
    auto sig = crypto::minisign_sign(
        key ? *key : key_,
        std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), "serial",
        "test");
    ASSERT_TRUE(sig);
    write(path_ + ".minisig", *sig);
  }

  std::string dir_, state_, path_;
  crypto::MinisignSecretKey key_ = crypto::minisign_generate_key();
  crypto::MinisignSecretKey other_ = crypto::minisign_generate_key();
  map::LoadOptions options_;
};

TEST_F(SignedMap, AcceptsAndRemembersTheSerial) {
  publish(5);
  auto m = map::load_signed_map(path_, options_);
  ASSERT_TRUE(m) << m.error().detail;
  EXPECT_EQ(m->signer, key_.key_id);
  EXPECT_TRUE(m->warnings.empty());
  EXPECT_NE(m->map.lookup("a.example"), nullptr);
  EXPECT_EQ(*map::read_serial_state(state_, key_.key_id), std::optional<std::uint64_t>(5));
  // The same serial again is a reload, not a rollback.
  EXPECT_TRUE(map::load_signed_map(path_, options_));
  publish(6);
  EXPECT_TRUE(map::load_signed_map(path_, options_));
  EXPECT_EQ(*map::read_serial_state(state_, key_.key_id), std::optional<std::uint64_t>(6));
}

TEST_F(SignedMap, RefusesRollback) {
  publish(6);
  ASSERT_TRUE(map::load_signed_map(path_, options_));
  publish(5);
  auto m = map::load_signed_map(path_, options_);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Status::BadSig);
  EXPECT_TRUE(contains(m.error().detail, "rollback refused: serial 5 is lower than serial 6"))
      << m.error().detail;
  EXPECT_EQ(*map::read_serial_state(state_, key_.key_id), std::optional<std::uint64_t>(6));
  // Serials are per signing key.
  publish(1, "", &other_);
  EXPECT_TRUE(map::load_signed_map(path_, options_));
}

TEST_F(SignedMap, LegacySignaturesAndSignatureErrorsFirst) {
  // Legacy "Ed" signatures cover the raw bytes (the whole-file path).
  std::string text = doc(R"("a.example": [")" + kV1 + R"("])");
  write(path_, text);
  auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  write(path_ + ".minisig",
        *crypto::minisign_sign(key_, bytes, "c", "u", crypto::SignatureAlgorithm::Legacy));
  auto m = map::load_signed_map(path_, options_);
  ASSERT_TRUE(m) << m.error().detail;
  write(path_, text + " ");
  EXPECT_FALSE(map::load_signed_map(path_, options_));
  // Prehashed (streamed) path: garbage that does not match the signature
  // is reported as a signature failure, not as bad JSON.
  write(path_ + ".minisig", *crypto::minisign_sign(key_, bytes, "c", "u"));
  write(path_, "garbage");
  m = map::load_signed_map(path_, options_);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Status::BadSig) << m.error().detail;
}

TEST_F(SignedMap, RefusesExpiredMaps) {
  publish(1, R"(, "expires": "2027-01-01T00:00:00Z")");
  auto m = map::load_signed_map(path_, options_);
  ASSERT_FALSE(m);
  EXPECT_TRUE(contains(m.error().detail, "map expired at 2027-01-01T00:00:00Z"))
      << m.error().detail;
  options_.now = 1798761599;
  EXPECT_TRUE(map::load_signed_map(path_, options_));
  publish(2, R"(, "expires": 1798761600)");
  EXPECT_TRUE(map::load_signed_map(path_, options_));
  options_.now = 1798761600;
  EXPECT_FALSE(map::load_signed_map(path_, options_));
}

TEST_F(SignedMap, RefusesMissingBadAndUntrustedSignatures) {
  publish(1);
  std::filesystem::remove(path_ + ".minisig");
  auto m = map::load_signed_map(path_, options_);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Status::BadSig);
  EXPECT_TRUE(contains(m.error().detail, "missing signature file")) << m.error().detail;

  write(path_ + ".minisig", "garbage\n");
  m = map::load_signed_map(path_, options_);
  ASSERT_FALSE(m);
  EXPECT_TRUE(contains(m.error().detail, "bad signature file")) << m.error().detail;

  auto stranger = crypto::minisign_generate_key();
  publish(1, "", &stranger);
  m = map::load_signed_map(path_, options_);
  ASSERT_FALSE(m);
  EXPECT_TRUE(contains(m.error().detail, "untrusted key " + crypto::key_id_hex(stranger.key_id)))
      << m.error().detail;

  publish(1);
  write(path_, R"({"format": "onionmx-map", "version": 1, "serial": 1, "entries": {}})");
  m = map::load_signed_map(path_, options_);
  ASSERT_FALSE(m);
  EXPECT_TRUE(contains(m.error().detail, "signature verification failed")) << m.error().detail;
}

TEST_F(SignedMap, UnsignedOnlyWhenAllowedWithAWarning) {
  write(path_, doc(R"("a.example": [")" + kV1 + R"("])"));
  EXPECT_FALSE(map::load_signed_map(path_, options_));
  options_.allow_unsigned = true;
  auto m = map::load_signed_map(path_, options_);
  ASSERT_TRUE(m) << m.error().detail;
  EXPECT_FALSE(m->signer);
  ASSERT_EQ(m->warnings.size(), 1u);
  EXPECT_TRUE(contains(m->warnings[0], "not signed"));
  // A present but bad signature is still refused.
  write(path_ + ".minisig", "garbage\n");
  EXPECT_FALSE(map::load_signed_map(path_, options_));
}

TEST_F(SignedMap, RefusesInvalidEntriesEvenWhenSigned) {
  std::string text = doc(R"("a.example": [")" + kOnionV2 + R"("])");
  write(path_, text);
  write(path_ + ".minisig",
        *crypto::minisign_sign(
            key_, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), "c",
            "u"));
  auto m = map::load_signed_map(path_, options_);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Status::BadData);
  EXPECT_TRUE(contains(m.error().detail, "entry \"a.example\"")) << m.error().detail;
  EXPECT_FALSE(*map::read_serial_state(state_, key_.key_id));
}

TEST_F(SignedMap, RemembersValidatedKeys) {
  publish(1);
  ASSERT_TRUE(map::load_signed_map(path_, options_));
  const std::string cache = state_ + "/map-valid-keys";
  ASSERT_TRUE(std::filesystem::exists(cache));
  EXPECT_EQ(std::filesystem::file_size(cache), 26u + 32u);  // magic + one key
  EXPECT_TRUE(map::load_signed_map(path_, options_));       // with the cache
  // A damaged cache is ignored and rewritten, never fatal.
  write(cache, "junk");
  EXPECT_TRUE(map::load_signed_map(path_, options_));
  EXPECT_EQ(std::filesystem::file_size(cache), 26u + 32u);
}

TEST(OnionKeyCache, KnownKeysStillNeedAValidChecksum) {
  // The identity key (checksum fine) passes only when declared known; a
  // bad checksum never does.
  std::vector<std::array<std::uint8_t, 32>> known(1);
  known[0][0] = 1;  // 01 00..00, the identity encoding
  map::ParseOptions o;
  o.known_valid_keys = &known;
  EXPECT_FALSE(map::parse_map(doc(R"("a.example": [")" + kIdentity + R"("])")));
  EXPECT_TRUE(map::parse_map(doc(R"("a.example": [")" + kIdentity + R"("])"), o));
  auto bad = map::parse_map(doc(R"("a.example": [")" + kBadChecksum + R"("])"), o);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(contains(bad.error().detail, "checksum"));
}

// The known-key path of parse_onion against the reference (the plain
// parse_onion with libsodium's crypto_core_ed25519_is_valid_point) on
// random keys, random 32-byte strings (mostly off-curve) and the
// adversarial vectors of docs/map-format.md: with no key known the verdicts
// are identical; with every key known only BadKey verdicts change.
TEST(OnionKeyCache, AgreesWithTheReferenceCheck) {
  std::vector<std::string> names = {kIdentity, kTorsion, kBadChecksum, kV1, kV2, kV3};
  const char* adversarial_hex[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
      "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "0100000000000000000000000000000000000000000000000000000000000080",
      "0200000000000000000000000000000000000000000000000000000000000000",
      "b154bd62188ae283dd187fefe8c31f5e276edf083b4cff11c9d5cff856c74440",
  };
  for (const char* hex : adversarial_hex) {
    std::array<std::uint8_t, 32> k{};
    for (int i = 0; i < 32; ++i)
      k[i] = static_cast<std::uint8_t>(std::stoi(std::string(hex + 2 * i, 2), nullptr, 16));
    names.push_back(address::encode_onion(k));
  }
  std::mt19937_64 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::array<std::uint8_t, 32> k{};
    for (auto& b : k) b = static_cast<std::uint8_t>(rng());
    names.push_back(address::encode_onion(k));
  }
  for (int i = 0; i < 100; ++i) {
    auto key = crypto::minisign_generate_key();  // a real Ed25519 public key
    std::array<std::uint8_t, 32> k{};
    std::copy_n(key.sk.begin() + 32, 32, k.begin());
    names.push_back(address::encode_onion(k));
  }
  auto never = [](const void*, const std::array<std::uint8_t, 32>&) { return false; };
  auto always = [](const void*, const std::array<std::uint8_t, 32>&) { return true; };
  int bad_keys = 0;
  for (const auto& n : names) {
    auto ref = address::parse_onion(n);
    auto none = address::parse_onion(n, never, nullptr);
    auto all = address::parse_onion(n, always, nullptr);
    ASSERT_EQ(static_cast<bool>(ref), static_cast<bool>(none)) << n;
    if (!ref) {
      EXPECT_EQ(ref.error().kind, none.error().kind) << n;
      if (ref.error().kind == address::OnionError::BadKey) {
        ++bad_keys;
        EXPECT_TRUE(all) << n;
      } else {
        ASSERT_FALSE(all) << n;
        EXPECT_EQ(ref.error().kind, all.error().kind) << n;
      }
    } else {
      EXPECT_EQ(ref->pubkey, none->pubkey);
      EXPECT_TRUE(all);
    }
  }
  EXPECT_GT(bad_keys, 150);  // random strings are mostly not points of prime order
}

TEST_F(SignedMap, CorruptStateIsAnError) {
  publish(3);
  write(state_ + "/map-serial-" + crypto::key_id_hex(key_.key_id), "x\n");
  auto m = map::load_signed_map(path_, options_);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Status::Io);
}

}  // namespace
