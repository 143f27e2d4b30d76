// tcp_table.hpp - Postfix tcp_table(5) requests and replies.
//
// Request: one LF-terminated line "get <key>", the key %XX-encoded
// (tcp_table(5) ENCODING: '%', whitespace and non-printing bytes; hex digits
// in either case).  Fields are separated by whitespace, and CR counts as
// whitespace, so "get key\r\n" from a CRLF client is the key "key" and a
// bare CR inside a line splits it into fields.  '+' is an ordinary byte
// (address extensions), not a space.
//
// A line longer than the maximum closes the connection before it is
// buffered (its end cannot be found without reading it).  Any other bad line
// is framed, so it gets a "400 <reason>" reply and the connection goes on:
// an unknown command, "put" (tcp_table(5): "only the lookup request"), a
// missing or extra field, a bad %XX escape.  Never 500: that
// means "not found" and would route a mis-encoded key over the clearnet.
//
// Reply: "200 <value>" / "500 not found" / "400 <reason>", the text
// %XX-encoded (upper case), the line at most 4096 bytes including its LF.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "proto/reply.hpp"
#include "proto/wire_error.hpp"

namespace onionmx::proto {

// tcp_table(5): "Replies must be no longer than 4096 characters including
// the newline terminator" (Postfix 3.7 rejected 4097).
inline constexpr std::size_t kTcpTableMaxReply = 4096;

struct TcpTableRequest {
  std::string key;    // decoded key of a valid "get" (%00 gives a NUL byte)
  std::string error;  // non-empty: not a valid "get"; answer 400 with it
  bool operator==(const TcpTableRequest&) const = default;
};

class TcpTableDecoder {
 public:
  // `max_line` bounds a request line, without its LF.
  explicit TcpTableDecoder(std::size_t max_line = kDefaultMaxRequest) noexcept;

  // Consumes all of `chunk`, appends one entry per completed line to `out`
  // in order; returns the error that must close the connection, if any.
  std::optional<DecodeError> feed(std::string_view chunk, std::vector<TcpTableRequest>& out);
  bool at_boundary() const noexcept { return line_.empty() && !failed_; }

 private:
  std::size_t max_line_;
  std::string line_;
  bool failed_ = false;
};

// One request line, without its LF.
TcpTableRequest parse_tcp_table_request(std::string_view line);
// tcp_table(5) ENCODING, upper-case hex.
std::string tcp_table_encode(std::string_view text);
// The decoded bytes, or why the text is not valid %XX encoding.
[[nodiscard]] tl::expected<std::string, std::string> tcp_table_decode(std::string_view text);
// "<code> <encoded text>\n", within kTcpTableMaxReply.
std::string encode_tcp_table_reply(const Reply& r);
// What Postfix sends: "get <encoded key>\n" (for clients and tests).
std::string encode_tcp_table_request(std::string_view key);

}  // namespace onionmx::proto
