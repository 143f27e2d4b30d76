#include "source/dns_source.hpp"

#include <string>
#include <utility>

#include "address/onion_address.hpp"

namespace onionmx::source {

DnsSource::DnsSource(std::unique_ptr<SrvLookup> lookup, record::UniformRng rng)
    : lookup_(std::move(lookup)), rng_(std::move(rng)) {}

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
  lookup_->fetch(q, [this, done = std::move(done)](record::RecordSet set) {
    Step step;
    step.decided = true;
    record::Answer& a = step.answer;
    a.source = kName;
    a.status = set.status;
    a.ttl = set.ttl;
    a.authenticated = set.authenticated;
    a.explain = std::move(set.explain);
    if (set.status == base::Status::Ok) {
      a.routes = record::order_routes(std::move(set.records), rng_);
      a.reason = "SRV " + set.owner;
    } else {
      a.reason = std::move(set.reason);
      if (base::outcome_of(set.status) == base::Outcome::Temp) a.failure = record::Failure::Dns;
    }
    done(std::move(step));
  });
}

}  // namespace onionmx::source
