// dispatch.cpp - see dispatch.hpp.
#include "dispatch.hpp"

namespace onionmx_table {

using onionmx::proto::Reply;
using Outcome = onionmx::base::Outcome;

Decision decide(const onionmx::proto::SmtpdTableRequest& r) {
  if (!r.error.empty()) return {Action::Error, r.error};
  if (r.op == "update") return {Action::Reload, {}};
  if (r.op == "fetch") return {Action::NotFound, {}};
  // smtpd asks only for registered services (table_proc.c keeps them in
  // t_services); anything else is a client this program does not know.
  const bool ours = (r.op == "check" && r.service == kServices[0]) ||
                    (r.op == "lookup" && r.service == kServices[1]);
  if (ours) return {Action::Lookup, {}};
  return {Action::Error, r.op + " " + r.service + " is not served (registered: check domain, " +
                             "lookup relayhost)"};
}

Reply reply_of_lookup(const onionmx::Lookup& r) {
  switch (r.outcome) {
    case onionmx::Outcome::NotFound:
      return {Outcome::NotFound, {}};
    case onionmx::Outcome::Temp:
    case onionmx::Outcome::Perm:
      return onionmx::proto::temp_reply(r.reason);
    case onionmx::Outcome::Found:
      break;
  }
  // No C result behind it: formatted() would give the reason, not a URL.
  if (!r.native_) return onionmx::proto::temp_reply("internal error: no result");
  std::string url = r.formatted(onionmx::Format::OpenSmtpd);
  if (url.starts_with("error|")) return onionmx::proto::temp_reply(url.substr(6));
  if (url == "not-found") return onionmx::proto::temp_reply("internal error: found without route");
  return {Outcome::Found, std::move(url)};
}

Reply reply_of_daemon(const Reply& r) {
  if (r.outcome == Outcome::Found || r.outcome == Outcome::NotFound) return r;
  return onionmx::proto::temp_reply(r.text);
}

}  // namespace onionmx_table
