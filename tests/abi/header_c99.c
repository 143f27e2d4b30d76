/* The public header compiles as strict C99 (-std=c99 -pedantic -Werror) and
 * its constants keep their published values: a renumbered status code or a
 * reordered options struct fails here. */
#include <onionmx/onionmx.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      return 1;                                                                \
    }                                                                          \
  } while (0)

int main(void) {
  onionmx_options o = ONIONMX_OPTIONS_INIT;
  char reason[128];
  char addr[ONIONMX_ONION_ADDRESS_SIZE];
  static const unsigned char v1[32] = {0x03, 0xa1, 0x07, 0xbf, 0xf3, 0xce, 0x10, 0xbe,
                                       0x1d, 0x70, 0xdd, 0x18, 0xe7, 0x4b, 0xc0, 0x99,
                                       0x67, 0xe4, 0xd6, 0x30, 0x9b, 0xa5, 0x0d, 0x5f,
                                       0x1d, 0xdc, 0x86, 0x64, 0x12, 0x55, 0x31, 0xb8};

  /* Stable ABI values (never renumbered). */
  CHECK(ONIONMX_OK == 0 && ONIONMX_ENOTFOUND == -1 && ONIONMX_ETEMP == -2 && ONIONMX_EINVAL == -3 &&
        ONIONMX_EBADDATA == -4 && ONIONMX_EBADSIG == -5 && ONIONMX_EIO == -6 &&
        ONIONMX_ENOMEM == -7 && ONIONMX_EINTERNAL == -8);
  CHECK(ONIONMX_FOUND == 0 && ONIONMX_NOTFOUND == 1 && ONIONMX_TEMP == 2 && ONIONMX_PERM == 3);
  CHECK(offsetof(onionmx_options, version) == 0);
  CHECK(o.version == ONIONMX_OPTIONS_VERSION && o.tcp == -1 && o.dnssec == ONIONMX_DNSSEC_CONFIG);
  CHECK(ONIONMX_ONION_ADDRESS_SIZE == 63);

  /* Header and library agree. */
  CHECK(strcmp(onionmx_version(), ONIONMX_VERSION_STRING) == 0);
  CHECK(onionmx_strerror(12345) != NULL && onionmx_strerror(ONIONMX_ETEMP) != NULL);
  CHECK(onionmx_status_is_temporary(ONIONMX_ETEMP) == 1);
  CHECK(onionmx_status_is_temporary(ONIONMX_ENOTFOUND) == 0);
  CHECK(onionmx_status_is_temporary(ONIONMX_EBADDATA) == 0);
  CHECK(onionmx_status_is_temporary(-99) == 1); /* unknown codes defer */

  CHECK(onionmx_onion_encode(addr, sizeof addr, v1) == ONIONMX_OK);
  CHECK(strcmp(addr, "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion") == 0);
  CHECK(onionmx_onion_encode(addr, 10, v1) == ONIONMX_EINVAL);
  CHECK(onionmx_onion_validate(addr, reason, sizeof reason) == ONIONMX_OK);
  CHECK(onionmx_onion_validate("expyuzz4wqqyqhjn.onion", reason, sizeof reason) ==
        ONIONMX_EBADDATA);
  CHECK(strstr(reason, "v2") != NULL);
  CHECK(onionmx_onion_validate(NULL, NULL, 0) == ONIONMX_EINVAL);
  puts("abi c99: ok");
  return 0;
}
