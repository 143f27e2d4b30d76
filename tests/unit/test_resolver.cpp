// test_resolver.cpp - key -> answer through the chain of sources and the
// failure policy (resolver/resolver.hpp, source/source.hpp,
// source/local_domains.hpp, source/onion_recipients.hpp, the engine's
// source registry; docs/onionmx-lookup.md "Keys").
//
// The chain is driven with small fake sources that record every query they
// see, so each test states which sources must (not) have been asked.  The
// real LocalDomainSource and OnionAddressSource are used where their rules
// are the subject.  Rule under test throughout: only "not found" sends mail
// the normal way, so nothing but the explicit clearnet policy (for the DNS
// source, for temporary failures) may turn an error into "not found".
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/log.hpp"
#include "base/status.hpp"
#include "common/test_util.hpp"
#include "config/config.hpp"
#include "engine/sources.hpp"
#include "event/loop.hpp"
#include "record/route.hpp"
#include "resolver/resolver.hpp"
#include "source/dns_source.hpp"
#include "source/local_domains.hpp"
#include "source/onion_recipients.hpp"
#include "source/source.hpp"

namespace {

using onionmx::test::contains;
using onionmx::test::status_name;

using onionmx::base::LogLevel;
using onionmx::base::Status;
using onionmx::record::Answer;
using onionmx::record::Route;
using onionmx::resolver::FailurePolicy;
using onionmx::resolver::Resolver;
using onionmx::resolver::Settings;
using onionmx::source::Query;
using onionmx::source::Source;
using onionmx::source::Step;
using onionmx::source::StepCallback;
namespace record = onionmx::record;
namespace source = onionmx::source;

// V1, V2, V3 of onion-and-crypto.md §1.4 and bad vectors of §1.5.
const std::string kA1 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion";
const std::string kA2 = "efjprum3peosirjsilqv6lvlns3476t3njpngaexsyhangeb3mjo7sad.onion";
const std::string kA3 = "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid.onion";
const std::string kBadChecksum = "boqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion";
const std::string kV2 = "expyuzz4wqqyqhjn.onion";
const std::string k55 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqea.onion";

#define EXPECT_STATUS(answer, want)  \
  EXPECT_EQ((answer).status, (want)) \
      << "got " << status_name((answer).status) << ": " << (answer).reason

Route route(const std::string& onion, std::uint16_t port) {
  Route r;
  r.onion = onion;
  r.port = port;
  return r;
}

// A source that answers from a script: pass, or decide with `answer`;
// optionally adds explain lines; optionally holds the callback until the
// test calls complete_all() (a source answering from the event loop).
class FakeSource final : public Source {
 public:
  FakeSource(std::string name, std::vector<std::string>* trace)
      : name_(std::move(name)), trace_(trace) {}

  static std::unique_ptr<FakeSource> passing(std::string name, std::vector<std::string>* trace) {
    return std::make_unique<FakeSource>(std::move(name), trace);
  }
  static std::unique_ptr<FakeSource> deciding(std::string name, onionmx::base::Status s,
                                              std::vector<std::string>* trace) {
    auto f = std::make_unique<FakeSource>(std::move(name), trace);
    f->decide(s, f->name_ + " decided");
    return f;
  }

  FakeSource& decide(onionmx::base::Status s, std::string reason) {
    decides_ = true;
    answer_.status = s;
    answer_.reason = std::move(reason);
    answer_.source = source::DnsSource::kName;
    // Like source::DnsSource, a fake named "dns" marks its temporary
    // failures as DNS failures; the resolver looks at the mark only.
    answer_.failure = name_ == "dns" && onionmx::base::outcome_of(s) == onionmx::base::Outcome::Temp
                          ? record::Failure::Dns
                          : record::Failure::None;
    return *this;
  }
  FakeSource& with_routes(std::vector<Route> r) {
    answer_.routes = std::move(r);
    return *this;
  }
  FakeSource& with_explain(std::vector<std::string> lines) {
    explain_ = std::move(lines);
    return *this;
  }
  FakeSource& deferred() {
    deferred_ = true;
    return *this;
  }
  // Like the DNS source: lookups still held when the source is destroyed
  // are answered then, with a temporary failure.
  FakeSource& cancels_on_destruction() {
    cancels_ = true;
    return *this;
  }
  ~FakeSource() override {
    if (!cancels_) return;
    for (auto& [done, step] : held_) {
      step.decided = true;
      step.answer = Answer{};
      step.answer.status = onionmx::base::Status::Temp;
      step.answer.source = source::DnsSource::kName;
      step.answer.failure = record::Failure::Dns;
      step.answer.reason = "DNS lookup cancelled (shutting down)";
      done(std::move(step));
    }
  }

  void lookup(const Query& q, StepCallback done) override {
    queries.push_back(q);
    if (trace_) trace_->push_back(name_);
    Step step;
    step.decided = decides_;
    step.answer = answer_;
    if (q.explain) step.answer.explain = explain_;
    if (deferred_) {
      held_.emplace_back(std::move(done), std::move(step));
      return;
    }
    done(std::move(step));
  }

  // Answers every held lookup, oldest first.
  void complete_all() {
    auto held = std::move(held_);
    held_.clear();
    for (auto& [done, step] : held) done(std::move(step));
  }
  std::size_t held() const { return held_.size(); }

  std::vector<Query> queries;

 private:
  std::string name_;
  std::vector<std::string>* trace_;
  bool decides_ = false;
  bool deferred_ = false;
  bool cancels_ = false;
  Answer answer_;
  std::vector<std::string> explain_;
  std::vector<std::pair<StepCallback, Step>> held_;
};

// What the resolver's callback received, and how often.
struct Completion {
  int calls = 0;
  Answer answer;
};

class ResolverTest : public ::testing::Test {
 protected:
  onionmx::base::LogSink sink() {
    return [this](onionmx::base::LogLevel level, std::string_view msg) {
      log_.emplace_back(level, std::string(msg));
    };
  }

  // Builds a resolver over `sources`; keeps raw pointers to inspect them.
  std::unique_ptr<Resolver> make(std::vector<std::unique_ptr<FakeSource>> fakes,
                                 FailurePolicy policy = FailurePolicy::Defer) {
    std::vector<std::unique_ptr<Source>> sources;
    fakes_.clear();
    for (auto& f : fakes) {
      fakes_.push_back(f.get());
      sources.push_back(std::move(f));
    }
    return std::make_unique<Resolver>(std::move(sources), policy, sink());
  }

  // Resolves `key`; the answer must be given before resolve() returns
  // unless `async` (then call the source's complete_all()).
  std::shared_ptr<Completion> resolve(Resolver& r, std::string_view key, bool explain = false) {
    auto out = std::make_shared<Completion>();
    r.resolve(key, explain, [out](Answer a) {
      ++out->calls;
      out->answer = std::move(a);
    });
    return out;
  }

  Answer resolve_now(Resolver& r, std::string_view key, bool explain = false) {
    auto out = resolve(r, key, explain);
    EXPECT_EQ(out->calls, 1) << "key \"" << key << "\" is answered at once, exactly once";
    return out->answer;
  }

  int warnings() const {
    int n = 0;
    for (const auto& [level, msg] : log_) n += level == onionmx::base::LogLevel::Warning;
    return n;
  }

  std::vector<std::string> trace_;
  std::vector<FakeSource*> fakes_;
  std::vector<std::pair<onionmx::base::LogLevel, std::string>> log_;
};

std::vector<std::unique_ptr<FakeSource>> list(std::unique_ptr<FakeSource> a) {
  std::vector<std::unique_ptr<FakeSource>> v;
  v.push_back(std::move(a));
  return v;
}
std::vector<std::unique_ptr<FakeSource>> list(std::unique_ptr<FakeSource> a,
                                              std::unique_ptr<FakeSource> b) {
  auto v = list(std::move(a));
  v.push_back(std::move(b));
  return v;
}
std::vector<std::unique_ptr<FakeSource>> list(std::unique_ptr<FakeSource> a,
                                              std::unique_ptr<FakeSource> b,
                                              std::unique_ptr<FakeSource> c) {
  auto v = list(std::move(a), std::move(b));
  v.push_back(std::move(c));
  return v;
}

// ------------------------------------------------------- order of sources

TEST_F(ResolverTest, SourcesAreAskedInTheGivenOrderUntilOneDecides) {
  auto r = make(list(FakeSource::passing("first", &trace_), FakeSource::passing("second", &trace_),
                     FakeSource::deciding("third", onionmx::base::Status::NotFound, &trace_)));
  Answer a = resolve_now(*r, "user@example.com");
  EXPECT_EQ(trace_, (std::vector<std::string>{"first", "second", "third"}));
  EXPECT_STATUS(a, onionmx::base::Status::NotFound);
  EXPECT_EQ(a.reason, "third decided");
}

TEST_F(ResolverTest, FirstDeciderWinsAndLaterSourcesAreNotAsked) {
  auto r = make(list(FakeSource::passing("a", &trace_),
                     FakeSource::deciding("b", onionmx::base::Status::NotFound, &trace_),
                     FakeSource::deciding("c", onionmx::base::Status::Ok, &trace_)));
  fakes_[2]->with_routes({route(kA1, 25)});
  Answer a = resolve_now(*r, "user@example.com");
  EXPECT_STATUS(a, onionmx::base::Status::NotFound);
  EXPECT_EQ(a.reason, "b decided");
  EXPECT_TRUE(a.routes.empty());
  EXPECT_EQ(trace_, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(fakes_[2]->queries.empty());
}

TEST_F(ResolverTest, ADecidingErrorAlsoStopsTheChain) {
  auto r = make(list(FakeSource::deciding("a", onionmx::base::Status::Temp, &trace_),
                     FakeSource::deciding("b", onionmx::base::Status::Ok, &trace_)));
  fakes_[1]->with_routes({route(kA1, 25)});
  Answer a = resolve_now(*r, "user@example.com");
  EXPECT_STATUS(a, onionmx::base::Status::Temp);
  EXPECT_EQ(trace_, (std::vector<std::string>{"a"})) << "a failure is not skipped over";
}

TEST_F(ResolverTest, ReversedOrderIsHonoured) {
  auto r = make(list(FakeSource::deciding("c", onionmx::base::Status::Ok, &trace_),
                     FakeSource::passing("a", &trace_), FakeSource::passing("b", &trace_)));
  fakes_[0]->with_routes({route(kA2, 2525)});
  Answer a = resolve_now(*r, "user@example.com");
  EXPECT_STATUS(a, onionmx::base::Status::Ok);
  ASSERT_EQ(a.routes.size(), 1u);
  EXPECT_EQ(a.routes[0].onion, kA2);
  EXPECT_EQ(a.routes[0].port, 2525);
  EXPECT_EQ(trace_, (std::vector<std::string>{"c"}));
}

TEST_F(ResolverTest, NoSourceDecidingIsNotFoundFromNone) {
  auto r = make(list(FakeSource::passing("a", &trace_), FakeSource::passing("b", &trace_)));
  Answer a = resolve_now(*r, "user@Example.COM");
  EXPECT_STATUS(a, onionmx::base::Status::NotFound);
  EXPECT_EQ(a.source, record::kOriginNone);
  EXPECT_EQ(a.reason, "no onion route for example.com");
  EXPECT_EQ(trace_, (std::vector<std::string>{"a", "b"}));
}

TEST_F(ResolverTest, EmptyChainIsNotFound) {
  Resolver r({}, FailurePolicy::Defer, nullptr);
  auto out = resolve(r, "user@example.com");
  ASSERT_EQ(out->calls, 1);
  EXPECT_STATUS(out->answer, onionmx::base::Status::NotFound);
  EXPECT_EQ(out->answer.source, record::kOriginNone);
}

TEST_F(ResolverTest, EverySourceSeesTheKeyAndTheDomain) {
  auto r = make(list(FakeSource::passing("a", &trace_), FakeSource::passing("b", &trace_)));
  resolve_now(*r, "User+ext@A.B.Example.ORG", true);
  for (FakeSource* f : fakes_) {
    ASSERT_EQ(f->queries.size(), 1u);
    EXPECT_EQ(f->queries[0].key, "User+ext@A.B.Example.ORG");
    EXPECT_EQ(f->queries[0].domain, "a.b.example.org");
    EXPECT_TRUE(f->queries[0].explain);
  }
}

// ------------------------------------------------------------------ keys

TEST_F(ResolverTest, PostfixStyleKeysRouteTheirLowerCasedDomain) {
  struct Case {
    const char* key;
    const char* domain;
  };
  for (Case c :
       {Case{"User+ext@A.B.Example.ORG", "a.b.example.org"}, Case{"Example.ORG", "example.org"},
        Case{"user@Example.ORG.", "example.org"}, Case{"\"a@b\"@Example.org", "example.org"},
        Case{"\"foo bar\"@ok.example.org", "ok.example.org"},
        Case{"postmaster@_srv.example.org", "_srv.example.org"},
        // Postfix's UTF-8 keys (SMTPUTF8): the sources see the A-label.
        Case{"user@B\xc3\xa4"
             "d.Example.org",
             "xn--bd-via.example.org"}}) {
    auto r = make(list(FakeSource::deciding("dns", onionmx::base::Status::NotFound, &trace_)));
    Answer a = resolve_now(*r, c.key);
    ASSERT_EQ(fakes_[0]->queries.size(), 1u) << c.key;
    EXPECT_EQ(fakes_[0]->queries[0].domain, c.domain) << c.key;
    EXPECT_EQ(a.key, c.key) << "the answer carries the key as the MTA sent it";
    EXPECT_EQ(a.domain, c.domain);
  }
}

TEST_F(ResolverTest, KeysWithoutARoutableDomainAreNotFoundWithoutAskingAnySource) {
  const std::vector<std::string> keys = {
      "*",
      "[192.0.2.1]",
      "user@[192.0.2.1]",
      "user@[IPv6:2001:db8::1]",
      "",
      "user@",
      "@",
      ".",
      "user@exa mple.org",
      "user@bad..example.org",
      "user@-bad.example.org",
      "user@\xe2\x92\x88"
      "d.example.org",           // U+2488: not a valid IDN
      "user@b\xff.example.org",  // not UTF-8
      "user@" + std::string(250, 'a') + ".org",
      "u@" + std::string(63, 'x') + "." + std::string(64, 'y') + ".org",
      std::string(1020, 'k') + "@example.org",
      std::string("user@exa\0mple.org", 17),
      "garbage\r\n",
  };
  for (const auto& key : keys) {
    auto r = make(list(FakeSource::deciding("dns", onionmx::base::Status::Ok, &trace_)));
    fakes_[0]->with_routes({route(kA1, 25)});
    auto out = resolve(*r, key, true);
    ASSERT_EQ(out->calls, 1) << "answered at once: \"" << key << "\"";
    EXPECT_STATUS(out->answer, onionmx::base::Status::NotFound) << " for \"" << key << "\"";
    EXPECT_EQ(out->answer.source, record::kOriginNone) << key;
    EXPECT_EQ(out->answer.domain, "") << key;
    EXPECT_EQ(out->answer.key, key);
    EXPECT_TRUE(out->answer.routes.empty());
    EXPECT_FALSE(out->answer.reason.empty()) << key;
    EXPECT_TRUE(fakes_[0]->queries.empty()) << "no source asked for \"" << key << "\"";
    EXPECT_EQ(r->pending(), 0u);
    ASSERT_EQ(out->answer.explain.size(), 1u) << key;
    EXPECT_TRUE(contains(out->answer.explain[0], "not looked up")) << out->answer.explain[0];
  }
  EXPECT_TRUE(trace_.empty());
}

// --------------------------------------------------------------- explain

TEST_F(ResolverTest, ExplainLinesAccumulateInChainOrder) {
  auto r = make(list(FakeSource::passing("a", &trace_), FakeSource::passing("b", &trace_),
                     FakeSource::deciding("c", onionmx::base::Status::Ok, &trace_)));
  fakes_[0]->with_explain({"a: one", "a: two"});
  fakes_[1]->with_explain({"b: three"});
  fakes_[2]->with_explain({"c: four", "c: five"}).with_routes({route(kA1, 25)});
  Answer a = resolve_now(*r, "user@Example.COM", true);
  EXPECT_STATUS(a, onionmx::base::Status::Ok);
  EXPECT_EQ(a.explain, (std::vector<std::string>{"key: domain example.com", "a: one", "a: two",
                                                 "b: three", "c: four", "c: five"}));
}

TEST_F(ResolverTest, WithoutExplainThereAreNoLines) {
  auto r = make(list(FakeSource::passing("a", &trace_),
                     FakeSource::deciding("c", onionmx::base::Status::NotFound, &trace_)));
  fakes_[0]->with_explain({"a: one"});
  fakes_[1]->with_explain({"c: two"});
  Answer a = resolve_now(*r, "user@example.com", false);
  EXPECT_TRUE(a.explain.empty());
  EXPECT_FALSE(fakes_[0]->queries.at(0).explain);
}

TEST_F(ResolverTest, ExplainOfAnAsynchronousAnswerKeepsItsOrder) {
  auto r = make(list(FakeSource::passing("a", &trace_),
                     FakeSource::deciding("dns", onionmx::base::Status::Ok, &trace_)));
  fakes_[0]->with_explain({"a: first"});
  fakes_[1]->with_explain({"dns: second"}).with_routes({route(kA1, 25)}).deferred();
  auto out = resolve(*r, "user@example.com", true);
  EXPECT_EQ(out->calls, 0);
  fakes_[1]->complete_all();
  ASSERT_EQ(out->calls, 1);
  EXPECT_EQ(out->answer.explain,
            (std::vector<std::string>{"key: domain example.com", "a: first", "dns: second"}));
}

// --------------------------------------------------------- local domains

TEST_F(ResolverTest, LocalDomainsMatchExactlyOrAsDotSuffix) {
  std::vector<std::unique_ptr<Source>> sources;
  sources.push_back(std::make_unique<source::LocalDomainSource>(
      std::vector<std::string>{"example.org", ".Example.NET", "exact.example.com."}));
  auto next = FakeSource::deciding("next", onionmx::base::Status::Ok, &trace_);
  next->with_routes({route(kA1, 25)});
  FakeSource* after = next.get();
  sources.push_back(std::move(next));
  Resolver r(std::move(sources), FailurePolicy::Defer, sink());

  struct Case {
    const char* key;
    bool local;
  };
  for (Case c : {Case{"user@example.org", true}, Case{"user@EXAMPLE.ORG.", true},
                 Case{"user@sub.example.org", false},  // exact entry: the domain only
                 Case{"user@example.net", false},      // ".example.net": subdomains only
                 Case{"user@a.example.net", true}, Case{"user@A.B.Example.Net", true},
                 Case{"user@badexample.net", false},  // not a label boundary
                 Case{"user@example.net.evil.org", false}, Case{"user@exact.example.com", true},
                 Case{"user@example.com", false}}) {
    const std::size_t before = after->queries.size();
    auto out = resolve(r, c.key);
    ASSERT_EQ(out->calls, 1);
    if (c.local) {
      EXPECT_STATUS(out->answer, onionmx::base::Status::NotFound) << c.key;
      EXPECT_EQ(out->answer.source, source::LocalDomainSource::kName) << c.key;
      EXPECT_EQ(after->queries.size(), before)
          << c.key << ": a local domain is never looked further";
    } else {
      EXPECT_STATUS(out->answer, onionmx::base::Status::Ok) << c.key;
      EXPECT_EQ(after->queries.size(), before + 1) << c.key;
    }
  }
}

TEST_F(ResolverTest, LocalDomainSourceExplainsBothWays) {
  source::LocalDomainSource local({"example.org"});
  std::vector<Step> steps;
  local.lookup(Query{"u@example.org", "example.org", true},
               [&](Step s) { steps.push_back(std::move(s)); });
  local.lookup(Query{"u@example.com", "example.com", true},
               [&](Step s) { steps.push_back(std::move(s)); });
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_TRUE(steps[0].decided);
  EXPECT_EQ(steps[0].answer.explain,
            (std::vector<std::string>{"local: example.org is a local domain"}));
  EXPECT_FALSE(steps[1].decided);
  EXPECT_EQ(steps[1].answer.explain,
            (std::vector<std::string>{"local: example.com is not a local domain"}));
}

// ------------------------------------------------------ onion recipients

class OnionRecipients : public ResolverTest {
 protected:
  // The chain as the engine builds it from a configuration.
  onionmx::base::Result<std::unique_ptr<Resolver>> build(const Settings& s) {
    onionmx::config::Config cfg;
    cfg.resolver = s;
    cfg.dns.servers = {"127.0.0.1:9"};  // never contacted by these tests
    log_ = sink();
    onionmx::engine::SharedParts shared;
    auto sources = onionmx::engine::build_sources(
        {loop_, cfg, log_, onionmx::base::SystemClock::instance(), nullptr, shared});
    if (!sources) return onionmx::base::fail(sources.error());
    return std::make_unique<Resolver>(std::move(*sources), s.on_dns_failure, log_);
  }
  std::unique_ptr<Resolver> create(std::vector<std::string> order, std::uint16_t port = 25) {
    Settings s;
    s.order = std::move(order);
    s.local_domains = {"example.org"};
    s.onion_port = port;
    auto r = build(s);
    if (!r) {
      ADD_FAILURE() << r.error().detail;
      return nullptr;
    }
    return std::move(*r);
  }
  onionmx::base::LogSink log_;
  onionmx::event::Loop loop_;
};

TEST_F(OnionRecipients, ValidOnionIsFoundWithTheConfiguredPort) {
  auto r = create({"local", "onion-address"}, 2525);
  ASSERT_TRUE(r);
  Answer a = resolve_now(*r, "user@" + kA1);
  EXPECT_STATUS(a, onionmx::base::Status::Ok);
  EXPECT_EQ(a.source, source::OnionAddressSource::kName);
  ASSERT_EQ(a.routes.size(), 1u);
  EXPECT_EQ(a.routes[0].onion, kA1);
  EXPECT_EQ(a.routes[0].port, 2525);
  EXPECT_EQ(a.routes[0].priority, 0);
  EXPECT_EQ(a.routes[0].weight, 0);
  EXPECT_EQ(a.ttl, 86400u);
  EXPECT_EQ(a.domain, kA1);
}

TEST_F(OnionRecipients, UpperCaseSubdomainOnionWithTrailingDotIsFoundLowerCased) {
  auto r = create({"onion-address"});
  ASSERT_TRUE(r);
  std::string upper = "SMTP." + kA3 + ".";
  for (char& c : upper)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  Answer a = resolve_now(*r, "User@" + upper);
  EXPECT_STATUS(a, onionmx::base::Status::Ok);
  ASSERT_EQ(a.routes.size(), 1u);
  EXPECT_EQ(a.routes[0].onion, "smtp." + kA3);
  EXPECT_EQ(a.routes[0].port, 25);
}

TEST_F(OnionRecipients, InvalidOnionIsBadDataWithTheExactReason) {
  auto r = create({"local", "onion-address"});
  ASSERT_TRUE(r);
  struct Case {
    std::string domain;
    const char* word;
  };
  for (const Case& c : {Case{kBadChecksum, "checksum"}, Case{kV2, "v2 onion services"},
                        Case{k55, "has 55 characters"}, Case{"bogus.onion", "has 5 characters"}}) {
    Answer a = resolve_now(*r, "user@" + c.domain, true);
    EXPECT_STATUS(a, onionmx::base::Status::BadData) << c.domain;
    EXPECT_EQ(a.source, source::OnionAddressSource::kName);
    EXPECT_TRUE(a.routes.empty());
    EXPECT_TRUE(contains(a.reason, c.word)) << a.reason;
    EXPECT_TRUE(contains(a.reason, "invalid onion address")) << a.reason;
    ASSERT_FALSE(a.explain.empty());
    EXPECT_TRUE(contains(a.explain.back(), "onion-address: rejected")) << a.explain.back();
  }
}

TEST_F(OnionRecipients, OnionNamesNeverGoToDnsWhateverTheOrder) {
  // Only the DNS source: it refuses the name itself (RFC 7686); the server
  // on 127.0.0.1:9 is never asked, so the answer comes at once.
  auto r = create({"dns"});
  ASSERT_TRUE(r);
  for (const std::string& d : {kA1, kBadChecksum}) {
    Answer a = resolve_now(*r, "user@" + d);
    EXPECT_NE(a.status, onionmx::base::Status::Ok) << d;
    EXPECT_NE(a.status, onionmx::base::Status::NotFound)
        << d << ": must not fall through to normal routing";
    EXPECT_TRUE(a.routes.empty());
  }
  EXPECT_EQ(r->pending(), 0u);
}

TEST_F(OnionRecipients, NonOnionDomainPassesTheOnionSource) {
  std::vector<std::unique_ptr<Source>> sources;
  sources.push_back(std::make_unique<source::OnionAddressSource>(25));
  sources.push_back(FakeSource::deciding("dns", onionmx::base::Status::NotFound, &trace_));
  Resolver r(std::move(sources), FailurePolicy::Defer, sink());
  Answer a = resolve_now(r, "user@example.com", true);
  EXPECT_EQ(trace_, (std::vector<std::string>{"dns"}));
  EXPECT_EQ(a.explain, (std::vector<std::string>{"key: domain example.com",
                                                 "onion-address: not an onion name"}));
}

TEST_F(OnionRecipients, DefaultOrderAndUnknownSourceName) {
  // An unset order means the registry's, which is the documented default.
  EXPECT_TRUE(Settings{}.order.empty());
  auto names = onionmx::engine::source_names();
  EXPECT_EQ(std::vector<std::string_view>(names.begin(), names.end()),
            (std::vector<std::string_view>{"local", "onion-address", "map", "cache", "dns"}));
  EXPECT_EQ(Settings{}.on_dns_failure, FailurePolicy::Defer);
  Settings s;
  s.order = {"local", "ldap"};
  auto r = build(s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, onionmx::base::Status::Inval);
  EXPECT_TRUE(contains(r.error().detail, "ldap")) << r.error().detail;
}

// -------------------------------------------------------- failure policy

TEST_F(ResolverTest, ClearnetTurnsATempFromTheDnsSourceIntoNotFoundAndWarns) {
  auto r = make(list(FakeSource::deciding("dns", onionmx::base::Status::Temp, &trace_)),
                FailurePolicy::Clearnet);
  fakes_[0]->decide(onionmx::base::Status::Temp, "DNS timeout: no answer");
  Answer a = resolve_now(*r, "user@Example.COM", true);
  EXPECT_STATUS(a, onionmx::base::Status::NotFound);
  EXPECT_EQ(a.source, record::kOriginPolicy);
  EXPECT_TRUE(contains(a.reason, "DNS timeout: no answer")) << a.reason;
  EXPECT_EQ(a.key, "user@Example.COM");
  EXPECT_EQ(a.domain, "example.com");
  EXPECT_EQ(a.ttl, 0u) << "a policy answer is not cached";
  ASSERT_EQ(warnings(), 1);
  EXPECT_TRUE(contains(log_[0].second, "example.com")) << log_[0].second;
  EXPECT_TRUE(contains(log_[0].second, "clearnet")) << log_[0].second;
  EXPECT_TRUE(contains(a.explain.back(), "clearnet")) << a.explain.back();
  // Every use warns again.
  resolve_now(*r, "other@example.com");
  EXPECT_EQ(warnings(), 2);
}

TEST_F(ResolverTest, ClearnetLeavesEveryOtherDnsVerdictAlone) {
  for (onionmx::base::Status s :
       {onionmx::base::Status::Ok, onionmx::base::Status::NotFound, onionmx::base::Status::BadData,
        onionmx::base::Status::Inval, onionmx::base::Status::Io, onionmx::base::Status::NoMem,
        onionmx::base::Status::Internal, onionmx::base::Status::BadSig}) {
    auto r = make(list(FakeSource::deciding("dns", s, &trace_)), FailurePolicy::Clearnet);
    if (s == onionmx::base::Status::Ok) fakes_[0]->with_routes({route(kA1, 25)});
    Answer a = resolve_now(*r, "user@example.com");
    EXPECT_STATUS(a, s);
    EXPECT_EQ(a.source, source::DnsSource::kName) << status_name(s);
  }
  EXPECT_EQ(warnings(), 0);
}

TEST_F(ResolverTest, ClearnetAppliesOnlyToTheSourceNamedDns) {
  for (const char* name : {"local", "onion-address", "dnsx", "DNS", "static"}) {
    auto r = make(list(FakeSource::deciding(name, onionmx::base::Status::Temp, &trace_)),
                  FailurePolicy::Clearnet);
    Answer a = resolve_now(*r, "user@example.com");
    EXPECT_STATUS(a, onionmx::base::Status::Temp) << "source " << name;
  }
  EXPECT_EQ(warnings(), 0);
}

TEST_F(ResolverTest, DeferNeverTurnsAnErrorIntoNotFound) {
  for (onionmx::base::Status s :
       {onionmx::base::Status::Temp, onionmx::base::Status::BadData, onionmx::base::Status::Inval,
        onionmx::base::Status::Io, onionmx::base::Status::NoMem, onionmx::base::Status::Internal,
        onionmx::base::Status::BadSig}) {
    for (const char* name : {"dns", "other"}) {
      auto r = make(list(FakeSource::deciding(name, s, &trace_),
                         FakeSource::deciding("after", onionmx::base::Status::NotFound, &trace_)));
      Answer a = resolve_now(*r, "user@example.com");
      EXPECT_STATUS(a, s) << "source " << name;
      EXPECT_TRUE(fakes_[1]->queries.empty());
    }
  }
  EXPECT_EQ(warnings(), 0);
}

TEST_F(ResolverTest, AnErrorNeverCarriesRoutes) {
  auto r = make(list(FakeSource::deciding("dns", onionmx::base::Status::Temp, &trace_)));
  fakes_[0]->with_routes({route(kA1, 25)});
  Answer a = resolve_now(*r, "user@example.com");
  EXPECT_STATUS(a, onionmx::base::Status::Temp);
  EXPECT_TRUE(a.routes.empty());
}

TEST_F(ResolverTest, ClearnetAppliesToAnAsynchronousTemp) {
  auto r = make(list(FakeSource::deciding("dns", onionmx::base::Status::Temp, &trace_)),
                FailurePolicy::Clearnet);
  fakes_[0]->deferred();
  auto out = resolve(*r, "user@example.com");
  EXPECT_EQ(out->calls, 0);
  EXPECT_EQ(warnings(), 0);
  fakes_[0]->complete_all();
  ASSERT_EQ(out->calls, 1);
  EXPECT_STATUS(out->answer, onionmx::base::Status::NotFound);
  EXPECT_EQ(out->answer.source, record::kOriginPolicy);
  EXPECT_EQ(warnings(), 1);
}

TEST_F(ResolverTest, DestroyingTheResolverAnswersPendingLookupsTempNeverByPolicy) {
  // Shutting down is not a DNS failure: even under clearnet the cancelled
  // lookups defer.  The sink is too large for std::function's local buffer,
  // so a call through it after its destruction shows up under ASan.
  auto seen = std::make_shared<std::vector<std::string>>();
  const std::string tag(64, 't');
  std::vector<std::unique_ptr<Source>> sources;
  auto dns = FakeSource::deciding("dns", onionmx::base::Status::Ok, &trace_);
  dns->with_routes({route(kA1, 25)}).deferred().cancels_on_destruction();
  sources.push_back(std::move(dns));
  auto r = std::make_unique<Resolver>(std::move(sources), FailurePolicy::Clearnet,
                                      [seen, tag](onionmx::base::LogLevel, std::string_view m) {
                                        seen->push_back(std::string(m) + tag.substr(0, 0));
                                      });
  std::vector<std::shared_ptr<Completion>> outs;
  for (const char* k : {"a@one.example", "b@two.example"}) outs.push_back(resolve(*r, k, true));
  EXPECT_EQ(r->pending(), 2u);
  r.reset();
  for (const auto& o : outs) {
    ASSERT_EQ(o->calls, 1);
    EXPECT_STATUS(o->answer, onionmx::base::Status::Temp);
    EXPECT_EQ(o->answer.source, source::DnsSource::kName);
    EXPECT_TRUE(o->answer.routes.empty());
    for (const auto& line : o->answer.explain) EXPECT_FALSE(contains(line, "clearnet")) << line;
  }
  EXPECT_EQ(outs[1]->answer.domain, "two.example");
  for (const auto& m : *seen) EXPECT_FALSE(contains(m, "clearnet")) << m;
}

// --------------------------------------------------------------- pending

TEST_F(ResolverTest, PendingCountsLookupsUntilTheirCallback) {
  auto r = make(list(FakeSource::passing("local", &trace_),
                     FakeSource::deciding("dns", onionmx::base::Status::Ok, &trace_)));
  fakes_[1]->with_routes({route(kA1, 25)}).deferred();
  EXPECT_EQ(r->pending(), 0u);
  std::vector<std::shared_ptr<Completion>> outs;
  for (const char* k : {"a@one.example", "b@two.example", "c@three.example"})
    outs.push_back(resolve(*r, k));
  EXPECT_EQ(r->pending(), 3u);
  auto instant = resolve(*r, "*");
  EXPECT_EQ(instant->calls, 1);
  EXPECT_EQ(r->pending(), 3u) << "an answer given at once is not pending";
  for (const auto& o : outs) EXPECT_EQ(o->calls, 0);
  fakes_[1]->complete_all();
  EXPECT_EQ(r->pending(), 0u);
  for (std::size_t i = 0; i < outs.size(); ++i) {
    EXPECT_EQ(outs[i]->calls, 1);
    EXPECT_STATUS(outs[i]->answer, onionmx::base::Status::Ok);
  }
  EXPECT_EQ(outs[0]->answer.domain, "one.example");
  EXPECT_EQ(outs[2]->answer.domain, "three.example");
}

TEST_F(ResolverTest, PendingIsAlreadyDecrementedInsideTheCallback) {
  auto r = make(list(FakeSource::deciding("dns", onionmx::base::Status::NotFound, &trace_)));
  fakes_[0]->deferred();
  std::size_t seen = 99;
  r->resolve("a@example.com", false, [&](Answer) { seen = r->pending(); });
  fakes_[0]->complete_all();
  EXPECT_EQ(seen, 0u);
}

TEST_F(ResolverTest, ACallbackMayStartTheNextLookup) {
  auto r = make(list(FakeSource::deciding("dns", onionmx::base::Status::NotFound, &trace_)));
  std::vector<std::string> domains;
  std::function<void(Answer)> chain = [&](Answer a) {
    domains.push_back(a.domain);
    if (domains.size() < 3)
      r->resolve("u@d" + std::to_string(domains.size()) + ".example", false, chain);
  };
  r->resolve("u@d0.example", false, chain);
  EXPECT_EQ(domains, (std::vector<std::string>{"d0.example", "d1.example", "d2.example"}));
  EXPECT_EQ(r->pending(), 0u);
}

}  // namespace
