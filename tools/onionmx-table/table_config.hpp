// table_config.hpp - onionmx-table's own section of onionmx.toml,
// [onionmx-table] (docs/onionmx-table.md#asking-onionmxd).
//
// smtpd starts the table with nothing but the configuration file's path
// (smtpd-tables(7): argv {NAME, PATH}), so what the command line sets by
// hand (--daemon, --daemon-map) must also be settable there:
//
//   [onionmx-table]
//   daemon = "unix:/run/onionmx/socketmap.sock"   # listen_spec.hpp syntax
//   daemon_map = "opensmtpd"                      # an onionmxd profile name
//
// The library skips the section (config.hpp kToolSections); it is checked
// here as strictly: unknown keys, wrong types and bad values are errors
// that name the file, the line and the key.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace onionmx_table {

struct TableFile {
  std::optional<std::string> daemon;  // canonical LISTEN spelling
  std::optional<std::string> daemon_map;
  std::string error;  // empty: parsed
};

// The [onionmx-table] section of TOML `text` (no I/O; fuzzed).
TableFile parse_table_section(std::string_view text, const std::string& origin);
// The file at `path` (at most 1 MiB); with `optional`, a missing file is an
// empty section.
TableFile load_table_section(const std::string& path, bool optional);

// A socketmap name onionmxd can serve: 1-64 of A-Z a-z 0-9 - _ . (no space,
// which ends the name in a request, socketmap_table(5)).
bool valid_map_name(std::string_view name);

}  // namespace onionmx_table
