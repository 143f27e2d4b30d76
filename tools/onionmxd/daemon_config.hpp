// daemon_config.hpp - onionmxd's own section of onionmx.toml, [onionmxd].
//
// The library reads the same file and skips this section (config.hpp
// kToolSections); the daemon checks it as strictly as the library checks
// its own: unknown keys, wrong types and out-of-range values are errors
// that name the file, the line and the key ("FILE:LINE: onionmxd.KEY:
// why").  Every key is optional; a key that is not set leaves the
// command-line default, and a flag given on the command line overrides
// the file (docs/onionmxd.md, onionmx.toml(5)).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace onionmxd {

// What a socketmap profile answers for a found domain: a Postfix
// transport(5) next hop or an OpenSMTPD relay URL (smtpd.conf(5)).
enum class AnswerForm { Postfix, OpenSmtpd };

struct ProfileSpec {
  AnswerForm form = AnswerForm::Postfix;
  std::string transport;  // Postfix: master.cf service instead of answer.transport ("" keeps it)
  std::string scheme;     // OpenSMTPD: URL scheme instead of answer.opensmtpd_scheme ("" keeps it)
  bool operator==(const ProfileSpec&) const = default;
};

// The keys of [onionmxd]; nullopt where the file does not set one.
struct DaemonFile {
  std::optional<std::vector<std::string>> socketmap;
  std::optional<std::vector<std::string>> tcp_table;
  std::optional<std::string> socket_mode;  // octal digits, as --socket-mode
  std::optional<std::string> socket_owner;
  std::optional<std::string> socket_group;
  std::optional<std::string> user;
  std::optional<std::string> group;
  std::optional<std::size_t> max_connections;
  std::optional<std::size_t> max_request;
  std::optional<unsigned> idle_timeout;
  std::optional<double> request_timeout;
  std::optional<std::string> log_level;
  std::optional<bool> syslog;
  std::map<std::string, ProfileSpec> profiles;  // [onionmxd.profiles.NAME]
};

struct DaemonFileResult {
  DaemonFile file;
  std::string error;  // empty: parsed
};

// The [onionmxd] section of TOML `text` (no I/O; fuzzed).  `origin` names
// the text in messages.  Other sections are the library's and not looked at.
DaemonFileResult parse_daemon_section(std::string_view text, const std::string& origin);
// The file at `path` (at most 1 MiB, as the library reads it); with
// `optional`, a file that does not exist is an empty section.
DaemonFileResult load_daemon_section(const std::string& path, bool optional);

// "0660" -> 0660: 1-5 octal digits, at most 07777.
bool parse_mode(std::string_view text, unsigned& out);

// A socketmap name a profile may have: 1-64 of A-Z a-z 0-9 - _ . (the text
// after the last ':' of a Postfix map spec, so never ':' or a space).
bool valid_profile_name(std::string_view name);

}  // namespace onionmxd
