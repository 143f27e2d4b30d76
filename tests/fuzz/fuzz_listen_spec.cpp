// fuzz_listen_spec.cpp - the listener spec parser (proto/listen_spec.hpp)
// on fuzzed input.
//
// Invariants:
// - a refusal is Inval with a message;
// - an accepted spec is Inet with a port, or Unix with an absolute path;
// - its canonical spelling parses back to the same spec.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/status.hpp"
#include "proto/listen_spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using onionmx::proto::ListenSpec;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto spec = onionmx::proto::parse_listen_spec(in);
  if (!spec) {
    if (spec.error().code != onionmx::base::Status::Inval || spec.error().detail.empty())
      std::abort();
    return 0;
  }
  if (spec->kind == ListenSpec::Kind::Unix && (spec->path.empty() || spec->path.front() != '/'))
    std::abort();
  if (spec->kind == ListenSpec::Kind::Inet && spec->host.empty()) std::abort();
  auto again = onionmx::proto::parse_listen_spec(onionmx::proto::to_string(*spec));
  if (!again || !(*again == *spec)) std::abort();
  return 0;
}
