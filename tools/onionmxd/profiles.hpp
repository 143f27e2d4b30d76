// profiles.hpp - what each socketmap map name answers.
//
// A socketmap request is "NAME KEY" (socketmap_table(5)); NAME selects a
// profile, i.e. the form of a found answer:
//   onionmx    Postfix transport(5) next hop, "OK smtptor:[<onion>]:25"
//   opensmtpd  OpenSMTPD relay URL, "OK smtp+notls://<onion>:25"
// Both are built in; [onionmxd.profiles.NAME] adds profiles or replaces a
// built-in one (daemon_config.hpp).  tcp_table requests carry no name and
// answer as the profile "onionmx".  Not-found, TEMP and PERM are the same
// in every profile (docs/status-model.md): an error is never not-found.
// An unknown name is answered PERM, never NOTFOUND: not-found would send
// the mail over the clearnet, and no retry fixes a wrong map name.
#pragma once

#include <map>
#include <onionmx/onionmx.hpp>
#include <set>
#include <string>
#include <string_view>

#include "daemon_config.hpp"
#include "proto/reply.hpp"

namespace onionmxd {

// The socketmap name of Postfix transport lookups; tcp_table's profile.
inline constexpr std::string_view kPostfixMapName = "onionmx";
inline constexpr std::string_view kOpenSmtpdMapName = "opensmtpd";

class Profiles {
 public:
  // The built-in profiles, then `configured` (replacing a built-in of the same name).
  explicit Profiles(const std::map<std::string, ProfileSpec>& configured = {});

  // nullptr for an unknown name; the first request for each unknown name
  // logs a warning (at most kMaxWarned names, so garbage cannot flood the log).
  const ProfileSpec* find(std::string_view name) const;
  // "onionmx (postfix), opensmtpd (opensmtpd), ..." for the log.
  std::string describe() const;

 private:
  static constexpr std::size_t kMaxWarned = 32;
  std::map<std::string, ProfileSpec, std::less<>> profiles_;
  mutable std::set<std::string, std::less<>> warned_;
};

// The library's Postfix answer as a protocol-neutral reply.
onionmx::proto::Reply reply_of_lookup(const onionmx::Lookup& r);

// The reply `profile` gives for lookup `r`.
onionmx::proto::Reply reply_for(const ProfileSpec& profile, const onionmx::Lookup& r);

}  // namespace onionmxd
