// hs_dir.hpp - read a Tor HiddenServiceDir (tor(1) HiddenServiceDir, rend-spec-v3).
//
// `hostname` is "<56>.onion\n"; `hs_ed25519_public_key` is 64 bytes: the
// 32-byte header "== ed25519v1-public: type0 ==" padded with NULs, then the
// key.  Both are read, checked to the byte, and cross-checked: the address
// derived from the key must equal the hostname.  The secret key is never read.
#pragma once

#include <string>
#include <string_view>

#include "address/onion_address.hpp"
#include "base/result.hpp"

namespace onionmx::address {

[[nodiscard]] base::Result<OnionName> read_hs_dir(const std::string& dir);

// The checks of read_hs_dir on file contents already read (pure; fuzzed).
// The names only label error messages.
[[nodiscard]] base::Result<OnionName> parse_hs_files(std::string_view key,
                                                     std::string_view hostname,
                                                     const std::string& key_name,
                                                     const std::string& host_name);

}  // namespace onionmx::address
