// test_answer_format.cpp - the exact bytes each consumer is told
// (proto/answer_format.hpp; docs/onionmx-lookup.md "Output formats";
// Postfix socketmap_table(5) reply statuses, transport(5) answer forms;
// docs/status-model.md "MTA answers").
//
// Postfix socketmap payloads, OpenSMTPD table values and the JSON line of
// onionmx-lookup are fixed interfaces: every expectation below is a whole
// string, so any change to a byte of them fails a test.
#include <gtest/gtest.h>

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.hpp"
#include "proto/answer_format.hpp"
#include "record/route.hpp"
#include "source/cache_source.hpp"
#include "source/dns_source.hpp"
#include "source/local_domains.hpp"
#include "source/onion_recipients.hpp"

namespace {

using onionmx::base::Status;
using onionmx::proto::AnswerStyle;
using onionmx::proto::format_json;
using onionmx::proto::format_opensmtpd;
using onionmx::proto::format_postfix;
using onionmx::proto::format_text;
using onionmx::proto::postfix_nexthop;
using onionmx::proto::safe_reason;
using onionmx::record::Answer;
using onionmx::record::Route;

// V1, V2, V3 of docs/test-vectors.md §1.4.
const std::string kA1 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion";
const std::string kA2 = "efjprum3peosirjsilqv6lvlns3476t3njpngaexsyhangeb3mjo7sad.onion";
const std::string kA3 = "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid.onion";

Route route(const std::string& onion, std::uint16_t port, std::uint16_t priority,
            std::uint16_t weight) {
  Route r;
  r.onion = onion;
  r.port = port;
  r.priority = priority;
  r.weight = weight;
  return r;
}

Answer found(std::vector<Route> routes) {
  Answer a;
  a.status = onionmx::base::Status::Ok;
  a.key = "User@Mail1.Example.org";
  a.domain = "mail1.example.org";
  a.routes = std::move(routes);
  a.source = onionmx::source::DnsSource::kName;
  a.ttl = 600;
  a.reason = "SRV _onion-mx._tcp.mail1.example.org";
  return a;
}

Answer failed(onionmx::base::Status s, std::string reason) {
  Answer a;
  a.status = s;
  a.key = "user@example.net";
  a.domain = "example.net";
  a.source = onionmx::source::DnsSource::kName;
  a.reason = std::move(reason);
  return a;
}

AnswerStyle multi_style() {
  AnswerStyle s;
  s.multi_nexthop = true;
  return s;
}

// Two routes at priority 10, one at 20 (best first, as the DNS source
// orders them).
std::vector<Route> three_routes() {
  return {route(kA1, 25, 10, 60), route(kA2, 2525, 10, 20), route(kA3, 587, 20, 0)};
}

// ------------------------------------------------------------ defaults

TEST(AnswerStyle, DefaultsAreTheDocumentedOnes) {
  const AnswerStyle s;
  EXPECT_EQ(s.transport, "smtptor");
  EXPECT_FALSE(s.multi_nexthop);
  EXPECT_EQ(s.opensmtpd_scheme, "smtp+notls");
}

// ------------------------------------------------------------- postfix

TEST(FormatPostfix, FoundSingleRoute) {
  EXPECT_EQ(format_postfix(found({route(kA1, 25, 0, 5)}), AnswerStyle{}),
            "OK smtptor:[" + kA1 + "]:25");
}

TEST(FormatPostfix, FoundKeepsTheRoutePortAndTheConfiguredTransport) {
  AnswerStyle s;
  s.transport = "tor-relay";
  EXPECT_EQ(format_postfix(found({route(kA2, 2525, 0, 0)}), s), "OK tor-relay:[" + kA2 + "]:2525");
}

TEST(FormatPostfix, SubdomainOnionIsKeptWhole) {
  const std::string onion = "smtp." + kA3;
  EXPECT_EQ(format_postfix(found({route(onion, 25, 0, 0)}), AnswerStyle{}),
            "OK smtptor:[" + onion + "]:25");
}

TEST(FormatPostfix, WithoutMultiNexthopOnlyTheBestRouteIsGiven) {
  EXPECT_EQ(format_postfix(found(three_routes()), AnswerStyle{}), "OK smtptor:[" + kA1 + "]:25");
}

TEST(FormatPostfix, MultiNexthopListsEveryRouteOfTheBestPriorityOnly) {
  EXPECT_EQ(format_postfix(found(three_routes()), multi_style()),
            "OK smtptor:[" + kA1 + "]:25, [" + kA2 + "]:2525");
}

TEST(FormatPostfix, MultiNexthopWithOneRouteHasNoSeparator) {
  EXPECT_EQ(format_postfix(found({route(kA1, 25, 10, 0), route(kA2, 25, 20, 0)}), multi_style()),
            "OK smtptor:[" + kA1 + "]:25");
}

TEST(FormatPostfix, MultiNexthopWithThreeEqualPriorities) {
  EXPECT_EQ(
      format_postfix(found({route(kA3, 25, 0, 0), route(kA1, 26, 0, 5), route(kA2, 27, 0, 9)}),
                     multi_style()),
      "OK smtptor:[" + kA3 + "]:25, [" + kA1 + "]:26, [" + kA2 + "]:27");
}

TEST(FormatPostfix, NotFoundHasTheTrailingSpace) {
  Answer a;
  a.status = onionmx::base::Status::NotFound;
  a.reason = "NXDOMAIN: _onion-mx._tcp.example.net does not exist";
  EXPECT_EQ(format_postfix(a, AnswerStyle{}), "NOTFOUND ");
}

TEST(FormatPostfix, NotFoundIgnoresStrayRoutes) {
  Answer a = found({route(kA1, 25, 0, 0)});
  a.status = onionmx::base::Status::NotFound;
  EXPECT_EQ(format_postfix(a, AnswerStyle{}), "NOTFOUND ");
}

TEST(FormatPostfix, TemporaryStatusesAnswerTempWithTheReason) {
  for (onionmx::base::Status s : {onionmx::base::Status::Temp, onionmx::base::Status::Io,
                                  onionmx::base::Status::NoMem, onionmx::base::Status::Internal}) {
    EXPECT_EQ(format_postfix(failed(s, "DNS timeout: no answer"), AnswerStyle{}),
              "TEMP DNS timeout: no answer")
        << static_cast<int>(s);
  }
}

TEST(FormatPostfix, PermanentStatusesAnswerPermWithTheReason) {
  for (onionmx::base::Status s : {onionmx::base::Status::Inval, onionmx::base::Status::BadData,
                                  onionmx::base::Status::BadSig}) {
    EXPECT_EQ(
        format_postfix(failed(s, "invalid onion address: checksum does not match"), AnswerStyle{}),
        "PERM invalid onion address: checksum does not match")
        << static_cast<int>(s);
  }
}

TEST(FormatPostfix, EmptyReasonIsStillOneWord) {
  EXPECT_EQ(format_postfix(failed(onionmx::base::Status::Temp, ""), AnswerStyle{}),
            "TEMP unspecified");
}

TEST(FormatPostfix, ControlCharactersInTheReasonBecomeSpaces) {
  const std::string reason("a\rb\nc", 5);
  EXPECT_EQ(format_postfix(failed(onionmx::base::Status::Temp, reason), AnswerStyle{}),
            "TEMP a b c");
  const std::string with_nul("x\0y\tz\x7f!", 7);
  EXPECT_EQ(format_postfix(failed(onionmx::base::Status::BadData, with_nul), AnswerStyle{}),
            "PERM x y z !");
}

TEST(FormatPostfix, ReasonIsCutTo200Bytes) {
  const std::string r200(200, 'r');
  EXPECT_EQ(format_postfix(failed(onionmx::base::Status::Temp, r200), AnswerStyle{}),
            "TEMP " + r200);
  EXPECT_EQ(format_postfix(failed(onionmx::base::Status::Temp, r200 + "X"), AnswerStyle{}),
            "TEMP " + r200);
  EXPECT_EQ(
      format_postfix(failed(onionmx::base::Status::Temp, std::string(5000, 'r')), AnswerStyle{}),
      "TEMP " + r200);
}

TEST(FormatPostfix, NexthopIsEmptyUnlessFound) {
  EXPECT_EQ(postfix_nexthop(found({route(kA1, 25, 0, 0)}), AnswerStyle{}),
            "smtptor:[" + kA1 + "]:25");
  Answer a = found({route(kA1, 25, 0, 0)});
  a.status = onionmx::base::Status::Temp;
  EXPECT_EQ(postfix_nexthop(a, AnswerStyle{}), "");
}

// --------------------------------------------------------- safe_reason

TEST(SafeReason, KeepsPrintableTextAndUtf8Bytes) {
  EXPECT_EQ(safe_reason("SERVFAIL (server failure) | 100%"), "SERVFAIL (server failure) | 100%");
  EXPECT_EQ(safe_reason("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(SafeReason, NeverContainsCrLfOrNul) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  const std::string out = safe_reason(all);
  EXPECT_EQ(out.size(), 200u);
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_EQ(out.find('\n'), std::string::npos);
  EXPECT_EQ(out.find('\0'), std::string::npos);
  EXPECT_EQ(out.substr(0, 32), std::string(32, ' '));
}

// ----------------------------------------------------------- opensmtpd

TEST(FormatOpensmtpd, FoundIsARelayUrlOfTheFirstRoute) {
  EXPECT_EQ(format_opensmtpd(found(three_routes()), AnswerStyle{}), "smtp+notls://" + kA1 + ":25");
  EXPECT_EQ(format_opensmtpd(found(three_routes()), multi_style()), "smtp+notls://" + kA1 + ":25")
      << "multi_nexthop is a Postfix feature";
}

TEST(FormatOpensmtpd, FoundUsesTheConfiguredSchemeAndThePort) {
  AnswerStyle s;
  s.opensmtpd_scheme = "lmtp";
  EXPECT_EQ(format_opensmtpd(found({route(kA2, 2525, 0, 0)}), s), "lmtp://" + kA2 + ":2525");
}

TEST(FormatOpensmtpd, NotFound) {
  Answer a;
  a.status = onionmx::base::Status::NotFound;
  EXPECT_EQ(format_opensmtpd(a, AnswerStyle{}), "not-found");
}

TEST(FormatOpensmtpd, ErrorsAreErrorWithPipesReplaced) {
  EXPECT_EQ(
      format_opensmtpd(failed(onionmx::base::Status::Temp, "SERVFAIL|retry|later"), AnswerStyle{}),
      "error|SERVFAIL/retry/later");
  EXPECT_EQ(format_opensmtpd(failed(onionmx::base::Status::BadData, "bad|onion"), AnswerStyle{}),
            "error|bad/onion");
  EXPECT_EQ(format_opensmtpd(failed(onionmx::base::Status::Internal, ""), AnswerStyle{}),
            "error|unspecified");
}

TEST(FormatOpensmtpd, ErrorReasonIsSanitizedAndCut) {
  EXPECT_EQ(format_opensmtpd(failed(onionmx::base::Status::Temp, std::string("a\nb\0c", 5)),
                             AnswerStyle{}),
            "error|a b c");
  EXPECT_EQ(
      format_opensmtpd(failed(onionmx::base::Status::Temp, std::string(300, '|')), AnswerStyle{}),
      "error|" + std::string(200, '/'));
}

// ---------------------------------------------------------------- JSON

TEST(FormatJson, FoundMatchesTheDocumentedExampleByteForByte) {
  Answer a = found({route(kA1, 25, 0, 5)});
  EXPECT_EQ(format_json(a),
            R"({"key":"User@Mail1.Example.org","domain":"mail1.example.org","status":"found",)"
            R"("routes":[{"onion":")" +
                kA1 +
                R"(","port":25,"priority":0,"weight":5}],)"
                R"("source":"dns","reason":"SRV _onion-mx._tcp.mail1.example.org",)"
                R"("ttl":600,"authenticated":false,"stale":false,"age":0})");
}

TEST(FormatJson, MembersAndOrderForEveryStatus) {
  const std::vector<std::string> want = {"key",    "domain", "status",        "routes", "source",
                                         "reason", "ttl",    "authenticated", "stale",  "age"};
  struct Case {
    onionmx::base::Status status;
    const char* word;
  };
  for (Case c :
       {Case{onionmx::base::Status::Ok, "found"}, Case{onionmx::base::Status::NotFound, "notfound"},
        Case{onionmx::base::Status::Temp, "temp"}, Case{onionmx::base::Status::BadData, "perm"},
        Case{onionmx::base::Status::Internal, "temp"},
        Case{onionmx::base::Status::BadSig, "perm"}}) {
    Answer a = c.status == onionmx::base::Status::Ok ? found({route(kA1, 25, 0, 0)})
                                                     : failed(c.status, "why");
    const auto j = nlohmann::ordered_json::parse(format_json(a));
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
    EXPECT_EQ(keys, want) << c.word;
    EXPECT_EQ(j["status"], c.word);
  }
}

TEST(FormatJson, RouteMembersInOrderBestFirst) {
  Answer a = found(three_routes());
  a.authenticated = true;
  const auto j = nlohmann::ordered_json::parse(format_json(a));
  ASSERT_EQ(j["routes"].size(), 3u);
  std::vector<std::string> keys;
  for (auto it = j["routes"][0].begin(); it != j["routes"][0].end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"onion", "port", "priority", "weight"}));
  EXPECT_EQ(j["routes"][1]["onion"], kA2);
  EXPECT_EQ(j["routes"][1]["port"], 2525);
  EXPECT_EQ(j["routes"][1]["priority"], 10);
  EXPECT_EQ(j["routes"][1]["weight"], 20);
  EXPECT_EQ(j["routes"][2]["onion"], kA3);
  EXPECT_EQ(j["authenticated"], true);
  EXPECT_TRUE(j["authenticated"].is_boolean());
  EXPECT_TRUE(j["ttl"].is_number_unsigned());
}

TEST(FormatJson, StaleCacheAnswerSaysSoAndItsAge) {
  Answer a = found({route(kA1, 25, 0, 5)});
  a.source = onionmx::source::CacheSource::kName;
  a.stale = true;
  a.age = 4000;
  a.ttl = 30;
  const auto j = nlohmann::json::parse(format_json(a));
  EXPECT_EQ(j["source"], "cache");
  EXPECT_EQ(j["stale"], true);
  EXPECT_EQ(j["age"], 4000);
  const std::string text = format_text(a, AnswerStyle{});
  EXPECT_NE(text.find("source cache"), std::string::npos) << text;
  EXPECT_NE(text.find("age 4000"), std::string::npos) << text;
  EXPECT_NE(text.find("STALE"), std::string::npos) << text;
}

TEST(FormatJson, TempHasEmptyRoutesAndTheFullReason) {
  const std::string reason = "DNS timeout: " + std::string(300, 'x');
  Answer a = failed(onionmx::base::Status::Temp, reason);
  EXPECT_EQ(format_json(a), R"({"key":"user@example.net","domain":"example.net","status":"temp",)"
                            R"("routes":[],"source":"dns","reason":")" +
                                reason +
                                R"(","ttl":0,"authenticated":false,"stale":false,"age":0})");
}

TEST(FormatJson, SourceWords) {
  struct Case {
    std::string_view source;
    const char* word;
  };
  // The words are a fixed interface (docs/onionmx-lookup.md); each is
  // spelled once, where its source is defined.
  for (Case c : {Case{onionmx::record::kOriginNone, "none"},
                 Case{onionmx::source::LocalDomainSource::kName, "local"},
                 Case{onionmx::source::OnionAddressSource::kName, "onion-address"},
                 Case{onionmx::source::DnsSource::kName, "dns"},
                 Case{onionmx::source::CacheSource::kName, "cache"},
                 Case{onionmx::record::kOriginPolicy, "policy"}}) {
    Answer a;
    a.status = onionmx::base::Status::NotFound;
    a.source = c.source;
    EXPECT_EQ(nlohmann::json::parse(format_json(a))["source"], c.word);
  }
}

TEST(FormatJson, ExplainOnlyWhenNonEmptyAndLast) {
  Answer a = failed(onionmx::base::Status::NotFound, "no onion route for example.net");
  EXPECT_EQ(format_json(a).find("explain"), std::string::npos);
  a.explain = {"key: domain example.net", "local: example.net is not a local domain"};
  const std::string out = format_json(a);
  const std::string tail = R"("authenticated":false,"stale":false,"age":0,)"
                           R"("explain":["key: domain example.net",)"
                           R"("local: example.net is not a local domain"]})";
  ASSERT_GE(out.size(), tail.size());
  EXPECT_EQ(out.substr(out.size() - tail.size()), tail);
}

TEST(FormatJson, IsOneLineWhateverTheStrings) {
  Answer a = failed(onionmx::base::Status::Temp, "line one\r\nline two");
  a.key = "a\nb@example.net";
  a.explain = {"x\ny"};
  const std::string out = format_json(a);
  EXPECT_EQ(out.find('\n'), std::string::npos) << out;
  EXPECT_EQ(out.find('\r'), std::string::npos) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["key"], "a\nb@example.net");
  EXPECT_EQ(j["reason"], "line one\r\nline two") << "JSON keeps the full reason, escaped";
}

TEST(FormatJson, NonUtf8KeyDoesNotThrowAndIsReplaced) {
  Answer a;
  a.status = onionmx::base::Status::NotFound;
  a.key =
      "us\xff\xfe"
      "er@exa\xc3mple.org";  // invalid bytes, and a cut sequence
  a.reason = "bad \xe2\x82 reason";
  std::string out;
  ASSERT_NO_THROW(out = format_json(a));
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(out)) << out;
  const std::string key = j["key"];
  EXPECT_NE(key.find("\xef\xbf\xbd"), std::string::npos) << "U+FFFD replaces bad bytes";
  EXPECT_EQ(key.substr(0, 2), "us");
  EXPECT_NE(key.find("er@exa"), std::string::npos);
  EXPECT_EQ(j["status"], "notfound");
}

TEST(FormatJson, ValidUtf8AndEscapesRoundTrip) {
  const std::vector<std::string> keys = {
      "plain@example.org",
      "quote\"back\\slash@example.org",
      "caf\xc3\xa9@b\xc3\xbc"
      "cher.example",
      "\xe2\x82\xac euro, \xf0\x9f\x93\xa7 mail@example.org",  // 3- and 4-byte sequences
      "\xef\xbf\xbf\xf4\x8f\xbf\xbf",                          // U+FFFF, U+10FFFF
      std::string("tab\tcr\rlf\nnul\0bel\x07"
                  "del\x7f",
                  22),
      "/slash/ and <html> & 'single'",
  };
  for (const auto& key : keys) {
    Answer a;
    a.status = onionmx::base::Status::NotFound;
    a.key = key;
    const std::string out = format_json(a);
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(out)) << out;
    EXPECT_EQ(j["key"].get<std::string>(), key) << out;
    for (unsigned char c : out) EXPECT_GE(c, 0x20) << out;
  }
}

TEST(FormatJson, IllFormedUtf8BecomesReplacementCharacters) {
  struct Case {
    std::string in;
    std::string want;  // decoded key
  };
  const std::string R = "\xef\xbf\xbd";
  for (const Case& c : {
           Case{"a\xff"
                "b",
                "a" + R + "b"},
           Case{"\xc0\x80", R + R},                  // overlong NUL
           Case{"\xc1\xbf", R + R},                  // overlong
           Case{"\xe0\x80\x80", R + R + R},          // overlong 3-byte
           Case{"\xed\xa0\x80", R + R + R},          // surrogate U+D800
           Case{"\xf4\x90\x80\x80", R + R + R + R},  // above U+10FFFF
           Case{"\xf5\x80\x80\x80", R + R + R + R},
           Case{"x\xe2\x82", "x" + R + R},  // cut at the end
           Case{"\xe2\x82x", R + R + "x"},  // cut in the middle
           Case{"\x80\xbf", R + R},         // lone continuation bytes
       }) {
    Answer a;
    a.status = onionmx::base::Status::NotFound;
    a.key = c.in;
    const std::string out = format_json(a);
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(out)) << out;
    EXPECT_EQ(j["key"].get<std::string>(), c.want) << ::testing::PrintToString(c.in);
  }
}

TEST(FormatJson, AnyBytesGiveParsableJson) {
  // Deterministic pseudo-random keys, reasons and explain lines.
  std::uint32_t x = 2463534242u;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
  };
  for (int round = 0; round < 3000; ++round) {
    Answer a = found({route(kA1, 25, 0, 0)});
    std::string bytes(next() % 40, '\0');
    for (char& c : bytes) c = static_cast<char>(next() & 0xff);
    a.key = bytes;
    a.reason = bytes.substr(bytes.size() / 2);
    a.explain = {bytes.substr(0, bytes.size() / 3)};
    const std::string out = format_json(a);
    ASSERT_TRUE(nlohmann::json::accept(out)) << ::testing::PrintToString(bytes) << " -> " << out;
  }
}

// ---------------------------------------------------------------- text

TEST(FormatText, Found) {
  EXPECT_EQ(format_text(found({route(kA1, 25, 0, 5)}), AnswerStyle{}),
            "User@Mail1.Example.org: found smtptor:[" + kA1 +
                "]:25 (source dns, ttl 600): SRV _onion-mx._tcp.mail1.example.org");
}

TEST(FormatText, FoundAuthenticated) {
  Answer a = found({route(kA1, 25, 0, 5)});
  a.authenticated = true;
  EXPECT_EQ(format_text(a, AnswerStyle{}), "User@Mail1.Example.org: found smtptor:[" + kA1 +
                                               "]:25 (source dns, ttl 600, DNSSEC authenticated): "
                                               "SRV _onion-mx._tcp.mail1.example.org");
}

TEST(FormatText, NotFoundHasTtlTempHasNone) {
  Answer nf = failed(onionmx::base::Status::NotFound, "NXDOMAIN");
  nf.ttl = 60;
  EXPECT_EQ(format_text(nf, AnswerStyle{}),
            "user@example.net: notfound (source dns, ttl 60): NXDOMAIN");
  Answer t = failed(onionmx::base::Status::Temp, "SERVFAIL\n(server failure)");
  t.ttl = 60;
  EXPECT_EQ(format_text(t, AnswerStyle{}),
            "user@example.net: temp (source dns): SERVFAIL (server failure)");
  EXPECT_EQ(format_text(failed(onionmx::base::Status::BadData, "bad"), AnswerStyle{}),
            "user@example.net: perm (source dns): bad");
}

// A key is raw MTA/command-line input ("a\nb@example.org" is routed as
// example.org): the text answer must still be one line.
TEST(FormatText, KeyWithLineBreaksStaysOneLine) {
  Answer a = failed(onionmx::base::Status::NotFound, "no onion route for example.org");
  a.key = std::string("a\nb\r@example.org\0", 17);
  const std::string out = format_text(a, AnswerStyle{});
  EXPECT_EQ(out.find('\n'), std::string::npos) << out;
  EXPECT_EQ(out.find('\r'), std::string::npos) << out;
  EXPECT_EQ(out.find('\0'), std::string::npos) << out;
}

}  // namespace
