// onionmx.hpp - header-only C++20 API over the C ABI (hourglass).
//
// Only std types cross this header; nothing here has a C++ ABI of its own,
// so the shared library's ABI is the C one.  Objects are move-only; errors
// are values (Lookup::status), except that construction failures throw
// onionmx::Error (a std::runtime_error carrying the status code).
//
//   onionmx::Context ctx({.config_path = "/etc/onionmx/onionmx.toml"});
//   onionmx::Lookup r = ctx.lookup("user@example.org");
//   if (r.outcome == onionmx::Outcome::Found) use(r.routes.front().onion);
#pragma once

#include <onionmx/onionmx.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace onionmx {

enum class Outcome {
  Found = ONIONMX_FOUND,
  NotFound = ONIONMX_NOTFOUND,
  Temp = ONIONMX_TEMP,
  Perm = ONIONMX_PERM
};
enum class Dnssec {
  Config = ONIONMX_DNSSEC_CONFIG,
  Off = ONIONMX_DNSSEC_OFF,
  Prefer = ONIONMX_DNSSEC_PREFER,
  Require = ONIONMX_DNSSEC_REQUIRE
};
enum class Format {
  Text = ONIONMX_FORMAT_TEXT,
  Json = ONIONMX_FORMAT_JSON,
  Postfix = ONIONMX_FORMAT_POSTFIX,
  OpenSmtpd = ONIONMX_FORMAT_OPENSMTPD
};

class Error : public std::runtime_error {
 public:
  Error(int status, const std::string& what) : std::runtime_error(what), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

struct Options {
  std::string config_path{};  // empty: built-in defaults
  std::string config_text{};  // TOML text used instead of config_path
  bool config_optional = false;
  std::optional<std::string> servers{};  // "ip[:port],..."
  std::optional<bool> tcp{};
  Dnssec dnssec = Dnssec::Config;
  unsigned timeout_ms = 0;  // 0: configuration file
  bool explain = false;
  // Since 0.5 (docs/route-trust.md): override [trust] to off.
  bool no_policy = false;
  bool no_downgrade_guard = false;
  // Must not throw; exceptions are swallowed.
  std::function<void(int level, const std::string& message)> log{};
  // Since 0.2.  For the caller's own loop: told which descriptors to watch
  // (events ONIONMX_WATCH_*, 0 = stop); call Context::process() when one is
  // ready or Context::timeout_ms() has passed.  Must not throw.
  std::function<void(int fd, int events)> watch{};
  // Since 0.2.  Run on the caller's libevent base instead of a private one.
  struct event_base* event_base = nullptr;
  // Since 0.2.  A signed static map and its trust (docs/map-format.md);
  // empty/nullopt: the configuration file's.
  std::string map_path{};
  std::optional<std::vector<std::string>> trusted_keys{};
  std::string state_dir{};
  // Since 0.3.  The cache (docs/cache.md): a file ("" memory only) and a
  // size (0 turns it off); nullopt: the configuration file's.
  std::optional<std::string> cache_file{};
  std::optional<std::size_t> cache_size{};
};

struct Route {
  std::string onion;
  unsigned port = 25;
  unsigned priority = 0;  // SRV priority and weight (0 for non-DNS routes)
  unsigned weight = 0;
};

struct Lookup {
  int status = ONIONMX_EINTERNAL;  // enum onionmx_status
  Outcome outcome = Outcome::Temp;
  std::string key;
  std::string domain;
  std::vector<Route> routes;  // best first
  std::string source;
  std::string reason;
  std::uint32_t ttl = 0;
  bool authenticated = false;
  bool stale = false;     // since 0.3: served past its TTL because DNS failed
  std::uint32_t age = 0;  // since 0.3: seconds since fetched (cache answers)
  std::vector<std::string> explain;

  // The answer in one of the formats (rendered on first use).
  std::string formatted(Format f) const {
    if (!native_) return key + ": " + reason;
    const char* s = onionmx_result_format(native_.get(), static_cast<int>(f));
    return s ? std::string(s) : key + ": " + reason;
  }

  std::shared_ptr<onionmx_result> native_;  // the C result behind this answer
};

// Since 0.4: one statistic of Context::stats() (docs/c-api.md, "Statistics").
enum class StatKind { Counter = ONIONMX_STAT_COUNTER, Gauge = ONIONMX_STAT_GAUGE };
struct Stat {
  std::string name;  // stable, a valid Prometheus metric name
  std::string help;
  StatKind kind = StatKind::Counter;
  double value = 0;
};

namespace detail {
inline std::string str(const char* s) { return s ? std::string(s) : std::string(); }

// Copies a C result into std types; the result itself is kept (shared) for
// formatting and freed with the last copy.
inline Lookup take(onionmx_result* r) {
  Lookup out;
  if (!r) {
    out.status = ONIONMX_ENOMEM;
    out.reason = "out of memory";
    return out;
  }
  out.native_.reset(r, &onionmx_result_free);
  out.status = onionmx_result_status(r);
  out.outcome = static_cast<Outcome>(onionmx_result_outcome(r));
  out.key = str(onionmx_result_key(r));
  out.domain = str(onionmx_result_domain(r));
  out.source = str(onionmx_result_source(r));
  out.reason = str(onionmx_result_reason(r));
  out.ttl = onionmx_result_ttl(r);
  out.authenticated = onionmx_result_authenticated(r) != 0;
  out.stale = onionmx_result_stale(r) != 0;
  out.age = onionmx_result_age(r);
  for (size_t i = 0, n = onionmx_result_route_count(r); i < n; ++i)
    out.routes.push_back(Route{str(onionmx_result_route_onion(r, i)),
                               onionmx_result_route_port(r, i), onionmx_result_route_priority(r, i),
                               onionmx_result_route_weight(r, i)});
  for (size_t i = 0, n = onionmx_result_explain_count(r); i < n; ++i)
    out.explain.push_back(str(onionmx_result_explain(r, i)));
  return out;
}
}  // namespace detail

class Context {
 public:
  explicit Context(const Options& opts = {})
      : log_(std::make_unique<LogFn>(opts.log)),
        watch_(std::make_unique<WatchFn>(opts.watch)),
        calls_(std::make_unique<Calls>()) {
    onionmx_options o = ONIONMX_OPTIONS_INIT;
    o.config_path = opts.config_path.empty() ? nullptr : opts.config_path.c_str();
    o.config_text = opts.config_text.empty() ? nullptr : opts.config_text.c_str();
    if (opts.config_optional) o.flags |= ONIONMX_OPT_CONFIG_OPTIONAL;
    if (opts.explain) o.flags |= ONIONMX_OPT_EXPLAIN;
    if (opts.no_policy) o.flags |= ONIONMX_OPT_NO_POLICY;
    if (opts.no_downgrade_guard) o.flags |= ONIONMX_OPT_NO_DOWNGRADE_GUARD;
    o.servers = opts.servers ? opts.servers->c_str() : nullptr;
    o.tcp = opts.tcp ? (*opts.tcp ? 1 : 0) : -1;
    o.dnssec = static_cast<int>(opts.dnssec);
    o.timeout_ms = opts.timeout_ms;
    if (*log_) {
      o.log = &Context::log_trampoline;
      o.log_payload = log_.get();
    }
    if (*watch_) {
      o.watch = &Context::watch_trampoline;
      o.watch_payload = watch_.get();
    }
    o.event_base = opts.event_base;
    o.map_path = opts.map_path.empty() ? nullptr : opts.map_path.c_str();
    o.state_dir = opts.state_dir.empty() ? nullptr : opts.state_dir.c_str();
    o.cache_file = opts.cache_file ? opts.cache_file->c_str() : nullptr;
    o.cache_size = opts.cache_size ? static_cast<long>(*opts.cache_size) : -1L;
    std::vector<const char*> keys;
    if (opts.trusted_keys) {
      for (const auto& k : *opts.trusted_keys) keys.push_back(k.c_str());
      keys.push_back(nullptr);
      o.trusted_keys = keys.data();
    }
    char err[512] = "";
    onionmx_ctx* raw = nullptr;
    int rc = onionmx_ctx_new(&raw, &o, err, sizeof err);
    if (rc != ONIONMX_OK) throw Error(rc, err);
    ctx_.reset(raw);
  }

  // Blocking lookup.
  [[nodiscard]] Lookup lookup(const std::string& key) {
    onionmx_result* r = nullptr;
    // With the length: a key with a NUL byte is refused, not cut short.
    int rc = onionmx_lookup_len(&r, ctx_.get(), key.data(), key.size());
    if (rc != ONIONMX_OK) {
      Lookup failed;
      failed.status = rc;
      failed.key = key;
      failed.reason = onionmx_ctx_last_error(ctx_.get());
      return failed;
    }
    return detail::take(r);
  }

  // Starts a lookup; `done` runs from run() (or at once).  `done` must not
  // throw; an exception is swallowed.
  [[nodiscard]] int lookup_async(const std::string& key, std::function<void(Lookup)> done) {
    return submit(key, std::move(done), nullptr);
  }

  // Since 0.2.  As lookup_async(), and *id (if given) receives an id for
  // cancel(); 0 when the answer came at once.
  [[nodiscard]] int submit(const std::string& key, std::function<void(Lookup)> done,
                           std::uint64_t* id) {
    if (id) *id = 0;
    auto call = std::make_unique<Call>();
    call->fn = std::move(done);
    call->owner = calls_.get();
    Call* raw = call.get();
    calls_->live.emplace(raw, std::move(call));
    std::uint64_t got = 0;
    int rc = onionmx_lookup_submit_len(&got, ctx_.get(), key.data(), key.size(),
                                       &Context::done_trampoline, raw);
    if (rc != ONIONMX_OK) {
      calls_->live.erase(raw);
      return rc;
    }
    if (calls_->live.count(raw)) {  // not answered at once
      raw->id = got;
      calls_->ids.emplace(got, raw);
      if (id) *id = got;
    }
    return rc;
  }

  // Since 0.2.  `done` of that lookup will not run.  False if it already ran.
  bool cancel(std::uint64_t id) {
    auto it = calls_->ids.find(id);
    if (it == calls_->ids.end()) return false;
    (void)onionmx_lookup_cancel(ctx_.get(), id);
    calls_->live.erase(it->second);
    calls_->ids.erase(it);
    return true;
  }

  // Runs until every started lookup has completed.
  int run() { return onionmx_ctx_run(ctx_.get()); }
  // Since 0.2: one blocking step; process() and timeout_ms() for the
  // caller's own loop; reload() re-reads the configuration atomically.
  int run_once() { return onionmx_ctx_run_once(ctx_.get()); }
  int process() { return onionmx_ctx_process(ctx_.get()); }
  int timeout_ms() const { return onionmx_ctx_timeout(ctx_.get()); }
  std::size_t pending() const { return onionmx_ctx_pending(ctx_.get()); }
  [[nodiscard]] int reload() { return onionmx_ctx_reload(ctx_.get()); }
  std::uint64_t generation() const { return onionmx_ctx_generation(ctx_.get()); }
  std::string last_error() const { return onionmx_ctx_last_error(ctx_.get()); }

  // Since 0.3: the cache.  cache_save()/cache_purge() return enum
  // onionmx_status; cache_dump() gives each entry as a JSON line.
  [[nodiscard]] int cache_save() { return onionmx_cache_save(ctx_.get()); }
  int cache_purge(const std::string& domain) {
    return onionmx_cache_purge(ctx_.get(), domain.c_str());
  }
  std::size_t cache_count() const { return onionmx_cache_count(ctx_.get()); }
  std::vector<std::string> cache_dump() {
    std::vector<std::string> lines;
    (void)onionmx_cache_dump(
        ctx_.get(),
        [](const char* json, void* p) noexcept {
          try {
            static_cast<std::vector<std::string>*>(p)->emplace_back(json);
          } catch (...) {  // a line lost to memory shortage; must not unwind into C
          }
        },
        &lines);
    return lines;
  }

  // Since 0.4: every statistic (docs/c-api.md, "Statistics"), in a fixed order.
  std::vector<Stat> stats() {
    std::vector<Stat> out;
    (void)onionmx_stats(
        ctx_.get(),
        [](const char* name, const char* help, int kind, double value, void* p) noexcept -> int {
          try {
            static_cast<std::vector<Stat>*>(p)->push_back(
                {name, help, kind == ONIONMX_STAT_COUNTER ? StatKind::Counter : StatKind::Gauge,
                 value});
            return 0;
          } catch (...) {  // out of memory: stop, and must not unwind into C
            return 1;
          }
        },
        &out);
    return out;
  }

  onionmx_ctx* native() noexcept { return ctx_.get(); }

 private:
  using LogFn = std::function<void(int, const std::string&)>;
  using WatchFn = std::function<void(int, int)>;
  struct Calls;
  struct Call {
    std::function<void(Lookup)> fn;
    Calls* owner = nullptr;
    std::uint64_t id = 0;
  };
  // Heap-held, so a moved Context keeps the address its calls point to.
  struct Calls {
    std::unordered_map<Call*, std::unique_ptr<Call>> live;
    std::unordered_map<std::uint64_t, Call*> ids;
  };
  struct Free {
    void operator()(onionmx_ctx* c) const noexcept { onionmx_ctx_free(c); }
  };

  static void log_trampoline(int level, const char* msg, void* payload) {
    try {
      (*static_cast<LogFn*>(payload))(level, msg ? msg : "");
    } catch (...) {
    }
  }
  static void watch_trampoline(int fd, int events, void* payload) {
    try {
      (*static_cast<WatchFn*>(payload))(fd, events);
    } catch (...) {
    }
  }
  static void done_trampoline(onionmx_result* r, void* payload) {
    auto* call = static_cast<Call*>(payload);
    std::function<void(Lookup)> fn = std::move(call->fn);
    Calls* owner = call->owner;
    if (call->id) owner->ids.erase(call->id);
    owner->live.erase(call);  // frees `call`
    try {
      fn(detail::take(r));
    } catch (...) {
    }
  }

  // Declared before ctx_ so they outlive the context that calls them.
  std::unique_ptr<LogFn> log_;
  std::unique_ptr<WatchFn> watch_;
  std::unique_ptr<Calls> calls_;
  std::unique_ptr<onionmx_ctx, Free> ctx_;
};

// Validates a v3 onion name; returns the reason, empty when valid.
inline std::string onion_problem(const std::string& name) {
  char reason[256] = "";
  int rc = onionmx_onion_validate(name.c_str(), reason, sizeof reason);
  if (rc == ONIONMX_OK) return {};
  return reason[0] ? reason : onionmx_strerror(rc);
}

}  // namespace onionmx
