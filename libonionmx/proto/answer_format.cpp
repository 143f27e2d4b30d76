#include "proto/answer_format.hpp"

#include <string_view>

#include "base/status.hpp"
#include "base/strings.hpp"
#include "proto/reply.hpp"
#include "proto/socketmap.hpp"

namespace onionmx::proto {
namespace {
constexpr std::size_t kMaxReason = 200;
constexpr std::size_t kMaxKeyText = 2048;  // above the 1024-byte key limit: never cut
}  // namespace

std::string safe_reason(const std::string& reason) {
  std::string out;
  out.reserve(std::min(reason.size(), kMaxReason));
  for (unsigned char c : reason) {
    if (out.size() >= kMaxReason) break;
    out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
  }
  if (out.empty()) out = "unspecified";
  return out;
}

std::string postfix_nexthop(const record::Answer& a, const AnswerStyle& style) {
  if (a.status != base::Status::Ok || a.routes.empty()) return {};
  auto hop = [](const record::Route& r) { return "[" + r.onion + "]:" + std::to_string(r.port); };
  std::string out = style.transport + ":" + hop(a.routes.front());
  if (style.multi_nexthop) {
    for (std::size_t i = 1; i < a.routes.size(); ++i) {
      if (a.routes[i].priority != a.routes.front().priority) break;
      out += ", " + hop(a.routes[i]);
    }
  }
  return out;
}

// The same payload onionmxd frames as a netstring (socketmap.hpp).
std::string format_postfix(const record::Answer& a, const AnswerStyle& style) {
  return socketmap_payload(reply_of(a, style));
}

std::string format_opensmtpd(const record::Answer& a, const AnswerStyle& style) {
  switch (base::outcome_of(a.status)) {
    case base::Outcome::Found: {
      if (a.routes.empty()) return "error|internal error: no route";
      const auto& r = a.routes.front();
      return style.opensmtpd_scheme + "://" + r.onion + ":" + std::to_string(r.port);
    }
    case base::Outcome::NotFound:
      return "not-found";
    case base::Outcome::Temp:
    case base::Outcome::Perm: {
      std::string msg = safe_reason(a.reason);
      for (char& c : msg)
        if (c == '|') c = '/';
      return "error|" + msg;
    }
  }
  return "error|internal error";
}

namespace {

// RFC 8259 string.  Keys are raw bytes from the MTA and may not be UTF-8:
// invalid sequences become U+FFFD rather than an exception or broken JSON.
void append_json_string(std::string& out, std::string_view in) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t i = 0;
  while (i < in.size()) {
    // Copy runs of characters that need no escaping in one append.
    std::size_t run = i;
    while (run < in.size()) {
      const auto r = static_cast<unsigned char>(in[run]);
      if (r < 0x20 || r >= 0x7f || r == '"' || r == '\\') break;
      ++run;
    }
    if (run > i) {
      out.append(in.substr(i, run - i));
      i = run;
      continue;
    }
    const auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20 || c == 0x7f) {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 15];
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // Length and first continuation byte range of a well-formed sequence
    // (Unicode 15 table 3-7): no overlongs, no surrogates, <= U+10FFFF.
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
      len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    }
    bool ok = len != 0 && i + len <= in.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      const auto b = static_cast<unsigned char>(in[i + k]);
      ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xbf);
    }
    if (ok) {
      out.append(in.substr(i, len));
      i += len;
    } else {
      out += "\xef\xbf\xbd";  // U+FFFD
      ++i;
    }
  }
  out += '"';
}

void append_field(std::string& out, const char* name) {
  if (out.size() > 1) out += ',';
  out += '"';
  out += name;
  out += "\":";
}

}  // namespace

// Written by hand, not with nlohmann::json: it was a third of the CPU of a
// DNS lookup in the benchmark, and the object's shape is fixed.
std::string format_json(const record::Answer& a) {
  std::string out;
  out.reserve(256 + a.routes.size() * 100);
  out += '{';
  append_field(out, "key");
  append_json_string(out, a.key);
  append_field(out, "domain");
  append_json_string(out, a.domain);
  append_field(out, "status");
  append_json_string(out, base::outcome_name(base::outcome_of(a.status)));
  append_field(out, "routes");
  out += '[';
  for (std::size_t i = 0; i < a.routes.size(); ++i) {
    const auto& r = a.routes[i];
    if (i) out += ',';
    out += "{\"onion\":";
    append_json_string(out, r.onion);
    out += ",\"port\":" + std::to_string(r.port) + ",\"priority\":" + std::to_string(r.priority) +
           ",\"weight\":" + std::to_string(r.weight) + "}";
  }
  out += ']';
  append_field(out, "source");
  append_json_string(out, a.source);
  append_field(out, "reason");
  append_json_string(out, a.reason);
  append_field(out, "ttl");
  out += std::to_string(a.ttl);
  append_field(out, "authenticated");
  out += a.authenticated ? "true" : "false";
  append_field(out, "stale");
  out += a.stale ? "true" : "false";
  append_field(out, "age");
  out += std::to_string(a.age);
  // Only for domains with a policy record or a pin: other answers keep
  // their documented bytes (docs/route-trust.md).
  if (a.policy.present) {
    append_field(out, "policy");
    const auto& p = a.policy;
    out += "{\"mode\":";
    append_json_string(out, p.mode);
    out += ",\"max_age\":" + std::to_string(p.max_age) +
           ",\"pinned\":" + (p.pinned ? "true" : "false") +
           ",\"pin_expires\":" + std::to_string(p.pin_expires) +
           ",\"authenticated\":" + (p.authenticated ? "true" : "false");
    if (!p.error.empty()) {
      out += ",\"error\":";
      append_json_string(out, p.error);
    }
    out += '}';
  }
  if (!a.explain.empty()) {
    append_field(out, "explain");
    out += '[';
    for (std::size_t i = 0; i < a.explain.size(); ++i) {
      if (i) out += ',';
      append_json_string(out, a.explain[i]);
    }
    out += ']';
  }
  out += '}';
  return out;
}

std::string format_text(const record::Answer& a, const AnswerStyle& style) {
  // The key is raw MTA input: one answer must stay one line.
  std::string out = base::printable(a.key, kMaxKeyText) + ": " +
                    std::string(base::outcome_name(base::outcome_of(a.status)));
  if (a.status == base::Status::Ok) out += " " + postfix_nexthop(a, style);
  out += " (source " + std::string(a.source);
  if (a.status == base::Status::Ok || a.status == base::Status::NotFound)
    out += ", ttl " + std::to_string(a.ttl);
  if (a.source == "cache") out += ", age " + std::to_string(a.age);
  if (a.stale) out += ", STALE: DNS failed";
  if (a.authenticated) out += ", DNSSEC authenticated";
  if (a.policy.present) {
    out += ", policy " + a.policy.mode;
    if (a.policy.pinned) out += " (pinned)";
  }
  out += "): " + safe_reason(a.reason);
  return out;
}

}  // namespace onionmx::proto
