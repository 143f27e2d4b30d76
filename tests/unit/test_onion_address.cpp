// test_onion_address.cpp - Tor v3 onion names: parse, validate, encode.
//
// Vectors are copied verbatim from docs/test-vectors.md §1.3-§1.5.
// Expected verdicts for generated inputs come from a small independent
// reference (OpenSSL EVP_sha3_256 + libsodium + a bit-loop base32 written
// here), never from the code under test.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "address/onion_address.hpp"
#include "crypto/crypto.hpp"

namespace onionmx::address {
// Readable gtest output: the error's stable name.
void PrintTo(OnionError e, std::ostream* os) { *os << onion_error_name(e); }
}  // namespace onionmx::address

namespace {

using onionmx::address::encode_onion;
using onionmx::address::is_onion_name;
using onionmx::address::onion_error_name;
using onionmx::address::OnionError;
using onionmx::address::parse_onion;

using Key = std::array<std::uint8_t, 32>;

// ---------------------------------------------------------------- helpers

std::vector<std::uint8_t> unhex(std::string_view hex) {
  std::vector<std::uint8_t> out(hex.size() / 2);
  std::size_t len = 0;
  if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &len, nullptr) != 0 ||
      len != out.size())
    ADD_FAILURE() << "bad hex in test vector: " << hex;
  return out;
}

Key key_from_hex(std::string_view hex) {
  Key k{};
  auto v = unhex(hex);
  if (v.size() == 32) {
    std::copy(v.begin(), v.end(), k.begin());
  } else {
    ADD_FAILURE() << "key is not 32 bytes: " << hex;
  }
  return k;
}

std::string hex(std::span<const std::uint8_t> bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();
  return out;
}

// Reference implementation of rend-spec-v3 "Encoding onion addresses",
// independent of libonionmx (rend-spec-v3 [ONIONADDRESS], RFC 4648 base32).
std::array<std::uint8_t, 32> ref_sha3(std::span<const std::uint8_t> data) {
  std::array<std::uint8_t, 32> md{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha3_256(), nullptr) != 1 ||
      len != 32)
    ADD_FAILURE() << "OpenSSL SHA3-256 failed";
  return md;
}

std::array<std::uint8_t, 2> ref_checksum(const Key& pk, std::uint8_t version) {
  std::vector<std::uint8_t> in;
  const std::string_view prefix = ".onion checksum";
  in.insert(in.end(), prefix.begin(), prefix.end());
  in.insert(in.end(), pk.begin(), pk.end());
  in.push_back(version);
  auto md = ref_sha3(in);
  return {md[0], md[1]};
}

std::string ref_base32(std::span<const std::uint8_t> bytes) {
  static const char* alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  std::string out;
  const std::size_t nbits = bytes.size() * 8;
  for (std::size_t bit = 0; bit < nbits; bit += 5) {
    unsigned v = 0;
    for (std::size_t i = 0; i < 5; ++i) {
      const std::size_t b = bit + i;
      const unsigned set = b < nbits ? (bytes[b / 8] >> (7 - b % 8)) & 1u : 0u;
      v = (v << 1) | set;
    }
    out += alphabet[v];
  }
  return out;
}

// 56-character label (no ".onion") for pk, version and checksum.
std::string ref_label(const Key& pk, std::uint8_t version, std::array<std::uint8_t, 2> sum) {
  std::array<std::uint8_t, 35> raw{};
  std::copy(pk.begin(), pk.end(), raw.begin());
  raw[32] = sum[0];
  raw[33] = sum[1];
  raw[34] = version;
  return ref_base32(raw);
}
std::string ref_label(const Key& pk, std::uint8_t version = 3) {
  return ref_label(pk, version, ref_checksum(pk, version));
}

std::optional<std::array<std::uint8_t, 35>> ref_unbase32(std::string_view label) {
  if (label.size() != 56) return std::nullopt;
  std::array<std::uint8_t, 35> raw{};
  std::size_t bit = 0;
  for (char c : label) {
    int v = c >= 'a' && c <= 'z' ? c - 'a' : c >= '2' && c <= '7' ? c - '2' + 26 : -1;
    if (v < 0) return std::nullopt;
    for (int i = 4; i >= 0; --i, ++bit)
      if ((v >> i) & 1) raw[bit / 8] |= static_cast<std::uint8_t>(0x80u >> (bit % 8));
  }
  return raw;
}

// What docs/test-vectors.md §1.3 says about a 56-character lower-case label;
// nullopt = valid.
std::optional<OnionError> ref_verdict(std::string_view label) {
  auto raw = ref_unbase32(label);
  if (!raw) return OnionError::BadBase32;
  if ((*raw)[34] != 3) return OnionError::BadVersion;
  Key pk{};
  std::copy(raw->begin(), raw->begin() + 32, pk.begin());
  auto sum = ref_checksum(pk, 3);
  if (sum[0] != (*raw)[32] || sum[1] != (*raw)[33]) return OnionError::BadChecksum;
  if (crypto_core_ed25519_is_valid_point(pk.data()) != 1) return OnionError::BadKey;
  return std::nullopt;
}

// Fresh Ed25519 key pair (crypto_sign_keypair is exactly randombytes(seed) +
// crypto_sign_seed_keypair); the seed is kept so that failures can be
// reproduced from the test log.
struct RandomKey {
  std::array<std::uint8_t, 32> seed{};
  Key pk{};
};
RandomKey random_key() {
  RandomKey k;
  randombytes_buf(k.seed.data(), k.seed.size());
  std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES> sk{};
  if (crypto_sign_seed_keypair(k.pk.data(), sk.data(), k.seed.data()) != 0)
    ADD_FAILURE() << "crypto_sign_seed_keypair failed";
  sodium_memzero(sk.data(), sk.size());
  return k;
}

std::string upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

class OnionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_GE(sodium_init(), 0); }
};

// ------------------------------------------- §1.4 valid vectors (verbatim)

struct ValidVector {
  const char* name;
  const char* pk_hex;
  const char* address;
  const char* checksum_hex;
};
// clang-format off
const ValidVector kValid[] = {
    {"V1", "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8", "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion", "1810"},
    {"V2", "2152f8d19b791d24453242e15f2eab6cb7cffa7b6a5ed30097960e069881db12", "efjprum3peosirjsilqv6lvlns3476t3njpngaexsyhangeb3mjo7sad.onion", "efc8"},
    {"V3", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid.onion", "bec9"},
    {"T1", "13e453934a4e00ee95e9c339fb0867854735d9fad94e607aa0fd13f7765210d4", "cpsfhe2kjyao5fpjym47wcdhqvdtlwp23fhga6va7uj7o5sscdkgohqd.onion", "671e"},
    {"T2", "d679f7b7961bae85039a7e16a92fe6cb0e0051a04cf8e664be640f27dfaa340d", "2z47pn4wdoxika42pylksl7gzmhaaunajt4omzf6mqhspx5kgqgue5qd.onion", "4276"},
};
// Public addresses of §1.4 whose key the doc gives.
const std::pair<const char*, const char*> kPublicWithKey[] = {
    {"2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion", "d1b38b83a83b3ed918c5bb69dd444ad56bc8d5835a914de73447474e5f02591b"},
    {"duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion", "1d04a1d04a338c6e6ae970bfabee49049d6702250984ca950c01673f4ec034ad"},
};
// rend-spec examples of §1.4 (labels only).
const char* const kRendSpecExamples[] = {
    "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd",
    "sp3k262uwy4r2k3ycr5awluarykdpag6a7y33jxop4cs2lu5uz5sseqd",
    "xa4r2iadxm55fbnqgwwi5mymqdcofiu3w6rpbtqn7b2dyn7mgwj64jyd",
};
// clang-format on
constexpr const char* kV1 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead";
constexpr const char* kV1Pk = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";

// ----------------------------------------- §1.5 invalid vectors (verbatim)

struct InvalidVector {
  const char* name;
  const char* label;
  const char* verdict;  // the doc's "onionmx verdict" column
};
// clang-format off
const InvalidVector kInvalid[] = {
    {"bad checksum (1st char)", "boqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead", "bad checksum"},
    {"bad checksum (byte 33 ^1)", "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqeid", "bad checksum"},
    {"version 4, checksum for v4", "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4lxuae", "bad version"},
    {"version 4, checksum for v3", "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqeae", "bad version (checksum also bad)"},
    {"55 chars", "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqea", "bad length"},
    {"57 chars", "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqeada", "bad length"},
    {"non-base32 `1`", "aoqqpp7tzy1l4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead", "bad base32"},
    {"v2", "expyuzz4wqqyqhjn", "v2 unsupported"},
    {"identity pk", "aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaahmjqd", "bad key (checksum OK)"},
    {"order-8 pk", "e3ujld6cwit3arod6se7f34y6dk57laf2pddgonrhabiq3kt7qc2ooid", "bad key"},
    {"pk + torsion", "wfkl2yqyrlrihxiyp7x6rqy7lytw5xyihngp6eoj2xh7qvwhirabj3id", "bad key"},
    {"off-curve y=2", "aiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab3did", "bad key"},
    {"non-canonical identity (y=p+1)", "537777777777777777777777777777777777777777777777757vndid", "bad key"},
    {"identity, sign bit", "aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaacabdzyd", "bad key"},
};
// clang-format on
// The "upper case" row of §1.5 ("reject if strict, else fold"): folded here.
constexpr const char* kV1Upper = "AOQQPP7TZYIL4HLQ3UMOOS6ATFT6JVRQTOSQ2XY53SDGIESVGG4BQEAD";

OnionError kind_of_verdict(std::string_view verdict) {
  static const std::map<std::string_view, OnionError> words = {
      {"bad checksum", OnionError::BadChecksum},     {"bad version", OnionError::BadVersion},
      {"bad length", OnionError::BadLength},         {"bad base32", OnionError::BadBase32},
      {"v2 unsupported", OnionError::V2Unsupported}, {"bad key", OnionError::BadKey},
  };
  for (const auto& [word, kind] : words)
    if (verdict.substr(0, word.size()) == word) return kind;
  ADD_FAILURE() << "unknown verdict in vector table: " << verdict;
  return OnionError::NotOnion;
}

// ------------------------------------------ §1.3 points (hex, 32 bytes each)
// The doc abbreviates: `ecff…ff7f` = ec + 30×ff + 7f, `0100…0080` = 01 +
// 30×00 + 80; the rest are spelled out.
Key point_with(std::uint8_t first, std::uint8_t middle, std::uint8_t last) {
  Key k{};
  k.fill(middle);
  k[0] = first;
  k[31] = last;
  return k;
}
struct BadPoint {
  const char* what;
  Key point;
};
std::vector<BadPoint> table_points() {
  return {
      {"0000…00 order 4", point_with(0x00, 0x00, 0x00)},
      {"0100…00 identity", point_with(0x01, 0x00, 0x00)},
      {"26e8…fc05 order 8",
       key_from_hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")},
      {"c717…037a order 8",
       key_from_hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")},
      {"ecff…ff7f y=-1 order 2", point_with(0xec, 0xff, 0x7f)},
      {"edff…ff7f y=p non-canonical 0", point_with(0xed, 0xff, 0x7f)},
      {"eeff…ff7f y=p+1 non-canonical 1", point_with(0xee, 0xff, 0x7f)},
      {"0100…0080 identity with sign bit", point_with(0x01, 0x00, 0x80)},
      {"0200…00 y=2 off curve", point_with(0x02, 0x00, 0x00)},
      {"b154…4440 V1 pk + order-8 point",
       key_from_hex("b154bd62188ae283dd187fefe8c31f5e276edf083b4cff11c9d5cff856c74440")},
  };
}
constexpr const char* kOrder8Hex =
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05";

// =================================================================== tests

TEST_F(OnionTest, Sha3OfEmptyInputIsFips202NotKeccak) {
  onionmx::crypto::Sha3Digest md{};
  ASSERT_TRUE(onionmx::crypto::sha3_256({}, md));
  EXPECT_EQ(hex(md), "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
}

TEST_F(OnionTest, V1ChecksumHashMatchesTheDocumentedFullDigest) {
  const Key pk = key_from_hex(kV1Pk);
  std::vector<std::uint8_t> in;
  const std::string_view prefix = ".onion checksum";
  in.insert(in.end(), prefix.begin(), prefix.end());
  in.insert(in.end(), pk.begin(), pk.end());
  in.push_back(0x03);
  ASSERT_EQ(in.size(), 48u);
  onionmx::crypto::Sha3Digest md{};
  ASSERT_TRUE(onionmx::crypto::sha3_256(in, md));
  EXPECT_EQ(hex(md), "181093e741cfb817db720612ad08ae3e7595707d7d1812fd477601ea5b73388a");
}

TEST_F(OnionTest, TestReferenceReproducesTheDocumentedChecksumsAndAddresses) {
  // Guards the reference used by the generated-input tests below.
  for (const auto& v : kValid) {
    const Key pk = key_from_hex(v.pk_hex);
    auto sum = ref_checksum(pk, 3);
    EXPECT_EQ(hex(sum), v.checksum_hex) << v.name;
    EXPECT_EQ(ref_label(pk) + ".onion", v.address) << v.name;
    EXPECT_EQ(ref_verdict(ref_label(pk)), std::nullopt) << v.name;
  }
}

TEST_F(OnionTest, EveryDocumentedValidVectorParsesToItsKey) {
  for (const auto& v : kValid) {
    auto r = parse_onion(v.address);
    ASSERT_TRUE(r) << v.name << ": " << r.error().detail;
    EXPECT_EQ(r->address, v.address) << v.name;
    EXPECT_EQ(r->full, v.address) << v.name;
    EXPECT_EQ(hex(r->pubkey), v.pk_hex) << v.name;
  }
  for (const auto& [address, pk] : kPublicWithKey) {
    auto r = parse_onion(address);
    ASSERT_TRUE(r) << address << ": " << r.error().detail;
    EXPECT_EQ(hex(r->pubkey), pk) << address;
  }
  for (const char* label : kRendSpecExamples) {
    const std::string name = std::string(label) + ".onion";
    auto r = parse_onion(name);
    ASSERT_TRUE(r) << name << ": " << r.error().detail;
    EXPECT_EQ(r->address, name);
  }
}

TEST_F(OnionTest, EncodingTheDocumentedKeysGivesTheDocumentedAddresses) {
  for (const auto& v : kValid) {
    const Key pk = key_from_hex(v.pk_hex);
    EXPECT_EQ(encode_onion(pk), v.address) << v.name;
  }
  for (const auto& [address, pk] : kPublicWithKey)
    EXPECT_EQ(encode_onion(key_from_hex(pk)), address);
}

TEST_F(OnionTest, EveryDocumentedInvalidVectorFailsWithTheDocumentedError) {
  for (const auto& v : kInvalid) {
    const OnionError want = kind_of_verdict(v.verdict);
    for (const std::string& name :
         {std::string(v.label) + ".onion", std::string(v.label) + ".onion."}) {
      auto r = parse_onion(name);
      ASSERT_FALSE(r) << v.name << ": accepted " << name;
      EXPECT_EQ(r.error().kind, want) << v.name << ": got \"" << onion_error_name(r.error().kind)
                                      << "\" (" << r.error().detail << ")";
      EXPECT_FALSE(r.error().detail.empty()) << v.name;
    }
  }
}

TEST_F(OnionTest, ErrorNamesAreTheWordsOfTheDocVerdictColumn) {
  EXPECT_EQ(onion_error_name(OnionError::BadChecksum), "bad checksum");
  EXPECT_EQ(onion_error_name(OnionError::BadVersion), "bad version");
  EXPECT_EQ(onion_error_name(OnionError::BadLength), "bad length");
  EXPECT_EQ(onion_error_name(OnionError::BadBase32), "bad base32");
  EXPECT_EQ(onion_error_name(OnionError::V2Unsupported), "v2 unsupported");
  EXPECT_EQ(onion_error_name(OnionError::BadKey), "bad key");
}

TEST_F(OnionTest, BadKeyVectorsCorrespondToTheDocumentedPointTable) {
  // §1.5's bad-key addresses are the §1.3 points with a valid checksum.
  const std::map<std::string, std::string> label_of_point = {
      {"0100…00 identity", "aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaahmjqd"},
      {"26e8…fc05 order 8", "e3ujld6cwit3arod6se7f34y6dk57laf2pddgonrhabiq3kt7qc2ooid"},
      {"b154…4440 V1 pk + order-8 point",
       "wfkl2yqyrlrihxiyp7x6rqy7lytw5xyihngp6eoj2xh7qvwhirabj3id"},
      {"0200…00 y=2 off curve", "aiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab3did"},
      {"eeff…ff7f y=p+1 non-canonical 1",
       "537777777777777777777777777777777777777777777777757vndid"},
      {"0100…0080 identity with sign bit",
       "aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaacabdzyd"},
  };
  for (const auto& p : table_points()) {
    auto it = label_of_point.find(p.what);
    if (it != label_of_point.end()) {
      EXPECT_EQ(ref_label(p.point), it->second) << p.what;
    }
  }
}

TEST_F(OnionTest, EveryPointOfTheSmallOrderTableIsRefusedEvenWithAValidChecksum) {
  for (const auto& p : table_points()) {
    EXPECT_EQ(crypto_core_ed25519_is_valid_point(p.point.data()), 0) << p.what;
    const std::string name = ref_label(p.point) + ".onion";
    auto r = parse_onion(name);
    ASSERT_FALSE(r) << p.what << ": accepted " << name;
    EXPECT_EQ(r.error().kind, OnionError::BadKey) << p.what << ": " << r.error().detail;
  }
}

TEST_F(OnionTest, V1PlusTheOrder8PointIsTheDocumentedTorsionedKey) {
  // Checks the construction used by the random torsion test below.
  const Key v1 = key_from_hex(kV1Pk);
  const Key t8 = key_from_hex(kOrder8Hex);
  Key sum{};
  ASSERT_EQ(crypto_core_ed25519_add(sum.data(), v1.data(), t8.data()), 0);
  EXPECT_EQ(hex(sum), "b154bd62188ae283dd187fefe8c31f5e276edf083b4cff11c9d5cff856c74440");
}

TEST_F(OnionTest, UpperAndMixedCaseAreFoldedToLowerCase) {
  for (const std::string& name :
       {std::string(kV1Upper) + ".ONION", std::string(kV1Upper) + ".onion",
        std::string("aOqQpp7TZYIL4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqeaD.OnIoN")}) {
    auto r = parse_onion(name);
    ASSERT_TRUE(r) << name << ": " << r.error().detail;
    EXPECT_EQ(r->address, std::string(kV1) + ".onion");
    EXPECT_EQ(r->full, std::string(kV1) + ".onion");
    EXPECT_EQ(hex(r->pubkey), kV1Pk);
  }
}

TEST_F(OnionTest, OneTrailingDotIsAcceptedAndStripped) {
  auto r = parse_onion(std::string(kV1) + ".onion.");
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->full, std::string(kV1) + ".onion");
  EXPECT_EQ(r->address, std::string(kV1) + ".onion");
}

TEST_F(OnionTest, TwoTrailingDotsAreRejected) {
  EXPECT_FALSE(parse_onion(std::string(kV1) + ".onion.."));
  EXPECT_FALSE(parse_onion("smtp." + std::string(kV1) + ".onion.."));
}

TEST_F(OnionTest, SubdomainIsKeptInFullButOnlyTheAddressLabelIsValidated) {
  struct Case {
    std::string name, full;
  };
  const std::string addr = std::string(kV1) + ".onion";
  for (const Case& c :
       {Case{"smtp." + addr, "smtp." + addr},
        Case{"SMTP." + std::string(kV1Upper) + ".ONION.", "smtp." + addr},
        Case{"a.b-c.d_e.smtp." + addr, "a.b-c.d_e.smtp." + addr},
        Case{std::string(63, 'x') + "." + addr, std::string(63, 'x') + "." + addr}}) {
    auto r = parse_onion(c.name);
    ASSERT_TRUE(r) << c.name << ": " << r.error().detail;
    EXPECT_EQ(r->full, c.full);
    EXPECT_EQ(r->address, addr);
    EXPECT_EQ(hex(r->pubkey), kV1Pk);
  }
}

TEST_F(OnionTest, SubdomainOfAnInvalidAddressIsStillInvalid) {
  auto r = parse_onion("smtp.boqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, OnionError::BadChecksum);
  r = parse_onion("www.expyuzz4wqqyqhjn.onion");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, OnionError::V2Unsupported);
}

TEST_F(OnionTest, EmptyOrMalformedSubdomainLabelsAreBadSyntax) {
  const std::string addr = std::string(kV1) + ".onion";
  for (const std::string& name :
       {"." + addr, "a.." + addr, "..." + addr, "a..b." + addr, "sm tp." + addr, "smtp!." + addr,
        "m\xc3\xbcller." + addr, std::string(64, 'x') + "." + addr, "tab\t." + addr}) {
    auto r = parse_onion(name);
    ASSERT_FALSE(r) << "accepted \"" << name << "\"";
    EXPECT_EQ(r.error().kind, OnionError::BadSyntax) << name << ": " << r.error().detail;
  }
}

TEST_F(OnionTest, NamesUpTo253CharactersAreAcceptedAndLongerOnesRejected) {
  const std::string addr = std::string(kV1) + ".onion";  // 62 characters
  const std::string sub =
      std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(62, 'c');
  const std::string at_limit = sub + "." + addr;
  ASSERT_EQ(at_limit.size(), 253u);
  EXPECT_TRUE(parse_onion(at_limit));
  auto r = parse_onion("c" + at_limit);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, OnionError::BadSyntax);
}

TEST_F(OnionTest, DotOnionAloneAndEmptyInputAreRejected) {
  auto r = parse_onion(".onion");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, OnionError::BadLength);
  r = parse_onion(".onion.");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, OnionError::BadLength);
  r = parse_onion("");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, OnionError::NotOnion);
  r = parse_onion(".");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, OnionError::NotOnion);
}

// The bare TLD "onion" has no room for an address label.  Each input runs in
// a child process so that a crash (out-of-bounds read) fails this test
// without taking the rest of the suite down.
TEST_F(OnionTest, BareOnionTldIsRejectedWithoutCrashing) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (const char* name : {"onion", "onion.", "ONION", "Onion."}) {
    EXPECT_EXIT(
        {
          auto r = parse_onion(name);
          std::_Exit(r ? 3 : 0);
        },
        ::testing::ExitedWithCode(0), "")
        << "parse_onion(\"" << name << "\") crashed or was accepted";
  }
}

TEST_F(OnionTest, NonOnionNamesAreNotOnion) {
  for (const char* name : {"example.com", "onion.example.com", "xonion",
                           "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead",
                           "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion.example",
                           "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead-onion"}) {
    auto r = parse_onion(name);
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error().kind, OnionError::NotOnion) << name;
    EXPECT_FALSE(is_onion_name(name)) << name;
  }
}

TEST_F(OnionTest, IsOnionNameMatchesTheLastLabelInAnyCaseWithOneTrailingDot) {
  EXPECT_TRUE(is_onion_name("x.onion"));
  EXPECT_TRUE(is_onion_name("X.ONION."));
  EXPECT_TRUE(is_onion_name("smtp.whatever.Onion"));
  EXPECT_FALSE(is_onion_name("x.onionx"));
  EXPECT_FALSE(is_onion_name("x.xonion"));
  EXPECT_FALSE(is_onion_name(""));
}

TEST_F(OnionTest, SixteenCharacterLabelIsV2Unsupported) {
  for (const char* name :
       {"expyuzz4wqqyqhjn.onion", "EXPYUZZ4WQQYQHJN.onion.", "aaaaaaaaaaaaaaaa.onion"}) {
    auto r = parse_onion(name);
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error().kind, OnionError::V2Unsupported) << name;
  }
}

TEST_F(OnionTest, OtherLengthsAreBadLength) {
  for (std::size_t n : {1u, 15u, 17u, 55u, 57u, 63u}) {
    const std::string name = std::string(n, 'a') + ".onion";
    auto r = parse_onion(name);
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error().kind, OnionError::BadLength) << n;
  }
}

TEST_F(OnionTest, ControlAndNonAsciiBytesAreBadSyntax) {
  std::string with_nul = std::string(kV1) + ".onion";
  with_nul[5] = '\0';
  std::string with_high = std::string(kV1) + ".onion";
  with_high[5] = '\xe9';
  for (const std::string& name :
       {with_nul, with_high, std::string(kV1).replace(5, 1, " ") + ".onion"}) {
    auto r = parse_onion(name);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, OnionError::BadSyntax) << r.error().detail;
  }
}

TEST_F(OnionTest, TenThousandRandomKeysRoundTripThroughEncodeAndParse) {
  std::vector<RandomKey> keys;
  for (int i = 0; i < 10000; ++i) {
    const RandomKey& k = keys.emplace_back(random_key());
    const std::string address = encode_onion(k.pk);
    ASSERT_EQ(address, ref_label(k.pk) + ".onion") << "seed " << hex(k.seed);
    // §1.1: the last character is always 'd', the 55th one of "aiqy".
    ASSERT_EQ(address[55], 'd') << address;
    ASSERT_NE(std::string_view("aiqy").find(address[54]), std::string_view::npos) << address;
    auto r = parse_onion(address);
    ASSERT_TRUE(r) << "seed " << hex(k.seed) << ": " << r.error().detail;
    ASSERT_EQ(r->pubkey, k.pk) << "seed " << hex(k.seed);
    ASSERT_EQ(r->address, address);
    ASSERT_EQ(r->full, address);
  }
  // Second pass, newest first and with a subdomain, in upper case: whatever
  // parse_onion remembers between calls, every key comes back unchanged.
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
    const std::string address = ref_label(it->pk) + ".onion";
    auto r = parse_onion("MX." + upper(address));
    ASSERT_TRUE(r) << "seed " << hex(it->seed) << ": " << r.error().detail;
    ASSERT_EQ(r->pubkey, it->pk) << "seed " << hex(it->seed);
    ASSERT_EQ(r->address, address);
    ASSERT_EQ(r->full, "mx." + address);
  }
}

// Corruption classes, applied to a few hundred random valid addresses.  For
// each corrupted label the expected error comes from the reference; the one
// thing that can legitimately be accepted is a substitution that happens to
// spell *another* valid address (16-bit checksum collision and a valid
// point, about 2^-20 per substitution), which the reference recognises.
class OnionCorruptionTest : public OnionTest {
 protected:
  static constexpr int kKeys = 300;
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz234567";
};

TEST_F(OnionCorruptionTest, EverySingleCharacterSubstitutionIsRejectedWithTheRightError) {
  std::map<OnionError, long> seen;
  long collisions = 0;
  for (int i = 0; i < kKeys; ++i) {
    const RandomKey k = random_key();
    const std::string label = ref_label(k.pk);
    for (std::size_t pos = 0; pos < label.size(); ++pos) {
      for (char c : kAlphabet) {
        if (c == label[pos]) continue;
        std::string bad = label;
        bad[pos] = c;
        const auto want = ref_verdict(bad);
        auto r = parse_onion(bad + ".onion");
        if (!want) {
          // A different, genuinely valid address: must decode to its own key.
          ++collisions;
          ASSERT_TRUE(r) << bad;
          ASSERT_NE(r->pubkey, k.pk) << bad;
          continue;
        }
        ASSERT_FALSE(r) << "corrupted address accepted: " << bad << " (seed " << hex(k.seed) << ")";
        ASSERT_EQ(r.error().kind, *want) << bad << ": " << r.error().detail;
        ++seen[r.error().kind];
        // Position classes of §1.1: chars 52-53 hold only checksum bits,
        // char 55 only version bits, so these verdicts do not depend on luck.
        if (pos == 52 || pos == 53) {
          ASSERT_EQ(r.error().kind, OnionError::BadChecksum) << bad;
        }
        if (pos == 55) {
          ASSERT_EQ(r.error().kind, OnionError::BadVersion) << bad;
        }
        if (pos < 54) {
          ASSERT_NE(r.error().kind, OnionError::BadVersion) << bad;
        }
      }
    }
  }
  // Every class must actually have been exercised.
  EXPECT_GT(seen[OnionError::BadChecksum], 0);
  EXPECT_GT(seen[OnionError::BadVersion], 0);
  EXPECT_LT(collisions, 20) << "far more accidental valid addresses than a 16-bit checksum allows";
}

TEST_F(OnionCorruptionTest, NonBase32CharacterAnywhereIsBadBase32) {
  for (int i = 0; i < kKeys; ++i) {
    const std::string label = ref_label(random_key().pk);
    for (std::size_t pos = 0; pos < label.size(); ++pos) {
      for (char c : std::string_view("01890=!+/-_")) {
        std::string bad = label;
        bad[pos] = c;
        auto r = parse_onion(bad + ".onion");
        ASSERT_FALSE(r) << bad;
        ASSERT_EQ(r.error().kind, OnionError::BadBase32) << bad << ": " << r.error().detail;
      }
    }
  }
}

TEST_F(OnionCorruptionTest, DroppingOrInsertingOneCharacterIsBadLength) {
  for (int i = 0; i < kKeys; ++i) {
    const std::string label = ref_label(random_key().pk);
    for (std::size_t pos = 0; pos < label.size(); ++pos) {
      std::string shorter = label;
      shorter.erase(pos, 1);
      std::string longer = label;
      longer.insert(pos, 1, kAlphabet[pos % kAlphabet.size()]);
      for (const std::string& bad : {shorter, longer}) {
        auto r = parse_onion(bad + ".onion");
        ASSERT_FALSE(r) << bad;
        ASSERT_EQ(r.error().kind, OnionError::BadLength) << bad;
      }
    }
  }
}

TEST_F(OnionCorruptionTest, EveryOtherVersionByteIsBadVersionEvenWithItsOwnChecksum) {
  for (int i = 0; i < kKeys; ++i) {
    const Key pk = random_key().pk;
    for (int version = 0; version < 256; ++version) {
      if (version == 3) continue;
      const std::string bad = ref_label(pk, static_cast<std::uint8_t>(version));
      auto r = parse_onion(bad + ".onion");
      ASSERT_FALSE(r) << "version " << version << " accepted: " << bad;
      ASSERT_EQ(r.error().kind, OnionError::BadVersion) << bad << ": " << r.error().detail;
    }
  }
}

TEST_F(OnionCorruptionTest, KeyWithATorsionComponentIsBadKeyDespiteAValidChecksum) {
  const Key t8 = key_from_hex(kOrder8Hex);
  const Key v1 = key_from_hex(kV1Pk);
  std::vector<Key> small_order;
  for (const auto& p : table_points()) {
    Key scratch{};
    if (crypto_core_ed25519_add(scratch.data(), v1.data(), p.point.data()) == 0)
      small_order.push_back(p.point);  // points libsodium can add (on the curve)
  }
  ASSERT_GE(small_order.size(), 3u);
  for (int i = 0; i < kKeys; ++i) {
    const RandomKey k = random_key();
    // pk + T for the documented order-8 point and the other on-curve
    // small-order points of the table.
    for (const Key& t : small_order) {
      Key torsioned{};
      ASSERT_EQ(crypto_core_ed25519_add(torsioned.data(), k.pk.data(), t.data()), 0);
      if (torsioned == k.pk) continue;  // t is the identity
      const std::string bad = ref_label(torsioned);
      auto r = parse_onion(bad + ".onion");
      ASSERT_FALSE(r) << "torsioned key accepted: " << bad << " (seed " << hex(k.seed) << ")";
      ASSERT_EQ(r.error().kind, OnionError::BadKey) << bad << ": " << r.error().detail;
    }
    Key torsioned{};
    ASSERT_EQ(crypto_core_ed25519_add(torsioned.data(), k.pk.data(), t8.data()), 0);
    auto r = parse_onion(ref_label(torsioned) + ".onion");
    ASSERT_FALSE(r);
    ASSERT_EQ(r.error().kind, OnionError::BadKey);
  }
}

TEST_F(OnionCorruptionTest, ChangingTheCaseOfAnyCharacterStillNamesTheSameKey) {
  for (int i = 0; i < 20; ++i) {
    const RandomKey k = random_key();
    const std::string label = ref_label(k.pk);
    for (std::size_t pos = 0; pos < label.size(); ++pos) {
      std::string mixed = label;
      mixed[pos] = upper(std::string(1, mixed[pos]))[0];
      auto r = parse_onion(mixed + ".onion");
      ASSERT_TRUE(r) << mixed << ": " << r.error().detail;
      ASSERT_EQ(r->pubkey, k.pk);
      ASSERT_EQ(r->address, label + ".onion");
    }
  }
}

}  // namespace
