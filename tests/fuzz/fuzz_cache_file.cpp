// fuzz_cache_file.cpp - cache::parse (the persistent cache file reader,
// cache/cache_file) on arbitrary bytes.
//
// Invariants (cache_fuzz_check.hpp): never a crash; a rejection says why;
// accepted entries have valid lower-case domains and, when positive,
// records with valid onion targets; re-serialised through a Cache they
// parse to the same entries.  The SHA3-256 trailer stops most mutations
// early: fuzz_cache_entry reaches the entry validation behind it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cache_fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  onionmx::fuzz::check_parse(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
