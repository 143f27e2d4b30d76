// cache_source.hpp - the "cache" link of the chain: a domain whose cached
// DNS answer is still fresh is answered here, before any later link; other
// domains pass (docs/cache.md).  Stale entries, coalescing and storing
// happen in the DNS link's CachedLookup, which this link shares: with
// "cache" left out of resolver.order, the DNS link still answers from the
// cache.  Without a cache (size 0) every domain passes.
#pragma once

#include <memory>
#include <string_view>

#include "record/srv.hpp"
#include "source/cached_lookup.hpp"
#include "source/source.hpp"
#include "source/trust_gate.hpp"

namespace onionmx::source {

class CacheSource final : public Source {
 public:
  static constexpr std::string_view kName = "cache";
  // `cached` may be null: no cache, every domain passes.
  // `gate` (may be null) applies policy, pins and the downgrade guard.
  CacheSource(std::shared_ptr<CachedLookup> cached, record::UniformRng rng,
              std::shared_ptr<TrustGate> gate = nullptr);
  void lookup(const Query& q, StepCallback done) override;
  void shutdown() noexcept override { cached_.reset(); }

 private:
  std::shared_ptr<CachedLookup> cached_;
  record::UniformRng rng_;
  std::shared_ptr<TrustGate> gate_;
};

}  // namespace onionmx::source
