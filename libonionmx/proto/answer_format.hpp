// answer_format.hpp - render an Answer for each consumer.
//
// Postfix (socketmap reply payload, socketmap_table(5), transport(5)):
//   found     "OK <transport>:[<onion>]:<port>"  (multi_nexthop: every route
//             of the best priority, "OK t:[a]:25, [b]:25", Postfix >= 3.5)
//   not found "NOTFOUND "
//   temp/perm "TEMP <reason>" / "PERM <reason>"  (Postfix defers both)
// OpenSMTPD: "<scheme>://<onion>:<port>", "not-found", "error|<reason>".
// JSON: the fixed interface of onionmx-lookup (docs/onionmx-lookup.md).
// Values never contain CR, LF or NUL; reasons are cut to 200 bytes.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "record/route.hpp"

namespace onionmx::proto {

// URL schemes OpenSMTPD's relay URLs accept for an onion next hop
// (smtpd.conf(5) "relay host").
inline constexpr std::array<std::string_view, 5> kOpenSmtpdSchemes = {"smtp", "smtp+notls",
                                                                      "smtp+tls", "smtps", "lmtp"};

struct AnswerStyle {
  std::string transport = "smtptor";
  bool multi_nexthop = false;
  std::string opensmtpd_scheme = "smtp+notls";
};

// "<transport>:[<onion>]:<port>[, [<onion>]:<port>...]"; "" unless found.
std::string postfix_nexthop(const record::Answer& a, const AnswerStyle& style);
std::string format_postfix(const record::Answer& a, const AnswerStyle& style);
std::string format_opensmtpd(const record::Answer& a, const AnswerStyle& style);
std::string format_json(const record::Answer& a);
std::string format_text(const record::Answer& a, const AnswerStyle& style);
// Reason made safe for a one-line protocol reply.
std::string safe_reason(const std::string& reason);

}  // namespace onionmx::proto
