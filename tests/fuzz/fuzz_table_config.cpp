// fuzz_table_config.cpp - onionmx-table's [onionmx-table] section parser
// (tools/onionmx-table/table_config.hpp) on fuzzed TOML.
//
// Invariants:
// - it never throws or crashes, whatever the bytes;
// - a refusal names the origin and sets no value;
// - an accepted section holds only values the table can use: a daemon
//   spec that parses back to itself, a valid socketmap name.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/listen_spec.hpp"
#include "table_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto f = onionmx_table::parse_table_section(in, "fuzz.toml");
  if (!f.error.empty()) {
    if (!f.error.starts_with("fuzz.toml")) std::abort();
    return 0;
  }
  if (f.daemon) {
    auto spec = onionmx::proto::parse_listen_spec(*f.daemon);
    if (!spec || onionmx::proto::to_string(*spec) != *f.daemon) std::abort();
  }
  if (f.daemon_map && !onionmx_table::valid_map_name(*f.daemon_map)) std::abort();
  return 0;
}
