// transport.hpp - one DNS exchange with one server, blocking, for a
// one-shot CLI (onionmx-publish).  Not part of the library core.
//
// UDP first (RFC 1035 §4.2.1), retried until the deadline, answers with
// another ID ignored; TCP (2-byte length prefix, RFC 1035 §4.2.2) when the
// UDP answer has TC set or when asked to.  IPv4 "a.b.c.d[:port]" and IPv6
// "[addr][:port]" or a bare IPv6 address; default port 53.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace onionmx::tools {

struct ServerAddress {
  std::string host;  // numeric address
  std::uint16_t port = 53;
  std::string text() const;  // "127.0.0.1:5300" / "[::1]:53"
};

// Inval with the reason for anything else than a numeric address.
[[nodiscard]] base::Result<ServerAddress> parse_server(const std::string& s);

struct ExchangeOptions {
  double timeout_s = 5.0;  // whole exchange
  bool tcp_only = false;
};

// Temp on timeout ("no answer from … within … s"), connection refused and
// other socket errors; the answer's bytes otherwise (not interpreted beyond
// ID and TC).
[[nodiscard]] base::Result<std::vector<std::uint8_t>> exchange(const ServerAddress& server,
                                                               std::span<const std::uint8_t> query,
                                                               const ExchangeOptions& opts);

}  // namespace onionmx::tools
