// log.hpp - onionmx-table's log: never stdout, which carries protocol
// lines only (smtpd stops on any line it cannot parse, smtpd-tables(7)).
//
//   onionmx-table: info: onionmx: check domain key="example.org" answer="found" ...
//
// stderr by default; with --syslog, syslog(3) facility mail.  Levels are
// the library's (ONIONMX_LOG_*); lower than --log-level is dropped.
#pragma once

#include <string>
#include <string_view>

namespace onionmx_table {

enum class Level { Debug = 0, Info = 1, Warning = 2, Error = 3 };

// "debug", "info", "warning", "error"; false for any other word.
bool parse_level(std::string_view word, Level& out);
void set_threshold(Level l);
void use_syslog();
void log(Level l, const std::string& message);

}  // namespace onionmx_table
