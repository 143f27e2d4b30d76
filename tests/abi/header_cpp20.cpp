// Both public headers compile as C++20 with -Wall -Wextra -pedantic -Werror,
// and the C++ API answers through the C ABI without any network.
#include <onionmx/onionmx.h>

#include <cstdio>
#include <onionmx/onionmx.hpp>
#include <string>

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      return 1;                                                                     \
    }                                                                               \
  } while (0)

int main() {
  CHECK(onionmx::onion_problem("aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion")
            .empty());
  CHECK(!onionmx::onion_problem("boqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion")
             .empty());

  // Only network-free sources: the answers are decided by the library alone.
  onionmx::Context ctx({.config_text = "[resolver]\norder = [\"local\", \"onion-address\"]\n"
                                       "local_domains = [\"example.org\"]\n",
                        .explain = true});
  auto found = ctx.lookup("User@AOQQPP7TZYIL4HLQ3UMOOS6ATFT6JVRQTOSQ2XY53SDGIESVGG4BQEAD.onion");
  CHECK(found.outcome == onionmx::Outcome::Found);
  CHECK(found.routes.size() == 1 && found.routes[0].port == 25);
  CHECK(found.formatted(onionmx::Format::Postfix) ==
        "OK smtptor:[aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion]:25");
  CHECK(found.source == "onion-address" && !found.explain.empty());

  auto local = ctx.lookup("postmaster@example.org");
  CHECK(local.outcome == onionmx::Outcome::NotFound && local.source == "local");
  CHECK(local.formatted(onionmx::Format::Postfix) == "NOTFOUND ");

  auto bad = ctx.lookup("x@expyuzz4wqqyqhjn.onion");
  CHECK(bad.outcome == onionmx::Outcome::Perm &&
        bad.formatted(onionmx::Format::Postfix).rfind("PERM ", 0) == 0);

  int completed = 0;
  for (const char* k : {"a@example.org", "*", "b@[192.0.2.1]"}) {
    CHECK(ctx.lookup_async(k, [&](onionmx::Lookup r) {
      if (r.outcome == onionmx::Outcome::NotFound) ++completed;
    }) == ONIONMX_OK);
  }
  CHECK(ctx.run() == ONIONMX_OK);
  CHECK(completed == 3);

  try {
    onionmx::Context broken({.config_text = "[dns]\ntries = 0\n"});
    return 1;  // must have thrown
  } catch (const onionmx::Error& e) {
    CHECK(e.status() == ONIONMX_EINVAL);
    CHECK(std::string(e.what()).find("dns.tries") != std::string::npos);
  }
  std::puts("abi c++20: ok");
  return 0;
}
