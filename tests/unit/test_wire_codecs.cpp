// test_wire_codecs.cpp - the onionmxd wire codecs (proto/netstring,
// proto/socketmap, proto/tcp_table, proto/reply; docs/wire-protocols.md).
//
// Request bytes are the ones Postfix 3.7 sent (docs/wire-protocols.md);
// reply expectations are whole strings, so any change to a byte fails.
#include <gtest/gtest.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.hpp"
#include "common/chunked_decode.hpp"
#include "proto/netstring.hpp"
#include "proto/reply.hpp"
#include "proto/socketmap.hpp"
#include "proto/tcp_table.hpp"
#include "record/route.hpp"

namespace {

using onionmx::base::Outcome;
using onionmx::base::Status;
using namespace onionmx::proto;
using namespace std::string_literals;

const std::string kOnion = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion";

using Decoded = onionmx::test::Decoded<SocketmapRequest>;

Decoded socketmap_split(std::string_view stream, const std::vector<std::size_t>& cuts,
                        std::size_t max = kDefaultMaxRequest) {
  return onionmx::test::decode_at_cuts<SocketmapRequest>(SocketmapDecoder(max), stream, cuts);
}

Decoded socketmap_whole(std::string_view stream, std::size_t max = kDefaultMaxRequest) {
  return socketmap_split(stream, {}, max);
}

SocketmapRequest req(std::string name, std::string key) {
  return {std::move(name), std::move(key)};
}

// ------------------------------------------------------------------ netstring

TEST(Netstring, EncodesLengthColonPayloadComma) {
  EXPECT_EQ(netstring_encode(""), "0:,");
  EXPECT_EQ(netstring_encode("hello world!"), "12:hello world!,");
  EXPECT_EQ(netstring_encode(std::string("a\0b", 3)), std::string("3:a\0b,", 6));
}

TEST(Netstring, DecodesEmptyAndBinaryPayloads) {
  NetstringDecoder d;
  std::vector<std::string> out;
  EXPECT_FALSE(d.feed(std::string("0:,3:a\0b,", 9), out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], "");
  EXPECT_EQ(out[1], std::string("a\0b", 3));
  EXPECT_TRUE(d.at_boundary());
}

TEST(Netstring, AtBoundaryOnlyBetweenFrames) {
  NetstringDecoder d;
  std::vector<std::string> out;
  EXPECT_TRUE(d.at_boundary());
  for (const char c : std::string_view("3:abc,")) {
    EXPECT_FALSE(d.feed(std::string_view(&c, 1), out));
    EXPECT_EQ(d.at_boundary(), c == ',');
  }
}

TEST(Netstring, RejectsLeadingZerosButNotZero) {
  NetstringDecoder d;
  std::vector<std::string> out;
  auto e = d.feed("03:abc,", out);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, WireError::Malformed);
  EXPECT_NE(e->reason.find("leading zero"), std::string::npos) << e->reason;
  NetstringDecoder z;
  EXPECT_TRUE(z.feed("00:,", out));
}

TEST(Netstring, OversizedLengthFailsBeforeAnyPayloadByte) {
  NetstringDecoder d(100);
  std::vector<std::string> out;
  EXPECT_FALSE(d.feed("100:", out));  // exactly the limit is fine
  NetstringDecoder big(100);
  auto e = big.feed("101", out);  // no ':' and no payload yet
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, WireError::TooLarge);
  EXPECT_TRUE(big.failed());
}

TEST(Netstring, HugeLengthsNeitherOverflowNorWrap) {
  NetstringDecoder d(static_cast<std::size_t>(-1));  // no limit: only overflow protects
  std::vector<std::string> out;
  auto e = d.feed("18446744073709551616:", out);  // 2^64 wraps to 0 if unchecked
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, WireError::TooLarge);
}

TEST(Netstring, StaysFailedAfterAnError) {
  NetstringDecoder d;
  std::vector<std::string> out;
  ASSERT_TRUE(d.feed("x", out));
  EXPECT_TRUE(d.feed("3:abc,", out));
  EXPECT_TRUE(d.feed("", out));
  EXPECT_TRUE(out.empty());
}

// ------------------------------------------------------------------ socketmap requests

TEST(SocketmapDecoder, DecodesTheBytesPostfixSent) {
  const auto r = socketmap_whole(
      "22:onionmx ok.example.org,9:onionmx *,36:onionmx Other+ext@Ok.Sub.Example.ORG,"
      "32:onionmx \"foo bar\"@ok.example.org,26:onionmx \xc3\x9c@b\xc3\xbc"
      "cher.example,");
  ASSERT_FALSE(r.error) << r.error->reason;
  EXPECT_EQ(r.requests,
            (std::vector<SocketmapRequest>{req("onionmx", "ok.example.org"), req("onionmx", "*"),
                                           req("onionmx", "Other+ext@Ok.Sub.Example.ORG"),
                                           req("onionmx", "\"foo bar\"@ok.example.org"),
                                           req("onionmx",
                                               "\xc3\x9c@b\xc3\xbc"
                                               "cher.example")}));
}

TEST(SocketmapDecoder, EverySplitOfAPipelinedStreamGivesTheSameRequests) {
  const std::string stream = encode_socketmap_request("onionmx", "User+ext@Mail.Example.ORG") +
                             encode_socketmap_request("opensmtpd", "\"a b\"@x.example") +
                             encode_socketmap_request("onionmx", "*") +
                             encode_socketmap_request("n", "");
  const auto whole = socketmap_whole(stream);
  ASSERT_FALSE(whole.error);
  ASSERT_EQ(whole.requests.size(), 4u);
  EXPECT_EQ(whole.requests[3], req("n", ""));
  // Every single cut, and every pair of cuts.
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    EXPECT_EQ(socketmap_split(stream, {i}).requests, whole.requests) << "cut at " << i;
    for (std::size_t j = i; j <= stream.size(); ++j) {
      const auto r = socketmap_split(stream, {i, j});
      ASSERT_FALSE(r.error) << i << "," << j;
      ASSERT_EQ(r.requests, whole.requests) << "cuts at " << i << "," << j;
    }
  }
  // One byte at a time.
  std::vector<std::size_t> all;
  for (std::size_t i = 1; i < stream.size(); ++i) all.push_back(i);
  EXPECT_EQ(socketmap_split(stream, all).requests, whole.requests);
}

TEST(SocketmapDecoder, SplitsAtTheFirstSpaceOnly) {
  const auto r = socketmap_whole("17:onionmx a b  c@d ,");
  ASSERT_FALSE(r.error);
  ASSERT_EQ(r.requests.size(), 1u);
  EXPECT_EQ(r.requests[0], req("onionmx", "a b  c@d "));
}

TEST(SocketmapDecoder, EmptyKeyIsARequestEmptyNameOrNoSpaceIsNot) {
  EXPECT_EQ(socketmap_whole("8:onionmx ,").requests, std::vector{req("onionmx", "")});
  for (const std::string_view bad : {"3: ab,", "7:onionmx,", "0:,", "1: ,"}) {
    const auto r = socketmap_whole(bad);
    ASSERT_TRUE(r.error) << bad;
    EXPECT_EQ(r.error->kind, WireError::Malformed) << bad;
    EXPECT_TRUE(r.requests.empty()) << bad;
  }
}

// The key classifier answers NOTFOUND for a NUL key (address/mail_key.hpp);
// the codec passes the bytes on with their length.
TEST(SocketmapDecoder, PassesNulBytesOn) {
  EXPECT_EQ(socketmap_whole("5:a b\0c,"s).requests, std::vector{req("a", "b\0c"s)});
  EXPECT_EQ(socketmap_whole("5:a\0 bc,"s).requests, std::vector{req("a\0"s, "bc")});
}

TEST(SocketmapDecoder, GarbageAndFramingErrorsAreMalformed) {
  for (const std::string_view bad : {
           " 4:a bc,",     // byte before the length
           "4:a bc,\r\n",  // CRLF between netstrings
           "-1:,",         // negative length
           "+4:a bc,",     // sign
           ":a b,",        // no digits
           "4:a bc;",      // bad terminator
           "2:a bc,",      // length shorter than the payload: ',' expected, 'b' found
           "4x:a bc,",     // non-digit in the length
           "04:a bc,",     // leading zero
           "GET / HTTP/1.1\r\n",
       }) {
    const auto r = socketmap_whole(bad);
    ASSERT_TRUE(r.error) << bad;
    EXPECT_EQ(r.error->kind, WireError::Malformed) << bad;
  }
}

TEST(SocketmapDecoder, RequestsBeforeAnErrorAreKeptAndNothingAfter) {
  const auto r = socketmap_whole("5:a b@c,x5:a d@e,");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.requests, std::vector{req("a", "b@c")});
  // A bad payload stops the stream too, even when later frames are fine.
  const auto p = socketmap_whole("3:abc,5:a b@c,");
  ASSERT_TRUE(p.error);
  EXPECT_TRUE(p.requests.empty());
  SocketmapDecoder d;
  std::vector<SocketmapRequest> out;
  ASSERT_TRUE(d.feed("3:abc,", out));
  EXPECT_TRUE(d.feed("5:a b@c,", out));
  EXPECT_TRUE(out.empty());
}

TEST(SocketmapDecoder, MaximumRequestSizeIsTheNetstringPayload) {
  const std::string key(100 - 8, 'k');  // "onionmx " + key = 100 bytes
  EXPECT_EQ(socketmap_whole(encode_socketmap_request("onionmx", key), 100).requests.size(), 1u);
  const auto r = socketmap_whole(encode_socketmap_request("onionmx", key + "k"), 100);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->kind, WireError::TooLarge);
  // A huge announced length fails on its digits, whatever follows.
  const auto h = socketmap_whole("99999999999999999999999999999:");
  ASSERT_TRUE(h.error);
  EXPECT_EQ(h.error->kind, WireError::TooLarge);
}

TEST(SocketmapDecoder, TruncatedFrameIsNotABoundary) {
  SocketmapDecoder d;
  std::vector<SocketmapRequest> out;
  EXPECT_FALSE(d.feed("22:onionmx ok.exam", out));
  EXPECT_FALSE(d.at_boundary());
  EXPECT_FALSE(d.feed("ple.org,", out));
  EXPECT_TRUE(d.at_boundary());
  EXPECT_EQ(out.size(), 1u);
}

// ------------------------------------------------------------------ socketmap replies

TEST(SocketmapReply, EachOutcomeAsPostfixReadsIt) {
  const std::string hop = "smtptor:[" + kOnion + "]:25";
  EXPECT_EQ(encode_socketmap_reply({Outcome::Found, hop}), "78:OK " + hop + ",");
  EXPECT_EQ(encode_socketmap_reply({Outcome::NotFound, "not found"}), "9:NOTFOUND ,");
  EXPECT_EQ(encode_socketmap_reply(temp_reply("DNS timeout")), "16:TEMP DNS timeout,");
  EXPECT_EQ(encode_socketmap_reply({Outcome::Perm, "bad onion"}), "14:PERM bad onion,");
}

TEST(SocketmapReply, NeverOkWithAnEmptyOrSplittableValue) {
  for (const std::string& bad :
       {std::string(), std::string("a b"), std::string("a\tb"), std::string("x\r"),
        std::string("a\nb"), std::string("a\0b", 3), std::string("\xc3\xbc"), std::string(" a"),
        std::string("a,  b")}) {
    const std::string p = socketmap_payload({Outcome::Found, bad});
    EXPECT_TRUE(p.starts_with("TEMP internal error: invalid reply value")) << p;
    EXPECT_EQ(p.find_first_of("\r\n", 0), std::string::npos) << p;
  }
  // The multi-nexthop form of transport(5) keeps its ", ".
  EXPECT_EQ(socketmap_payload({Outcome::Found, "t:[a]:25, [b]:25"}), "OK t:[a]:25, [b]:25");
}

TEST(SocketmapReply, ValueSizeLimitIsPostfixs100000Bytes) {
  const std::string fits(kSocketmapMaxReply - 3, 'v');
  EXPECT_EQ(socketmap_payload({Outcome::Found, fits}).size(), kSocketmapMaxReply);
  EXPECT_TRUE(socketmap_payload({Outcome::Found, fits + "v"}).starts_with("TEMP "));
}

TEST(SocketmapReply, ReasonsAreOneLineAndNeverEmpty) {
  EXPECT_EQ(socketmap_payload(temp_reply("a\r\nb")), "TEMP a  b");
  EXPECT_EQ(socketmap_payload(temp_reply("")), "TEMP unspecified");
  EXPECT_EQ(socketmap_payload(temp_reply(std::string(500, 'r'))).size(), 5u + 200u);
}

// ------------------------------------------------------------------ Answer -> Reply

onionmx::record::Answer answer(Status s, std::string reason = "why") {
  onionmx::record::Answer a;
  a.status = s;
  a.reason = std::move(reason);
  if (s == Status::Ok) a.routes.push_back({kOnion, 2525, 0, 0});
  return a;
}

// The client side (onionmx-table --daemon) reads what the server side writes.
TEST(SocketmapReplyParse, ReadsEachOutcomeBack) {
  for (const Reply& r :
       {Reply{Outcome::Found, "smtp+notls://x.onion:2525"}, Reply{Outcome::NotFound, ""},
        Reply{Outcome::Temp, "dns: timeout"}, Reply{Outcome::Perm, "bad onion"}}) {
    Reply back;
    ASSERT_FALSE(parse_socketmap_reply(socketmap_payload(r), back)) << socketmap_payload(r);
    EXPECT_EQ(back.outcome, r.outcome);
    EXPECT_EQ(back.text, r.text);
  }
  Reply r;
  EXPECT_FALSE(parse_socketmap_reply("NOTFOUND", r));  // Postfix accepts it without the space
  EXPECT_EQ(r.outcome, Outcome::NotFound);
}

TEST(SocketmapReplyParse, RefusesWhatAnMtaMustNotGet) {
  for (const std::string_view bad :
       {"", "OK", "OK ", "OK a b", "OK a\tb", "ok x", "MAYBE x", " OK x", "OKx", "NOTFOUNDx"}) {
    Reply r;
    const auto e = parse_socketmap_reply(bad, r);
    ASSERT_TRUE(e) << bad;
    EXPECT_EQ(e->kind, WireError::Malformed);
    EXPECT_FALSE(e->reason.empty());
  }
}

TEST(ReplyOf, FoundNotFoundAndErrorsFollowTheStatusModel) {
  const AnswerStyle style;
  EXPECT_EQ(encode_tcp_table_reply(reply_of(answer(Status::Ok), style)),
            "200 smtptor:[" + kOnion + "]:2525\n");
  EXPECT_EQ(encode_tcp_table_reply(reply_of(answer(Status::NotFound), style)), "500 not%20found\n");
  // Every error defers on both protocols: never NOTFOUND / 500.
  for (const Status s : {Status::Temp, Status::Inval, Status::BadData, Status::BadSig, Status::Io,
                         Status::NoMem, Status::Internal}) {
    const auto r = reply_of(answer(s, "dns down"), style);
    EXPECT_TRUE(r.outcome == Outcome::Temp || r.outcome == Outcome::Perm);
    EXPECT_EQ(encode_tcp_table_reply(r), "400 dns%20down\n");
    const auto sm = socketmap_payload(r);
    EXPECT_TRUE(sm == "TEMP dns down" || sm == "PERM dns down") << sm;
  }
}

TEST(ReplyOf, FoundWithoutRoutesDefers) {
  auto a = answer(Status::Ok);
  a.routes.clear();
  const auto r = reply_of(a, AnswerStyle{});
  EXPECT_EQ(r.outcome, Outcome::Temp);
  EXPECT_EQ(encode_socketmap_reply(r), "29:TEMP internal error: no route,");
  EXPECT_EQ(encode_tcp_table_reply(r), "400 internal%20error:%20no%20route\n");
}

TEST(ReplyOf, SocketmapPayloadIsFormatPostfix) {
  AnswerStyle multi;
  multi.multi_nexthop = true;
  auto a = answer(Status::Ok);
  a.routes.push_back({kOnion, 26, 0, 0});
  for (const auto& x : {a, answer(Status::NotFound), answer(Status::Temp), answer(Status::BadSig)})
    EXPECT_EQ(socketmap_payload(reply_of(x, multi)), format_postfix(x, multi));
  // tcp_table carries the multi-nexthop space %-encoded.
  EXPECT_EQ(encode_tcp_table_reply(reply_of(a, multi)),
            "200 smtptor:[" + kOnion + "]:2525,%20[" + kOnion + "]:26\n");
}

// ------------------------------------------------------------------ tcp_table

onionmx::test::Decoded<TcpTableRequest> tcp_split(std::string_view stream,
                                                  const std::vector<std::size_t>& cuts,
                                                  std::size_t max = kDefaultMaxRequest) {
  return onionmx::test::decode_at_cuts<TcpTableRequest>(TcpTableDecoder(max), stream, cuts);
}

TcpTableRequest key(std::string k) { return {std::move(k), {}}; }

TEST(TcpTableDecoder, DecodesTheLinesPostfixSent) {
  const auto r = tcp_split(
      "get ok.example.org\nget *\nget T1+ext@Ok.Sub.Example.ORG\n"
      "get \"foo%20bar\"@ok.example.org\nget Mixed%20Case%25key@Ex.org\n"
      "get %C3%9C@b%C3%BCcher.example\n",
      {});
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.requests, (std::vector<TcpTableRequest>{
                            key("ok.example.org"), key("*"), key("T1+ext@Ok.Sub.Example.ORG"),
                            key("\"foo bar\"@ok.example.org"), key("Mixed Case%key@Ex.org"),
                            key("\xc3\x9c@b\xc3\xbc"
                                "cher.example")}));
}

TEST(TcpTableDecoder, EverySplitGivesTheSameRequests) {
  const std::string stream = encode_tcp_table_request("User+ext@Mail.Example.ORG") +
                             encode_tcp_table_request("\"a b\"@x.example\r%") +
                             "put k v\nget a%zz\n" + encode_tcp_table_request("*");
  const auto whole = tcp_split(stream, {});
  ASSERT_FALSE(whole.error);
  ASSERT_EQ(whole.requests.size(), 5u);
  for (std::size_t i = 0; i <= stream.size(); ++i)
    for (std::size_t j = i; j <= stream.size(); ++j)
      ASSERT_EQ(tcp_split(stream, {i, j}).requests, whole.requests) << i << "," << j;
}

TEST(TcpTableDecoder, PercentEscapes) {
  EXPECT_EQ(tcp_table_decode("%41%62%2b%2B+"), "Ab+++");  // either case; '+' is not a space
  EXPECT_EQ(tcp_table_decode("%7e%7E%25"), "~~%");
  for (const std::string_view bad : {"%", "%4", "a%", "%zz", "%4g", "%g4", "% 41", "%%41"}) {
    EXPECT_FALSE(tcp_table_decode(bad)) << bad;
  }
  const auto nul = tcp_table_decode("a%00b");
  ASSERT_TRUE(nul);
  EXPECT_EQ(*nul, std::string("a\0b", 3));
  EXPECT_EQ(tcp_table_encode(std::string("a b%\t\r\n\0\x7f\xc3\x9c+~", 13)),
            "a%20b%25%09%0D%0A%00%7F%C3%9C+~");
}

TEST(TcpTableDecoder, BadLinesAreAnsweredNotFatal) {
  const auto r = tcp_split("\nput k v\nGET k\nhelo x\nget\nget a b\nget a%zz\nget ok\n"s, {});
  ASSERT_FALSE(r.error);
  ASSERT_EQ(r.requests.size(), 8u);
  for (std::size_t i = 0; i + 1 < r.requests.size(); ++i)
    EXPECT_FALSE(r.requests[i].error.empty()) << i;
  EXPECT_EQ(r.requests.back(), key("ok"));
  EXPECT_EQ(encode_tcp_table_reply(temp_reply(r.requests[1].error)),
            "400 put%20is%20not%20supported:%20only%20the%20lookup%20request\n");
}

TEST(TcpTableDecoder, CrIsWhitespace) {
  const auto r = tcp_split("get k\r\nget a\rb\n\r\n", {});
  ASSERT_FALSE(r.error);
  ASSERT_EQ(r.requests.size(), 3u);
  EXPECT_EQ(r.requests[0], key("k"));
  EXPECT_NE(r.requests[1].error.find("more than one field"), std::string::npos);
  EXPECT_EQ(r.requests[2].error, "empty request");
}

TEST(TcpTableDecoder, OverlongLineClosesBeforeItsEnd) {
  const std::string line = "get " + std::string(96, 'k');  // 100 bytes without LF
  EXPECT_EQ(tcp_split(line + "\n", {}, 100).requests, std::vector{key(std::string(96, 'k'))});
  TcpTableDecoder d(100);
  std::vector<TcpTableRequest> out;
  EXPECT_FALSE(d.feed(line, out));
  auto e = d.feed("k", out);  // the 101st byte, no LF in sight
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, WireError::TooLarge);
  EXPECT_TRUE(d.feed("\nget x\n", out));
  EXPECT_TRUE(out.empty());
}

TEST(TcpTableDecoder, PartialLineIsNotABoundary) {
  TcpTableDecoder d;
  std::vector<TcpTableRequest> out;
  EXPECT_TRUE(d.at_boundary());
  EXPECT_FALSE(d.feed("get a", out));
  EXPECT_FALSE(d.at_boundary());
  EXPECT_FALSE(d.feed("\n", out));
  EXPECT_TRUE(d.at_boundary());
}

TEST(TcpTableReply, EncodesAndStaysWithin4096Bytes) {
  EXPECT_EQ(encode_tcp_table_reply({Outcome::Found, "smtptor:[x.onion]:25"}),
            "200 smtptor:[x.onion]:25\n");
  EXPECT_EQ(encode_tcp_table_reply({Outcome::Found, "100%"}), "200 100%25\n");
  const std::string fits(kTcpTableMaxReply - 5, 'v');
  EXPECT_EQ(encode_tcp_table_reply({Outcome::Found, fits}).size(), kTcpTableMaxReply);
  EXPECT_EQ(encode_tcp_table_reply({Outcome::Found, fits + "v"}).substr(0, 4), "400 ");
  // 2000 '%' encode to 6000 bytes: too long after encoding.
  EXPECT_EQ(encode_tcp_table_reply({Outcome::Found, std::string(2000, '%')}),
            "400 internal%20error:%20reply%20too%20long\n");
  for (const std::string& bad : {std::string(), std::string("a b"), std::string("a\nb")})
    EXPECT_EQ(encode_tcp_table_reply({Outcome::Found, bad}).substr(0, 4), "400 ") << bad;
  EXPECT_EQ(encode_tcp_table_reply(temp_reply(std::string(5000, '\n'))).size(), 4u + 600u + 1u);
}

TEST(TcpTableReply, RoundTripsThroughTheDecoder) {
  const std::string value = "smtptor:[" + kOnion + "]:25, [" + kOnion + "]:26";
  const std::string line = encode_tcp_table_reply({Outcome::Found, value});
  ASSERT_TRUE(line.starts_with("200 ") && line.ends_with("\n"));
  EXPECT_EQ(tcp_table_decode(line.substr(4, line.size() - 5)), value);
}

}  // namespace
