// fuzz_import_postfix.cpp - the Postfix transport(5) importer of
// onionmx-map on arbitrary bytes.
//
// Invariants: never throws; every imported entry makes a valid map
// (format_map then parse_map accepts it), so bad onions and domains are
// always dropped, never passed on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "convert.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace onionmx;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto imported = mapconv::import_postfix(in);
  for (const auto& d : imported.dropped)
    if (d.empty()) std::abort();
  auto m =
      map::parse_map(map::format_map(1, std::nullopt, imported.entries), map::ParseOptions{1, 20});
  if (!m || m->size() != imported.entries.size()) std::abort();
  return 0;
}
