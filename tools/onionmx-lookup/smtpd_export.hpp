// smtpd_export.hpp - onionmx-lookup --export-opensmtpd DIR: resolve the
// given domains, write DIR/smtpd-domains and DIR/smtpd-relays atomically
// (the same files as `onionmx-map export --opensmtpd`), then optionally
// `smtpctl update table` both.  docs/onionmx-lookup.md, "OpenSMTPD tables".
#pragma once

#include <onionmx/onionmx.hpp>
#include <string>
#include <vector>

namespace onionmx::smtpd {

struct ExportArgs {
  std::string dir;
  std::string smtpctl;                                               // empty: no reload
  std::vector<std::string> tables{"onion_domains", "onion_relays"};  // list, map
};

// Exit status: 0 tables written (and reloaded), every domain decided;
// 2 some lookup failed (previous entries kept) or smtpctl failed;
// 3 nothing written (I/O error).  `keys` are domains or addresses.
int export_tables(onionmx::Context& ctx, const std::vector<std::string>& keys, const ExportArgs& a);

}  // namespace onionmx::smtpd
