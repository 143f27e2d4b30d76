// convert.hpp - onionmx-map import and export formats.
//
// Import:
//   Postfix transport(5) file: "key  transport:[<56>.onion]:port" lines,
//   '#' comments, blank lines, continuation lines (leading whitespace),
//   keys "domain" or ".domain".  Only onion next hops are imported.
//   onionmx YAML map (ehloonion/onionmx sources/map.yml): a mapping
//   '<onion>': [domain, ...]; a null or empty domain list is allowed.
// Every line/entry that is not imported is reported with its line number
// and reason (v2 onion, bad checksum, bad key, bad domain, ...).
// Export:
//   Postfix transport file ready for postmap(1) (one next hop per key: the
//   best route), and the two OpenSMTPD 6.8 file tables of smtpd.conf(5)
//   "table onion_domains file:…" (a domain list) and "relay domain
//   <onion_relays>" (exact keys → "smtp+notls://<onion>:<port>"); `.domain`
//   keys have no exact OpenSMTPD equivalent and are skipped with a warning.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "map/static_map.hpp"

namespace onionmx::mapconv {

struct Import {
  std::vector<map::Entry> entries;
  std::vector<std::string> dropped;  // "line 12: ...: reason"
  std::size_t v2 = 0;                // how many drops were v2 onions
};

// Never fails: bad lines are dropped and reported.
Import import_postfix(std::string_view text);
// BadData only if the document is not YAML or not a mapping.
[[nodiscard]] base::Result<Import> import_onionmx_yaml(std::string_view text);

// skipped: routes beyond the first per key (Postfix takes one next hop).
std::string export_postfix(const map::StaticMap& m, std::string_view transport,
                           std::vector<std::string>& warnings);

struct SmtpdTables {
  std::string domains;  // smtpd-domains
  std::string relays;   // smtpd-relays
};
SmtpdTables export_opensmtpd(const map::StaticMap& m, std::vector<std::string>& warnings);

}  // namespace onionmx::mapconv
