/* lookup.c - the smallest useful program over libonionmx's C ABI.
 *
 *   cc lookup.c $(pkg-config --cflags --libs onionmx) -o lookup
 *   ./lookup user@example.org [more keys...]
 *
 * Prints the Postfix answer for each key and exits 0 when every lookup
 * produced an answer.  Without a configuration file (NULL config_path) the
 * built-in defaults apply: local domains none, DNS from /etc/resolv.conf. */
#include <onionmx/onionmx.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  onionmx_options opts = ONIONMX_OPTIONS_INIT;
  onionmx_ctx *ctx = NULL;
  char err[256];
  int i, rc;

  if (strcmp(onionmx_version(), ONIONMX_VERSION_STRING) != 0) {
    fprintf(stderr, "header %s, library %s\n", ONIONMX_VERSION_STRING, onionmx_version());
    return 2;
  }
  opts.timeout_ms = 2000;
  rc = onionmx_ctx_new(&ctx, &opts, err, sizeof err);
  if (rc != ONIONMX_OK) {
    fprintf(stderr, "onionmx_ctx_new: %s: %s\n", onionmx_strerror(rc), err);
    return 2;
  }
  for (i = 1; i < argc; i++) {
    onionmx_result *res = NULL;
    rc = onionmx_lookup(&res, ctx, argv[i]);
    if (rc != ONIONMX_OK) {
      fprintf(stderr, "%s: %s: %s\n", argv[i], onionmx_strerror(rc), onionmx_ctx_last_error(ctx));
      onionmx_ctx_free(ctx);
      return 2;
    }
    {
      const char *answer = onionmx_result_format(res, ONIONMX_FORMAT_POSTFIX);
      printf("%s\t%s\n", onionmx_result_key(res), answer ? answer : "TEMP out of memory");
    }
    onionmx_result_free(res);
  }
  onionmx_ctx_free(ctx);
  return 0;
}
