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

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <onionmx/onionmx.h>

namespace onionmx {

enum class Outcome { Found = ONIONMX_FOUND, NotFound = ONIONMX_NOTFOUND, Temp = ONIONMX_TEMP, Perm = ONIONMX_PERM };
enum class Dnssec { Config = ONIONMX_DNSSEC_CONFIG, Off = ONIONMX_DNSSEC_OFF, Prefer = ONIONMX_DNSSEC_PREFER, Require = ONIONMX_DNSSEC_REQUIRE };
enum class Format { Text = ONIONMX_FORMAT_TEXT, Json = ONIONMX_FORMAT_JSON, Postfix = ONIONMX_FORMAT_POSTFIX, OpenSmtpd = ONIONMX_FORMAT_OPENSMTPD };

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
  // Must not throw; exceptions are swallowed.
  std::function<void(int level, const std::string& message)> log{};
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
  std::vector<std::string> explain;

  // The answer in one of the formats (rendered on first use).
  std::string formatted(Format f) const {
    if (!native_) return key + ": " + reason;
    const char* s = onionmx_result_format(native_.get(), static_cast<int>(f));
    return s ? std::string(s) : key + ": " + reason;
  }

  std::shared_ptr<onionmx_result> native_;  // the C result behind this answer
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
  for (size_t i = 0, n = onionmx_result_route_count(r); i < n; ++i)
    out.routes.push_back(Route{str(onionmx_result_route_onion(r, i)), onionmx_result_route_port(r, i),
                               onionmx_result_route_priority(r, i), onionmx_result_route_weight(r, i)});
  for (size_t i = 0, n = onionmx_result_explain_count(r); i < n; ++i)
    out.explain.push_back(str(onionmx_result_explain(r, i)));
  return out;
}
}  // namespace detail

class Context {
 public:
  explicit Context(const Options& opts = {}) : log_(std::make_unique<LogFn>(opts.log)) {
    onionmx_options o = ONIONMX_OPTIONS_INIT;
    o.config_path = opts.config_path.empty() ? nullptr : opts.config_path.c_str();
    o.config_text = opts.config_text.empty() ? nullptr : opts.config_text.c_str();
    if (opts.config_optional) o.flags |= ONIONMX_OPT_CONFIG_OPTIONAL;
    if (opts.explain) o.flags |= ONIONMX_OPT_EXPLAIN;
    o.servers = opts.servers ? opts.servers->c_str() : nullptr;
    o.tcp = opts.tcp ? (*opts.tcp ? 1 : 0) : -1;
    o.dnssec = static_cast<int>(opts.dnssec);
    o.timeout_ms = opts.timeout_ms;
    if (*log_) {
      o.log = &Context::log_trampoline;
      o.log_payload = log_.get();
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
    int rc = onionmx_lookup(&r, ctx_.get(), key.c_str());
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
    auto holder = std::make_unique<std::function<void(Lookup)>>(std::move(done));
    int rc = onionmx_lookup_start(ctx_.get(), key.c_str(), &Context::done_trampoline, holder.get());
    if (rc == ONIONMX_OK) holder.release();  // owned by the callback now
    return rc;
  }

  // Runs until every started lookup has completed.
  int run() { return onionmx_ctx_run(ctx_.get()); }

  onionmx_ctx* native() noexcept { return ctx_.get(); }

 private:
  using LogFn = std::function<void(int, const std::string&)>;
  struct Free {
    void operator()(onionmx_ctx* c) const noexcept { onionmx_ctx_free(c); }
  };

  static void log_trampoline(int level, const char* msg, void* payload) {
    try {
      (*static_cast<LogFn*>(payload))(level, msg ? msg : "");
    } catch (...) {
    }
  }
  static void done_trampoline(onionmx_result* r, void* payload) {
    std::unique_ptr<std::function<void(Lookup)>> fn(static_cast<std::function<void(Lookup)>*>(payload));
    try {
      (*fn)(detail::take(r));
    } catch (...) {
    }
  }

  // Declared before ctx_ so it outlives the context that calls it.
  std::unique_ptr<LogFn> log_;
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
