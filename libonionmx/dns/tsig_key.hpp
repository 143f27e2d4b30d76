// tsig_key.hpp - TSIG keys from a BIND key file or a NAME:SECRET argument.
//
// Key file: the `key` statement that `tsig-keygen` (BIND 9) writes,
//   key "onionmx-key" {
//           algorithm hmac-sha256;
//           secret "base64…";
//   };
// with named.conf lexical rules: blanks, `#` and `//` comments to the end of
// the line, `/* … */` comments; the name quoted or bare.  Exactly one key
// statement; `algorithm` and `secret` exactly once each, nothing else inside.
// Algorithms: see dns/tsig.hpp (hmac-md5 is refused).  Secret: base64
// (RFC 4648 §4), at least one byte.  Argument form, as nsupdate -y:
// `[ALGORITHM:]NAME:SECRET`, algorithm hmac-sha256 by default.
// Pure; errors are BadData (file) or Inval (argument) with the position and
// reason; secrets never appear in error messages.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"
#include "dns/tsig.hpp"

namespace onionmx::dns {

// `source` labels error messages (the file name).
[[nodiscard]] base::Result<TsigKey> parse_tsig_key_file(std::string_view text,
                                                        const std::string& source);

[[nodiscard]] base::Result<TsigKey> parse_tsig_key_arg(std::string_view arg);

}  // namespace onionmx::dns
