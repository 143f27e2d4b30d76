#include "proto/listen_spec.hpp"

#include "address/domain.hpp"
#include "base/strings.hpp"

namespace onionmx::proto {
namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_hex(char c) noexcept {
  const char l = base::ascii_lower(c);
  return is_digit(c) || (l >= 'a' && l <= 'f');
}

// Decimal without leading zeros, at most `max`.
bool parse_decimal(std::string_view s, unsigned max, unsigned& out) noexcept {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
  unsigned v = 0;
  for (const char c : s) {
    if (!is_digit(c)) return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > max) return false;
  out = v;
  return true;
}

tl::unexpected<base::Error> bad(std::string_view spec, const std::string& why) {
  return base::fail(base::Status::Inval, "listen address '" + base::printable(spec) + "': " + why +
                                             " (expected inet:HOST:PORT or unix:/PATH)");
}

}  // namespace

// Leading zeros are refused: inet_aton(3) reads "010" as octal 8.
bool is_ipv4_literal(std::string_view s) noexcept {
  for (int part = 0; part < 4; ++part) {
    const auto dot = s.find('.');
    if ((part < 3) == (dot == std::string_view::npos)) return false;
    unsigned v = 0;
    if (!parse_decimal(s.substr(0, dot), 255, v)) return false;
    s = part < 3 ? s.substr(dot + 1) : std::string_view();
  }
  return true;
}

// RFC 4291 §2.2: eight groups of 1-4 hex digits, one "::" for a run of
// zero groups, optionally an IPv4 dotted quad as the last 32 bits.
bool is_ipv6_literal(std::string_view s) noexcept {
  const auto gap = s.find("::");
  if (gap != std::string_view::npos && s.find("::", gap + 1) != std::string_view::npos)
    return false;
  int groups = 0;
  auto count = [&groups](std::string_view half, bool last) {
    if (half.empty()) return true;
    while (true) {
      const auto colon = half.find(':');
      const std::string_view g = half.substr(0, colon);
      if (colon == std::string_view::npos && last && g.find('.') != std::string_view::npos) {
        groups += 2;  // embedded IPv4, e.g. ::ffff:192.0.2.1
        return is_ipv4_literal(g);
      }
      if (g.empty() || g.size() > 4) return false;
      for (const char c : g)
        if (!is_hex(c)) return false;
      ++groups;
      if (colon == std::string_view::npos) return true;
      half.remove_prefix(colon + 1);
    }
  };
  if (gap == std::string_view::npos) return count(s, true) && groups == 8;
  return count(s.substr(0, gap), false) && count(s.substr(gap + 2), true) && groups < 8;
}

bool is_host_name(std::string_view s) noexcept {
  if (s.empty() || s.back() == '.') return false;
  // An all-numeric last label would be read as an address by getaddrinfo
  // ("1.2.3" is 1.2.0.3 to inet_aton); RFC 1123 §2.1 rules it out.
  const auto last = s.substr(s.rfind('.') == std::string_view::npos ? 0 : s.rfind('.') + 1);
  bool numeric = true;
  for (const char c : last) numeric = numeric && is_digit(c);
  if (numeric) return false;
  try {
    return address::domain_syntax_problem(base::ascii_lowercase(s)).empty();
  } catch (...) {  // bad_alloc: not a valid name as far as we can tell
    return false;
  }
}

base::Result<ListenSpec> parse_listen_spec(std::string_view spec) {
  ListenSpec out;
  if (spec.starts_with("unix:")) {
    out.kind = ListenSpec::Kind::Unix;
    out.path = std::string(spec.substr(5));
    if (out.path.empty()) return bad(spec, "empty path");
    if (out.path.front() != '/') return bad(spec, "the path must be absolute");
    if (out.path.find('\0') != std::string::npos) return bad(spec, "NUL byte in the path");
    if (out.path.size() > kMaxUnixPath)
      return bad(spec, "path longer than " + std::to_string(kMaxUnixPath) + " bytes");
    return out;
  }
  if (!spec.starts_with("inet:")) return bad(spec, "unknown type");
  std::string_view rest = spec.substr(5);
  const auto colon = rest.rfind(':');
  if (colon == std::string_view::npos) return bad(spec, "no port");
  std::string_view host = rest.substr(0, colon);
  unsigned port = 0;
  if (!parse_decimal(rest.substr(colon + 1), 65535, port))
    return bad(spec, "port must be a decimal number 0-65535 without leading zeros");
  out.port = static_cast<std::uint16_t>(port);
  if (host.empty()) return bad(spec, "empty host");
  if (host.front() == '[') {
    if (host.size() < 2 || host.back() != ']') return bad(spec, "unclosed '['");
    host = host.substr(1, host.size() - 2);
    if (!is_ipv6_literal(host)) return bad(spec, "not an IPv6 address in brackets");
    out.host_kind = ListenSpec::Host::Ipv6;
  } else if (host.find(':') != std::string_view::npos) {
    return bad(spec, "an IPv6 address needs brackets: inet:[ADDRESS]:PORT");
  } else if (is_ipv4_literal(host)) {
    out.host_kind = ListenSpec::Host::Ipv4;
  } else if (is_host_name(host)) {
    out.host_kind = ListenSpec::Host::Name;
  } else {
    return bad(spec, "host is neither an IPv4 address, [IPv6] nor a host name");
  }
  out.host = std::string(host);
  return out;
}

std::string to_string(const ListenSpec& s) {
  if (s.kind == ListenSpec::Kind::Unix) return "unix:" + s.path;
  const bool v6 = s.host_kind == ListenSpec::Host::Ipv6;
  return "inet:" + std::string(v6 ? "[" : "") + s.host + (v6 ? "]" : "") + ":" +
         std::to_string(s.port);
}

}  // namespace onionmx::proto
