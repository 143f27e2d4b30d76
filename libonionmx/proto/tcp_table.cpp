#include "proto/tcp_table.hpp"

#include <utility>

#include "base/strings.hpp"
#include "proto/answer_format.hpp"

namespace onionmx::proto {
namespace {

constexpr std::string_view kHex = "0123456789ABCDEF";

// tcp_table(5) separates parameters by whitespace.
constexpr bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  const char l = base::ascii_lower(c);
  if (l >= 'a' && l <= 'f') return l - 'a' + 10;
  return -1;
}

// Whitespace-separated fields, at most `max` + 1 of them (enough to tell
// "too many").
std::vector<std::string_view> fields(std::string_view line, std::size_t max) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (out.size() <= max) {
    while (i < line.size() && is_space(line[i])) ++i;
    if (i == line.size()) break;
    const std::size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    out.push_back(line.substr(start, i - start));
  }
  return out;
}

TcpTableRequest invalid(std::string why) { return {{}, std::move(why)}; }

}  // namespace

TcpTableDecoder::TcpTableDecoder(std::size_t max_line) noexcept : max_line_(max_line) {}

std::optional<DecodeError> TcpTableDecoder::feed(std::string_view chunk,
                                                 std::vector<TcpTableRequest>& out) {
  if (failed_) return DecodeError{WireError::Malformed, "input after a protocol error"};
  while (!chunk.empty()) {
    const auto lf = chunk.find('\n');
    const std::string_view part = chunk.substr(0, lf);
    if (line_.size() + part.size() > max_line_) {
      failed_ = true;
      line_.clear();
      line_.shrink_to_fit();
      return DecodeError{WireError::TooLarge, "tcp_table request line exceeds the limit of " +
                                                  std::to_string(max_line_) + " bytes"};
    }
    if (lf == std::string_view::npos) {
      line_.append(part);
      break;
    }
    if (line_.empty()) {
      out.push_back(parse_tcp_table_request(part));  // the common case: no copy
    } else {
      line_.append(part);
      out.push_back(parse_tcp_table_request(line_));
      line_.clear();
    }
    chunk.remove_prefix(lf + 1);
  }
  return std::nullopt;
}

TcpTableRequest parse_tcp_table_request(std::string_view line) {
  const auto f = fields(line, 2);
  if (f.empty()) return invalid("empty request");
  if (f[0] != "get") {
    if (f[0] == "put") return invalid("put is not supported: only the lookup request");
    return invalid("unknown command " + base::printable(f[0], 40));
  }
  if (f.size() < 2) return invalid("get without a key");
  if (f.size() > 2) return invalid("get with more than one field (whitespace must be %-encoded)");
  auto key = tcp_table_decode(f[1]);
  if (!key) return invalid(key.error());
  return {std::move(*key), {}};
}

std::string tcp_table_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    // '%', whitespace and non-printing bytes (tcp_table(5) ENCODING);
    // non-ASCII too, as Postfix's own client does (docs/wire-protocols.md).
    if (c == '%' || c <= 0x20 || c >= 0x7f) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

tl::expected<std::string, std::string> tcp_table_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    const bool two = text.size() - i >= 3;
    const int hi = two ? hex_value(text[i + 1]) : -1;
    const int lo = two ? hex_value(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) return tl::make_unexpected("bad %-escape at offset " + std::to_string(i));
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::string encode_tcp_table_reply(const Reply& r) {
  switch (r.outcome) {
    case base::Outcome::Found: {
      // "200 " + encoded value + LF within the limit.
      if (auto p = value_problem(r.text, kTcpTableMaxReply - 5))
        return "400 " + tcp_table_encode("internal error: invalid reply value (" + *p + ")") + "\n";
      std::string line = "200 " + tcp_table_encode(r.text) + "\n";
      if (line.size() > kTcpTableMaxReply) return "400 internal%20error:%20reply%20too%20long\n";
      return line;
    }
    case base::Outcome::NotFound:
      return "500 not%20found\n";
    case base::Outcome::Temp:
    case base::Outcome::Perm:
      // safe_reason() keeps this far below the limit (200 bytes, 600 encoded).
      return "400 " + tcp_table_encode(safe_reason(r.text)) + "\n";
  }
  return "400 internal%20error\n";
}

std::string encode_tcp_table_request(std::string_view key) {
  return "get " + tcp_table_encode(key) + "\n";
}

}  // namespace onionmx::proto
