// socketmap.hpp - Postfix socketmap_table(5) requests and replies.
//
// Request: one netstring (netstring.hpp) whose payload is "<name> <key>",
// split at the FIRST space: the name never holds one, the key may (a quoted
// local part "foo bar"@example.org, as Postfix 3.7 sent it).  The name must be
// non-empty; the key may be empty.  Postfix never sends an empty key or a
// NUL byte; both name no domain, so the lookup answers NOTFOUND
// (address/mail_key.hpp; pass keys with their length, onionmx_lookup_len()).
// A payload without a space is a protocol error.
//
// Reply: one netstring "OK <value>" / "NOTFOUND " / "TEMP <reason>" /
// "PERM <reason>" (socketmap_table(5)), at most 100000 payload bytes.  A
// found value that breaks value_problem() (reply.hpp) is replaced by TEMP, so an
// encoded reply never sends Postfix an empty or splittable next hop.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/netstring.hpp"
#include "proto/reply.hpp"
#include "proto/wire_error.hpp"

namespace onionmx::proto {

// socketmap_table(5): "replies are not longer than 100000 characters (not
// including the netstring encapsulation)"; Postfix 3.7 rejected 100001.
inline constexpr std::size_t kSocketmapMaxReply = 100000;

struct SocketmapRequest {
  std::string name;  // selects the profile (Postfix: text after the map spec's last ':')
  std::string key;   // verbatim: case, spaces and raw UTF-8 kept
  bool operator==(const SocketmapRequest&) const = default;
};

class SocketmapDecoder {
 public:
  // `max_request` bounds the netstring payload ("<name> <key>").
  explicit SocketmapDecoder(std::size_t max_request = kDefaultMaxRequest) noexcept;

  // Consumes all of `chunk`, appends completed requests to `out` in order;
  // returns the error that must close the connection, if any.
  std::optional<DecodeError> feed(std::string_view chunk, std::vector<SocketmapRequest>& out);
  bool at_boundary() const noexcept { return frames_.at_boundary(); }

 private:
  NetstringDecoder frames_;
  std::optional<DecodeError> failed_;  // a bad request payload ends the stream too
  std::vector<std::string> payloads_;  // scratch, reused across feeds
};

// One request payload (without its netstring framing).
std::optional<DecodeError> parse_socketmap_request(std::string_view payload, SocketmapRequest& out);
// "OK <value>", "NOTFOUND ", "TEMP <reason>", "PERM <reason>" (the
// unframed payload; format_postfix() is this over reply_of()).
std::string socketmap_payload(const Reply& r);
// The payload as a netstring: the bytes to write.
std::string encode_socketmap_reply(const Reply& r);
// What Postfix sends: netstring "<name> <key>" (for clients and tests).
std::string encode_socketmap_request(std::string_view name, std::string_view key);
// The client side (onionmx-table --daemon): one reply payload, as Postfix
// reads it (dict_sockmap.c splits at the first space): "OK <value>" ->
// Found, "NOTFOUND[ ...]" -> NotFound, "TEMP <reason>" / "PERM <reason>"
// -> Temp / Perm with the reason.  Anything else, or an OK value that
// value_problem() refuses (it would reach an MTA), is Malformed.
std::optional<DecodeError> parse_socketmap_reply(std::string_view payload, Reply& out);

}  // namespace onionmx::proto
