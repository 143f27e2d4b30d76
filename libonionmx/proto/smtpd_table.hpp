// smtpd_table.hpp - OpenSMTPD >= 7.6 proc tables: the smtpd-tables(7) text
// protocol (docs/onionmx-table.md).
//
// Lines end with LF.  smtpd first sends "config|<key>|<value>" lines and
// "config|ready"; the table answers one "register|<service>" line per
// service and "register|ready".  Then each request is
//   table|<version>|<sec>.<usec>|<table>|check|<service>|<id>|<key>
//   table|<version>|<sec>.<usec>|<table>|lookup|<service>|<id>|<key>
//   table|<version>|<sec>.<usec>|<table>|fetch|<service>|<id>
//   table|<version>|<sec>.<usec>|<table>|update|<id>
// Fields are split at '|'; the key is the last field and keeps any '|' in
// it.  A reply is "<op>-result|<id>|..." (encode_smtpd_table_reply()); smtpd
// stops entirely on a reply it cannot match to its request (table_proc.c:
// wrong op or id, "found|" with an empty value), so:
//  - a reply is produced only for a request whose op word and id were found,
//    echoing the id byte for byte; any other line gets no reply at all: a
//    line that answers nothing would be read as the answer to smtpd's next
//    request;
//  - a found value that breaks value_problem() (reply.hpp) becomes an error;
//  - errors are "error|<reason>", the reason made one safe field
//    (answer_format.hpp safe_reason(), '|' turned into '/').
// A line longer than the limit is not buffered whole: its first `max_line`
// bytes are kept so the request's id can still be answered (with an error),
// and the rest up to its LF is dropped.  The decoder never fails: a table
// process must not exit on bad input.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/reply.hpp"
#include "proto/wire_error.hpp"

namespace onionmx::proto {

// The protocol version smtpd 7.6-7.8 sends ("config|protocol|0.1" and the
// second field of every request).
inline constexpr std::string_view kSmtpdTableProtocol = "0.1";
// Longest id echoed back: smtpd sends 8 hex digits (%08x of arc4random) in a
// 16-byte buffer; anything longer is not an id of smtpd's.
inline constexpr std::size_t kSmtpdTableMaxId = 64;

struct SmtpdTableLine {
  std::string text;        // without its LF (and without a trailing CR)
  bool truncated = false;  // longer than the limit: `text` holds its start only
  bool operator==(const SmtpdTableLine&) const = default;
};

class SmtpdTableDecoder {
 public:
  // `max_line` bounds what is kept of one line, without its LF.
  explicit SmtpdTableDecoder(std::size_t max_line = kDefaultMaxRequest) noexcept;

  // Consumes all of `chunk`, appends each completed line to `out` in order.
  // Never returns an error (the optional keeps the decoders' common shape).
  std::optional<DecodeError> feed(std::string_view chunk, std::vector<SmtpdTableLine>& out);
  // No partial line is buffered.
  bool at_boundary() const noexcept { return line_.empty() && !dropping_; }

 private:
  std::size_t max_line_;
  std::string line_;
  bool dropping_ = false;  // past the limit: dropping bytes until the LF
};

// "config|<key>|<value>" (value may hold '|'), "config|ready" (key "ready").
struct SmtpdTableConfig {
  std::string key;
  std::string value;
  bool operator==(const SmtpdTableConfig&) const = default;
};
std::optional<SmtpdTableConfig> parse_smtpd_table_config(std::string_view line);

struct SmtpdTableRequest {
  std::string op;       // "check", "lookup", "fetch", "update" or an unknown word
  std::string table;    // smtpd's table name (for logs)
  std::string service;  // empty for update
  std::string id;       // empty: none found, the line cannot be answered
  std::string key;      // check and lookup: everything after the id's '|'
  std::string error;    // non-empty: not a valid request (answer an error if id is set)
  bool operator==(const SmtpdTableRequest&) const = default;
};

// One line after the handshake.  `truncated` lines are always errors.
SmtpdTableRequest parse_smtpd_table_request(std::string_view line, bool truncated = false);

// "register|<service>\n"; "register|ready\n" ends the handshake.
std::string encode_smtpd_table_register(std::string_view service);

// The reply line (with LF) to a check, lookup, fetch or unknown op:
// found -> "...|found" (check) or "...|found|<value>", not found ->
// "...|not-found", temp and perm -> "...|error|<reason>".
std::string encode_smtpd_table_reply(std::string_view op, std::string_view id, const Reply& r);
// "update-result|<id>|ok\n", or "update-result|<id>|error|<reason>\n" when
// `error` is set.
std::string encode_smtpd_table_update(std::string_view id, const std::optional<std::string>& error);
// What smtpd sends (for tests and clients): `key` nullopt leaves the field
// out (fetch), `service` empty leaves it out (update).
std::string encode_smtpd_table_request(std::string_view table, std::string_view op,
                                       std::string_view service, std::string_view id,
                                       const std::optional<std::string>& key);

}  // namespace onionmx::proto
