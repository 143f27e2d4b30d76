// test_capi.cpp - behaviour of the C ABI itself (onionmx.h), through the
// shared library and the public header only, as an MTA links it.
//
// Without a DNS server: NULL handling, borrowed getters, option overrides
// and their errors, answers that need no network, cancellation, ctx_free
// with lookups pending, reload (success, failure, lookups across it), and
// both event-loop styles (descriptor watch + onionmx_ctx_process, and a
// borrowed libevent event_base).  A "silent" UDP socket of the test's own
// stands in for a DNS server that never answers, so lookups stay pending
// for as long as a test needs.
//
// With ONIONMX_TEST_DNS=IP:PORT (a real Knot started by
// tests/integration/test_capi_knot.py, zone capi.test with h0..h999 each
// pointing at ONIONMX_TEST_ONION): 1000 concurrent lookups driven by each
// loop style, with no blocking call into the library.
#include <arpa/inet.h>
#include <event2/event.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <onionmx/onionmx.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace {

const std::string kA1 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion";
const std::string kBad = "boqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion";

// A UDP socket on 127.0.0.1 that reads nothing and answers nothing.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::abort();
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    address_ = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  }
  ~SilentServer() { ::close(fd_); }
  const std::string& address() const { return address_; }

 private:
  int fd_ = -1;
  std::string address_;
};

struct Collected {
  int calls = 0;
  int status = 1;
  int outcome = -1;
  std::string key, source, reason, postfix;
};

void collect(onionmx_result* r, void* payload) {
  auto* c = static_cast<Collected*>(payload);
  ++c->calls;
  if (!r) return;
  c->status = onionmx_result_status(r);
  c->outcome = onionmx_result_outcome(r);
  c->key = onionmx_result_key(r);
  c->source = onionmx_result_source(r);
  c->reason = onionmx_result_reason(r);
  const char* f = onionmx_result_format(r, ONIONMX_FORMAT_POSTFIX);
  c->postfix = f ? f : "";
  onionmx_result_free(r);
}

struct Ctx {
  onionmx_ctx* p = nullptr;
  std::string err;
  int rc = 1;
  explicit Ctx(const onionmx_options& o) {
    char buf[512] = "";
    rc = onionmx_ctx_new(&p, &o, buf, sizeof buf);
    err = buf;
  }
  ~Ctx() { onionmx_ctx_free(p); }
};

onionmx_options silent_options(const SilentServer& s) {
  onionmx_options o = ONIONMX_OPTIONS_INIT;
  static std::string servers;  // kept alive for the call
  servers = s.address();
  o.servers = servers.c_str();
  o.timeout_ms = 60000;
  return o;
}

// ------------------------------------------------------------- basics

TEST(CApi, NullArgumentsAreRefusedNotCrashed) {
  EXPECT_EQ(onionmx_ctx_new(nullptr, nullptr, nullptr, 0), ONIONMX_EINVAL);
  onionmx_result* r = reinterpret_cast<onionmx_result*>(0x1);
  EXPECT_EQ(onionmx_lookup(&r, nullptr, "x"), ONIONMX_EINVAL);
  EXPECT_EQ(r, nullptr) << "*out is cleared on failure";
  EXPECT_EQ(onionmx_lookup_submit(nullptr, nullptr, "x", collect, nullptr), ONIONMX_EINVAL);
  EXPECT_EQ(onionmx_lookup_cancel(nullptr, 1), ONIONMX_EINVAL);
  EXPECT_EQ(onionmx_ctx_run(nullptr), ONIONMX_EINVAL);
  EXPECT_EQ(onionmx_ctx_run_once(nullptr), ONIONMX_EINVAL);
  EXPECT_EQ(onionmx_ctx_process(nullptr), ONIONMX_EINVAL);
  EXPECT_EQ(onionmx_ctx_reload(nullptr), ONIONMX_EINVAL);
  EXPECT_EQ(onionmx_ctx_timeout(nullptr), -1);
  EXPECT_EQ(onionmx_ctx_pending(nullptr), 0u);
  EXPECT_EQ(onionmx_ctx_generation(nullptr), 0u);
  EXPECT_STREQ(onionmx_ctx_last_error(nullptr), "no context");
  onionmx_ctx_free(nullptr);
  onionmx_result_free(nullptr);
}

TEST(CApi, GettersOfANullResultHaveSafeValues) {
  EXPECT_EQ(onionmx_result_status(nullptr), ONIONMX_EINVAL);
  EXPECT_EQ(onionmx_result_outcome(nullptr), ONIONMX_TEMP) << "no result never means not found";
  EXPECT_STREQ(onionmx_result_key(nullptr), "");
  EXPECT_STREQ(onionmx_result_domain(nullptr), "");
  EXPECT_STREQ(onionmx_result_source(nullptr), "none");
  EXPECT_STREQ(onionmx_result_reason(nullptr), "no result");
  EXPECT_EQ(onionmx_result_route_count(nullptr), 0u);
  EXPECT_EQ(onionmx_result_route_onion(nullptr, 0), nullptr);
  EXPECT_EQ(onionmx_result_explain(nullptr, 0), nullptr);
  EXPECT_EQ(onionmx_result_format(nullptr, ONIONMX_FORMAT_JSON), nullptr);
}

TEST(CApi, BorrowedStringsLiveAsLongAsTheResult) {
  onionmx_options o = ONIONMX_OPTIONS_INIT;
  o.flags = ONIONMX_OPT_EXPLAIN;
  Ctx c(o);
  ASSERT_EQ(c.rc, ONIONMX_OK) << c.err;
  onionmx_result* r = nullptr;
  ASSERT_EQ(onionmx_lookup(&r, c.p, ("User@" + kA1).c_str()), ONIONMX_OK);
  const char* key = onionmx_result_key(r);
  const char* onion = onionmx_result_route_onion(r, 0);
  const char* json1 = onionmx_result_format(r, ONIONMX_FORMAT_JSON);
  const char* json2 = onionmx_result_format(r, ONIONMX_FORMAT_JSON);
  // Another lookup on the same context leaves this result untouched.
  onionmx_result* other = nullptr;
  ASSERT_EQ(onionmx_lookup(&other, c.p, "x@example.com.invalid."), ONIONMX_OK);
  onionmx_result_free(other);
  EXPECT_EQ(json1, json2) << "a format is rendered once and kept";
  EXPECT_EQ(std::string(key), "User@" + kA1);
  EXPECT_EQ(std::string(onion), kA1);
  EXPECT_EQ(onionmx_result_route_onion(r, 1), nullptr);
  EXPECT_EQ(onionmx_result_route_port(r, 1), 0u);
  EXPECT_GT(onionmx_result_explain_count(r), 0u);
  EXPECT_EQ(onionmx_result_format(r, 99), nullptr);
  onionmx_result_free(r);
}

// ----------------------------------------------------------- options

TEST(CApiOptions, BadOverridesAreEinvalWithAMessage) {
  struct Case {
    void (*set)(onionmx_options&);
    const char* word;
  };
  const Case cases[] = {
      {[](onionmx_options& o) { o.servers = "not-an-ip"; }, "not-an-ip"},
      {[](onionmx_options& o) { o.servers = "127.0.0.1,,127.0.0.2"; }, "invalid DNS server"},
      {[](onionmx_options& o) { o.timeout_ms = ONIONMX_TIMEOUT_MIN_MS - 1; }, "timeout"},
      {[](onionmx_options& o) { o.timeout_ms = ONIONMX_TIMEOUT_MAX_MS + 1; }, "timeout"},
      {[](onionmx_options& o) { o.tcp = 2; }, "tcp"},
      {[](onionmx_options& o) { o.dnssec = 7; }, "dnssec"},
      {[](onionmx_options& o) { o.version = 99; }, "version"},
      {[](onionmx_options& o) { o.version = 0; }, "version"},
      {[](onionmx_options& o) { o.config_text = "[dns]\ntimeout = \"soon\"\n"; }, "dns.timeout"},
      {[](onionmx_options& o) { o.config_text = "[nope]\n"; }, "unknown section"},
  };
  for (const auto& k : cases) {
    onionmx_options o = ONIONMX_OPTIONS_INIT;
    k.set(o);
    Ctx c(o);
    EXPECT_EQ(c.rc, ONIONMX_EINVAL) << k.word;
    EXPECT_EQ(c.p, nullptr);
    EXPECT_NE(c.err.find(k.word), std::string::npos) << c.err;
  }
}

TEST(CApiOptions, MissingConfigIsEioUnlessOptional) {
  onionmx_options o = ONIONMX_OPTIONS_INIT;
  o.config_path = "/nonexistent/onionmx.toml";
  {
    Ctx c(o);
    EXPECT_EQ(c.rc, ONIONMX_EIO) << c.err;
  }
  o.flags = ONIONMX_OPT_CONFIG_OPTIONAL;
  Ctx c(o);
  EXPECT_EQ(c.rc, ONIONMX_OK) << c.err;
}

TEST(CApiOptions, ConfigTextWinsOverThePathAndOverridesWinOverBoth) {
  onionmx_options o = ONIONMX_OPTIONS_INIT;
  o.config_path = "/nonexistent/onionmx.toml";  // never read: config_text is set
  o.config_text = "[resolver]\nlocal_domains = [\"example.org\"]\n[answer]\ntransport = \"tor\"\n";
  o.flags = ONIONMX_OPT_EXPLAIN;
  Ctx c(o);
  ASSERT_EQ(c.rc, ONIONMX_OK) << c.err;
  onionmx_result* r = nullptr;
  ASSERT_EQ(onionmx_lookup(&r, c.p, "a@example.org"), ONIONMX_OK);
  EXPECT_EQ(onionmx_result_outcome(r), ONIONMX_NOTFOUND);
  EXPECT_STREQ(onionmx_result_source(r), "local");
  onionmx_result_free(r);
  ASSERT_EQ(onionmx_lookup(&r, c.p, ("a@" + kA1).c_str()), ONIONMX_OK);
  EXPECT_EQ(std::string(onionmx_result_format(r, ONIONMX_FORMAT_POSTFIX)),
            "OK tor:[" + kA1 + "]:25");
  onionmx_result_free(r);
}

TEST(CApiOptions, VersionOneStructsStillWork) {
  // A program built against 0.1 headers passes a shorter struct with
  // version 1: the library must not read the fields it lacks.
  struct V1 {
    unsigned version, flags;
    const char *config_path, *servers;
    int tcp, dnssec;
    unsigned timeout_ms;
    onionmx_log_fn log;
    void* log_payload;
    const char* config_text;
  } v1 = {1, 0, nullptr, nullptr, -1, -1, 0, nullptr, nullptr, nullptr};
  auto* heap = static_cast<V1*>(std::malloc(sizeof(V1)));  // ASan sees reads past it
  *heap = v1;
  onionmx_ctx* ctx = nullptr;
  EXPECT_EQ(onionmx_ctx_new(&ctx, reinterpret_cast<onionmx_options*>(heap), nullptr, 0),
            ONIONMX_OK);
  onionmx_ctx_free(ctx);
  std::free(heap);
}

TEST(CApiOptions, VersionTwoStructsStillWork) {
  // Built against 0.2 headers: no cache_file/cache_size; the library must
  // not read them (ASan sees a read past the heap block).
  struct V2 {
    unsigned version, flags;
    const char *config_path, *servers;
    int tcp, dnssec;
    unsigned timeout_ms;
    onionmx_log_fn log;
    void* log_payload;
    const char* config_text;
    onionmx_watch_fn watch;
    void* watch_payload;
    struct event_base* event_base;
    const char* map_path;
    const char* const* trusted_keys;
    const char* state_dir;
  } v2 = {2,       0,       nullptr, nullptr, -1,      -1,      0,       nullptr,
          nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
  auto* heap = static_cast<V2*>(std::malloc(sizeof(V2)));
  *heap = v2;
  onionmx_ctx* ctx = nullptr;
  EXPECT_EQ(onionmx_ctx_new(&ctx, reinterpret_cast<onionmx_options*>(heap), nullptr, 0),
            ONIONMX_OK);
  onionmx_ctx_free(ctx);
  std::free(heap);
}

// ----------------------------------------- lookups, cancel, free, idle

TEST(CApiLookups, AnswersWithoutNetworkComeInsideSubmit) {
  onionmx_options o = ONIONMX_OPTIONS_INIT;
  Ctx c(o);
  ASSERT_EQ(c.rc, ONIONMX_OK);
  Collected got;
  std::uint64_t id = 99;
  ASSERT_EQ(onionmx_lookup_submit(&id, c.p, ("u@" + kBad).c_str(), collect, &got), ONIONMX_OK);
  EXPECT_EQ(got.calls, 1);
  EXPECT_EQ(got.outcome, ONIONMX_PERM);
  EXPECT_EQ(got.status, ONIONMX_EBADDATA);
  EXPECT_EQ(onionmx_lookup_cancel(c.p, id), ONIONMX_ENOTFOUND) << "already answered";
  EXPECT_EQ(onionmx_ctx_pending(c.p), 0u);
  EXPECT_EQ(onionmx_ctx_run_once(c.p), ONIONMX_ENOTFOUND) << "nothing to wait for";
  EXPECT_EQ(onionmx_ctx_run(c.p), ONIONMX_OK);
}

TEST(CApiLookups, SubmitRefusesNullKeyOrCallback) {
  onionmx_options o = ONIONMX_OPTIONS_INIT;
  Ctx c(o);
  std::uint64_t id = 5;
  EXPECT_EQ(onionmx_lookup_submit(&id, c.p, nullptr, collect, nullptr), ONIONMX_EINVAL);
  EXPECT_EQ(id, 0u);
  EXPECT_EQ(onionmx_lookup_submit(&id, c.p, "k", nullptr, nullptr), ONIONMX_EINVAL);
  EXPECT_NE(std::string(onionmx_ctx_last_error(c.p)).find("NULL"), std::string::npos);
}

// A key read from a file or socket can hold a NUL byte; with its length the
// whole key is judged, never the part before the NUL ("a", which would go to
// DNS: the answer would not come inside submit).
TEST(CApiLookups, AKeyWithANulByteIsRefusedWholeNeverCutShort) {
  onionmx_options o = ONIONMX_OPTIONS_INIT;
  Ctx c(o);
  ASSERT_EQ(c.rc, ONIONMX_OK) << c.err;
  const std::string key("a\0b.example", 11);
  const std::string reason = "no routable domain in key: key contains a NUL byte";
  Collected got;
  ASSERT_EQ(onionmx_lookup_submit_len(nullptr, c.p, key.data(), key.size(), collect, &got),
            ONIONMX_OK);
  EXPECT_EQ(got.calls, 1) << "answered inside submit: nothing was looked up";
  EXPECT_EQ(got.status, ONIONMX_ENOTFOUND);
  EXPECT_EQ(got.outcome, ONIONMX_NOTFOUND);
  EXPECT_EQ(got.reason, reason);
  onionmx_result* r = nullptr;
  ASSERT_EQ(onionmx_lookup_len(&r, c.p, key.data(), key.size()), ONIONMX_OK);
  EXPECT_EQ(onionmx_result_status(r), ONIONMX_ENOTFOUND);
  EXPECT_EQ(std::string(onionmx_result_reason(r)), reason);
  onionmx_result_free(r);
  EXPECT_EQ(onionmx_lookup_submit_len(nullptr, c.p, nullptr, 3, collect, &got), ONIONMX_EINVAL);
}

TEST(CApiLookups, CancelledLookupNeverCallsBackOthersDo) {
  SilentServer dns;
  Ctx c(silent_options(dns));
  ASSERT_EQ(c.rc, ONIONMX_OK) << c.err;
  Collected a, b;
  std::uint64_t ida = 0, idb = 0;
  ASSERT_EQ(onionmx_lookup_submit(&ida, c.p, "a@one.example", collect, &a), ONIONMX_OK);
  ASSERT_EQ(onionmx_lookup_submit(&idb, c.p, "b@two.example", collect, &b), ONIONMX_OK);
  EXPECT_NE(ida, 0u);
  EXPECT_NE(ida, idb);
  EXPECT_EQ(onionmx_ctx_pending(c.p), 2u);
  EXPECT_EQ(onionmx_lookup_cancel(c.p, ida), ONIONMX_OK);
  EXPECT_EQ(onionmx_lookup_cancel(c.p, ida), ONIONMX_ENOTFOUND) << "cancelled once";
  EXPECT_EQ(onionmx_lookup_cancel(c.p, 123456), ONIONMX_ENOTFOUND);
  onionmx_ctx_free(c.p);  // answers what is pending: b, not a
  c.p = nullptr;
  EXPECT_EQ(a.calls, 0);
  EXPECT_EQ(b.calls, 1);
  EXPECT_EQ(b.outcome, ONIONMX_TEMP) << "ctx_free answers pending lookups temp, never not found";
  EXPECT_EQ(b.status, ONIONMX_ETEMP);
}

TEST(CApiLookups, CancelMidFlightThenTheTimeoutPassesQuietly) {
  SilentServer dns;
  onionmx_options o = silent_options(dns);
  o.timeout_ms = 300;
  Ctx c(o);
  ASSERT_EQ(c.rc, ONIONMX_OK) << c.err;
  Collected a, b;
  std::uint64_t ida = 0;
  ASSERT_EQ(onionmx_lookup_submit(&ida, c.p, "a@one.example", collect, &a), ONIONMX_OK);
  ASSERT_EQ(onionmx_lookup_submit(nullptr, c.p, "b@two.example", collect, &b), ONIONMX_OK);
  ASSERT_EQ(onionmx_lookup_cancel(c.p, ida), ONIONMX_OK);
  EXPECT_EQ(onionmx_ctx_run(c.p), ONIONMX_OK);  // until the query times out
  EXPECT_EQ(a.calls, 0);
  EXPECT_EQ(b.calls, 1);
  EXPECT_EQ(b.outcome, ONIONMX_TEMP);
  EXPECT_NE(b.reason.find("timeout"), std::string::npos) << b.reason;
  EXPECT_EQ(onionmx_ctx_pending(c.p), 0u);
}

// ------------------------------------------------------------- reload

class CApiReload : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("onionmx-capi-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "onionmx.toml").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& text) { std::ofstream(path_) << text; }
  int outcome_of(onionmx_ctx* ctx, const std::string& key) {
    onionmx_result* r = nullptr;
    if (onionmx_lookup(&r, ctx, key.c_str()) != ONIONMX_OK) return -1;
    int o = onionmx_result_outcome(r);
    onionmx_result_free(r);
    return o;
  }
  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(CApiReload, SuccessSwapsTheConfigurationFailureKeepsTheOldOne) {
  write("[resolver]\norder = [\"local\", \"onion-address\"]\nlocal_domains = [\"" + kA1 + "\"]\n");
  onionmx_options o = ONIONMX_OPTIONS_INIT;
  o.config_path = path_.c_str();
  Ctx c(o);
  ASSERT_EQ(c.rc, ONIONMX_OK) << c.err;
  EXPECT_EQ(onionmx_ctx_generation(c.p), 1u);
  EXPECT_EQ(outcome_of(c.p, "u@" + kA1), ONIONMX_NOTFOUND) << "local domain";

  write("[resolver]\norder = [\"local\", \"onion-address\"]\n");
  ASSERT_EQ(onionmx_ctx_reload(c.p), ONIONMX_OK) << onionmx_ctx_last_error(c.p);
  EXPECT_EQ(onionmx_ctx_generation(c.p), 2u);
  EXPECT_EQ(outcome_of(c.p, "u@" + kA1), ONIONMX_FOUND) << "no longer local";

  for (const char* broken :
       {"[resolver]\norder = [\"ldap\"]\n", "[dns]\ntimeout = 0\n", "this is not TOML\n"}) {
    write(broken);
    EXPECT_EQ(onionmx_ctx_reload(c.p), ONIONMX_EINVAL) << broken;
    EXPECT_NE(std::string(onionmx_ctx_last_error(c.p)).find(path_), std::string::npos)
        << onionmx_ctx_last_error(c.p);
    EXPECT_EQ(onionmx_ctx_generation(c.p), 2u);
    EXPECT_EQ(outcome_of(c.p, "u@" + kA1), ONIONMX_FOUND) << "the old configuration answers";
  }
  std::filesystem::remove(path_);
  EXPECT_EQ(onionmx_ctx_reload(c.p), ONIONMX_EIO);
  EXPECT_EQ(outcome_of(c.p, "u@" + kA1), ONIONMX_FOUND);
}

TEST_F(CApiReload, LookupsStartedBeforeAReloadFinishOnTheirOwnConfiguration) {
  SilentServer dns;
  write("[dns]\nservers = [\"" + dns.address() +
        "\"]\ntimeout = 0.4\n[answer]\ntransport = \"old\"\n");
  onionmx_options o = ONIONMX_OPTIONS_INIT;
  o.config_path = path_.c_str();
  Ctx c(o);
  ASSERT_EQ(c.rc, ONIONMX_OK) << c.err;
  Collected before;
  ASSERT_EQ(onionmx_lookup_submit(nullptr, c.p, "a@one.example", collect, &before), ONIONMX_OK);
  write("[resolver]\norder = [\"onion-address\"]\n[answer]\ntransport = \"new\"\n");
  ASSERT_EQ(onionmx_ctx_reload(c.p), ONIONMX_OK) << onionmx_ctx_last_error(c.p);
  EXPECT_EQ(onionmx_ctx_pending(c.p), 1u) << "the old generation's lookup is still pending";
  Collected after;
  ASSERT_EQ(onionmx_lookup_submit(nullptr, c.p, ("b@" + kA1).c_str(), collect, &after), ONIONMX_OK);
  EXPECT_EQ(after.calls, 1);
  EXPECT_EQ(after.postfix, "OK new:[" + kA1 + "]:25");
  EXPECT_EQ(onionmx_ctx_run(c.p), ONIONMX_OK);
  EXPECT_EQ(before.calls, 1);
  EXPECT_EQ(before.outcome, ONIONMX_TEMP);
  EXPECT_EQ(before.source, "dns") << "answered by the generation that started it";
  EXPECT_EQ(onionmx_ctx_pending(c.p), 0u);
}

// ----------------------------------------------------- loop integration

// The descriptors the library asked to have watched.
struct Watched {
  std::map<int, int> fds;  // fd -> ONIONMX_WATCH_*
  int announcements = 0;
};

void on_watch(int fd, int events, void* payload) {
  auto* w = static_cast<Watched*>(payload);
  ++w->announcements;
  if (events == 0)
    w->fds.erase(fd);
  else
    w->fds[fd] = events;
}

// One turn of a poll(2) loop: the test's stand-in for an MTA's own loop.
void poll_turn(onionmx_ctx* ctx, const Watched& w) {
  std::vector<pollfd> p;
  for (auto [fd, ev] : w.fds)
    p.push_back(pollfd{fd,
                       static_cast<short>(((ev & ONIONMX_WATCH_READ) ? POLLIN : 0) |
                                          ((ev & ONIONMX_WATCH_WRITE) ? POLLOUT : 0)),
                       0});
  ::poll(p.data(), p.size(), onionmx_ctx_timeout(ctx));
  ASSERT_EQ(onionmx_ctx_process(ctx), ONIONMX_OK);
}

TEST(CApiLoops, WatchAnnouncesTheDnsSocketAndTimeoutTracksTheDeadline) {
  SilentServer dns;
  Watched w;
  onionmx_options o = silent_options(dns);
  o.timeout_ms = 500;
  o.watch = on_watch;
  o.watch_payload = &w;
  Ctx c(o);
  ASSERT_EQ(c.rc, ONIONMX_OK) << c.err;
  EXPECT_EQ(onionmx_ctx_timeout(c.p), -1) << "idle: no timer";
  EXPECT_EQ(onionmx_ctx_process(c.p), ONIONMX_OK) << "process on an idle context is harmless";
  Collected got;
  ASSERT_EQ(onionmx_lookup_submit(nullptr, c.p, "a@one.example", collect, &got), ONIONMX_OK);
  ASSERT_EQ(w.fds.size(), 1u) << "one UDP socket to the one server";
  EXPECT_TRUE(w.fds.begin()->second & ONIONMX_WATCH_READ);
  const int t = onionmx_ctx_timeout(c.p);
  EXPECT_GE(t, 0);
  EXPECT_LE(t, 500);
  const auto start = std::chrono::steady_clock::now();
  while (got.calls == 0 && std::chrono::steady_clock::now() - start < std::chrono::seconds(5))
    poll_turn(c.p, w);
  EXPECT_EQ(got.calls, 1);
  EXPECT_EQ(got.outcome, ONIONMX_TEMP);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(400));
  EXPECT_EQ(onionmx_ctx_pending(c.p), 0u);
  onionmx_ctx_free(c.p);
  c.p = nullptr;
  EXPECT_TRUE(w.fds.empty()) << "every watched descriptor is released";
  EXPECT_GE(w.announcements, 2);
}

TEST(CApiLoops, BorrowedEventBaseRunsCallbacksAndRefusesBlockingCalls) {
  SilentServer dns;
  event_base* base = event_base_new();
  ASSERT_NE(base, nullptr);
  onionmx_options o = silent_options(dns);
  o.timeout_ms = 300;
  o.event_base = base;
  {
    Ctx c(o);
    ASSERT_EQ(c.rc, ONIONMX_OK) << c.err;
    onionmx_result* r = nullptr;
    EXPECT_EQ(onionmx_lookup(&r, c.p, ("u@" + kA1).c_str()), ONIONMX_EINVAL);
    EXPECT_NE(std::string(onionmx_ctx_last_error(c.p)).find("event_base"), std::string::npos);
    EXPECT_EQ(onionmx_ctx_run(c.p), ONIONMX_EINVAL);
    EXPECT_EQ(onionmx_ctx_run_once(c.p), ONIONMX_EINVAL);
    EXPECT_EQ(onionmx_ctx_process(c.p), ONIONMX_EINVAL);
    Collected got;
    ASSERT_EQ(onionmx_lookup_submit(nullptr, c.p, "a@one.example", collect, &got), ONIONMX_OK);
    event_base_dispatch(base);  // returns when nothing is left registered
    EXPECT_EQ(got.calls, 1);
    EXPECT_EQ(got.outcome, ONIONMX_TEMP);
  }
  event_base_free(base);
}

// ---------------------------------------------------- against real Knot

const char* knot() { return std::getenv("ONIONMX_TEST_DNS"); }

struct Batch {
  int answered = 0;
  int found = 0;
  std::vector<std::string> wrong;
  std::string onion;
  event_base* base = nullptr;
  int total = 0;
};

void batch_answer(onionmx_result* r, void* payload) {
  auto* b = static_cast<Batch*>(payload);
  ++b->answered;
  if (r && onionmx_result_outcome(r) == ONIONMX_FOUND &&
      std::string(onionmx_result_route_onion(r, 0)) == b->onion)
    ++b->found;
  else if (b->wrong.size() < 5)
    b->wrong.push_back(r ? std::string(onionmx_result_key(r)) + ": " + onionmx_result_reason(r)
                         : "NULL result");
  onionmx_result_free(r);
  if (b->base && b->answered == b->total) event_base_loopexit(b->base, nullptr);
}

constexpr int kConcurrent = 1000;

TEST(CApiKnot, AThousandLookupsDrivenByAPollLoop) {
  if (!knot()) GTEST_SKIP() << "ONIONMX_TEST_DNS not set (run by test_capi_knot.py)";
  Watched w;
  onionmx_options o = ONIONMX_OPTIONS_INIT;
  o.servers = knot();
  o.watch = on_watch;
  o.watch_payload = &w;
  Ctx c(o);
  ASSERT_EQ(c.rc, ONIONMX_OK) << c.err;
  Batch b;
  b.onion = std::getenv("ONIONMX_TEST_ONION");
  b.total = kConcurrent;
  for (int i = 0; i < kConcurrent; ++i) {
    const std::string key = "user@h" + std::to_string(i) + ".capi.test";
    ASSERT_EQ(onionmx_lookup_submit(nullptr, c.p, key.c_str(), batch_answer, &b), ONIONMX_OK);
  }
  EXPECT_EQ(onionmx_ctx_pending(c.p), static_cast<size_t>(kConcurrent));
  const auto start = std::chrono::steady_clock::now();
  while (b.answered < kConcurrent &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(60))
    poll_turn(c.p, w);
  EXPECT_EQ(b.answered, kConcurrent);
  EXPECT_EQ(b.found, kConcurrent) << (b.wrong.empty() ? "" : b.wrong.front());
  EXPECT_EQ(onionmx_ctx_pending(c.p), 0u);
}

TEST(CApiKnot, AThousandLookupsOnACallersLibeventBase) {
  if (!knot()) GTEST_SKIP() << "ONIONMX_TEST_DNS not set (run by test_capi_knot.py)";
  event_base* base = event_base_new();
  ASSERT_NE(base, nullptr);
  Batch b;
  b.onion = std::getenv("ONIONMX_TEST_ONION");
  b.base = base;
  b.total = kConcurrent;
  {
    onionmx_options o = ONIONMX_OPTIONS_INIT;
    o.servers = knot();
    o.event_base = base;
    Ctx c(o);
    ASSERT_EQ(c.rc, ONIONMX_OK) << c.err;
    for (int i = 0; i < kConcurrent; ++i) {
      const std::string key = "user@h" + std::to_string(i) + ".capi.test";
      ASSERT_EQ(onionmx_lookup_submit(nullptr, c.p, key.c_str(), batch_answer, &b), ONIONMX_OK);
    }
    event_base_dispatch(base);
    EXPECT_EQ(b.answered, kConcurrent);
    EXPECT_EQ(b.found, kConcurrent) << (b.wrong.empty() ? "" : b.wrong.front());
    EXPECT_EQ(onionmx_ctx_pending(c.p), 0u);
  }
  event_base_free(base);
}

TEST(CApiKnot, ReloadPointsAtAnotherServerAtomically) {
  if (!knot()) GTEST_SKIP() << "ONIONMX_TEST_DNS not set (run by test_capi_knot.py)";
  // Overrides stay in force across reloads: the server given as an option
  // is the one asked after a reload of an (empty) configuration text.
  onionmx_options o = ONIONMX_OPTIONS_INIT;
  o.servers = knot();
  o.config_text = "";
  Ctx c(o);
  ASSERT_EQ(c.rc, ONIONMX_OK) << c.err;
  ASSERT_EQ(onionmx_ctx_reload(c.p), ONIONMX_OK);
  onionmx_result* r = nullptr;
  ASSERT_EQ(onionmx_lookup(&r, c.p, "user@h7.capi.test"), ONIONMX_OK);
  EXPECT_EQ(onionmx_result_outcome(r), ONIONMX_FOUND) << onionmx_result_reason(r);
  onionmx_result_free(r);
}

// Since 0.3: the cache through the C ABI (options v3, result stale/age,
// save, purge, count, dump).
void collect_line(const char* json, void* payload) {
  static_cast<std::vector<std::string>*>(payload)->emplace_back(json);
}

TEST(CApiKnot, CacheAnswersDumpsPurgesAndSavesToItsFile) {
  if (!knot()) GTEST_SKIP() << "ONIONMX_TEST_DNS not set (run by test_capi_knot.py)";
  const auto dir =
      std::filesystem::temp_directory_path() / ("onionmx-capi-cache-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "cache.json").string();
  {
    onionmx_options o = ONIONMX_OPTIONS_INIT;
    o.servers = knot();
    o.cache_file = file.c_str();
    Ctx c(o);
    ASSERT_EQ(c.rc, ONIONMX_OK) << c.err;
    EXPECT_EQ(onionmx_cache_count(c.p), 0u);
    onionmx_result* r = nullptr;
    ASSERT_EQ(onionmx_lookup(&r, c.p, "user@h3.capi.test"), ONIONMX_OK);
    EXPECT_STREQ(onionmx_result_source(r), "dns");
    EXPECT_EQ(onionmx_result_stale(r), 0);
    onionmx_result_free(r);
    ASSERT_EQ(onionmx_lookup(&r, c.p, "USER@H3.capi.test"), ONIONMX_OK);
    EXPECT_STREQ(onionmx_result_source(r), "cache");
    EXPECT_EQ(onionmx_result_outcome(r), ONIONMX_FOUND);
    EXPECT_EQ(onionmx_result_stale(r), 0);
    EXPECT_LE(onionmx_result_age(r), 5u);
    onionmx_result_free(r);
    EXPECT_EQ(onionmx_cache_count(c.p), 1u);
    std::vector<std::string> lines;
    ASSERT_EQ(onionmx_cache_dump(c.p, collect_line, &lines), ONIONMX_OK);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("\"domain\":\"h3.capi.test\""), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("\"state\":\"fresh\""), std::string::npos) << lines[0];
    ASSERT_EQ(onionmx_cache_save(c.p), ONIONMX_OK);
    EXPECT_TRUE(std::filesystem::exists(file));
    // Purge takes a domain in any case, with a trailing dot.
    EXPECT_EQ(onionmx_cache_purge(c.p, "H3.Capi.Test."), ONIONMX_OK);
    EXPECT_EQ(onionmx_cache_purge(c.p, "h3.capi.test"), ONIONMX_ENOTFOUND);
    EXPECT_EQ(onionmx_cache_purge(c.p, "*"), ONIONMX_EINVAL);
    EXPECT_EQ(onionmx_cache_purge(c.p, nullptr), ONIONMX_EINVAL);
    EXPECT_EQ(onionmx_cache_count(c.p), 0u);
    ASSERT_EQ(onionmx_lookup(&r, c.p, "user@h4.capi.test"), ONIONMX_OK);
    onionmx_result_free(r);
  }  // onionmx_ctx_free saves the changed cache
  {
    onionmx_options o = ONIONMX_OPTIONS_INIT;
    o.servers = "127.0.0.1:9";  // nothing answers there: only the file can
    o.timeout_ms = 300;
    o.cache_file = file.c_str();
    Ctx c(o);
    ASSERT_EQ(c.rc, ONIONMX_OK) << c.err;
    EXPECT_EQ(onionmx_cache_count(c.p), 1u) << "h4 was saved at free, h3 was purged";
    onionmx_result* r = nullptr;
    ASSERT_EQ(onionmx_lookup(&r, c.p, "user@h4.capi.test"), ONIONMX_OK);
    EXPECT_STREQ(onionmx_result_source(r), "cache");
    EXPECT_EQ(onionmx_result_outcome(r), ONIONMX_FOUND);
    onionmx_result_free(r);
  }
  {
    // cache_size 0: no cache; the same key asks DNS every time.
    onionmx_options o = ONIONMX_OPTIONS_INIT;
    o.servers = knot();
    o.cache_size = 0;
    Ctx c(o);
    ASSERT_EQ(c.rc, ONIONMX_OK) << c.err;
    for (int i = 0; i < 2; ++i) {
      onionmx_result* r = nullptr;
      ASSERT_EQ(onionmx_lookup(&r, c.p, "user@h5.capi.test"), ONIONMX_OK);
      EXPECT_STREQ(onionmx_result_source(r), "dns");
      onionmx_result_free(r);
    }
    EXPECT_EQ(onionmx_cache_count(c.p), 0u);
    EXPECT_EQ(onionmx_cache_save(c.p), ONIONMX_EINVAL);
    EXPECT_EQ(onionmx_cache_purge(c.p, "h5.capi.test"), ONIONMX_EINVAL);
  }
  std::filesystem::remove_all(dir);
}

// Since 0.4: statistics.
struct Stats {
  std::map<std::string, double> value;
  std::map<std::string, int> kind;
  std::map<std::string, std::string> help;
  std::vector<std::string> order;
  int stop_after = -1;  // return nonzero after this many
};

int collect_stat(const char* name, const char* help, int kind, double value, void* payload) {
  auto* s = static_cast<Stats*>(payload);
  s->value[name] = value;
  s->kind[name] = kind;
  s->help[name] = help ? help : "";
  s->order.emplace_back(name);
  if (s->stop_after >= 0 && static_cast<int>(s->order.size()) >= s->stop_after) return 42;
  return 0;
}

Stats stats_of(onionmx_ctx* ctx) {
  Stats s;
  EXPECT_EQ(onionmx_stats(ctx, collect_stat, &s), ONIONMX_OK);
  return s;
}

TEST(CApiStats, NamesKindsAndTheWalkContract) {
  onionmx_options o = ONIONMX_OPTIONS_INIT;
  o.servers = "127.0.0.1:9";
  Ctx c(o);
  ASSERT_EQ(c.rc, ONIONMX_OK) << c.err;
  Stats none;
  EXPECT_EQ(onionmx_stats(nullptr, collect_stat, &none), ONIONMX_EINVAL);
  EXPECT_EQ(onionmx_stats(c.p, nullptr, &none), ONIONMX_EINVAL);
  EXPECT_TRUE(none.order.empty());
  const Stats s = stats_of(c.p);
  EXPECT_EQ(s.order.size(), s.value.size()) << "a name came twice";
  for (const auto& name : s.order) {
    EXPECT_EQ(name.rfind("onionmx_", 0), 0u) << name;
    const bool total = name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
    EXPECT_EQ(s.kind.at(name), total ? ONIONMX_STAT_COUNTER : ONIONMX_STAT_GAUGE) << name;
    EXPECT_FALSE(s.help.at(name).empty()) << name;
    EXPECT_EQ(s.help.at(name).find('\n'), std::string::npos) << name;
  }
  for (const char* name :
       {"onionmx_cache_hits_total", "onionmx_cache_misses_total", "onionmx_cache_stale_total",
        "onionmx_cache_prefetches_total", "onionmx_cache_entries", "onionmx_dns_queries_total",
        "onionmx_dns_failures_total", "onionmx_dns_timeouts_total", "onionmx_map_loaded",
        "onionmx_map_serial", "onionmx_map_age_seconds", "onionmx_config_generation"})
    EXPECT_EQ(s.value.count(name), 1u) << name;
  EXPECT_EQ(s.value.at("onionmx_config_generation"), 1);
  EXPECT_EQ(s.value.at("onionmx_map_loaded"), 0);
  // A nonzero return stops the walk and is returned.
  Stats first;
  first.stop_after = 1;
  EXPECT_EQ(onionmx_stats(c.p, collect_stat, &first), 42);
  EXPECT_EQ(first.order.size(), 1u);
  ASSERT_EQ(onionmx_ctx_reload(c.p), ONIONMX_OK);
  EXPECT_EQ(stats_of(c.p).value.at("onionmx_config_generation"), 2);
}

TEST(CApiStats, DnsFailuresAgainstAClosedPortAreCounted) {
  onionmx_options o = ONIONMX_OPTIONS_INIT;
  o.servers = "127.0.0.1:9";  // nothing listens: ICMP port unreachable
  o.timeout_ms = 2000;
  Ctx c(o);
  ASSERT_EQ(c.rc, ONIONMX_OK) << c.err;
  const Stats before = stats_of(c.p);
  EXPECT_EQ(before.value.at("onionmx_dns_queries_total"), 0);
  for (const char* key : {"a@closed.example", "b@closed.example"}) {
    onionmx_result* r = nullptr;
    ASSERT_EQ(onionmx_lookup(&r, c.p, key), ONIONMX_OK);
    EXPECT_EQ(onionmx_result_outcome(r), ONIONMX_TEMP) << onionmx_result_reason(r);
    onionmx_result_free(r);
  }
  // Answers without DNS touch no DNS counter.
  onionmx_result* r = nullptr;
  ASSERT_EQ(onionmx_lookup(&r, c.p, ("x@" + kA1).c_str()), ONIONMX_OK);
  onionmx_result_free(r);
  const Stats after = stats_of(c.p);
  EXPECT_EQ(after.value.at("onionmx_dns_queries_total"), 2);
  EXPECT_EQ(after.value.at("onionmx_dns_failures_total"), 2);
  EXPECT_EQ(after.value.at("onionmx_cache_misses_total"), 2);
  EXPECT_EQ(after.value.at("onionmx_cache_hits_total"), 0);
  EXPECT_EQ(after.value.at("onionmx_cache_entries"), 0) << "failures are not cached";
  // The counters outlive the generation whose client counted them.
  ASSERT_EQ(onionmx_ctx_reload(c.p), ONIONMX_OK);
  EXPECT_EQ(stats_of(c.p).value.at("onionmx_dns_failures_total"), 2);
}

TEST(CApiStats, AStaticMapIsReported) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("onionmx-capi-stats-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string map = (dir / "map.json").string();
  std::ofstream(map) << R"({"format": "onionmx-map", "version": 1, "serial": 77,)"
                     << R"( "expires": "2099-01-01T00:00:00Z", "entries": {"pinned.example": [")"
                     << kA1 << R"("], "other.example": [")" << kA1 << R"("]}})";
  const std::string config = "[map]\npath = \"" + map +
                             "\"\nallow_unsigned = true\nstate_dir = \"" + dir.string() + "\"\n";
  onionmx_options o = ONIONMX_OPTIONS_INIT;
  o.config_text = config.c_str();
  o.servers = "127.0.0.1:9";
  {
    Ctx c(o);
    ASSERT_EQ(c.rc, ONIONMX_OK) << c.err;
    const Stats s = stats_of(c.p);
    EXPECT_EQ(s.value.at("onionmx_map_loaded"), 1);
    EXPECT_EQ(s.value.at("onionmx_map_serial"), 77);
    EXPECT_EQ(s.value.at("onionmx_map_entries"), 2);
    EXPECT_EQ(s.value.at("onionmx_map_expiry_timestamp_seconds"), 4070908800.0);
    EXPECT_GE(s.value.at("onionmx_map_age_seconds"), 0);
    EXPECT_LE(s.value.at("onionmx_map_age_seconds"), 5);
    onionmx_result* r = nullptr;
    ASSERT_EQ(onionmx_lookup(&r, c.p, "u@pinned.example"), ONIONMX_OK);
    EXPECT_STREQ(onionmx_result_source(r), "map");
    onionmx_result_free(r);
    EXPECT_EQ(stats_of(c.p).value.at("onionmx_dns_queries_total"), 0) << "a pin never asks DNS";
  }
  std::filesystem::remove_all(dir);
}

TEST(CApiKnot, StatsCountCacheHitsAndDnsQueries) {
  if (!knot()) GTEST_SKIP() << "ONIONMX_TEST_DNS not set (run by test_capi_knot.py)";
  onionmx_options o = ONIONMX_OPTIONS_INIT;
  o.servers = knot();
  o.cache_file = "";  // memory only
  Ctx c(o);
  ASSERT_EQ(c.rc, ONIONMX_OK) << c.err;
  for (int i = 0; i < 3; ++i) {
    onionmx_result* r = nullptr;
    ASSERT_EQ(onionmx_lookup(&r, c.p, "user@h9.capi.test"), ONIONMX_OK);
    EXPECT_STREQ(onionmx_result_source(r), i == 0 ? "dns" : "cache");
    onionmx_result_free(r);
  }
  const Stats s = stats_of(c.p);
  EXPECT_EQ(s.value.at("onionmx_dns_queries_total"), 1);
  EXPECT_EQ(s.value.at("onionmx_dns_failures_total"), 0);
  EXPECT_EQ(s.value.at("onionmx_cache_misses_total"), 1);
  EXPECT_EQ(s.value.at("onionmx_cache_hits_total"), 2);
  EXPECT_EQ(s.value.at("onionmx_cache_entries"), 1);
}

TEST(CApiOptions, CacheSizeBelowMinusOneIsRefused) {
  onionmx_options o = ONIONMX_OPTIONS_INIT;
  o.cache_size = -2;
  Ctx c(o);
  EXPECT_EQ(c.rc, ONIONMX_EINVAL);
  EXPECT_NE(c.err.find("cache_size"), std::string::npos) << c.err;
}

}  // namespace
