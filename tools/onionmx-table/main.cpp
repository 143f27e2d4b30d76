// onionmx-table - an OpenSMTPD >= 7.6 proc table (smtpd-tables(7)) that
// answers which Tor onion service receives mail for a domain.
//
// smtpd runs it as `table NAME onionmx:/etc/onionmx/onionmx.toml` with argv
// {NAME, PATH} and speaks the text protocol over stdin/stdout; the path is
// the onionmx configuration file.  By hand, the source flags of
// onionmx-lookup (--config, --server, --map, ...) come before the optional
// path.  One libevent loop drives stdin, stdout and the library's DNS
// through the public C++ API (Options::event_base).  docs/onionmx-table.md,
// onionmx-table(8).
//
// Exit status: 0 at the end of input (or SIGTERM/SIGINT), 1 when it cannot
// start (bad configuration), 2 on a usage error.  Bad input never ends it.
#include <event2/event.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <memory>
#include <onionmx/onionmx.hpp>
#include <optional>
#include <string>

#include "common/guarded_main.hpp"
#include "common/source_flags.hpp"
#include "daemon_client.hpp"
#include "log.hpp"
#include "proto/listen_spec.hpp"
#include "session.hpp"
#include "table_config.hpp"

namespace {

constexpr int kExitStartup = 1;
constexpr int kExitUsage = 2;
constexpr unsigned kDaemonDeadlineMs = 8000;  // --daemon without --timeout (docs/onionmx-table.md)

struct Args {
  onionmx::tools::SourceArgs src;
  std::string path;  // what smtpd passes: the configuration file
  std::string log_level = "info";
  bool syslog = false;
  std::size_t max_line = onionmx::proto::kDefaultMaxRequest;
  std::string daemon;      // --daemon LISTEN: ask onionmxd instead of the library
  std::string daemon_map;  // "": [onionmx-table] daemon_map, else "opensmtpd"
  bool version = false;
};

void define(CLI::App& app, Args& a) {
  onionmx::tools::define_source_flags(app, a.src);
  app.add_option("path", a.path,
                 "Configuration file, as smtpd passes it (table NAME onionmx:PATH); "
                 "the same as --config")
      ->option_text("PATH");
  app.add_option("--log-level", a.log_level, "Lowest level logged")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warning", "error"}));
  app.add_flag("--syslog", a.syslog, "Log to syslog (facility mail) instead of stderr");
  app.add_option("--max-line", a.max_line,
                 "Longest request line kept, in bytes; a longer one is answered with an error")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{256}, std::size_t{16} << 20));
  app.add_option("--daemon", a.daemon,
                 "Ask a running onionmxd at its socketmap listener (inet:HOST:PORT or "
                 "unix:/PATH) instead of looking up in-process; overrides [onionmx-table] daemon")
      ->option_text("LISTEN");
  app.add_option("--daemon-map", a.daemon_map,
                 "Socketmap name (onionmxd profile) asked with --daemon; it must answer relay "
                 "URLs (default: [onionmx-table] daemon_map, else opensmtpd)")
      ->option_text("NAME");
  app.add_flag("--version", a.version, "Print the version and exit");
}

// --daemon and --daemon-map over the [onionmx-table] section of the
// configuration file (table_config.hpp): smtpd passes only the file.
// 0, or the exit status.
int resolve_daemon(const onionmx::Options& opts, Args& a) {
  const auto file = onionmx_table::load_table_section(opts.config_path, opts.config_optional);
  if (!file.error.empty()) {
    onionmx_table::log(onionmx_table::Level::Error, "cannot start: " + file.error);
    return kExitStartup;
  }
  if (a.daemon.empty() && file.daemon) a.daemon = *file.daemon;
  if (a.daemon_map.empty()) a.daemon_map = file.daemon_map.value_or("opensmtpd");
  if (!onionmx_table::valid_map_name(a.daemon_map)) {
    std::fprintf(stderr,
                 "onionmx-table: --daemon-map: not a socketmap name (1-64 of A-Z a-z 0-9 - _ .)\n");
    return kExitUsage;
  }
  if (!a.daemon.empty()) {
    auto where = onionmx::proto::parse_listen_spec(a.daemon);
    if (!where) {
      std::fprintf(stderr, "onionmx-table: --daemon: %s\n", where.error().detail.c_str());
      return kExitUsage;
    }
  }
  return 0;
}

struct EventFree {
  void operator()(event* e) const noexcept { event_free(e); }
};
using EventPtr = std::unique_ptr<event, EventFree>;

// smtpd passes its own stderr on, which is /dev/null once it runs as a
// daemon: the log then goes to syslog, where smtpd's own log is.  A closed
// descriptor 2 is opened on /dev/null first, so no later socket or file
// becomes "stderr".
bool stderr_is_void() {
  struct stat err{};
  if (fstat(STDERR_FILENO, &err) != 0) {
    const int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd >= 0 && fd != STDERR_FILENO) close(fd);  // 2 was taken after all
    return true;
  }
  struct stat null{};
  return stat("/dev/null", &null) == 0 && S_ISCHR(err.st_mode) && err.st_rdev == null.st_rdev;
}

// stdin and stdout are a socketpair under smtpd, but by hand they may be
// regular files, which epoll(7) refuses (EPERM); poll(2) takes any
// descriptor, and this loop watches only a few.
event_base* new_base() {
  event_config* cfg = event_config_new();
  if (!cfg) return nullptr;
  (void)event_config_avoid_method(cfg, "epoll");
  event_base* b = event_base_new_with_config(cfg);
  event_config_free(cfg);
  return b;
}

void on_stop(evutil_socket_t /*fd*/, short /*what*/, void* arg) {
  onionmx_table::log(onionmx_table::Level::Info, "signal: stopping");
  event_base_loopbreak(static_cast<event_base*>(arg));
}

int run(int argc, char** argv) {
  CLI::App app{
      "OpenSMTPD (>= 7.6) proc table: which Tor onion service receives mail for a domain "
      "(smtpd-tables(7) on stdin/stdout).",
      "onionmx-table"};
  Args args;
  define(app, args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and usage go to stderr: stdout carries protocol lines only.
    const int rc = app.exit(e, std::cerr, std::cerr);
    return rc == 0 ? 0 : kExitUsage;
  }
  if (args.version) {
    std::fprintf(stderr, "onionmx-table %s (library %s)\n", ONIONMX_VERSION_STRING,
                 onionmx_version());
    return 0;
  }
  auto usage = [](const std::string& msg) {
    std::fprintf(stderr, "onionmx-table: %s\n", msg.c_str());
    return kExitUsage;
  };
  if (!args.path.empty() && !args.src.config.empty())
    return usage("give the configuration file either as --config or as PATH, not both");
  if (!args.path.empty()) args.src.config = args.path;
  if (args.syslog || stderr_is_void()) onionmx_table::use_syslog();
  onionmx_table::Level level = onionmx_table::Level::Info;
  onionmx_table::parse_level(args.log_level, level);
  onionmx_table::set_threshold(level);

  onionmx::Options opts;
  onionmx::tools::apply_config_flag(args.src, opts);
  if (std::string err = onionmx::tools::apply_source_flags(args.src, opts); !err.empty())
    return usage(err);
  if (const int rc = resolve_daemon(opts, args); rc != 0) return rc;
  opts.log = [](int lvl, const std::string& msg) {
    onionmx_table::log(static_cast<onionmx_table::Level>(lvl & 3), msg);
  };

  // Freed in reverse: the session (cancelling its lookups), the context
  // (which saves the cache file), then the base both run on.
  std::unique_ptr<event_base, decltype(&event_base_free)> base(new_base(), &event_base_free);
  if (!base) return usage("cannot create the event loop");
  opts.event_base = base.get();
  std::optional<onionmx::Context> ctx;
  try {
    ctx.emplace(opts);
  } catch (const onionmx::Error& e) {
    // smtpd then stops ("unexpected EOF during handshake"): a table that
    // cannot answer must not pretend to.
    onionmx_table::log(onionmx_table::Level::Error, std::string("cannot start: ") + e.what());
    return kExitStartup;
  }
  std::optional<onionmx_table::DaemonClient> daemon;
  if (!args.daemon.empty()) {
    auto where = onionmx::proto::parse_listen_spec(args.daemon);
    // --timeout, else just above onionmxd's own --request-timeout (6 s by
    // default), so the daemon's TEMP and its reason arrive first.
    const unsigned deadline = opts.timeout_ms > 0 ? opts.timeout_ms : kDaemonDeadlineMs;
    daemon.emplace(base.get(), *where, args.daemon_map, deadline);
    onionmx_table::log(
        onionmx_table::Level::Info,
        "asking onionmxd at " + onionmx::proto::to_string(*where) + ", map " + args.daemon_map);
  }
  std::string ended;
  {
    onionmx_table::SessionLimits limits;
    limits.max_line = args.max_line;
    onionmx_table::Session session(base.get(), *ctx, limits, daemon ? &*daemon : nullptr);
    if (std::string err = session.start(STDIN_FILENO, STDOUT_FILENO); !err.empty()) {
      onionmx_table::log(onionmx_table::Level::Error, "cannot start: " + err);
      return kExitStartup;
    }
    std::signal(SIGPIPE, SIG_IGN);  // smtpd gone: an EPIPE, then the end
    EventPtr term(evsignal_new(base.get(), SIGTERM, on_stop, base.get()));
    EventPtr intr(evsignal_new(base.get(), SIGINT, on_stop, base.get()));
    if (!term || !intr || evsignal_add(term.get(), nullptr) != 0 ||
        evsignal_add(intr.get(), nullptr) != 0) {
      onionmx_table::log(onionmx_table::Level::Error, "cannot install signal handlers");
      return kExitStartup;
    }
    event_base_dispatch(base.get());
    ended = session.ended();
  }
  ctx.reset();  // saves the cache file, if one is configured
  onionmx_table::log(onionmx_table::Level::Info,
                     "stopped: " + (ended.empty() ? std::string("signal") : ended));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return onionmx::tools::guarded_main("onionmx-table", kExitStartup,
                                      [&] { return run(argc, argv); });
}
