/*
 * onionmx.h - the C ABI of libonionmx (C99).
 *
 * Answers one question for a mail server: "is there a Tor onion service
 * that receives mail for this recipient's domain, and which?"  Sources, in
 * a configurable order: local domains (never routed over Tor), recipients
 * that are themselves onion addresses (user@<56>.onion, never sent to DNS),
 * and the `_onion-mx._tcp.<domain>` SRV record.
 *
 * Conventions (stable; see docs/c-api.md):
 *  - Functions return int: ONIONMX_OK (0) or a negative enum onionmx_status.
 *    Codes are never renumbered; new ones are appended.
 *  - Output parameters come first and are named `out`.
 *  - Handles are opaque; every _new has a _free that accepts NULL.
 *  - Strings returned by getters are borrowed: they live as long as the
 *    handle they came from.  Never free() library memory.
 *  - One onionmx_ctx is used by one thread at a time.  Distinct contexts
 *    may be used from distinct threads.
 *  - No function lets a C++ exception escape; the library never writes to
 *    stderr or syslog itself (install a log callback).
 *  - A lookup error is never reported as "not found": not found means "use
 *    normal routing", which sends the mail over the clearnet.
 *
 * since 0.1
 */
#ifndef ONIONMX_H
#define ONIONMX_H

#include <onionmx/version.h>
#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define ONIONMX_EXPORT
#elif defined(__GNUC__)
#define ONIONMX_EXPORT __attribute__((visibility("default")))
#else
#define ONIONMX_EXPORT
#endif

#if defined(__GNUC__)
#define ONIONMX_NODISCARD __attribute__((warn_unused_result))
#else
#define ONIONMX_NODISCARD
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Status codes.  Never renumbered; new codes are appended. */
enum onionmx_status {
  ONIONMX_OK = 0,         /**< success / an onion route was found */
  ONIONMX_ENOTFOUND = -1, /**< no onion route: the MTA routes normally */
  ONIONMX_ETEMP = -2,     /**< temporary failure (DNS timeout, SERVFAIL, ...): defer */
  ONIONMX_EINVAL = -3,    /**< invalid argument (API misuse) */
  ONIONMX_EBADDATA = -4,  /**< malformed data: invalid onion name, bad record */
  ONIONMX_EBADSIG = -5,   /**< signature verification failed */
  ONIONMX_EIO = -6,       /**< input/output error (file, socket) */
  ONIONMX_ENOMEM = -7,    /**< out of memory */
  ONIONMX_EINTERNAL = -8  /**< internal error (a bug was caught) */
};

/** The MTA-facing verdict of a lookup (docs/status-model.md). */
enum onionmx_outcome {
  ONIONMX_FOUND = 0,    /**< route over Tor: Postfix `OK smtptor:[x.onion]:25` */
  ONIONMX_NOTFOUND = 1, /**< no onion route: Postfix `NOTFOUND ` */
  ONIONMX_TEMP = 2,     /**< temporary failure: Postfix `TEMP reason`, mail defers */
  ONIONMX_PERM = 3      /**< permanent failure: Postfix `PERM reason`, mail defers */
};

/** Answer formats for onionmx_result_format(). */
enum onionmx_format {
  ONIONMX_FORMAT_TEXT = 0,    /**< one human-readable line */
  ONIONMX_FORMAT_JSON = 1,    /**< one JSON object (docs/onionmx-lookup.md) */
  ONIONMX_FORMAT_POSTFIX = 2, /**< socketmap reply: `OK smtptor:[x.onion]:25`, `NOTFOUND `, ... */
  ONIONMX_FORMAT_OPENSMTPD =
      3 /**< relay URL `smtp+notls://x.onion:25`, or `not-found`/`error|...` */
};

/** DNSSEC policy; ONIONMX_DNSSEC_CONFIG keeps the configuration file's. */
enum onionmx_dnssec {
  ONIONMX_DNSSEC_CONFIG = -1,
  ONIONMX_DNSSEC_OFF = 0,
  ONIONMX_DNSSEC_PREFER = 1,
  ONIONMX_DNSSEC_REQUIRE = 2
};

enum onionmx_log_level {
  ONIONMX_LOG_DEBUG = 0,
  ONIONMX_LOG_INFO = 1,
  ONIONMX_LOG_WARNING = 2,
  ONIONMX_LOG_ERROR = 3
};

/** Range of onionmx_options.timeout_ms and of `dns.timeout` (since 0.2). */
#define ONIONMX_TIMEOUT_MIN_MS 100u
#define ONIONMX_TIMEOUT_MAX_MS 60000u

/** Option flags (onionmx_options.flags). */
#define ONIONMX_OPT_CONFIG_OPTIONAL 0x1u /**< a missing config_path is not an error */
#define ONIONMX_OPT_EXPLAIN 0x2u         /**< record the decision path in results */
/** Override [trust] policy = false: ignore policy records, keep no pins (since 0.5). */
#define ONIONMX_OPT_NO_POLICY 0x4u
/** Override [trust] downgrade_guard = false (since 0.5; docs/route-trust.md). */
#define ONIONMX_OPT_NO_DOWNGRADE_GUARD 0x8u

/**
 * Log callback.  Must not throw (C++) and must not call back into the
 * library with the same context.
 */
typedef void (*onionmx_log_fn)(int level, const char *message, void *payload);

/** Events of onionmx_watch_fn (since 0.2). */
#define ONIONMX_WATCH_READ 0x1
#define ONIONMX_WATCH_WRITE 0x2

/**
 * Descriptor callback (since 0.2): the context needs `fd` watched for
 * `events` (ONIONMX_WATCH_*) from now on; 0 means stop watching it.  When
 * the descriptor is ready, call onionmx_ctx_process().  Must not throw and
 * must not call back into the library.
 */
typedef void (*onionmx_watch_fn)(int fd, int events, void *payload);

/** libevent's event base (<event2/event.h>); only a pointer is used here. */
struct event_base;

#define ONIONMX_OPTIONS_VERSION 3

/**
 * Context options.  Initialise with ONIONMX_OPTIONS_INIT, then set fields;
 * unset overrides keep the configuration file's values.  since 0.1;
 * version 2 (since 0.2) appends watch, watch_payload, event_base, map_path,
 * trusted_keys and state_dir; version 3 (since 0.3) appends cache_file and
 * cache_size.
 */
typedef struct onionmx_options {
  unsigned version;        /**< ONIONMX_OPTIONS_VERSION */
  unsigned flags;          /**< ONIONMX_OPT_* */
  const char *config_path; /**< TOML file (onionmx.toml(5)); NULL: built-in defaults */
  const char *servers;     /**< override: "ip[:port],..." (IPv6 as [addr]:port); NULL: config */
  int tcp;                 /**< override: 1 TCP only, 0 UDP first, -1 config */
  int dnssec;              /**< override: enum onionmx_dnssec */
  unsigned timeout_ms;     /**< override: time budget of one lookup; 0: config */
  onionmx_log_fn log;      /**< NULL: messages are dropped */
  void *log_payload;
  const char *config_text; /**< TOML text used instead of config_path; NULL: none */
  /* version 2 */
  onionmx_watch_fn watch; /**< descriptors to watch, for the caller's own loop; NULL: none */
  void *watch_payload;
  struct event_base *event_base; /**< run on the caller's libevent base; NULL: a private one */
  const char *map_path; /**< override: signed static map (docs/map-format.md); NULL: config */
  const char *const
      *trusted_keys;     /**< override: NULL-terminated minisign public key files; NULL: config */
  const char *state_dir; /**< override: rollback state directory; NULL: config */
  /* version 3 */
  const char *cache_file; /**< override: persistent cache (docs/cache.md); "": memory only;
                             NULL: config.  Relative: inside state_dir */
  long cache_size;        /**< override: cache entries (<= 100000000), 0: off; -1: config */
} onionmx_options;

#define ONIONMX_OPTIONS_INIT \
  {ONIONMX_OPTIONS_VERSION,  \
   0u,                       \
   NULL,                     \
   NULL,                     \
   -1,                       \
   ONIONMX_DNSSEC_CONFIG,    \
   0u,                       \
   NULL,                     \
   NULL,                     \
   NULL,                     \
   NULL,                     \
   NULL,                     \
   NULL,                     \
   NULL,                     \
   NULL,                     \
   NULL,                     \
   NULL,                     \
   -1L}

typedef struct onionmx_ctx onionmx_ctx;
typedef struct onionmx_result onionmx_result;

/** Library version string, e.g. "0.1.0".  Compare with ONIONMX_VERSION_STRING. */
ONIONMX_EXPORT const char *onionmx_version(void);

/** Static description of a status code; never NULL. */
ONIONMX_EXPORT const char *onionmx_strerror(int status);

/** 1 when a status means "try again later" (the MTA defers), else 0. */
ONIONMX_EXPORT int onionmx_status_is_temporary(int status);

/**
 * Create a context: reads the configuration, sets up the DNS channel.
 * @param out   receives the context; caller owns, free with onionmx_ctx_free()
 * @param opts  options, or NULL for defaults (no configuration file)
 * @retval ONIONMX_OK, ONIONMX_EINVAL (bad option or configuration; details in
 *         *errbuf), ONIONMX_EIO (unreadable file), ONIONMX_ENOMEM
 * @param errbuf, errlen  optional buffer for a message when creation fails
 */
ONIONMX_EXPORT ONIONMX_NODISCARD int onionmx_ctx_new(onionmx_ctx **out, const onionmx_options *opts,
                                                     char *errbuf, size_t errlen);

/** Destroy a context.  Pending lookups complete with ONIONMX_ETEMP first. NULL is ignored. */
ONIONMX_EXPORT void onionmx_ctx_free(onionmx_ctx *ctx);

/** Detail of the last error on this context; valid until the next call on it. Never NULL. */
ONIONMX_EXPORT const char *onionmx_ctx_last_error(const onionmx_ctx *ctx);

/**
 * Look a key up and wait for the answer.
 * @param out  receives the result; caller owns, free with onionmx_result_free()
 * @param key  a recipient address ("User@Example.ORG") or a domain
 * @return ONIONMX_OK when a result was produced (whatever its outcome),
 *         ONIONMX_EINVAL, ONIONMX_ENOMEM, ONIONMX_EINTERNAL otherwise
 */
ONIONMX_EXPORT ONIONMX_NODISCARD int onionmx_lookup(onionmx_result **out, onionmx_ctx *ctx,
                                                    const char *key);

/**
 * Completion callback of onionmx_lookup_start().  The callee owns `result`
 * and frees it with onionmx_result_free().  Must not throw.
 */
typedef void (*onionmx_lookup_cb)(onionmx_result *result, void *payload);

/**
 * Start a lookup; many may be in flight.  The callback runs from
 * onionmx_ctx_run() (or at once, for answers that need no network).
 */
ONIONMX_EXPORT ONIONMX_NODISCARD int onionmx_lookup_start(onionmx_ctx *ctx, const char *key,
                                                          onionmx_lookup_cb cb, void *payload);

/** Run until every started lookup has completed. */
ONIONMX_EXPORT int onionmx_ctx_run(onionmx_ctx *ctx);

/* ---- since 0.2: event loops, cancellation, reload (docs/c-api.md) ---- */

/**
 * Start a lookup and learn its id, for onionmx_lookup_cancel().  Otherwise
 * as onionmx_lookup_start(): the callback runs exactly once, unless the
 * lookup is cancelled first.  since 0.2
 * @param out  receives the lookup's id (never 0); may be NULL
 */
ONIONMX_EXPORT ONIONMX_NODISCARD int onionmx_lookup_submit(uint64_t *out, onionmx_ctx *ctx,
                                                           const char *key, onionmx_lookup_cb cb,
                                                           void *payload);

/**
 * Cancel a lookup: its callback will not run; the caller keeps its payload.
 * The DNS query itself may still complete (its answer is dropped).  since 0.2
 * @retval ONIONMX_OK; ONIONMX_ENOTFOUND when the id is unknown or already
 *         answered; ONIONMX_EINVAL for a NULL ctx
 */
ONIONMX_EXPORT int onionmx_lookup_cancel(onionmx_ctx *ctx, uint64_t id);

/**
 * Wait for the next event and run what it makes due (a blocking step of
 * onionmx_ctx_run()).  since 0.2
 * @retval ONIONMX_OK; ONIONMX_ENOTFOUND when nothing is pending or
 *         registered; ONIONMX_EINVAL on a context with a caller's event_base
 */
ONIONMX_EXPORT int onionmx_ctx_run_once(onionmx_ctx *ctx);

/**
 * Run every callback that is due now, without waiting: call it when a
 * descriptor announced to the watch callback is ready, or when the time
 * onionmx_ctx_timeout() gave has passed.  since 0.2
 * @retval ONIONMX_OK; ONIONMX_EINVAL on a context with a caller's event_base
 *         (its event_base_dispatch() runs the callbacks)
 */
ONIONMX_EXPORT int onionmx_ctx_process(onionmx_ctx *ctx);

/**
 * Milliseconds until onionmx_ctx_process() must be called even if no
 * descriptor is ready; -1 when no timer is armed.  since 0.2
 */
ONIONMX_EXPORT int onionmx_ctx_timeout(const onionmx_ctx *ctx);

/** Lookups started and not yet answered (cancelled ones included until their query ends). since 0.2
 */
ONIONMX_EXPORT size_t onionmx_ctx_pending(const onionmx_ctx *ctx);

/**
 * Reload: read the configuration again (the same file or text, with the
 * same overrides) and rebuild the sources.  Atomic: on any error the
 * running configuration keeps answering and the error is returned (detail
 * in onionmx_ctx_last_error()).  Lookups already started finish on the
 * configuration that started them.  since 0.2
 * @retval ONIONMX_OK, ONIONMX_EINVAL, ONIONMX_EIO, ONIONMX_ENOMEM
 */
ONIONMX_EXPORT ONIONMX_NODISCARD int onionmx_ctx_reload(onionmx_ctx *ctx);

/** How many times the configuration was loaded: 1 after onionmx_ctx_new(), +1 per successful
 * reload. since 0.2 */
ONIONMX_EXPORT uint64_t onionmx_ctx_generation(const onionmx_ctx *ctx);

/** Free a result.  NULL is ignored. */
ONIONMX_EXPORT void onionmx_result_free(onionmx_result *result);

/** enum onionmx_status of the lookup: ONIONMX_OK when found. */
ONIONMX_EXPORT int onionmx_result_status(const onionmx_result *result);
/** enum onionmx_outcome. */
ONIONMX_EXPORT int onionmx_result_outcome(const onionmx_result *result);
/** The key as given. */
ONIONMX_EXPORT const char *onionmx_result_key(const onionmx_result *result);
/** The domain routed, lower case; "" when the key has none. */
ONIONMX_EXPORT const char *onionmx_result_domain(const onionmx_result *result);
/** The source that decided: "onion-address", "map", "cache", "dns", "local", "policy" or "none";
 * later versions may add sources ("cache" since 0.3). */
ONIONMX_EXPORT const char *onionmx_result_source(const onionmx_result *result);
/** Why: never NULL, never empty. */
ONIONMX_EXPORT const char *onionmx_result_reason(const onionmx_result *result);
/** Seconds the answer may be cached. */
ONIONMX_EXPORT uint32_t onionmx_result_ttl(const onionmx_result *result);
/** 1 when the route was authenticated by DNSSEC (AD bit), else 0. */
ONIONMX_EXPORT int onionmx_result_authenticated(const onionmx_result *result);
/** Number of routes, best first; 0 unless found. */
ONIONMX_EXPORT size_t onionmx_result_route_count(const onionmx_result *result);
/** Onion name of route i ("[label.]*<56>.onion"), or NULL if out of range. */
ONIONMX_EXPORT const char *onionmx_result_route_onion(const onionmx_result *result, size_t i);
/** Port of route i, or 0 if out of range. */
ONIONMX_EXPORT unsigned onionmx_result_route_port(const onionmx_result *result, size_t i);
/** SRV priority of route i (0 for non-DNS routes or out of range). */
ONIONMX_EXPORT unsigned onionmx_result_route_priority(const onionmx_result *result, size_t i);
/** SRV weight of route i (0 for non-DNS routes or out of range). */
ONIONMX_EXPORT unsigned onionmx_result_route_weight(const onionmx_result *result, size_t i);
/** Number of decision-path lines (ONIONMX_OPT_EXPLAIN). */
ONIONMX_EXPORT size_t onionmx_result_explain_count(const onionmx_result *result);
/** Decision-path line i, or NULL if out of range. */
ONIONMX_EXPORT const char *onionmx_result_explain(const onionmx_result *result, size_t i);
/**
 * The answer in one of the enum onionmx_format forms, without a newline;
 * borrowed, valid until the result is freed.  NULL for an unknown format.
 */
ONIONMX_EXPORT const char *onionmx_result_format(onionmx_result *result, int format);

/* ---- since 0.3: the cache (docs/cache.md) ---- */

/** 1 when the routes were served from the cache past their TTL because DNS
 * failed (RFC 8767 serve-stale), else 0.  since 0.3 */
ONIONMX_EXPORT int onionmx_result_stale(const onionmx_result *result);
/** Seconds since the routes were fetched from DNS (cache answers), else 0. since 0.3 */
ONIONMX_EXPORT uint32_t onionmx_result_age(const onionmx_result *result);

/**
 * Save the cache to its file now (it is also saved periodically and by
 * onionmx_ctx_free()).  Atomic: a crash leaves the previous file.  since 0.3
 * @retval ONIONMX_OK; ONIONMX_EINVAL without a cache file; ONIONMX_EIO
 */
ONIONMX_EXPORT ONIONMX_NODISCARD int onionmx_cache_save(onionmx_ctx *ctx);

/**
 * Drop the cached answer for a domain (any case, one trailing dot), so
 * the next lookup asks DNS, and the domain's pin (docs/route-trust.md).  since 0.3
 * @retval ONIONMX_OK; ONIONMX_ENOTFOUND when nothing was cached for it;
 *         ONIONMX_EINVAL for a NULL argument, a malformed domain or no cache
 */
ONIONMX_EXPORT int onionmx_cache_purge(onionmx_ctx *ctx, const char *domain);

/** Number of cached entries (0 without a cache).  since 0.3 */
ONIONMX_EXPORT size_t onionmx_cache_count(const onionmx_ctx *ctx);

/**
 * Callback of onionmx_cache_dump(): one entry as a JSON object on one line
 * (docs/cache.md, "Dump").  Must not throw or call into the library.
 */
typedef void (*onionmx_cache_entry_fn)(const char *json, void *payload);

/**
 * Call `fn` for every cached entry, least recently used first, then for
 * every live pin (a JSON object with "pin": true).  since 0.3
 * @retval ONIONMX_OK; ONIONMX_EINVAL for NULL arguments
 */
ONIONMX_EXPORT int onionmx_cache_dump(onionmx_ctx *ctx, onionmx_cache_entry_fn fn, void *payload);

/** Longest onion address plus NUL: 56 + ".onion" + NUL. */
#define ONIONMX_ONION_ADDRESS_SIZE 63

/**
 * Validate a v3 onion name ("[label.]*<56>.onion", one trailing dot and
 * any case accepted).
 * @param reason, reasonlen  optional buffer for the reason of a rejection
 * @retval ONIONMX_OK valid; ONIONMX_EBADDATA invalid; ONIONMX_EINVAL NULL name
 */
ONIONMX_EXPORT ONIONMX_NODISCARD int onionmx_onion_validate(const char *name, char *reason,
                                                            size_t reasonlen);

/**
 * Encode the v3 onion address of an Ed25519 public key.
 * @param out     buffer of at least ONIONMX_ONION_ADDRESS_SIZE bytes
 * @param pubkey  32 bytes
 * @retval ONIONMX_OK; ONIONMX_EINVAL (NULL or short buffer);
 *         ONIONMX_EBADDATA (not a valid prime-order Ed25519 point)
 */
ONIONMX_EXPORT int onionmx_onion_encode(char *out, size_t outlen, const unsigned char *pubkey);

/* ---- since 0.3: keys with a length ---- */

/**
 * As onionmx_lookup(), with the key given as `key_len` bytes, so that a key
 * read from a file or socket is never cut at an embedded NUL byte: such a
 * key is never looked up, its result is not found (ONIONMX_ENOTFOUND) with
 * the reason "no routable domain in key: key contains a NUL byte"
 * (docs/onionmx-lookup.md).  since 0.3
 */
ONIONMX_EXPORT ONIONMX_NODISCARD int onionmx_lookup_len(onionmx_result **out, onionmx_ctx *ctx,
                                                        const char *key, size_t key_len);

/** As onionmx_lookup_submit(), with the key given as `key_len` bytes (see
 * onionmx_lookup_len()).  since 0.3 */
ONIONMX_EXPORT ONIONMX_NODISCARD int onionmx_lookup_submit_len(uint64_t *out, onionmx_ctx *ctx,
                                                               const char *key, size_t key_len,
                                                               onionmx_lookup_cb cb, void *payload);

/* ---- since 0.4: statistics (docs/c-api.md, "Statistics") ---- */

/** Kinds of statistic given to an onionmx_stat_fn. */
enum onionmx_stat_kind {
  ONIONMX_STAT_COUNTER = 0, /**< only grows (a reset starts again at 0) */
  ONIONMX_STAT_GAUGE = 1    /**< goes up and down */
};

/**
 * Callback of onionmx_stats(): one statistic.  `name` is stable (docs/c-api.md
 * lists every one) and already a valid Prometheus metric name; `help` is
 * one line of English.  Both are borrowed for the call only.  Return 0 to
 * go on, nonzero to stop.  Must not throw or call into the library.
 */
typedef int (*onionmx_stat_fn)(const char *name, const char *help, int kind, double value,
                               void *payload);

/**
 * Call `fn` for every statistic of the context (cache, DNS, map,
 * configuration), in a fixed order.  Cheap: reads counters, no I/O.
 * since 0.4
 * @retval ONIONMX_OK after the last one; the callback's nonzero value when
 *         it stopped the walk; ONIONMX_EINVAL for NULL arguments
 */
ONIONMX_EXPORT int onionmx_stats(onionmx_ctx *ctx, onionmx_stat_fn fn, void *payload);

#ifdef __cplusplus
}
#endif

#endif /* ONIONMX_H */
