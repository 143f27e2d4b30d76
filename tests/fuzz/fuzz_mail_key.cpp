// fuzz_mail_key.cpp - parse_mail_key on arbitrary MTA lookup keys.
//
// Invariants: Domain => a non-empty, lower-case domain without '@' or a
// trailing dot, no longer than the key, found (case-folded) inside the key;
// every other kind => no domain and a reason.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "address/mail_key.hpp"
#include "base/strings.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using onionmx::address::KeyKind;
  const std::string_view key(reinterpret_cast<const char*>(data), size);
  const auto k = onionmx::address::parse_mail_key(key);
  if (k.kind == KeyKind::Domain) {
    if (k.domain.empty()) std::abort();
    if (k.domain.size() > key.size()) std::abort();
    if (k.domain.back() == '.') std::abort();
    if (k.domain.find('@') != std::string::npos) std::abort();
    for (char c : k.domain)
      if (c >= 'A' && c <= 'Z') std::abort();
    if (onionmx::base::ascii_lowercase(key).find(k.domain) == std::string::npos) std::abort();
    if (!k.reason.empty()) std::abort();
  } else {
    if (!k.domain.empty()) std::abort();
    if (k.reason.empty()) std::abort();
  }
  return 0;
}
