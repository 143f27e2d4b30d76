#include "base/base32.hpp"

namespace onionmx::base32 {
namespace {
constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

constexpr int value_of(char c) noexcept {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}
}  // namespace

std::string encode(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += kAlphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 31];
  return out;
}

std::size_t first_invalid(std::string_view text) noexcept {
  for (std::size_t i = 0; i < text.size(); ++i)
    if (value_of(text[i]) < 0) return i;
  return std::string_view::npos;
}

std::optional<std::vector<std::uint8_t>> decode(std::string_view text) {
  if (text.size() % 8 != 0) return std::nullopt;
  std::vector<std::uint8_t> out;
  out.reserve(text.size() * 5 / 8);
  std::uint64_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v = value_of(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 5) | static_cast<std::uint64_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<std::uint8_t>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

}  // namespace onionmx::base32
