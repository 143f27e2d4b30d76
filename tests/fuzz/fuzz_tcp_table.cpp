// fuzz_tcp_table.cpp - the tcp_table request decoder, %XX codec and reply
// encoder (proto/tcp_table.hpp) on fuzzed input.
//
// Input: byte 0 picks the line limit (0: the default, else 1-255 bytes),
// byte 1 seeds the chunk sizes, the rest is the stream a client sends.
// Invariants:
// - decoding in chunks (1-16 bytes) gives exactly what decoding the whole
//   stream gives;
// - one entry per LF before any error; a valid entry has no error text, an
//   invalid one has no key;
// - %XX encode then decode is the identity, on the whole input too;
// - each valid key, re-encoded as Postfix would send it, decodes to itself;
// - every reply built from a key, for each outcome, is one LF-terminated
//   line of at most 4096 bytes with a 200/500/400 code whose text decodes,
//   and a 200 value that value_problem() accepts.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.hpp"
#include "common/chunked_decode.hpp"
#include "proto/tcp_table.hpp"

namespace {

using namespace onionmx::proto;
using onionmx::base::Outcome;

using Decoded = onionmx::test::Decoded<TcpTableRequest>;

// The whole stream at once (seed 0), or cut 1-16 bytes apart.
Decoded decode(std::string_view s, std::size_t max, std::uint32_t seed) {
  return onionmx::test::decode_at_cuts<TcpTableRequest>(
      TcpTableDecoder(max), s,
      seed == 0 ? std::vector<std::size_t>{} : onionmx::test::pseudo_random_cuts(s.size(), seed));
}

void check_reply(const Reply& r) {
  const std::string line = encode_tcp_table_reply(r);
  if (line.size() > kTcpTableMaxReply || line.size() < 5 || line.back() != '\n' ||
      line.find('\n') != line.size() - 1 || line[3] != ' ')
    std::abort();
  const auto text = tcp_table_decode(std::string_view(line).substr(4, line.size() - 5));
  if (!text) std::abort();
  const std::string_view code = std::string_view(line).substr(0, 3);
  if (code == "200") {
    if (r.outcome != Outcome::Found || *text != r.text || value_problem(*text, kTcpTableMaxReply))
      std::abort();
  } else if (code == "500") {
    if (r.outcome != Outcome::NotFound) std::abort();
  } else if (code != "400" || r.outcome == Outcome::NotFound) {
    std::abort();  // errors and bad values defer, never 500
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  if (tcp_table_decode(tcp_table_encode(all)) != std::string(all)) std::abort();
  if (size < 2) return 0;
  const std::size_t max = data[0] == 0 ? kDefaultMaxRequest : data[0];
  const std::uint32_t seed = data[1] | 0x100u;
  const std::string_view stream = all.substr(2);

  const Decoded whole = decode(stream, max, 0);
  const Decoded chunked = decode(stream, max, seed);
  if (whole.requests != chunked.requests || whole.error.has_value() != chunked.error.has_value())
    std::abort();
  if (!whole.error && whole.requests.size() !=
                          static_cast<std::size_t>(std::count(stream.begin(), stream.end(), '\n')))
    std::abort();

  for (const auto& r : whole.requests) {
    if (r.error.empty() == r.key.empty()) std::abort();
    if (!r.error.empty()) continue;
    std::vector<TcpTableRequest> again;
    TcpTableDecoder d;
    if (d.feed(encode_tcp_table_request(r.key), again) || again.size() != 1 || again[0] != r ||
        !d.at_boundary())
      std::abort();
    for (const Outcome o : {Outcome::Found, Outcome::NotFound, Outcome::Temp, Outcome::Perm})
      check_reply({o, r.key});
  }
  return 0;
}
