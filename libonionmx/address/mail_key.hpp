// mail_key.hpp - turn an MTA lookup key into the domain to route.
//
// Postfix sends the full recipient address in its original case
// (transport(5), socketmap_table(5)); OpenSMTPD and Exim send a domain.  The domain is
// the text after the last '@' (the whole key if there is none), ASCII
// lower-cased, with one trailing dot stripped; a non-ASCII (UTF-8) domain
// becomes its A-labels (address/idna.hpp).  Keys that cannot name a
// routable domain ("*", "[ip]" literals, empty, containing NUL, invalid
// syntax or IDN, non-ASCII onion names) are classified so the caller
// answers "not found" without any lookup.
#pragma once

#include <string>
#include <string_view>

namespace onionmx::address {

enum class KeyKind {
  Domain,          // `domain` holds a syntactically valid ASCII domain (A-labels)
  Wildcard,        // "*": Postfix probes it; must be NOTFOUND, never TEMP
  AddressLiteral,  // "[192.0.2.1]", "[IPv6:...]"
  Unusable,        // empty, NUL, bad syntax or IDN: `reason` says why
};

struct MailKey {
  KeyKind kind = KeyKind::Unusable;
  std::string domain;  // lower case A-labels, no trailing dot (Domain only)
  std::string reason;  // why the key is not routable (non-Domain)
};

inline constexpr std::size_t kMaxKeyLength = 1024;

MailKey parse_mail_key(std::string_view key);

}  // namespace onionmx::address
