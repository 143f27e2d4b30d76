// srv.hpp - SRV target selection order, RFC 2782.
//
// Lowest priority first.  Within a priority: weight-0 records first (in
// their given order), then the rest; sum the weights, draw x uniformly from
// [0, sum] inclusive, take the first record whose running sum >= x, remove
// it, repeat.  `rnd(n)` returns an integer in [0, n]; it is injected so the
// reference vectors (docs/test-vectors.md) can be replayed exactly.  Callers that want
// weight-0 records to rotate shuffle the input first (RFC 2782 allows any
// order before the weight-0 partition).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "record/route.hpp"

namespace onionmx::record {

struct SrvRecord {
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 0;
  std::string target;  // as received, lower case, no trailing dot; "" = "."
};

using UniformRng = std::function<std::uint32_t(std::uint32_t upper_inclusive)>;

std::vector<SrvRecord> order_srv(std::vector<SrvRecord> records, const UniformRng& rnd);
void shuffle(std::vector<SrvRecord>& records, const UniformRng& rnd);
// The routes of one lookup: shuffle, then order_srv.  `valid` holds only
// checked onion targets (dns::check_targets), so every record becomes a
// route; drawn anew for every lookup of the same record set.
std::vector<Route> order_routes(std::vector<SrvRecord> valid, const UniformRng& rnd);

}  // namespace onionmx::record
