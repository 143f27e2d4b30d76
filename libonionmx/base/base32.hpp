// base32.hpp - RFC 4648 base32, lower-case alphabet a-z2-7, no padding, as
// used by Tor onion addresses.  Decoding is strict: only whole 8-character
// groups of the lower-case alphabet, so every input has one decoding.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace onionmx::base32 {

std::string encode(std::span<const std::uint8_t> bytes);
// nullopt if the length is not a multiple of 8 or a character is outside
// a-z2-7.  Upper case is not accepted here: callers fold case first.
std::optional<std::vector<std::uint8_t>> decode(std::string_view text);
// Index of the first character outside a-z2-7, or npos.
std::size_t first_invalid(std::string_view text) noexcept;

}  // namespace onionmx::base32
