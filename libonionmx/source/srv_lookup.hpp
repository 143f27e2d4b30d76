// srv_lookup.hpp - the seam between the DNS source and whatever fetches
// record sets: the c-ares client today (dns/cares_client), a cache in front
// of it later.  Either one answers with a record::RecordSet: the validated
// targets with their TTL and receive time, a definitive negative answer, or
// a failure.  The callback runs exactly once, possibly before fetch()
// returns.
#pragma once

#include <cstddef>
#include <functional>

#include "record/record_set.hpp"
#include "source/source.hpp"

namespace onionmx::source {

using FetchCallback = std::function<void(record::RecordSet)>;

class SrvLookup {
 public:
  virtual ~SrvLookup() = default;
  virtual void fetch(const Query& q, FetchCallback done) = 0;
  // Fetches that have not answered yet.
  virtual std::size_t pending() const noexcept = 0;
};

}  // namespace onionmx::source
