// daemon_config.cpp - see daemon_config.hpp.
#include "daemon_config.hpp"

#include <sys/stat.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <initializer_list>

#include "base/file.hpp"
#include "base/strings.hpp"
#include "proto/answer_format.hpp"
#include "proto/listen_spec.hpp"

namespace onionmxd {
namespace {

constexpr std::size_t kMaxFile = std::size_t{1} << 20;  // the library's limit (config.cpp)

// Reads typed keys out of one table; the first problem is kept and every
// later call does nothing, so the parser reads as a list of keys.
class Keys {
 public:
  Keys(const toml::table& t, std::string prefix, const std::string& origin)
      : t_(t), prefix_(std::move(prefix)), origin_(origin) {}

  void refuse(const toml::node* n, const std::string& key, const std::string& why) {
    if (failed()) return;
    std::string where = origin_;
    if (n && n->source().begin.line > 0) where += ":" + std::to_string(n->source().begin.line);
    error_ = where + ": " + prefix_ + key + ": " + why;
  }
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

  // Unknown keys are errors: a misspelt key must not keep a default.
  void only(std::initializer_list<std::string_view> known) {
    for (const auto& [k, v] : t_)
      if (std::find(known.begin(), known.end(), k.str()) == known.end())
        refuse(&v, std::string(k.str()), "unknown key");
  }

  std::optional<std::string> text(const char* key) {
    const toml::node* n = t_.get(key);
    if (!n || failed()) return std::nullopt;
    if (!n->is_string()) return refuse(n, key, "expected a string"), std::nullopt;
    return n->value<std::string>();
  }

  // A string that must be one of `choices`.
  std::optional<std::string> word(const char* key,
                                  std::initializer_list<std::string_view> choices) {
    auto v = text(key);
    if (!v) return v;
    if (std::find(choices.begin(), choices.end(), *v) != choices.end()) return v;
    std::string allowed;
    for (auto c : choices) allowed += (allowed.empty() ? "" : ", ") + std::string(c);
    refuse(t_.get(key), key, "\"" + onionmx::base::printable(*v) + "\" is not one of: " + allowed);
    return std::nullopt;
  }

  std::optional<bool> flag(const char* key) {
    const toml::node* n = t_.get(key);
    if (!n || failed()) return std::nullopt;
    if (!n->is_boolean()) return refuse(n, key, "expected true or false"), std::nullopt;
    return n->value<bool>();
  }

  std::optional<std::int64_t> integer(const char* key, std::int64_t lo, std::int64_t hi) {
    const toml::node* n = t_.get(key);
    if (!n || failed()) return std::nullopt;
    if (!n->is_integer()) return refuse(n, key, "expected an integer"), std::nullopt;
    const std::int64_t v = *n->value<std::int64_t>();
    if (v < lo || v > hi)
      return refuse(n, key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi)),
             std::nullopt;
    return v;
  }

  // Seconds: an integer or a decimal, as the library's dns.timeout.
  std::optional<double> seconds(const char* key, double lo, double hi) {
    const toml::node* n = t_.get(key);
    if (!n || failed()) return std::nullopt;
    // value<double>() converts an integer too (toml++ node::value()).
    const std::optional<double> got = n->is_number() ? n->value<double>() : std::nullopt;
    if (!got) return refuse(n, key, "expected a number of seconds"), std::nullopt;
    const double v = *got;
    if (!(v >= lo && v <= hi)) {
      char msg[96];
      std::snprintf(msg, sizeof msg, "must be between %g and %g seconds", lo, hi);
      return refuse(n, key, msg), std::nullopt;
    }
    return v;
  }

  std::optional<std::vector<std::string>> texts(const char* key) {
    const toml::node* n = t_.get(key);
    if (!n || failed()) return std::nullopt;
    const toml::array* arr = n->as_array();
    if (!arr) return refuse(n, key, "expected an array of strings"), std::nullopt;
    std::vector<std::string> out;
    for (const auto& e : *arr) {
      if (!e.is_string()) return refuse(&e, key, "expected an array of strings"), std::nullopt;
      out.push_back(*e.value<std::string>());
    }
    return out;
  }

  const toml::table& table() const { return t_; }
  const std::string& origin() const { return origin_; }

 private:
  const toml::table& t_;
  std::string prefix_;
  const std::string& origin_;
  std::string error_;
};

bool service_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

// Every LISTEN must parse as --socketmap's does (proto/listen_spec.hpp).
void check_listeners(Keys& k, const char* key, const std::optional<std::vector<std::string>>& v) {
  if (!v) return;
  for (const auto& spec : *v)
    if (auto ok = onionmx::proto::parse_listen_spec(spec); !ok)
      k.refuse(k.table().get(key), key, ok.error().detail);
}

void parse_profile(const std::string& name, const toml::node& node, const std::string& origin,
                   std::string& error, std::map<std::string, ProfileSpec>& out) {
  const std::string key = "onionmxd.profiles." + name;
  auto line = [&](const toml::node& n) {
    return n.source().begin.line > 0 ? ":" + std::to_string(n.source().begin.line) : "";
  };
  if (!valid_profile_name(name)) {
    error = origin + line(node) + ": onionmxd.profiles.\"" + onionmx::base::printable(name) +
            "\": not a socketmap name (1-64 of A-Z a-z 0-9 - _ .)";
    return;
  }
  const toml::table* t = node.as_table();
  if (!t) {
    error = origin + line(node) + ": " + key + ": expected a table ([" + key + "])";
    return;
  }
  Keys k(*t, key + ".", origin);
  k.only({"format", "transport", "scheme"});
  ProfileSpec p;
  if (auto f = k.word("format", {"postfix", "opensmtpd"}))
    p.form = *f == "opensmtpd" ? AnswerForm::OpenSmtpd : AnswerForm::Postfix;
  if (auto tr = k.text("transport")) {
    if (p.form != AnswerForm::Postfix)
      k.refuse(t->get("transport"), "transport", "only for format = \"postfix\"");
    else if (!service_name(*tr))
      k.refuse(t->get("transport"), "transport",
               "\"" + onionmx::base::printable(*tr) + "\" is not a Postfix master.cf service name");
    else
      p.transport = *tr;
  }
  if (auto sc = k.text("scheme")) {
    const auto& schemes = onionmx::proto::kOpenSmtpdSchemes;
    std::string allowed;
    for (auto s : schemes) allowed += (allowed.empty() ? "" : ", ") + std::string(s);
    if (p.form != AnswerForm::OpenSmtpd)
      k.refuse(t->get("scheme"), "scheme", "only for format = \"opensmtpd\"");
    else if (std::find(schemes.begin(), schemes.end(), *sc) == schemes.end())
      k.refuse(t->get("scheme"), "scheme",
               "\"" + onionmx::base::printable(*sc) + "\" is not one of: " + allowed);
    else
      p.scheme = *sc;
  }
  if (k.failed()) {
    error = k.error();
    return;
  }
  out[name] = p;
}

void parse_section(const toml::table& t, const std::string& origin, DaemonFileResult& r) {
  Keys k(t, "onionmxd.", origin);
  k.only({"socketmap", "tcp_table", "socket_mode", "socket_owner", "socket_group", "user", "group",
          "max_connections", "max_request", "idle_timeout", "request_timeout", "log_level",
          "syslog", "profiles"});
  DaemonFile& f = r.file;
  f.socketmap = k.texts("socketmap");
  check_listeners(k, "socketmap", f.socketmap);
  f.tcp_table = k.texts("tcp_table");
  check_listeners(k, "tcp_table", f.tcp_table);
  f.socket_mode = k.text("socket_mode");
  if (unsigned m = 0; f.socket_mode && !parse_mode(*f.socket_mode, m))
    k.refuse(t.get("socket_mode"), "socket_mode",
             "\"" + onionmx::base::printable(*f.socket_mode) +
                 "\" is not an octal mode (a string such as \"0660\")");
  // Names are looked up when the daemon starts (getpwnam(3)): only their
  // form is checked here.
  for (auto [key, out] :
       {std::pair{"socket_owner", &f.socket_owner}, std::pair{"socket_group", &f.socket_group},
        std::pair{"user", &f.user}, std::pair{"group", &f.group}}) {
    *out = k.text(key);
    if (*out && ((*out)->empty() || (*out)->size() > 256))
      k.refuse(t.get(key), key, "expected a user or group name or number");
  }
  // The ranges of the command-line flags (main.cpp).
  if (auto v = k.integer("max_connections", 1, 1000000)) f.max_connections = *v;
  if (auto v = k.integer("max_request", 256, std::int64_t{16} << 20)) f.max_request = *v;
  if (auto v = k.integer("idle_timeout", 0, 86400)) f.idle_timeout = static_cast<unsigned>(*v);
  f.request_timeout = k.seconds("request_timeout", 0.1, 90.0);
  f.log_level = k.word("log_level", {"debug", "info", "warning", "error"});
  f.syslog = k.flag("syslog");
  if (k.failed()) {
    r.error = k.error();
    return;
  }
  const toml::node* profiles = t.get("profiles");
  if (!profiles) return;
  const toml::table* pt = profiles->as_table();
  if (!pt) {
    k.refuse(profiles, "profiles", "expected [onionmxd.profiles.NAME] tables");
    r.error = k.error();
    return;
  }
  for (const auto& [name, node] : *pt) {
    parse_profile(std::string(name.str()), node, origin, r.error, f.profiles);
    if (!r.error.empty()) return;
  }
}

}  // namespace

bool parse_mode(std::string_view text, unsigned& out) {
  if (text.empty() || text.size() > 5) return false;
  unsigned v = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return false;
    v = v * 8 + static_cast<unsigned>(c - '0');
  }
  if (v > 07777) return false;
  out = v;
  return true;
}

bool valid_profile_name(std::string_view name) { return service_name(name); }

DaemonFileResult parse_daemon_section(std::string_view text, const std::string& origin) {
  DaemonFileResult r;
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    // FILE:LINE:COLUMN: what toml++ says, as the library reports syntax errors.
    const auto& at = e.source().begin;
    r.error = origin + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": " +
              std::string(e.description());
    return r;
  }
  const toml::node* n = root.get("onionmxd");
  if (!n) return r;
  if (!n->is_table()) {
    r.error =
        origin + ":" + std::to_string(n->source().begin.line) + ": onionmxd: expected a [section]";
    return r;
  }
  parse_section(*n->as_table(), origin, r);
  return r;
}

DaemonFileResult load_daemon_section(const std::string& path, bool optional) {
  struct stat st{};
  if (optional && ::stat(path.c_str(), &st) != 0 && errno == ENOENT) return {};
  auto text = onionmx::base::read_file(path, kMaxFile, "1 MiB");
  if (!text) {
    DaemonFileResult r;
    r.error = text.error().detail;
    return r;
  }
  return parse_daemon_section(*text, path);
}

}  // namespace onionmxd
