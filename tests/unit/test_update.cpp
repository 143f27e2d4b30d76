// test_update.cpp - the onionmx publishing UPDATE (RFC 2136): message layout
// section by section, the zone-file lines `records` prints, the dry-run dump.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
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
  // Header: ID, QR 0 OPCODE 5, ZOCOUNT 1, PRCOUNT 1, UPCOUNT 4, ADCOUNT 0.
  EXPECT_EQ((*w)[0], 0xbe);
  EXPECT_EQ((*w)[1], 0xef);
  EXPECT_EQ((*w)[2], 0x28);
  EXPECT_EQ((*w)[3], 0x00);
  const std::uint8_t counts[] = {0, 1, 0, 1, 0, 4, 0, 0};
  for (int i = 0; i < 8; ++i) EXPECT_EQ((*w)[4 + i], counts[i]) << i;
  auto parsed = parse_message(*w);  // the zone section reads like a question
  ASSERT_TRUE(parsed) << parsed.error().detail;
  EXPECT_EQ(parsed->qname, "example.org");
  EXPECT_EQ(parsed->qtype, kTypeSoa);
  EXPECT_EQ(parsed->qclass, kClassIn);

  auto pre = section(*w, 1);
  ASSERT_EQ(pre.size(), 1u);  // zone apex SOA exists
  EXPECT_EQ(pre[0].name, "example.org");
  EXPECT_EQ(pre[0].type, kTypeSoa);
  EXPECT_EQ(pre[0].cls, kClassAny);
  EXPECT_EQ(pre[0].ttl, 0u);
  EXPECT_TRUE(pre[0].rdata.empty());

  auto up = section(*w, 2);
  ASSERT_EQ(up.size(), 4u);
  const std::string owner = "_onion-mx._tcp.mail.example.org";
  for (const auto& r : up) EXPECT_EQ(r.name, owner);  // nothing else is touched
  EXPECT_EQ(up[0].type, kTypeSrv);
  EXPECT_EQ(up[0].cls, kClassAny);
  EXPECT_TRUE(up[0].rdata.empty());
  EXPECT_EQ(up[1].type, kTypeTxt);
  EXPECT_EQ(up[1].cls, kClassAny);
  EXPECT_TRUE(up[1].rdata.empty());
  EXPECT_EQ(up[2].type, kTypeSrv);
  EXPECT_EQ(up[2].cls, kClassIn);
  EXPECT_EQ(up[2].ttl, 600u);
  auto srv = srv_rdata(10, 5, 25, kV1);
  EXPECT_EQ(up[2].rdata, *srv);
  EXPECT_EQ(up[2].rdata[1], 10);
  EXPECT_EQ(up[2].rdata[3], 5);
  EXPECT_EQ(up[2].rdata[5], 25);
  EXPECT_EQ(up[3].type, kTypeTxt);
  EXPECT_EQ(up[3].cls, kClassIn);
  const std::string txt = records().policy;
  ASSERT_EQ(up[3].rdata.size(), txt.size() + 1);
  EXPECT_EQ(up[3].rdata[0], txt.size());
  EXPECT_EQ(std::string(up[3].rdata.begin() + 1, up[3].rdata.end()), txt);
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

TEST(PublishUpdate, WithoutPolicyStillDeletesTxt) {
  auto r = records();
  r.policy.clear();
  auto m = publish_update(1, "example.org", r);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->updates.size(), 3u);
  EXPECT_EQ(m->updates[1].type, kTypeTxt);
  EXPECT_EQ(m->updates[1].rrclass, kClassAny);
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
                           "original-id 0x1234 error NOERROR"})
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
