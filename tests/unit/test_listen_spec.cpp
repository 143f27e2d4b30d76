// test_listen_spec.cpp - the --socketmap / --tcp-table LISTEN argument
// (proto/listen_spec.hpp; docs/wire-protocols.md "Listen addresses").
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "base/status.hpp"
#include "proto/listen_spec.hpp"

namespace {

using onionmx::base::Status;
using onionmx::proto::is_ipv4_literal;
using onionmx::proto::is_ipv6_literal;
using onionmx::proto::ListenSpec;
using onionmx::proto::parse_listen_spec;

TEST(ListenSpec, InetWithEachHostForm) {
  auto v4 = parse_listen_spec("inet:127.0.0.1:17001");
  ASSERT_TRUE(v4) << v4.error().detail;
  EXPECT_EQ(v4->kind, ListenSpec::Kind::Inet);
  EXPECT_EQ(v4->host_kind, ListenSpec::Host::Ipv4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 17001);

  auto v6 = parse_listen_spec("inet:[::1]:65535");
  ASSERT_TRUE(v6) << v6.error().detail;
  EXPECT_EQ(v6->host_kind, ListenSpec::Host::Ipv6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 65535);

  auto name = parse_listen_spec("inet:LocalHost:0");
  ASSERT_TRUE(name) << name.error().detail;
  EXPECT_EQ(name->host_kind, ListenSpec::Host::Name);
  EXPECT_EQ(name->host, "LocalHost");
  EXPECT_EQ(name->port, 0);
}

TEST(ListenSpec, UnixAbsolutePath) {
  auto u = parse_listen_spec("unix:/var/spool/postfix/onionmx/sm.sock");
  ASSERT_TRUE(u) << u.error().detail;
  EXPECT_EQ(u->kind, ListenSpec::Kind::Unix);
  EXPECT_EQ(u->path, "/var/spool/postfix/onionmx/sm.sock");
  // A colon in a path is just a byte (Postfix's client splits at the last one).
  EXPECT_TRUE(parse_listen_spec("unix:/tmp/a:b"));
  EXPECT_TRUE(parse_listen_spec("unix:/" + std::string(106, 'p')));
  EXPECT_FALSE(parse_listen_spec("unix:/" + std::string(107, 'p')));
}

TEST(ListenSpec, CanonicalSpellingParsesBack) {
  for (const std::string_view s : {"inet:127.0.0.1:25", "inet:[2001:db8::1]:17001",
                                   "inet:mail.example:1", "unix:/run/x.sock"}) {
    auto p = parse_listen_spec(s);
    ASSERT_TRUE(p) << s;
    EXPECT_EQ(to_string(*p), s);
  }
}

TEST(ListenSpec, BadSpecsSayWhatIsWrong) {
  const struct {
    std::string_view spec;
    std::string_view why;
  } cases[] = {
      {"", "unknown type"},
      {"tcp:127.0.0.1:1", "unknown type"},
      {"INET:127.0.0.1:1", "unknown type"},
      {"127.0.0.1:17001", "unknown type"},
      {"inet:127.0.0.1", "no port"},
      {"inet:17001", "no port"},
      {"inet::17001", "empty host"},
      {"inet:127.0.0.1:", "port must be"},
      {"inet:127.0.0.1:65536", "port must be"},
      {"inet:127.0.0.1:-1", "port must be"},
      {"inet:127.0.0.1:017001", "port must be"},
      {"inet:127.0.0.1:1x", "port must be"},
      {"inet:::1:17001", "needs brackets"},
      {"inet:[::1:17001", "unclosed"},
      {"inet:[127.0.0.1]:1", "not an IPv6"},
      {"inet:[fe80::1%eth0]:1", "not an IPv6"},
      {"inet:*:1", "neither"},
      {"inet:256.0.0.1:1", "neither"},
      {"inet:1.2.3:1", "neither"},
      {"inet:010.0.0.1:1", "neither"},
      {"inet:-bad.example:1", "neither"},
      {"inet:a..b:1", "neither"},
      {"unix:", "empty path"},
      {"unix:onionmx/sm.sock", "absolute"},
  };
  for (const auto& c : cases) {
    auto r = parse_listen_spec(c.spec);
    ASSERT_FALSE(r) << c.spec;
    EXPECT_EQ(r.error().code, Status::Inval);
    EXPECT_NE(r.error().detail.find(c.why), std::string::npos)
        << c.spec << ": " << r.error().detail;
    EXPECT_NE(r.error().detail.find("inet:HOST:PORT or unix:/PATH"), std::string::npos);
  }
  auto nul = parse_listen_spec(std::string("unix:/a\0b", 9));
  ASSERT_FALSE(nul);
  EXPECT_NE(nul.error().detail.find("NUL"), std::string::npos);
}

TEST(ListenSpec, Ipv4Literals) {
  for (const std::string_view ok : {"0.0.0.0", "255.255.255.255", "192.0.2.1"})
    EXPECT_TRUE(is_ipv4_literal(ok)) << ok;
  for (const std::string_view bad :
       {"", "1.2.3", "1.2.3.4.5", "1.2.3.", ".1.2.3", "1..2.3", "01.2.3.4", "1.2.3.256", "a.b.c.d",
        "1.2.3.4 ", "1.2.3.-4", "99999.1.1.1"})
    EXPECT_FALSE(is_ipv4_literal(bad)) << bad;
}

TEST(ListenSpec, Ipv6Literals) {
  for (const std::string_view ok :
       {"::", "::1", "1::", "2001:db8::1", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6::8", "::ffff:192.0.2.1",
        "1:2:3:4:5:6:1.2.3.4", "FE80::abcd", "0:0:0:0:0:0:0:0"})
    EXPECT_TRUE(is_ipv6_literal(ok)) << ok;
  for (const std::string_view bad :
       {"", ":", ":::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3",
        "12345::", "g::", "1:2:3:4:5:6:7::8", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "::1.2.3",
        "1.2.3.4::", "::ffff:1.2.3.4:5", "1:2:3:4:5:6:7:1.2.3.4", "fe80::1%eth0"})
    EXPECT_FALSE(is_ipv6_literal(bad)) << bad;
}

}  // namespace
