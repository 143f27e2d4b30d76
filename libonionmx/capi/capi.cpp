// capi.cpp - the extern "C" shim: the only exported code.
//
// Every function is noexcept and runs its body through guard(): bad_alloc
// becomes ONIONMX_ENOMEM, any other exception ONIONMX_EINTERNAL with its
// message kept as the context's last error.  Nothing C++ crosses the ABI.
// The wiring (configuration, overrides, sources, reload) is the engine's;
// this file only translates.
#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <unordered_map>

#include "address/mail_key.hpp"
#include "address/onion_address.hpp"
#include "base/clock.hpp"
#include "base/status.hpp"
#include "cache/cache.hpp"
#include "cache/cache_file.hpp"
#include "engine/engine.hpp"
#include "engine/stats.hpp"
#include "event/loop.hpp"
#include "onionmx/onionmx.h"
#include "proto/answer_format.hpp"

namespace {
// A started lookup's completion: removed when it runs or is cancelled.
struct Call {
  onionmx_lookup_cb cb;
  void* payload;
};
}  // namespace

struct onionmx_ctx {
  bool explain = false;
  onionmx_log_fn log = nullptr;
  void* log_payload = nullptr;
  onionmx_watch_fn watch = nullptr;
  void* watch_payload = nullptr;
  std::string last_error;
  std::unordered_map<std::uint64_t, Call> calls;
  std::uint64_t next_id = 1;
  // Declared before the engine so it is destroyed after it: the DNS
  // client's sockets and timers live on this loop.
  std::unique_ptr<onionmx::event::Loop> loop;
  std::unique_ptr<onionmx::engine::Engine> engine;
};

struct onionmx_result {
  onionmx::record::Answer answer;
  std::shared_ptr<const onionmx::proto::AnswerStyle> style;
  std::array<std::string, 4> formatted;
  std::array<bool, 4> have{};
};

namespace {

using onionmx::base::Status;

int code(Status s) noexcept { return static_cast<int>(s); }

void set_error(onionmx_ctx* ctx, const char* msg) noexcept {
  if (!ctx) return;
  try {
    ctx->last_error = msg;
  } catch (...) {
    // Keep the previous message rather than fail while reporting a failure.
  }
}

int fail(onionmx_ctx* ctx, const onionmx::base::Error& e) noexcept {
  set_error(ctx, e.detail.c_str());
  return code(e.code);
}

template <class F>
int guard(onionmx_ctx* ctx, F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    set_error(ctx, "out of memory");
    return ONIONMX_ENOMEM;
  } catch (const std::exception& e) {
    set_error(ctx, e.what());
    return ONIONMX_EINTERNAL;
  } catch (...) {
    set_error(ctx, "unknown exception");
    return ONIONMX_EINTERNAL;
  }
}

void copy_message(char* buf, std::size_t len, const std::string& msg) noexcept {
  if (!buf || len == 0) return;
  std::size_t n = std::min(len - 1, msg.size());
  std::memcpy(buf, msg.data(), n);
  buf[n] = '\0';
}

// C options -> engine input and overrides.  Only checks what the engine
// cannot see (the struct itself); values are checked where they are used.
int read_options(const onionmx_options& o, onionmx::engine::ConfigInput& in,
                 onionmx::engine::Overrides& ov, std::string& err) {
  if (o.version < 1 || o.version > ONIONMX_OPTIONS_VERSION) {
    err = "unsupported onionmx_options version " + std::to_string(o.version);
    return ONIONMX_EINVAL;
  }
  if (o.config_text) in.text = o.config_text;
  if (o.config_path) in.path = o.config_path;
  in.optional = (o.flags & ONIONMX_OPT_CONFIG_OPTIONAL) != 0;
  ov.no_policy = (o.flags & ONIONMX_OPT_NO_POLICY) != 0;
  ov.no_downgrade_guard = (o.flags & ONIONMX_OPT_NO_DOWNGRADE_GUARD) != 0;
  if (o.servers) {
    std::vector<std::string> list;
    std::string_view csv(o.servers);
    for (std::size_t start = 0;;) {
      std::size_t end = std::min(csv.find(',', start), csv.size());
      list.emplace_back(csv.substr(start, end - start));
      if (end == csv.size()) break;
      start = end + 1;
    }
    ov.servers = std::move(list);
  }
  if (o.tcp == 0 || o.tcp == 1) {
    ov.tcp = o.tcp == 1;
  } else if (o.tcp != -1) {
    err = "tcp must be -1, 0 or 1";
    return ONIONMX_EINVAL;
  }
  switch (o.dnssec) {
    case ONIONMX_DNSSEC_CONFIG:
      break;
    case ONIONMX_DNSSEC_OFF:
      ov.dnssec = onionmx::dns::Dnssec::Off;
      break;
    case ONIONMX_DNSSEC_PREFER:
      ov.dnssec = onionmx::dns::Dnssec::Prefer;
      break;
    case ONIONMX_DNSSEC_REQUIRE:
      ov.dnssec = onionmx::dns::Dnssec::Require;
      break;
    default:
      err = "unknown dnssec policy " + std::to_string(o.dnssec);
      return ONIONMX_EINVAL;
  }
  if (o.timeout_ms != 0) ov.timeout = std::chrono::milliseconds(o.timeout_ms);
  if (o.version >= 2) {
    if (o.map_path) ov.map_path = o.map_path;
    if (o.trusted_keys) {
      std::vector<std::string> keys;
      for (const char* const* k = o.trusted_keys; *k; ++k) keys.emplace_back(*k);
      ov.trusted_keys = std::move(keys);
    }
    if (o.state_dir) ov.state_dir = o.state_dir;
  }
  if (o.version >= 3) {
    if (o.cache_file) ov.cache_file = o.cache_file;
    if (o.cache_size < -1 || o.cache_size > 100000000L) {
      err = "cache_size must be -1 (configuration), 0 (off) or at most 100000000 entries";
      return ONIONMX_EINVAL;
    }
    if (o.cache_size >= 0) ov.cache_size = static_cast<std::size_t>(o.cache_size);
  }
  return ONIONMX_OK;
}

onionmx_result* make_result(onionmx::record::Answer a,
                            std::shared_ptr<const onionmx::proto::AnswerStyle> style) noexcept {
  try {
    auto r = std::make_unique<onionmx_result>();
    r->answer = std::move(a);
    r->style = std::move(style);
    return r.release();
  } catch (...) {
    return nullptr;  // documented: the callback then receives NULL
  }
}

int create(onionmx_ctx*& out, const onionmx_options& o, std::string& err) {
  auto ctx = std::make_unique<onionmx_ctx>();
  onionmx::engine::ConfigInput input;
  onionmx::engine::Overrides overrides;
  if (int r = read_options(o, input, overrides, err); r != ONIONMX_OK) return r;
  ctx->explain = (o.flags & ONIONMX_OPT_EXPLAIN) != 0;
  ctx->log = o.log;
  ctx->log_payload = o.log_payload;
  onionmx::base::LogSink sink;
  if (ctx->log) {
    sink = [fn = ctx->log, payload = ctx->log_payload](onionmx::base::LogLevel lvl,
                                                       std::string_view msg) {
      std::string m(msg);
      fn(static_cast<int>(lvl), m.c_str(), payload);
    };
  }
  if (o.version >= 2 && o.event_base) {
    ctx->loop = std::make_unique<onionmx::event::Loop>(o.event_base);
  } else {
    ctx->loop = std::make_unique<onionmx::event::Loop>();
  }
  ctx->loop->set_log(sink);
  if (o.version >= 2 && o.watch) {
    ctx->loop->set_watch_observer(
        [fn = o.watch, payload = o.watch_payload](int fd, bool r, bool w) {
          fn(fd, (r ? ONIONMX_WATCH_READ : 0) | (w ? ONIONMX_WATCH_WRITE : 0), payload);
        });
  }
  auto engine =
      onionmx::engine::Engine::create(*ctx->loop, std::move(input), std::move(overrides), sink);
  if (!engine) {
    err = engine.error().detail;
    return code(engine.error().code);
  }
  ctx->engine = std::move(*engine);
  out = ctx.release();
  return ONIONMX_OK;
}

// Blocking calls would run the caller's own event_base from inside it.
bool refuse_borrowed(onionmx_ctx* ctx) noexcept {
  if (!ctx->loop->borrowed()) return false;
  set_error(ctx,
            "the context runs on the caller's event_base: use onionmx_lookup_submit() "
            "and the caller's event loop");
  return true;
}

}  // namespace

extern "C" {

ONIONMX_EXPORT const char* onionmx_version(void) { return ONIONMX_VERSION_STRING; }

ONIONMX_EXPORT const char* onionmx_strerror(int status) {
  switch (status) {
    case ONIONMX_OK:
    case ONIONMX_ENOTFOUND:
    case ONIONMX_ETEMP:
    case ONIONMX_EINVAL:
    case ONIONMX_EBADDATA:
    case ONIONMX_EBADSIG:
    case ONIONMX_EIO:
    case ONIONMX_ENOMEM:
    case ONIONMX_EINTERNAL:
      // status_message returns views of string literals: NUL-terminated.
      return onionmx::base::status_message(static_cast<onionmx::base::Status>(status)).data();
    default:
      return "unknown status code";
  }
}

ONIONMX_EXPORT int onionmx_status_is_temporary(int status) {
  if (status > 0 || status < ONIONMX_EINTERNAL) return 1;  // unknown: defer
  return onionmx::base::status_is_temporary(static_cast<onionmx::base::Status>(status)) ? 1 : 0;
}

ONIONMX_EXPORT int onionmx_ctx_new(onionmx_ctx** out, const onionmx_options* opts, char* errbuf,
                                   size_t errlen) {
  if (!out) return ONIONMX_EINVAL;
  *out = nullptr;
  std::string err;
  int rc = guard(nullptr, [&]() -> int {
    onionmx_options defaults = ONIONMX_OPTIONS_INIT;
    return create(*out, opts ? *opts : defaults, err);
  });
  if (rc != ONIONMX_OK) copy_message(errbuf, errlen, err.empty() ? onionmx_strerror(rc) : err);
  return rc;
}

ONIONMX_EXPORT void onionmx_ctx_free(onionmx_ctx* ctx) {
  if (!ctx) return;
  try {
    std::unique_ptr<onionmx_ctx> owned(ctx);
    owned->engine.reset();  // completes pending lookups with ETEMP
  } catch (...) {
    // Destructors do not throw; user callbacks must not either.
  }
}

ONIONMX_EXPORT const char* onionmx_ctx_last_error(const onionmx_ctx* ctx) {
  if (!ctx) return "no context";
  return ctx->last_error.c_str();
}

ONIONMX_EXPORT int onionmx_lookup_submit(uint64_t* out, onionmx_ctx* ctx, const char* key,
                                         onionmx_lookup_cb cb, void* payload) {
  return onionmx_lookup_submit_len(out, ctx, key, key ? std::strlen(key) : 0, cb, payload);
}

ONIONMX_EXPORT int onionmx_lookup_submit_len(uint64_t* out, onionmx_ctx* ctx, const char* key,
                                             size_t key_len, onionmx_lookup_cb cb, void* payload) {
  if (out) *out = 0;
  if (!ctx) return ONIONMX_EINVAL;
  if (!key || !cb) {
    set_error(ctx, "key and callback must not be NULL");
    return ONIONMX_EINVAL;
  }
  return guard(ctx, [&]() -> int {
    const std::uint64_t id = ctx->next_id++;
    ctx->calls.emplace(id, Call{cb, payload});
    if (out) *out = id;
    ctx->engine->resolve(std::string_view(key, key_len), ctx->explain,
                         [ctx, id](onionmx::record::Answer a, const auto& style) {
                           auto it = ctx->calls.find(id);
                           if (it == ctx->calls.end()) return;  // cancelled
                           const Call call = it->second;
                           ctx->calls.erase(it);
                           call.cb(make_result(std::move(a), style), call.payload);
                         });
    return ONIONMX_OK;
  });
}

ONIONMX_EXPORT int onionmx_lookup_start(onionmx_ctx* ctx, const char* key, onionmx_lookup_cb cb,
                                        void* payload) {
  return onionmx_lookup_submit(nullptr, ctx, key, cb, payload);
}

ONIONMX_EXPORT int onionmx_lookup_cancel(onionmx_ctx* ctx, uint64_t id) {
  if (!ctx) return ONIONMX_EINVAL;
  return ctx->calls.erase(id) ? ONIONMX_OK : ONIONMX_ENOTFOUND;
}

ONIONMX_EXPORT int onionmx_lookup(onionmx_result** out, onionmx_ctx* ctx, const char* key) {
  return onionmx_lookup_len(out, ctx, key, key ? std::strlen(key) : 0);
}

ONIONMX_EXPORT int onionmx_lookup_len(onionmx_result** out, onionmx_ctx* ctx, const char* key,
                                      size_t key_len) {
  if (!out) return ONIONMX_EINVAL;
  *out = nullptr;
  if (!ctx) return ONIONMX_EINVAL;
  if (!key) {
    set_error(ctx, "key must not be NULL");
    return ONIONMX_EINVAL;
  }
  if (refuse_borrowed(ctx)) return ONIONMX_EINVAL;
  return guard(ctx, [&]() -> int {
    bool done = false;
    onionmx_result* got = nullptr;
    ctx->engine->resolve(std::string_view(key, key_len), ctx->explain,
                         [&](onionmx::record::Answer a, const auto& style) {
                           got = make_result(std::move(a), style);
                           done = true;
                         });
    ctx->loop->run_until([&] { return done; });
    if (!done) {
      set_error(ctx, "lookup did not complete");
      return ONIONMX_EINTERNAL;
    }
    if (!got) {
      set_error(ctx, "out of memory");
      return ONIONMX_ENOMEM;
    }
    *out = got;
    return ONIONMX_OK;
  });
}

ONIONMX_EXPORT int onionmx_ctx_run(onionmx_ctx* ctx) {
  if (!ctx) return ONIONMX_EINVAL;
  if (refuse_borrowed(ctx)) return ONIONMX_EINVAL;
  return guard(ctx, [&]() -> int {
    ctx->loop->run_until([&] { return ctx->engine->pending() == 0; });
    return ctx->engine->pending() == 0 ? ONIONMX_OK : ONIONMX_EINTERNAL;
  });
}

ONIONMX_EXPORT int onionmx_ctx_run_once(onionmx_ctx* ctx) {
  if (!ctx) return ONIONMX_EINVAL;
  if (refuse_borrowed(ctx)) return ONIONMX_EINVAL;
  return guard(ctx, [&]() -> int {
    if (ctx->engine->pending() == 0) return ONIONMX_ENOTFOUND;
    return ctx->loop->run_once() ? ONIONMX_OK : ONIONMX_ENOTFOUND;
  });
}

ONIONMX_EXPORT int onionmx_ctx_process(onionmx_ctx* ctx) {
  if (!ctx) return ONIONMX_EINVAL;
  if (refuse_borrowed(ctx)) return ONIONMX_EINVAL;
  return guard(ctx, [&]() -> int {
    ctx->loop->process();
    return ONIONMX_OK;
  });
}

ONIONMX_EXPORT int onionmx_ctx_timeout(const onionmx_ctx* ctx) {
  if (!ctx) return -1;
  try {
    auto t = ctx->loop->next_timeout();
    if (!t) return -1;
    return static_cast<int>(std::min<std::int64_t>(t->count(), INT32_MAX));
  } catch (...) {
    return 0;  // process now rather than never
  }
}

ONIONMX_EXPORT size_t onionmx_ctx_pending(const onionmx_ctx* ctx) {
  return ctx ? ctx->engine->pending() : 0;
}

ONIONMX_EXPORT int onionmx_ctx_reload(onionmx_ctx* ctx) {
  if (!ctx) return ONIONMX_EINVAL;
  return guard(ctx, [&]() -> int {
    auto r = ctx->engine->reload();
    return r ? ONIONMX_OK : fail(ctx, r.error());
  });
}

ONIONMX_EXPORT uint64_t onionmx_ctx_generation(const onionmx_ctx* ctx) {
  return ctx ? ctx->engine->generation() : 0;
}

ONIONMX_EXPORT void onionmx_result_free(onionmx_result* result) { delete result; }

ONIONMX_EXPORT int onionmx_result_status(const onionmx_result* r) {
  return r ? code(r->answer.status) : ONIONMX_EINVAL;
}

ONIONMX_EXPORT int onionmx_result_outcome(const onionmx_result* r) {
  if (!r) return ONIONMX_TEMP;
  switch (onionmx::base::outcome_of(r->answer.status)) {
    case onionmx::base::Outcome::Found:
      return ONIONMX_FOUND;
    case onionmx::base::Outcome::NotFound:
      return ONIONMX_NOTFOUND;
    case onionmx::base::Outcome::Temp:
      return ONIONMX_TEMP;
    case onionmx::base::Outcome::Perm:
      return ONIONMX_PERM;
  }
  return ONIONMX_TEMP;
}

ONIONMX_EXPORT const char* onionmx_result_key(const onionmx_result* r) {
  return r ? r->answer.key.c_str() : "";
}
ONIONMX_EXPORT const char* onionmx_result_domain(const onionmx_result* r) {
  return r ? r->answer.domain.c_str() : "";
}
ONIONMX_EXPORT const char* onionmx_result_source(const onionmx_result* r) {
  return r ? r->answer.source.data() : "none";
}
ONIONMX_EXPORT const char* onionmx_result_reason(const onionmx_result* r) {
  if (!r) return "no result";
  return r->answer.reason.empty() ? onionmx_strerror(code(r->answer.status))
                                  : r->answer.reason.c_str();
}
ONIONMX_EXPORT uint32_t onionmx_result_ttl(const onionmx_result* r) {
  return r ? r->answer.ttl : 0;
}
ONIONMX_EXPORT int onionmx_result_authenticated(const onionmx_result* r) {
  return r && r->answer.authenticated ? 1 : 0;
}
ONIONMX_EXPORT size_t onionmx_result_route_count(const onionmx_result* r) {
  return r ? r->answer.routes.size() : 0;
}
ONIONMX_EXPORT const char* onionmx_result_route_onion(const onionmx_result* r, size_t i) {
  return r && i < r->answer.routes.size() ? r->answer.routes[i].onion.c_str() : nullptr;
}
ONIONMX_EXPORT unsigned onionmx_result_route_port(const onionmx_result* r, size_t i) {
  return r && i < r->answer.routes.size() ? r->answer.routes[i].port : 0;
}
ONIONMX_EXPORT unsigned onionmx_result_route_priority(const onionmx_result* r, size_t i) {
  return r && i < r->answer.routes.size() ? r->answer.routes[i].priority : 0;
}
ONIONMX_EXPORT unsigned onionmx_result_route_weight(const onionmx_result* r, size_t i) {
  return r && i < r->answer.routes.size() ? r->answer.routes[i].weight : 0;
}
ONIONMX_EXPORT size_t onionmx_result_explain_count(const onionmx_result* r) {
  return r ? r->answer.explain.size() : 0;
}
ONIONMX_EXPORT const char* onionmx_result_explain(const onionmx_result* r, size_t i) {
  return r && i < r->answer.explain.size() ? r->answer.explain[i].c_str() : nullptr;
}

ONIONMX_EXPORT const char* onionmx_result_format(onionmx_result* r, int format) {
  if (!r || format < ONIONMX_FORMAT_TEXT || format > ONIONMX_FORMAT_OPENSMTPD) return nullptr;
  try {
    auto i = static_cast<std::size_t>(format);
    if (!r->have[i]) {
      const auto& a = r->answer;
      switch (format) {
        case ONIONMX_FORMAT_TEXT:
          r->formatted[i] = onionmx::proto::format_text(a, *r->style);
          break;
        case ONIONMX_FORMAT_JSON:
          r->formatted[i] = onionmx::proto::format_json(a);
          break;
        case ONIONMX_FORMAT_POSTFIX:
          r->formatted[i] = onionmx::proto::format_postfix(a, *r->style);
          break;
        default:
          r->formatted[i] = onionmx::proto::format_opensmtpd(a, *r->style);
          break;
      }
      r->have[i] = true;
    }
    return r->formatted[i].c_str();
  } catch (...) {
    return nullptr;
  }
}

ONIONMX_EXPORT int onionmx_result_stale(const onionmx_result* r) {
  return r && r->answer.stale ? 1 : 0;
}
ONIONMX_EXPORT uint32_t onionmx_result_age(const onionmx_result* r) {
  return r ? r->answer.age : 0;
}

ONIONMX_EXPORT int onionmx_cache_save(onionmx_ctx* ctx) {
  if (!ctx) return ONIONMX_EINVAL;
  return guard(ctx, [&]() -> int {
    auto r = ctx->engine->save_cache();
    return r ? ONIONMX_OK : fail(ctx, r.error());
  });
}

ONIONMX_EXPORT int onionmx_cache_purge(onionmx_ctx* ctx, const char* domain) {
  if (!ctx || !domain) return ONIONMX_EINVAL;
  return guard(ctx, [&]() -> int {
    onionmx::cache::Cache* c = ctx->engine->cache();
    if (!c) {
      set_error(ctx, "the cache is turned off");
      return ONIONMX_EINVAL;
    }
    const auto key = onionmx::address::parse_mail_key(domain);
    if (key.kind != onionmx::address::KeyKind::Domain) {
      set_error(ctx, ("not a domain: " + key.reason).c_str());
      return ONIONMX_EINVAL;
    }
    // The domain's pin goes too (docs/route-trust.md): a purge forgets the domain.
    const bool entry = c->erase(key.domain);
    const bool pin = c->erase_pin(key.domain);
    return entry || pin ? ONIONMX_OK : ONIONMX_ENOTFOUND;
  });
}

ONIONMX_EXPORT size_t onionmx_cache_count(const onionmx_ctx* ctx) {
  if (!ctx) return 0;
  const onionmx::cache::Cache* c = ctx->engine->cache();
  return c ? c->size() : 0;
}

ONIONMX_EXPORT int onionmx_cache_dump(onionmx_ctx* ctx, onionmx_cache_entry_fn fn, void* payload) {
  if (!ctx || !fn) return ONIONMX_EINVAL;
  return guard(ctx, [&]() -> int {
    const onionmx::cache::Cache* c = ctx->engine->cache();
    if (!c) return ONIONMX_OK;
    const auto now = onionmx::base::SystemClock::instance().monotonic();
    c->for_each([&](const onionmx::cache::Entry& e) {
      const std::string line = onionmx::cache::entry_dump_json(*c, e, now);
      fn(line.c_str(), payload);
    });
    // Then the live pins, in domain order, marked "pin": true.
    const auto now_wall = std::chrono::duration_cast<std::chrono::seconds>(
                              onionmx::base::SystemClock::instance().wall().time_since_epoch())
                              .count();
    c->for_each_pin([&](const onionmx::record::Pin& p) {
      if (p.expires <= now_wall) return;
      const std::string line = onionmx::cache::pin_dump_json(p, now_wall);
      fn(line.c_str(), payload);
    });
    return ONIONMX_OK;
  });
}

ONIONMX_EXPORT int onionmx_stats(onionmx_ctx* ctx, onionmx_stat_fn fn, void* payload) {
  if (!ctx || !fn) return ONIONMX_EINVAL;
  return guard(ctx, [&]() -> int {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         onionmx::base::SystemClock::instance().wall().time_since_epoch())
                         .count();
    for (const auto& st : onionmx::engine::collect_stats(*ctx->engine, now))
      if (int rc = fn(st.name, st.help, static_cast<int>(st.kind), st.value, payload); rc != 0)
        return rc;
    return ONIONMX_OK;
  });
}

ONIONMX_EXPORT int onionmx_onion_validate(const char* name, char* reason, size_t reasonlen) {
  if (!name) return ONIONMX_EINVAL;
  return guard(nullptr, [&]() -> int {
    auto parsed = onionmx::address::parse_onion(name);
    if (parsed) return ONIONMX_OK;
    copy_message(reason, reasonlen, parsed.error().detail);
    return ONIONMX_EBADDATA;
  });
}

ONIONMX_EXPORT int onionmx_onion_encode(char* out, size_t outlen, const unsigned char* pubkey) {
  if (!out || !pubkey || outlen < ONIONMX_ONION_ADDRESS_SIZE) return ONIONMX_EINVAL;
  return guard(nullptr, [&]() -> int {
    std::span<const std::uint8_t, 32> pk(pubkey, 32);
    std::string addr = onionmx::address::encode_onion(pk);
    // Refuse keys that parse_onion would refuse, so the output is always valid.
    if (!onionmx::address::parse_onion(addr)) return ONIONMX_EBADDATA;
    copy_message(out, outlen, addr);
    return ONIONMX_OK;
  });
}

}  // extern "C"
