// dns_config.hpp - settings of the DNS source, apart from its transport.
//
// The configuration, the engine and the C API set these without seeing
// c-ares: only dns/cares_client.cpp includes <ares.h>.  The limits are the
// public ones of onionmx.h, so the file, the C options and the command
// lines accept exactly the same range (docs/configuration.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "onionmx/onionmx.h"

namespace onionmx::dns {

enum class Dnssec { Off, Prefer, Require };

constexpr std::string_view dnssec_name(Dnssec d) noexcept {
  switch (d) {
    case Dnssec::Off:
      return "off";
    case Dnssec::Prefer:
      return "prefer";
    case Dnssec::Require:
      return "require";
  }
  return "off";
}

// Time budget of one lookup: the whole of it, retries and CNAME hops included.
inline constexpr std::chrono::milliseconds kMinTimeout{ONIONMX_TIMEOUT_MIN_MS};
inline constexpr std::chrono::milliseconds kMaxTimeout{ONIONMX_TIMEOUT_MAX_MS};

struct DnsConfig {
  std::vector<std::string> servers;  // "ip", "ip:port", "[ipv6]:port"; empty: resolv.conf
  bool tcp = false;
  Dnssec dnssec = Dnssec::Off;
  std::chrono::milliseconds timeout{5000};
  int tries = 2;
  std::string srv_prefix = "_onion-mx._tcp";
  std::uint32_t max_ttl = 86400;
  std::uint32_t max_negative_ttl = 3600;
  // Bounded so a burst of answers fits the UDP socket's receive buffer
  // (Linux default ~208 KiB): beyond it the kernel drops answers.
  std::size_t max_in_flight = 128;
};

}  // namespace onionmx::dns
