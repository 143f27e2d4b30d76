// source_flags.hpp - the source and resolver flags shared by onionmx-lookup
// and onionmxd: --config, --server, --tcp/--no-tcp, --dnssec, --timeout,
// --map, --trusted-key, --state-dir, --cache-file, --cache-size, --no-cache,
// --no-policy, --no-downgrade-guard.
//
// Header-only over CLI11 and the public C++ API (onionmx.hpp), so both
// tools still use nothing but the public headers.  The configuration file
// itself (--config) is the tool's to apply: onionmx-lookup's --demo
// replaces it.
#pragma once

#include <CLI/CLI.hpp>
#include <cmath>
#include <filesystem>
#include <onionmx/onionmx.hpp>
#include <optional>
#include <string>
#include <vector>

namespace onionmx::tools {

inline constexpr const char* kDefaultConfig = "/etc/onionmx/onionmx.toml";

struct SourceArgs {
  std::string config;
  std::vector<std::string> servers;
  std::optional<bool> tcp;  // unset: the configuration file's dns.tcp
  std::string dnssec;
  double timeout = 0;
  std::string map;
  std::vector<std::string> trusted_keys;
  std::string state_dir;
  std::string cache_file;
  long cache_size = -1;
  bool no_cache = false;
  bool no_policy = false;
  bool no_downgrade_guard = false;
};

inline void define_source_flags(CLI::App& app, SourceArgs& a) {
  app.add_option("--config", a.config,
                 std::string("Configuration file (default ") + kDefaultConfig + " if it exists)");
  app.add_option("--server", a.servers,
                 "DNS server IP[:PORT], repeatable (default: config, else resolv.conf)")
      ->allow_extra_args(false);  // one value per --server, so keys after it stay keys
  // Both, so the command line overrides the configuration file either way.
  auto* tcp = app.add_flag_callback("--tcp", [&a] { a.tcp = true; }, "Query DNS over TCP only");
  app.add_flag_callback(
         "--no-tcp", [&a] { a.tcp = false; },
         "Query DNS over UDP first (TCP for truncated answers only)")
      ->excludes(tcp);
  app.add_option("--dnssec", a.dnssec, "DNSSEC policy")
      ->check(CLI::IsMember({"off", "prefer", "require"}));
  app.add_option("--timeout", a.timeout, "Time budget of one lookup in seconds")
      ->check(CLI::Range(ONIONMX_TIMEOUT_MIN_MS / 1000.0, ONIONMX_TIMEOUT_MAX_MS / 1000.0));
  app.add_option("--map", a.map,
                 "Signed static map (JSON); its signature is read from FILE.minisig")
      ->allow_extra_args(false);
  app.add_option("--trusted-key", a.trusted_keys,
                 "Minisign public key trusted to sign the map, repeatable")
      ->allow_extra_args(false);
  app.add_option("--state-dir", a.state_dir,
                 "Directory of the map's rollback state (default /var/lib/onionmx)")
      ->allow_extra_args(false);
  app.add_option("--cache-file", a.cache_file,
                 "Persistent cache file, read at start and saved at exit (docs/cache.md)")
      ->allow_extra_args(false);
  app.add_option("--cache-size", a.cache_size, "Cache entries (0 turns the cache off)")
      ->check(CLI::Range(0L, 100000000L));
  app.add_flag("--no-cache", a.no_cache, "No cache: every lookup asks DNS");
  app.add_flag("--no-policy", a.no_policy,
               "Ignore v=ONIONMX1 policy records and keep no pins (docs/route-trust.md)");
  app.add_flag("--no-downgrade-guard", a.no_downgrade_guard,
               "Use unauthenticated onion routes of domains that publish MTA-STS or DANE");
}

// --config: the given file, else the default one if it exists.
inline void apply_config_flag(const SourceArgs& a, onionmx::Options& opts) {
  opts.config_path = a.config.empty() ? kDefaultConfig : a.config;
  opts.config_optional = a.config.empty();
}

// Every flag but --config into the library's options; an empty string when
// valid, else the usage error.
inline std::string apply_source_flags(const SourceArgs& a, onionmx::Options& opts) {
  if (!a.servers.empty()) {
    std::string csv;
    for (const auto& s : a.servers) csv += (csv.empty() ? "" : ",") + s;
    opts.servers = csv;
  }
  opts.tcp = a.tcp;
  opts.map_path = a.map;
  if (!a.trusted_keys.empty()) opts.trusted_keys = a.trusted_keys;
  opts.state_dir = a.state_dir;
  opts.no_policy = a.no_policy;
  opts.no_downgrade_guard = a.no_downgrade_guard;
  if (a.no_cache && a.cache_size > 0) return "--no-cache contradicts --cache-size";
  if (a.no_cache) opts.cache_size = 0;
  if (a.cache_size >= 0) opts.cache_size = static_cast<std::size_t>(a.cache_size);
  // A relative path on the command line is the shell's: from the current
  // directory, not the state directory (which a configured one uses).
  if (!a.cache_file.empty())
    opts.cache_file = std::filesystem::absolute(a.cache_file).lexically_normal().string();
  if (a.dnssec == "off") opts.dnssec = onionmx::Dnssec::Off;
  if (a.dnssec == "prefer") opts.dnssec = onionmx::Dnssec::Prefer;
  if (a.dnssec == "require") opts.dnssec = onionmx::Dnssec::Require;
  if (a.timeout > 0) opts.timeout_ms = static_cast<unsigned>(std::lround(a.timeout * 1000.0));
  return {};
}

}  // namespace onionmx::tools
