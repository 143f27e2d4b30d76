// test_dns_message.cpp - DNS wire format: query building and the strict
// answer walker (RFC 1035 §4, RFC 6891 OPT, RFC 2782 SRV RDATA, RFC 1035
// §3.3.9 MX and §3.3.14 TXT RDATA), and what a parsed TXT, MX or TLSA
// answer means (interpret_rr_answer: the policy record and the downgrade
// guard, docs/route-trust.md).
//
// Answers are assembled byte by byte with the Wire builder below, so every
// expected value is written in the test, not computed by the code under test.
// Malformed input must come back as BadData and never crash (this file also
// runs under ASan+UBSan).
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "dns/message.hpp"
#include "dns/srv_answer.hpp"

namespace {

using namespace onionmx::dns;
using onionmx::base::Result;
using onionmx::base::Status;

// ------------------------------------------------------------ wire builder

class Wire {
 public:
  Wire& u8(std::uint8_t v) {
    b.push_back(v);
    return *this;
  }
  Wire& u16(std::uint16_t v) {
    return u8(static_cast<std::uint8_t>(v >> 8)).u8(static_cast<std::uint8_t>(v));
  }
  Wire& u32(std::uint32_t v) {
    return u16(static_cast<std::uint16_t>(v >> 16)).u16(static_cast<std::uint16_t>(v));
  }
  Wire& raw(std::initializer_list<std::uint8_t> bytes) {
    b.insert(b.end(), bytes);
    return *this;
  }
  Wire& raw(std::string_view s) {
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  // Labels of a dotted name, without the root terminator.
  Wire& labels(std::string_view dotted) {
    while (!dotted.empty()) {
      auto dot = dotted.find('.');
      std::string_view label = dotted.substr(0, dot);
      u8(static_cast<std::uint8_t>(label.size())).raw(label);
      dotted = dot == std::string_view::npos ? std::string_view{} : dotted.substr(dot + 1);
    }
    return *this;
  }
  Wire& name(std::string_view dotted) { return labels(dotted).u8(0); }
  Wire& ptr(std::size_t offset) { return u16(static_cast<std::uint16_t>(0xc000 | offset)); }

  Wire& header(std::uint16_t id, std::uint16_t flags, std::uint16_t qd, std::uint16_t an,
               std::uint16_t ns, std::uint16_t ar) {
    return u16(id).u16(flags).u16(qd).u16(an).u16(ns).u16(ar);
  }
  // Fixed RR fields after the owner name; RDLENGTH is patched by end_rdata().
  Wire& rr_fields(std::uint16_t type, std::uint32_t ttl, std::uint16_t cls = kClassIn) {
    u16(type).u16(cls).u32(ttl);
    rdlen_at_ = b.size();
    return u16(0);
  }
  Wire& end_rdata(int adjust = 0) {
    const std::size_t len = b.size() - rdlen_at_ - 2 + static_cast<std::size_t>(adjust);
    b[rdlen_at_] = static_cast<std::uint8_t>(len >> 8);
    b[rdlen_at_ + 1] = static_cast<std::uint8_t>(len);
    return *this;
  }
  std::size_t size() const { return b.size(); }

  std::vector<std::uint8_t> b;

 private:
  std::size_t rdlen_at_ = 0;
};

constexpr std::uint16_t kFlagsAnswer = 0x8180;  // QR RD RA, NOERROR
constexpr std::uint16_t kFlagsNxDomain = 0x8183;
constexpr std::size_t kQname = 12;  // offset of the first question name

const std::string kA1 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead";
const std::string kA2 = "efjprum3peosirjsilqv6lvlns3476t3njpngaexsyhangeb3mjo7sad";
const std::string kA3 = "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid";
const std::string kMulti = "_onion-mx._tcp.multi.onionmx.test";

// `_onion-mx._tcp.multi` of docs/test-vectors.md §2; the 2nd and 3rd targets reuse the
// ".onion" of the first through a compression pointer, the owners point at
// the question.
Wire multi_answer() {
  Wire w;
  w.header(0x1234, kFlagsAnswer, 1, 4, 0, 0);
  w.name(kMulti).u16(kTypeSrv).u16(kClassIn);
  std::size_t onion_label = 0;
  w.ptr(kQname).rr_fields(kTypeSrv, 300).u16(10).u16(60).u16(25);
  w.labels(kA1);
  onion_label = w.size();
  w.name("onion").end_rdata();
  w.ptr(kQname)
      .rr_fields(kTypeSrv, 300)
      .u16(10)
      .u16(20)
      .u16(25)
      .labels(kA2)
      .ptr(onion_label)
      .end_rdata();
  w.ptr(kQname)
      .rr_fields(kTypeSrv, 300)
      .u16(10)
      .u16(0)
      .u16(25)
      .labels(kA3)
      .ptr(onion_label)
      .end_rdata();
  w.ptr(kQname)
      .rr_fields(kTypeSrv, 300)
      .u16(20)
      .u16(0)
      .u16(2525)
      .name("backup.example.net")
      .end_rdata();
  return w;
}

onionmx::base::Result<Message> parse(const Wire& w) { return parse_message(w.b); }

::testing::AssertionResult IsBadData(const onionmx::base::Result<Message>& r) {
  if (r) return ::testing::AssertionFailure() << "malformed message accepted";
  if (r.error().code != onionmx::base::Status::BadData)
    return ::testing::AssertionFailure() << "status " << static_cast<int>(r.error().code)
                                         << " instead of BadData (" << r.error().detail << ")";
  if (r.error().detail.empty()) return ::testing::AssertionFailure() << "BadData without a reason";
  return ::testing::AssertionSuccess() << r.error().detail;
}

// ============================================================ build_query

TEST(BuildQuery, SrvQueryWithDefaultOptionsHasTheExpectedBytes) {
  auto q = build_query(0xbeef, "_onion-mx._tcp.example.org", kTypeSrv, QueryOptions{});
  ASSERT_TRUE(q) << q.error().detail;
  Wire want;
  want.raw(
      {0xbe, 0xef, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01});  // RD, QD 1, AR 1
  want.name("_onion-mx._tcp.example.org").raw({0x00, 0x21, 0x00, 0x01});          // SRV IN
  want.raw({0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00});   // OPT 1232, DO 0
  EXPECT_EQ(*q, want.b);
}

TEST(BuildQuery, TrailingDotMakesNoDifference) {
  auto a = build_query(1, "_onion-mx._tcp.example.org", kTypeSrv, {});
  auto b = build_query(1, "_onion-mx._tcp.example.org.", kTypeSrv, {});
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_EQ(*a, *b);
}

TEST(BuildQuery, DnssecOkSetsTheTopBitOfTheOptFlags) {
  QueryOptions o;
  o.dnssec_ok = true;
  auto q = build_query(7, "example.org", kTypeSrv, o);
  ASSERT_TRUE(q);
  // OPT = 00 | 0029 | 04d0 | 00 00 | 80 00 | 0000, at the end of the query.
  const std::vector<std::uint8_t> opt(q->end() - 11, q->end());
  EXPECT_EQ(opt, (std::vector<std::uint8_t>{0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x80, 0x00,
                                            0x00, 0x00}));
  EXPECT_EQ((*q)[3], 0x00) << "DO must not set AD";
}

TEST(BuildQuery, AuthenticDataSetsTheAdBitInTheHeader) {
  QueryOptions o;
  o.authentic_data = true;
  auto q = build_query(7, "example.org", kTypeSrv, o);
  ASSERT_TRUE(q);
  EXPECT_EQ((*q)[2], 0x01);  // RD
  EXPECT_EQ((*q)[3], 0x20);  // AD
  EXPECT_EQ((*q)[q->size() - 4], 0x00) << "AD must not set DO";
}

TEST(BuildQuery, RecursionDesiredCanBeCleared) {
  QueryOptions o;
  o.recursion_desired = false;
  auto q = build_query(7, "example.org", kTypeSrv, o);
  ASSERT_TRUE(q);
  EXPECT_EQ((*q)[2], 0x00);
}

TEST(BuildQuery, WithoutEdnsThereIsNoOptRecord) {
  QueryOptions o;
  o.edns = false;
  auto q = build_query(0x0102, "a.b", kTypeTxt, o);
  ASSERT_TRUE(q);
  Wire want;
  want.header(0x0102, 0x0100, 1, 0, 0, 0).name("a.b").u16(kTypeTxt).u16(kClassIn);
  EXPECT_EQ(*q, want.b);
}

TEST(BuildQuery, UdpPayloadSizeGoesIntoTheOptClass) {
  QueryOptions o;
  o.udp_payload_size = 4096;
  auto q = build_query(7, "example.org", kTypeSrv, o);
  ASSERT_TRUE(q);
  EXPECT_EQ((*q)[q->size() - 8], 0x10);
  EXPECT_EQ((*q)[q->size() - 7], 0x00);
}

TEST(BuildQuery, QueryParsesBackWithItsQuestionAndOpt) {
  QueryOptions o;
  o.dnssec_ok = true;
  auto q = build_query(0x4242, "_Onion-MX._tcp.Example.ORG.", kTypeSrv, o);
  ASSERT_TRUE(q);
  auto m = parse_message(*q);
  ASSERT_TRUE(m) << m.error().detail;
  EXPECT_EQ(m->id, 0x4242);
  EXPECT_FALSE(m->qr);
  EXPECT_TRUE(m->rd);
  EXPECT_EQ(m->qdcount, 1);
  EXPECT_EQ(m->qname, "_onion-mx._tcp.example.org");
  EXPECT_EQ(m->qtype, kTypeSrv);
  EXPECT_EQ(m->qclass, kClassIn);
  ASSERT_EQ(m->additional.size(), 1u);
  EXPECT_EQ(m->additional[0].type, kTypeOpt);
  EXPECT_EQ(m->additional[0].rrclass, 1232);
  EXPECT_EQ(m->additional[0].ttl, 0x00008000u);
  EXPECT_EQ(m->additional[0].name, "");
}

TEST(BuildQuery, EmptyNamesAndEmptyLabelsAreRefused) {
  for (const char* name : {"", ".", "a..b", ".a", "..", "a.b.."}) {
    auto q = build_query(1, name, kTypeSrv, {});
    ASSERT_FALSE(q) << "\"" << name << "\"";
    EXPECT_EQ(q.error().code, onionmx::base::Status::Inval) << name;
  }
}

TEST(BuildQuery, LabelOf63BytesIsAllowedAnd64IsNot) {
  EXPECT_TRUE(build_query(1, std::string(63, 'a') + ".org", kTypeSrv, {}));
  auto q = build_query(1, std::string(64, 'a') + ".org", kTypeSrv, {});
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error().code, onionmx::base::Status::Inval);
}

TEST(BuildQuery, NameOf255WireBytesIsAllowedAnd256IsNot) {
  const std::string l63(63, 'a');
  const std::string max =
      l63 + "." + l63 + "." + l63 + "." + std::string(61, 'b');  // 4*1 + 250 + 1 = 255
  auto ok = build_query(1, max, kTypeSrv, {});
  ASSERT_TRUE(ok) << ok.error().detail;
  auto q = build_query(1, max + "b", kTypeSrv, {});
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error().code, onionmx::base::Status::Inval);
}

// ========================================================= parse: answers

TEST(ParseMessage, SrvAnswerWithCompressedTargetsIsDecoded) {
  auto m = parse(multi_answer());
  ASSERT_TRUE(m) << m.error().detail;
  EXPECT_EQ(m->id, 0x1234);
  EXPECT_TRUE(m->qr);
  EXPECT_EQ(m->rcode, kRcodeNoError);
  EXPECT_EQ(m->qname, kMulti);
  EXPECT_EQ(m->qtype, kTypeSrv);
  ASSERT_EQ(m->answers.size(), 4u);
  struct Want {
    std::uint16_t prio, weight, port;
    std::string target;
  };
  const Want want[] = {{10, 60, 25, kA1 + ".onion"},
                       {10, 20, 25, kA2 + ".onion"},
                       {10, 0, 25, kA3 + ".onion"},
                       {20, 0, 2525, "backup.example.net"}};
  for (std::size_t i = 0; i < 4; ++i) {
    const auto& rr = m->answers[i];
    EXPECT_EQ(rr.name, kMulti) << i;
    EXPECT_EQ(rr.type, kTypeSrv) << i;
    EXPECT_EQ(rr.rrclass, kClassIn) << i;
    EXPECT_EQ(rr.ttl, 300u) << i;
    ASSERT_TRUE(rr.srv) << i;
    EXPECT_EQ(rr.srv->priority, want[i].prio) << i;
    EXPECT_EQ(rr.srv->weight, want[i].weight) << i;
    EXPECT_EQ(rr.srv->port, want[i].port) << i;
    EXPECT_EQ(rr.srv->target, want[i].target) << i;
  }
}

TEST(ParseMessage, NamesAreLowerCasedWithoutTrailingDot) {
  Wire w;
  w.header(1, kFlagsAnswer, 1, 1, 0, 0)
      .name("_ONION-MX._Tcp.Example.ORG")
      .u16(kTypeSrv)
      .u16(kClassIn);
  w.ptr(kQname)
      .rr_fields(kTypeSrv, 60)
      .u16(0)
      .u16(0)
      .u16(25)
      .name("SMTP." + kA1 + ".ONION")
      .end_rdata();
  auto m = parse(w);
  ASSERT_TRUE(m) << m.error().detail;
  EXPECT_EQ(m->qname, "_onion-mx._tcp.example.org");
  EXPECT_EQ(m->answers[0].name, "_onion-mx._tcp.example.org");
  EXPECT_EQ(m->answers[0].srv->target, "smtp." + kA1 + ".onion");
}

TEST(ParseMessage, SrvTargetDotIsTheEmptyName) {
  Wire w;
  w.header(1, kFlagsAnswer, 1, 1, 0, 0)
      .name("_onion-mx._tcp.none.onionmx.test")
      .u16(kTypeSrv)
      .u16(kClassIn);
  w.ptr(kQname).rr_fields(kTypeSrv, 300).u16(0).u16(0).u16(0).u8(0).end_rdata();
  auto m = parse(w);
  ASSERT_TRUE(m) << m.error().detail;
  ASSERT_TRUE(m->answers[0].srv);
  EXPECT_EQ(m->answers[0].srv->target, "");
  EXPECT_EQ(m->answers[0].srv->port, 0);
}

TEST(ParseMessage, DotInsideALabelIsEscapedNotTreatedAsASeparator) {
  // One label "x.onion" must not read as the two labels "x" and "onion".
  Wire w;
  w.header(1, kFlagsAnswer, 1, 0, 0, 0).u8(7).raw("x.onion").u8(0).u16(kTypeSrv).u16(kClassIn);
  auto m = parse(w);
  ASSERT_TRUE(m) << m.error().detail;
  EXPECT_NE(m->qname, "x.onion");
  EXPECT_EQ(m->qname, "x\\046onion");
}

TEST(ParseMessage, CnameChainIsDecoded) {
  Wire w;
  w.header(2, kFlagsAnswer, 1, 3, 0, 0)
      .name("_onion-mx._tcp.alias.example")
      .u16(kTypeSrv)
      .u16(kClassIn);
  w.ptr(kQname).rr_fields(kTypeCname, 100);
  const std::size_t hop1 = w.size();
  w.labels("hop1").ptr(kQname + 10 + 5).end_rdata();  // hop1.alias.example
  w.ptr(hop1).rr_fields(kTypeCname, 50);
  const std::size_t hop2 = w.size();
  w.name("_onion-mx._tcp.real.example").end_rdata();
  w.ptr(hop2).rr_fields(kTypeSrv, 300).u16(0).u16(0).u16(25).name(kA1 + ".onion").end_rdata();
  auto m = parse(w);
  ASSERT_TRUE(m) << m.error().detail;
  ASSERT_EQ(m->answers.size(), 3u);
  EXPECT_EQ(m->answers[0].type, kTypeCname);
  EXPECT_EQ(m->answers[0].name, "_onion-mx._tcp.alias.example");
  EXPECT_EQ(m->answers[0].cname, "hop1.alias.example");
  EXPECT_EQ(m->answers[1].name, "hop1.alias.example");
  EXPECT_EQ(m->answers[1].cname, "_onion-mx._tcp.real.example");
  EXPECT_EQ(m->answers[1].ttl, 50u);
  EXPECT_EQ(m->answers[2].name, "_onion-mx._tcp.real.example");
  ASSERT_TRUE(m->answers[2].srv);
  EXPECT_FALSE(m->answers[0].srv);
}

// NXDOMAIN for `_onion-mx._tcp.nx.onionmx.test` with the zone SOA of
// docs/test-vectors.md §2 (serial 1, refresh 3600, retry 600, expire 86400, minimum 60).
Wire nxdomain_with_soa(std::uint32_t soa_ttl = 60, std::uint32_t minimum = 60) {
  Wire w;
  w.header(3, kFlagsNxDomain, 1, 0, 1, 0)
      .name("_onion-mx._tcp.nx.onionmx.test")
      .u16(kTypeSrv)
      .u16(kClassIn);
  const std::size_t zone = kQname + 10 + 5 + 3;  // "onionmx.test" inside the question
  w.ptr(zone).rr_fields(kTypeSoa, soa_ttl).labels("ns1").ptr(zone).labels("hostmaster").ptr(zone);
  w.u32(1).u32(3600).u32(600).u32(86400).u32(minimum).end_rdata();
  return w;
}

TEST(ParseMessage, NxdomainWithSoaInAuthorityIsDecoded) {
  auto m = parse(nxdomain_with_soa(60, 60));
  ASSERT_TRUE(m) << m.error().detail;
  EXPECT_EQ(m->rcode, kRcodeNxDomain);
  EXPECT_TRUE(m->answers.empty());
  ASSERT_EQ(m->authority.size(), 1u);
  const auto& soa = m->authority[0];
  EXPECT_EQ(soa.name, "onionmx.test");
  EXPECT_EQ(soa.type, kTypeSoa);
  EXPECT_EQ(soa.ttl, 60u);
  ASSERT_TRUE(soa.soa);
  EXPECT_EQ(soa.soa->minimum, 60u);
}

TEST(ParseMessage, SoaMinimumIsReadFromTheLastField) {
  auto m = parse(nxdomain_with_soa(300, 0x01020304));
  ASSERT_TRUE(m) << m.error().detail;
  EXPECT_EQ(m->authority[0].ttl, 300u);
  EXPECT_EQ(m->authority[0].soa->minimum, 0x01020304u);
}

TEST(ParseMessage, EveryHeaderFlagLandsInItsOwnField) {
  struct Bit {
    std::uint16_t flags;
    const char* name;
  };
  for (const Bit& bit :
       {Bit{0x8000, "qr"}, Bit{0x0400, "aa"}, Bit{0x0200, "tc"}, Bit{0x0100, "rd"},
        Bit{0x0080, "ra"}, Bit{0x0020, "ad"}, Bit{0x0010, "cd"}, Bit{0x0040, "z"}}) {
    Wire w;
    w.header(9, bit.flags, 0, 0, 0, 0);
    auto m = parse(w);
    ASSERT_TRUE(m) << m.error().detail;
    const std::string n = bit.name;
    EXPECT_EQ(m->qr, n == "qr") << n;
    EXPECT_EQ(m->aa, n == "aa") << n;
    EXPECT_EQ(m->tc, n == "tc") << n;
    EXPECT_EQ(m->rd, n == "rd") << n;
    EXPECT_EQ(m->ra, n == "ra") << n;
    EXPECT_EQ(m->ad, n == "ad") << n;
    EXPECT_EQ(m->cd, n == "cd") << n;
    EXPECT_EQ(m->opcode, 0) << n;
    EXPECT_EQ(m->rcode, 0) << n;
  }
}

TEST(ParseMessage, OpcodeAndRcodeAreDecoded) {
  Wire w;
  w.header(9, 0x8000 | (5 << 11) | 0x000f, 0, 0, 0, 0);
  auto m = parse(w);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->opcode, 5);
  EXPECT_EQ(m->rcode, 15);
  EXPECT_TRUE(m->qr);
  EXPECT_FALSE(m->aa);
}

TEST(ParseMessage, UnknownTypesAreSkippedButKept) {
  Wire w;
  w.header(1, kFlagsAnswer, 1, 2, 0, 0).name("t.example").u16(kTypeTxt).u16(kClassIn);
  w.ptr(kQname).rr_fields(kTypeTxt, 10).u8(3).raw("abc").end_rdata();
  w.ptr(kQname).rr_fields(99, 10).raw({0xc0, 0xff, 0xff}).end_rdata();  // junk RDATA, not decoded
  auto m = parse(w);
  ASSERT_TRUE(m) << m.error().detail;
  ASSERT_EQ(m->answers.size(), 2u);
  EXPECT_EQ(m->answers[0].type, kTypeTxt);
  EXPECT_EQ(m->answers[1].type, 99);
  EXPECT_FALSE(m->answers[1].srv);
}

TEST(ParseMessage, SrvOfAnotherClassIsNotDecodedAsSrv) {
  Wire w;
  w.header(1, kFlagsAnswer, 1, 1, 0, 0).name("x.example").u16(kTypeSrv).u16(kClassIn);
  w.ptr(kQname)
      .rr_fields(kTypeSrv, 10, 3 /* CH */)
      .u16(0)
      .u16(0)
      .u16(25)
      .name("t.example")
      .end_rdata();
  auto m = parse(w);
  ASSERT_TRUE(m) << m.error().detail;
  EXPECT_FALSE(m->answers[0].srv);
}

TEST(ParseMessage, HeaderOnlyMessageIsValid) {
  Wire w;
  w.header(0, 0x8180, 0, 0, 0, 0);
  EXPECT_TRUE(parse(w));
}

TEST(ParseMessage, SixtyFourCompressionHopsAreAllowed) {
  // Answer 1 (unknown type) carries a chain of pointers in its RDATA: the
  // first points at the question name, each next one at the previous one.
  // Answer 2's owner points at the end of the chain: 1 + `chain` hops.
  auto build = [](int chain) {
    Wire w;
    w.header(1, kFlagsAnswer, 1, 2, 0, 0).name("a").u16(kTypeSrv).u16(kClassIn);
    w.ptr(kQname).rr_fields(99, 10);
    std::size_t prev = kQname;
    for (int i = 0; i < chain; ++i) {
      const std::size_t here = w.size();
      w.ptr(prev);
      prev = here;
    }
    w.end_rdata();
    w.ptr(prev).rr_fields(99, 10).end_rdata();
    return w;
  };
  auto ok = parse(build(63));
  ASSERT_TRUE(ok) << ok.error().detail;
  EXPECT_EQ(ok->answers[1].name, "a");
  EXPECT_TRUE(IsBadData(parse(build(64))));
  EXPECT_TRUE(IsBadData(parse(build(500))));
}

// ======================================================= parse: malformed

TEST(ParseMalformed, EmptyAndShortHeaderAreBadData) {
  EXPECT_TRUE(IsBadData(parse_message({})));
  Wire w;
  w.header(1, kFlagsAnswer, 0, 0, 0, 0);
  w.b.pop_back();
  EXPECT_TRUE(IsBadData(parse(w)));
}

TEST(ParseMalformed, MissingOrTruncatedQuestionIsBadData) {
  Wire none;
  none.header(1, kFlagsAnswer, 1, 0, 0, 0);
  EXPECT_TRUE(IsBadData(parse(none)));
  Wire half_name;
  half_name.header(1, kFlagsAnswer, 1, 0, 0, 0).u8(7).raw("exam");
  EXPECT_TRUE(IsBadData(parse(half_name)));
  Wire no_terminator;
  no_terminator.header(1, kFlagsAnswer, 1, 0, 0, 0).labels("example.org");
  EXPECT_TRUE(IsBadData(parse(no_terminator)));
  Wire half_type;
  half_type.header(1, kFlagsAnswer, 1, 0, 0, 0).name("example.org").u8(0);
  EXPECT_TRUE(IsBadData(parse(half_type)));
  Wire no_class;
  no_class.header(1, kFlagsAnswer, 1, 0, 0, 0).name("example.org").u16(kTypeSrv);
  EXPECT_TRUE(IsBadData(parse(no_class)));
}

TEST(ParseMalformed, TruncatedResourceRecordIsBadData) {
  auto base = [] {
    Wire w;
    w.header(1, kFlagsAnswer, 1, 1, 0, 0).name("x.example").u16(kTypeSrv).u16(kClassIn);
    return w;
  };
  Wire only_owner = base();
  only_owner.ptr(kQname);
  EXPECT_TRUE(IsBadData(parse(only_owner)));
  Wire no_ttl = base();
  no_ttl.ptr(kQname).u16(kTypeSrv).u16(kClassIn).u16(0);
  EXPECT_TRUE(IsBadData(parse(no_ttl)));
  Wire no_rdlength = base();
  no_rdlength.ptr(kQname).u16(kTypeSrv).u16(kClassIn).u32(60).u8(0);
  EXPECT_TRUE(IsBadData(parse(no_rdlength)));
}

TEST(ParseMalformed, RdlengthPastTheEndIsBadData) {
  Wire w;
  w.header(1, kFlagsAnswer, 1, 1, 0, 0).name("x.example").u16(kTypeTxt).u16(kClassIn);
  w.ptr(kQname).u16(kTypeTxt).u16(kClassIn).u32(60).u16(100).u8(3).raw("abc");
  EXPECT_TRUE(IsBadData(parse(w)));
  Wire max;
  max.header(1, kFlagsAnswer, 1, 1, 0, 0).name("x.example").u16(kTypeTxt).u16(kClassIn);
  max.ptr(kQname).u16(kTypeTxt).u16(kClassIn).u32(60).u16(0xffff);
  EXPECT_TRUE(IsBadData(parse(max)));
}

TEST(ParseMalformed, ForwardCompressionPointerIsBadData) {
  Wire w;
  w.header(1, kFlagsAnswer, 1, 0, 0, 0)
      .ptr(kQname + 2)
      .name("example.org")
      .u16(kTypeSrv)
      .u16(kClassIn);
  EXPECT_TRUE(IsBadData(parse(w)));
}

TEST(ParseMalformed, PointerToItselfIsBadData) {
  Wire w;
  w.header(1, kFlagsAnswer, 1, 0, 0, 0).ptr(kQname).u16(kTypeSrv).u16(kClassIn);
  EXPECT_TRUE(IsBadData(parse(w)));
}

TEST(ParseMalformed, PointerLoopIsBadData) {
  // Question "a" + pointer to 16; at 16 a pointer back to 13 ("a" label
  // again, then the pointer at 14): a -> 16 -> 13 -> 14 -> 16 ... forever if
  // not stopped.
  Wire w;
  w.header(1, kFlagsAnswer, 1, 0, 0, 0);
  w.u8(1).raw("a").ptr(16);  // 12: label, 14: pointer -> 16 (forward)
  w.ptr(12);                 // 16: pointer -> 12
  w.u16(kTypeSrv).u16(kClassIn);
  EXPECT_TRUE(IsBadData(parse(w)));
  // Same loop entered through a backward pointer from an answer owner.
  Wire v;
  v.header(1, kFlagsAnswer, 1, 1, 0, 0).name("q").u16(kTypeSrv).u16(kClassIn);
  const std::size_t loop = v.size();
  v.u8(1).raw("b").ptr(loop).rr_fields(99, 1).end_rdata();
  EXPECT_TRUE(IsBadData(parse(v)));
}

TEST(ParseMalformed, TruncatedCompressionPointerIsBadData) {
  Wire w;
  w.header(1, kFlagsAnswer, 1, 0, 0, 0).u8(0xc0);
  EXPECT_TRUE(IsBadData(parse(w)));
}

TEST(ParseMalformed, ExtendedLabelTypesAreBadData) {
  // 0x40 and 0x80 prefixes: the only encodings of a "label" longer than 63.
  for (std::uint8_t len : {std::uint8_t{0x40}, std::uint8_t{0x41}, std::uint8_t{0x7f},
                           std::uint8_t{0x80}, std::uint8_t{0xbf}}) {
    Wire w;
    w.header(1, kFlagsAnswer, 1, 0, 0, 0).u8(len).raw(std::string(len & 0x3f, 'a')).u8(0);
    w.u16(kTypeSrv).u16(kClassIn);
    EXPECT_TRUE(IsBadData(parse(w))) << int{len};
  }
}

TEST(ParseMalformed, LabelRunningPastTheMessageIsBadData) {
  Wire w;
  w.header(1, kFlagsAnswer, 1, 0, 0, 0).u8(10).raw("abc");
  EXPECT_TRUE(IsBadData(parse(w)));
}

TEST(ParseMalformed, NameOf255WireBytesIsAcceptedAnd256IsBadData) {
  const std::string l63(63, 'a');
  auto build = [&](std::size_t last) {
    Wire w;
    w.header(1, kFlagsAnswer, 1, 0, 0, 0)
        .name(l63 + "." + l63 + "." + l63 + "." + std::string(last, 'b'));
    w.u16(kTypeSrv).u16(kClassIn);
    return w;
  };
  EXPECT_TRUE(parse(build(61)));
  EXPECT_TRUE(IsBadData(parse(build(62))));
}

TEST(ParseMalformed, NameOver255BytesBuiltFromCompressionIsBadData) {
  // Question 3 x 63-byte labels (193 wire bytes); an owner of one more label
  // plus a pointer to it: 62 + 193 = 255 is fine, 64 + 193 = 257 is not.
  const std::string l63(63, 'a');
  auto build = [&](std::size_t extra) {
    Wire w;
    w.header(1, kFlagsAnswer, 1, 1, 0, 0)
        .name(l63 + "." + l63 + "." + l63)
        .u16(kTypeSrv)
        .u16(kClassIn);
    w.labels(std::string(extra, 'x')).ptr(kQname).rr_fields(99, 1).end_rdata();
    return w;
  };
  EXPECT_TRUE(parse(build(61)));
  EXPECT_TRUE(IsBadData(parse(build(63))));
}

TEST(ParseMalformed, HugeRecordCountsAreBadDataNotAHugeAllocation) {
  for (int section = 0; section < 4; ++section) {
    Wire w;
    w.header(1, kFlagsAnswer, section == 0 ? 0xffff : 1, section == 1 ? 0xffff : 0,
             section == 2 ? 0xffff : 0, section == 3 ? 0xffff : 0);
    w.name("x.example").u16(kTypeSrv).u16(kClassIn);
    EXPECT_TRUE(IsBadData(parse(w))) << "section " << section;
  }
}

TEST(ParseMalformed, OneTrailingByteIsBadData) {
  Wire w = multi_answer();
  w.u8(0);
  EXPECT_TRUE(IsBadData(parse(w)));
}

TEST(ParseMalformed, SrvRdataShorterThanSevenBytesIsBadData) {
  for (std::size_t len = 0; len < 7; ++len) {
    Wire w;
    w.header(1, kFlagsAnswer, 1, 1, 0, 0).name("x.example").u16(kTypeSrv).u16(kClassIn);
    w.ptr(kQname).rr_fields(kTypeSrv, 60);
    for (std::size_t i = 0; i < len; ++i) w.u8(0);
    w.end_rdata();
    EXPECT_TRUE(IsBadData(parse(w))) << "RDLENGTH " << len;
  }
}

TEST(ParseMalformed, SrvRdlengthLongerThanItsTargetIsBadData) {
  Wire w;
  w.header(1, kFlagsAnswer, 1, 1, 0, 0).name("x.example").u16(kTypeSrv).u16(kClassIn);
  w.ptr(kQname).rr_fields(kTypeSrv, 60).u16(0).u16(0).u16(25).name("t.example").u16(0).end_rdata();
  EXPECT_TRUE(IsBadData(parse(w)));
}

TEST(ParseMalformed, SrvTargetRunningPastRdlengthIsBadData) {
  // RDLENGTH covers 7 bytes, but the target name continues into the next RR.
  Wire w;
  w.header(1, kFlagsAnswer, 1, 2, 0, 0).name("x.example").u16(kTypeSrv).u16(kClassIn);
  w.ptr(kQname).rr_fields(kTypeSrv, 60).u16(0).u16(0).u16(25).u8(1).end_rdata();
  w.raw("t").u8(0).u16(99).u16(1).u32(1).u16(0);  // what the target reads on into
  EXPECT_TRUE(IsBadData(parse(w)));
}

TEST(ParseMalformed, CnameRdlengthMismatchIsBadData) {
  for (int adjust : {-1, +1}) {
    Wire w;
    w.header(1, kFlagsAnswer, 1, 1, 0, 0).name("x.example").u16(kTypeSrv).u16(kClassIn);
    w.ptr(kQname).rr_fields(kTypeCname, 60).name("y.example");
    if (adjust > 0) w.u8(0);
    w.end_rdata(adjust > 0 ? 0 : -1);  // -1: the root byte of the name falls outside RDATA
    EXPECT_TRUE(IsBadData(parse(w))) << adjust;
  }
}

TEST(ParseMalformed, SoaRdataOfTheWrongLengthIsBadData) {
  for (int numbers : {19, 21}) {
    Wire w;
    w.header(1, kFlagsNxDomain, 1, 0, 1, 0).name("x.example").u16(kTypeSrv).u16(kClassIn);
    w.ptr(kQname).rr_fields(kTypeSoa, 60).name("ns.example").name("host.example");
    for (int i = 0; i < numbers; ++i) w.u8(0);
    w.end_rdata();
    EXPECT_TRUE(IsBadData(parse(w))) << numbers << " bytes of SOA numbers";
  }
}

TEST(ParseMalformed, SrvTargetWithAForwardPointerIsBadData) {
  Wire w;
  w.header(1, kFlagsAnswer, 1, 1, 0, 0).name("x.example").u16(kTypeSrv).u16(kClassIn);
  w.ptr(kQname).rr_fields(kTypeSrv, 60).u16(0).u16(0).u16(25);
  w.ptr(w.size() + 2).end_rdata();
  EXPECT_TRUE(IsBadData(parse(w)));
}

TEST(ParseMalformed, EveryProperPrefixOfAValidAnswerIsBadData) {
  for (const Wire& full : {multi_answer(), nxdomain_with_soa()}) {
    ASSERT_TRUE(parse(full));
    for (std::size_t len = 0; len < full.size(); ++len) {
      const std::vector<std::uint8_t> prefix(full.b.begin(),
                                             full.b.begin() + static_cast<std::ptrdiff_t>(len));
      ASSERT_TRUE(IsBadData(parse_message(prefix))) << "prefix of " << len << " bytes";
    }
  }
}

TEST(ParseMalformed, SingleByteCorruptionsNeverCrashAndOnlyEverFailAsBadData) {
  for (const Wire& full : {multi_answer(), nxdomain_with_soa()}) {
    for (std::size_t pos = 0; pos < full.size(); ++pos) {
      for (std::uint8_t v :
           {std::uint8_t{0x00}, std::uint8_t{0xff}, std::uint8_t{0xc0}, std::uint8_t{0x3f},
            std::uint8_t{0x40}, static_cast<std::uint8_t>(full.b[pos] ^ 1)}) {
        std::vector<std::uint8_t> bad = full.b;
        bad[pos] = v;
        auto m = parse_message(bad);
        if (!m) {
          ASSERT_EQ(m.error().code, onionmx::base::Status::BadData)
              << "byte " << pos << " = " << int{v};
        }
      }
    }
  }
}

// ===================================================== TXT and MX RDATA

// A reply to `qname IN qtype` with `an` answers and `ns` authority RRs.
Wire reply_to(std::string_view qname, std::uint16_t qtype, std::uint16_t an, std::uint16_t ns = 0,
              std::uint16_t flags = kFlagsAnswer) {
  Wire w;
  w.header(7, flags, 1, an, ns, 0).name(qname).u16(qtype).u16(kClassIn);
  return w;
}

// TXT RDATA of `pieces` as <character-string>s, owned by the question.
Wire& txt_rr(Wire& w, std::initializer_list<std::string_view> pieces, std::uint32_t ttl = 300) {
  w.ptr(kQname).rr_fields(kTypeTxt, ttl);
  for (auto p : pieces) w.u8(static_cast<std::uint8_t>(p.size())).raw(p);
  return w.end_rdata();
}

TEST(ParseTxt, CharacterStringsAreJoinedWithoutSeparators) {
  // RFC 7208 §3.3 / RFC 8461 §3.1: a record's strings are concatenated.
  Wire w = reply_to("_onion-mx._tcp.example.org", kTypeTxt, 2);
  txt_rr(w, {"v=ONIONMX1; mode=en", "force; max_age=", "86400"});
  txt_rr(w, {"v=spf1 -all"}, 60);
  auto m = parse(w);
  ASSERT_TRUE(m) << m.error().detail;
  ASSERT_EQ(m->answers.size(), 2u);
  ASSERT_TRUE(m->answers[0].txt);
  EXPECT_EQ(*m->answers[0].txt, "v=ONIONMX1; mode=enforce; max_age=86400");
  EXPECT_EQ(m->answers[0].name, "_onion-mx._tcp.example.org");
  EXPECT_EQ(m->answers[0].ttl, 300u);
  ASSERT_TRUE(m->answers[1].txt);
  EXPECT_EQ(*m->answers[1].txt, "v=spf1 -all");
  EXPECT_FALSE(m->answers[0].mx);
  EXPECT_FALSE(m->answers[0].srv);
}

TEST(ParseTxt, EmptyCharacterStringsAddNothingAndALoneOneIsTheEmptyText) {
  Wire w = reply_to("_mta-sts.example.org", kTypeTxt, 2);
  txt_rr(w, {"", "v=STSv1;", "", " id=1", ""});
  txt_rr(w, {""});
  auto m = parse(w);
  ASSERT_TRUE(m) << m.error().detail;
  ASSERT_TRUE(m->answers[0].txt);
  EXPECT_EQ(*m->answers[0].txt, "v=STSv1; id=1");
  ASSERT_TRUE(m->answers[1].txt) << "one empty string is a valid TXT record";
  EXPECT_EQ(*m->answers[1].txt, "");
}

TEST(ParseTxt, BytesAreKeptAsTheyAreIncludingCaseAndBinary) {
  Wire w = reply_to("t.example", kTypeTxt, 1);
  w.ptr(kQname).rr_fields(kTypeTxt, 1).u8(6).raw({'A', 0x00, 0x01, 0xff, ';', 'B'}).end_rdata();
  auto m = parse(w);
  ASSERT_TRUE(m) << m.error().detail;
  ASSERT_TRUE(m->answers[0].txt);
  EXPECT_EQ(*m->answers[0].txt, std::string("A\x00\x01\xff;B", 6));
}

TEST(ParseTxt, A255ByteStringFillsItsLengthByte) {
  const std::string big(255, 'x');
  Wire w = reply_to("t.example", kTypeTxt, 1);
  txt_rr(w, {big, "y"});
  auto m = parse(w);
  ASSERT_TRUE(m) << m.error().detail;
  EXPECT_EQ(*m->answers[0].txt, big + "y");
}

TEST(ParseTxt, AStringRunningPastRdataIsBadData) {
  // The length byte claims more than RDLENGTH holds, though the message
  // goes on (a second RR follows): the string must not read into it.
  Wire w = reply_to("t.example", kTypeTxt, 2);
  w.ptr(kQname).rr_fields(kTypeTxt, 60).u8(5).raw("abc").end_rdata();
  txt_rr(w, {"next record"});
  EXPECT_TRUE(IsBadData(parse(w)));
  // The last string of several.
  Wire w2 = reply_to("t.example", kTypeTxt, 1);
  w2.ptr(kQname).rr_fields(kTypeTxt, 60).u8(2).raw("ok").u8(1).end_rdata();
  EXPECT_TRUE(IsBadData(parse(w2)));
}

TEST(ParseTxt, EmptyRdataIsBadData) {
  Wire w = reply_to("t.example", kTypeTxt, 1);
  w.ptr(kQname).rr_fields(kTypeTxt, 60).end_rdata();
  EXPECT_TRUE(IsBadData(parse(w)));
}

TEST(ParseTxt, TxtOfAnotherClassIsNotDecoded) {
  Wire w = reply_to("t.example", kTypeTxt, 1);
  w.ptr(kQname).rr_fields(kTypeTxt, 60, 3).end_rdata();  // CH, empty RDATA: not read at all
  auto m = parse(w);
  ASSERT_TRUE(m) << m.error().detail;
  EXPECT_FALSE(m->answers[0].txt);
}

TEST(ParseMx, PreferenceAndCompressedExchangeAreDecoded) {
  Wire w = reply_to("Example.ORG", kTypeMx, 3);
  w.ptr(kQname).rr_fields(kTypeMx, 300).u16(10).labels("MX1").ptr(kQname).end_rdata();
  w.ptr(kQname).rr_fields(kTypeMx, 300).u16(0xfffe).name("mx2.example.net").end_rdata();
  w.ptr(kQname).rr_fields(kTypeMx, 300).u16(0).u8(0).end_rdata();  // null MX, RFC 7505
  auto m = parse(w);
  ASSERT_TRUE(m) << m.error().detail;
  ASSERT_EQ(m->answers.size(), 3u);
  ASSERT_TRUE(m->answers[0].mx);
  EXPECT_EQ(*m->answers[0].mx, "mx1.example.org");
  EXPECT_EQ(m->answers[0].mx_preference, 10);
  ASSERT_TRUE(m->answers[1].mx);
  EXPECT_EQ(*m->answers[1].mx, "mx2.example.net");
  EXPECT_EQ(m->answers[1].mx_preference, 0xfffe);
  ASSERT_TRUE(m->answers[2].mx);
  EXPECT_EQ(*m->answers[2].mx, "");
  EXPECT_EQ(m->answers[2].mx_preference, 0);
  EXPECT_FALSE(m->answers[0].txt);
}

TEST(ParseMx, RdataTooShortForAPreferenceAndANameIsBadData) {
  for (int n : {0, 1, 2}) {
    Wire w = reply_to("example.org", kTypeMx, 1);
    w.ptr(kQname).rr_fields(kTypeMx, 300);
    for (int i = 0; i < n; ++i) w.u8(0);
    w.end_rdata();
    EXPECT_TRUE(IsBadData(parse(w))) << n << " bytes";
  }
}

TEST(ParseMx, ExchangeNotEndingAtRdlengthIsBadData) {
  // RDLENGTH one short: the exchange's last byte, the root label, doubles
  // as the owner of a second RR, so only the MX check can object.
  auto short_by_one = [](std::uint16_t type) {
    Wire w = reply_to("example.org", kTypeMx, 2);
    w.ptr(kQname).rr_fields(type, 300).u16(10).name("mx1.example.org").end_rdata(-1);
    w.u16(99).u16(kClassIn).u32(0).u16(0);
    return w;
  };
  ASSERT_TRUE(parse(short_by_one(99))) << "the layout itself parses";
  EXPECT_TRUE(IsBadData(parse(short_by_one(kTypeMx))));
  // One byte too long.
  Wire w2 = reply_to("example.org", kTypeMx, 1);
  w2.ptr(kQname).rr_fields(kTypeMx, 300).u16(10).name("mx1.example.org").u8(0).end_rdata();
  EXPECT_TRUE(IsBadData(parse(w2)));
  // A forward compression pointer in the exchange.
  Wire w3 = reply_to("example.org", kTypeMx, 1);
  w3.ptr(kQname).rr_fields(kTypeMx, 300).u16(10);
  w3.ptr(w3.size() + 2).end_rdata();
  EXPECT_TRUE(IsBadData(parse(w3)));
}

// ===================================================== interpret_rr_answer

// A parsed answer, or a test failure.
Message parsed(const Wire& w) {
  auto m = parse(w);
  EXPECT_TRUE(m) << m.error().detail;
  return m ? std::move(*m) : Message{};
}

ResourceRecord typed(std::string owner, std::uint16_t type, std::uint32_t ttl) {
  ResourceRecord rr;
  rr.name = std::move(owner);
  rr.type = type;
  rr.rrclass = kClassIn;
  rr.ttl = ttl;
  return rr;
}

// SOA of `zone` for the authority section of a negative answer.
ResourceRecord soa_rr(std::string zone, std::uint32_t ttl, std::uint32_t minimum) {
  ResourceRecord rr = typed(std::move(zone), kTypeSoa, ttl);
  rr.soa = SoaData{minimum};
  return rr;
}

ResourceRecord cname_rr(std::string owner, std::uint32_t ttl, std::string target) {
  ResourceRecord rr = typed(std::move(owner), kTypeCname, ttl);
  rr.cname = std::move(target);
  return rr;
}

ResourceRecord txt_of(std::string owner, std::uint32_t ttl, std::string text) {
  ResourceRecord rr = typed(std::move(owner), kTypeTxt, ttl);
  rr.txt = std::move(text);
  return rr;
}

Message question(std::string qname, std::uint16_t qtype, std::uint8_t rcode = kRcodeNoError) {
  Message m;
  m.qr = m.rd = m.ra = true;
  m.rcode = rcode;
  m.qdcount = 1;
  m.qname = std::move(qname);
  m.qtype = qtype;
  m.qclass = kClassIn;
  return m;
}

using RrKind = RrAnswer::Kind;

TEST(RrAnswer, TxtRecordsFromTheWireInWireOrderWithTheirSmallestTtl) {
  Wire w = reply_to("_onion-mx._tcp.example.org", kTypeTxt, 3, 0, kFlagsAnswer | 0x0020);
  txt_rr(w, {"v=spf1 -all"}, 600);
  txt_rr(w, {"v=ONIONMX1; ", "mode=testing; max_age=60"}, 300);
  w.ptr(kQname).rr_fields(46, 100).raw("signature").end_rdata();  // an RRSIG: not TXT
  const RrAnswer a = interpret_rr_answer(parsed(w), "_onion-mx._tcp.example.org.", kTypeTxt);
  ASSERT_EQ(a.kind, RrKind::Records) << a.reason;
  EXPECT_EQ(a.data,
            (std::vector<std::string>{"v=spf1 -all", "v=ONIONMX1; mode=testing; max_age=60"}));
  EXPECT_EQ(a.ttl, 300u) << "the RRSIG's TTL is not the TXT RRset's";
  EXPECT_TRUE(a.authenticated) << "AD bit";
  EXPECT_FALSE(a.nxdomain);
  EXPECT_EQ(a.final_name, "_onion-mx._tcp.example.org");
  EXPECT_TRUE(a.mx_preference.empty());
}

TEST(RrAnswer, TlsaRecordsCountOnePerRecordAndOnlyAtTheName) {
  Message m = question("_25._tcp.mx1.example.org", kTypeTlsa);
  m.answers = {typed("_25._tcp.mx1.example.org", kTypeTlsa, 300),
               typed("_25._tcp.mx1.example.org", kTypeTlsa, 200),
               typed("_25._tcp.mx2.example.org", kTypeTlsa, 10)};
  const RrAnswer a = interpret_rr_answer(m, "_25._tcp.mx1.example.org", kTypeTlsa);
  ASSERT_EQ(a.kind, RrKind::Records) << a.reason;
  EXPECT_EQ(a.data, (std::vector<std::string>{"", ""}));
  EXPECT_EQ(a.ttl, 200u);
  EXPECT_FALSE(a.authenticated);
}

TEST(RrAnswer, MxExchangesAreSortedByPreferenceStablyAmongEquals) {
  Wire w = reply_to("example.org", kTypeMx, 5);
  const std::pair<std::uint16_t, const char*> mxs[] = {{20, "mx2.example.org"},
                                                       {10, "mx1.example.org"},
                                                       {20, "mx3.example.org"},
                                                       {0, "mx0.example.org"},
                                                       {65535, "last.example.net"}};
  for (const auto& [pref, host] : mxs)
    w.ptr(kQname).rr_fields(kTypeMx, 300).u16(pref).name(host).end_rdata();
  const RrAnswer a = interpret_rr_answer(parsed(w), "example.org", kTypeMx);
  ASSERT_EQ(a.kind, RrKind::Records) << a.reason;
  EXPECT_EQ(a.data,
            (std::vector<std::string>{"mx0.example.org", "mx1.example.org", "mx2.example.org",
                                      "mx3.example.org", "last.example.net"}));
  EXPECT_EQ(a.mx_preference, (std::vector<std::uint16_t>{0, 10, 20, 20, 65535}));
}

TEST(RrAnswer, ManyMxOfEqualPreferenceKeepTheirWireOrder) {
  // Enough records that an unstable sort would reorder equals.
  Message m = question("example.org", kTypeMx);
  std::vector<std::string> want10, want20;
  for (int i = 0; i < 40; ++i) {
    const std::uint16_t pref = (i * 7) % 3 == 0 ? 10 : 20;
    ResourceRecord rr = typed("example.org", kTypeMx, 300);
    rr.mx = "h" + std::to_string(i) + ".example.org";
    rr.mx_preference = pref;
    (pref == 10 ? want10 : want20).push_back(*rr.mx);
    m.answers.push_back(std::move(rr));
  }
  const RrAnswer a = interpret_rr_answer(m, "example.org", kTypeMx);
  ASSERT_EQ(a.kind, RrKind::Records) << a.reason;
  std::vector<std::string> want = want10;
  want.insert(want.end(), want20.begin(), want20.end());
  EXPECT_EQ(a.data, want);
}

TEST(RrAnswer, NodataCarriesTheRfc2308NegativeTtl) {
  Message m = question("_mta-sts.example.org", kTypeTxt);
  m.authority = {soa_rr("example.org", 300, 60)};
  const RrAnswer a = interpret_rr_answer(m, "_mta-sts.example.org", kTypeTxt);
  EXPECT_EQ(a.kind, RrKind::NoRecords);
  EXPECT_FALSE(a.nxdomain);
  EXPECT_EQ(a.ttl, 60u);
  EXPECT_TRUE(a.data.empty());
  EXPECT_NE(a.reason.find("NODATA: no TXT record at _mta-sts.example.org"), std::string::npos)
      << a.reason;

  // Other types at the name are still NODATA for this one.
  Message mx = question("example.org", kTypeMx);
  mx.answers = {txt_of("example.org", 300, "v=spf1 -all")};
  mx.authority = {soa_rr("example.org", 120, 3600)};
  const RrAnswer b = interpret_rr_answer(mx, "example.org", kTypeMx);
  EXPECT_EQ(b.kind, RrKind::NoRecords);
  EXPECT_EQ(b.ttl, 120u);
  EXPECT_NE(b.reason.find("no MX record"), std::string::npos) << b.reason;
}

TEST(RrAnswer, NxdomainIsNoRecordsNamingTheName) {
  Message m = question("_25._tcp.mx1.example.org", kTypeTlsa, kRcodeNxDomain);
  m.ad = true;
  m.authority = {soa_rr("example.org", 900, 300)};
  const RrAnswer a = interpret_rr_answer(m, "_25._tcp.mx1.example.org", kTypeTlsa);
  EXPECT_EQ(a.kind, RrKind::NoRecords);
  EXPECT_TRUE(a.nxdomain);
  EXPECT_EQ(a.ttl, 300u);
  EXPECT_TRUE(a.authenticated) << "an authenticated denial";
  EXPECT_NE(a.reason.find("NXDOMAIN"), std::string::npos) << a.reason;
  EXPECT_NE(a.reason.find("_25._tcp.mx1.example.org"), std::string::npos) << a.reason;

  m.answers = {typed("_25._tcp.mx1.example.org", kTypeTlsa, 300)};
  EXPECT_EQ(interpret_rr_answer(m, "_25._tcp.mx1.example.org", kTypeTlsa).kind, RrKind::Failure)
      << "NXDOMAIN with records is malformed";
}

TEST(RrAnswer, ACnameChainIsFollowedInsideTheAnswer) {
  // MTA-STS delegated to a provider (RFC 8461 §8.2).
  Message m = question("_mta-sts.example.org", kTypeTxt);
  m.answers = {cname_rr("_mta-sts.example.org", 100, "_mta-sts.provider.net"),
               txt_of("_mta-sts.provider.net", 300, "v=STSv1; id=9"),
               txt_of("_mta-sts.example.org", 300, "v=STSv1; id=stale")};
  const RrAnswer a = interpret_rr_answer(m, "_mta-sts.example.org", kTypeTxt);
  ASSERT_EQ(a.kind, RrKind::Records) << a.reason;
  EXPECT_EQ(a.final_name, "_mta-sts.provider.net");
  EXPECT_EQ(a.data, std::vector<std::string>{"v=STSv1; id=9"}) << "only the chain's end counts";
  EXPECT_EQ(a.ttl, 100u) << "the CNAME's TTL bounds the set";
  ASSERT_EQ(a.notes.size(), 1u);
  EXPECT_NE(a.notes[0].find("_mta-sts.provider.net"), std::string::npos) << a.notes[0];

  // The chain ends without data and without SOA: ask the target.
  Message follow = question("_mta-sts.example.org", kTypeTxt);
  follow.answers = {cname_rr("_mta-sts.example.org", 100, "_mta-sts.provider.net")};
  const RrAnswer f = interpret_rr_answer(follow, "_mta-sts.example.org", kTypeTxt);
  EXPECT_EQ(f.kind, RrKind::FollowCname);
  EXPECT_EQ(f.final_name, "_mta-sts.provider.net");
  // ... with the target zone's SOA: NODATA there.
  follow.authority = {soa_rr("provider.net", 50, 600)};
  const RrAnswer n = interpret_rr_answer(follow, "_mta-sts.example.org", kTypeTxt);
  EXPECT_EQ(n.kind, RrKind::NoRecords);
  EXPECT_EQ(n.ttl, 50u);
}

TEST(RrAnswer, AnAnswerToAnotherTypeOrNameIsAFailure) {
  Message m = question("example.org", kTypeTxt);
  m.answers = {txt_of("example.org", 300, "v=spf1 -all")};
  const RrAnswer a = interpret_rr_answer(m, "example.org", kTypeMx);
  EXPECT_EQ(a.kind, RrKind::Failure);
  EXPECT_NE(a.reason.find("example.org IN MX"), std::string::npos) << a.reason;
  EXPECT_TRUE(a.data.empty());
  EXPECT_EQ(interpret_rr_answer(m, "example.net", kTypeTxt).kind, RrKind::Failure);
  const RrAnswer t = interpret_rr_answer(m, "example.org", kTypeTlsa);
  EXPECT_EQ(t.kind, RrKind::Failure);
  EXPECT_NE(t.reason.find("IN TLSA"), std::string::npos) << t.reason;
  EXPECT_EQ(interpret_rr_answer(m, "example.org", kTypeTxt).kind, RrKind::Records);
}

TEST(RrAnswer, ServerErrorsAreFailuresNeverNoRecords) {
  for (std::uint8_t rc :
       {kRcodeServFail, kRcodeRefused, kRcodeFormErr, kRcodeNotImp, std::uint8_t{9}}) {
    for (std::uint16_t t : {kTypeTxt, kTypeMx, kTypeTlsa}) {
      Message m = question("example.org", t, rc);
      const RrAnswer a = interpret_rr_answer(m, "example.org", t);
      EXPECT_EQ(a.kind, RrKind::Failure) << int{rc} << " type " << t;
      EXPECT_FALSE(a.reason.empty());
      if (rc == kRcodeServFail) {
        EXPECT_NE(a.reason.find("SERVFAIL"), std::string::npos) << a.reason;
      }
    }
  }
  Message tc = question("example.org", kTypeTxt);
  tc.tc = true;
  EXPECT_EQ(interpret_rr_answer(tc, "example.org", kTypeTxt).kind, RrKind::Failure);
  Message notqr = question("example.org", kTypeTxt);
  notqr.qr = false;
  EXPECT_EQ(interpret_rr_answer(notqr, "example.org", kTypeTxt).kind, RrKind::Failure);
}

}  // namespace
