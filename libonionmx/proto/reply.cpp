#include "proto/reply.hpp"

namespace onionmx::proto {

Reply reply_of(const record::Answer& a, const AnswerStyle& style) {
  // A found answer without routes is a bug in a source: defer, never "OK ".
  if (a.status == base::Status::Ok && a.routes.empty())
    return {base::Outcome::Temp, "internal error: no route"};
  const base::Outcome outcome = base::outcome_of(a.status);
  switch (outcome) {
    case base::Outcome::Found:
      return {outcome, postfix_nexthop(a, style)};
    case base::Outcome::NotFound:
      return {outcome, "not found"};
    case base::Outcome::Temp:
    case base::Outcome::Perm:
      return {outcome, a.reason};
  }
  return {base::Outcome::Temp, "internal error"};
}

Reply temp_reply(std::string_view reason) { return {base::Outcome::Temp, std::string(reason)}; }

std::optional<std::string> value_problem(std::string_view value, std::size_t max_size) {
  if (value.empty()) return "empty value";
  if (value.size() > max_size)
    return "value of " + std::to_string(value.size()) + " bytes exceeds " +
           std::to_string(max_size);
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c == ' ' && i > 0 && value[i - 1] == ',') continue;
    // Postfix >= 3.5 splits a next hop on whitespace (docs/wire-protocols.md).
    if (c <= 0x20 || c >= 0x7f)
      return "byte " + std::to_string(c) + " at offset " + std::to_string(i) +
             " is not printable ASCII";
  }
  return std::nullopt;
}

}  // namespace onionmx::proto
