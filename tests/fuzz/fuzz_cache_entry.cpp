// fuzz_cache_entry.cpp - the entry lines of the cache file behind a valid
// header and checksum, so that mutations reach the JSON entry validation
// of cache::parse instead of failing the SHA3-256 trailer.
//
// The input is the file's body: its lines (a missing last newline is
// added) become the entry and pin lines, a version-2 header announces as
// many of each (a line that is a JSON object with a "pin" member counts as
// a pin line, as cache::parse decides), and the trailer carries their
// correct checksum.  Invariants as for
// fuzz_cache_file (cache_fuzz_check.hpp).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
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
  std::size_t entries = 0;
  std::size_t pins = 0;
  for (std::string_view rest = body; !rest.empty();) {
    const auto nl = rest.find('\n');
    const auto j = nlohmann::json::parse(rest.substr(0, nl), nullptr, false);
    ++(j.is_object() && j.contains("pin") ? pins : entries);
    rest.remove_prefix(nl + 1);
  }
  std::string file = R"({"entries":)" + std::to_string(entries) +
                     R"(,"format":"onionmx-cache","pins":)" + std::to_string(pins) +
                     R"(,"saved":1700000000,"version":2})" + "\n" + body;
  crypto::Sha3Digest d{};
  if (!crypto::sha3_256(std::span(reinterpret_cast<const std::uint8_t*>(file.data()), file.size()),
                        d))
    return 0;
  file += R"({"sha3-256":")" + base::hex_lower(d) + "\"}\n";
  fuzz::check_parse(file);
  return 0;
}
