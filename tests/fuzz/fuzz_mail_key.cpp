// fuzz_mail_key.cpp - parse_mail_key on arbitrary MTA lookup keys.
//
// Invariants: Domain => a non-empty, lower-case ASCII domain without '@' or
// a trailing dot, itself a key for the same domain (IDNA is idempotent on
// A-labels); for an ASCII key also no longer than the key and found
// (case-folded) inside it; every other kind => no domain and a reason.
// Non-ASCII keys exercise the IDNA conversion (libidn2).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "address/idna.hpp"
#include "address/mail_key.hpp"
#include "base/strings.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using onionmx::address::KeyKind;
  const std::string_view key(reinterpret_cast<const char*>(data), size);
  const auto k = onionmx::address::parse_mail_key(key);
  if (k.kind == KeyKind::Domain) {
    if (k.domain.empty()) std::abort();
    if (k.domain.back() == '.') std::abort();
    if (k.domain.find('@') != std::string::npos) std::abort();
    for (char c : k.domain)
      if ((c >= 'A' && c <= 'Z') || static_cast<unsigned char>(c) >= 0x80) std::abort();
    if (!k.reason.empty()) std::abort();
    const auto again = onionmx::address::parse_mail_key(k.domain);
    if (again.kind != KeyKind::Domain || again.domain != k.domain) std::abort();
    if (!onionmx::address::has_non_ascii(key)) {
      if (k.domain.size() > key.size()) std::abort();
      if (onionmx::base::ascii_lowercase(key).find(k.domain) == std::string::npos) std::abort();
    }
  } else {
    if (!k.domain.empty()) std::abort();
    if (k.reason.empty()) std::abort();
  }
  return 0;
}
