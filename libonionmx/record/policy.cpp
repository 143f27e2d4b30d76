#include "record/policy.hpp"

namespace onionmx::record {
namespace {

constexpr std::string_view kVersion = "v=ONIONMX1";

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

base::Result<Policy> bad(const std::string& why) {
  return base::fail(base::Status::BadData, "policy record: " + why);
}

// ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
bool valid_name(std::string_view n) {
  if (n.empty() || n.size() > 32 || !is_alnum(n[0])) return false;
  for (char c : n)
    if (!is_alnum(c) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

// ext-value = 1*(%x21-3A / %x3C / %x3E-7E)
bool valid_value(std::string_view v) {
  if (v.empty()) return false;
  for (char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x21 || c > 0x7e || c == ';' || c == '=') return false;
  }
  return true;
}

}  // namespace

std::string_view policy_mode_name(PolicyMode m) noexcept {
  switch (m) {
    case PolicyMode::Enforce:
      return "enforce";
    case PolicyMode::Testing:
      return "testing";
    case PolicyMode::None:
      return "none";
  }
  return "none";
}

bool policy_mode_from_name(std::string_view s, PolicyMode& out) noexcept {
  for (auto m : {PolicyMode::Enforce, PolicyMode::Testing, PolicyMode::None})
    if (s == policy_mode_name(m)) {
      out = m;
      return true;
    }
  return false;
}

base::Result<Policy> parse_policy(std::string_view text) {
  if (text.substr(0, kVersion.size()) != kVersion) return bad("does not begin with v=ONIONMX1");
  std::size_t pos = kVersion.size();
  bool have_mode = false, have_age = false;
  int fields = 0;
  Policy p;
  // Each round: field-delim, then a field (or the end after a trailing ";").
  while (pos < text.size()) {
    std::size_t i = pos;
    while (i < text.size() && is_wsp(text[i])) ++i;
    if (i >= text.size() || text[i] != ';')
      return bad("expected ';' after field " + std::string(pos == kVersion.size() ? "v" : "value") +
                 " at offset " + std::to_string(i));
    ++i;
    while (i < text.size() && is_wsp(text[i])) ++i;
    if (i == text.size()) {  // trailing delimiter
      pos = i;
      break;
    }
    std::size_t end = i;
    while (end < text.size() && text[end] != ';' && !is_wsp(text[end])) ++end;
    const std::string_view field = text.substr(i, end - i);
    const std::size_t eq = field.find('=');
    if (eq == std::string_view::npos)
      return bad("field without '=' at offset " + std::to_string(i));
    const std::string_view name = field.substr(0, eq), value = field.substr(eq + 1);
    ++fields;
    if (!valid_name(name)) return bad("bad field name at offset " + std::to_string(i));
    if (!valid_value(value)) return bad("bad value of field " + std::string(name));
    if (name == "mode") {
      if (have_mode) return bad("mode given twice");
      if (!policy_mode_from_name(value, p.mode))
        return bad("mode must be enforce, testing or none");
      have_mode = true;
    } else if (name == "max_age") {
      if (have_age) return bad("max_age given twice");
      if (value.size() > 10) return bad("max_age too large");
      std::uint64_t n = 0;
      for (char c : value) {
        if (c < '0' || c > '9') return bad("max_age must be decimal digits");
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
      }
      if (n > kPolicyMaxAgeLimit)
        return bad("max_age over " + std::to_string(kPolicyMaxAgeLimit) + " seconds");
      p.max_age = static_cast<std::uint32_t>(n);
      have_age = true;
    } else if (name == "v") {
      return bad("v given twice");
    }  // other names: extensions, ignored
    pos = end;
  }
  if (fields == 0) return bad("no fields after v=ONIONMX1");
  if (!have_mode) return bad("mode missing");
  if (!have_age) return bad("max_age missing");
  return p;
}

std::string format_policy(const Policy& p) {
  return std::string(kVersion) + "; mode=" + std::string(policy_mode_name(p.mode)) +
         "; max_age=" + std::to_string(p.max_age);
}

base::Result<Policy> select_policy(const std::vector<std::string>& records) {
  const std::string* found = nullptr;
  int n = 0;
  for (const auto& r : records) {
    std::string_view s = r;
    if (s.substr(0, kVersion.size()) != kVersion) continue;
    std::size_t i = kVersion.size();
    while (i < s.size() && is_wsp(s[i])) ++i;
    if (i != s.size() && s[i] != ';') continue;  // e.g. "v=ONIONMX10"
    found = &r;
    ++n;
  }
  if (n == 0) return base::fail(base::Status::NotFound, "no v=ONIONMX1 policy record");
  if (n > 1) return bad("more than one v=ONIONMX1 record");
  return parse_policy(*found);
}

}  // namespace onionmx::record
