// test_smtpd_table.cpp - the smtpd-tables(7) codec (proto/smtpd_table.hpp)
// with the bytes OpenSMTPD 7.8.0p1 sent (docs/onionmx-table.md).
//
// Reply expectations are whole lines, so any change to a byte fails.
#include <gtest/gtest.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.hpp"
#include "common/chunked_decode.hpp"
#include "proto/reply.hpp"
#include "proto/smtpd_table.hpp"

namespace {

using onionmx::base::Outcome;
using namespace onionmx::proto;

const std::string kUrl =
    "smtp+notls://aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion:25";

using Decoded = onionmx::test::Decoded<SmtpdTableLine>;

Decoded decode(std::string_view stream, const std::vector<std::size_t>& cuts = {},
               std::size_t max = kDefaultMaxRequest) {
  return onionmx::test::decode_at_cuts<SmtpdTableLine>(SmtpdTableDecoder(max), stream, cuts);
}

std::vector<std::string> texts(const Decoded& d) {
  std::vector<std::string> out;
  out.reserve(d.requests.size());
  for (const auto& l : d.requests) out.push_back(l.text);
  return out;
}

// ---------------------------------------------------------------- lines

TEST(SmtpdTableDecoder, SplitsTheHandshakeSmtpdSentIntoLines) {
  const std::string hs =
      "config|smtpd-version|7.8.0-portable\nconfig|protocol|0.1\n"
      "config|tablename|onionpy\nconfig|ready\n";
  const auto d = decode(hs);
  EXPECT_EQ(texts(d),
            (std::vector<std::string>{"config|smtpd-version|7.8.0-portable", "config|protocol|0.1",
                                      "config|tablename|onionpy", "config|ready"}));
  EXPECT_TRUE(d.boundary);
  EXPECT_FALSE(d.error);
}

TEST(SmtpdTableDecoder, EverySplitGivesTheSameLines) {
  const std::string s =
      "table|0.1|1795313167.420892|onionpy|check|domain|0649c485|py.example.org\n"
      "table|0.1|1795313167.425078|onionpy|lookup|relayhost|b2a61d06|py.example.org\n"
      "table|0.1|1.2|onionpy|update|0000abcd\n";
  const auto whole = decode(s);
  ASSERT_EQ(whole.requests.size(), 3u);
  for (std::size_t cut = 0; cut <= s.size(); ++cut)
    EXPECT_EQ(decode(s, {cut}).requests, whole.requests) << cut;
  EXPECT_EQ(decode(s, onionmx::test::pseudo_random_cuts(s.size(), 7)).requests, whole.requests);
}

TEST(SmtpdTableDecoder, PartialLineIsNotABoundaryAndCrlfLosesItsCr) {
  auto d = decode("config|ready\r\nconfig|rea");
  EXPECT_EQ(texts(d), std::vector<std::string>{"config|ready"});
  EXPECT_FALSE(d.boundary);
  EXPECT_EQ(texts(decode("\n\r\n")), (std::vector<std::string>{"", ""}));
}

TEST(SmtpdTableDecoder, LongLineKeepsItsStartAndTheNextLineIsIntact) {
  const std::string head = "table|0.1|1.2|t|check|domain|0649c485|";
  const std::string s = head + std::string(5000, 'a') + "\nconfig|ready\n";
  for (const auto& cuts : {std::vector<std::size_t>{}, std::vector<std::size_t>{100, 2000, 4990}}) {
    const auto d = decode(s, cuts, 64);
    ASSERT_EQ(d.requests.size(), 2u);
    EXPECT_TRUE(d.requests[0].truncated);
    EXPECT_EQ(d.requests[0].text, (head + std::string(5000, 'a')).substr(0, 64));
    EXPECT_EQ(d.requests[1], (SmtpdTableLine{"config|ready", false}));
    EXPECT_TRUE(d.boundary);
  }
  // Exactly at the limit is not cut.
  const auto at = decode(std::string(64, 'x') + "\n", {}, 64);
  ASSERT_EQ(at.requests.size(), 1u);
  EXPECT_FALSE(at.requests[0].truncated);
}

// ---------------------------------------------------------------- config

TEST(SmtpdTableConfig, KeysValuesAndReady) {
  EXPECT_EQ(parse_smtpd_table_config("config|tablename|onionpy"),
            (SmtpdTableConfig{"tablename", "onionpy"}));
  EXPECT_EQ(parse_smtpd_table_config("config|ready"), (SmtpdTableConfig{"ready", ""}));
  EXPECT_EQ(parse_smtpd_table_config("config|x|a|b"), (SmtpdTableConfig{"x", "a|b"}));
  EXPECT_FALSE(parse_smtpd_table_config("config"));
  EXPECT_FALSE(parse_smtpd_table_config("config|"));
  EXPECT_FALSE(parse_smtpd_table_config("table|0.1|1.2|t|update|1"));
}

// ---------------------------------------------------------------- requests

TEST(SmtpdTableRequest, TheRequestsSmtpdSent) {
  auto r = parse_smtpd_table_request(
      "table|0.1|1795313167.420892|onionpy|check|domain|0649c485|py.example.org");
  EXPECT_EQ(r, (SmtpdTableRequest{"check", "onionpy", "domain", "0649c485", "py.example.org", ""}));
  r = parse_smtpd_table_request(
      "table|0.1|1795313167.425078|onionpy|lookup|relayhost|b2a61d06|py.example.org");
  EXPECT_EQ(
      r, (SmtpdTableRequest{"lookup", "onionpy", "relayhost", "b2a61d06", "py.example.org", ""}));
  r = parse_smtpd_table_request("table|0.1|1.2|onionpy|fetch|relayhost|0000beef");
  EXPECT_EQ(r, (SmtpdTableRequest{"fetch", "onionpy", "relayhost", "0000beef", "", ""}));
  r = parse_smtpd_table_request("table|0.1|1.2|onionpy|update|0000abcd");
  EXPECT_EQ(r, (SmtpdTableRequest{"update", "onionpy", "", "0000abcd", "", ""}));
}

TEST(SmtpdTableRequest, TheKeyKeepsBarsAndMayBeEmpty) {
  auto r = parse_smtpd_table_request("table|0.1|1.2|t|lookup|relayhost|1|a|b||c|");
  EXPECT_EQ(r.key, "a|b||c|");
  EXPECT_EQ(r.error, "");
  r = parse_smtpd_table_request("table|0.1|1.2|t|check|domain|1|");
  EXPECT_EQ(r.key, "");
  EXPECT_EQ(r.error, "");
}

TEST(SmtpdTableRequest, AnswerableErrorsKeepTheId) {
  struct Case {
    const char* line;
    const char* op;
    const char* id;
    const char* error;
  };
  for (const Case& c : {
           Case{"table|0.2|1.2|t|check|domain|abc|k", "check", "abc",
                "unsupported protocol version 0.2"},
           Case{"table|0.1|1.2|t|check|domain|abc", "check", "abc", "missing key"},
           Case{"table|0.1|1.2|t|fetch|relayhost|abc|k", "fetch", "abc",
                "unexpected field after the id"},
           Case{"table|0.1|1.2|t|update|abc|more", "update", "abc",
                "unexpected field after the id"},
           Case{"table|0.1|1.2|t|check|Domain|abc|k", "check", "abc", "bad service name"},
           Case{"table|0.1|1.2|t|frobnicate|x|abc|k", "frobnicate", "abc",
                "unknown request type frobnicate"},
           Case{"table|0.1|1.2|t|frobnicate|abc", "frobnicate", "abc",
                "unknown request type frobnicate"},
       }) {
    const auto r = parse_smtpd_table_request(c.line);
    EXPECT_EQ(r.op, c.op) << c.line;
    EXPECT_EQ(r.id, c.id) << c.line;
    EXPECT_EQ(r.error, c.error) << c.line;
  }
}

TEST(SmtpdTableRequest, LinesWithoutAnIdCannotBeAnswered) {
  for (const char* line :
       {"", "garbage", "table", "table|0.1|1.2|t|check", "table|0.1|1.2|t|CHECK|domain|abc|k",
        "config|ready", "table|0.1|1.2|t|check|domain||k", "table|0.1|1.2|t|update|",
        "table|0.1|1.2|t|check|domain|a b|k", "table|0.1|1.2|t|check|domain|a\rb|k"}) {
    const auto r = parse_smtpd_table_request(line);
    EXPECT_EQ(r.id, "") << line;
    EXPECT_NE(r.error, "") << line;
  }
  const auto r = parse_smtpd_table_request("table|0.1|1.2|t|check|domain|" +
                                           std::string(kSmtpdTableMaxId + 1, 'a') + "|k");
  EXPECT_EQ(r.id, "");
}

TEST(SmtpdTableRequest, TruncatedLinesAreErrorsAnsweredOnlyWhenTheIdIsWhole) {
  auto r = parse_smtpd_table_request("table|0.1|1.2|t|check|domain|0649c485|aaaa", true);
  EXPECT_EQ(r.id, "0649c485");
  EXPECT_EQ(r.error, "request line too long");
  r = parse_smtpd_table_request("table|0.1|1.2|t|check|domain|0649c4", true);
  EXPECT_EQ(r.id, "");
  r = parse_smtpd_table_request("table|0.1|1.2|t|update|0000", true);
  EXPECT_EQ(r.id, "");
}

// ---------------------------------------------------------------- replies

TEST(SmtpdTableReply, EachOutcomeAsTableProcReadsIt) {
  EXPECT_EQ(encode_smtpd_table_reply("check", "0649c485", {Outcome::Found, kUrl}),
            "check-result|0649c485|found\n");
  EXPECT_EQ(encode_smtpd_table_reply("check", "8ff1b8be", {Outcome::NotFound, ""}),
            "check-result|8ff1b8be|not-found\n");
  EXPECT_EQ(encode_smtpd_table_reply("check", "6fa40c68", {Outcome::Temp, "backend unavailable"}),
            "check-result|6fa40c68|error|backend unavailable\n");
  EXPECT_EQ(encode_smtpd_table_reply("lookup", "b2a61d06", {Outcome::Found, kUrl}),
            "lookup-result|b2a61d06|found|" + kUrl + "\n");
  EXPECT_EQ(encode_smtpd_table_reply("lookup", "1", {Outcome::Perm, "bad onion"}),
            "lookup-result|1|error|bad onion\n");
  EXPECT_EQ(encode_smtpd_table_reply("fetch", "2", {Outcome::NotFound, ""}),
            "fetch-result|2|not-found\n");
  EXPECT_EQ(encode_smtpd_table_update("3", std::nullopt), "update-result|3|ok\n");
  EXPECT_EQ(encode_smtpd_table_update("3", "map: bad signature"),
            "update-result|3|error|map: bad signature\n");
}

TEST(SmtpdTableReply, NeverAnEmptyOrMultiLineValueOrReason) {
  EXPECT_EQ(encode_smtpd_table_reply("lookup", "1", {Outcome::Found, ""}),
            "lookup-result|1|error|internal error: invalid reply value (empty value)\n");
  const std::string bad = encode_smtpd_table_reply("lookup", "1", {Outcome::Found, "a\nb"});
  EXPECT_TRUE(bad.starts_with("lookup-result|1|error|internal error")) << bad;
  EXPECT_EQ(encode_smtpd_table_reply("check", "1", {Outcome::Temp, ""}),
            "check-result|1|error|unspecified\n");
  EXPECT_EQ(encode_smtpd_table_reply("check", "1", {Outcome::Temp, "a|b\nc"}),
            "check-result|1|error|a/b c\n");
  EXPECT_EQ(encode_smtpd_table_update("1", "x|y"), "update-result|1|error|x/y\n");
}

TEST(SmtpdTableReply, RegisterLinesAndRequestsRoundTrip) {
  EXPECT_EQ(encode_smtpd_table_register("domain"), "register|domain\n");
  EXPECT_EQ(encode_smtpd_table_register("ready"), "register|ready\n");
  const std::string line =
      encode_smtpd_table_request("onionpy", "lookup", "relayhost", "b2a61d06", "a|b");
  EXPECT_EQ(line, "table|0.1|0.000000|onionpy|lookup|relayhost|b2a61d06|a|b\n");
  EXPECT_EQ(parse_smtpd_table_request(std::string_view(line).substr(0, line.size() - 1)),
            (SmtpdTableRequest{"lookup", "onionpy", "relayhost", "b2a61d06", "a|b", ""}));
  EXPECT_EQ(encode_smtpd_table_request("t", "update", "", "9", std::nullopt),
            "table|0.1|0.000000|t|update|9\n");
}

}  // namespace
