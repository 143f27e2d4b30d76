// test_tsig.cpp - RFC 2136 UPDATE writer + RFC 8945 TSIG: the deterministic
// vector of docs/test-vectors.md §4 byte for byte, response
// verification (request MAC chaining, BADTIME/BADSIG/BADKEY answers), and the
// reader's verdict for every rcode and TSIG error.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/test_util.hpp"
#include "crypto/hmac.hpp"
#include "dns/message.hpp"
#include "dns/tsig.hpp"
#include "dns/update.hpp"
#include "dns/wire.hpp"

namespace {

using namespace onionmx::dns;
using onionmx::test::contains;
using onionmx::test::hex;

std::vector<std::uint8_t> unhex(std::string_view h) {
  std::vector<std::uint8_t> out;
  std::string digits;
  for (char c : h)
    if (c != ' ' && c != '\n') digits += c;
  for (std::size_t i = 0; i + 1 < digits.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  return out;
}

constexpr std::uint64_t kTime = 1700000000;
constexpr const char* kV3 = "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid.onion";

TsigKey vector_key() {
  TsigKey k;
  k.name = "vector-key";
  k.algorithm = TsigAlgorithm::HmacSha256;
  for (int i = 0; i < 32; ++i) k.secret.push_back(static_cast<std::uint8_t>(i));
  return k;
}

// docs/test-vectors.md §4, as printed there.
const char* kMessageHex =
    "123428000001000000020000076f6e696f6e6d7804746573740000060001095f6f6e696f6e2d6d78045f746370056d"
    "61696c33"
    "076f6e696f6e6d78047465737400002100ff000000000000095f6f6e696f6e2d6d78045f746370056d61696c33076f"
    "6e696f6e"
    "6d78047465737400002100010000012c00460000000500193832356e6a71616d637765666c70766b6c37336a34737a"
    "616868"
    "69686f63347874336b7463676a6e7061696e67723579686b656e6c35736964056f6e696f6e00";
const char* kVariablesHex =
    "0a766563746f722d6b657900 00ff 00000000 0b686d61632d73686132353600 00006553f100 012c 0000 0000";
const char* kMacHex = "27ccc649cad5daebbe5c08d6b9c858dec74337e56b602f8e44cc983ebc1dac3e";

std::vector<std::uint8_t> vector_message() {
  UpdateMessage m;
  m.id = 0x1234;
  m.zone = "onionmx.test";
  const std::string owner = "_onion-mx._tcp.mail3.onionmx.test";
  m.updates.push_back(delete_rrset(owner, kTypeSrv));
  auto rd = srv_rdata(0, 5, 25, std::string(kV3) + ".");
  EXPECT_TRUE(rd);
  m.updates.push_back(UpdateRr{owner, kTypeSrv, kClassIn, 300, *rd});
  auto w = build_update(m);
  EXPECT_TRUE(w);
  return *w;
}

TEST(TsigVector, MessageMatchesByteForByte) {
  const auto w = vector_message();
  EXPECT_EQ(w.size(), 190u);
  EXPECT_EQ(hex(w), hex(unhex(kMessageHex)));
}

TEST(TsigVector, VariablesMatch) {
  auto v = tsig_variables("vector-key", TsigAlgorithm::HmacSha256, kTime, 300, 0, {});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->size(), 43u);
  EXPECT_EQ(hex(*v), hex(unhex(kVariablesHex)));
}

TEST(TsigVector, SignedMessageMatchesByteForByte) {
  auto s = tsig_sign(vector_message(), vector_key(), kTime, 300);
  ASSERT_TRUE(s) << s.error().detail;
  EXPECT_EQ(hex(s->mac), kMacHex);
  auto expected = unhex(kMessageHex);
  expected[11] = 1;  // ARCOUNT patched to 1
  const auto tail = unhex(std::string("0a766563746f722d6b657900 00fa 00ff 00000000 003d "
                                      "0b686d61632d73686132353600 00006553f100 012c 0020") +
                          kMacHex + "1234 0000 0000");
  expected.insert(expected.end(), tail.begin(), tail.end());
  EXPECT_EQ(s->wire.size(), 273u);
  EXPECT_EQ(hex(s->wire), hex(expected));
}

TEST(TsigVector, KeyNameAndAlgorithmAreCanonical) {
  // Upper-case key names sign like their lower-case form (RFC 8945 §4.3.3).
  auto k = vector_key();
  k.name = "Vector-KEY";
  auto s = tsig_sign(vector_message(), k, kTime, 300);
  ASSERT_TRUE(s);
  EXPECT_EQ(hex(s->mac), kMacHex);
}

TEST(Tsig, SignedRequestVerifiesAndSplits) {
  auto s = tsig_sign(vector_message(), vector_key(), kTime, 300);
  ASSERT_TRUE(s);
  auto v = tsig_verify_request(s->wire, vector_key(), kTime + 10);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->check, TsigCheck::Verified);
  auto late = tsig_verify_request(s->wire, vector_key(), kTime + 301);
  ASSERT_TRUE(late);
  EXPECT_EQ(late->check, TsigCheck::BadTime);
  auto split = tsig_split(s->wire);
  ASSERT_TRUE(split && *split);
  EXPECT_EQ(hex((*split)->unsigned_message), hex(vector_message()));
  EXPECT_EQ((*split)->tsig.key_name, "vector-key");
  EXPECT_EQ((*split)->tsig.original_id, 0x1234);
  // Every byte flipped breaks the MAC (or the parse), except the header ID,
  // which the MAC covers as the TSIG original ID (RFC 8945 §4.3.1).
  for (std::size_t i = 2; i < s->wire.size(); ++i) {
    auto w = s->wire;
    w[i] ^= 0x01;
    auto r = tsig_verify_request(w, vector_key(), kTime);
    if (r) {
      EXPECT_NE(r->check, TsigCheck::Verified) << "byte " << i;
    }
  }
}

TEST(Tsig, OtherAlgorithms) {
  for (auto alg : {TsigAlgorithm::HmacSha1, TsigAlgorithm::HmacSha224, TsigAlgorithm::HmacSha384,
                   TsigAlgorithm::HmacSha512}) {
    auto k = vector_key();
    k.algorithm = alg;
    auto s = tsig_sign(vector_message(), k, kTime);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->mac.size(), tsig_mac_size(alg));
    auto v = tsig_verify_request(s->wire, k, kTime);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->check, TsigCheck::Verified);
    auto other = vector_key();  // same name, sha256: wrong algorithm
    auto w = tsig_verify_request(s->wire, other, kTime);
    ASSERT_TRUE(w);
    EXPECT_EQ(w->check, TsigCheck::WrongKey);
  }
  EXPECT_EQ(tsig_algorithm_from_name("HMAC-SHA512."), TsigAlgorithm::HmacSha512);
  EXPECT_FALSE(tsig_algorithm_from_name("hmac-md5.sig-alg.reg.int"));
}

// ---------------------------------------------------------------------------
// Responses, built as a server would (RFC 8945 §5.3).

struct ServerReply {
  std::uint8_t rcode = 0;
  std::uint16_t tsig_error = 0;
  bool sign = true;  // MAC over request MAC + response
  bool include_tsig = true;
  std::uint64_t time = kTime;
  std::vector<std::uint8_t> other;
  std::string key_name = "vector-key";
  std::uint16_t id = 0x1234;
  std::uint16_t opcode = kOpcodeUpdate;
};

std::vector<std::uint8_t> make_reply(const ServerReply& r,
                                     std::span<const std::uint8_t> request_mac,
                                     const TsigKey& key) {
  std::vector<std::uint8_t> w;
  wire::put16(w, r.id);
  wire::put16(w, static_cast<std::uint16_t>(0x8000 | (r.opcode << 11) | r.rcode));
  wire::put16(w, 1);
  wire::put16(w, 0);
  wire::put16(w, 0);
  wire::put16(w, 0);
  auto zone = encode_name("onionmx.test");
  w.insert(w.end(), zone->begin(), zone->end());
  wire::put16(w, kTypeSoa);
  wire::put16(w, kClassIn);
  if (!r.include_tsig) return w;
  std::vector<std::uint8_t> mac;
  if (r.sign) {
    std::vector<std::uint8_t> prefix;
    wire::put16(prefix, static_cast<std::uint16_t>(request_mac.size()));
    prefix.insert(prefix.end(), request_mac.begin(), request_mac.end());
    auto vars = tsig_variables(r.key_name, key.algorithm, r.time, 300, r.tsig_error, r.other);
    const std::span<const std::uint8_t> parts[] = {prefix, w, *vars};
    mac = *onionmx::crypto::hmac(onionmx::crypto::HmacDigest::Sha256, key.secret, parts);
  }
  w[11] = 1;
  auto kn = encode_name(r.key_name);
  auto an = encode_name("hmac-sha256");
  w.insert(w.end(), kn->begin(), kn->end());
  wire::put16(w, kTypeTsig);
  wire::put16(w, kClassAny);
  wire::put32(w, 0);
  std::vector<std::uint8_t> rd = *an;
  wire::put48(rd, r.time);
  wire::put16(rd, 300);
  wire::put16(rd, static_cast<std::uint16_t>(mac.size()));
  rd.insert(rd.end(), mac.begin(), mac.end());
  wire::put16(rd, 0x1234);
  wire::put16(rd, r.tsig_error);
  wire::put16(rd, static_cast<std::uint16_t>(r.other.size()));
  rd.insert(rd.end(), r.other.begin(), r.other.end());
  wire::put16(w, static_cast<std::uint16_t>(rd.size()));
  w.insert(w.end(), rd.begin(), rd.end());
  return w;
}

class Responses : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = tsig_sign(vector_message(), vector_key(), kTime);
    ASSERT_TRUE(s);
    request_mac_ = s->mac;
  }
  onionmx::base::Result<UpdateResponse> read(const ServerReply& r, std::uint64_t now = kTime) {
    const auto w = make_reply(r, request_mac_, vector_key());
    return read_update_response(w, 0x1234, vector_key(), request_mac_, now);
  }
  std::vector<std::uint8_t> request_mac_;
};

TEST_F(Responses, NoErrorSignedIsSuccess) {
  auto r = read({});
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->verdict, UpdateVerdict::Success);
  EXPECT_EQ(r->tsig_check, TsigCheck::Verified);
}

TEST_F(Responses, NoErrorUnsignedOrForgedIsUnverified) {
  ServerReply plain;
  plain.include_tsig = false;
  auto r = read(plain);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->verdict, UpdateVerdict::Unverified);
  EXPECT_EQ(r->tsig_check, TsigCheck::Unsigned);

  // A MAC made without the request MAC (or for another request) fails.
  const auto w = make_reply({}, std::vector<std::uint8_t>(32, 0), vector_key());
  auto f = read_update_response(w, 0x1234, vector_key(), request_mac_, kTime);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->verdict, UpdateVerdict::Unverified);
  EXPECT_EQ(f->tsig_check, TsigCheck::BadMac);

  ServerReply other_key;
  other_key.key_name = "other-key";
  auto o = read(other_key);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->tsig_check, TsigCheck::WrongKey);
  EXPECT_EQ(o->verdict, UpdateVerdict::Unverified);

  auto late = read({}, kTime + 1000);
  ASSERT_TRUE(late);
  EXPECT_EQ(late->tsig_check, TsigCheck::BadTime);
  EXPECT_EQ(late->verdict, UpdateVerdict::Unverified);
}

TEST_F(Responses, EveryRcode) {
  const std::pair<std::uint8_t, UpdateVerdict> cases[] = {
      {0, UpdateVerdict::Success},      {1, UpdateVerdict::ServerError},
      {2, UpdateVerdict::ServerError},  {3, UpdateVerdict::PrereqFailed},
      {4, UpdateVerdict::ServerError},  {5, UpdateVerdict::Refused},
      {6, UpdateVerdict::PrereqFailed}, {7, UpdateVerdict::PrereqFailed},
      {8, UpdateVerdict::PrereqFailed}, {9, UpdateVerdict::NotAuth},
      {10, UpdateVerdict::NotZone},     {11, UpdateVerdict::ServerError},
      {15, UpdateVerdict::ServerError},
  };
  for (auto [rcode, verdict] : cases) {
    for (bool sign : {true, false}) {
      ServerReply s;
      s.rcode = rcode;
      s.sign = sign;
      auto r = read(s);
      ASSERT_TRUE(r) << int(rcode);
      const auto want = (rcode == 0 && !sign) ? UpdateVerdict::Unverified : verdict;
      EXPECT_EQ(r->verdict, want) << "rcode " << int(rcode) << " signed " << sign;
      EXPECT_EQ(r->rcode, rcode);
      EXPECT_FALSE(r->detail.empty());
    }
  }
  ServerReply nz;
  nz.rcode = kRcodeNotZone;
  EXPECT_TRUE(contains(read(nz)->detail, "NOTZONE"));
  ServerReply na;
  na.rcode = kRcodeNotAuth;
  EXPECT_TRUE(contains(read(na)->detail, "not authoritative"));
}

TEST_F(Responses, TsigErrors) {
  ServerReply badsig;  // as BIND: NOTAUTH, error 16, MAC size 0
  badsig.rcode = kRcodeNotAuth;
  badsig.tsig_error = kTsigBadSig;
  badsig.sign = false;
  auto s = read(badsig);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->verdict, UpdateVerdict::BadSig);
  EXPECT_EQ(s->tsig_error, kTsigBadSig);
  EXPECT_TRUE(contains(s->detail, "BADSIG")) << s->detail;

  ServerReply badkey = badsig;
  badkey.tsig_error = kTsigBadKey;
  auto k = read(badkey);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->verdict, UpdateVerdict::BadKey);
  EXPECT_TRUE(contains(k->detail, "does not know key vector-key"));

  ServerReply badtime;  // signed; other data = server time (6 bytes)
  badtime.rcode = kRcodeNotAuth;
  badtime.tsig_error = kTsigBadTime;
  wire::put48(badtime.other, kTime + 3600);
  auto t = read(badtime);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->verdict, UpdateVerdict::BadTime);
  EXPECT_EQ(t->tsig_check, TsigCheck::Verified);
  ASSERT_TRUE(t->server_time);
  EXPECT_EQ(*t->server_time, kTime + 3600);
  EXPECT_TRUE(contains(t->detail, "server time 1700003600")) << t->detail;

  ServerReply badtrunc = badsig;
  badtrunc.tsig_error = kTsigBadTrunc;
  auto tr = read(badtrunc);
  ASSERT_TRUE(tr);
  EXPECT_EQ(tr->verdict, UpdateVerdict::ServerError);
  EXPECT_TRUE(contains(tr->detail, "BADTRUNC"));
}

TEST_F(Responses, NotAnAnswerToThisRequest) {
  ServerReply wrong_id;
  wrong_id.id = 0x4321;
  EXPECT_FALSE(read(wrong_id));
  ServerReply query;
  query.opcode = 0;
  EXPECT_FALSE(read(query));
  std::vector<std::uint8_t> request = vector_message();  // QR = 0
  EXPECT_FALSE(read_update_response(request, 0x1234, vector_key(), request_mac_, kTime));
  EXPECT_FALSE(read_update_response(std::vector<std::uint8_t>(5, 0), 0x1234, vector_key(),
                                    request_mac_, kTime));
  // Truncated TSIG RR.
  auto w = make_reply({}, request_mac_, vector_key());
  w.pop_back();
  EXPECT_FALSE(read_update_response(w, 0x1234, vector_key(), request_mac_, kTime));
}

}  // namespace
