// idna.hpp - internationalised domain names to their A-label form.
//
// A U-label domain ("bücher.example", also Postfix's UTF-8 keys with
// smtputf8_enable, RFC 6531) is looked up as its A-labels
// ("xn--bcher-kva.example"): DNS holds only those (RFC 5890 §2.3.2.1).
// The conversion is UTS #46 (https://www.unicode.org/reports/tr46/)
// non-transitional processing, as browsers and mail clients do it, so "ß"
// stays "ß" (xn--zca) instead of becoming "ss", and upper case and
// full-width forms are mapped first; done by libidn2 (idn2_to_ascii_8z with
// IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT).  The only code that includes
// <idn2.h>.  Input must be UTF-8; anything libidn2 refuses (bad UTF-8,
// disallowed code points, bidi or joiner rule violations, labels over 63
// bytes after conversion) is an error with libidn2's reason.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace onionmx::address {

// True if `s` has a byte outside 7-bit ASCII (only then is IDNA needed).
bool has_non_ascii(std::string_view s) noexcept;

// The A-label form of a UTF-8 domain, lower case.  `domain` must not
// contain NUL.  Inval with the reason when it is not a valid IDN.
[[nodiscard]] base::Result<std::string> to_a_labels(std::string_view domain);

}  // namespace onionmx::address
