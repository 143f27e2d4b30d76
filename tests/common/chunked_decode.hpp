// chunked_decode.hpp - feed a wire decoder (proto/socketmap.hpp,
// proto/tcp_table.hpp) a stream cut into pieces, as reads deliver it.
// Shared by the unit tests and the fuzz targets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "proto/wire_error.hpp"

namespace onionmx::test {

template <class Request>
struct Decoded {
  std::vector<Request> requests;
  std::optional<proto::DecodeError> error;
  bool boundary = false;  // the decoder's at_boundary() at the end
};

// Feeds `stream` to `d` in pieces ending at `cuts` (ascending offsets into
// the stream, then the rest), until the first error.
template <class Request, class Decoder>
Decoded<Request> decode_at_cuts(Decoder d, std::string_view stream,
                                const std::vector<std::size_t>& cuts = {}) {
  Decoded<Request> out;
  std::size_t at = 0;
  for (std::size_t i = 0; i <= cuts.size() && !out.error; ++i) {
    const std::size_t end = i < cuts.size() ? cuts[i] : stream.size();
    out.error = d.feed(stream.substr(at, end - at), out.requests);
    at = end;
  }
  out.boundary = d.at_boundary();
  return out;
}

// Cuts 1-16 bytes apart, from `seed` (a fixed LCG: reproducible).
inline std::vector<std::size_t> pseudo_random_cuts(std::size_t size, std::uint32_t seed) {
  std::vector<std::size_t> cuts;
  for (std::size_t at = 0;;) {
    seed = seed * 1103515245u + 12345u;
    at += 1 + (seed >> 16) % 16;
    if (at >= size) return cuts;
    cuts.push_back(at);
  }
}

}  // namespace onionmx::test
