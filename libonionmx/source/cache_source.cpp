#include "source/cache_source.hpp"

#include <utility>

#include "source/dns_source.hpp"

namespace onionmx::source {

CacheSource::CacheSource(std::shared_ptr<CachedLookup> cached, record::UniformRng rng,
                         std::shared_ptr<TrustGate> gate)
    : cached_(std::move(cached)), rng_(std::move(rng)), gate_(std::move(gate)) {}

void CacheSource::lookup(const Query& q, StepCallback done) {
  Step step;
  if (cached_) {
    if (auto set = cached_->fresh(q)) {
      step.decided = true;
      step.answer =
          gate_ ? gate_->judge(std::move(*set), q, rng_) : answer_from_set(std::move(*set), rng_);
      done(std::move(step));
      return;
    }
  }
  if (q.explain) step.answer.explain.push_back("cache: no fresh entry");
  done(std::move(step));
}

}  // namespace onionmx::source
