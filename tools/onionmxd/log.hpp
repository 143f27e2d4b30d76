// log.hpp - onionmxd's log: one line per message on stderr, with a level.
//
//   onionmxd: info: socketmap key="u@example.org" answer="NOTFOUND " ...
//
// With --syslog the same text goes to syslog(3) (facility mail, priority
// debug/info/warning/err).  Levels are the library's (ONIONMX_LOG_*); messages below the threshold
// (--log-level) are dropped.  Keys come from the network: printable()
// escapes them before they reach the log.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace onionmxd {

enum class Level { Debug = 0, Info = 1, Warning = 2, Error = 3 };

// "debug", "info", "warning", "error"; false for any other word.
bool parse_level(std::string_view word, Level& out);
void set_threshold(Level l);
// From now on to syslog(3), facility mail, instead of stderr.
void use_syslog();
bool enabled(Level l);
void log(Level l, const std::string& message);

// Bytes outside printable ASCII, '"' and '\' as \xNN; cut to `max` input
// bytes with "..." appended when longer.
std::string printable(std::string_view bytes, std::size_t max = 128);

}  // namespace onionmxd
