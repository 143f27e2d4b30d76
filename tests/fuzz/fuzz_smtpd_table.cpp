// fuzz_smtpd_table.cpp - the smtpd-tables(7) line decoder, request parser
// and reply encoders (proto/smtpd_table.hpp) on fuzzed input.
//
// Input: byte 0 picks the line limit (0: the default, else 1-255 bytes),
// byte 1 seeds the chunk sizes, the rest is the stream smtpd sends.
// Invariants:
// - decoding in chunks (1-16 bytes) gives exactly what decoding the whole
//   stream gives; one line per LF, none longer than the limit;
// - a request with an id has an op word, and an id of printable ASCII
//   without '|'; a truncated line is always an error;
// - a valid check/lookup re-encoded as smtpd would send it parses to itself;
// - every reply to an answerable request, for each outcome, is exactly one
//   LF-terminated line "<op>-result|<id>|" followed by found, found|<value>
//   (never empty), not-found, ok or error|<reason> (no further '|').
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.hpp"
#include "common/chunked_decode.hpp"
#include "proto/smtpd_table.hpp"

namespace {

using namespace onionmx::proto;
using onionmx::base::Outcome;

using Decoded = onionmx::test::Decoded<SmtpdTableLine>;

Decoded decode(std::string_view s, std::size_t max, std::uint32_t seed) {
  return onionmx::test::decode_at_cuts<SmtpdTableLine>(
      SmtpdTableDecoder(max), s,
      seed == 0 ? std::vector<std::size_t>{} : onionmx::test::pseudo_random_cuts(s.size(), seed));
}

// The part after "<op>-result|<id>|", or abort.
std::string body(const std::string& line, const SmtpdTableRequest& r, std::string_view op) {
  const std::string head = std::string(op) + "-result|" + r.id + "|";
  if (!line.starts_with(head) || line.back() != '\n' || line.find('\n') != line.size() - 1)
    std::abort();
  return line.substr(head.size(), line.size() - head.size() - 1);
}

void check_error_body(std::string_view b) {
  if (!b.starts_with("error|") || b.size() == 6 || b.find('|', 6) != std::string_view::npos)
    std::abort();
}

void check_replies(const SmtpdTableRequest& r) {
  for (const Outcome o : {Outcome::Found, Outcome::NotFound, Outcome::Temp, Outcome::Perm}) {
    const Reply reply{o, r.key};
    const std::string b = body(encode_smtpd_table_reply(r.op, r.id, reply), r, r.op);
    if (o == Outcome::NotFound) {
      if (b != "not-found") std::abort();
    } else if (o == Outcome::Found && r.op == "check") {
      if (b != "found") std::abort();
    } else if (o == Outcome::Found && b.starts_with("found|")) {
      if (b.size() == 6 || b.substr(6) != r.key) std::abort();
    } else {
      check_error_body(b);  // temp, perm, or a found value that must not be sent
    }
  }
  if (body(encode_smtpd_table_update(r.id, std::nullopt), r, "update") != "ok") std::abort();
  check_error_body(body(encode_smtpd_table_update(r.id, r.key), r, "update"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t max = data[0] == 0 ? kDefaultMaxRequest : data[0];
  const std::uint32_t seed = data[1] | 0x100u;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);

  const Decoded whole = decode(stream, max, 0);
  const Decoded chunked = decode(stream, max, seed);
  if (whole.requests != chunked.requests || whole.error || chunked.error) std::abort();
  if (whole.requests.size() !=
      static_cast<std::size_t>(std::count(stream.begin(), stream.end(), '\n')))
    std::abort();

  for (const auto& line : whole.requests) {
    if (line.text.size() > max) std::abort();
    (void)parse_smtpd_table_config(line.text);
    const SmtpdTableRequest r = parse_smtpd_table_request(line.text, line.truncated);
    if (line.truncated && r.error.empty()) std::abort();
    if (r.id.empty()) {
      if (r.error.empty()) std::abort();
      continue;
    }
    if (r.op.empty() || r.id.size() > kSmtpdTableMaxId ||
        r.id.find_first_of("| \r\n") != std::string::npos)
      std::abort();
    check_replies(r);
    if (r.error.empty() && (r.op == "check" || r.op == "lookup")) {
      const std::string again = encode_smtpd_table_request(r.table, r.op, r.service, r.id, r.key);
      auto back = parse_smtpd_table_request(std::string_view(again).substr(0, again.size() - 1));
      if (back != r) std::abort();
    }
  }
  return 0;
}
