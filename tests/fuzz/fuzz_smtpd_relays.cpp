// fuzz_smtpd_relays.cpp - the relay-table reader of onionmx-lookup
// --export-opensmtpd (tools/onionmx-lookup/smtpd_tables.cpp) on arbitrary
// bytes: the previous DIR/smtpd-relays it reads to keep failed domains.
//
// Invariants: never throws; keys and values are non-empty and hold no
// blank or newline; writing the result and reading it back gives it again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "smtpd_tables.hpp"

namespace {
bool clean(const std::string& s) {
  return !s.empty() && s.find_first_of(" \t\r\n\v\f") == std::string::npos;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace onionmx;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const smtpd::Relays r = smtpd::parse_relays(in);
  for (const auto& [k, v] : r)
    if (!clean(k) || !clean(v) || k.front() == '#') std::abort();
  if (smtpd::parse_relays(smtpd::format_relays(r)) != r) std::abort();
  return 0;
}
