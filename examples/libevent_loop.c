/* libevent_loop.c - run libonionmx on a program's own libevent event_base.
 *
 *   cc libevent_loop.c $(pkg-config --cflags --libs onionmx libevent_core) -o libevent_loop
 *   ./libevent_loop [-s IP:PORT] user@example.org example.net ...
 *
 * As libunbound's ub_ctx_create_event(): the context registers its sockets
 * and timers on the caller's event_base, and its callbacks run from the
 * caller's event_base_dispatch() like any other event (OpenSMTPD and
 * onionmxd work this way).  Blocking calls (onionmx_lookup, onionmx_ctx_run)
 * are refused on such a context.  Prints one "key<TAB>Postfix answer" line
 * per key; exits 0 when every key was answered. */
#include <event2/event.h>
#include <onionmx/onionmx.h>
#include <stdio.h>
#include <string.h>

struct state {
  struct event_base *base;
  int left;
};

static void on_answer(onionmx_result *res, void *payload) {
  struct state *st = payload;
  const char *answer = onionmx_result_format(res, ONIONMX_FORMAT_POSTFIX);
  printf("%s\t%s\n", onionmx_result_key(res), answer ? answer : "TEMP out of memory");
  onionmx_result_free(res);
  if (--st->left == 0) event_base_loopexit(st->base, NULL);
}

int main(int argc, char **argv) {
  onionmx_options opts = ONIONMX_OPTIONS_INIT;
  struct state st;
  onionmx_ctx *ctx = NULL;
  char err[256];
  int first = 1, i, rc;

  st.base = event_base_new();
  st.left = 0;
  if (!st.base) return 2;
  if (argc > 2 && strcmp(argv[1], "-s") == 0) {
    opts.servers = argv[2];
    first = 3;
  }
  opts.timeout_ms = 3000;
  opts.event_base = st.base;
  rc = onionmx_ctx_new(&ctx, &opts, err, sizeof err);
  if (rc != ONIONMX_OK) {
    fprintf(stderr, "onionmx_ctx_new: %s: %s\n", onionmx_strerror(rc), err);
    event_base_free(st.base);
    return 2;
  }
  /* Counted up front: answers that need no network come at once, inside
   * onionmx_lookup_submit(). */
  st.left = argc - first;
  for (i = first; i < argc; i++) {
    rc = onionmx_lookup_submit(NULL, ctx, argv[i], on_answer, &st);
    if (rc != ONIONMX_OK) {
      fprintf(stderr, "%s: %s\n", argv[i], onionmx_ctx_last_error(ctx));
      st.left--;
    }
  }
  if (st.left > 0) event_base_dispatch(st.base);
  onionmx_ctx_free(ctx); /* before the base its events live on */
  event_base_free(st.base);
  return st.left == 0 ? 0 : 1;
}
