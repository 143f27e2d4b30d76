// test_update.cpp - the onionmx publishing UPDATE (RFC 2136): message layout
// section by section, the zone-file lines `records` prints, the dry-run dump.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/test_util.hpp"
#include "dns/message.hpp"
#include "dns/tsig.hpp"
#include "dns/update.hpp"
#include "dns/wire.hpp"

namespace {

using namespace onionmx::dns;
using onionmx::test::contains;

constexpr const char* kV1 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion";

PublishRecords records() {
  PublishRecords r;
  r.domain = "mail.example.org";
  r.onion = kV1;
  r.priority = 10;
  r.weight = 5;
  r.port = 25;
  r.ttl = 600;
  r.policy = "v=ONIONMX1; mode=enforce; max_age=604800";
  return r;
}

struct Rr {
  std::string name;
  std::uint16_t type, cls;
  std::uint32_t ttl;
  std::vector<std::uint8_t> rdata;
};

// Independent walker over an uncompressed UPDATE.
std::vector<Rr> section(const std::vector<std::uint8_t>& w, int which) {
  wire::WireReader rd(w, 4);
  std::uint16_t counts[4];
  for (auto& c : counts) c = *rd.u16("c");
  (void)rd.name("zone");
  (void)rd.bytes(4, "zone tc");
  std::vector<Rr> out;
  for (int s = 1; s <= 3; ++s)
    for (int i = 0; i < counts[s]; ++i) {
      Rr r;
      r.name = *rd.name("n");
      r.type = *rd.u16("t");
      r.cls = *rd.u16("c");
      r.ttl = *rd.u32("ttl");
      auto len = *rd.u16("len");
      auto b = *rd.bytes(len, "rd");
      r.rdata.assign(b.begin(), b.end());
      if (s == which) out.push_back(r);
    }
  return out;
}

TEST(PublishUpdate, Layout) {
  auto m = publish_update(0xbeef, "example.org", records());
  ASSERT_TRUE(m) << m.error().detail;
  auto w = build_update(*m);
  ASSERT_TRUE(w);
  // Header: ID, QR 0 OPCODE 5, ZOCOUNT 1, PRCOUNT 2, UPCOUNT 3, ADCOUNT 0.
  EXPECT_EQ((*w)[0], 0xbe);
  EXPECT_EQ((*w)[1], 0xef);
  EXPECT_EQ((*w)[2], 0x28);
  EXPECT_EQ((*w)[3], 0x00);
  const std::uint8_t counts[] = {0, 1, 0, 2, 0, 3, 0, 0};
  for (int i = 0; i < 8; ++i) EXPECT_EQ((*w)[4 + i], counts[i]) << i;
  auto parsed = parse_message(*w);  // the zone section reads like a question
  ASSERT_TRUE(parsed) << parsed.error().detail;
  EXPECT_EQ(parsed->qname, "example.org");
  EXPECT_EQ(parsed->qtype, kTypeSoa);
  EXPECT_EQ(parsed->qclass, kClassIn);

  const std::string owner = "_onion-mx._tcp.mail.example.org";
  auto pre = section(*w, 1);
  ASSERT_EQ(pre.size(), 2u);  // zone apex SOA exists (RFC 2136 §2.4.1)
  EXPECT_EQ(pre[0].name, "example.org");
  EXPECT_EQ(pre[0].type, kTypeSoa);
  EXPECT_EQ(pre[0].cls, kClassAny);
  EXPECT_EQ(pre[0].ttl, 0u);
  EXPECT_TRUE(pre[0].rdata.empty());
  // No TXT RRset at the name (the caller saw none, §2.4.3).
  EXPECT_EQ(pre[1].name, owner);
  EXPECT_EQ(pre[1].type, kTypeTxt);
  EXPECT_EQ(pre[1].cls, kClassNone);
  EXPECT_EQ(pre[1].ttl, 0u);
  EXPECT_TRUE(pre[1].rdata.empty());

  auto up = section(*w, 2);
  ASSERT_EQ(up.size(), 3u);
  for (const auto& r : up) EXPECT_EQ(r.name, owner);  // nothing else is touched
  EXPECT_EQ(up[0].type, kTypeSrv);
  EXPECT_EQ(up[0].cls, kClassAny);
  EXPECT_TRUE(up[0].rdata.empty());
  EXPECT_EQ(up[1].type, kTypeSrv);
  EXPECT_EQ(up[1].cls, kClassIn);
  EXPECT_EQ(up[1].ttl, 600u);
  auto srv = srv_rdata(10, 5, 25, kV1);
  EXPECT_EQ(up[1].rdata, *srv);
  EXPECT_EQ(up[1].rdata[1], 10);
  EXPECT_EQ(up[1].rdata[3], 5);
  EXPECT_EQ(up[1].rdata[5], 25);
  EXPECT_EQ(up[2].type, kTypeTxt);
  EXPECT_EQ(up[2].cls, kClassIn);
  const std::string txt = records().policy;
  ASSERT_EQ(up[2].rdata.size(), txt.size() + 1);
  EXPECT_EQ(up[2].rdata[0], txt.size());
  EXPECT_EQ(std::string(up[2].rdata.begin() + 1, up[2].rdata.end()), txt);
}

// Other TXT records at the name survive: the current RRset is the
// prerequisite, only the v=ONIONMX1 records are deleted, by value.
TEST(PublishUpdate, CurrentTxtDeletesOnlyPolicyRecords) {
  const std::vector<std::vector<std::uint8_t>> current = {
      txt_rdata("keep me"), txt_rdata("v=ONIONMX1; mode=testing; max_age=1"),
      txt_rdata("v=ONIONMX10; mode=enforce"), txt_rdata("v=ONIONMX1; broken")};
  auto m = publish_update(1, "example.org", records(), current);
  ASSERT_TRUE(m) << m.error().detail;
  auto w = build_update(*m);
  ASSERT_TRUE(w);
  auto pre = section(*w, 1);
  ASSERT_EQ(pre.size(), 5u);
  for (std::size_t i = 0; i < current.size(); ++i) {
    EXPECT_EQ(pre[i + 1].type, kTypeTxt);
    EXPECT_EQ(pre[i + 1].cls, kClassIn);  // §2.4.2: RRset exists, value dependent
    EXPECT_EQ(pre[i + 1].ttl, 0u);
    EXPECT_EQ(pre[i + 1].rdata, current[i]);
  }
  auto up = section(*w, 2);
  ASSERT_EQ(up.size(), 5u);
  EXPECT_EQ(up[0].type, kTypeSrv);
  EXPECT_EQ(up[0].cls, kClassAny);
  for (int i : {1, 2}) {
    EXPECT_EQ(up[i].type, kTypeTxt);
    EXPECT_EQ(up[i].cls, kClassNone);  // §2.5.4: delete this RR
    EXPECT_EQ(up[i].ttl, 0u);
  }
  EXPECT_EQ(up[1].rdata, current[1]);
  EXPECT_EQ(up[2].rdata, current[3]);  // an invalid policy record is onionmx's too
  EXPECT_EQ(up[3].type, kTypeSrv);
  EXPECT_EQ(up[4].type, kTypeTxt);
  EXPECT_EQ(up[4].cls, kClassIn);
}

TEST(PublishUpdate, PolicyTxtIsTheVersionPrefix) {
  EXPECT_TRUE(is_policy_txt(txt_rdata("v=ONIONMX1; mode=none; max_age=0")));
  EXPECT_TRUE(is_policy_txt(txt_rdata("v=ONIONMX1")));
  EXPECT_TRUE(is_policy_txt(txt_rdata("v=ONIONMX1 ; nonsense")));  // as select_policy
  EXPECT_FALSE(is_policy_txt(txt_rdata("v=ONIONMX1 nonsense")));
  // Character-strings are joined before the version is looked at.
  EXPECT_TRUE(is_policy_txt(
      std::vector<std::uint8_t>{3, 'v', '=', 'O', 7, 'N', 'I', 'O', 'N', 'M', 'X', '1'}));
  EXPECT_FALSE(is_policy_txt(txt_rdata("v=ONIONMX10; mode=enforce")));
  EXPECT_FALSE(is_policy_txt(txt_rdata("v=onionmx1; mode=enforce")));
  EXPECT_FALSE(is_policy_txt(txt_rdata("v=spf1 -all")));
  EXPECT_FALSE(is_policy_txt(txt_rdata("")));
  EXPECT_FALSE(is_policy_txt({}));
  EXPECT_FALSE(is_policy_txt(std::vector<std::uint8_t>{200, 'v'}));  // length past the end
}

// A TXT answer as a server writes it: question, then the answer records,
// owner names compressed to the question.
std::vector<std::uint8_t> txt_answer(std::uint16_t id, std::uint16_t flags,
                                     const std::vector<std::pair<bool, std::string>>& rrs) {
  std::vector<std::uint8_t> w;
  wire::put16(w, id);
  wire::put16(w, flags);
  wire::put16(w, 1);
  wire::put16(w, static_cast<std::uint16_t>(rrs.size()));
  wire::put16(w, 0);
  wire::put16(w, 0);
  auto q = encode_name("_onion-mx._tcp.Example.org");
  w.insert(w.end(), q->begin(), q->end());
  wire::put16(w, kTypeTxt);
  wire::put16(w, kClassIn);
  for (const auto& [at_owner, text] : rrs) {
    if (at_owner) {
      wire::put16(w, 0xc00c);
    } else {
      auto n = encode_name("other.example.org");
      w.insert(w.end(), n->begin(), n->end());
    }
    wire::put16(w, kTypeTxt);
    wire::put16(w, kClassIn);
    wire::put32(w, 300);
    const auto rd = txt_rdata(text);
    wire::put16(w, static_cast<std::uint16_t>(rd.size()));
    w.insert(w.end(), rd.begin(), rd.end());
  }
  return w;
}

TEST(ReadTxtRrset, TakesTheOwnersTxtRecords) {
  const std::string owner = "_onion-mx._tcp.example.org";
  auto w = txt_answer(7, 0x8400, {{true, "keep me"}, {false, "elsewhere"}, {true, "v=ONIONMX1"}});
  auto r = read_txt_rrset(w, 7, owner);
  ASSERT_TRUE(r) << r.error().detail;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0], txt_rdata("keep me"));
  EXPECT_EQ((*r)[1], txt_rdata("v=ONIONMX1"));
  auto nx = read_txt_rrset(txt_answer(7, 0x8403, {}), 7, owner);  // NXDOMAIN
  ASSERT_TRUE(nx);
  EXPECT_TRUE(nx->empty());
}

TEST(ReadTxtRrset, OnlyAnAuthoritativeAnswerToTheQuery) {
  const std::string owner = "_onion-mx._tcp.example.org";
  const std::pair<std::uint16_t, const char*> bad[] = {
      {0x8000, "AA not set"},
      {0x8405, "REFUSED"},
      {0x8402, "SERVFAIL"},
      {0x0400, "not a query response"},
      {0xa400, "not a query response"},  // opcode 4
      {0x8600, "truncated"}};
  for (const auto& [flags, why] : bad) {
    auto r = read_txt_rrset(txt_answer(7, flags, {{true, "x"}}), 7, owner);
    ASSERT_FALSE(r) << why;
    EXPECT_TRUE(contains(r.error().detail, why)) << r.error().detail;
  }
  EXPECT_FALSE(read_txt_rrset(txt_answer(8, 0x8400, {{true, "x"}}), 7, owner));
  auto w = txt_answer(7, 0x8400, {{true, "x"}});
  w.pop_back();
  EXPECT_FALSE(read_txt_rrset(w, 7, owner));
  EXPECT_FALSE(read_txt_rrset(std::vector<std::uint8_t>(5, 0), 7, owner));
}

TEST(PublishUpdate, ZoneMustContainDomain) {
  auto r = records();
  EXPECT_TRUE(publish_update(1, "mail.example.org.", r));
  EXPECT_TRUE(publish_update(1, "EXAMPLE.org", r));
  auto bad = publish_update(1, "example.net", r);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(contains(bad.error().detail, "not inside zone example.net"));
  EXPECT_FALSE(publish_update(1, "ample.org", r));  // label boundary
  EXPECT_FALSE(publish_update(1, "", r));
}

TEST(PublishUpdate, WithoutPolicyStillDeletesThePolicyTxt) {
  auto r = records();
  r.policy.clear();
  auto m = publish_update(1, "example.org", r, {txt_rdata("v=ONIONMX1; mode=enforce")});
  ASSERT_TRUE(m);
  ASSERT_EQ(m->updates.size(), 3u);  // delete SRV, delete the policy TXT, add SRV
  EXPECT_EQ(m->updates[1].type, kTypeTxt);
  EXPECT_EQ(m->updates[1].rrclass, kClassNone);
  EXPECT_EQ(m->updates[2].type, kTypeSrv);
}

TEST(PublishUpdate, TxtSplitsAt255) {
  const std::string longtext(300, 'a');
  auto rd = txt_rdata(longtext);
  ASSERT_EQ(rd.size(), 302u);
  EXPECT_EQ(rd[0], 255);
  EXPECT_EQ(rd[256], 45);
  EXPECT_EQ(txt_rdata(""), std::vector<std::uint8_t>{0});
}

TEST(PublishUpdate, ZoneLines) {
  auto lines = publish_zone_lines(records());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            "_onion-mx._tcp.mail.example.org. 600 IN SRV 10 5 25 " + std::string(kV1) + ".");
  EXPECT_EQ(
      lines[1],
      "_onion-mx._tcp.mail.example.org. 600 IN TXT \"v=ONIONMX1; mode=enforce; max_age=604800\"");
}

TEST(PublishUpdate, DumpNamesSections) {
  auto m = publish_update(0x1234, "example.org", records());
  auto w = build_update(*m);
  TsigKey k{"k", TsigAlgorithm::HmacSha256, std::vector<std::uint8_t>(32, 7)};
  auto s = tsig_sign(*w, k, 1700000000);
  ASSERT_TRUE(s);
  auto d = dump_update(s->wire);
  ASSERT_TRUE(d) << d.error().detail;
  for (const char* want : {";; ZONE SECTION:\n;example.org. IN SOA",
                           ";; PREREQUISITE SECTION:\nexample.org. 0 ANY SOA  ; RRset",
                           "_onion-mx._tcp.mail.example.org. 0 ANY SRV  ; RRset",
                           "_onion-mx._tcp.mail.example.org. 600 IN SRV 10 5 25 ",
                           "600 IN TXT \"v=ONIONMX1; mode=enforce; max_age=604800\"",
                           "k. 0 ANY TSIG hmac-sha256. time 1700000000 fudge 300 mac ",
                           "original-id 0x1234 error NOERROR",
                           "_onion-mx._tcp.mail.example.org. 0 NONE TXT  ; no such RRset"})
    EXPECT_TRUE(contains(*d, want)) << want << "\n" << *d;
  EXPECT_FALSE(dump_update(std::vector<std::uint8_t>(s->wire.begin(), s->wire.end() - 1)));
}

TEST(Names, RcodeAndTsigErrorNames) {
  EXPECT_EQ(rcode_name(9), "NOTAUTH");
  EXPECT_EQ(rcode_name(10), "NOTZONE");
  EXPECT_EQ(tsig_error_name(18), "BADTIME");
  EXPECT_EQ(tsig_error_name(99), "99");
}

}  // namespace
