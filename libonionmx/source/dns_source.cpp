#include "source/dns_source.hpp"

#include <string>
#include <utility>

#include "address/onion_address.hpp"
#include "source/cache_source.hpp"

namespace onionmx::source {

record::Answer answer_from_set(record::RecordSet set, const record::UniformRng& rng) {
  record::Answer a;
  a.source = set.from_cache ? CacheSource::kName : DnsSource::kName;
  a.status = set.status;
  a.ttl = set.ttl;
  a.authenticated = set.authenticated;
  a.stale = set.stale;
  a.age = set.age;
  a.explain = std::move(set.explain);
  if (set.status == base::Status::Ok) {
    a.routes = record::order_routes(std::move(set.records), rng);
    a.reason = std::string(set.stale        ? "stale cached "
                           : set.from_cache ? "cached "
                                            : "") +
               "SRV " + set.owner;
  } else {
    a.reason = std::move(set.reason);
    if (base::outcome_of(set.status) == base::Outcome::Temp)
      a.failure = set.known_route ? record::Failure::KnownRoute : record::Failure::Dns;
  }
  return a;
}

DnsSource::DnsSource(std::shared_ptr<SrvLookup> lookup, record::UniformRng rng)
    : rng_(std::move(rng)), lookup_(std::move(lookup)) {}

void DnsSource::lookup(const Query& q, StepCallback done) {
  // RFC 7686: .onion names never go to DNS, whatever the source order.
  if (address::is_onion_name(q.domain)) {
    Step step;
    step.decided = true;
    step.answer.status = base::Status::BadData;
    step.answer.source = kName;
    step.answer.reason = "onion names are never sent to DNS (RFC 7686)";
    done(std::move(step));
    return;
  }
  if (!lookup_) {
    Step step;
    step.decided = true;
    step.answer.status = base::Status::Temp;
    step.answer.source = kName;
    step.answer.reason = "DNS lookup cancelled (shutting down)";
    done(std::move(step));
    return;
  }
  lookup_->fetch(q, [this, done = std::move(done)](record::RecordSet set) {
    Step step;
    step.decided = true;
    step.answer = answer_from_set(std::move(set), rng_);
    done(std::move(step));
  });
}

}  // namespace onionmx::source
