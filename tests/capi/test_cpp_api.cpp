// test_cpp_api.cpp - the header-only C++ API (onionmx.hpp) over the shared
// library: submit/cancel own their callbacks (a cancelled one is freed and
// never runs), a moved Context keeps its pending calls, the watch option
// reaches the caller, reload() keeps the old configuration on error.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <onionmx/onionmx.hpp>
#include <string>
#include <vector>

namespace {

const std::string kA1 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion";

// A UDP port that never answers: lookups stay pending until their timeout.
struct Silent {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  std::string address;
  Silent() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    address = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  }
  ~Silent() { ::close(fd); }
};

TEST(CppApi, CancelFreesTheCallbackAndItNeverRuns) {
  Silent dns;
  onionmx::Context ctx({.servers = dns.address, .timeout_ms = 300});
  auto alive = std::make_shared<int>(0);
  std::weak_ptr<int> watch = alive;
  int ran = 0;
  std::uint64_t id = 0;
  ASSERT_EQ(
      ctx.submit("a@one.example", [alive, &ran](onionmx::Lookup) { ++ran; }, &id), ONIONMX_OK);
  alive.reset();
  EXPECT_NE(id, 0u);
  EXPECT_FALSE(watch.expired()) << "the pending call holds its function";
  EXPECT_TRUE(ctx.cancel(id));
  EXPECT_TRUE(watch.expired()) << "cancel frees the function at once";
  EXPECT_FALSE(ctx.cancel(id));
  EXPECT_EQ(ctx.run(), ONIONMX_OK);
  EXPECT_EQ(ran, 0);
}

TEST(CppApi, ImmediateAnswersHaveNoIdAndAMovedContextKeepsItsCalls) {
  Silent dns;
  onionmx::Context first({.servers = dns.address, .timeout_ms = 300});
  std::uint64_t id = 7;
  onionmx::Lookup got;
  ASSERT_EQ(
      first.submit("u@" + kA1, [&](onionmx::Lookup r) { got = std::move(r); }, &id), ONIONMX_OK);
  EXPECT_EQ(id, 0u) << "answered inside submit: nothing to cancel";
  EXPECT_EQ(got.outcome, onionmx::Outcome::Found);
  int temp = 0;
  ASSERT_EQ(
      first.lookup_async("b@two.example",
                         [&](onionmx::Lookup r) { temp += r.outcome == onionmx::Outcome::Temp; }),
      ONIONMX_OK);
  onionmx::Context moved(std::move(first));
  EXPECT_EQ(moved.pending(), 1u);
  EXPECT_EQ(moved.run(), ONIONMX_OK);
  EXPECT_EQ(temp, 1);
}

TEST(CppApi, StringKeysKeepTheirLengthSoANulByteIsRefusedNotCutShort) {
  Silent dns;  // "a", the part before the NUL, would wait for it: Temp
  onionmx::Context ctx({.servers = dns.address, .timeout_ms = 300});
  const std::string key("a\0b.example", 11);
  const std::string reason = "no routable domain in key: key contains a NUL byte";
  onionmx::Lookup r = ctx.lookup(key);
  EXPECT_EQ(r.outcome, onionmx::Outcome::NotFound) << r.reason;
  EXPECT_EQ(r.reason, reason);
  onionmx::Lookup got;
  ASSERT_EQ(ctx.lookup_async(key, [&](onionmx::Lookup l) { got = std::move(l); }), ONIONMX_OK);
  EXPECT_EQ(got.outcome, onionmx::Outcome::NotFound) << "answered at once: " << got.reason;
  EXPECT_EQ(got.reason, reason);
}

TEST(CppApi, WatchOptionAndReload) {
  Silent dns;
  int announced = 0;
  onionmx::Context ctx({.config_text = "[resolver]\norder = [\"onion-address\", \"dns\"]\n",
                        .servers = dns.address,
                        .timeout_ms = 300,
                        .watch = [&](int, int) { ++announced; }});
  ASSERT_EQ(ctx.lookup_async("x@example.org", [](onionmx::Lookup) {}), ONIONMX_OK);
  EXPECT_GE(announced, 1);
  EXPECT_GE(ctx.timeout_ms(), 0);
  while (ctx.pending() > 0) ASSERT_EQ(ctx.run_once(), ONIONMX_OK);
  EXPECT_EQ(ctx.reload(), ONIONMX_OK);
  EXPECT_EQ(ctx.generation(), 2u);
}

TEST(CppApi, StatsComeAsAVectorInTheCOrder) {
  Silent dns;
  onionmx::Context ctx({.servers = dns.address, .timeout_ms = 300});
  const std::vector<onionmx::Stat> stats = ctx.stats();
  ASSERT_FALSE(stats.empty());
  std::vector<std::string> c_order;
  ASSERT_EQ(onionmx_stats(
                ctx.native(),
                [](const char* name, const char*, int, double, void* p) -> int {
                  static_cast<std::vector<std::string>*>(p)->emplace_back(name);
                  return 0;
                },
                &c_order),
            ONIONMX_OK);
  ASSERT_EQ(stats.size(), c_order.size());
  for (std::size_t i = 0; i < stats.size(); ++i) {
    EXPECT_EQ(stats[i].name, c_order[i]);
    EXPECT_FALSE(stats[i].help.empty()) << stats[i].name;
    if (stats[i].name == "onionmx_config_generation") {
      EXPECT_EQ(stats[i].kind, onionmx::StatKind::Gauge);
      EXPECT_EQ(stats[i].value, 1.0);
    }
    if (stats[i].name == "onionmx_dns_queries_total") {
      EXPECT_EQ(stats[i].kind, onionmx::StatKind::Counter);
    }
  }
}

}  // namespace
