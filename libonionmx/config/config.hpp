// config.hpp - onionmx.toml(5): one TOML file read by every tool.
//
// Every key has a documented default (docs/configuration.md); unknown
// sections or keys, wrong types and out-of-range values are errors that
// name the file, the line and the key, so a typo never silently changes
// routing.  Parsing never throws (toml++ errors are caught here).
#pragma once

#include <array>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "cache/cache.hpp"
#include "dns/dns_config.hpp"
#include "proto/answer_format.hpp"
#include "record/trust.hpp"
#include "resolver/resolver.hpp"

namespace onionmx::config {

// The static map ([map], docs/map-format.md).  No path: no map.
struct MapSettings {
  std::string path;
  std::vector<std::string> trusted_keys;       // minisign public key files
  std::string state_dir = "/var/lib/onionmx";  // rollback state, created if missing
  bool allow_unsigned = false;
};

struct Config {
  resolver::Settings resolver;
  MapSettings map;
  cache::Settings cache;
  dns::DnsConfig dns;
  proto::AnswerStyle answer;
  record::TrustSettings trust;  // [trust], docs/route-trust.md
};

// Sections reserved for tools: the library accepts them (they must be
// tables) and leaves their keys to the tool, which checks them as strictly
// (docs/configuration.md).  The library never depends on a tool.
inline constexpr std::array<std::string_view, 2> kToolSections = {"onionmxd", "onionmx-table"};

// The source names resolver.order may use (the engine's registry).
using SourceNames = std::span<const std::string_view>;

// `origin` names the text in messages (a path, or "<string>").
[[nodiscard]] base::Result<Config> parse_config(std::string_view text, const std::string& origin,
                                                SourceNames sources);
// Io if the file cannot be read, Inval for any content error.
[[nodiscard]] base::Result<Config> load_config(const std::string& path, SourceNames sources);

// "ip", "ip:port", "[ipv6]", "[ipv6]:port" -> the same, checked.  Bare IPv6
// without brackets is accepted when it has no port.  Inval otherwise.
[[nodiscard]] base::Result<std::string> check_server(std::string_view server);

}  // namespace onionmx::config
