// test_dns_faults.cpp - the c-ares SRV source against a misbehaving server.
//
// A real CaresClient (behind the DnsSource that draws the RFC 2782 order)
// on a real event::Loop talks to FakeDnsServer on
// 127.0.0.1.  Each test is one scenario: what the server does, and the
// verdict onionmx must reach (RFC 2782, RFC 2308, docs/dns-discovery.md; cares_client.hpp).  The
// rule under test throughout: a DNS failure is a temporary failure, never "not found" (which would
// send the mail over the clearnet).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/test_util.hpp"
#include "crypto/crypto.hpp"
#include "dns/cares_client.hpp"
#include "dns/message.hpp"
#include "engine/engine.hpp"
#include "event/loop.hpp"
#include "fake_dns_server.hpp"
#include "resolver/resolver.hpp"
#include "source/dns_source.hpp"

namespace {

using onionmx::test::contains;
using onionmx::test::status_name;

using namespace std::chrono_literals;
using onionmx::base::LogLevel;
using onionmx::base::Status;
using onionmx::dns::CaresClient;
using CaresSource = onionmx::source::DnsSource;  // the client behind the "dns" source
using onionmx::dns::DnsConfig;
using onionmx::dns::Dnssec;
using onionmx::record::Answer;
using onionmx::testing::DnsQuery;
using onionmx::testing::FakeDnsServer;
using onionmx::testing::Reply;
using onionmx::testing::reply_prefix;
using onionmx::testing::Rr;
using onionmx::testing::Transport;
using onionmx::testing::wire_name;
namespace dns = onionmx::dns;
namespace event = onionmx::event;
namespace record = onionmx::record;
namespace resolver = onionmx::resolver;

// V1, V2, V3 of onion-and-crypto.md §1.4 (A1, A2, A3 of dns.md §2).
const std::string kA1 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion";
const std::string kA2 = "efjprum3peosirjsilqv6lvlns3476t3njpngaexsyhangeb3mjo7sad.onion";
const std::string kA3 = "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid.onion";

std::string srv_name(const std::string& domain) { return "_onion-mx._tcp." + domain; }

// What one lookup's callback received, and how often it ran.
struct Slot {
  int calls = 0;
  bool decided = false;
  Answer answer;
};

// An injectable rnd(n) that replays a script and records every call, so the
// RFC 2782 vectors of dns.md §2 can be checked call by call.
struct ScriptedRng {
  explicit ScriptedRng(std::vector<std::uint32_t> s) : script(std::move(s)) {}
  std::vector<std::uint32_t> script;
  std::size_t next = 0;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> calls;  // (n, returned)

  onionmx::record::UniformRng fn() {
    return [this](std::uint32_t n) {
      std::uint32_t v = next < script.size() ? script[next++] : 0;
      if (v > n) v = n;
      calls.emplace_back(n, v);
      return v;
    };
  }
};

class DnsFaults : public ::testing::Test {
 protected:
  DnsConfig config_for(const FakeDnsServer& server) const {
    DnsConfig c;
    c.servers = {server.address()};
    c.timeout = 1000ms;
    c.tries = 2;
    return c;
  }

  std::unique_ptr<CaresSource> make_source(DnsConfig c) {
    auto s = CaresClient::create(loop_, std::move(c),
                                 [this](onionmx::base::LogLevel level, std::string_view m) {
                                   log_.emplace_back(level, std::string(m));
                                 });
    if (!s) {
      ADD_FAILURE() << "CaresClient::create: " << s.error().detail;
      return nullptr;
    }
    return std::make_unique<CaresSource>(std::move(*s), [](std::uint32_t n) {
      return onionmx::crypto::random_uniform_inclusive(n);
    });
  }

  std::shared_ptr<Slot> start(CaresSource& src, const std::string& domain) {
    auto slot = std::make_shared<Slot>();
    src.lookup({domain, domain, false}, [slot](onionmx::source::Step step) {
      ++slot->calls;
      slot->decided = step.decided;
      slot->answer = std::move(step.answer);
    });
    return slot;
  }

  // Runs the loop until `done` holds; false if `limit` passed first.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 30s) {
    bool expired = false;
    event::Timer watchdog(loop_, [&] { expired = true; });
    watchdog.arm(limit);
    loop_.run_until([&] { return expired || done(); });
    return done();
  }

  // Runs the loop for `d`, whatever happens.
  void run_for(std::chrono::milliseconds d) {
    run_until([] { return false; }, d);
  }

  Answer lookup(CaresSource& src, const std::string& domain) {
    auto slot = start(src, domain);
    EXPECT_TRUE(run_until([&] { return slot->calls > 0; }))
        << "lookup of " << domain << " never completed";
    EXPECT_EQ(slot->calls, 1);
    EXPECT_TRUE(slot->decided) << "the DNS source always decides";
    return slot->answer;
  }

  // Log lines at any level that contain every one of `texts`.
  int logs_containing(std::initializer_list<std::string> texts) const {
    int n = 0;
    for (const auto& entry : log_) {
      bool all = true;
      for (const auto& t : texts) all = all && contains(entry.second, t);
      n += all;
    }
    return n;
  }

  int warnings_containing(const std::string& text) const {
    int n = 0;
    for (const auto& [level, msg] : log_)
      if (level == onionmx::base::LogLevel::Warning && contains(msg, text)) ++n;
    return n;
  }

  event::Loop loop_;
  std::vector<std::pair<onionmx::base::LogLevel, std::string>> log_;
};

#define EXPECT_STATUS(answer, want)  \
  EXPECT_EQ((answer).status, (want)) \
      << "got " << status_name((answer).status) << ": " << (answer).reason

// ----------------------------------------------------------------- found

// dns.md §2 `_onion-mx._tcp.multi`: A1 w60, A2 w20, A3 w0 at priority 10 and
// a non-onion backup at 20, answered in zone order with different TTLs and
// ports.
Reply multi_answer(const DnsQuery& q) {
  return Reply::noerror()
      .answer(Rr::srv(q.qname, 600, 10, 60, 25, kA1))
      .answer(Rr::srv(q.qname, 300, 10, 20, 2525, kA2))
      .answer(Rr::srv(q.qname, 900, 10, 0, 587, kA3))
      .answer(Rr::srv(q.qname, 600, 20, 0, 25, "backup.example.net"));
}

TEST_F(DnsFaults, SrvFoundGivesRoutesInRfc2782OrderWithMinTtlAndPortsKept) {
  FakeDnsServer server([](const DnsQuery& q) {
    if (q.qname == srv_name("multi.example") && q.qtype == dns::kTypeSrv) return multi_answer(q);
    return Reply::with_rcode(dns::kRcodeNxDomain);
  });
  auto src = make_source(config_for(server));
  ASSERT_TRUE(src);

  // Targets are checked when the answer arrives, so the non-onion backup
  // never takes part in the draw: rnd 2,1 keep the three onions' order
  // through the pre-shuffle, then the reference row "37,0,0,0 -> A1, A3,
  // A2, backup" (docs/test-vectors.md) without its last draw (the backup's).
  ScriptedRng rng({2, 1, 37, 0, 0});
  src->set_rng(rng.fn());
  Answer a = lookup(*src, "multi.example");
  EXPECT_STATUS(a, onionmx::base::Status::Ok);
  EXPECT_EQ(a.source, onionmx::source::DnsSource::kName);
  ASSERT_EQ(a.routes.size(), 3u) << "the non-onion backup target is dropped";
  EXPECT_EQ(a.routes[0].onion, kA1);
  EXPECT_EQ(a.routes[0].port, 25);
  EXPECT_EQ(a.routes[0].priority, 10);
  EXPECT_EQ(a.routes[0].weight, 60);
  EXPECT_EQ(a.routes[1].onion, kA3);
  EXPECT_EQ(a.routes[1].port, 587);
  EXPECT_EQ(a.routes[2].onion, kA2);
  EXPECT_EQ(a.routes[2].port, 2525);
  EXPECT_EQ(a.ttl, 300u) << "TTL of the RRset is the smallest RR TTL";
  EXPECT_FALSE(a.authenticated);
  const std::vector<std::pair<std::uint32_t, std::uint32_t>> want_calls = {
      {2, 2}, {1, 1}, {80, 37}, {20, 0}, {20, 0}};
  EXPECT_EQ(rng.calls, want_calls) << "rnd calls (sum, value) of the reference row";
  EXPECT_EQ(logs_containing({"multi.example", "backup.example.net", "dropped"}), 1)
      << "a dropped target is logged once, naming the domain";

  // Row "80,50,0,0 -> A2, A1, A3, backup"; the order is drawn anew per lookup.
  ScriptedRng rng2({2, 1, 80, 50, 0});
  src->set_rng(rng2.fn());
  a = lookup(*src, "multi.example");
  EXPECT_STATUS(a, onionmx::base::Status::Ok);
  ASSERT_EQ(a.routes.size(), 3u);
  EXPECT_EQ(a.routes[0].onion, kA2);
  EXPECT_EQ(a.routes[1].onion, kA1);
  EXPECT_EQ(a.routes[2].onion, kA3);
}

TEST_F(DnsFaults, TtlIsCappedByMaxTtlAndTopBitTtlCountsAsZero) {
  FakeDnsServer server([](const DnsQuery& q) {
    const std::uint32_t ttl = q.qname == srv_name("long.example") ? 2000000u : 0x80000010u;
    return Reply::noerror().answer(Rr::srv(q.qname, ttl, 0, 0, 25, kA1));
  });
  DnsConfig c = config_for(server);
  c.max_ttl = 3600;
  auto src = make_source(c);
  ASSERT_TRUE(src);
  Answer a = lookup(*src, "long.example");
  EXPECT_STATUS(a, onionmx::base::Status::Ok);
  EXPECT_EQ(a.ttl, 3600u);
  a = lookup(*src, "topbit.example");
  EXPECT_STATUS(a, onionmx::base::Status::Ok);
  EXPECT_EQ(a.ttl, 0u) << "RFC 2181 §8: a TTL with the top bit set is treated as zero";
}

// ----------------------------------------------------- error rcodes: Temp

struct RcodeCase {
  std::uint8_t rcode;
  const char* word;
};

class DnsErrorRcode : public DnsFaults, public ::testing::WithParamInterface<RcodeCase> {};

TEST_P(DnsErrorRcode, IsTempNamingTheRcodeAndAnsweredWithoutWaiting) {
  const RcodeCase rc = GetParam();
  FakeDnsServer server([rc](const DnsQuery& q) {
    // Records a broken server might still include: never used.
    return Reply::with_rcode(rc.rcode).answer(Rr::srv(q.qname, 300, 0, 0, 25, kA1));
  });
  DnsConfig c = config_for(server);
  c.timeout = 5000ms;
  auto src = make_source(c);
  ASSERT_TRUE(src);
  const auto t0 = std::chrono::steady_clock::now();
  Answer a = lookup(*src, "broken.example");
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_STATUS(a, onionmx::base::Status::Temp);
  EXPECT_TRUE(contains(a.reason, rc.word)) << a.reason;
  EXPECT_TRUE(a.routes.empty());
  EXPECT_EQ(a.source, onionmx::source::DnsSource::kName);
  EXPECT_LT(took, 2500ms) << "the error answer decides; the 5 s budget is not waited for";
  EXPECT_EQ(logs_containing({"broken.example", rc.word}), 1)
      << "a DNS failure is logged once, naming the domain";
}

INSTANTIATE_TEST_SUITE_P(Rcodes, DnsErrorRcode,
                         ::testing::Values(RcodeCase{dns::kRcodeServFail, "SERVFAIL"},
                                           RcodeCase{dns::kRcodeRefused, "REFUSED"},
                                           RcodeCase{dns::kRcodeFormErr, "FORMERR"},
                                           RcodeCase{dns::kRcodeNotImp, "NOTIMP"}),
                         [](const auto& info) { return std::string(info.param.word); });

// ------------------------------------------------------------- timeouts

TEST_F(DnsFaults, SilentServerIsTempWithinTheTimeBudget) {
  FakeDnsServer server([](const DnsQuery&) { return Reply::silent(); });
  DnsConfig c = config_for(server);
  c.timeout = 500ms;
  auto src = make_source(c);
  ASSERT_TRUE(src);
  const auto t0 = std::chrono::steady_clock::now();
  Answer a = lookup(*src, "silent.example");
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_STATUS(a, onionmx::base::Status::Temp);
  EXPECT_TRUE(contains(a.reason, "timeout")) << a.reason;
  EXPECT_GE(took, 400ms);
  EXPECT_LE(took, 2000ms);
  EXPECT_GE(server.queries(), 1);
  EXPECT_EQ(src->fetcher().pending(), 0u);
}

TEST_F(DnsFaults, AnswerWithWrongIdIsNeverAccepted) {
  FakeDnsServer server([](const DnsQuery& q) {
    return Reply::noerror().answer(Rr::srv(q.qname, 300, 0, 0, 25, kA1)).with_wrong_id();
  });
  DnsConfig c = config_for(server);
  c.timeout = 500ms;
  auto src = make_source(c);
  ASSERT_TRUE(src);
  Answer a = lookup(*src, "spoofed.example");
  EXPECT_STATUS(a, onionmx::base::Status::Temp);
  EXPECT_TRUE(a.routes.empty());
  EXPECT_GE(server.queries(), 1);
}

// -------------------------------------------------------- malformed: Temp

std::vector<std::uint8_t> be16(std::uint16_t v) {
  return {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v & 0xff)};
}

std::vector<std::uint8_t> cat(std::vector<std::vector<std::uint8_t>> parts) {
  std::vector<std::uint8_t> out;
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

const std::vector<std::uint8_t> kTtl300 = {0, 0, 1, 44};

struct MalformedCase {
  const char* name;
  std::function<std::vector<std::uint8_t>(const DnsQuery&)> bytes;
};

const MalformedCase kMalformed[] = {
    {"RecordCutInTheMiddle",
     [](const DnsQuery& q) {
       // ANCOUNT 1, but the message ends inside the RR after its type.
       return cat({reply_prefix(q, 1), wire_name(q.qname), be16(dns::kTypeSrv)});
     }},
    {"GarbageAfterTheQuestion",
     [](const DnsQuery& q) {
       // A header and question c-ares matches to the query, then text
       // where the answer RR should be.
       const std::string text = "this is not a DNS record, just some text";
       return cat({reply_prefix(q, 1), std::vector<std::uint8_t>(text.begin(), text.end())});
     }},
    {"RdlengthPastTheEnd",
     [](const DnsQuery& q) {
       return cat({reply_prefix(q, 1),
                   wire_name(q.qname),
                   be16(dns::kTypeSrv),
                   be16(1),
                   kTtl300,
                   be16(200),
                   {0, 0, 0, 0, 0, 25, 0}});
     }},
    {"CompressionPointerLoop",
     [](const DnsQuery& q) {
       auto v = reply_prefix(q, 1);
       const auto here = static_cast<std::uint16_t>(v.size());
       // The answer's owner name is a pointer to itself.
       return cat({v, be16(static_cast<std::uint16_t>(0xc000 | here)), be16(dns::kTypeSrv), be16(1),
                   kTtl300, be16(0)});
     }},
    {"SrvRdataShorterThanItsFixedFields",
     [](const DnsQuery& q) {
       return cat({reply_prefix(q, 1),
                   wire_name(q.qname),
                   be16(dns::kTypeSrv),
                   be16(1),
                   kTtl300,
                   be16(4),
                   {0, 0, 0, 0}});
     }},
    {"QrBitClear",
     [](const DnsQuery& q) {
       // A well-formed SRV answer, except that it claims to be a query.
       auto v = Reply::noerror().answer(Rr::srv(q.qname, 300, 0, 0, 25, kA1)).encode(q);
       v[2] &= 0x7f;
       return v;
     }},
    {"RecordCountsBeyondTheMessage",
     [](const DnsQuery& q) {
       auto v = reply_prefix(q, 0);
       v[6] = 0xff;  // ANCOUNT 0xffff, no records follow
       v[7] = 0xff;
       return v;
     }},
};

class DnsMalformed : public DnsFaults, public ::testing::WithParamInterface<MalformedCase> {};

TEST_P(DnsMalformed, IsTempMalformed) {
  const auto make = GetParam().bytes;
  FakeDnsServer server([make](const DnsQuery& q) { return Reply::bytes(make(q)); });
  DnsConfig c = config_for(server);
  c.timeout = 3000ms;
  auto src = make_source(c);
  ASSERT_TRUE(src);
  Answer a = lookup(*src, "malformed.example");
  EXPECT_STATUS(a, onionmx::base::Status::Temp);
  EXPECT_TRUE(contains(a.reason, "malformed")) << a.reason;
  EXPECT_TRUE(a.routes.empty());
}

INSTANTIATE_TEST_SUITE_P(Answers, DnsMalformed, ::testing::ValuesIn(kMalformed),
                         [](const auto& info) { return std::string(info.param.name); });

// c-ares 1.18.1 matches a reply to its query by ID *and* question
// (process_answer -> same_questions, whatever ARES_FLAG_NOCHECKRESP says)
// and silently drops replies shorter than the header.  Such replies never
// reach onionmx: the lookup keeps waiting, and the deadline decides.  Still
// Temp, never a route and never NotFound.
TEST_F(DnsFaults, AnswerShorterThanTheHeaderIsNeverAccepted) {
  FakeDnsServer server([](const DnsQuery& q) {
    auto full = Reply::noerror().answer(Rr::srv(q.qname, 300, 0, 0, 25, kA1)).encode(q);
    full.resize(6);
    return Reply::bytes(full);
  });
  DnsConfig c = config_for(server);
  c.timeout = 500ms;
  auto src = make_source(c);
  ASSERT_TRUE(src);
  Answer a = lookup(*src, "short.example");
  EXPECT_STATUS(a, onionmx::base::Status::Temp);
  EXPECT_TRUE(contains(a.reason, "timeout")) << a.reason;
  EXPECT_TRUE(a.routes.empty());
  EXPECT_GE(server.queries(), 1);
}

TEST_F(DnsFaults, GarbageAfterTheIdIsNeverAccepted) {
  FakeDnsServer server([](const DnsQuery& q) {
    const std::string text = "this is not a DNS message, just some text";
    return Reply::bytes(
        cat({be16(q.id), {0x81, 0x80}, std::vector<std::uint8_t>(text.begin(), text.end())}));
  });
  DnsConfig c = config_for(server);
  c.timeout = 500ms;
  auto src = make_source(c);
  ASSERT_TRUE(src);
  Answer a = lookup(*src, "garbage.example");
  EXPECT_STATUS(a, onionmx::base::Status::Temp);
  EXPECT_TRUE(contains(a.reason, "timeout")) << a.reason;
  EXPECT_TRUE(a.routes.empty());
  EXPECT_GE(server.queries(), 1);
}

TEST_F(DnsFaults, AnswerToADifferentQuestionIsNeverAccepted) {
  // onionmx's own "mismatched answer" check (unit-tested in
  // test_srv_answer) is a second line: with c-ares 1.18.1 the forged reply
  // is dropped by the transport, so the verdict is the deadline's.
  FakeDnsServer server([](const DnsQuery& q) {
    const std::string other = srv_name("other.example");
    if (q.qname == srv_name("asked.example"))
      return Reply::noerror().for_question(other).answer(Rr::srv(other, 300, 0, 0, 25, kA1));
    return Reply::with_rcode(dns::kRcodeNxDomain);
  });
  DnsConfig c = config_for(server);
  c.timeout = 500ms;
  auto src = make_source(c);
  ASSERT_TRUE(src);
  Answer a = lookup(*src, "asked.example");
  EXPECT_STATUS(a, onionmx::base::Status::Temp);
  EXPECT_TRUE(contains(a.reason, "timeout") || contains(a.reason, "mismatched")) << a.reason;
  EXPECT_TRUE(a.routes.empty());
  EXPECT_GE(server.queries(), 1);
}

TEST_F(DnsFaults, ForgedAnswerIsIgnoredAndTheGenuineRetryIsUsed) {
  // First try: a reply for another question (and another onion); the
  // retry c-ares sends after its per-try timeout gets the real answer.
  std::atomic<int> seen{0};
  FakeDnsServer server([&seen](const DnsQuery& q) {
    if (seen.fetch_add(1) == 0) {
      const std::string other = srv_name("other.example");
      return Reply::noerror().for_question(other).answer(Rr::srv(other, 300, 0, 0, 25, kA1));
    }
    return Reply::noerror().answer(Rr::srv(q.qname, 300, 0, 0, 25, kA2));
  });
  DnsConfig c = config_for(server);
  c.timeout = 1500ms;  // 2 tries: 500 ms, then 1000 ms
  auto src = make_source(c);
  ASSERT_TRUE(src);
  Answer a = lookup(*src, "asked.example");
  EXPECT_STATUS(a, onionmx::base::Status::Ok);
  ASSERT_EQ(a.routes.size(), 1u);
  EXPECT_EQ(a.routes[0].onion, kA2) << "the forged route is never used";
  EXPECT_EQ(server.queries(), 2);
}

TEST_F(DnsFaults, TruncatedEvenOverTcpIsTemp) {
  FakeDnsServer server([](const DnsQuery& q) {
    Reply r = Reply::noerror().answer(Rr::srv(q.qname, 300, 0, 0, 25, kA1));
    r.tc = true;  // over both transports
    return r;
  });
  auto src = make_source(config_for(server));
  ASSERT_TRUE(src);
  Answer a = lookup(*src, "huge.example");
  EXPECT_STATUS(a, onionmx::base::Status::Temp);
  EXPECT_TRUE(contains(a.reason, "truncated")) << a.reason;
  EXPECT_GE(server.tcp_queries(), 1);
}

// ------------------------------------------------- negative answers: NotFound

TEST_F(DnsFaults, NxdomainWithSoaIsNotFoundWithRfc2308NegativeTtl) {
  FakeDnsServer server([](const DnsQuery& q) {
    Reply r = Reply::with_rcode(dns::kRcodeNxDomain);
    if (q.qname == srv_name("minimum-smaller.example")) r.authority_rr(Rr::soa("example", 300, 60));
    if (q.qname == srv_name("ttl-smaller.example")) r.authority_rr(Rr::soa("example", 30, 600));
    if (q.qname == srv_name("huge.example")) r.authority_rr(Rr::soa("example", 7200, 7200));
    return r;
  });
  DnsConfig c = config_for(server);
  c.max_negative_ttl = 1800;
  auto src = make_source(c);
  ASSERT_TRUE(src);

  Answer a = lookup(*src, "minimum-smaller.example");
  EXPECT_STATUS(a, onionmx::base::Status::NotFound);
  EXPECT_EQ(a.source, onionmx::source::DnsSource::kName);
  EXPECT_EQ(a.ttl, 60u) << "min(SOA TTL 300, MINIMUM 60)";
  EXPECT_TRUE(contains(a.reason, "NXDOMAIN")) << a.reason;

  a = lookup(*src, "ttl-smaller.example");
  EXPECT_STATUS(a, onionmx::base::Status::NotFound);
  EXPECT_EQ(a.ttl, 30u) << "min(SOA TTL 30, MINIMUM 600)";

  a = lookup(*src, "huge.example");
  EXPECT_STATUS(a, onionmx::base::Status::NotFound);
  EXPECT_EQ(a.ttl, 1800u) << "capped by max_negative_ttl";

  a = lookup(*src, "nosoa.example");
  EXPECT_STATUS(a, onionmx::base::Status::NotFound);
  EXPECT_EQ(a.ttl, 0u) << "RFC 2308: no SOA, not cached";
}

TEST_F(DnsFaults, NegativeTtlWithTheTopBitSetCountsAsZero) {
  FakeDnsServer server([](const DnsQuery& q) {
    Reply r = Reply::with_rcode(dns::kRcodeNxDomain);
    if (q.qname == srv_name("ttl.example")) r.authority_rr(Rr::soa("example", 0x80000100u, 600));
    if (q.qname == srv_name("minimum.example"))
      r.authority_rr(Rr::soa("example", 600, 0x80000100u));
    return r;
  });
  auto src = make_source(config_for(server));
  ASSERT_TRUE(src);
  for (const char* d : {"ttl.example", "minimum.example"}) {
    Answer a = lookup(*src, d);
    EXPECT_STATUS(a, onionmx::base::Status::NotFound);
    EXPECT_EQ(a.ttl, 0u) << d << ": RFC 2181 §8, not max_negative_ttl";
  }
}

TEST_F(DnsFaults, NodataIsNotFound) {
  FakeDnsServer server(
      [](const DnsQuery&) { return Reply::noerror().authority_rr(Rr::soa("example", 120, 60)); });
  auto src = make_source(config_for(server));
  ASSERT_TRUE(src);
  Answer a = lookup(*src, "nodata.example");
  EXPECT_STATUS(a, onionmx::base::Status::NotFound);
  EXPECT_EQ(a.ttl, 60u);
  EXPECT_TRUE(contains(a.reason, "NODATA")) << a.reason;
  EXPECT_TRUE(a.routes.empty());
}

TEST_F(DnsFaults, LoneDotTargetIsNotFoundForTheRecordTtl) {
  FakeDnsServer server([](const DnsQuery& q) {
    return Reply::noerror().answer(Rr::srv(q.qname, 1200, 0, 0, 0, "."));
  });
  auto src = make_source(config_for(server));
  ASSERT_TRUE(src);
  Answer a = lookup(*src, "none.example");
  EXPECT_STATUS(a, onionmx::base::Status::NotFound);
  EXPECT_EQ(a.source, onionmx::source::DnsSource::kName);
  EXPECT_EQ(a.ttl, 1200u) << "a definitive negative, cached for the RR's TTL (dns.md §2)";
  EXPECT_TRUE(a.routes.empty());
}

// ----------------------------------------------------------------- CNAMEs

TEST_F(DnsFaults, CnameToANameOutsideTheAnswerIsQueriedAndFound) {
  const std::string alias = srv_name("alias.example");
  const std::string target = srv_name("target.example.net");
  FakeDnsServer server([&](const DnsQuery& q) {
    if (q.qname == alias) return Reply::noerror().answer(Rr::cname(alias, 120, target));
    if (q.qname == target) return Reply::noerror().answer(Rr::srv(target, 600, 0, 0, 2525, kA2));
    return Reply::with_rcode(dns::kRcodeNxDomain);
  });
  auto src = make_source(config_for(server));
  ASSERT_TRUE(src);
  Answer a = lookup(*src, "alias.example");
  EXPECT_STATUS(a, onionmx::base::Status::Ok);
  ASSERT_EQ(a.routes.size(), 1u);
  EXPECT_EQ(a.routes[0].onion, kA2);
  EXPECT_EQ(a.routes[0].port, 2525);
  EXPECT_EQ(a.ttl, 120u) << "an answer reached through a CNAME lives no longer than the CNAME";
  EXPECT_EQ(server.queries(), 2);
  const auto qs = server.received();
  ASSERT_EQ(qs.size(), 2u);
  EXPECT_EQ(qs[0].qname, alias);
  EXPECT_EQ(qs[1].qname, target);
  EXPECT_EQ(qs[1].qtype, dns::kTypeSrv);
}

TEST_F(DnsFaults, CnameWithItsTargetInTheSameAnswerNeedsOneQuery) {
  const std::string alias = srv_name("alias.example");
  const std::string target = srv_name("target.example.net");
  FakeDnsServer server([&](const DnsQuery&) {
    return Reply::noerror()
        .answer(Rr::cname(alias, 900, target))
        .answer(Rr::srv(target, 600, 0, 0, 25, kA3));
  });
  auto src = make_source(config_for(server));
  ASSERT_TRUE(src);
  Answer a = lookup(*src, "alias.example");
  EXPECT_STATUS(a, onionmx::base::Status::Ok);
  ASSERT_EQ(a.routes.size(), 1u);
  EXPECT_EQ(a.routes[0].onion, kA3);
  EXPECT_EQ(a.ttl, 600u);
  EXPECT_EQ(server.queries(), 1);
}

TEST_F(DnsFaults, CnameLoopInsideOneAnswerIsTemp) {
  const std::string a_name = srv_name("a.example");
  const std::string b_name = srv_name("b.example");
  FakeDnsServer server([&](const DnsQuery&) {
    return Reply::noerror()
        .answer(Rr::cname(a_name, 300, b_name))
        .answer(Rr::cname(b_name, 300, a_name));
  });
  auto src = make_source(config_for(server));
  ASSERT_TRUE(src);
  Answer a = lookup(*src, "a.example");
  EXPECT_STATUS(a, onionmx::base::Status::Temp);
  EXPECT_TRUE(a.routes.empty());
}

TEST_F(DnsFaults, CnameLoopAcrossQueriesIsTempAfterBoundedQueries) {
  const std::string a_name = srv_name("a.example");
  const std::string b_name = srv_name("b.example");
  FakeDnsServer server([&](const DnsQuery& q) {
    if (q.qname == a_name) return Reply::noerror().answer(Rr::cname(a_name, 300, b_name));
    return Reply::noerror().answer(Rr::cname(b_name, 300, a_name));
  });
  DnsConfig c = config_for(server);
  c.timeout = 5000ms;
  auto src = make_source(c);
  ASSERT_TRUE(src);
  Answer a = lookup(*src, "a.example");
  EXPECT_STATUS(a, onionmx::base::Status::Temp);
  EXPECT_TRUE(contains(a.reason, "CNAME")) << a.reason;
  EXPECT_GE(server.queries(), 2);
  EXPECT_LE(server.queries(), 10) << "the chain is cut after 8 hops";
}

TEST_F(DnsFaults, CnameIntoOnionIsTempAndNotQueried) {
  FakeDnsServer server([](const DnsQuery& q) {
    return Reply::noerror().answer(Rr::cname(q.qname, 300, "_onion-mx._tcp." + kA1));
  });
  auto src = make_source(config_for(server));
  ASSERT_TRUE(src);
  Answer a = lookup(*src, "leak.example");
  EXPECT_STATUS(a, onionmx::base::Status::Temp);
  EXPECT_EQ(server.queries(), 1) << "RFC 7686: the .onion target is never sent to DNS";
}

// ------------------------------------------------------------- transport

TEST_F(DnsFaults, TruncatedUdpAnswerIsRetriedOverTcp) {
  FakeDnsServer server([](const DnsQuery& q) {
    return Reply::noerror().answer(Rr::srv(q.qname, 300, 0, 0, 25, kA1)).truncate_over_udp();
  });
  auto src = make_source(config_for(server));
  ASSERT_TRUE(src);
  Answer a = lookup(*src, "big.example");
  EXPECT_STATUS(a, onionmx::base::Status::Ok);
  ASSERT_EQ(a.routes.size(), 1u);
  EXPECT_EQ(a.routes[0].onion, kA1);
  EXPECT_GE(server.udp_queries(), 1);
  EXPECT_GE(server.tcp_queries(), 1);
}

Reply eight_routes(const DnsQuery& q) {
  Reply r = Reply::noerror();
  for (std::uint16_t i = 0; i < 8; ++i)
    r.answer(Rr::srv(q.qname, 300, i, 0, static_cast<std::uint16_t>(2500 + i), kA1));
  return r;
}

// FORMERR without OPT (a server without EDNS) for old.example only.
Reply formerr_for_old_else_eight_routes(const DnsQuery& q) {
  if (q.qname == srv_name("old.example")) return Reply::with_rcode(dns::kRcodeFormErr);
  return eight_routes(q);
}

// The query offers a 1232-byte EDNS buffer, so a complete UDP answer of
// that size needs no TCP retry (c-ares 1.18.1 takes any UDP answer over 512
// bytes for a truncated one unless the channel itself is set up for EDNS).
TEST_F(DnsFaults, UdpAnswerWithinTheAdvertisedEdnsBufferNeedsNoTcpRetry) {
  FakeDnsServer server(eight_routes);
  auto src = make_source(config_for(server));
  ASSERT_TRUE(src);
  DnsQuery probe;
  probe.qname = srv_name("big.example");
  const std::size_t size = eight_routes(probe).encode(probe).size();
  ASSERT_GT(size, 512u);
  ASSERT_LE(size, 1232u);
  Answer a = lookup(*src, "big.example");
  EXPECT_STATUS(a, onionmx::base::Status::Ok);
  ASSERT_EQ(a.routes.size(), 8u);
  for (std::uint16_t i = 0; i < 8; ++i) EXPECT_EQ(a.routes[i].port, 2500 + i) << i;
  EXPECT_EQ(server.udp_queries(), 1);
  EXPECT_EQ(server.tcp_queries(), 0);
}

TEST_F(DnsFaults, LargeUdpAnswersAfterAFormerrWithoutOpt) {
  // FORMERR without an OPT RR to an EDNS query makes c-ares 1.18.1 resend
  // without EDNS and clear ARES_FLAG_EDNS for the whole channel (dns.md
  // §6.4).  The lookup that got the FORMERR must still be Temp, and later
  // large answers must still be found.
  FakeDnsServer server(formerr_for_old_else_eight_routes);
  auto src = make_source(config_for(server));
  ASSERT_TRUE(src);
  Answer a = lookup(*src, "old.example");
  EXPECT_STATUS(a, onionmx::base::Status::Temp);
  EXPECT_TRUE(contains(a.reason, "FORMERR")) << a.reason;
  const int udp_before = server.udp_queries();
  a = lookup(*src, "big.example");
  EXPECT_STATUS(a, onionmx::base::Status::Ok);
  EXPECT_EQ(a.routes.size(), 8u);
  EXPECT_GE(server.udp_queries() - udp_before, 1);
  const auto qs = server.received();
  ASSERT_FALSE(qs.empty());
  EXPECT_TRUE(qs.back().edns) << "onionmx's own OPT RR is still sent";
}

// c-ares 1.18.1 keeps the channel without ARES_FLAG_EDNS for its lifetime
// after that one FORMERR (a single forged one is enough), so every later UDP
// answer over 512 bytes would be fetched again over TCP, and fail outright
// from a server without TCP.  The client replaces the channel instead
// (cares_client.hpp): later lookups take the 1232-byte UDP answer.
TEST_F(DnsFaults, AFormerrDoesNotDisableEdnsForLaterLookups) {
  FakeDnsServer server(formerr_for_old_else_eight_routes);
  auto src = make_source(config_for(server));
  ASSERT_TRUE(src);
  EXPECT_STATUS(lookup(*src, "old.example"), onionmx::base::Status::Temp);
  for (const char* d : {"big.example", "big2.example"}) {
    const int tcp_before = server.tcp_queries();
    Answer a = lookup(*src, d);
    EXPECT_STATUS(a, onionmx::base::Status::Ok);
    EXPECT_EQ(a.routes.size(), 8u);
    EXPECT_EQ(server.tcp_queries() - tcp_before, 0) << d;
  }
  int replaced = 0;
  for (const auto& [level, m] : log_) replaced += contains(m, "new DNS channel") ? 1 : 0;
  EXPECT_EQ(replaced, 1) << "one FORMERR, one new channel";
}

// Lookups in flight on the channel when it is replaced finish on it; the
// old channel is freed from the loop once they have (valgrind: no leak, no
// use after free).
TEST_F(DnsFaults, LookupsInFlightOnAReplacedChannelStillComplete) {
  FakeDnsServer server(formerr_for_old_else_eight_routes);
  auto src = make_source(config_for(server));
  ASSERT_TRUE(src);
  std::vector<std::shared_ptr<Slot>> slots;
  slots.push_back(start(*src, "old.example"));
  for (int i = 0; i < 6; ++i) slots.push_back(start(*src, "big" + std::to_string(i) + ".example"));
  ASSERT_TRUE(run_until([&] {
    return std::all_of(slots.begin(), slots.end(), [](const auto& s) { return s->calls > 0; });
  }));
  EXPECT_STATUS(slots[0]->answer, onionmx::base::Status::Temp);
  for (std::size_t i = 1; i < slots.size(); ++i) {
    EXPECT_EQ(slots[i]->calls, 1) << i;
    EXPECT_STATUS(slots[i]->answer, onionmx::base::Status::Ok);
  }
  run_for(20ms);  // the reaper runs
  const int tcp_before = server.tcp_queries();
  EXPECT_STATUS(lookup(*src, "later.example"), onionmx::base::Status::Ok);
  EXPECT_EQ(server.tcp_queries() - tcp_before, 0);
}

TEST_F(DnsFaults, ClosedPortIsTempUnreachableWithoutWaitingForTheBudget) {
  FakeDnsServer server([](const DnsQuery&) { return Reply::silent(); });
  DnsConfig c = config_for(server);
  c.timeout = 5000ms;
  server.stop();  // nothing listens on the port any more
  auto src = make_source(c);
  ASSERT_TRUE(src);
  const auto t0 = std::chrono::steady_clock::now();
  Answer a = lookup(*src, "closed.example");
  EXPECT_STATUS(a, onionmx::base::Status::Temp);
  EXPECT_TRUE(contains(a.reason, "unreachable")) << a.reason;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2500ms);
}

TEST_F(DnsFaults, TcpConfigSendsOnlyTcpQueries) {
  FakeDnsServer server([](const DnsQuery& q) {
    return Reply::noerror().answer(Rr::srv(q.qname, 300, 0, 0, 25, kA1));
  });
  DnsConfig c = config_for(server);
  c.tcp = true;
  auto src = make_source(c);
  ASSERT_TRUE(src);
  for (const char* d : {"one.example", "two.example", "three.example"}) {
    Answer a = lookup(*src, d);
    EXPECT_STATUS(a, onionmx::base::Status::Ok);
  }
  EXPECT_EQ(server.udp_queries(), 0);
  EXPECT_GE(server.tcp_queries(), 3);
}

// ---------------------------------------------------------------- DNSSEC

TEST_F(DnsFaults, DnssecPreferSetsDoAndAdInTheQuery) {
  FakeDnsServer server([](const DnsQuery& q) {
    return Reply::noerror().answer(Rr::srv(q.qname, 300, 0, 0, 25, kA1));
  });
  {
    DnsConfig c = config_for(server);
    c.dnssec = Dnssec::Prefer;
    auto src = make_source(c);
    ASSERT_TRUE(src);
    lookup(*src, "signed.example");
  }
  {
    DnsConfig c = config_for(server);
    c.dnssec = Dnssec::Off;
    auto src = make_source(c);
    ASSERT_TRUE(src);
    lookup(*src, "plain.example");
  }
  const auto qs = server.received();
  ASSERT_EQ(qs.size(), 2u);
  EXPECT_EQ(qs[0].qname, srv_name("signed.example"));
  EXPECT_TRUE(qs[0].edns);
  EXPECT_TRUE(qs[0].dnssec_ok) << "DO bit";
  EXPECT_TRUE(qs[0].ad) << "AD bit (RFC 6840 §5.7)";
  EXPECT_TRUE(qs[0].rd);
  EXPECT_EQ(qs[1].qname, srv_name("plain.example"));
  EXPECT_FALSE(qs[1].dnssec_ok);
  EXPECT_FALSE(qs[1].ad);
}

TEST_F(DnsFaults, AnswerWithAdIsAuthenticatedOnlyWhenDnssecIsAsked) {
  FakeDnsServer server([](const DnsQuery& q) {
    return Reply::noerror()
        .answer(Rr::srv(q.qname, 300, 0, 0, 25, kA1))
        .authenticated(q.qname == srv_name("signed.example"));
  });
  DnsConfig c = config_for(server);
  c.dnssec = Dnssec::Prefer;
  auto src = make_source(c);
  ASSERT_TRUE(src);
  Answer a = lookup(*src, "signed.example");
  EXPECT_STATUS(a, onionmx::base::Status::Ok);
  EXPECT_TRUE(a.authenticated);
  a = lookup(*src, "unsigned.example");
  EXPECT_STATUS(a, onionmx::base::Status::Ok) << "prefer: an unsigned answer is still used";
  EXPECT_FALSE(a.authenticated);

  c.dnssec = Dnssec::Off;
  auto off = make_source(c);
  ASSERT_TRUE(off);
  a = lookup(*off, "signed.example");
  EXPECT_STATUS(a, onionmx::base::Status::Ok);
  EXPECT_FALSE(a.authenticated) << "with dnssec=off the AD bit was not asked for and means nothing";
}

TEST_F(DnsFaults, DnssecRequireRejectsAnUnauthenticatedSrvAsTemp) {
  FakeDnsServer server([](const DnsQuery& q) {
    return Reply::noerror()
        .answer(Rr::srv(q.qname, 300, 0, 0, 25, kA1))
        .authenticated(q.qname == srv_name("signed.example"));
  });
  DnsConfig c = config_for(server);
  c.dnssec = Dnssec::Require;
  auto src = make_source(c);
  ASSERT_TRUE(src);
  Answer a = lookup(*src, "unsigned.example");
  EXPECT_STATUS(a, onionmx::base::Status::Temp);
  EXPECT_TRUE(a.routes.empty());
  a = lookup(*src, "signed.example");
  EXPECT_STATUS(a, onionmx::base::Status::Ok);
  EXPECT_TRUE(a.authenticated);
}

TEST_F(DnsFaults, DnssecRequireUnauthenticatedNxdomainIsNotFound) {
  FakeDnsServer server([](const DnsQuery&) {
    return Reply::with_rcode(dns::kRcodeNxDomain).authority_rr(Rr::soa("example", 300, 60));
  });
  DnsConfig c = config_for(server);
  c.dnssec = Dnssec::Require;
  auto src = make_source(c);
  ASSERT_TRUE(src);
  Answer a = lookup(*src, "nothing.example");
  EXPECT_STATUS(a, onionmx::base::Status::NotFound);
  EXPECT_FALSE(a.authenticated);
}

// ------------------------------------------------------------ RFC 7686

TEST_F(DnsFaults, OnionDomainsAreNeverQueried) {
  FakeDnsServer server([](const DnsQuery& q) {
    return Reply::noerror().answer(Rr::srv(q.qname, 300, 0, 0, 25, kA1));
  });
  auto src = make_source(config_for(server));
  ASSERT_TRUE(src);
  for (const std::string& d :
       std::vector<std::string>{kA1, "smtp." + kA1, "bogus.onion", kA2 + "."}) {
    Answer a = lookup(*src, d);
    EXPECT_NE(a.status, onionmx::base::Status::Ok) << d;
    EXPECT_NE(a.status, onionmx::base::Status::NotFound) << d;
    EXPECT_TRUE(a.routes.empty()) << d;
  }
  EXPECT_EQ(server.queries(), 0);
}

TEST_F(DnsFaults, DomainTooLongForTheSrvOwnerNameIsNotFoundWithoutAQuery) {
  // 4 labels of 60 = 243 characters: a valid domain, but with the 15-byte
  // prefix the owner name exceeds 255 bytes, so no SRV record can exist.
  FakeDnsServer server([](const DnsQuery& q) {
    return Reply::noerror().answer(Rr::srv(q.qname, 300, 0, 0, 25, kA1));
  });
  auto src = make_source(config_for(server));
  ASSERT_TRUE(src);
  const std::string label(60, 'x');
  const std::string domain = label + "." + label + "." + label + "." + label;
  Answer a = lookup(*src, domain);
  EXPECT_STATUS(a, onionmx::base::Status::NotFound);
  EXPECT_TRUE(a.routes.empty());
  EXPECT_EQ(server.queries(), 0);
}

// ------------------------------------------------------------------ load

TEST_F(DnsFaults, TwoThousandLookupsWith64InFlightAllCompleteWithTheirOwnAnswer) {
  constexpr int kLookups = 2000;
  constexpr std::size_t kInFlight = 64;
  // d<i>.example is answered with port 1000 + i, so every answer can be
  // matched to its domain.
  FakeDnsServer server([](const DnsQuery& q) {
    const std::string prefix = srv_name("d");
    const std::string suffix = ".example";
    if (q.qname.rfind(prefix, 0) != 0 || q.qname.size() <= prefix.size() + suffix.size())
      return Reply::with_rcode(dns::kRcodeNxDomain);
    const int i = std::stoi(q.qname.substr(prefix.size()));
    return Reply::noerror().answer(
        Rr::srv(q.qname, 300, 0, 0, static_cast<std::uint16_t>(1000 + i), kA1));
  });
  DnsConfig c = config_for(server);
  c.max_in_flight = kInFlight;
  c.timeout = 20000ms;
  auto src = make_source(c);
  ASSERT_TRUE(src);

  std::vector<std::shared_ptr<Slot>> slots;
  for (int i = 0; i < kLookups; ++i)
    slots.push_back(start(*src, "d" + std::to_string(i) + ".example"));
  EXPECT_EQ(src->fetcher().pending(), static_cast<std::size_t>(kLookups))
      << "none lost, none answered yet";

  // The loop has not run: exactly max_in_flight queries have been sent.
  for (int waited = 0; server.queries() < static_cast<int>(kInFlight) && waited < 200; ++waited)
    std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(server.queries(), static_cast<int>(kInFlight));

  int done = 0;
  ASSERT_TRUE(run_until(
      [&] {
        done = 0;
        for (const auto& s : slots) done += s->calls > 0;
        return done == kLookups;
      },
      120s))
      << done << " of " << kLookups << " completed";

  int ok = 0;
  std::vector<std::string> wrong;
  for (int i = 0; i < kLookups; ++i) {
    const Slot& s = *slots[static_cast<std::size_t>(i)];
    EXPECT_EQ(s.calls, 1) << "d" << i;
    if (s.answer.status == onionmx::base::Status::Ok && s.answer.routes.size() == 1 &&
        s.answer.routes[0].port == 1000 + i)
      ++ok;
    else if (wrong.size() < 10)
      wrong.push_back("d" + std::to_string(i) + ": " + status_name(s.answer.status) + " " +
                      s.answer.reason);
  }
  EXPECT_EQ(ok, kLookups) << "first failures:\n" << ::testing::PrintToString(wrong);
  EXPECT_EQ(src->fetcher().pending(), 0u);
  EXPECT_GE(server.queries(), kLookups);
}

TEST_F(DnsFaults, ServerStoppedMidRunLeavesTheRestTempNeverNotFound) {
  constexpr int kLookups = 40;
  std::atomic<int> answered{0};
  FakeDnsServer server([&answered](const DnsQuery& q) {
    if (answered.fetch_add(1) >= 10) return Reply::silent();
    return Reply::noerror().answer(Rr::srv(q.qname, 300, 0, 0, 25, kA1));
  });
  DnsConfig c = config_for(server);
  c.max_in_flight = 4;
  c.timeout = 500ms;
  auto src = make_source(c);
  ASSERT_TRUE(src);

  std::vector<std::shared_ptr<Slot>> slots;
  for (int i = 0; i < kLookups; ++i)
    slots.push_back(start(*src, "s" + std::to_string(i) + ".example"));
  auto count = [&](auto pred) {
    int n = 0;
    for (const auto& s : slots) n += pred(*s);
    return n;
  };
  ASSERT_TRUE(run_until([&] { return count([](const Slot& s) { return s.calls > 0; }) >= 5; }));
  server.stop();
  ASSERT_TRUE(
      run_until([&] { return count([](const Slot& s) { return s.calls > 0; }) == kLookups; }, 60s));

  EXPECT_EQ(count([](const Slot& s) { return s.calls == 1; }), kLookups)
      << "each callback exactly once";
  const int ok = count([](const Slot& s) { return s.answer.status == onionmx::base::Status::Ok; });
  const int temp =
      count([](const Slot& s) { return s.answer.status == onionmx::base::Status::Temp; });
  EXPECT_GE(ok, 5);
  EXPECT_EQ(ok + temp, kLookups) << "the rest are Temp";
  EXPECT_EQ(count([](const Slot& s) { return s.answer.status == onionmx::base::Status::NotFound; }),
            0);
  EXPECT_EQ(src->fetcher().pending(), 0u);
}

TEST_F(DnsFaults, TheTimeBudgetIncludesWaitingForAnInFlightSlot) {
  // One slot, a silent server, 500 ms per lookup: the budget runs from the
  // lookup() call (the MTA is waiting), so queued lookups do not take
  // 500 ms each in turn.
  constexpr int kLookups = 4;
  FakeDnsServer server([](const DnsQuery&) { return Reply::silent(); });
  DnsConfig c = config_for(server);
  c.max_in_flight = 1;
  c.timeout = 500ms;
  auto src = make_source(c);
  ASSERT_TRUE(src);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<Slot>> slots;
  for (int i = 0; i < kLookups; ++i)
    slots.push_back(start(*src, "q" + std::to_string(i) + ".example"));
  ASSERT_TRUE(run_until([&] {
    for (const auto& s : slots)
      if (s->calls == 0) return false;
    return true;
  }));
  const auto took = std::chrono::steady_clock::now() - t0;
  for (const auto& s : slots) {
    EXPECT_EQ(s->calls, 1);
    EXPECT_STATUS(s->answer, onionmx::base::Status::Temp);
  }
  EXPECT_GE(took, 400ms);
  EXPECT_LT(took, 1200ms) << "4 x 500 ms would mean the budget restarted in the queue";
  EXPECT_EQ(src->fetcher().pending(), 0u);
}

TEST_F(DnsFaults, DestroyingTheSourceAnswersEveryPendingLookupOnceWithTemp) {
  constexpr int kLookups = 30;
  FakeDnsServer server([](const DnsQuery&) { return Reply::silent(); });
  DnsConfig c = config_for(server);
  c.max_in_flight = 8;  // 8 in c-ares, 22 queued
  c.timeout = 10000ms;
  auto src = make_source(c);
  ASSERT_TRUE(src);

  std::vector<std::shared_ptr<Slot>> slots;
  for (int i = 0; i < kLookups; ++i)
    slots.push_back(start(*src, "p" + std::to_string(i) + ".example"));
  run_for(100ms);
  EXPECT_EQ(src->fetcher().pending(), static_cast<std::size_t>(kLookups));
  for (const auto& s : slots) EXPECT_EQ(s->calls, 0);

  src.reset();
  for (int i = 0; i < kLookups; ++i) {
    const Slot& s = *slots[static_cast<std::size_t>(i)];
    EXPECT_EQ(s.calls, 1) << "p" << i;
    EXPECT_STATUS(s.answer, onionmx::base::Status::Temp);
  }
  // Nothing left behind fires afterwards.
  run_for(200ms);
  for (const auto& s : slots) EXPECT_EQ(s->calls, 1);
}

// -------------------------------------------------------- failure policy

class ResolverPolicy : public DnsFaults {
 protected:
  std::vector<Answer> resolve_all(FakeDnsServer& server, resolver::FailurePolicy policy,
                                  const std::vector<std::string>& keys) {
    // The whole engine, from configuration text, as every front end uses it.
    onionmx::engine::ConfigInput in;
    in.text = std::string("[resolver]\non_dns_failure = \"") +
              (policy == resolver::FailurePolicy::Clearnet ? "clearnet" : "defer") +
              "\"\n[dns]\nservers = [\"" + server.address() + "\"]\ntimeout = 1\ntries = 2\n";
    auto r = onionmx::engine::Engine::create(
        loop_, in, {}, [this](onionmx::base::LogLevel level, std::string_view m) {
          log_.emplace_back(level, std::string(m));
        });
    if (!r) {
      ADD_FAILURE() << r.error().detail;
      return {};
    }
    std::vector<Answer> out;
    int calls = 0;
    for (const auto& k : keys)
      (*r)->resolve(k, false, [&](Answer a, const auto&) {
        ++calls;
        out.push_back(std::move(a));
      });
    EXPECT_TRUE(run_until([&] { return calls == static_cast<int>(keys.size()); }));
    EXPECT_EQ((*r)->pending(), 0u);
    return out;
  }
};

TEST_F(ResolverPolicy, ClearnetTurnsADnsFailureIntoNotFoundAndWarnsEveryTime) {
  FakeDnsServer server([](const DnsQuery&) { return Reply::with_rcode(dns::kRcodeServFail); });
  const auto answers = resolve_all(server, resolver::FailurePolicy::Clearnet,
                                   {"a@one.example", "b@two.example", "c@three.example"});
  ASSERT_EQ(answers.size(), 3u);
  for (const auto& a : answers) {
    EXPECT_STATUS(a, onionmx::base::Status::NotFound);
    EXPECT_EQ(a.source, record::kOriginPolicy);
    EXPECT_TRUE(a.routes.empty());
  }
  EXPECT_EQ(warnings_containing("clearnet"), 3) << "one warning per lookup";
  EXPECT_EQ(warnings_containing("one.example"), 1);
  EXPECT_EQ(warnings_containing("two.example"), 1);
  EXPECT_EQ(warnings_containing("three.example"), 1);
}

TEST_F(ResolverPolicy, DeferKeepsADnsFailureTemp) {
  FakeDnsServer server([](const DnsQuery&) { return Reply::with_rcode(dns::kRcodeServFail); });
  const auto answers =
      resolve_all(server, resolver::FailurePolicy::Defer, {"a@one.example", "b@two.example"});
  ASSERT_EQ(answers.size(), 2u);
  for (const auto& a : answers) {
    EXPECT_STATUS(a, onionmx::base::Status::Temp);
    EXPECT_EQ(a.source, onionmx::source::DnsSource::kName);
    EXPECT_TRUE(contains(a.reason, "SERVFAIL")) << a.reason;
  }
  EXPECT_EQ(warnings_containing("clearnet"), 0);
}

TEST_F(ResolverPolicy, ShuttingDownIsTempNeverTheClearnetPolicy) {
  // Destroying the resolver cancels pending DNS lookups: that is not a DNS
  // failure, so even under clearnet they must defer, not go out in clear.
  FakeDnsServer server([](const DnsQuery&) { return Reply::silent(); });
  onionmx::engine::ConfigInput in;
  in.text = "[resolver]\non_dns_failure = \"clearnet\"\n[dns]\nservers = [\"" + server.address() +
            "\"]\ntimeout = 10\n";
  // A sink too large for std::function's local buffer: a call through a
  // destroyed sink is a heap-use-after-free under ASan.
  auto seen = std::make_shared<std::vector<std::pair<onionmx::base::LogLevel, std::string>>>();
  const std::string tag(64, 'x');
  auto r = onionmx::engine::Engine::create(
      loop_, in, {}, [seen, tag](onionmx::base::LogLevel level, std::string_view m) {
        (void)tag;
        seen->emplace_back(level, std::string(m));
      });
  ASSERT_TRUE(r) << r.error().detail;
  std::vector<std::shared_ptr<Slot>> slots;
  for (const char* k : {"a@one.example", "b@two.example", "c@three.example"}) {
    auto slot = std::make_shared<Slot>();
    (*r)->resolve(k, false, [slot](Answer a, const auto&) {
      ++slot->calls;
      slot->answer = std::move(a);
    });
    slots.push_back(slot);
  }
  run_for(100ms);
  EXPECT_EQ((*r)->pending(), 3u);
  r->reset();
  for (const auto& slot : slots) {
    EXPECT_EQ(slot->calls, 1);
    EXPECT_STATUS(slot->answer, onionmx::base::Status::Temp);
    EXPECT_EQ(slot->answer.source, onionmx::source::DnsSource::kName);
  }
  for (const auto& [level, msg] : *seen) EXPECT_FALSE(contains(msg, "clearnet")) << msg;
}

TEST_F(ResolverPolicy, ClearnetLeavesAnAnsweredNxdomainAlone) {
  FakeDnsServer server([](const DnsQuery&) {
    return Reply::with_rcode(dns::kRcodeNxDomain).authority_rr(Rr::soa("example", 300, 60));
  });
  const auto answers = resolve_all(server, resolver::FailurePolicy::Clearnet, {"a@one.example"});
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_STATUS(answers[0], onionmx::base::Status::NotFound);
  EXPECT_EQ(answers[0].source, onionmx::source::DnsSource::kName);
  EXPECT_EQ(warnings_containing("clearnet"), 0);
}

}  // namespace
