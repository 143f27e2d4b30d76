// wire_error.hpp - why an MTA connection's input cannot be decoded.
//
// Shared by the socketmap and tcp_table decoders.  Either kind closes the
// connection (docs/wire-protocols.md): the byte stream
// has no point at which reading could safely resume.
#pragma once

#include <cstddef>
#include <string>

namespace onionmx::proto {

enum class WireError {
  Malformed,  // bytes that the protocol's grammar does not allow
  TooLarge,   // a request longer than the configured maximum (not buffered)
};

struct DecodeError {
  WireError kind = WireError::Malformed;
  std::string reason;  // one printable line, for the log
};

// Bounds every decoder's buffer (64 KiB; Postfix
// keys are addresses, far shorter).
inline constexpr std::size_t kDefaultMaxRequest = std::size_t{64} * 1024;

}  // namespace onionmx::proto
