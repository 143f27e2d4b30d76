// strings.hpp - ASCII helpers.  Mail keys and DNS names are compared in
// ASCII case-insensitively; locale-dependent <cctype> is never used.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace onionmx::base {

constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
std::string ascii_lowercase(std::string_view s);
bool ascii_iequals(std::string_view a, std::string_view b) noexcept;
bool ends_with_label(std::string_view name, std::string_view suffix) noexcept;
std::string_view trim(std::string_view s) noexcept;
// Printable, loggable rendering of untrusted bytes: non-printables as \xNN,
// cut to `max` characters.
std::string printable(std::string_view s, std::size_t max = 120);
// Lower-case hexadecimal of bytes.
std::string hex_lower(std::span<const std::uint8_t> bytes);

}  // namespace onionmx::base
