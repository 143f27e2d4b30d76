// listen_spec.hpp - where the lookup daemon listens: "inet:HOST:PORT" or
// "unix:PATH", the endpoint syntax of Postfix maps (socketmap_table(5)),
// as given to --socketmap and --tcp-table.
//
//   inet:127.0.0.1:17001   IPv4 dotted quad, no leading zeros in a part
//   inet:[::1]:17001       IPv6 in brackets (RFC 3986 style); no zone id
//   inet:localhost:17001   a host name (LDH labels); the daemon resolves it
//                          when it binds and listens on every address
//   unix:/var/spool/postfix/onionmx/sm.sock
//                          absolute path, at most 107 bytes (Linux sun_path)
// PORT is decimal 0-65535 without leading zeros; 0 lets the kernel pick one
// (tests).  There is no "all interfaces" shorthand: both protocols are
// unauthenticated (tcp_table(5) SECURITY), so a wildcard address must be
// written out (inet:0.0.0.0:PORT, inet:[::]:PORT).  A relative unix path is
// refused: the daemon's working directory is not Postfix's queue directory
// (Postfix's chrooted side uses the relative form; docs/wire-protocols.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace onionmx::proto {

inline constexpr std::size_t kMaxUnixPath = 107;  // sizeof(sockaddr_un::sun_path) - 1 on Linux

struct ListenSpec {
  enum class Kind { Inet, Unix };
  enum class Host { Ipv4, Ipv6, Name };
  Kind kind = Kind::Inet;
  Host host_kind = Host::Ipv4;  // Inet only
  std::string host;             // Inet: without brackets
  std::uint16_t port = 0;       // Inet
  std::string path;             // Unix
  bool operator==(const ListenSpec&) const = default;
};

// Status::Inval with a message that quotes the spec on any error.
[[nodiscard]] base::Result<ListenSpec> parse_listen_spec(std::string_view spec);
// The canonical spelling, as parse_listen_spec() accepts it back.
std::string to_string(const ListenSpec& s);

// The host forms, exposed for tests and other endpoint parsers.
bool is_ipv4_literal(std::string_view s) noexcept;
bool is_ipv6_literal(std::string_view s) noexcept;
bool is_host_name(std::string_view s) noexcept;

}  // namespace onionmx::proto
