// log.cpp - see log.hpp.
#include "log.hpp"

#include <syslog.h>

#include <array>
#include <cstdio>

namespace onionmx_table {
namespace {
constexpr std::array<const char*, 4> kNames = {"debug", "info", "warning", "error"};
Level g_threshold = Level::Info;
bool g_syslog = false;
}  // namespace

bool parse_level(std::string_view word, Level& out) {
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (word == kNames[i]) {
      out = static_cast<Level>(i);
      return true;
    }
  return false;
}

void set_threshold(Level l) { g_threshold = l; }

void use_syslog() {
  openlog("onionmx-table", LOG_PID | LOG_NDELAY, LOG_MAIL);
  g_syslog = true;
}

void log(Level l, const std::string& message) {
  if (static_cast<int>(l) < static_cast<int>(g_threshold)) return;
  const auto i = static_cast<std::size_t>(l) & 3;
  if (g_syslog) {
    constexpr std::array<int, 4> kPriorities = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
    syslog(kPriorities[i], "%s: %s", kNames[i], message.c_str());
    return;
  }
  // One fprintf per line: stderr is unbuffered, so lines stay whole.
  std::fprintf(stderr, "onionmx-table: %s: %s\n", kNames[i], message.c_str());
}

}  // namespace onionmx_table
