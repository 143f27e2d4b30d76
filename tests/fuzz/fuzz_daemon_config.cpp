// fuzz_daemon_config.cpp - onionmxd's [onionmxd] section parser
// (tools/onionmxd/daemon_config.hpp) on fuzzed TOML.
//
// Invariants:
// - it never throws or crashes, whatever the bytes;
// - a refusal names the origin ("FILE:..." as the library's messages);
// - an accepted section holds only values the daemon can use: listener
//   specs that parse, in-range limits, octal modes, valid profile names.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "daemon_config.hpp"
#include "proto/listen_spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto r = onionmxd::parse_daemon_section(in, "fuzz.toml");
  if (!r.error.empty()) {
    if (!r.error.starts_with("fuzz.toml")) std::abort();
    return 0;
  }
  const auto& f = r.file;
  for (const auto* list : {&f.socketmap, &f.tcp_table})
    if (*list)
      for (const auto& spec : **list)
        if (!onionmx::proto::parse_listen_spec(spec)) std::abort();
  unsigned mode = 0;
  if (f.socket_mode && !onionmxd::parse_mode(*f.socket_mode, mode)) std::abort();
  if (f.max_connections && (*f.max_connections < 1 || *f.max_connections > 1000000)) std::abort();
  if (f.max_request && *f.max_request < 256) std::abort();
  if (f.idle_timeout && *f.idle_timeout > 86400) std::abort();
  if (f.request_timeout && !(*f.request_timeout >= 0.1 && *f.request_timeout <= 90.0)) std::abort();
  for (const auto& [name, spec] : f.profiles) {
    if (!onionmxd::valid_profile_name(name)) std::abort();
    if (!spec.transport.empty() && spec.form != onionmxd::AnswerForm::Postfix) std::abort();
    if (!spec.scheme.empty() && spec.form != onionmxd::AnswerForm::OpenSmtpd) std::abort();
  }
  return 0;
}
