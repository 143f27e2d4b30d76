#include "proto/netstring.hpp"

#include <algorithm>
#include <utility>

#include "base/strings.hpp"

namespace onionmx::proto {

NetstringDecoder::NetstringDecoder(std::size_t max_payload) noexcept : max_payload_(max_payload) {}

std::optional<DecodeError> NetstringDecoder::fail(WireError kind, std::string reason) {
  state_ = State::Failed;
  payload_.clear();
  payload_.shrink_to_fit();
  return DecodeError{kind, std::move(reason)};
}

std::optional<DecodeError> NetstringDecoder::feed(std::string_view chunk,
                                                  std::vector<std::string>& out) {
  std::size_t i = 0;
  while (i < chunk.size()) {
    switch (state_) {
      case State::Failed:
        return DecodeError{WireError::Malformed, "input after a protocol error"};
      case State::Length: {
        const char c = chunk[i++];
        if (c == ':' && digits_ > 0) {
          state_ = length_ > 0 ? State::Payload : State::Comma;
          break;
        }
        if (c < '0' || c > '9') {
          // Covers a sign ("-1:"), whitespace or CRLF between frames, and
          // ":" without digits; Postfix itself calls these format errors.
          return fail(WireError::Malformed,
                      "netstring length expected, got " + base::printable(std::string_view(&c, 1)));
        }
        if (leading_zero_)
          return fail(WireError::Malformed, "netstring length with a leading zero");
        leading_zero_ = digits_ == 0 && c == '0';
        ++digits_;
        // Checked before it is computed, so no length overflows, however
        // many digits arrive: "99999999999999999999999:" fails here.
        const auto d = static_cast<std::size_t>(c - '0');
        if (length_ > max_payload_ / 10 || d > max_payload_ - length_ * 10)
          return fail(WireError::TooLarge, "netstring length exceeds the limit of " +
                                               std::to_string(max_payload_) + " bytes");
        length_ = length_ * 10 + d;
        break;
      }
      case State::Payload: {
        const std::size_t take = std::min(length_ - payload_.size(), chunk.size() - i);
        payload_.append(chunk.substr(i, take));
        i += take;
        if (payload_.size() == length_) state_ = State::Comma;
        break;
      }
      case State::Comma: {
        const char c = chunk[i++];
        if (c != ',')
          return fail(WireError::Malformed,
                      "netstring of " + std::to_string(length_) + " bytes not followed by ','");
        out.push_back(std::move(payload_));
        payload_ = std::string();
        state_ = State::Length;
        length_ = 0;
        digits_ = 0;
        leading_zero_ = false;
        break;
      }
    }
  }
  if (state_ == State::Failed)
    return DecodeError{WireError::Malformed, "input after a protocol error"};
  return std::nullopt;
}

std::string netstring_encode(std::string_view payload) {
  std::string out = std::to_string(payload.size());
  out.reserve(out.size() + payload.size() + 2);
  out += ':';
  out.append(payload);
  out += ',';
  return out;
}

}  // namespace onionmx::proto
