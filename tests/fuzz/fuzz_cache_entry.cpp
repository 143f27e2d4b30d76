// fuzz_cache_entry.cpp - the entry lines of the cache file behind a valid
// header and checksum, so that mutations reach the JSON entry validation
// of cache::parse instead of failing the SHA3-256 trailer.
//
// The input is the file's body: its lines (a missing last newline is
// added) become the entry lines, the header announces as many entries, and
// the trailer carries their correct checksum.  Invariants as for
// fuzz_cache_file (cache_fuzz_check.hpp).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/strings.hpp"
#include "cache_fuzz_check.hpp"
#include "crypto/crypto.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace onionmx;
  std::string body(reinterpret_cast<const char*>(data), size);
  if (!body.empty() && body.back() != '\n') body += '\n';
  std::size_t lines = 0;
  for (char c : body) lines += c == '\n' ? 1 : 0;
  std::string file = R"({"entries":)" + std::to_string(lines) +
                     R"(,"format":"onionmx-cache","saved":1700000000,"version":1})" + "\n" + body;
  crypto::Sha3Digest d{};
  if (!crypto::sha3_256(std::span(reinterpret_cast<const std::uint8_t*>(file.data()), file.size()),
                        d))
    return 0;
  file += R"({"sha3-256":")" + base::hex_lower(d) + "\"}\n";
  fuzz::check_parse(file);
  return 0;
}
