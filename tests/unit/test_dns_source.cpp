// test_dns_source.cpp - the seams the cache will stand on
// (source/dns_source.hpp, source/srv_lookup.hpp, record/record_set.hpp,
// base/clock.hpp): a record set fetched once yields a fresh RFC 2782 order
// for every lookup; DNS failures are marked by kind; .onion never reaches
// the fetcher; the c-ares client stamps record sets with the injected
// clock.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "dns/cares_client.hpp"
#include "event/loop.hpp"
#include "source/dns_source.hpp"

namespace {

using onionmx::base::Status;
using onionmx::record::RecordSet;
using onionmx::record::SrvRecord;
namespace source = onionmx::source;

const std::string kA1 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion";
const std::string kA2 = "efjprum3peosirjsilqv6lvlns3476t3njpngaexsyhangeb3mjo7sad.onion";
const std::string kA3 = "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid.onion";

// Answers every fetch with the same record set, and counts fetches.
class FixedLookup final : public source::SrvLookup {
 public:
  explicit FixedLookup(RecordSet set) : set_(std::move(set)) {}
  void fetch(const source::Query& q, source::FetchCallback done) override {
    ++fetches;
    last_domain = q.domain;
    done(set_);
  }
  std::size_t pending() const noexcept override { return 0; }
  int fetches = 0;
  std::string last_domain;

 private:
  RecordSet set_;
};

class FakeClock final : public onionmx::base::Clock {
 public:
  Monotonic monotonic() const noexcept override { return mono; }
  Wall wall() const noexcept override { return Wall{} + std::chrono::hours(1); }
  Monotonic mono = Monotonic{} + std::chrono::hours(42);
};

source::Step run(source::DnsSource& src, const std::string& domain) {
  source::Step got;
  int calls = 0;
  src.lookup({"user@" + domain, domain, false}, [&](source::Step s) {
    ++calls;
    got = std::move(s);
  });
  EXPECT_EQ(calls, 1);
  return got;
}

RecordSet three_routes() {
  RecordSet set;
  set.status = Status::Ok;
  set.records = {SrvRecord{10, 60, 25, kA1}, SrvRecord{10, 20, 2525, kA2},
                 SrvRecord{20, 0, 25, kA3}};
  set.ttl = 300;
  set.owner = "_onion-mx._tcp.example.org";
  return set;
}

TEST(DnsSource, OneRecordSetGivesAFreshWeightedOrderPerLookup) {
  auto fixed = std::make_unique<FixedLookup>(three_routes());
  FixedLookup* raw = fixed.get();
  std::uint32_t draw = 0;
  // The draw alternates between the first and the last choice.
  source::DnsSource src(std::move(fixed), [&](std::uint32_t n) { return (draw++ % 2) ? n : 0u; });
  std::set<std::string> firsts;
  for (int i = 0; i < 8; ++i) {
    auto step = run(src, "example.org");
    ASSERT_TRUE(step.decided);
    ASSERT_EQ(step.answer.status, Status::Ok);
    ASSERT_EQ(step.answer.routes.size(), 3u);
    EXPECT_EQ(step.answer.routes[2].onion, kA3) << "priority 20 always last";
    EXPECT_EQ(step.answer.ttl, 300u);
    EXPECT_EQ(step.answer.source, source::DnsSource::kName);
    EXPECT_EQ(step.answer.failure, onionmx::record::Failure::None);
    firsts.insert(step.answer.routes[0].onion);
  }
  EXPECT_EQ(raw->fetches, 8);
  EXPECT_EQ(firsts, (std::set<std::string>{kA1, kA2}))
      << "both weighted routes come first sometimes";
}

TEST(DnsSource, TemporaryFailuresAreMarkedAsDnsFailuresNegativesAreNot) {
  RecordSet temp;
  temp.status = Status::Temp;
  temp.reason = "DNS timeout";
  source::DnsSource t(std::make_unique<FixedLookup>(temp), [](std::uint32_t) { return 0u; });
  auto a = run(t, "example.org").answer;
  EXPECT_EQ(a.status, Status::Temp);
  EXPECT_EQ(a.failure, onionmx::record::Failure::Dns);
  EXPECT_EQ(a.reason, "DNS timeout");

  RecordSet neg;
  neg.status = Status::NotFound;
  neg.ttl = 60;
  neg.reason = "NXDOMAIN";
  source::DnsSource n(std::make_unique<FixedLookup>(neg), [](std::uint32_t) { return 0u; });
  a = run(n, "example.org").answer;
  EXPECT_EQ(a.status, Status::NotFound);
  EXPECT_EQ(a.failure, onionmx::record::Failure::None);
  EXPECT_EQ(a.ttl, 60u);
  EXPECT_TRUE(a.routes.empty());
}

TEST(DnsSource, OnionDomainsNeverReachTheFetcher) {
  auto fixed = std::make_unique<FixedLookup>(three_routes());
  FixedLookup* raw = fixed.get();
  source::DnsSource src(std::move(fixed), [](std::uint32_t) { return 0u; });
  auto a = run(src, kA1).answer;
  EXPECT_EQ(a.status, Status::BadData);
  EXPECT_EQ(a.failure, onionmx::record::Failure::None) << "not a DNS failure: no policy applies";
  EXPECT_EQ(raw->fetches, 0);
}

TEST(CaresClient, RecordSetsAreStampedByTheInjectedClock) {
  onionmx::event::Loop loop;
  FakeClock clock;
  onionmx::dns::DnsConfig cfg;
  cfg.servers = {"127.0.0.1:9"};  // discard port: refused at once
  cfg.timeout = std::chrono::milliseconds(500);
  auto client = onionmx::dns::CaresClient::create(loop, cfg, nullptr, clock);
  ASSERT_TRUE(client) << client.error().detail;
  RecordSet got;
  int calls = 0;
  (*client)->fetch({"x@example.org", "example.org", false}, [&](RecordSet s) {
    ++calls;
    got = std::move(s);
  });
  loop.run_until([&] { return calls > 0; });
  ASSERT_EQ(calls, 1);
  EXPECT_EQ(got.status, Status::Temp);
  EXPECT_EQ(got.received, clock.mono);
  EXPECT_EQ(got.owner, "_onion-mx._tcp.example.org");
}

}  // namespace
