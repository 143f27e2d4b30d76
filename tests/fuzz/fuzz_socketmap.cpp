// fuzz_socketmap.cpp - the socketmap request decoder and reply encoder
// (proto/socketmap.hpp, proto/netstring.hpp) on fuzzed input.
//
// Input: byte 0 picks the request limit (0: the default, else 1-255 bytes,
// so the TooLarge path is reached), byte 1 seeds the chunk sizes, the rest
// is the stream a client sends.  Invariants:
// - decoding in chunks (1-16 bytes, from the seed) gives exactly what
//   decoding the whole stream gives: the same requests, the same error;
// - a stream that decodes without error and ends between frames is exactly
//   the concatenation of encode_socketmap_request() of its requests
//   (netstrings without leading zeros have one spelling);
// - each request encodes and decodes back to itself;
// - every reply built from a request's key, for each outcome, is one
//   netstring of at most 100000 payload bytes with a valid status word,
//   no CR/LF, and an OK value that value_problem() accepts, and it parses
//   back (parse_socketmap_reply) to the same outcome (and value, if OK);
// - the stream read as one reply payload either fails with a reason or
//   gives a reply whose found value value_problem() accepts, and whose
//   encoding parses back to the same outcome.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.hpp"
#include "common/chunked_decode.hpp"
#include "proto/netstring.hpp"
#include "proto/socketmap.hpp"

namespace {

using namespace onionmx::proto;
using onionmx::base::Outcome;

using Decoded = onionmx::test::Decoded<SocketmapRequest>;

// The whole stream at once (seed 0), or cut 1-16 bytes apart.
Decoded decode(std::string_view s, std::size_t max, std::uint32_t seed) {
  return onionmx::test::decode_at_cuts<SocketmapRequest>(
      SocketmapDecoder(max), s,
      seed == 0 ? std::vector<std::size_t>{} : onionmx::test::pseudo_random_cuts(s.size(), seed));
}

void check_reply(const Reply& r) {
  const std::string wire = encode_socketmap_reply(r);
  NetstringDecoder d(kSocketmapMaxReply);
  std::vector<std::string> payloads;
  if (d.feed(wire, payloads) || payloads.size() != 1 || !d.at_boundary()) std::abort();
  const std::string& p = payloads[0];
  if (p.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) std::abort();
  if (p.starts_with("OK ")) {
    if (r.outcome != Outcome::Found || value_problem(p.substr(3), kSocketmapMaxReply)) std::abort();
  } else if (p == "NOTFOUND ") {
    if (r.outcome != Outcome::NotFound) std::abort();
  } else if (p.starts_with("TEMP ") || p.starts_with("PERM ")) {
    // Errors defer; a bad found value becomes TEMP, never NOTFOUND.
    if (r.outcome == Outcome::NotFound || p.size() <= 5) std::abort();
  } else {
    std::abort();
  }
  Reply back;
  if (parse_socketmap_reply(p, back)) std::abort();
  const bool kept =
      back.outcome == r.outcome || (p.starts_with("TEMP ") && back.outcome == Outcome::Temp);
  if (!kept || (back.outcome == Outcome::Found && back.text != r.text)) std::abort();
}

void check_reply_payload(std::string_view payload) {
  Reply r;
  if (auto e = parse_socketmap_reply(payload, r)) {
    if (e->reason.empty()) std::abort();
    return;
  }
  if (r.outcome == Outcome::Found && value_problem(r.text, kSocketmapMaxReply)) std::abort();
  Reply again;
  if (parse_socketmap_reply(socketmap_payload(r), again) || again.outcome != r.outcome)
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t max = data[0] == 0 ? kDefaultMaxRequest : data[0];
  const std::uint32_t seed = data[1] | 0x100u;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);

  const Decoded whole = decode(stream, max, 0);
  const Decoded chunked = decode(stream, max, seed);
  if (whole.requests != chunked.requests || whole.error.has_value() != chunked.error.has_value())
    std::abort();
  if (whole.error && (whole.error->kind != chunked.error->kind || whole.error->reason.empty()))
    std::abort();

  std::string again;
  for (const auto& r : whole.requests) again += encode_socketmap_request(r.name, r.key);
  if (!whole.error && whole.boundary && again != stream) std::abort();
  const Decoded re = decode(again, max, seed);
  if (re.error || re.requests != whole.requests || !re.boundary) std::abort();

  check_reply_payload(stream);
  for (const auto& r : whole.requests)
    for (const Outcome o : {Outcome::Found, Outcome::NotFound, Outcome::Temp, Outcome::Perm})
      check_reply({o, r.key});
  return 0;
}
