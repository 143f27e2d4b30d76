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

DnsSource::DnsSource(std::shared_ptr<SrvLookup> lookup, record::UniformRng rng,
                     std::shared_ptr<TrustGate> gate)
    : rng_(std::move(rng)), gate_(std::move(gate)), lookup_(std::move(lookup)) {}

namespace {

// An answer this link gives without asking DNS.
void decide_here(const StepCallback& done, base::Status status, const char* reason) {
  Step step;
  step.decided = true;
  step.answer.status = status;
  step.answer.source = DnsSource::kName;
  step.answer.reason = reason;
  done(std::move(step));
}

}  // namespace

void DnsSource::lookup(const Query& q, StepCallback done) {
  // RFC 7686: .onion names never go to DNS, whatever the source order.
  if (address::is_onion_name(q.domain)) {
    decide_here(done, base::Status::BadData, "onion names are never sent to DNS (RFC 7686)");
    return;
  }
  // After shutdown() (the chain is going away): never the failure policy.
  if (!lookup_) {
    decide_here(done, base::Status::Temp, "DNS lookup cancelled (shutting down)");
    return;
  }
  if (gate_) {
    lookup_->fetch(q, [this, q, done = std::move(done)](record::RecordSet set) {
      Step step;
      step.decided = true;
      step.answer = gate_->judge(std::move(set), q, rng_);
      done(std::move(step));
    });
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
