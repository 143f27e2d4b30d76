// test_srv_answer.cpp - what an `_onion-mx._tcp` SRV answer means, and which
// onion routes it yields (docs/test-vectors.md §2-§3, RFC 2782, RFC 2308,
// RFC 2181 §8).
//
// Messages are built as parsed `Message` values so each scenario states
// exactly the sections it has.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "dns/srv_answer.hpp"

namespace onionmx::dns {
// Readable gtest output for the result kinds.
void PrintTo(SrvAnswer::Kind k, std::ostream* os) {
  static const char* const names[] = {"Records", "NoRecords", "FollowCname", "Failure"};
  const auto i = static_cast<std::size_t>(k);
  *os << (i < 4 ? names[i] : "?");
}
void PrintTo(TargetCheck::Kind k, std::ostream* os) {
  static const char* const names[] = {"Routes", "DecidedlyNone", "NoneValid"};
  const auto i = static_cast<std::size_t>(k);
  *os << (i < 3 ? names[i] : "?");
}
}  // namespace onionmx::dns

namespace {

using namespace onionmx::dns;
using onionmx::record::Route;
using onionmx::record::SrvRecord;
using onionmx::record::UniformRng;
using Kind = SrvAnswer::Kind;
using RouteKind = TargetCheck::Kind;

// What one lookup of a record set sees: the targets checked once, then the
// RFC 2782 order drawn for this lookup (record::order_routes).
struct Selection {
  RouteKind kind;
  std::vector<Route> routes;
  std::vector<std::string> notes;
  std::string reason;
};
Selection select_routes(std::vector<SrvRecord> records, const UniformRng& rnd) {
  TargetCheck c = check_targets(std::move(records));
  return Selection{c.kind, onionmx::record::order_routes(std::move(c.records), rnd),
                   std::move(c.notes), std::move(c.reason)};
}

const std::string kA1 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion";
const std::string kA2 = "efjprum3peosirjsilqv6lvlns3476t3njpngaexsyhangeb3mjo7sad.onion";
const std::string kA3 = "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid.onion";
// docs/test-vectors.md §1.5
const std::string kBadChecksum = "boqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion";
const std::string kIdentityKey = "aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaahmjqd.onion";
const std::string kV2 = "expyuzz4wqqyqhjn.onion";

const std::string kQ = "_onion-mx._tcp.multi.onionmx.test";

// ------------------------------------------------------------ builders

Message reply(std::string_view qname = kQ, std::uint8_t rcode = kRcodeNoError) {
  Message m;
  m.id = 1;
  m.qr = true;
  m.rd = m.ra = true;
  m.rcode = rcode;
  m.qdcount = 1;
  m.qname = std::string(qname);
  m.qtype = kTypeSrv;
  m.qclass = kClassIn;
  return m;
}

ResourceRecord srv(std::string_view owner, std::uint32_t ttl, std::uint16_t prio,
                   std::uint16_t weight, std::uint16_t port, std::string_view target) {
  ResourceRecord rr;
  rr.name = std::string(owner);
  rr.type = kTypeSrv;
  rr.rrclass = kClassIn;
  rr.ttl = ttl;
  rr.srv = SrvRecord{prio, weight, port, std::string(target)};
  return rr;
}

ResourceRecord cname(std::string_view owner, std::uint32_t ttl, std::string_view target) {
  ResourceRecord rr;
  rr.name = std::string(owner);
  rr.type = kTypeCname;
  rr.rrclass = kClassIn;
  rr.ttl = ttl;
  rr.cname = std::string(target);
  return rr;
}

ResourceRecord soa(std::string_view zone, std::uint32_t ttl, std::uint32_t minimum) {
  ResourceRecord rr;
  rr.name = std::string(zone);
  rr.type = kTypeSoa;
  rr.rrclass = kClassIn;
  rr.ttl = ttl;
  rr.soa = SoaData{minimum};
  return rr;
}

// `_onion-mx._tcp.multi` of docs/test-vectors.md §2 ($TTL 300).
Message multi_reply() {
  Message m = reply();
  m.answers = {srv(kQ, 300, 10, 60, 25, kA1), srv(kQ, 300, 10, 20, 25, kA2),
               srv(kQ, 300, 10, 0, 25, kA3), srv(kQ, 300, 20, 0, 2525, "backup.example.net")};
  return m;
}

// Deterministic rnd: always the first candidate.
UniformRng first_choice() {
  return [](std::uint32_t) { return 0u; };
}

bool has_note_containing(const std::vector<std::string>& notes, std::string_view a,
                         std::string_view b = {}) {
  return std::any_of(notes.begin(), notes.end(), [&](const std::string& n) {
    return n.find(a) != std::string::npos && (b.empty() || n.find(b) != std::string::npos);
  });
}

std::string joined(const std::vector<std::string>& notes) {
  std::string out;
  for (const auto& n : notes) out += "\n  " + n;
  return out;
}

// ================================================ interpret_srv_answer

TEST(SrvAnswer, MultiRrsetIsReturnedInWireOrderWithItsTtl) {
  auto a = interpret_srv_answer(multi_reply(), kQ);
  ASSERT_EQ(a.kind, Kind::Records) << a.reason;
  EXPECT_EQ(a.final_name, kQ);
  EXPECT_EQ(a.ttl, 300u);
  EXPECT_FALSE(a.nxdomain);
  ASSERT_EQ(a.records.size(), 4u);
  EXPECT_EQ(a.records[0].target, kA1);
  EXPECT_EQ(a.records[3].target, "backup.example.net");
  EXPECT_EQ(a.records[3].port, 2525);
}

TEST(SrvAnswer, QnameIsComparedCaseInsensitivelyAndWithoutTheTrailingDot) {
  auto a = interpret_srv_answer(multi_reply(), "_Onion-MX._tcp.MULTI.onionmx.test.");
  EXPECT_EQ(a.kind, Kind::Records) << a.reason;
}

TEST(SrvAnswer, ReplyWithoutTheQrBitIsAFailure) {
  Message m = multi_reply();
  m.qr = false;
  auto a = interpret_srv_answer(m, kQ);
  EXPECT_EQ(a.kind, Kind::Failure);
  EXPECT_NE(a.reason.find("QR"), std::string::npos) << a.reason;
}

TEST(SrvAnswer, NonQueryOpcodeIsAFailure) {
  for (std::uint8_t op : {1, 2, 4, 5, 15}) {
    Message m = multi_reply();
    m.opcode = op;
    auto a = interpret_srv_answer(m, kQ);
    EXPECT_EQ(a.kind, Kind::Failure) << int{op};
    EXPECT_NE(a.reason.find("opcode"), std::string::npos) << a.reason;
  }
}

TEST(SrvAnswer, AnswerToAnotherQuestionIsAFailure) {
  auto with = [](auto change) {
    Message m = multi_reply();
    change(m);
    return interpret_srv_answer(m, kQ);
  };
  EXPECT_EQ(with([](Message& m) { m.qname = "_onion-mx._tcp.other.onionmx.test"; }).kind,
            Kind::Failure);
  EXPECT_EQ(with([](Message& m) { m.qname = "multi.onionmx.test"; }).kind, Kind::Failure);
  EXPECT_EQ(with([](Message& m) { m.qtype = kTypeTxt; }).kind, Kind::Failure);
  EXPECT_EQ(with([](Message& m) { m.qclass = 3; }).kind, Kind::Failure);
  EXPECT_EQ(with([](Message& m) { m.qdcount = 0; }).kind, Kind::Failure);
  EXPECT_EQ(with([](Message& m) { m.qdcount = 2; }).kind, Kind::Failure);
}

TEST(SrvAnswer, TruncatedReplyIsAFailure) {
  Message m = multi_reply();
  m.tc = true;
  EXPECT_EQ(interpret_srv_answer(m, kQ).kind, Kind::Failure);
}

TEST(SrvAnswer, ServerErrorsAreFailuresThatNameTheRcode) {
  struct Case {
    std::uint8_t rcode;
    const char* word;
  };
  for (const Case& c : {Case{kRcodeServFail, "SERVFAIL"}, Case{kRcodeRefused, "REFUSED"},
                        Case{kRcodeFormErr, "FORMERR"}, Case{kRcodeNotImp, "NOTIMP"}}) {
    Message m = reply(kQ, c.rcode);
    m.authority = {soa("onionmx.test", 60, 60)};
    auto a = interpret_srv_answer(m, kQ);
    EXPECT_EQ(a.kind, Kind::Failure) << c.word;
    EXPECT_NE(a.reason.find(c.word), std::string::npos) << a.reason;
    EXPECT_TRUE(a.records.empty());
  }
}

TEST(SrvAnswer, UnknownRcodeIsAFailureNamingItsNumber) {
  Message m = reply(kQ, 9);  // NOTAUTH
  auto a = interpret_srv_answer(m, kQ);
  EXPECT_EQ(a.kind, Kind::Failure);
  EXPECT_NE(a.reason.find('9'), std::string::npos) << a.reason;
}

TEST(SrvAnswer, NxdomainIsNoRecordsWithTheSoaNegativeTtl) {
  Message m = reply(kQ, kRcodeNxDomain);
  m.authority = {soa("onionmx.test", 60, 60)};
  auto a = interpret_srv_answer(m, kQ);
  EXPECT_EQ(a.kind, Kind::NoRecords);
  EXPECT_TRUE(a.nxdomain);
  EXPECT_EQ(a.ttl, 60u);
  EXPECT_NE(a.reason.find("NXDOMAIN"), std::string::npos) << a.reason;
}

TEST(SrvAnswer, NegativeTtlIsTheSmallerOfSoaTtlAndSoaMinimum) {
  for (auto [ttl, minimum, want] :
       {std::array<std::uint32_t, 3>{300, 60, 60}, {30, 60, 30}, {3600, 3600, 3600}, {0, 60, 0}}) {
    Message m = reply(kQ, kRcodeNxDomain);
    m.authority = {soa("onionmx.test", ttl, minimum)};
    EXPECT_EQ(interpret_srv_answer(m, kQ).ttl, want) << ttl << " " << minimum;
    Message nodata = reply(kQ);
    nodata.authority = {soa("onionmx.test", ttl, minimum)};
    EXPECT_EQ(interpret_srv_answer(nodata, kQ).ttl, want) << "NODATA " << ttl << " " << minimum;
  }
}

TEST(SrvAnswer, NxdomainWithoutSoaIsNotCached) {
  auto a = interpret_srv_answer(reply(kQ, kRcodeNxDomain), kQ);
  EXPECT_EQ(a.kind, Kind::NoRecords);
  EXPECT_TRUE(a.nxdomain);
  EXPECT_EQ(a.ttl, 0u);
}

TEST(SrvAnswer, NodataIsNoRecordsButNotNxdomain) {
  Message m = reply(kQ);
  m.authority = {soa("onionmx.test", 60, 60)};
  auto a = interpret_srv_answer(m, kQ);
  EXPECT_EQ(a.kind, Kind::NoRecords);
  EXPECT_FALSE(a.nxdomain);
  EXPECT_EQ(a.ttl, 60u);
  EXPECT_NE(a.reason.find("NODATA"), std::string::npos) << a.reason;
}

TEST(SrvAnswer, SrvRecordsOfAnotherOwnerDoNotCount) {
  Message m = reply(kQ);
  m.answers = {srv("_onion-mx._tcp.elsewhere.example", 300, 0, 0, 25, kA1)};
  m.authority = {soa("onionmx.test", 60, 60)};
  auto a = interpret_srv_answer(m, kQ);
  EXPECT_EQ(a.kind, Kind::NoRecords);
  EXPECT_TRUE(a.records.empty());
}

TEST(SrvAnswer, NxdomainCarryingSrvRecordsIsAFailure) {
  Message m = multi_reply();
  m.rcode = kRcodeNxDomain;
  EXPECT_EQ(interpret_srv_answer(m, kQ).kind, Kind::Failure);
}

TEST(SrvAnswer, CnameChainInsideTheAnswerIsFollowedToTheRecords) {
  const std::string q = "_onion-mx._tcp.alias.example";
  Message m = reply(q);
  m.answers = {cname(q, 100, "hop1.example"),
               cname("hop1.example", 50, "_onion-mx._tcp.real.example"),
               srv("_onion-mx._tcp.real.example", 300, 0, 0, 25, kA1)};
  auto a = interpret_srv_answer(m, q);
  ASSERT_EQ(a.kind, Kind::Records) << a.reason;
  EXPECT_EQ(a.final_name, "_onion-mx._tcp.real.example");
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].target, kA1);
  EXPECT_EQ(a.ttl, 50u) << "TTL is the minimum over the chain and the RRset";
  EXPECT_EQ(a.notes.size(), 2u) << joined(a.notes);
  EXPECT_TRUE(has_note_containing(a.notes, "hop1.example"));
}

TEST(SrvAnswer, CnameChainOrderInTheAnswerSectionDoesNotMatter) {
  const std::string q = "_onion-mx._tcp.alias.example";
  Message m = reply(q);
  m.answers = {srv("c.example", 300, 0, 0, 25, kA1), cname("b.example", 300, "c.example"),
               cname(q, 300, "b.example")};
  auto a = interpret_srv_answer(m, q);
  ASSERT_EQ(a.kind, Kind::Records) << a.reason;
  EXPECT_EQ(a.final_name, "c.example");
}

std::vector<ResourceRecord> chain(const std::string& q, int hops) {
  std::vector<ResourceRecord> rrs;
  std::string from = q;
  for (int i = 1; i <= hops; ++i) {
    const std::string to = "hop" + std::to_string(i) + ".example";
    rrs.push_back(cname(from, 300, to));
    from = to;
  }
  rrs.push_back(srv(from, 300, 0, 0, 25, kA1));
  return rrs;
}

TEST(SrvAnswer, ChainOfEightCnamesIsFollowed) {
  Message m = reply(kQ);
  m.answers = chain(kQ, 8);
  auto a = interpret_srv_answer(m, kQ);
  ASSERT_EQ(a.kind, Kind::Records) << a.reason;
  EXPECT_EQ(a.final_name, "hop8.example");
}

TEST(SrvAnswer, ChainOfNineCnamesIsAFailure) {
  Message m = reply(kQ);
  m.answers = chain(kQ, 9);
  auto a = interpret_srv_answer(m, kQ);
  EXPECT_EQ(a.kind, Kind::Failure);
  EXPECT_NE(a.reason.find("CNAME"), std::string::npos) << a.reason;
}

TEST(SrvAnswer, CnameLoopIsAFailureNotAHang) {
  Message m = reply(kQ);
  m.answers = {cname(kQ, 300, "a.example"), cname("a.example", 300, "b.example"),
               cname("b.example", 300, kQ)};
  EXPECT_EQ(interpret_srv_answer(m, kQ).kind, Kind::Failure);
  Message self = reply(kQ);
  self.answers = {cname(kQ, 300, kQ)};
  EXPECT_EQ(interpret_srv_answer(self, kQ).kind, Kind::Failure);
}

TEST(SrvAnswer, ChainEndingWithoutDataOrSoaMustBeFollowedByANewQuery) {
  Message m = reply(kQ);
  m.aa = true;  // authoritative server stopping at its zone edge
  m.answers = {cname(kQ, 120, "_onion-mx._tcp.other-zone.example"),
               cname("unrelated.example", 5, "x.example")};
  auto a = interpret_srv_answer(m, kQ);
  EXPECT_EQ(a.kind, Kind::FollowCname);
  EXPECT_EQ(a.final_name, "_onion-mx._tcp.other-zone.example");
  EXPECT_EQ(a.ttl, 120u);
  EXPECT_TRUE(a.records.empty());
}

TEST(SrvAnswer, ChainEndingInNodataWithSoaIsNoRecords) {
  Message m = reply(kQ);
  m.answers = {cname(kQ, 120, "_onion-mx._tcp.target.example")};
  m.authority = {soa("example", 300, 30)};
  auto a = interpret_srv_answer(m, kQ);
  EXPECT_EQ(a.kind, Kind::NoRecords);
  EXPECT_FALSE(a.nxdomain);
  EXPECT_EQ(a.ttl, 30u);
  EXPECT_EQ(a.final_name, "_onion-mx._tcp.target.example");
}

TEST(SrvAnswer, ChainEndingInNxdomainNamesTheMissingTarget) {
  Message m = reply(kQ, kRcodeNxDomain);
  m.answers = {cname(kQ, 120, "_onion-mx._tcp.gone.example")};
  m.authority = {soa("example", 60, 60)};
  auto a = interpret_srv_answer(m, kQ);
  EXPECT_EQ(a.kind, Kind::NoRecords);
  EXPECT_TRUE(a.nxdomain);
  EXPECT_NE(a.reason.find("_onion-mx._tcp.gone.example"), std::string::npos) << a.reason;
}

TEST(SrvAnswer, NegativeAnswerAfterACnameIsCachedNoLongerThanTheCname) {
  // The NXDOMAIN/NODATA is about the CNAME target; the alias itself may
  // change as soon as the CNAME expires (RFC 2308 §5).
  for (std::uint8_t rcode : {kRcodeNxDomain, kRcodeNoError}) {
    Message m = reply(kQ, rcode);
    m.answers = {cname(kQ, 30, "_onion-mx._tcp.target.example")};
    m.authority = {soa("example", 300, 60)};
    auto a = interpret_srv_answer(m, kQ);
    EXPECT_EQ(a.kind, Kind::NoRecords) << int{rcode};
    EXPECT_EQ(a.ttl, 30u) << "rcode " << int{rcode};
  }
}

TEST(SrvAnswer, RrsetTtlIsTheMinimumOfItsRecords) {
  Message m = multi_reply();
  m.answers[1].ttl = 120;
  m.answers[3].ttl = 7200;
  EXPECT_EQ(interpret_srv_answer(m, kQ).ttl, 120u);
}

TEST(SrvAnswer, TtlWithTheTopBitSetCountsAsZero) {
  for (std::uint32_t huge : {0x80000000u, 0xffffffffu}) {
    Message m = multi_reply();
    m.answers[2].ttl = huge;
    EXPECT_EQ(interpret_srv_answer(m, kQ).ttl, 0u) << huge;
    Message c = reply(kQ);
    c.answers = {cname(kQ, huge, "t.example"), srv("t.example", 300, 0, 0, 25, kA1)};
    EXPECT_EQ(interpret_srv_answer(c, kQ).ttl, 0u) << "CNAME TTL " << huge;
  }
}

TEST(SrvAnswer, LargestPositiveTtlIsKept) {
  Message m = reply(kQ);
  m.answers = {srv(kQ, 0x7fffffffu, 0, 0, 25, kA1)};
  EXPECT_EQ(interpret_srv_answer(m, kQ).ttl, 0x7fffffffu);
}

// RFC 2181 §8 applies to every TTL received, including the SOA's own TTL,
// which RFC 2308 §5 bounds the negative TTL with: a top-bit SOA TTL counts
// as 0, so the negative answer must not be cached (and never for decades).
TEST(SrvAnswer, NegativeTtlFromATopBitSoaTtlCountsAsZero) {
  struct Case {
    std::uint32_t ttl, minimum;
  };
  for (const Case& c :
       {Case{0x80000000u, 60}, Case{0xffffffffu, 0xfffffff0u}, Case{0x80000000u, 0x80000000u}}) {
    Message m = reply(kQ, kRcodeNxDomain);
    m.authority = {soa("onionmx.test", c.ttl, c.minimum)};
    EXPECT_EQ(interpret_srv_answer(m, kQ).ttl, 0u)
        << "NXDOMAIN, SOA TTL " << c.ttl << ", MINIMUM " << c.minimum;
    Message nodata = reply(kQ);
    nodata.authority = {soa("onionmx.test", c.ttl, c.minimum)};
    EXPECT_EQ(interpret_srv_answer(nodata, kQ).ttl, 0u)
        << "NODATA, SOA TTL " << c.ttl << ", MINIMUM " << c.minimum;
  }
}

TEST(SrvAnswer, AdBitIsPropagated) {
  Message m = multi_reply();
  m.ad = true;
  EXPECT_TRUE(interpret_srv_answer(m, kQ).authenticated);
  m.ad = false;
  EXPECT_FALSE(interpret_srv_answer(m, kQ).authenticated);
  Message nx = reply(kQ, kRcodeNxDomain);
  nx.ad = true;
  EXPECT_TRUE(interpret_srv_answer(nx, kQ).authenticated);
}

// ======================================================== select_routes

std::vector<SrvRecord> records_of(const Message& m) {
  std::vector<SrvRecord> out;
  for (const auto& rr : m.answers)
    if (rr.srv) out.push_back(*rr.srv);
  return out;
}

std::vector<std::string> onions(const std::vector<Route>& routes) {
  std::vector<std::string> out;
  for (const auto& r : routes) out.push_back(r.onion);
  return out;
}

TEST(SelectRoutes, MultiRrsetGivesItsThreeOnionsAndDropsTheClearnetBackup) {
  auto sel = select_routes(records_of(multi_reply()), first_choice());
  ASSERT_EQ(sel.kind, RouteKind::Routes) << sel.reason;
  ASSERT_EQ(sel.routes.size(), 3u) << joined(sel.notes);
  auto got = onions(sel.routes);
  std::sort(got.begin(), got.end());
  std::vector<std::string> want = {kA1, kA2, kA3};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  for (const auto& r : sel.routes) {
    EXPECT_EQ(r.port, 25);
    EXPECT_EQ(r.priority, 10);
  }
  EXPECT_TRUE(has_note_containing(sel.notes, "backup.example.net", "dropped")) << joined(sel.notes);
  EXPECT_TRUE(has_note_containing(sel.notes, "backup.example.net", "not an onion"))
      << joined(sel.notes);
}

TEST(SelectRoutes, AllThreeOnionsSurviveWhateverTheRandomDraws) {
  for (int seed = 0; seed < 200; ++seed) {
    std::uint32_t state = static_cast<std::uint32_t>(seed) * 2654435761u + 1;
    auto sel = select_routes(records_of(multi_reply()), [&](std::uint32_t n) {
      state = state * 1664525u + 1013904223u;
      return (state >> 8) % (n + 1);
    });
    ASSERT_EQ(sel.kind, RouteKind::Routes);
    ASSERT_EQ(sel.routes.size(), 3u);
  }
}

TEST(SelectRoutes, RoutesComeInPriorityOrder) {
  std::vector<SrvRecord> rs = {{30, 0, 25, kA3}, {10, 0, 25, kA1}, {20, 0, 25, kA2}};
  auto sel = select_routes(rs, first_choice());
  ASSERT_EQ(sel.kind, RouteKind::Routes);
  EXPECT_EQ(onions(sel.routes), (std::vector<std::string>{kA1, kA2, kA3}));
  EXPECT_EQ(sel.routes[0].priority, 10);
  EXPECT_EQ(sel.routes[2].priority, 30);
}

TEST(SelectRoutes, LoneDotTargetMeansDecidedlyNoOnion) {
  auto sel = select_routes({SrvRecord{0, 0, 0, ""}}, first_choice());
  EXPECT_EQ(sel.kind, RouteKind::DecidedlyNone);
  EXPECT_TRUE(sel.routes.empty());
  EXPECT_FALSE(sel.reason.empty());
}

TEST(SelectRoutes, DotMixedWithRealTargetsIsIgnored) {
  auto sel = select_routes({SrvRecord{0, 0, 0, ""}, SrvRecord{10, 5, 25, kA1}}, first_choice());
  ASSERT_EQ(sel.kind, RouteKind::Routes) << sel.reason;
  EXPECT_EQ(onions(sel.routes), std::vector<std::string>{kA1});
  EXPECT_TRUE(has_note_containing(sel.notes, "\".\"", "dropped")) << joined(sel.notes);
}

TEST(SelectRoutes, TwoDotTargetsAreNotARoute) {
  auto sel = select_routes({SrvRecord{0, 0, 0, ""}, SrvRecord{0, 0, 0, ""}}, first_choice());
  EXPECT_NE(sel.kind, RouteKind::Routes);
  EXPECT_TRUE(sel.routes.empty());
}

TEST(SelectRoutes, InvalidOnionTargetsAreDroppedWithNotesThatNameTheReason) {
  std::vector<SrvRecord> rs = {
      {10, 0, 25, kV2}, {10, 0, 25, kBadChecksum}, {10, 0, 25, kIdentityKey}, {10, 0, 25, kA1}};
  auto sel = select_routes(rs, first_choice());
  ASSERT_EQ(sel.kind, RouteKind::Routes) << sel.reason;
  EXPECT_EQ(onions(sel.routes), std::vector<std::string>{kA1});
  EXPECT_TRUE(has_note_containing(sel.notes, kV2, "v2")) << joined(sel.notes);
  EXPECT_TRUE(has_note_containing(sel.notes, kBadChecksum, "checksum")) << joined(sel.notes);
  EXPECT_TRUE(has_note_containing(sel.notes, kIdentityKey, "key")) << joined(sel.notes);
  EXPECT_TRUE(has_note_containing(sel.notes, kA1, "accepted")) << joined(sel.notes);
}

TEST(SelectRoutes, PortZeroIsDropped) {
  auto sel = select_routes({SrvRecord{10, 0, 0, kA1}, SrvRecord{10, 0, 25, kA2}}, first_choice());
  ASSERT_EQ(sel.kind, RouteKind::Routes);
  EXPECT_EQ(onions(sel.routes), std::vector<std::string>{kA2});
  EXPECT_TRUE(has_note_containing(sel.notes, "port 0")) << joined(sel.notes);
}

TEST(SelectRoutes, NoValidTargetIsNoneValidWithAReason) {
  auto sel = select_routes({SrvRecord{10, 0, 25, kV2}, SrvRecord{10, 0, 25, "backup.example.net"},
                            SrvRecord{10, 0, 0, kA1}},
                           first_choice());
  EXPECT_EQ(sel.kind, RouteKind::NoneValid);
  EXPECT_TRUE(sel.routes.empty());
  EXPECT_FALSE(sel.reason.empty());
  EXPECT_EQ(sel.notes.size(), 3u) << joined(sel.notes);
}

TEST(SelectRoutes, EmptyRrsetIsNoneValid) {
  auto sel = select_routes({}, first_choice());
  EXPECT_EQ(sel.kind, RouteKind::NoneValid);
  EXPECT_TRUE(sel.routes.empty());
}

TEST(SelectRoutes, NonStandardPortIsKept) {
  auto sel = select_routes({SrvRecord{10, 0, 2525, kA1}}, first_choice());
  ASSERT_EQ(sel.kind, RouteKind::Routes);
  ASSERT_EQ(sel.routes.size(), 1u);
  EXPECT_EQ(sel.routes[0].port, 2525);
}

TEST(SelectRoutes, SubdomainTargetKeepsItsFullNameAndUpperCaseIsFolded) {
  const std::string upper_a1 =
      "SMTP.AOQQPP7TZYIL4HLQ3UMOOS6ATFT6JVRQTOSQ2XY53SDGIESVGG4BQEAD.ONION";
  auto sel = select_routes({SrvRecord{10, 7, 25, upper_a1}}, first_choice());
  ASSERT_EQ(sel.kind, RouteKind::Routes) << joined(sel.notes);
  EXPECT_EQ(sel.routes[0].onion, "smtp." + kA1);
  EXPECT_EQ(sel.routes[0].weight, 7);
}

// An SRV target is attacker-controlled DNS data.  The bare TLD has no
// address label; run in a child so a crash fails only this test.
TEST(SelectRoutes, BareOnionTldTargetIsDroppedWithoutCrashing) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        auto sel = select_routes({SrvRecord{10, 0, 25, "onion"}, SrvRecord{10, 0, 25, kA1}},
                                 first_choice());
        std::_Exit(sel.kind == RouteKind::Routes && sel.routes.size() == 1 ? 0 : 3);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
