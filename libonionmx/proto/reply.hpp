// reply.hpp - what one lookup tells the MTA, before any wire encoding.
//
// A Reply is the protocol-neutral verdict that the socketmap and tcp_table
// encoders render (socketmap.hpp, tcp_table.hpp).  The rules of
// docs/status-model.md and docs/wire-protocols.md hold for every protocol:
// an error is never "not found" (that routes the mail over the clearnet), a
// found value is never empty and carries no whitespace, CR, LF, NUL or
// non-ASCII byte.  reply_of() reuses answer_format's next hop and reasons.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.hpp"
#include "proto/answer_format.hpp"
#include "record/route.hpp"

namespace onionmx::proto {

struct Reply {
  base::Outcome outcome = base::Outcome::Temp;
  std::string text;  // Found: the value; otherwise the reason (made safe when encoded)
};

// Found answers become the Postfix next hop (postfix_nexthop()), a found
// answer without routes TEMP; "*" and keys without a domain arrive here as
// NotFound answers (address/mail_key.hpp decides that before any lookup).
Reply reply_of(const record::Answer& a, const AnswerStyle& style);
// For failures that are not a lookup's answer: the per-request deadline,
// overload, a caught exception.  Always deferring (docs/status-model.md).
Reply temp_reply(std::string_view reason);

// Why `value` must not be sent as a found value, or nullopt if it may
// (docs/wire-protocols.md): empty, longer than `max_size`, or a byte outside
// printable ASCII.  The one exception is a space right after a comma, the
// multi-nexthop form "t:[a]:25, [b]:25" of transport(5) (Postfix >= 3.5).
std::optional<std::string> value_problem(std::string_view value, std::size_t max_size);

}  // namespace onionmx::proto
