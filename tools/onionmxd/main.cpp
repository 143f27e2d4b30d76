// onionmxd - the onionmx lookup daemon for Postfix (socketmap, tcp_table).
//
// One process, one libevent loop, no threads: listeners, MTA connections,
// signals and the library's DNS all run from one event_base_dispatch().  The
// library is driven through the public C++ API only (onionmx.hpp, with
// Options::event_base), as onionmx-lookup is; the wire codecs are the pure
// ones of libonionmx/proto.  docs/onionmxd.md, onionmxd(8).
//
// Exit status: 0 after SIGTERM/SIGINT, 1 when it cannot start (bad
// configuration, a listener that cannot bind), 2 on a usage error.
#include <event2/event.h>
#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <onionmx/onionmx.hpp>
#include <optional>
#include <string>
#include <vector>

#include "activation.hpp"
#include "common/guarded_main.hpp"
#include "common/source_flags.hpp"
#include "daemon_config.hpp"
#include "log.hpp"
#include "metrics_http.hpp"
#include "notify.hpp"
#include "server.hpp"

namespace {

constexpr int kExitStartup = 1;
constexpr int kExitUsage = 2;

struct Args {
  onionmx::tools::SourceArgs src;
  std::vector<std::string> socketmap;
  std::vector<std::string> tcp_table;
  std::string metrics;
  std::string socket_mode = "0666";
  std::size_t max_connections = 1000;
  std::size_t max_request = onionmx::proto::kDefaultMaxRequest;
  unsigned idle_timeout = 60;
  double request_timeout = 6.0;
  std::string log_level = "info";
  bool syslog = false;
  std::string socket_owner;
  std::string socket_group;
  std::string user;
  std::string group;
  bool version = false;
};

void define(CLI::App& app, Args& a) {
  onionmx::tools::define_source_flags(app, a.src);
  app.add_option("--socketmap", a.socketmap,
                 "Serve Postfix socketmap on LISTEN (inet:HOST:PORT or unix:/PATH), repeatable")
      ->option_text("LISTEN")
      ->allow_extra_args(false);
  app.add_option("--tcp-table", a.tcp_table,
                 "Serve Postfix tcp_table on LISTEN (inet:HOST:PORT or unix:/PATH), repeatable")
      ->option_text("LISTEN")
      ->allow_extra_args(false);
  app.add_option("--metrics", a.metrics,
                 "Serve Prometheus metrics at http://LISTEN/metrics (inet:HOST:PORT)")
      ->option_text("LISTEN");
  app.add_option("--socket-mode", a.socket_mode, "Mode of unix sockets, octal")
      ->capture_default_str()
      ->option_text("MODE");
  app.add_option("--max-connections", a.max_connections,
                 "Connections served at once; more are closed at accept")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
  app.add_option("--max-request", a.max_request,
                 "Largest request in bytes; a larger one closes its connection")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{256}, std::size_t{16} << 20));
  app.add_option("--idle-timeout", a.idle_timeout,
                 "Seconds without a request before a connection is closed (0: never)")
      ->capture_default_str()
      ->check(CLI::Range(0u, 86400u));
  app.add_option("--request-timeout", a.request_timeout,
                 "Seconds one request may take before it is answered TEMP (tcp_table 400)")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 90.0));
  app.add_option("--log-level", a.log_level, "Lowest level logged to stderr")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warning", "error"}));
  app.add_flag("--syslog", a.syslog, "Log to syslog (facility mail) instead of stderr");
  app.add_option("--socket-owner", a.socket_owner, "Owner of unix sockets (name or uid)")
      ->option_text("USER");
  app.add_option("--socket-group", a.socket_group, "Group of unix sockets (name or gid)")
      ->option_text("GROUP");
  app.add_option("--user", a.user, "Run as USER after binding (name or uid; needs root)")
      ->option_text("USER");
  app.add_option("--group", a.group, "Run with GROUP after binding (default: USER's group)")
      ->option_text("GROUP");
  app.add_flag("--version", a.version, "Print the version and exit");
}

// A user or group given by name or number; -1 if unknown.
long numeric_id(const std::string& s) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  return std::stol(s);
}

struct Ids {
  long uid = -1;
  long gid = -1;  // the user's primary group when found by user name
};

Ids user_ids(const std::string& name) {
  if (const passwd* pw = getpwnam(name.c_str())) return {pw->pw_uid, pw->pw_gid};
  const long n = numeric_id(name);
  if (n < 0) return {};
  if (const passwd* pw = getpwuid(static_cast<uid_t>(n))) return {pw->pw_uid, pw->pw_gid};
  return {n, -1};
}

long group_id(const std::string& name) {
  if (const group* gr = getgrnam(name.c_str())) return gr->gr_gid;
  return numeric_id(name);
}

// Drops root for `user`/`group` (looked up before); an empty string on success.
std::string drop_privileges(const std::string& user, long uid, long gid) {
  if (setgroups(0, nullptr) != 0 && geteuid() == 0) return "setgroups failed";
  if (gid >= 0 && setgid(static_cast<gid_t>(gid)) != 0)
    return "cannot switch to group " + std::to_string(gid);
  if (uid >= 0 && setuid(static_cast<uid_t>(uid)) != 0) return "cannot switch to user " + user;
  if (uid > 0 && setuid(0) == 0) return "root privileges could be regained";
  return {};
}

// Each connection is a descriptor: raise the soft limit to the hard one
// (often 1024 and 524288), then keep --max-connections below it with a
// reserve for the listeners, DNS sockets and files (the cache).  Running
// out of descriptors is never a normal state: accept() would fail, and so
// would anything else that needs a descriptor (getrlimit(2), accept(2)
// EMFILE).  Returns the number of connections to allow.
std::size_t fit_fd_limit(std::size_t connections) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return connections;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
    (void)getrlimit(RLIMIT_NOFILE, &rl);
  }
  constexpr rlim_t kSpare = 64;  // listeners, DNS sockets, files
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= connections + kSpare) return connections;
  const std::size_t fit =
      rl.rlim_cur > 2 * kSpare ? rl.rlim_cur - kSpare : std::max<rlim_t>(rl.rlim_cur / 2, 1);
  onionmxd::log(onionmxd::Level::Warning, "open file limit " + std::to_string(rl.rlim_cur) +
                                              " is too low for " + "--max-connections " +
                                              std::to_string(connections) + ": serving at most " +
                                              std::to_string(fit) + " connections");
  return fit;
}

// The [onionmxd] section's values become the defaults that flags override.
// Listeners from the file are skipped under socket activation: the socket
// unit's sockets replace them (docs/onionmxd.md#socket-activation).
void apply_file(const onionmxd::DaemonFile& f, bool listeners, Args& a) {
  if (listeners && f.socketmap) a.socketmap = *f.socketmap;
  if (listeners && f.tcp_table) a.tcp_table = *f.tcp_table;
  if (f.socket_mode) a.socket_mode = *f.socket_mode;
  if (f.socket_owner) a.socket_owner = *f.socket_owner;
  if (f.socket_group) a.socket_group = *f.socket_group;
  if (f.user) a.user = *f.user;
  if (f.group) a.group = *f.group;
  if (f.max_connections) a.max_connections = *f.max_connections;
  if (f.max_request) a.max_request = *f.max_request;
  if (f.idle_timeout) a.idle_timeout = *f.idle_timeout;
  if (f.request_timeout) a.request_timeout = *f.request_timeout;
  if (f.log_level) a.log_level = *f.log_level;
  if (f.syslog) a.syslog = *f.syslog;
}

// Parses the command line over `a`; an exit status when the program must
// stop (usage error, --help), nullopt to go on.
std::optional<int> parse_args(int argc, char** argv, Args& a) {
  CLI::App app{
      "Answer Postfix socketmap and tcp_table lookups: which Tor onion service "
      "receives mail for a recipient.",
      "onionmxd"};
  define(app, a);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  return std::nullopt;
}

// The limits `a` asks for; an empty string, else the usage error.
std::string limits_of(const Args& a, onionmxd::Limits& limits) {
  if (!onionmxd::parse_mode(a.socket_mode, limits.socket_mode))
    return "socket mode: not an octal mode: " + a.socket_mode;
  limits.max_connections = fit_fd_limit(a.max_connections);
  limits.max_request = a.max_request;
  limits.idle_timeout_s = a.idle_timeout;
  limits.request_timeout_ms = static_cast<unsigned>(std::lround(a.request_timeout * 1000.0));
  if (!a.socket_owner.empty()) {
    limits.socket_uid = static_cast<int>(user_ids(a.socket_owner).uid);
    if (limits.socket_uid < 0) return "socket owner: unknown user " + a.socket_owner;
  }
  if (!a.socket_group.empty()) {
    limits.socket_gid = static_cast<int>(group_id(a.socket_group));
    if (limits.socket_gid < 0) return "socket group: unknown group " + a.socket_group;
  }
  return {};
}

// What a reload cannot change (bound sockets, dropped privileges, the log
// target): named in the log, the running values kept.
std::string fixed_changes(const Args& now, const Args& next) {
  std::string out;
  auto note = [&out](bool changed, const char* what) {
    if (changed) out += (out.empty() ? "" : ", ") + std::string(what);
  };
  note(now.socketmap != next.socketmap || now.tcp_table != next.tcp_table, "listeners");
  note(now.socket_mode != next.socket_mode || now.socket_owner != next.socket_owner ||
           now.socket_group != next.socket_group,
       "socket mode/owner/group");
  note(now.user != next.user || now.group != next.group, "user/group");
  note(now.syslog != next.syslog, "syslog");
  return out;
}

struct EventFree {
  void operator()(event* e) const noexcept { event_free(e); }
};
using EventPtr = std::unique_ptr<event, EventFree>;

struct Loop {
  event_base* base = nullptr;
  onionmx::Context* ctx = nullptr;
  onionmxd::Metrics* metrics = nullptr;
  onionmxd::Server* server = nullptr;
  int argc = 0;
  char** argv = nullptr;
  onionmx::Options where;  // config_path, config_optional
  bool activated = false;
  Args running;
};

// SIGHUP: the [onionmxd] section, the command line over it, then the
// library's reload; nothing changes unless all of them succeed.  An empty
// string on success, else why not.
std::string reload(Loop& loop) {
  auto file = onionmxd::load_daemon_section(loop.where.config_path, loop.where.config_optional);
  if (!file.error.empty()) return file.error;
  Args next;
  apply_file(file.file, !loop.activated, next);
  if (parse_args(loop.argc, loop.argv, next)) return "the command line no longer parses";
  onionmxd::Limits limits;
  if (std::string err = limits_of(next, limits); !err.empty()) return err;
  onionmxd::Level level = onionmxd::Level::Info;
  onionmxd::parse_level(next.log_level, level);
  if (loop.ctx->reload() != ONIONMX_OK) return loop.ctx->last_error();
  loop.server->set_limits(limits);
  loop.server->set_profiles(onionmxd::Profiles(file.file.profiles));
  onionmxd::set_threshold(level);
  if (std::string fixed = fixed_changes(loop.running, next); !fixed.empty())
    onionmxd::log(
        onionmxd::Level::Warning,
        "SIGHUP: " + fixed + " cannot change without a restart; keeping the running ones");
  for (auto field : {&Args::socketmap, &Args::tcp_table}) next.*field = loop.running.*field;
  for (auto field :
       {&Args::socket_mode, &Args::socket_owner, &Args::socket_group, &Args::user, &Args::group})
    next.*field = loop.running.*field;
  next.syslog = loop.running.syslog;
  loop.running = std::move(next);
  return {};
}

void on_hup(evutil_socket_t /*fd*/, short /*what*/, void* arg) {
  auto* loop = static_cast<Loop*>(arg);
  onionmxd::notify("RELOADING=1");
  const std::string err = reload(*loop);
  onionmxd::notify("READY=1");
  loop->metrics->reload(err.empty());
  if (err.empty()) {
    onionmxd::log(onionmxd::Level::Info, "SIGHUP: configuration reloaded (generation " +
                                             std::to_string(loop->ctx->generation()) +
                                             "; profiles: " + loop->server->profiles().describe() +
                                             ")");
  } else {
    onionmxd::log(onionmxd::Level::Error, "SIGHUP: reload failed, the previous configuration " +
                                              std::string("keeps answering: ") + err);
  }
}

void on_stop(evutil_socket_t fd, short /*what*/, void* arg) {
  onionmxd::log(onionmxd::Level::Info,
                std::string(fd == SIGINT ? "SIGINT" : "SIGTERM") + ": shutting down");
  onionmxd::notify("STOPPING=1");
  event_base_loopbreak(static_cast<Loop*>(arg)->base);
}

int run(int argc, char** argv) {
  Args args;
  if (auto rc = parse_args(argc, argv, args)) return *rc;
  if (args.version) {
    std::printf("onionmxd %s (library %s)\n", ONIONMX_VERSION_STRING, onionmx_version());
    return 0;
  }
  auto usage = [](const std::string& msg) {
    std::fprintf(stderr, "onionmxd: %s\n", msg.c_str());
    return kExitUsage;
  };
  // The configuration file's [onionmxd] section, then the flags again over it.
  onionmx::Options where;
  onionmx::tools::apply_config_flag(args.src, where);
  const auto file = onionmxd::load_daemon_section(where.config_path, where.config_optional);
  if (!file.error.empty()) {
    onionmxd::log(onionmxd::Level::Error, "cannot start: " + file.error);
    return kExitStartup;
  }
  const onionmxd::Activation activation = onionmxd::activated_sockets();
  if (!activation.error.empty()) {
    onionmxd::log(onionmxd::Level::Error, "cannot start: " + activation.error);
    return kExitStartup;
  }
  const bool activated = !activation.sockets.empty();
  args = Args{};
  apply_file(file.file, !activated, args);
  if (auto rc = parse_args(argc, argv, args)) return *rc;
  if (args.socketmap.empty() && args.tcp_table.empty() && !activated)
    return usage(
        "nothing to serve: give --socketmap LISTEN and/or --tcp-table LISTEN (or [onionmxd] "
        "socketmap/tcp_table in the configuration file, or systemd socket activation)");
  onionmxd::Limits limits;
  if (std::string err = limits_of(args, limits); !err.empty()) return usage(err);
  Ids run_as;
  if (!args.user.empty()) {
    run_as = user_ids(args.user);
    if (run_as.uid < 0) return usage("--user: unknown user " + args.user);
  }
  if (!args.group.empty()) {
    run_as.gid = group_id(args.group);
    if (run_as.gid < 0) return usage("--group: unknown group " + args.group);
  }
  if (args.syslog) onionmxd::use_syslog();
  onionmxd::Level level = onionmxd::Level::Info;
  onionmxd::parse_level(args.log_level, level);
  onionmxd::set_threshold(level);

  onionmx::Options opts;
  onionmx::tools::apply_config_flag(args.src, opts);
  if (std::string err = onionmx::tools::apply_source_flags(args.src, opts); !err.empty())
    return usage(err);
  if (opts.timeout_ms >= limits.request_timeout_ms)
    onionmxd::log(onionmxd::Level::Warning,
                  "--timeout is not below --request-timeout: slow lookups end at the request "
                  "deadline (TEMP) instead of with the resolver's own reason");
  opts.log = [](int lvl, const std::string& msg) {
    onionmxd::log(static_cast<onionmxd::Level>(lvl & 3), msg);
  };

  // Owned in this order, freed in reverse: connections, then the context
  // (which saves the cache), then the base it runs on.
  std::unique_ptr<event_base, decltype(&event_base_free)> base(event_base_new(), &event_base_free);
  if (!base) {
    std::fprintf(stderr, "onionmxd: cannot create the event loop\n");
    return kExitStartup;
  }
  opts.event_base = base.get();
  std::optional<onionmx::Context> ctx;
  try {
    ctx.emplace(opts);
  } catch (const onionmx::Error& e) {
    onionmxd::log(onionmxd::Level::Error, std::string("cannot start: ") + e.what());
    return kExitStartup;
  }
  {
    onionmxd::Server server(base.get(), *ctx, limits);
    server.set_profiles(onionmxd::Profiles(file.file.profiles));
    for (const auto& s : activation.sockets)
      if (std::string err = server.adopt(s.proto, s.fd); !err.empty()) {
        onionmxd::log(onionmxd::Level::Error, "cannot start: " + err);
        return kExitStartup;
      }
    for (const auto& spec : args.socketmap)
      if (std::string err = server.listen(onionmxd::Protocol::Socketmap, spec); !err.empty()) {
        onionmxd::log(onionmxd::Level::Error, "cannot start: " + err);
        return kExitStartup;
      }
    for (const auto& spec : args.tcp_table)
      if (std::string err = server.listen(onionmxd::Protocol::TcpTable, spec); !err.empty()) {
        onionmxd::log(onionmxd::Level::Error, "cannot start: " + err);
        return kExitStartup;
      }
    // Page built on request from counters in memory: a scrape never waits.
    onionmxd::MetricsHttp metrics(base.get(), [&server, &ctx] {
      return server.metrics().render(server.connections(), ctx->stats());
    });
    if (!args.metrics.empty()) {
      if (std::string err = metrics.listen(args.metrics); !err.empty()) {
        onionmxd::log(onionmxd::Level::Error, "cannot start: " + err);
        return kExitStartup;
      }
      onionmxd::log(onionmxd::Level::Info, "listening: metrics on " + metrics.shown());
    }

    if (run_as.uid >= 0 || run_as.gid >= 0) {
      if (std::string err = drop_privileges(args.user, run_as.uid, run_as.gid); !err.empty()) {
        onionmxd::log(onionmxd::Level::Error, "cannot start: " + err);
        return kExitStartup;
      }
      onionmxd::log(onionmxd::Level::Info, "running as uid " + std::to_string(getuid()) + ", gid " +
                                               std::to_string(getgid()));
    }
    std::signal(SIGPIPE, SIG_IGN);  // a vanished client is an EPIPE, not a death
    Loop loop{base.get(), &*ctx, &server.metrics(), &server, argc, argv, where, activated, args};
    EventPtr hup(evsignal_new(base.get(), SIGHUP, on_hup, &loop));
    EventPtr term(evsignal_new(base.get(), SIGTERM, on_stop, &loop));
    EventPtr intr(evsignal_new(base.get(), SIGINT, on_stop, &loop));
    if (!hup || !term || !intr || evsignal_add(hup.get(), nullptr) != 0 ||
        evsignal_add(term.get(), nullptr) != 0 || evsignal_add(intr.get(), nullptr) != 0) {
      onionmxd::log(onionmxd::Level::Error, "cannot install signal handlers");
      return kExitStartup;
    }
    onionmxd::log(onionmxd::Level::Info, std::string("ready (onionmxd ") + ONIONMX_VERSION_STRING +
                                             ", library " + onionmx_version() +
                                             "; profiles: " + server.profiles().describe() + ")");
    if (!onionmxd::notify("READY=1\nSTATUS=serving"))
      onionmxd::log(onionmxd::Level::Warning,
                    std::string("cannot notify $NOTIFY_SOCKET: ") + std::strerror(errno));
    event_base_dispatch(base.get());
    server.shutdown();  // every connection's lookup cancelled
  }
  ctx.reset();  // saves the cache file, if one is configured
  onionmxd::log(onionmxd::Level::Info, "stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return onionmx::tools::guarded_main("onionmxd", kExitStartup, [&] { return run(argc, argv); });
}
