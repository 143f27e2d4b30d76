// fuzz_import_yaml.cpp - the onionmx YAML map importer of onionmx-map on
// arbitrary bytes.
//
// Invariants: yaml-cpp exceptions never escape; a rejection carries a
// reason; every imported entry makes a valid map.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "convert.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace onionmx;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto imported = mapconv::import_onionmx_yaml(in);
  if (!imported) {
    if (imported.error().detail.empty()) std::abort();
    return 0;
  }
  auto m =
      map::parse_map(map::format_map(1, std::nullopt, imported->entries), map::ParseOptions{1, 20});
  if (!m || m->size() != imported->entries.size()) std::abort();
  return 0;
}
