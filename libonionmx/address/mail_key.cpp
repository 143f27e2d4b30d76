#include "address/mail_key.hpp"

#include "address/domain.hpp"
#include "address/idna.hpp"
#include "address/onion_address.hpp"
#include "base/strings.hpp"

namespace onionmx::address {
namespace {

MailKey unusable(std::string reason) {
  MailKey k;
  k.kind = KeyKind::Unusable;
  k.reason = std::move(reason);
  return k;
}

}  // namespace

MailKey parse_mail_key(std::string_view key) {
  if (key.empty()) return unusable("empty key");
  // A C string (the C ABI, Postfix's table keys) ends at the first NUL, so
  // a key with one could be read as its prefix elsewhere: never routed.
  if (key.find('\0') != std::string_view::npos) return unusable("key contains a NUL byte");
  if (key.size() > kMaxKeyLength) return unusable("key longer than 1024 bytes");
  if (key == "*") {
    MailKey k;
    k.kind = KeyKind::Wildcard;
    k.reason = "wildcard key";
    return k;
  }
  std::string_view domain = key;
  if (auto at = key.rfind('@'); at != std::string_view::npos) domain = key.substr(at + 1);
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (domain.empty()) return unusable("no domain in key");
  // Only one trailing dot is the root; a second is an empty label, for
  // onion names too (their own parser would strip one more).
  if (domain.back() == '.') return unusable("empty label in domain");
  if (domain.front() == '[') {
    MailKey k;
    k.kind = KeyKind::AddressLiteral;
    k.reason = "address literal";
    return k;
  }
  std::string lower = base::ascii_lowercase(domain);
  if (has_non_ascii(lower)) {
    // Onion names are ASCII (rend-spec-v3; RFC 7686): no IDNA for them, and
    // a U-label whose mapping ends in "onion" (full-width letters) neither.
    if (is_onion_name(lower)) return unusable("non-ASCII .onion name");
    auto alabels = to_a_labels(lower);
    if (!alabels) return unusable(std::move(alabels.error().detail));
    if (is_onion_name(*alabels)) return unusable("non-ASCII .onion name");
    lower = std::move(*alabels);
  }
  // Onion names skip the generic syntax check: the onion source validates
  // them precisely and answers a permanent failure with the exact reason.
  if (auto why = is_onion_name(lower) ? std::string() : domain_syntax_problem(lower); !why.empty())
    return unusable(std::move(why));
  MailKey k;
  k.kind = KeyKind::Domain;
  k.domain = std::move(lower);
  return k;
}

}  // namespace onionmx::address
