#include "proto/socketmap.hpp"

#include <utility>

#include "base/strings.hpp"
#include "proto/answer_format.hpp"

namespace onionmx::proto {

SocketmapDecoder::SocketmapDecoder(std::size_t max_request) noexcept : frames_(max_request) {}

std::optional<DecodeError> SocketmapDecoder::feed(std::string_view chunk,
                                                  std::vector<SocketmapRequest>& out) {
  if (failed_) return failed_;
  payloads_.clear();
  auto framing = frames_.feed(chunk, payloads_);
  // Requests framed before a framing error are still answered, in order.
  for (const auto& p : payloads_) {
    SocketmapRequest r;
    if (auto e = parse_socketmap_request(p, r)) {
      failed_ = e;
      return e;
    }
    out.push_back(std::move(r));
  }
  return framing;
}

std::optional<DecodeError> parse_socketmap_request(std::string_view payload,
                                                   SocketmapRequest& out) {
  const auto space = payload.find(' ');
  if (space == std::string_view::npos)
    return DecodeError{WireError::Malformed,
                       "socketmap request without a space: " + base::printable(payload, 60)};
  if (space == 0) return DecodeError{WireError::Malformed, "socketmap request with an empty name"};
  out.name = std::string(payload.substr(0, space));
  out.key = std::string(payload.substr(space + 1));
  return std::nullopt;
}

std::string socketmap_payload(const Reply& r) {
  switch (r.outcome) {
    case base::Outcome::Found:
      // "OK " + value must fit Postfix's reply limit.
      if (auto p = value_problem(r.text, kSocketmapMaxReply - 3))
        return "TEMP internal error: invalid reply value (" + *p + ")";
      return "OK " + r.text;
    case base::Outcome::NotFound:
      return "NOTFOUND ";
    case base::Outcome::Temp:
      return "TEMP " + safe_reason(r.text);
    case base::Outcome::Perm:
      return "PERM " + safe_reason(r.text);
  }
  return "TEMP internal error";
}

std::string encode_socketmap_reply(const Reply& r) {
  return netstring_encode(socketmap_payload(r));
}

std::string encode_socketmap_request(std::string_view name, std::string_view key) {
  std::string payload;
  payload.reserve(name.size() + 1 + key.size());
  payload.append(name);
  payload += ' ';
  payload.append(key);
  return netstring_encode(payload);
}

std::optional<DecodeError> parse_socketmap_reply(std::string_view payload, Reply& out) {
  const auto space = payload.find(' ');
  const std::string_view word = payload.substr(0, space);
  const std::string_view rest =
      space == std::string_view::npos ? std::string_view{} : payload.substr(space + 1);
  auto bad = [&](const std::string& why) {
    return DecodeError{WireError::Malformed,
                       "socketmap reply " + why + ": " + base::printable(payload, 60)};
  };
  if (word == "OK") {
    if (auto p = value_problem(rest, kSocketmapMaxReply - 3))
      return bad("with a bad value (" + *p + ")");
    out = {base::Outcome::Found, std::string(rest)};
  } else if (word == "NOTFOUND") {
    out = {base::Outcome::NotFound, {}};
  } else if (word == "TEMP" || word == "PERM") {
    out = {word == "TEMP" ? base::Outcome::Temp : base::Outcome::Perm, std::string(rest)};
  } else {
    return bad("with an unknown status");
  }
  return std::nullopt;
}

}  // namespace onionmx::proto
