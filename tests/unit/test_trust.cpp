// test_trust.cpp - route trust on the lookup side (docs/route-trust.md):
// source::TrustLookup, which asks the policy TXT record and the downgrade
// guard's MTA-STS TXT, MX and TLSA queries with the SRV query, and
// source::TrustGate, which judges a record set by its policy, the domain's
// pin (cache::Cache) and the guard.
//
// The DNS is a scripted fake of both seams (source::SrvLookup and
// source::RrLookup, one object as dns::CaresClient is) that answers at once
// or holds every query until the test answers it; time is a ManualClock.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/log.hpp"
#include "cache/cache.hpp"
#include "common/test_util.hpp"
#include "record/record_set.hpp"
#include "record/route.hpp"
#include "record/trust.hpp"
#include "source/rr_lookup.hpp"
#include "source/srv_lookup.hpp"
#include "source/trust_gate.hpp"
#include "source/trust_lookup.hpp"

namespace {

using onionmx::base::LogLevel;
using onionmx::base::Status;
using onionmx::record::Answer;
using onionmx::record::Failure;
using onionmx::record::GuardFacts;
using onionmx::record::Pin;
using onionmx::record::PolicyFacts;
using onionmx::record::PolicyMode;
using onionmx::record::RecordSet;
using onionmx::record::SrvRecord;
using onionmx::record::TrustSettings;
using onionmx::source::FetchCallback;
using onionmx::source::is_mta_sts_record;
using onionmx::source::Query;
using onionmx::source::RrCallback;
using onionmx::source::RrQuery;
using onionmx::source::RrSet;
using onionmx::source::RrType;
using onionmx::source::TrustGate;
using onionmx::source::TrustLookup;
using onionmx::test::contains;
using onionmx::test::ManualClock;
using namespace std::chrono_literals;

const std::string kA1 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion";
const std::string kA2 = "efjprum3peosirjsilqv6lvlns3476t3njpngaexsyhangeb3mjo7sad.onion";
const std::string kA3 = "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid.onion";

const std::string kDomain = "example.org";
const std::string kPrefix = "_onion-mx._tcp";
const std::string kPolicyName = "_onion-mx._tcp.example.org";
const std::string kMtaStsName = "_mta-sts.example.org";
const std::string kEnforce = "v=ONIONMX1; mode=enforce; max_age=86400";

// ------------------------------------------------------------ answers

RecordSet srv_ok(std::uint32_t ttl = 3600, bool ad = false,
                 std::vector<SrvRecord> recs = {SrvRecord{10, 0, 25, kA1}}) {
  RecordSet s;
  s.status = Status::Ok;
  s.records = std::move(recs);
  s.ttl = ttl;
  s.authenticated = ad;
  s.owner = kPolicyName;
  return s;
}

RecordSet srv_status(Status st, std::uint32_t ttl, std::string reason) {
  RecordSet s;
  s.status = st;
  s.ttl = ttl;
  s.reason = std::move(reason);
  return s;
}

RrSet rr_ok(std::vector<std::string> data, std::uint32_t ttl = 3600, bool ad = false) {
  RrSet s;
  s.status = Status::Ok;
  s.data = std::move(data);
  s.ttl = ttl;
  s.authenticated = ad;
  return s;
}

RrSet rr_none(std::uint32_t ttl = 5, bool ad = false) {
  RrSet s;
  s.status = Status::NotFound;
  s.ttl = ttl;
  s.authenticated = ad;
  s.reason = "NXDOMAIN";
  return s;
}

RrSet rr_temp(std::string reason = "DNS timeout") {
  RrSet s;
  s.status = Status::Temp;
  s.reason = std::move(reason);
  return s;
}

// ------------------------------------------------------------ the fake DNS

// What the fake was asked, kept outside it so a test can read it after the
// TrustLookup (and with it the fake) is gone.
struct DnsLog {
  std::vector<RrQuery> rr;
  std::vector<Query> srv;

  std::vector<std::string> names(RrType t) const {
    std::vector<std::string> out;
    for (const auto& q : rr)
      if (q.type == t) out.push_back(q.name);
    return out;
  }
  const RrQuery* find(const std::string& name, RrType t) const {
    for (const auto& q : rr)
      if (q.name == name && q.type == t) return &q;
    return nullptr;
  }
};

// Both seams in one object, as dns::CaresClient is.  Immediate mode answers
// every query before query()/fetch() returns, from the scripted answers
// (an unscripted RR query is NXDOMAIN); deferred mode holds them until the
// test answers.  Destruction answers whatever is held, Temp unless a
// shutdown answer is scripted, and queries asked meanwhile are refused
// at once, as CaresClient does.
class FakeDns final : public onionmx::source::SrvLookup, public onionmx::source::RrLookup {
 public:
  FakeDns(std::shared_ptr<DnsLog> log, bool deferred) : log_(std::move(log)), deferred_(deferred) {}
  ~FakeDns() override {
    destroying_ = true;
    auto rr = std::move(held_rr_);
    for (auto& [q, cb] : rr) {
      auto it = shutdown_answers.find({q.name, q.type});
      cb(it != shutdown_answers.end() ? it->second : rr_temp("shutting down"));
    }
    auto srv = std::move(held_srv_);
    for (auto& [q, cb] : srv) cb(srv_status(Status::Temp, 0, "shutting down"));
  }

  void fetch(const Query& q, FetchCallback done) override {
    log_->srv.push_back(q);
    if (deferred_ && !destroying_) {
      held_srv_.emplace_back(q, std::move(done));
      return;
    }
    done(destroying_ ? srv_status(Status::Temp, 0, "shutting down") : srv);
  }
  std::size_t pending() const noexcept override { return held_srv_.size(); }

  void query(const RrQuery& q, RrCallback done) override {
    log_->rr.push_back(q);
    if (destroying_) return done(rr_temp("shutting down"));
    if (deferred_) {
      held_rr_.emplace_back(q, std::move(done));
      return;
    }
    done(scripted(q));
  }

  // Deferred mode: answers the held query for (name, type); false if none.
  bool answer(const std::string& name, RrType t, RrSet set) {
    auto it = std::find_if(held_rr_.begin(), held_rr_.end(), [&](const auto& h) {
      return h.first.name == name && h.first.type == t;
    });
    if (it == held_rr_.end()) return false;
    RrCallback cb = std::move(it->second);
    held_rr_.erase(it);
    cb(std::move(set));
    return true;
  }
  // Answers the held query for (name, type) from the script.
  bool answer_scripted(const std::string& name, RrType t) {
    RrQuery q;
    q.name = name;
    q.type = t;
    return answer(name, t, scripted(q));
  }
  bool answer_srv(RecordSet set) {
    if (held_srv_.empty()) return false;
    FetchCallback cb = std::move(held_srv_.front().second);
    held_srv_.erase(held_srv_.begin());
    cb(std::move(set));
    return true;
  }
  std::size_t held_rr() const { return held_rr_.size(); }

  RecordSet srv = srv_ok();
  std::map<std::pair<std::string, RrType>, RrSet> answers;
  std::map<std::pair<std::string, RrType>, RrSet> shutdown_answers;

 private:
  RrSet scripted(const RrQuery& q) const {
    auto it = answers.find({q.name, q.type});
    return it != answers.end() ? it->second : rr_none();
  }

  std::shared_ptr<DnsLog> log_;
  bool deferred_;
  bool destroying_ = false;
  std::vector<std::pair<RrQuery, RrCallback>> held_rr_;
  std::vector<std::pair<Query, FetchCallback>> held_srv_;
};

// A TrustLookup over a FakeDns, with a handle on both.
struct Rig {
  explicit Rig(bool deferred = false, TrustSettings s = {}, std::string prefix = kPrefix)
      : log(std::make_shared<DnsLog>()) {
    auto fake = std::make_unique<FakeDns>(log, deferred);
    dns = fake.get();
    onionmx::source::RrLookup& rr = *fake;
    lookup = std::make_unique<TrustLookup>(std::move(fake), rr, s, std::move(prefix));
  }
  std::shared_ptr<DnsLog> log;
  FakeDns* dns = nullptr;  // owned by `lookup`
  std::unique_ptr<TrustLookup> lookup;
};

struct Got {
  int calls = 0;
  RecordSet set;
};

// Starts a fetch; `got` must outlive the lookup.
void start(TrustLookup& t, Got& got, const std::string& domain = kDomain, bool explain = false) {
  t.fetch(Query{"user@" + domain, domain, explain}, [&got](RecordSet s) {
    ++got.calls;
    got.set = std::move(s);
  });
}

Got fetch_now(Rig& rig, const std::string& domain = kDomain, bool explain = false) {
  Got got;
  start(*rig.lookup, got, domain, explain);
  EXPECT_EQ(got.calls, 1) << "an immediate fake answers before fetch() returns";
  return got;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// ========================================================= is_mta_sts_record

TEST(MtaStsRecord, VersionFirstThenSemicolonOrEnd) {
  // RFC 8461 §3.1: sts-version = %s"v=STSv1", then *WSP ";" or the end.
  EXPECT_TRUE(is_mta_sts_record("v=STSv1; id=1"));
  EXPECT_TRUE(is_mta_sts_record("v=STSv1;id=20240101T000000"));
  EXPECT_TRUE(is_mta_sts_record("v=STSv1"));
  EXPECT_TRUE(is_mta_sts_record("v=STSv1 \t; id=1"));
  EXPECT_TRUE(is_mta_sts_record("v=STSv1  "));
  EXPECT_FALSE(is_mta_sts_record("v=STSv10;"));
  EXPECT_FALSE(is_mta_sts_record("v=STSv1x; id=1"));
  EXPECT_FALSE(is_mta_sts_record("v=stsv1; id=1")) << "the version is case-sensitive";
  EXPECT_FALSE(is_mta_sts_record(" v=STSv1; id=1"));
  EXPECT_FALSE(is_mta_sts_record("v=STSv"));
  EXPECT_FALSE(is_mta_sts_record(""));
  EXPECT_FALSE(is_mta_sts_record("v=spf1 -all"));
  EXPECT_FALSE(is_mta_sts_record("v=STSv1 id=1")) << "a blank is not a separator";
}

// ========================================================= TrustLookup: queries

TEST(TrustLookup, AsksThePolicyMtaStsAndMxWithTheSrvAndSetsAdOnGuardQueries) {
  Rig rig;
  Got got = fetch_now(rig);
  ASSERT_EQ(rig.log->srv.size(), 1u);
  EXPECT_EQ(rig.log->srv[0].domain, kDomain);
  ASSERT_EQ(rig.log->rr.size(), 3u) << "policy TXT, MTA-STS TXT, MX; no TLSA without a secure MX";
  const RrQuery* policy = rig.log->find(kPolicyName, RrType::Txt);
  const RrQuery* sts = rig.log->find(kMtaStsName, RrType::Txt);
  const RrQuery* mx = rig.log->find(kDomain, RrType::Mx);
  ASSERT_TRUE(policy && sts && mx);
  EXPECT_FALSE(policy->trust_ad) << "the policy's AD follows dns.dnssec";
  EXPECT_TRUE(sts->trust_ad);
  EXPECT_TRUE(mx->trust_ad);
  EXPECT_FALSE(policy->explain || sts->explain || mx->explain);
  EXPECT_EQ(got.set.status, Status::Ok);
}

TEST(TrustLookup, ThePolicyNameFollowsTheConfiguredSrvPrefixAndExplainIsPassedOn) {
  Rig rig(false, {}, "_test-mx._tcp");
  Got got = fetch_now(rig, "mail.example.net", true);
  EXPECT_TRUE(rig.log->find("_test-mx._tcp.mail.example.net", RrType::Txt));
  EXPECT_FALSE(rig.log->find("_onion-mx._tcp.mail.example.net", RrType::Txt));
  EXPECT_TRUE(rig.log->find("_mta-sts.mail.example.net", RrType::Txt));
  EXPECT_TRUE(rig.log->find("mail.example.net", RrType::Mx));
  for (const auto& q : rig.log->rr) EXPECT_TRUE(q.explain) << q.name;
  const std::string ex = joined(got.set.explain);
  EXPECT_TRUE(contains(ex, "policy: ")) << ex;
  EXPECT_TRUE(contains(ex, "guard: ")) << ex;
}

TEST(TrustLookup, SettingsOffAskNothingBesidesTheSrv) {
  Rig off(false, TrustSettings{false, false});
  Got got = fetch_now(off);
  EXPECT_TRUE(off.log->rr.empty());
  EXPECT_EQ(off.log->srv.size(), 1u);
  EXPECT_EQ(got.set.status, Status::Ok);
  EXPECT_EQ(got.set.policy.state, PolicyFacts::State::Unknown);
  EXPECT_EQ(got.set.guard.state, GuardFacts::State::Unknown);
  EXPECT_EQ(got.set.ttl, 3600u);

  Rig policy_only(false, TrustSettings{true, false});
  policy_only.dns->answers[{kPolicyName, RrType::Txt}] = rr_ok({kEnforce});
  got = fetch_now(policy_only);
  ASSERT_EQ(policy_only.log->rr.size(), 1u);
  EXPECT_EQ(policy_only.log->rr[0].name, kPolicyName);
  EXPECT_EQ(got.set.policy.state, PolicyFacts::State::Valid);
  EXPECT_EQ(got.set.guard.state, GuardFacts::State::Unknown);

  Rig guard_only(false, TrustSettings{false, true});
  got = fetch_now(guard_only);
  EXPECT_EQ(guard_only.log->rr.size(), 2u);
  EXPECT_FALSE(guard_only.log->find(kPolicyName, RrType::Txt));
  EXPECT_EQ(got.set.policy.state, PolicyFacts::State::Unknown);
  EXPECT_EQ(got.set.guard.state, GuardFacts::State::Checked);
}

TEST(TrustLookup, AfterSrvModeAsksThePartsOnlyForUnauthenticatedRoutes) {
  TrustSettings after_srv;
  after_srv.parallel = false;
  // No route: the SRV query alone.
  for (Status st : {Status::NotFound, Status::Temp}) {
    Rig rig(true, after_srv);
    Got got;
    start(*rig.lookup, got);
    EXPECT_EQ(rig.dns->held_rr(), 0u);
    ASSERT_TRUE(rig.dns->answer_srv(srv_status(st, 30, "no route")));
    EXPECT_EQ(got.calls, 1);
    EXPECT_TRUE(rig.log->rr.empty());
  }
  // A DNSSEC-authenticated route: the policy only.
  {
    Rig rig(true, after_srv);
    Got got;
    start(*rig.lookup, got);
    ASSERT_TRUE(rig.dns->answer_srv(srv_ok(3600, true)));
    ASSERT_EQ(rig.log->rr.size(), 1u);
    EXPECT_EQ(rig.log->rr[0].name, kPolicyName);
    EXPECT_EQ(got.calls, 0);
    ASSERT_TRUE(rig.dns->answer(kPolicyName, RrType::Txt, rr_ok({kEnforce}, 900)));
    ASSERT_EQ(got.calls, 1);
    EXPECT_EQ(got.set.policy.state, PolicyFacts::State::Valid);
    EXPECT_EQ(got.set.guard.state, GuardFacts::State::Unknown);
    EXPECT_EQ(got.set.ttl, 900u);
  }
  // An unauthenticated route: all three, then TLSA, with the same facts
  // as the parallel mode.
  {
    Rig rig(false, after_srv);
    rig.dns->answers[{kPolicyName, RrType::Txt}] = rr_ok({kEnforce}, 1800);
    rig.dns->answers[{kMtaStsName, RrType::Txt}] = rr_ok({"v=STSv1; id=7"}, 1200);
    rig.dns->answers[{kDomain, RrType::Mx}] = rr_ok({"mx1.example.org"}, 900, true);
    rig.dns->answers[{"_25._tcp.mx1.example.org", RrType::Tlsa}] = rr_ok({""}, 600, true);
    Got got = fetch_now(rig);
    EXPECT_EQ(rig.log->rr.size(), 4u);
    EXPECT_EQ(got.set.policy.state, PolicyFacts::State::Valid);
    EXPECT_EQ(got.set.guard.state, GuardFacts::State::Checked);
    EXPECT_TRUE(got.set.guard.mta_sts);
    EXPECT_TRUE(got.set.guard.dane);
    EXPECT_EQ(got.set.ttl, 600u);
  }
  // Shutdown with the SRV pending: answered once, nothing else asked.
  Got late;
  auto log = std::make_shared<DnsLog>();
  {
    Rig rig(true, after_srv);
    log = rig.log;
    start(*rig.lookup, late);
  }
  EXPECT_EQ(late.calls, 1);
  EXPECT_EQ(late.set.status, Status::Temp);
  EXPECT_TRUE(log->rr.empty());
}

// ========================================================= TrustLookup: waiting

TEST(TrustLookup, NotFoundOrFailedSrvIsAnsweredWithoutWaitingForTheOtherParts) {
  for (Status st : {Status::NotFound, Status::Temp}) {
    Rig rig(true);
    Got got;
    start(*rig.lookup, got);
    EXPECT_EQ(rig.dns->held_rr(), 3u);
    ASSERT_TRUE(rig.dns->answer_srv(srv_status(st, 30, "NXDOMAIN or timeout")));
    ASSERT_EQ(got.calls, 1) << "answered while the three parts are still held";
    EXPECT_EQ(got.set.status, st);
    EXPECT_EQ(got.set.ttl, 30u);
    EXPECT_EQ(got.set.policy.state, PolicyFacts::State::Unknown);
    EXPECT_EQ(got.set.guard.state, GuardFacts::State::Unknown);
    // Late parts change nothing, and a secure MX no longer leads to TLSA.
    EXPECT_TRUE(rig.dns->answer(kPolicyName, RrType::Txt, rr_ok({kEnforce})));
    EXPECT_TRUE(rig.dns->answer(kMtaStsName, RrType::Txt, rr_ok({"v=STSv1; id=1"})));
    EXPECT_TRUE(rig.dns->answer(kDomain, RrType::Mx, rr_ok({"mx1.example.org"}, 300, true)));
    EXPECT_EQ(got.calls, 1);
    EXPECT_TRUE(rig.log->names(RrType::Tlsa).empty());
  }
}

TEST(TrustLookup, AnAuthenticatedSrvWaitsForThePolicyButNotForTheGuard) {
  Rig rig(true);
  Got got;
  start(*rig.lookup, got);
  ASSERT_TRUE(rig.dns->answer_srv(srv_ok(3600, true)));
  EXPECT_EQ(got.calls, 0) << "the policy decides pins: it is always waited for";
  ASSERT_TRUE(rig.dns->answer(kPolicyName, RrType::Txt, rr_ok({kEnforce}, 900, true)));
  ASSERT_EQ(got.calls, 1) << "MTA-STS and MX still held";
  EXPECT_EQ(rig.dns->held_rr(), 2u);
  EXPECT_TRUE(got.set.authenticated);
  EXPECT_EQ(got.set.policy.state, PolicyFacts::State::Valid);
  EXPECT_TRUE(got.set.policy.authenticated);
  EXPECT_EQ(got.set.guard.state, GuardFacts::State::Unknown) << "the guard did not finish";
  EXPECT_EQ(got.set.ttl, 900u);
  EXPECT_TRUE(rig.dns->answer(kMtaStsName, RrType::Txt, rr_ok({"v=STSv1; id=1"})));
  EXPECT_TRUE(rig.dns->answer(kDomain, RrType::Mx, rr_ok({"mx1.example.org"}, 300, true)));
  EXPECT_EQ(got.calls, 1);
  EXPECT_TRUE(rig.log->names(RrType::Tlsa).empty()) << "nothing left to guard";
}

TEST(TrustLookup, AnUnauthenticatedSrvWaitsForEveryPartIncludingTlsa) {
  Rig rig(true);
  Got got;
  start(*rig.lookup, got);
  ASSERT_TRUE(rig.dns->answer_srv(srv_ok()));
  ASSERT_TRUE(rig.dns->answer(kPolicyName, RrType::Txt, rr_none()));
  ASSERT_TRUE(rig.dns->answer(kMtaStsName, RrType::Txt, rr_none()));
  EXPECT_EQ(got.calls, 0);
  ASSERT_TRUE(rig.dns->answer(kDomain, RrType::Mx,
                              rr_ok({"mx1.example.org", "mx2.example.org"}, 300, true)));
  EXPECT_EQ(got.calls, 0) << "two TLSA queries are out";
  EXPECT_EQ(rig.log->names(RrType::Tlsa),
            (std::vector<std::string>{"_25._tcp.mx1.example.org", "_25._tcp.mx2.example.org"}));
  ASSERT_TRUE(rig.dns->answer("_25._tcp.mx2.example.org", RrType::Tlsa, rr_ok({""}, 200, true)));
  EXPECT_EQ(got.calls, 0);
  ASSERT_TRUE(rig.dns->answer("_25._tcp.mx1.example.org", RrType::Tlsa, rr_none()));
  ASSERT_EQ(got.calls, 1);
  EXPECT_EQ(got.set.guard.state, GuardFacts::State::Checked);
  EXPECT_TRUE(got.set.guard.dane);
  EXPECT_EQ(got.set.guard.dane_host, "mx2.example.org");
  EXPECT_FALSE(got.set.guard.mta_sts);
  EXPECT_EQ(got.set.policy.state, PolicyFacts::State::Absent);
  EXPECT_EQ(got.set.ttl, 200u);
}

// The same facts whatever order the answers arrive in.
TEST(TrustLookup, ImmediateAndDeferredAnswersInAnyOrderGiveTheSameSet) {
  auto script = [](FakeDns& d) {
    d.srv = srv_ok(3600);
    d.answers[{kPolicyName, RrType::Txt}] = rr_ok({"v=spf1 -all", kEnforce}, 1800);
    d.answers[{kMtaStsName, RrType::Txt}] = rr_ok({"v=STSv1; id=7"}, 1200);
    d.answers[{kDomain, RrType::Mx}] = rr_ok({"mx1.example.org", "mx2.example.org"}, 900, true);
    d.answers[{"_25._tcp.mx2.example.org", RrType::Tlsa}] = rr_ok({"", ""}, 600, true);
  };
  auto check = [](const Got& got, const std::string& how) {
    ASSERT_EQ(got.calls, 1) << how;
    EXPECT_EQ(got.set.status, Status::Ok) << how;
    EXPECT_EQ(got.set.policy.state, PolicyFacts::State::Valid) << how;
    EXPECT_EQ(got.set.policy.policy.mode, PolicyMode::Enforce) << how;
    EXPECT_EQ(got.set.policy.policy.max_age, 86400u) << how;
    EXPECT_EQ(got.set.guard.state, GuardFacts::State::Checked) << how;
    EXPECT_TRUE(got.set.guard.mta_sts) << how;
    EXPECT_TRUE(got.set.guard.dane) << how;
    EXPECT_EQ(got.set.guard.dane_host, "mx2.example.org") << how;
    EXPECT_EQ(got.set.ttl, 600u) << how;
  };
  {
    Rig rig;
    script(*rig.dns);
    check(fetch_now(rig), "immediate");
  }
  // Deferred: the SRV before each part, or after all of them.
  for (int srv_at = 0; srv_at <= 3; ++srv_at) {
    Rig rig(true);
    script(*rig.dns);
    Got got;
    start(*rig.lookup, got);
    const std::vector<std::pair<std::string, RrType>> order = {
        {kDomain, RrType::Mx}, {kPolicyName, RrType::Txt}, {kMtaStsName, RrType::Txt}};
    for (std::size_t i = 0; i < order.size(); ++i) {
      if (static_cast<int>(i) == srv_at) {
        ASSERT_TRUE(rig.dns->answer_srv(rig.dns->srv));
      }
      ASSERT_TRUE(rig.dns->answer_scripted(order[i].first, order[i].second));
      EXPECT_EQ(got.calls, 0);
    }
    ASSERT_TRUE(rig.dns->answer_scripted("_25._tcp.mx1.example.org", RrType::Tlsa));
    EXPECT_EQ(got.calls, 0);
    ASSERT_TRUE(rig.dns->answer_scripted("_25._tcp.mx2.example.org", RrType::Tlsa));
    EXPECT_EQ(got.calls, srv_at < 3 ? 1 : 0);
    if (srv_at == 3) {
      ASSERT_TRUE(rig.dns->answer_srv(rig.dns->srv));
    }
    check(got, "deferred, SRV answered at step " + std::to_string(srv_at));
  }
}

// ========================================================= TrustLookup: the policy

struct PolicyCase {
  const char* what;
  RrSet txt;
  PolicyFacts::State state;
  const char* reason_has;  // Invalid, Failed
};

TEST(TrustLookup, PolicyStateFollowsTheTxtAnswer) {
  const PolicyCase cases[] = {
      {"one policy record", rr_ok({kEnforce}), PolicyFacts::State::Valid, ""},
      {"policy among SPF noise",
       rr_ok({"v=spf1 -all", "v=ONIONMX1; mode=testing; max_age=600", "hello world"}),
       PolicyFacts::State::Valid, ""},
      {"only SPF", rr_ok({"v=spf1 mx -all"}), PolicyFacts::State::Absent, ""},
      {"v=ONIONMX10 is another version", rr_ok({"v=ONIONMX10; mode=enforce; max_age=1"}),
       PolicyFacts::State::Absent, ""},
      {"NXDOMAIN", rr_none(), PolicyFacts::State::Absent, ""},
      {"two policy records", rr_ok({kEnforce, "v=ONIONMX1; mode=none; max_age=0"}),
       PolicyFacts::State::Invalid, "more than one"},
      {"bad mode", rr_ok({"v=ONIONMX1; mode=strict; max_age=60"}), PolicyFacts::State::Invalid,
       "mode"},
      {"no max_age", rr_ok({"v=ONIONMX1; mode=enforce"}), PolicyFacts::State::Invalid, "max_age"},
      {"timeout", rr_temp("DNS timeout: no usable answer within 5000 ms"),
       PolicyFacts::State::Failed, "DNS timeout"},
  };
  for (const auto& c : cases) {
    Rig rig;
    rig.dns->answers[{kPolicyName, RrType::Txt}] = c.txt;
    Got got = fetch_now(rig);
    const PolicyFacts& p = got.set.policy;
    EXPECT_EQ(p.state, c.state) << c.what;
    EXPECT_TRUE(contains(p.reason, c.reason_has)) << c.what << ": " << p.reason;
    if (c.state == PolicyFacts::State::Invalid || c.state == PolicyFacts::State::Failed) {
      EXPECT_FALSE(p.reason.empty()) << c.what;
    }
  }
  Rig rig;
  rig.dns->answers[{kPolicyName, RrType::Txt}] =
      rr_ok({"v=spf1 -all", "v=ONIONMX1; mode=testing; max_age=600"}, 3600, true);
  Got got = fetch_now(rig);
  EXPECT_EQ(got.set.policy.policy.mode, PolicyMode::Testing);
  EXPECT_EQ(got.set.policy.policy.max_age, 600u);
  EXPECT_TRUE(got.set.policy.authenticated);

  Rig denied;
  denied.dns->answers[{kPolicyName, RrType::Txt}] = rr_none(5, true);
  got = fetch_now(denied);
  EXPECT_EQ(got.set.policy.state, PolicyFacts::State::Absent);
  EXPECT_TRUE(got.set.policy.authenticated) << "an authenticated denial can withdraw a pin";
}

// ========================================================= TrustLookup: the guard

TEST(TrustLookup, MtaStsIsSeenOnlyInAnSTSv1Record) {
  struct Case {
    std::vector<std::string> txt;
    bool mta_sts;
  };
  const Case cases[] = {
      {{"v=STSv1; id=20240101"}, true}, {{"v=spf1 -all", "v=STSv1"}, true},
      {{"v=STSv10; id=1"}, false},      {{"v=stsv1; id=1"}, false},
      {{"v=spf1 -all"}, false},
  };
  for (const auto& c : cases) {
    Rig rig;
    rig.dns->answers[{kMtaStsName, RrType::Txt}] = rr_ok(c.txt);
    Got got = fetch_now(rig);
    EXPECT_EQ(got.set.guard.state, GuardFacts::State::Checked) << c.txt.back();
    EXPECT_EQ(got.set.guard.mta_sts, c.mta_sts) << c.txt.back();
    EXPECT_FALSE(got.set.guard.dane);
  }
}

TEST(TrustLookup, AnInsecureMxRrsetAsksNoTlsa) {
  Rig rig;
  rig.dns->answers[{kDomain, RrType::Mx}] = rr_ok({"mx1.example.org", "mx2.example.org"}, 300);
  rig.dns->answers[{"_25._tcp.mx1.example.org", RrType::Tlsa}] = rr_ok({""}, 300, true);
  Got got = fetch_now(rig);
  EXPECT_TRUE(rig.log->names(RrType::Tlsa).empty()) << "RFC 7672 §2.2.1";
  EXPECT_EQ(got.set.guard.state, GuardFacts::State::Checked);
  EXPECT_FALSE(got.set.guard.dane);
}

TEST(TrustLookup, ASecureMxRrsetAsksTlsaForAtMostEightHostsSkippingTheNullMx) {
  Rig rig;
  std::vector<std::string> hosts = {""};
  for (int i = 0; i < 10; ++i) hosts.push_back("mx" + std::to_string(i) + ".example.org");
  rig.dns->answers[{kDomain, RrType::Mx}] = rr_ok(hosts, 300, true);
  Got got = fetch_now(rig);
  std::vector<std::string> want;
  want.reserve(8);
  for (int i = 0; i < 8; ++i) want.push_back("_25._tcp.mx" + std::to_string(i) + ".example.org");
  EXPECT_EQ(rig.log->names(RrType::Tlsa), want);
  for (const auto& q : rig.log->rr)
    if (q.type == RrType::Tlsa) {
      EXPECT_TRUE(q.trust_ad) << q.name;
    }
  EXPECT_EQ(got.set.guard.state, GuardFacts::State::Checked);
  EXPECT_FALSE(got.set.guard.dane) << "no TLSA records anywhere";

  Rig null_only;
  null_only.dns->answers[{kDomain, RrType::Mx}] = rr_ok({""}, 300, true);
  fetch_now(null_only);
  EXPECT_TRUE(null_only.log->names(RrType::Tlsa).empty()) << "RFC 7505 null MX";
}

TEST(TrustLookup, OnlyAuthenticatedTlsaRecordsMeanDane) {
  for (bool tlsa_ad : {false, true}) {
    Rig rig;
    rig.dns->answers[{kDomain, RrType::Mx}] =
        rr_ok({"mx1.example.org", "mx2.example.org"}, 300, true);
    rig.dns->answers[{"_25._tcp.mx2.example.org", RrType::Tlsa}] = rr_ok({""}, 300, tlsa_ad);
    Got got = fetch_now(rig);
    EXPECT_EQ(got.set.guard.dane, tlsa_ad);
    EXPECT_EQ(got.set.guard.dane_host, tlsa_ad ? "mx2.example.org" : "");
    EXPECT_EQ(got.set.guard.state, GuardFacts::State::Checked);
  }
}

TEST(TrustLookup, AFailedGuardQueryFailsTheGuardUnlessAnotherPartAlreadyRequiresIt) {
  // TLSA timeout, nothing else published: cannot tell.
  {
    Rig rig;
    rig.dns->answers[{kDomain, RrType::Mx}] = rr_ok({"mx1.example.org"}, 300, true);
    rig.dns->answers[{"_25._tcp.mx1.example.org", RrType::Tlsa}] = rr_temp("SERVFAIL");
    Got got = fetch_now(rig);
    EXPECT_EQ(got.set.guard.state, GuardFacts::State::Failed);
    EXPECT_TRUE(contains(got.set.guard.reason, "_25._tcp.mx1.example.org TLSA"))
        << got.set.guard.reason;
    EXPECT_TRUE(contains(got.set.guard.reason, "SERVFAIL")) << got.set.guard.reason;
  }
  // The same timeout with MTA-STS published: the guard applies anyway.
  {
    Rig rig;
    rig.dns->answers[{kMtaStsName, RrType::Txt}] = rr_ok({"v=STSv1; id=1"});
    rig.dns->answers[{kDomain, RrType::Mx}] = rr_ok({"mx1.example.org"}, 300, true);
    rig.dns->answers[{"_25._tcp.mx1.example.org", RrType::Tlsa}] = rr_temp("SERVFAIL");
    Got got = fetch_now(rig);
    EXPECT_EQ(got.set.guard.state, GuardFacts::State::Checked);
    EXPECT_TRUE(got.set.guard.mta_sts);
  }
  // One host's TLSA fails, another's is secure: DANE applies.
  {
    Rig rig;
    rig.dns->answers[{kDomain, RrType::Mx}] =
        rr_ok({"mx1.example.org", "mx2.example.org"}, 300, true);
    rig.dns->answers[{"_25._tcp.mx1.example.org", RrType::Tlsa}] = rr_temp("SERVFAIL");
    rig.dns->answers[{"_25._tcp.mx2.example.org", RrType::Tlsa}] = rr_ok({""}, 300, true);
    Got got = fetch_now(rig);
    EXPECT_EQ(got.set.guard.state, GuardFacts::State::Checked);
    EXPECT_TRUE(got.set.guard.dane);
  }
  // The MTA-STS and MX queries themselves failing.
  {
    Rig rig;
    rig.dns->answers[{kMtaStsName, RrType::Txt}] = rr_temp("REFUSED");
    Got got = fetch_now(rig);
    EXPECT_EQ(got.set.guard.state, GuardFacts::State::Failed);
    EXPECT_TRUE(contains(got.set.guard.reason, kMtaStsName + " TXT")) << got.set.guard.reason;
  }
  {
    Rig rig;
    rig.dns->answers[{kDomain, RrType::Mx}] = rr_temp("REFUSED");
    Got got = fetch_now(rig);
    EXPECT_EQ(got.set.guard.state, GuardFacts::State::Failed);
    EXPECT_TRUE(contains(got.set.guard.reason, kDomain + " MX")) << got.set.guard.reason;
  }
  {
    Rig rig;
    rig.dns->answers[{kMtaStsName, RrType::Txt}] = rr_ok({"v=STSv1; id=1"});
    rig.dns->answers[{kDomain, RrType::Mx}] = rr_temp("REFUSED");
    Got got = fetch_now(rig);
    EXPECT_EQ(got.set.guard.state, GuardFacts::State::Checked);
    EXPECT_TRUE(got.set.guard.mta_sts);
  }
}

// ========================================================= TrustLookup: TTL

TEST(TrustLookup, TheSetLivesForTheSmallestPositiveTtlOfItsParts) {
  struct Case {
    const char* what;
    std::uint32_t srv_ttl;
    std::map<std::pair<std::string, RrType>, RrSet> answers;
    std::uint32_t want;
  };
  const Case cases[] = {
      {"all positive, the policy smallest",
       3600,
       {{{kPolicyName, RrType::Txt}, rr_ok({kEnforce}, 600)},
        {{kMtaStsName, RrType::Txt}, rr_ok({"v=spf1"}, 900)},
        {{kDomain, RrType::Mx}, rr_ok({"mx1.example.org"}, 1200)}},
       600},
      {"the MX smallest",
       3600,
       {{{kPolicyName, RrType::Txt}, rr_ok({kEnforce}, 600)},
        {{kDomain, RrType::Mx}, rr_ok({"mx1.example.org"}, 100)}},
       100},
      {"the SRV smallest", 30, {{{kPolicyName, RrType::Txt}, rr_ok({kEnforce}, 600)}}, 30},
      {"denials do not shorten",
       3600,
       {{{kPolicyName, RrType::Txt}, rr_none(5)},
        {{kMtaStsName, RrType::Txt}, rr_none(5)},
        {{kDomain, RrType::Mx}, rr_none(5)}},
       3600},
      {"a secure TLSA RRset counts",
       3600,
       {{{kDomain, RrType::Mx}, rr_ok({"mx1.example.org"}, 1200, true)},
        {{"_25._tcp.mx1.example.org", RrType::Tlsa}, rr_ok({""}, 150, true)}},
       150},
      {"a TLSA denial does not",
       3600,
       {{{kDomain, RrType::Mx}, rr_ok({"mx1.example.org"}, 1200, true)},
        {{"_25._tcp.mx1.example.org", RrType::Tlsa}, rr_none(5, true)}},
       1200},
      {"a failed policy part caps at 60", 3600, {{{kPolicyName, RrType::Txt}, rr_temp()}}, 60},
      {"a failed policy part never lengthens", 20, {{{kPolicyName, RrType::Txt}, rr_temp()}}, 20},
  };
  for (const auto& c : cases) {
    Rig rig;
    rig.dns->srv = srv_ok(c.srv_ttl);
    rig.dns->answers = c.answers;
    Got got = fetch_now(rig);
    EXPECT_EQ(got.set.ttl, c.want) << c.what;
  }
}

// ========================================================= TrustLookup: shutdown

TEST(TrustLookup, DestructionAnswersEveryPendingFetchExactlyOnce) {
  Got parts_left, tlsa_left, late_mx;
  std::shared_ptr<DnsLog> log;
  {
    Rig rig(true);
    log = rig.log;
    start(*rig.lookup, parts_left, "a.example");
    start(*rig.lookup, tlsa_left, "c.example");
    start(*rig.lookup, late_mx, "d.example");
    ASSERT_EQ(rig.dns->pending(), 3u);
    // SRV answers leave in fetch order: a, c, d.
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(rig.dns->answer_srv(srv_ok()));
    // c.example: only its two TLSA queries are left.
    ASSERT_TRUE(rig.dns->answer("_onion-mx._tcp.c.example", RrType::Txt, rr_none()));
    ASSERT_TRUE(rig.dns->answer("_mta-sts.c.example", RrType::Txt, rr_none()));
    ASSERT_TRUE(rig.dns->answer("c.example", RrType::Mx,
                                rr_ok({"mx1.c.example", "mx2.c.example"}, 300, true)));
    EXPECT_EQ(log->names(RrType::Tlsa).size(), 2u);
    // d.example's MX arrives, secure, only while the client shuts down: no
    // TLSA query may leave then.
    rig.dns->shutdown_answers[{"d.example", RrType::Mx}] = rr_ok({"mx1.d.example"}, 300, true);
    EXPECT_EQ(parts_left.calls + tlsa_left.calls + late_mx.calls, 0)
        << "every fetch still waits for a part";
  }  // the TrustLookup and its fake go here
  for (const Got* g : {&parts_left, &tlsa_left, &late_mx}) {
    EXPECT_EQ(g->calls, 1);
    EXPECT_EQ(g->set.status, Status::Ok);
    EXPECT_EQ(g->set.guard.state, GuardFacts::State::Failed) << g->set.guard.reason;
    EXPECT_TRUE(contains(g->set.guard.reason, "shutting down")) << g->set.guard.reason;
  }
  EXPECT_EQ(parts_left.set.policy.state, PolicyFacts::State::Failed);
  EXPECT_EQ(tlsa_left.set.policy.state, PolicyFacts::State::Absent);
  EXPECT_TRUE(contains(tlsa_left.set.guard.reason, "TLSA")) << tlsa_left.set.guard.reason;
  EXPECT_EQ(log->names(RrType::Tlsa).size(), 2u) << "no TLSA query asked during shutdown";
}

TEST(TrustLookup, DestructionWithTheSrvItselfPendingAnswersEachFetchOnce) {
  Got a, b;
  {
    Rig rig(true);
    start(*rig.lookup, a);
    start(*rig.lookup, b, "other.example");
    ASSERT_TRUE(rig.dns->answer(kPolicyName, RrType::Txt, rr_ok({kEnforce})));
  }
  for (const Got* g : {&a, &b}) {
    EXPECT_EQ(g->calls, 1);
    EXPECT_EQ(g->set.status, Status::Temp);
    EXPECT_EQ(g->set.reason, "shutting down");
  }
}

// ========================================================= TrustGate

// A record set as TrustLookup (or the cache) hands it to the gate.
RecordSet routes(std::vector<std::string> onions, bool ad = false) {
  std::vector<SrvRecord> recs;
  recs.reserve(onions.size());
  std::uint16_t prio = 10;
  for (auto& o : onions) recs.push_back(SrvRecord{prio++, 0, 25, std::move(o)});
  return srv_ok(3600, ad, std::move(recs));
}

PolicyFacts policy(PolicyMode mode, std::uint32_t max_age, bool ad = false) {
  PolicyFacts p;
  p.state = PolicyFacts::State::Valid;
  p.policy.mode = mode;
  p.policy.max_age = max_age;
  p.authenticated = ad;
  return p;
}

GuardFacts guard(bool mta_sts, bool dane = false) {
  GuardFacts g;
  g.state = GuardFacts::State::Checked;
  g.mta_sts = mta_sts;
  g.dane = dane;
  if (dane) g.dane_host = "mx1.example.org";
  return g;
}

GuardFacts guard_failed() {
  GuardFacts g;
  g.state = GuardFacts::State::Failed;
  g.reason = "_mta-sts.example.org TXT: DNS timeout";
  return g;
}

std::vector<std::string> onions_of(const Answer& a) {
  std::vector<std::string> out;
  out.reserve(a.routes.size());
  for (const auto& r : a.routes) out.push_back(r.onion);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> onions_of(const Pin& p) {
  std::vector<std::string> out;
  out.reserve(p.records.size());
  for (const auto& r : p.records) out.push_back(r.target);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

class Gate : public ::testing::Test {
 protected:
  Gate() { make_gate({}); }

  void make_gate(TrustSettings s, bool with_cache = true) {
    if (!with_cache) cache.reset();
    gate = std::make_unique<TrustGate>(
        cache, clock,
        [this](LogLevel l, std::string_view m) { logs.emplace_back(l, std::string(m)); }, s);
  }

  Answer judge(RecordSet s, PolicyFacts p = {}, GuardFacts g = {}, bool explain = false) {
    s.policy = std::move(p);
    s.guard = std::move(g);
    return gate->judge(std::move(s), Query{"user@" + kDomain, kDomain, explain},
                       [](std::uint32_t) { return 0u; });
  }

  std::int64_t now() const {
    return std::chrono::duration_cast<std::chrono::seconds>(clock.wall_time.time_since_epoch())
        .count();
  }

  // Pins `onions` as an enforce policy with `max_age` would have.
  void pin(std::vector<std::string> onions, std::uint32_t max_age = 86400) {
    std::vector<SrvRecord> recs;
    recs.reserve(onions.size());
    for (auto& o : onions) recs.push_back(SrvRecord{10, 0, 25, std::move(o)});
    cache->put_pin(Pin{kDomain, std::move(recs), now() + max_age, max_age});
  }

  const Pin* the_pin() const { return cache->pin(kDomain); }

  bool logged(LogLevel level, std::string_view text) const {
    return std::any_of(logs.begin(), logs.end(),
                       [&](const auto& l) { return l.first == level && contains(l.second, text); });
  }
  std::string all_logs() const {
    std::string out;
    for (const auto& l : logs)
      out += std::to_string(static_cast<int>(l.first)) + " " + l.second + "\n";
    return out;
  }

  ManualClock clock;
  std::shared_ptr<onionmx::cache::Cache> cache =
      std::make_shared<onionmx::cache::Cache>(onionmx::cache::Settings{});
  std::vector<std::pair<LogLevel, std::string>> logs;
  std::unique_ptr<TrustGate> gate;
};

// ------------------------------------------------------------ pins

TEST_F(Gate, EnforcePinsTheRoutesUsedForMaxAge) {
  RecordSet s = routes({kA1, kA2});
  s.records[1].port = 2525;
  Answer a = judge(std::move(s), policy(PolicyMode::Enforce, 86400));
  EXPECT_EQ(a.status, Status::Ok);
  EXPECT_EQ(a.source, "dns");
  ASSERT_TRUE(the_pin());
  EXPECT_EQ(the_pin()->domain, kDomain);
  EXPECT_EQ(the_pin()->expires, now() + 86400);
  EXPECT_EQ(the_pin()->max_age, 86400u);
  ASSERT_EQ(the_pin()->records.size(), 2u);
  EXPECT_EQ(onions_of(*the_pin()), sorted({kA1, kA2}));
  for (const auto& r : the_pin()->records)
    EXPECT_EQ(r.port, r.target == kA2 ? 2525 : 25) << "ports, priorities and weights are kept";
  EXPECT_TRUE(logged(LogLevel::Info, "pinned until")) << all_logs();
  EXPECT_TRUE(a.policy.present);
  EXPECT_EQ(a.policy.mode, "enforce");
  EXPECT_EQ(a.policy.max_age, 86400u);
  EXPECT_TRUE(a.policy.pinned);
  EXPECT_EQ(a.policy.pin_expires, now() + 86400);
  EXPECT_FALSE(a.policy.authenticated);
  EXPECT_TRUE(a.policy.error.empty());
}

TEST_F(Gate, APinIsRefreshedOnlyWhenItsExpiryMovesByMoreThanTheSlack) {
  judge(routes({kA1}), policy(PolicyMode::Enforce, 3600));
  const std::int64_t first = now() + 3600;
  ASSERT_TRUE(the_pin());
  EXPECT_TRUE(cache->dirty());
  cache->mark_saved();
  clock.advance(60s);
  judge(routes({kA1}), policy(PolicyMode::Enforce, 3600));
  EXPECT_EQ(the_pin()->expires, first) << "a cache hit must not rewrite the pin every time";
  EXPECT_FALSE(cache->dirty());
  clock.advance(1s);
  Answer a = judge(routes({kA1}), policy(PolicyMode::Enforce, 3600));
  EXPECT_EQ(the_pin()->expires, now() + 3600);
  EXPECT_EQ(a.policy.pin_expires, now() + 3600);
  EXPECT_TRUE(cache->dirty());
}

TEST_F(Gate, ChangedPortsOfPinnedOnionsArePinnedAtOnce) {
  pin({kA1});
  RecordSet s = routes({kA1});
  s.records[0].port = 2525;
  Answer a = judge(std::move(s), policy(PolicyMode::Enforce, 86400));
  EXPECT_EQ(a.status, Status::Ok);
  EXPECT_EQ(a.routes.at(0).port, 2525) << "a pin holds onions; ports follow DNS";
  ASSERT_TRUE(the_pin());
  EXPECT_EQ(the_pin()->records.at(0).port, 2525);
}

TEST_F(Gate, TestingAndNoneDoNotPin) {
  for (PolicyMode m : {PolicyMode::Testing, PolicyMode::None}) {
    Answer a = judge(routes({kA1}), policy(m, 86400));
    EXPECT_EQ(a.status, Status::Ok);
    EXPECT_FALSE(the_pin());
    EXPECT_TRUE(a.policy.present);
    EXPECT_EQ(a.policy.mode, m == PolicyMode::Testing ? "testing" : "none");
    EXPECT_FALSE(a.policy.pinned);
    EXPECT_EQ(a.policy.pin_expires, 0);
  }
  EXPECT_EQ(cache->pin_count(), 0u);
}

TEST_F(Gate, EnforceWithMaxAgeZeroPinsNothingAndRemovesALivePin) {
  Answer a = judge(routes({kA1}), policy(PolicyMode::Enforce, 0));
  EXPECT_EQ(a.status, Status::Ok);
  EXPECT_FALSE(the_pin());
  pin({kA1});
  a = judge(routes({kA1}), policy(PolicyMode::Enforce, 0));
  EXPECT_EQ(a.status, Status::Ok);
  EXPECT_FALSE(the_pin());
  EXPECT_FALSE(a.policy.pinned);
}

TEST_F(Gate, TestingOrNoneUnderALivePinRemovesItOnlyWhenAuthenticated) {
  for (PolicyMode m : {PolicyMode::Testing, PolicyMode::None}) {
    cache->clear();
    pin({kA1});
    const std::int64_t expires = the_pin()->expires;
    Answer a = judge(routes({kA1}), policy(m, 600, false));
    ASSERT_TRUE(the_pin()) << "an unauthenticated withdrawal waits for max_age (RFC 8461 §5.1)";
    EXPECT_EQ(the_pin()->expires, expires);
    EXPECT_TRUE(a.policy.pinned);
    EXPECT_EQ(a.policy.pin_expires, expires);
    EXPECT_EQ(a.policy.mode, m == PolicyMode::Testing ? "testing" : "none");

    a = judge(routes({kA1}), policy(m, 600, true));
    EXPECT_FALSE(the_pin());
    EXPECT_FALSE(a.policy.pinned);
    EXPECT_EQ(a.policy.pin_expires, 0);
    EXPECT_TRUE(a.policy.authenticated);
    EXPECT_TRUE(logged(LogLevel::Info, "pin removed")) << all_logs();
  }
}

// docs/route-trust.md: "the record goes away ... the pin is removed only
// when the TXT answer is DNSSEC-authenticated".
TEST_F(Gate, APolicyRecordGoneUnderALivePinIsRemovedOnlyWhenAuthenticated) {
  pin({kA1});
  PolicyFacts gone;
  gone.state = PolicyFacts::State::Absent;
  judge(routes({kA1}), gone);
  EXPECT_TRUE(the_pin()) << "an unauthenticated denial keeps the pin";
  gone.authenticated = true;
  Answer a = judge(routes({kA1}), gone);
  EXPECT_FALSE(the_pin()) << "a DNSSEC-authenticated denial of the policy record withdraws it";
  EXPECT_FALSE(a.policy.pinned);
}

TEST_F(Gate, AnInvalidPolicyUnderALivePinLeavesThePinAndIsReported) {
  pin({kA1});
  PolicyFacts bad;
  bad.state = PolicyFacts::State::Invalid;
  bad.reason = "more than one v=ONIONMX1 record";
  bad.authenticated = true;
  Answer a = judge(routes({kA1}), bad);
  EXPECT_EQ(a.status, Status::Ok);
  ASSERT_TRUE(the_pin()) << "an invalid record counts as no policy and leaves the pin";
  EXPECT_TRUE(logged(LogLevel::Warning, "invalid policy record")) << all_logs();
  EXPECT_TRUE(a.policy.present);
  EXPECT_EQ(a.policy.mode, "invalid");
  EXPECT_EQ(a.policy.error, "more than one v=ONIONMX1 record");
  EXPECT_TRUE(a.policy.authenticated);
  EXPECT_TRUE(a.policy.pinned);
}

TEST_F(Gate, AChangedOnionUnderALivePinWithoutDnssecAnswersThePinnedRoute) {
  pin({kA1});
  const std::int64_t expires = the_pin()->expires;
  Answer a = judge(routes({kA2}), policy(PolicyMode::Enforce, 86400), {}, true);
  EXPECT_EQ(a.status, Status::Ok);
  EXPECT_EQ(onions_of(a), std::vector<std::string>{kA1});
  EXPECT_EQ(a.source, "pin");
  EXPECT_FALSE(a.authenticated);
  EXPECT_TRUE(contains(a.reason, "possible hijack")) << a.reason;
  EXPECT_TRUE(logged(LogLevel::Warning, "possible hijack")) << all_logs();
  EXPECT_TRUE(logged(LogLevel::Warning, kA2)) << "the log names the new onion";
  EXPECT_TRUE(logged(LogLevel::Warning, kA1)) << "and the pinned one";
  ASSERT_TRUE(the_pin());
  EXPECT_EQ(onions_of(*the_pin()), std::vector<std::string>{kA1});
  EXPECT_EQ(the_pin()->expires, expires) << "a held route does not refresh the pin";
  EXPECT_EQ(cache->stats().pin_holds, 1u);
  EXPECT_TRUE(a.policy.pinned);
  EXPECT_TRUE(contains(joined(a.explain), "policy: ")) << joined(a.explain);
}

TEST_F(Gate, ACachedChangedOnionRepeatsTheWarningOnlyAtDebug) {
  pin({kA1});
  RecordSet s = routes({kA2});
  s.from_cache = true;
  Answer a = judge(std::move(s));
  EXPECT_EQ(a.source, "pin");
  EXPECT_TRUE(logged(LogLevel::Debug, "possible hijack")) << all_logs();
  EXPECT_FALSE(logged(LogLevel::Warning, "possible hijack")) << all_logs();
}

TEST_F(Gate, ASupersetOfThePinnedOnionsIsHeld) {
  pin({kA1});
  Answer a = judge(routes({kA1, kA3}));
  EXPECT_EQ(a.source, "pin");
  EXPECT_EQ(onions_of(a), std::vector<std::string>{kA1});
}

TEST_F(Gate, AChangedOnionWithDnssecIsAcceptedAndPinnedAnew) {
  pin({kA1});
  Answer a = judge(routes({kA2}, true), policy(PolicyMode::Enforce, 7200));
  EXPECT_EQ(a.status, Status::Ok);
  EXPECT_EQ(a.source, "dns");
  EXPECT_TRUE(a.authenticated);
  EXPECT_EQ(onions_of(a), std::vector<std::string>{kA2});
  ASSERT_TRUE(the_pin());
  EXPECT_EQ(onions_of(*the_pin()), std::vector<std::string>{kA2});
  EXPECT_EQ(the_pin()->expires, now() + 7200);
  EXPECT_TRUE(logged(LogLevel::Warning, "DNSSEC-authenticated")) << all_logs();
  EXPECT_TRUE(a.policy.pinned);
  EXPECT_EQ(a.policy.pin_expires, now() + 7200);
  EXPECT_EQ(a.policy.max_age, 7200u);
  EXPECT_EQ(cache->stats().pin_holds, 0u);

  // Without a policy in the answer the old pin still goes: the onion changed.
  cache->clear();
  pin({kA1});
  a = judge(routes({kA2}, true));
  EXPECT_EQ(onions_of(a), std::vector<std::string>{kA2});
  EXPECT_FALSE(the_pin());
}

TEST_F(Gate, ASubsetOfThePinnedOnionsIsAccepted) {
  pin({kA1, kA2});
  Answer a = judge(routes({kA2}));
  EXPECT_EQ(a.status, Status::Ok);
  EXPECT_EQ(a.source, "dns");
  EXPECT_EQ(onions_of(a), std::vector<std::string>{kA2});
  ASSERT_TRUE(the_pin());
  EXPECT_EQ(onions_of(*the_pin()), sorted({kA1, kA2})) << "no enforce policy here: pin unchanged";
  a = judge(routes({kA2}), policy(PolicyMode::Enforce, 86400));
  EXPECT_EQ(onions_of(*the_pin()), std::vector<std::string>{kA2})
      << "under enforce the pin follows the routes used";
}

TEST_F(Gate, NotFoundUnderALivePinNeedsAnAuthenticatedDenial) {
  pin({kA1});
  Answer a = judge(srv_status(Status::NotFound, 30, "NXDOMAIN: _onion-mx._tcp.example.org"));
  EXPECT_EQ(a.status, Status::Ok);
  EXPECT_EQ(a.source, "pin");
  EXPECT_EQ(onions_of(a), std::vector<std::string>{kA1});
  EXPECT_TRUE(contains(a.reason, "NXDOMAIN")) << a.reason;
  EXPECT_TRUE(logged(LogLevel::Warning, "possible hijack")) << all_logs();
  EXPECT_TRUE(the_pin());

  RecordSet denial = srv_status(Status::NotFound, 30, "NXDOMAIN: _onion-mx._tcp.example.org");
  denial.authenticated = true;
  a = judge(std::move(denial));
  EXPECT_EQ(a.status, Status::NotFound);
  EXPECT_TRUE(a.routes.empty());
  EXPECT_FALSE(the_pin());
  EXPECT_TRUE(logged(LogLevel::Info, "pin removed")) << all_logs();
  EXPECT_FALSE(a.policy.present);
}

TEST_F(Gate, ADnsFailureUnderALivePinNeverReachesTheClearnet) {
  Answer a = judge(srv_status(Status::Temp, 0, "DNS timeout"));
  EXPECT_EQ(a.status, Status::Temp);
  EXPECT_EQ(a.failure, Failure::Dns) << "no pin: the failure policy applies";
  pin({kA1});
  a = judge(srv_status(Status::Temp, 0, "DNS timeout"));
  EXPECT_EQ(a.status, Status::Temp);
  EXPECT_EQ(a.failure, Failure::KnownRoute);
  EXPECT_TRUE(a.routes.empty());
  EXPECT_TRUE(contains(a.reason, "DNS timeout")) << a.reason;
  EXPECT_TRUE(contains(a.reason, "never goes over the clearnet")) << a.reason;
  EXPECT_TRUE(the_pin());
  // The answer's policy is the one the pin remembers.
  EXPECT_TRUE(a.policy.present);
  EXPECT_EQ(a.policy.mode, "enforce");
  EXPECT_EQ(a.policy.max_age, 86400u);
  EXPECT_TRUE(a.policy.pinned);
  EXPECT_EQ(a.policy.pin_expires, the_pin()->expires);
}

TEST_F(Gate, AnExpiredPinIsRemovedWhenJudged) {
  pin({kA1}, 600);
  clock.advance(600s);  // expires == now: no longer live
  Answer a = judge(routes({kA2}));
  EXPECT_EQ(a.status, Status::Ok);
  EXPECT_EQ(a.source, "dns");
  EXPECT_EQ(onions_of(a), std::vector<std::string>{kA2});
  EXPECT_FALSE(the_pin());
  EXPECT_TRUE(logged(LogLevel::Info, "expired")) << all_logs();
  EXPECT_FALSE(a.policy.present);

  pin({kA1}, 600);
  clock.advance(599s);
  a = judge(routes({kA2}));
  EXPECT_EQ(a.source, "pin") << "one second before expiry the pin still holds";
}

TEST_F(Gate, PolicyTurnedOffIgnoresPins) {
  make_gate(TrustSettings{false, true});
  pin({kA1});
  Answer a = judge(routes({kA2}), policy(PolicyMode::Enforce, 86400));
  EXPECT_EQ(a.source, "dns");
  EXPECT_EQ(onions_of(a), std::vector<std::string>{kA2});
  ASSERT_TRUE(the_pin());
  EXPECT_EQ(onions_of(*the_pin()), std::vector<std::string>{kA1}) << "not re-pinned either";
}

// ------------------------------------------------------------ the guard

TEST_F(Gate, MtaStsRefusesAnUnauthenticatedRoute) {
  Answer a = judge(routes({kA1}), policy(PolicyMode::Enforce, 86400), guard(true), true);
  EXPECT_EQ(a.status, Status::NotFound);
  EXPECT_EQ(a.source, "guard");
  EXPECT_EQ(a.failure, Failure::None);
  EXPECT_TRUE(a.routes.empty());
  EXPECT_TRUE(contains(a.reason, "MTA-STS")) << a.reason;
  EXPECT_TRUE(contains(a.reason, "_mta-sts.example.org")) << a.reason;
  EXPECT_TRUE(contains(a.reason, "normal delivery")) << a.reason;
  EXPECT_TRUE(logged(LogLevel::Warning, "downgrade guard")) << all_logs();
  EXPECT_EQ(cache->stats().guard_refusals, 1u);
  EXPECT_FALSE(the_pin()) << "a refused route is not pinned";
  EXPECT_TRUE(contains(joined(a.explain), "guard: ")) << joined(a.explain);
}

TEST_F(Gate, DaneRefusesAnUnauthenticatedRouteNamingTheMxHost) {
  Answer a = judge(routes({kA1}), {}, guard(false, true));
  EXPECT_EQ(a.status, Status::NotFound);
  EXPECT_EQ(a.source, "guard");
  EXPECT_TRUE(contains(a.reason, "DANE")) << a.reason;
  EXPECT_TRUE(contains(a.reason, "mx1.example.org")) << a.reason;
}

TEST_F(Gate, AnAuthenticatedRouteIsUsedWhateverTheGuardSays) {
  for (const GuardFacts& g : {guard(true), guard(false, true), guard_failed()}) {
    Answer a = judge(routes({kA1}, true), {}, g);
    EXPECT_EQ(a.status, Status::Ok) << g.reason;
    EXPECT_EQ(a.source, "dns");
    EXPECT_EQ(onions_of(a), std::vector<std::string>{kA1});
  }
  EXPECT_EQ(cache->stats().guard_refusals, 0u);
}

TEST_F(Gate, ARouteMatchingALivePinIsUsedWhateverTheGuardSays) {
  pin({kA1, kA2});
  for (const GuardFacts& g : {guard(true), guard(false, true), guard_failed()}) {
    Answer a = judge(routes({kA1}), {}, g);
    EXPECT_EQ(a.status, Status::Ok) << g.reason;
    EXPECT_EQ(a.source, "dns");
  }
}

TEST_F(Gate, AFailedGuardWithAnUnauthenticatedRouteIsADnsFailure) {
  Answer a = judge(routes({kA1}), {}, guard_failed());
  EXPECT_EQ(a.status, Status::Temp);
  EXPECT_EQ(a.failure, Failure::Dns);
  EXPECT_EQ(a.ttl, 0u) << "a failure is not cacheable";
  EXPECT_TRUE(a.routes.empty());
  EXPECT_TRUE(contains(a.reason, "_mta-sts.example.org TXT: DNS timeout")) << a.reason;
  EXPECT_EQ(cache->stats().guard_refusals, 0u);
}

TEST_F(Gate, AnUnknownOrNegativeGuardUsesTheRoute) {
  for (const GuardFacts& g : {GuardFacts{}, guard(false)}) {
    Answer a = judge(routes({kA1}), {}, g);
    EXPECT_EQ(a.status, Status::Ok);
    EXPECT_EQ(a.source, "dns");
  }
}

TEST_F(Gate, TheGuardTurnedOffUsesTheRoute) {
  make_gate(TrustSettings{true, false});
  for (const GuardFacts& g : {guard(true), guard(false, true), guard_failed()}) {
    Answer a = judge(routes({kA1}), {}, g);
    EXPECT_EQ(a.status, Status::Ok);
    EXPECT_EQ(a.source, "dns");
  }
}

// ------------------------------------------------------------ no cache

TEST_F(Gate, WithoutACacheThereAreNoPinsButTheGuardWorks) {
  make_gate({}, false);
  Answer a = judge(routes({kA1}), policy(PolicyMode::Enforce, 86400));
  EXPECT_EQ(a.status, Status::Ok);
  EXPECT_TRUE(a.policy.present);
  EXPECT_EQ(a.policy.mode, "enforce");
  EXPECT_FALSE(a.policy.pinned);
  EXPECT_EQ(a.policy.pin_expires, 0);
  a = judge(routes({kA2}), policy(PolicyMode::Enforce, 86400));
  EXPECT_EQ(onions_of(a), std::vector<std::string>{kA2}) << "nothing pinned, nothing held";
  a = judge(routes({kA1}), {}, guard(true));
  EXPECT_EQ(a.status, Status::NotFound);
  EXPECT_EQ(a.source, "guard");
  a = judge(routes({kA1}), {}, guard_failed());
  EXPECT_EQ(a.status, Status::Temp);
  a = judge(srv_status(Status::NotFound, 30, "NXDOMAIN"));
  EXPECT_EQ(a.status, Status::NotFound);
  a = judge(srv_status(Status::Temp, 0, "DNS timeout"));
  EXPECT_EQ(a.failure, Failure::Dns);
}

TEST_F(Gate, AnswersWithoutPolicyOrPinHaveNoPolicyField) {
  PolicyFacts absent;
  absent.state = PolicyFacts::State::Absent;
  Answer a = judge(routes({kA1}), absent);
  EXPECT_FALSE(a.policy.present);
  PolicyFacts failed;
  failed.state = PolicyFacts::State::Failed;
  failed.reason = "DNS timeout";
  a = judge(routes({kA1}), failed);
  EXPECT_FALSE(a.policy.present);
  a = judge(routes({kA1}));
  EXPECT_FALSE(a.policy.present);
}

}  // namespace
