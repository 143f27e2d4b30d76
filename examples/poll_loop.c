/* poll_loop.c - drive libonionmx from a program's own poll(2) loop.
 *
 *   cc poll_loop.c $(pkg-config --cflags --libs onionmx) -o poll_loop
 *   ./poll_loop [-s IP:PORT] user@example.org example.net ...
 *
 * The pattern of c-ares's socket-state callback and libunbound's ub_fd():
 * the library announces the descriptors it needs watched (watch callback),
 * the program polls them along with its own, and calls
 * onionmx_ctx_process() when one is ready or when onionmx_ctx_timeout()
 * has passed.  Nothing here blocks inside the library.  Prints one
 * "key<TAB>Postfix answer" line per key, in completion order; exits 0
 * when every key was answered. */
#include <onionmx/onionmx.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#define MAX_FDS 64

struct watched {
  struct pollfd fds[MAX_FDS];
  nfds_t n;
};

/* Keeps the pollfd array equal to what the library asked for. */
static void on_watch(int fd, int events, void *payload) {
  struct watched *w = payload;
  nfds_t i;
  for (i = 0; i < w->n; i++)
    if (w->fds[i].fd == fd) break;
  if (events == 0) {
    if (i < w->n) w->fds[i] = w->fds[--w->n];
    return;
  }
  if (i == w->n) {
    if (w->n == MAX_FDS) return; /* c-ares uses one UDP socket per server */
    w->n++;
  }
  w->fds[i].fd = fd;
  w->fds[i].events = (short)(((events & ONIONMX_WATCH_READ) ? POLLIN : 0) |
                             ((events & ONIONMX_WATCH_WRITE) ? POLLOUT : 0));
  w->fds[i].revents = 0;
}

static void on_answer(onionmx_result *res, void *payload) {
  int *left = payload;
  const char *answer = onionmx_result_format(res, ONIONMX_FORMAT_POSTFIX);
  printf("%s\t%s\n", onionmx_result_key(res), answer ? answer : "TEMP out of memory");
  onionmx_result_free(res);
  (*left)--;
}

int main(int argc, char **argv) {
  onionmx_options opts = ONIONMX_OPTIONS_INIT;
  struct watched w;
  onionmx_ctx *ctx = NULL;
  char err[256];
  int first = 1, left = 0, i, rc;

  memset(&w, 0, sizeof w);
  if (argc > 2 && strcmp(argv[1], "-s") == 0) {
    opts.servers = argv[2];
    first = 3;
  }
  opts.timeout_ms = 3000;
  opts.watch = on_watch;
  opts.watch_payload = &w;
  rc = onionmx_ctx_new(&ctx, &opts, err, sizeof err);
  if (rc != ONIONMX_OK) {
    fprintf(stderr, "onionmx_ctx_new: %s: %s\n", onionmx_strerror(rc), err);
    return 2;
  }
  for (i = first; i < argc; i++) {
    left++;
    rc = onionmx_lookup_submit(NULL, ctx, argv[i], on_answer, &left);
    if (rc != ONIONMX_OK) {
      fprintf(stderr, "%s: %s\n", argv[i], onionmx_ctx_last_error(ctx));
      left--;
    }
  }
  while (left > 0) {
    /* The program's own descriptors would be polled here too. */
    if (poll(w.fds, w.n, onionmx_ctx_timeout(ctx)) < 0) {
      perror("poll");
      break;
    }
    onionmx_ctx_process(ctx);
  }
  onionmx_ctx_free(ctx);
  return left == 0 ? 0 : 1;
}
