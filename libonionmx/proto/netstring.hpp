// netstring.hpp - D. J. Bernstein's netstrings, decoded incrementally.
//
// Grammar (https://cr.yp.to/proto/netstrings.txt, used by Postfix's
// socketmap_table(5)): <len> ":" <len bytes> ",", where <len> is one or
// more ASCII digits without leading zeros ("0" alone is the empty string).
// Nothing may stand between netstrings: no whitespace, no CRLF.
//
// The decoder takes arbitrary chunks (one byte at a time or many frames at
// once) and never buffers more than the current frame's payload: a length
// above the maximum fails as soon as its digits say so, before any payload
// byte is stored, and payload memory grows only as bytes arrive (an idle
// connection that announced a large length costs nothing).  After an error
// the decoder stays failed: the stream has no resynchronisation point.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/wire_error.hpp"

namespace onionmx::proto {

class NetstringDecoder {
 public:
  explicit NetstringDecoder(std::size_t max_payload = kDefaultMaxRequest) noexcept;

  // Consumes all of `chunk`; appends each payload it completes to `out`, in
  // order.  Returns the error that broke the stream (payloads completed
  // before it are still appended), or nullopt.
  std::optional<DecodeError> feed(std::string_view chunk, std::vector<std::string>& out);

  // True between frames: EOF here is a clean close, elsewhere a truncation.
  bool at_boundary() const noexcept { return state_ == State::Length && digits_ == 0; }
  bool failed() const noexcept { return state_ == State::Failed; }

 private:
  enum class State { Length, Payload, Comma, Failed };
  std::optional<DecodeError> fail(WireError kind, std::string reason);

  std::size_t max_payload_;
  State state_ = State::Length;
  std::size_t length_ = 0;  // the announced payload length
  std::size_t digits_ = 0;  // length digits read so far
  bool leading_zero_ = false;
  std::string payload_;
};

// "<len>:<payload>,"
std::string netstring_encode(std::string_view payload);

}  // namespace onionmx::proto
