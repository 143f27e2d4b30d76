// profiles.cpp - see profiles.hpp.
#include "profiles.hpp"

#include "log.hpp"

namespace onionmxd {

namespace proto = onionmx::proto;
using Outcome = onionmx::base::Outcome;

Profiles::Profiles(const std::map<std::string, ProfileSpec>& configured) {
  profiles_.emplace(std::string(kPostfixMapName), ProfileSpec{AnswerForm::Postfix, {}, {}});
  profiles_.emplace(std::string(kOpenSmtpdMapName), ProfileSpec{AnswerForm::OpenSmtpd, {}, {}});
  for (const auto& [name, spec] : configured) profiles_[name] = spec;
}

const ProfileSpec* Profiles::find(std::string_view name) const {
  if (auto it = profiles_.find(name); it != profiles_.end()) return &it->second;
  if (warned_.size() < kMaxWarned && warned_.emplace(name).second)
    log(Level::Warning, "socketmap name \"" + printable(name, 64) +
                            "\" names no profile: answered PERM (known: " + describe() +
                            "; docs/onionmxd.md#profiles)");
  return nullptr;
}

std::string Profiles::describe() const {
  std::string out;
  for (const auto& [name, spec] : profiles_)
    out += (out.empty() ? "" : ", ") + name +
           (spec.form == AnswerForm::Postfix ? " (postfix)" : " (opensmtpd)");
  return out;
}

proto::Reply reply_of_lookup(const onionmx::Lookup& r) {
  // The library's socketmap payload: "OK <value>", "NOTFOUND ", "TEMP
  // <reason>", "PERM <reason>".  Anything else is a bug: defer.
  const std::string p = r.formatted(onionmx::Format::Postfix);
  auto rest = [&p](std::size_t n) { return p.size() > n ? p.substr(n) : std::string(); };
  if (p.starts_with("OK ")) return {Outcome::Found, rest(3)};
  if (p == "NOTFOUND " || p == "NOTFOUND") return {Outcome::NotFound, {}};
  if (p.starts_with("PERM")) return {Outcome::Perm, rest(5).empty() ? r.reason : rest(5)};
  if (p.starts_with("TEMP")) return {Outcome::Temp, rest(5).empty() ? r.reason : rest(5)};
  return proto::temp_reply("internal error: unexpected answer");
}

namespace {

// Replaces what precedes `sep` in `value` (the transport of a next hop, the
// scheme of a URL); an empty result when `value` has no `sep`.
std::string with_prefix(const std::string& value, std::string_view sep, const std::string& prefix) {
  const auto at = value.find(sep);
  if (at == std::string::npos || at == 0) return {};
  return prefix + value.substr(at);
}

}  // namespace

proto::Reply reply_for(const ProfileSpec& profile, const onionmx::Lookup& r) {
  proto::Reply reply = reply_of_lookup(r);
  if (reply.outcome != Outcome::Found) return reply;  // the same in every profile
  if (profile.form == AnswerForm::Postfix) {
    // "smtptor:[a.onion]:25[, [b.onion]:25]" (transport(5)): the service
    // is everything before the first ':'.
    if (profile.transport.empty()) return reply;
    std::string v = with_prefix(reply.text, ":", profile.transport);
    return v.empty() ? proto::temp_reply("internal error: next hop without a transport")
                     : proto::Reply{Outcome::Found, std::move(v)};
  }
  // "<scheme>://<onion>:<port>", or "error|<reason>" for a found answer the
  // library could not render (no route): that defers.
  std::string url = r.formatted(onionmx::Format::OpenSmtpd);
  if (url.starts_with("error|")) return proto::temp_reply(url.substr(6));
  if (!profile.scheme.empty()) url = with_prefix(url, "://", profile.scheme);
  if (url.empty()) return proto::temp_reply("internal error: relay URL without a scheme");
  // socketmap_payload() still checks the value (reply.hpp value_problem()).
  return {Outcome::Found, std::move(url)};
}

}  // namespace onionmxd
