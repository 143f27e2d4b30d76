#include "resolver/resolver.hpp"

#include "address/mail_key.hpp"
#include "base/strings.hpp"

namespace onionmx::resolver {

struct Resolver::State {
  source::Query query;
  std::size_t index = 0;
  std::vector<std::string> explain;
  Callback done;
};

Resolver::Resolver(std::vector<std::unique_ptr<source::Source>> sources, FailurePolicy policy,
                   base::LogSink log)
    : policy_(policy), log_(std::move(log)), sources_(std::move(sources)) {}

Resolver::~Resolver() {
  shutting_down_ = true;
  for (auto& s : sources_) s->shutdown();
  sources_.clear();
}

void Resolver::resolve(std::string_view key, bool explain, Callback done) {
  auto st = std::make_shared<State>();
  st->query.key = std::string(key);
  st->query.explain = explain;
  st->done = std::move(done);
  ++pending_;

  const address::MailKey mk = address::parse_mail_key(key);
  if (mk.kind != address::KeyKind::Domain) {
    record::Answer a;
    a.status = base::Status::NotFound;
    a.source = record::kOriginNone;
    a.reason = "no routable domain in key: " + mk.reason;
    if (explain) st->explain.push_back("key: " + mk.reason + ", not looked up");
    complete(st, std::move(a));
    return;
  }
  st->query.domain = mk.domain;
  if (explain) st->explain.push_back("key: domain " + mk.domain);
  next(st);
}

void Resolver::next(const std::shared_ptr<State>& st) {
  if (st->index >= sources_.size()) {
    record::Answer a;
    a.status = base::Status::NotFound;
    a.source = record::kOriginNone;
    a.reason = "no onion route for " + st->query.domain;
    complete(st, std::move(a));
    return;
  }
  source::Source& src = *sources_[st->index++];
  src.lookup(st->query, [this, st](source::Step step) {
    auto& ex = step.answer.explain;
    st->explain.insert(st->explain.end(), std::make_move_iterator(ex.begin()),
                       std::make_move_iterator(ex.end()));
    ex.clear();
    if (!step.decided) {
      next(st);
      return;
    }
    decide(st, std::move(step.answer));
  });
}

void Resolver::decide(const std::shared_ptr<State>& st, record::Answer a) {
  if (a.failure == record::Failure::Dns && a.status == base::Status::Temp &&
      policy_ == FailurePolicy::Clearnet && !shutting_down_) {
    const std::string why = a.reason;
    a = record::Answer{};
    a.status = base::Status::NotFound;
    a.source = record::kOriginPolicy;
    a.reason = "DNS failure (" + why + "); on_dns_failure=clearnet: normal routing";
    if (log_)
      log_(base::LogLevel::Warning,
           "domain " + st->query.domain + ": " + a.reason + " (mail may leave over the clearnet)");
    if (st->query.explain) st->explain.push_back("policy: on_dns_failure=clearnet applied");
  }
  complete(st, std::move(a));
}

void Resolver::complete(const std::shared_ptr<State>& st, record::Answer a) {
  a.key = st->query.key;
  a.domain = st->query.domain;
  if (st->query.explain) {
    st->explain.insert(st->explain.end(), std::make_move_iterator(a.explain.begin()),
                       std::make_move_iterator(a.explain.end()));
    a.explain = std::move(st->explain);
  }
  if (a.status != base::Status::Ok) a.routes.clear();
  --pending_;
  Callback done = std::move(st->done);
  done(std::move(a));
}

}  // namespace onionmx::resolver
