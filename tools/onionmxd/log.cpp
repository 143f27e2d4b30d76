// log.cpp - see log.hpp.
#include "log.hpp"

#include <syslog.h>

#include <cstdio>

namespace onionmxd {

namespace {
Level g_threshold = Level::Info;
bool g_syslog = false;
}  // namespace

void use_syslog() {
  openlog("onionmxd", LOG_PID | LOG_NDELAY, LOG_MAIL);
  g_syslog = true;
}

bool parse_level(std::string_view word, Level& out) {
  static constexpr std::string_view kNames[] = {"debug", "info", "warning", "error"};
  for (int i = 0; i < 4; ++i)
    if (word == kNames[i]) {
      out = static_cast<Level>(i);
      return true;
    }
  return false;
}

void set_threshold(Level l) { g_threshold = l; }

bool enabled(Level l) { return static_cast<int>(l) >= static_cast<int>(g_threshold); }

void log(Level l, const std::string& message) {
  static const char* const kNames[] = {"debug", "info", "warning", "error"};
  if (!enabled(l)) return;
  if (g_syslog) {
    static const int kPriorities[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
    syslog(kPriorities[static_cast<int>(l) & 3], "%s: %s", kNames[static_cast<int>(l) & 3],
           message.c_str());
    return;
  }
  // One fprintf per line: stderr is unbuffered, so lines do not interleave.
  std::fprintf(stderr, "onionmxd: %s: %s\n", kNames[static_cast<int>(l) & 3], message.c_str());
}

std::string printable(std::string_view bytes, std::size_t max) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  const std::size_t n = bytes.size() < max ? bytes.size() : max;
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (bytes.size() > max) out += "...";
  return out;
}

}  // namespace onionmxd
