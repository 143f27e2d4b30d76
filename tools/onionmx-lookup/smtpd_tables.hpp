// smtpd_tables.hpp - OpenSMTPD 6.8 file tables from lookup answers:
// the domain list (`match for domain <onion_domains>`) and the exact-key
// relay map (`action "tor" relay domain <onion_relays>`), see
// docs/mta-setups.md.  Pure std, so the relay-file reader can be fuzzed.
//
// Why both from one set of answers: smtpd.conf(5) checks the list, then
// looks the domain up in the map by exact key; a listed domain without a
// map entry is deferred ("Failed to retrieve smarthost").
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace onionmx::smtpd {

// domain -> relay URL (smtp+notls://<onion>:<port>), sorted by domain.
using Relays = std::map<std::string, std::string>;

// One answer, reduced to what the tables need.
struct Answer {
  enum class Kind { Found, NotFound, Failed };
  Kind kind = Kind::Failed;
  std::string key;     // as given, for reports
  std::string domain;  // lowercased A-label; empty when the key has none
  std::string relay;   // Found: the relay URL
  std::string reason;  // NotFound/Failed: why
};

// Reads a relay map this module wrote (or any static file table:
// `key<blanks>value` lines, `#` comments).  Lines without both fields are
// ignored; keys and values hold no whitespace.  Never throws on any input
// but allocation failure.
Relays parse_relays(std::string_view text);

struct Tables {
  Relays relays;
  // Domains whose lookup failed and that kept their previous entry
  // ("kept"), or had none ("unrouted"): one report line each.
  std::vector<std::string> reports;
  bool any_failed = false;
};

// The new tables: found domains with their relay, not-found ones left
// out, and a failed lookup keeps the domain's previous entry (dropping
// it would send that domain's mail over the clearnet, docs/mta-setups.md).
Tables build(const std::vector<Answer>& answers, const Relays& previous);

// File contents: the domain list and the relay map, one entry a line,
// after a comment naming the generator.
std::string format_domains(const Relays& r);
std::string format_relays(const Relays& r);

}  // namespace onionmx::smtpd
