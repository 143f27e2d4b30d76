// dns_stats.hpp - counters of the DNS client, for onionmx_stats()
// (docs/c-api.md, "Statistics").
//
// Plain integers bumped on the loop thread: the client runs on one loop and
// the reader (the C API) runs on the same thread, so no atomics are needed.
// The engine owns them, so they keep counting across reloads, which
// replace the client.
#pragma once

#include <cstdint>

namespace onionmx::dns {

struct DnsStats {
  std::uint64_t queries = 0;   // SRV queries handed to c-ares (CNAME hops included)
  std::uint64_t failures = 0;  // lookups that ended in a temporary failure
  std::uint64_t timeouts = 0;  // of those, the ones that ran out of time
  // Policy and downgrade-guard queries (TXT, MX, TLSA; docs/route-trust.md).
  std::uint64_t trust_queries = 0;
  std::uint64_t trust_failures = 0;
};

}  // namespace onionmx::dns
