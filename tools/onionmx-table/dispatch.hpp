// dispatch.hpp - what onionmx-table does with each smtpd-tables(7) request,
// and how a lookup's answer becomes the reply (docs/onionmx-table.md).
//
// Pure decisions, no I/O: the session (session.hpp) runs them.
//   check|domain     -> a lookup: found / not-found / error
//   lookup|relayhost -> a lookup: found|<relay URL> / not-found / error
//   fetch|*          -> not-found (no round-robin relay list; smtpd then
//                       defers: "Failed to retrieve smarthost")
//   update           -> reload the configuration and map
//   anything else    -> error: never not-found, which would let a mail
//                       skip the onion route (docs/status-model.md)
#pragma once

#include <array>
#include <onionmx/onionmx.hpp>
#include <string>
#include <string_view>

#include "proto/reply.hpp"
#include "proto/smtpd_table.hpp"

namespace onionmx_table {

// Registered in the handshake, in this order.
inline constexpr std::array<std::string_view, 2> kServices = {"domain", "relayhost"};

enum class Action {
  Lookup,    // run the key through the library
  NotFound,  // answer not-found at once
  Reload,    // update: reload, answer ok or error
  Error,     // answer error|<reason> at once
};

struct Decision {
  Action action = Action::Error;
  std::string reason;  // Error: why
};

Decision decide(const onionmx::proto::SmtpdTableRequest& r);

// The library's answer as a reply: the relay URL
// (Format::OpenSmtpd, `[answer] opensmtpd_scheme`) when found; a failure is
// always an error, never not-found.
onionmx::proto::Reply reply_of_lookup(const onionmx::Lookup& r);
// onionmxd's socketmap reply (profile "opensmtpd": "OK <relay URL>"), or
// DaemonClient's own failure, as a reply: TEMP and PERM are errors too (a
// PERM from the daemon is a bad onion recipient, still no reason to send
// in clear).
onionmx::proto::Reply reply_of_daemon(const onionmx::proto::Reply& r);

}  // namespace onionmx_table
