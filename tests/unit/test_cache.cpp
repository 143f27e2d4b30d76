// Unit tests of the cache (docs/cache.md): the LRU store, its file, and
// the CachedLookup in front of a scripted DNS lookup, on a manual clock.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/file.hpp"
#include "base/strings.hpp"
#include "cache/cache.hpp"
#include "cache/cache_file.hpp"
#include "common/test_util.hpp"
#include "crypto/crypto.hpp"
#include "resolver/resolver.hpp"
#include "source/cache_source.hpp"
#include "source/cached_lookup.hpp"
#include "source/dns_source.hpp"

namespace {

using onionmx::base::Status;
using onionmx::cache::Cache;
using onionmx::cache::Entry;
using onionmx::cache::Freshness;
using onionmx::cache::Settings;
using onionmx::record::RecordSet;
using onionmx::record::SrvRecord;
using onionmx::source::CachedLookup;
using onionmx::source::FetchCallback;
using onionmx::source::Query;
using onionmx::test::contains;
using onionmx::test::ManualClock;
using namespace std::chrono_literals;

const std::string kA1 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion";
const std::string kA2 = "efjprum3peosirjsilqv6lvlns3476t3njpngaexsyhangeb3mjo7sad.onion";

Entry entry(const std::string& domain, bool positive, std::uint32_t ttl,
            ManualClock::Monotonic fetched) {
  Entry e;
  e.domain = domain;
  e.positive = positive;
  e.ttl = ttl;
  e.fetched = fetched;
  e.fetched_wall = 1700000000;
  if (positive) {
    e.records = {SrvRecord{10, 0, 25, kA1}};
    e.owner = "_onion-mx._tcp." + domain;
  } else {
    e.reason = "NXDOMAIN";
  }
  return e;
}

// ------------------------------------------------------------ the store

TEST(CacheStore, FindPutEraseAndLruEviction) {
  Settings s;
  s.size = 3;
  Cache c(s);
  const auto t = ManualClock().mono;
  for (const char* d : {"a.example", "b.example", "c.example"}) c.put(entry(d, true, 60, t));
  EXPECT_EQ(c.size(), 3u);
  ASSERT_NE(c.find("a.example"), nullptr);  // a is now the most recent
  c.put(entry("d.example", false, 60, t));  // evicts b, the least recent
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.peek("b.example"), nullptr);
  EXPECT_NE(c.peek("a.example"), nullptr);
  EXPECT_EQ(c.stats().evictions, 1u);
  // Replacing keeps one entry per domain and the key usable.
  c.put(entry("a.example", false, 5, t));
  EXPECT_EQ(c.size(), 3u);
  ASSERT_NE(c.find("a.example"), nullptr);
  EXPECT_FALSE(c.find("a.example")->positive);
  EXPECT_TRUE(c.erase("a.example"));
  EXPECT_FALSE(c.erase("a.example"));
  EXPECT_EQ(c.find("a.example"), nullptr);
  // for_each goes from the least recently used.
  std::vector<std::string> order;
  c.for_each([&](const Entry& e) { order.push_back(e.domain); });
  EXPECT_EQ(order, (std::vector<std::string>{"c.example", "d.example"}));
  // Shrinking evicts at once.
  s.size = 1;
  c.set_settings(s);
  EXPECT_EQ(c.size(), 1u);
  EXPECT_NE(c.peek("d.example"), nullptr);
}

TEST(CacheStore, FreshStaleExpiredAndThePrefetchWindow) {
  Settings s;
  s.stale_max = 100;
  s.prefetch_percent = 10;
  Cache c(s);
  const auto t0 = ManualClock().mono;
  Entry pos = entry("p.example", true, 300, t0);
  Entry neg = entry("n.example", false, 300, t0);
  EXPECT_EQ(c.freshness(pos, t0 + 299s), Freshness::Fresh);
  EXPECT_EQ(c.freshness(pos, t0 + 300s), Freshness::Stale);
  EXPECT_EQ(c.freshness(pos, t0 + 399s), Freshness::Stale);
  EXPECT_EQ(c.freshness(pos, t0 + 400s), Freshness::Expired);
  // Negative answers are never served stale (docs/cache.md).
  EXPECT_EQ(c.freshness(neg, t0 + 300s), Freshness::Expired);
  EXPECT_FALSE(c.in_prefetch_window(pos, t0 + 269s));
  EXPECT_TRUE(c.in_prefetch_window(pos, t0 + 270s));
  EXPECT_TRUE(c.in_prefetch_window(pos, t0 + 299s));
  EXPECT_FALSE(c.in_prefetch_window(pos, t0 + 300s));
  s.prefetch = false;
  c.set_settings(s);
  EXPECT_FALSE(c.in_prefetch_window(pos, t0 + 290s));
  EXPECT_EQ(Cache::age(pos, t0 + 299s), 299u);
  EXPECT_EQ(Cache::age(pos, t0 - 5s), 0u);
}

TEST(CacheStore, TtlsAreClampedPerKind) {
  Settings s;
  s.min_ttl = 60;
  s.max_ttl = 3600;
  s.min_negative_ttl = 10;
  s.max_negative_ttl = 600;
  EXPECT_EQ(s.clamp_ttl(true, 0), 60u);
  EXPECT_EQ(s.clamp_ttl(true, 100), 100u);
  EXPECT_EQ(s.clamp_ttl(true, 999999), 3600u);
  EXPECT_EQ(s.clamp_ttl(false, 0), 10u);
  EXPECT_EQ(s.clamp_ttl(false, 86400), 600u);
}

// ------------------------------------------------------------- the file

class CacheFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("onionmx-cache-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "cache.json").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string saved_file() {
    Cache c(Settings{});
    Entry a = entry("a.example", true, 300, clock_.mono);
    a.records.push_back(SrvRecord{20, 5, 2525, "smtp." + kA2});
    a.authenticated = true;
    c.put(std::move(a));
    c.put(entry("b.example", false, 600, clock_.mono));
    EXPECT_TRUE(onionmx::cache::save(path_, c, clock_));
    auto text = onionmx::base::read_file(path_, 1 << 20, "1 MiB");
    return text ? *text : std::string();
  }

  void write(const std::string& bytes) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
  }

  std::filesystem::path dir_;
  std::string path_;
  ManualClock clock_;
};

TEST_F(CacheFileTest, RoundTripKeepsEntriesOrderAndAges) {
  // Entries are written with the wall-clock time they were fetched.
  clock_.wall_time = ManualClock::Wall{} + std::chrono::seconds(1700000000);
  const std::string bytes = saved_file();
  ASSERT_FALSE(bytes.empty());
  clock_.advance(100s);
  Cache back(Settings{});
  auto n = onionmx::cache::load(path_, back, clock_);
  ASSERT_TRUE(n) << n.error().detail;
  EXPECT_EQ(*n, 2u);
  const Entry* a = back.peek("a.example");
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(a->positive);
  EXPECT_TRUE(a->authenticated);
  ASSERT_EQ(a->records.size(), 2u);
  EXPECT_EQ(a->records[1].target, "smtp." + kA2);
  EXPECT_EQ(a->records[1].port, 2525);
  EXPECT_EQ(a->records[1].weight, 5);
  EXPECT_EQ(a->owner, "_onion-mx._tcp.a.example");
  EXPECT_EQ(Cache::age(*a, clock_.mono), 100u);
  const Entry* b = back.peek("b.example");
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(b->positive);
  EXPECT_EQ(b->reason, "NXDOMAIN");
  EXPECT_FALSE(back.dirty());
  // The same entries serialise to the same bytes (order kept: LRU first).
  EXPECT_EQ(onionmx::cache::serialize(back, 1700000000), bytes);
}

TEST_F(CacheFileTest, MissingFileIsAFirstStartNotAnError) {
  Cache c(Settings{});
  auto n = onionmx::cache::load(path_ + ".absent", c, clock_);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);
}

TEST_F(CacheFileTest, DamagedFilesAreRefusedWholeWithAReason) {
  const std::string good = saved_file();
  ASSERT_GT(good.size(), 100u);
  struct Case {
    std::string name, bytes, why;
  };
  std::string flipped = good;
  flipped[good.find(kA1) + 3] ^= 0x01;  // one bit of an onion
  std::vector<Case> cases = {
      {"empty", "", "truncated"},
      {"truncated mid-line", good.substr(0, good.size() / 2), "truncated"},
      {"no trailer", good.substr(0, good.rfind("{\"sha3")), "count"},
      {"bit flip", flipped, "checksum"},
      {"foreign", "{\"format\":\"other\"}\n{}\n", "not an onionmx cache"},
      {"garbage", std::string("\x00\xff\x12garbage\n\n", 12), "not an onionmx cache"},
      {"future version",
       "{\"entries\":0,\"format\":\"onionmx-cache\",\"saved\":1,\"version\":99}\n{}\n",
       "version 99"},
  };
  for (const auto& c : cases) {
    write(c.bytes);
    Cache into(Settings{});
    into.put(entry("kept.example", true, 60, clock_.mono));
    auto n = onionmx::cache::load(path_, into, clock_);
    ASSERT_FALSE(n) << c.name;
    EXPECT_TRUE(contains(n.error().detail, c.why)) << c.name << ": " << n.error().detail;
    // Nothing half-loaded; what was there stays.
    EXPECT_EQ(into.size(), 1u) << c.name;
  }
}

TEST_F(CacheFileTest, AnInvalidEntryWithAValidChecksumIsRefused) {
  // A file whose checksum matches but whose entry routes to a non-onion:
  // written by hand, as a buggy or hostile writer would.
  const std::string body =
      "{\"entries\":1,\"format\":\"onionmx-cache\",\"saved\":1,\"version\":1}\n"
      "{\"authenticated\":false,\"domain\":\"x.example\",\"fetched\":1,\"owner\":\"o.x.example\","
      "\"positive\":true,\"records\":[{\"port\":25,\"priority\":0,\"target\":\"mx.example.com\","
      "\"weight\":0}],\"ttl\":60}\n";
  onionmx::crypto::Sha3Digest d{};
  ASSERT_TRUE(onionmx::crypto::sha3_256(
      std::span(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()), d));
  auto parsed =
      onionmx::cache::parse(body + "{\"sha3-256\":\"" + onionmx::base::hex_lower(d) + "\"}\n");
  ASSERT_FALSE(parsed);
  EXPECT_TRUE(contains(parsed.error().detail, "invalid onion target")) << parsed.error().detail;
}

TEST_F(CacheFileTest, AHeaderNumberOutOfRangeIsRefusedNotTruncated) {
  // -4294967295 truncated to an int would read as version 1.
  const std::string body =
      "{\"entries\":0,\"format\":\"onionmx-cache\",\"saved\":1,\"version\":-4294967295}\n";
  onionmx::crypto::Sha3Digest d{};
  ASSERT_TRUE(onionmx::crypto::sha3_256(
      std::span(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()), d));
  auto parsed =
      onionmx::cache::parse(body + "{\"sha3-256\":\"" + onionmx::base::hex_lower(d) + "\"}\n");
  ASSERT_FALSE(parsed);
  EXPECT_TRUE(contains(parsed.error().detail, "version")) << parsed.error().detail;
}

TEST_F(CacheFileTest, AnOversizedCacheSavesItsNewestEntriesNotAFileTooLargeToLoad) {
  Cache c(Settings{});
  for (int i = 0; i < 100; ++i)
    c.put(entry("d" + std::to_string(i) + ".example", true, 60, clock_.mono));
  const std::string whole = onionmx::cache::serialize(c, 1);
  const std::size_t limit = whole.size() / 2;
  const std::string cut = onionmx::cache::serialize(c, 1, limit);
  EXPECT_LE(cut.size(), limit);
  auto parsed = onionmx::cache::parse(cut);
  ASSERT_TRUE(parsed) << parsed.error().detail;
  ASSERT_GT(parsed->entries.size(), 10u);
  EXPECT_LT(parsed->entries.size(), 100u);
  // The most recently used (d99) is kept; the oldest (d0) went.
  EXPECT_EQ(parsed->entries.back().domain, "d99.example");
  EXPECT_NE(parsed->entries.front().domain, "d0.example");
}

TEST_F(CacheFileTest, ASaveThatCannotBeWrittenLeavesTheOldFile) {
  const std::string good = saved_file();
  // The temporary file's name is taken by a directory: the save fails.
  std::filesystem::create_directory(path_ + ".tmp." + std::to_string(::getpid()));
  Cache c(Settings{});
  c.put(entry("new.example", true, 60, clock_.mono));
  EXPECT_FALSE(onionmx::cache::save(path_, c, clock_));
  auto text = onionmx::base::read_file(path_, 1 << 20, "1 MiB");
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, good);
  EXPECT_TRUE(c.dirty());
}

// ------------------------------------- route trust: facts and pins (v2)

using onionmx::record::GuardFacts;
using onionmx::record::Pin;
using onionmx::record::PolicyFacts;

Pin pin(const std::string& domain, std::int64_t expires, std::uint32_t max_age = 86400) {
  return Pin{
      domain, {SrvRecord{10, 5, 25, kA1}, SrvRecord{20, 0, 2525, "smtp." + kA2}}, expires, max_age};
}

// A file body (header and lines) with its correct SHA3-256 trailer, as a
// buggy or hostile writer would produce it.
std::string with_checksum(const std::string& body) {
  onionmx::crypto::Sha3Digest d{};
  EXPECT_TRUE(onionmx::crypto::sha3_256(
      std::span(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()), d));
  return body + "{\"sha3-256\":\"" + onionmx::base::hex_lower(d) + "\"}\n";
}

const std::string kPinLine =
    "{\"domain\":\"p.example\",\"expires\":1700003600,\"max_age\":3600,"
    "\"pin\":true,\"records\":[{\"port\":25,\"priority\":0,\"target\":\"" +
    kA1 + "\",\"weight\":0}]}";

std::string v2_file(const std::vector<std::string>& entry_lines,
                    const std::vector<std::string>& pin_lines) {
  std::string body = "{\"entries\":" + std::to_string(entry_lines.size()) +
                     ",\"format\":\"onionmx-cache\",\"pins\":" + std::to_string(pin_lines.size()) +
                     ",\"saved\":1700000000,\"version\":2}\n";
  for (const auto& l : entry_lines) body += l + "\n";
  for (const auto& l : pin_lines) body += l + "\n";
  return with_checksum(body);
}

bool same_records(const std::vector<SrvRecord>& a, const std::vector<SrvRecord>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].priority != b[i].priority || a[i].weight != b[i].weight || a[i].port != b[i].port ||
        a[i].target != b[i].target)
      return false;
  return true;
}

TEST_F(CacheFileTest, PolicyAndGuardFactsOfEveryStateSurviveASave) {
  clock_.wall_time = ManualClock::Wall{} + std::chrono::seconds(1700000000);
  struct Case {
    std::string domain;
    PolicyFacts policy;
    GuardFacts guard;
  };
  PolicyFacts valid{PolicyFacts::State::Valid,
                    {onionmx::record::PolicyMode::Testing, onionmx::record::kPolicyMaxAgeLimit},
                    true,
                    ""};
  const std::vector<Case> cases = {
      {"unknown.example", {}, {}},
      {"absent.example",
       {PolicyFacts::State::Absent, {}, true, ""},
       {GuardFacts::State::Checked, true, false, "", ""}},
      {"valid.example", valid, {GuardFacts::State::Checked, false, true, "mx1.valid.example", ""}},
      {"invalid.example",
       {PolicyFacts::State::Invalid, {}, false, "two v=ONIONMX1 records"},
       {GuardFacts::State::Failed, false, false, "", "_mta-sts.invalid.example TXT: SERVFAIL"}},
      {"failed.example", {PolicyFacts::State::Failed, {}, false, "timeout"}, {}},
  };
  Cache c(Settings{});
  for (const auto& k : cases) {
    Entry e = entry(k.domain, true, 300, clock_.mono);
    e.policy = k.policy;
    e.guard = k.guard;
    c.put(std::move(e));
  }
  ASSERT_TRUE(onionmx::cache::save(path_, c, clock_));
  Cache back(Settings{});
  auto n = onionmx::cache::load(path_, back, clock_);
  ASSERT_TRUE(n) << n.error().detail;
  EXPECT_EQ(*n, cases.size());
  for (const auto& k : cases) {
    const Entry* e = back.peek(k.domain);
    ASSERT_NE(e, nullptr) << k.domain;
    EXPECT_EQ(e->policy.state, k.policy.state) << k.domain;
    EXPECT_EQ(e->policy.authenticated, k.policy.authenticated) << k.domain;
    EXPECT_EQ(e->policy.reason, k.policy.reason) << k.domain;
    EXPECT_EQ(e->policy.policy.mode, k.policy.policy.mode) << k.domain;
    EXPECT_EQ(e->policy.policy.max_age, k.policy.policy.max_age) << k.domain;
    EXPECT_EQ(e->guard.state, k.guard.state) << k.domain;
    EXPECT_EQ(e->guard.mta_sts, k.guard.mta_sts) << k.domain;
    EXPECT_EQ(e->guard.dane, k.guard.dane) << k.domain;
    EXPECT_EQ(e->guard.dane_host, k.guard.dane_host) << k.domain;
    EXPECT_EQ(e->guard.reason, k.guard.reason) << k.domain;
  }
  // Unknown facts are not written: such a line is a version-1 line.
  const std::string line = onionmx::cache::entry_json(*back.peek("unknown.example"));
  EXPECT_FALSE(contains(line, "policy")) << line;
  EXPECT_FALSE(contains(line, "guard")) << line;
  // The dump shows the facts.
  const auto dumped = nlohmann::json::parse(
      onionmx::cache::entry_dump_json(back, *back.peek("valid.example"), clock_.mono));
  EXPECT_EQ(dumped["policy"]["mode"], "testing");
  EXPECT_EQ(dumped["policy"]["state"], "valid");
  EXPECT_EQ(dumped["guard"]["dane_host"], "mx1.valid.example");
  EXPECT_EQ(dumped["state"], "fresh");
}

TEST_F(CacheFileTest, ReasonsAreClippedSoTheFileStillLoads) {
  Cache c(Settings{});
  Entry e = entry("long.example", true, 300, clock_.mono);
  e.policy = {PolicyFacts::State::Invalid, {}, false, std::string(2000, 'x') + "\xff"};
  e.guard = {GuardFacts::State::Failed, false, false, "", std::string("bad \xc3 utf-8")};
  c.put(std::move(e));
  auto parsed = onionmx::cache::parse(onionmx::cache::serialize(c, 1));
  ASSERT_TRUE(parsed) << parsed.error().detail;
  ASSERT_EQ(parsed->entries.size(), 1u);
  EXPECT_EQ(parsed->entries[0].policy.reason, std::string(512, 'x'));
  EXPECT_EQ(parsed->entries[0].guard.reason, "bad ? utf-8");
}

TEST_F(CacheFileTest, PinsSurviveASaveAndExpiredOnesAreDroppedAtLoad) {
  const std::int64_t now = 1700000000;
  clock_.wall_time = ManualClock::Wall{} + std::chrono::seconds(now);
  Cache c(Settings{});
  c.put_pin(pin("long.example", now + 1000));
  c.put_pin(pin("short.example", now + 100));
  c.put_pin(pin("gone.example", now - 1));
  // The file says a year, the policy a day: a day from the load it is.
  c.put_pin(pin("edited.example", now + std::int64_t{365} * 86400, 86400));
  ASSERT_TRUE(onionmx::cache::save(path_, c, clock_));
  auto text = onionmx::base::read_file(path_, 1 << 20, "1 MiB");
  ASSERT_TRUE(text);
  auto parsed = onionmx::cache::parse(*text);
  ASSERT_TRUE(parsed) << parsed.error().detail;
  // The save drops the pin that had already expired; the file keeps the rest.
  EXPECT_EQ(parsed->pins.size(), 3u);
  EXPECT_EQ(c.pin("gone.example"), nullptr);

  clock_.advance(200s);
  Cache back(Settings{});
  auto n = onionmx::cache::load(path_, back, clock_);
  ASSERT_TRUE(n) << n.error().detail;
  EXPECT_EQ(*n, 0u);  // entries
  EXPECT_EQ(back.pin_count(), 2u);
  EXPECT_EQ(back.pin("short.example"), nullptr);
  EXPECT_EQ(back.pin("gone.example"), nullptr);
  const Pin* p = back.pin("long.example");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->expires, now + 1000);
  EXPECT_EQ(p->max_age, 86400u);
  EXPECT_TRUE(same_records(p->records, pin("x.example", 0).records));
  const Pin* edited = back.pin("edited.example");
  ASSERT_NE(edited, nullptr);
  EXPECT_EQ(edited->expires, now + 200 + 86400);
  EXPECT_FALSE(back.dirty());

  // The dump form: the file's pin line plus the seconds left.
  const auto d = nlohmann::json::parse(onionmx::cache::pin_dump_json(*p, now + 200));
  EXPECT_EQ(d["pin"], true);
  EXPECT_EQ(d["domain"], "long.example");
  EXPECT_EQ(d["expires_in"], 800);
  EXPECT_EQ(d["records"].size(), 2u);
}

TEST_F(CacheFileTest, AVersion1FileStillLoadsWithoutFactsOrPins) {
  clock_.wall_time = ManualClock::Wall{} + std::chrono::seconds(1700000000);
  write(with_checksum(
      "{\"entries\":2,\"format\":\"onionmx-cache\",\"saved\":1700000000,\"version\":1}\n"
      "{\"authenticated\":true,\"domain\":\"a.example\",\"fetched\":1699999900,\"owner\":"
      "\"_onion-mx._tcp.a.example\",\"positive\":true,\"records\":[{\"port\":25,\"priority\":10,"
      "\"target\":\"" +
      kA1 +
      "\",\"weight\":0}],\"ttl\":300}\n"
      "{\"authenticated\":false,\"domain\":\"b.example\",\"fetched\":1699999950,\"positive\":"
      "false,\"reason\":\"NXDOMAIN\",\"ttl\":600}\n"));
  Cache c(Settings{});
  auto n = onionmx::cache::load(path_, c, clock_);
  ASSERT_TRUE(n) << n.error().detail;
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(c.pin_count(), 0u);
  const Entry* a = c.peek("a.example");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->policy.state, PolicyFacts::State::Unknown);
  EXPECT_EQ(a->guard.state, GuardFacts::State::Unknown);
  EXPECT_EQ(Cache::age(*a, clock_.mono), 100u);
  // Written back as version 2.
  EXPECT_TRUE(contains(onionmx::cache::serialize(c, 1700000000), "\"version\":2"));
}

TEST_F(CacheFileTest, InvalidPinsAndFactsAreRefusedWholeWithAReason) {
  auto replace = [](std::string s, const std::string& from, const std::string& to) {
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  std::string bad_sum = kA1;
  bad_sum[3] = bad_sum[3] == 'a' ? 'b' : 'a';
  const std::string entry_line = onionmx::cache::entry_json(entry("e.example", true, 60, {}));
  auto with_policy = [&](const std::string& policy) {
    return replace(entry_line, "\"domain\"", "\"policy\":" + policy + ",\"domain\"");
  };
  struct Case {
    std::string name, bytes, why;
  };
  const std::vector<Case> cases = {
      {"bad onion", v2_file({}, {replace(kPinLine, kA1, bad_sum)}), "invalid onion target"},
      {"not an onion", v2_file({}, {replace(kPinLine, kA1, "mx.example.com")}),
       "invalid onion target"},
      {"max_age too large",
       v2_file({}, {replace(kPinLine, "\"max_age\":3600", "\"max_age\":31557601")}), "max_age"},
      {"missing expires", v2_file({}, {replace(kPinLine, "\"expires\":1700003600,", "")}),
       "missing or mistyped"},
      {"expires a string",
       v2_file({}, {replace(kPinLine, "\"expires\":1700003600", "\"expires\":\"soon\"")}),
       "missing or mistyped"},
      {"pin false", v2_file({}, {replace(kPinLine, "\"pin\":true", "\"pin\":false")}),
       "missing or mistyped"},
      {"no records", v2_file({}, {replace(kPinLine, kPinLine.substr(kPinLine.find('[')), "[]}")}),
       "without records"},
      {"port zero", v2_file({}, {replace(kPinLine, "\"port\":25", "\"port\":0")}),
       "invalid onion target"},
      {"upper-case domain", v2_file({}, {replace(kPinLine, "p.example", "P.example")}),
       "pin: domain"},
      {"onion domain", v2_file({}, {replace(kPinLine, "\"p.example\"", "\"" + kA2 + "\"")}),
       "pin: domain"},
      {"pinned twice", v2_file({}, {kPinLine, kPinLine}), "pinned twice"},
      {"pin count lies", v2_file({kPinLine}, {}), "pin count"},
      {"pin in a version-1 file",
       with_checksum(
           "{\"entries\":0,\"format\":\"onionmx-cache\",\"saved\":1700000000,\"version\":1}\n" +
           kPinLine + "\n"),
       "count"},
      {"version 2 without a pin count",
       with_checksum(
           "{\"entries\":0,\"format\":\"onionmx-cache\",\"saved\":1700000000,\"version\":2}\n"),
       "count"},
      {"policy state unknown",
       v2_file({with_policy(R"({"state":"maybe","authenticated":false})")}, {}), "unknown state"},
      {"policy valid without mode",
       v2_file({with_policy(R"({"state":"valid","authenticated":false,"max_age":60})")}, {}),
       "mode"},
      {"policy max_age too large",
       v2_file(
           {with_policy(
               R"({"state":"valid","authenticated":false,"mode":"enforce","max_age":31557601})")},
           {}),
       "max_age"},
      {"policy invalid without reason",
       v2_file({with_policy(R"({"state":"invalid","authenticated":false})")}, {}), "reason"},
      {"policy reason too long",
       v2_file({with_policy(R"({"state":"failed","authenticated":false,"reason":")" +
                            std::string(513, 'x') + "\"}")},
               {}),
       "reason"},
      {"policy not an object", v2_file({with_policy("\"valid\"")}, {}), "policy"},
      {"guard without dane",
       v2_file({replace(entry_line, "\"domain\"",
                        R"("guard":{"state":"checked","mta_sts":true,"dane_host":""},"domain")")},
               {}),
       "guard: missing"},
      {"guard dane_host not a name",
       v2_file(
           {replace(
               entry_line, "\"domain\"",
               R"("guard":{"state":"checked","mta_sts":true,"dane":true,"dane_host":"a..b"},"domain")")},
           {}),
       "dane_host"},
      {"guard state unknown",
       v2_file({replace(entry_line, "\"domain\"", R"("guard":{"state":"unknown"},"domain")")}, {}),
       "unknown state"},
  };
  // The unchanged line loads: each case fails for its own reason.
  ASSERT_TRUE(onionmx::cache::parse(v2_file({entry_line}, {kPinLine})));
  for (const auto& k : cases) {
    write(k.bytes);
    Cache into(Settings{});
    into.put_pin(pin("kept.example", 1));
    auto n = onionmx::cache::load(path_, into, clock_);
    ASSERT_FALSE(n) << k.name;
    EXPECT_TRUE(contains(n.error().detail, k.why)) << k.name << ": " << n.error().detail;
    EXPECT_TRUE(contains(n.error().detail, "line ") || contains(n.error().detail, "count"))
        << k.name << ": " << n.error().detail;
    EXPECT_EQ(into.pin_count(), 1u) << k.name;  // nothing half-loaded
  }
}

TEST_F(CacheFileTest, TheSizeCapKeepsPinsBeforeEntriesThenThoseExpiringLast) {
  Cache c(Settings{});
  for (int i = 0; i < 50; ++i)
    c.put(entry("d" + std::to_string(i) + ".example", true, 60, clock_.mono));
  for (int i = 0; i < 20; ++i) c.put_pin(pin("p" + std::to_string(i) + ".example", 1000 + i));
  const std::string whole = onionmx::cache::serialize(c, 1);
  const std::size_t pins_only = onionmx::cache::pin_json(*c.pin("p0.example")).size() * 20;
  // Room for every pin and a few entries.
  std::string cut = onionmx::cache::serialize(c, 1, pins_only + 1500);
  EXPECT_LE(cut.size(), pins_only + 1500);
  auto parsed = onionmx::cache::parse(cut);
  ASSERT_TRUE(parsed) << parsed.error().detail;
  EXPECT_EQ(parsed->pins.size(), 20u);
  EXPECT_GT(parsed->entries.size(), 0u);
  EXPECT_LT(parsed->entries.size(), 50u);
  // Room for half the pins: no entries, the ten expiring last.
  cut = onionmx::cache::serialize(c, 1, pins_only / 2 + 256);
  EXPECT_LE(cut.size(), pins_only / 2 + 256);
  parsed = onionmx::cache::parse(cut);
  ASSERT_TRUE(parsed) << parsed.error().detail;
  EXPECT_EQ(parsed->entries.size(), 0u);
  ASSERT_GE(parsed->pins.size(), 9u);
  ASSERT_LE(parsed->pins.size(), 10u);
  for (const auto& p : parsed->pins) EXPECT_GE(p.expires, 1010) << p.domain;
  EXPECT_GT(whole.size(), pins_only);
}

TEST(CacheStore, PinsAreBoundedByTheCacheSizeExpiringFirstGoes) {
  Settings s;
  s.size = 2;
  Cache c(s);
  c.put_pin(pin("a.example", 300));
  c.put_pin(pin("b.example", 100));
  c.put_pin(pin("c.example", 200));
  EXPECT_EQ(c.pin_count(), 2u);
  EXPECT_EQ(c.pin("b.example"), nullptr);
  EXPECT_NE(c.pin("a.example"), nullptr);
  EXPECT_NE(c.pin("c.example"), nullptr);
  // Replacing a pin does not count twice.
  c.put_pin(pin("a.example", 50));
  EXPECT_EQ(c.pin_count(), 2u);
  EXPECT_EQ(c.pin("a.example")->expires, 50);
}

TEST(CacheStore, ExpireEraseAndClearPins) {
  Cache c(Settings{});
  c.put_pin(pin("a.example", 100));
  c.put_pin(pin("b.example", 200));
  c.put_pin(pin("c.example", 300));
  c.mark_saved();
  EXPECT_EQ(c.expire_pins(99), 0u);
  EXPECT_FALSE(c.dirty());
  EXPECT_EQ(c.expire_pins(200), 2u);  // a pin expiring now is gone
  EXPECT_TRUE(c.dirty());
  ASSERT_EQ(c.pin_count(), 1u);
  EXPECT_NE(c.pin("c.example"), nullptr);

  c.mark_saved();
  EXPECT_FALSE(c.erase_pin("a.example"));
  EXPECT_FALSE(c.dirty());
  EXPECT_TRUE(c.erase_pin("c.example"));
  EXPECT_TRUE(c.dirty());
  EXPECT_EQ(c.pin_count(), 0u);

  c.put_pin(pin("d.example", 400));
  c.put(entry("e.example", false, 60, {}));
  c.mark_saved();
  c.clear();
  EXPECT_EQ(c.pin_count(), 0u);
  EXPECT_EQ(c.size(), 0u);
  EXPECT_TRUE(c.dirty());
  // Domain order, whatever the insertion order.
  c.put_pin(pin("z.example", 1));
  c.put_pin(pin("m.example", 1));
  std::vector<std::string> order;
  c.for_each_pin([&](const Pin& p) { order.push_back(p.domain); });
  EXPECT_EQ(order, (std::vector<std::string>{"m.example", "z.example"}));
}

// ------------------------------------------------ CachedLookup over a script

// A DNS lookup that answers when the test says so, counting queries.
class ScriptedLookup final : public onionmx::source::SrvLookup {
 public:
  void fetch(const Query& q, FetchCallback done) override {
    ++queries;
    asked.push_back(q.domain);
    pending_.push_back(std::move(done));
  }
  std::size_t pending() const noexcept override { return pending_.size(); }
  // Answers the oldest query.
  void answer(RecordSet set) {
    ASSERT_FALSE(pending_.empty());
    auto cb = std::move(pending_.front());
    pending_.pop_front();
    cb(std::move(set));
  }
  int queries = 0;
  std::vector<std::string> asked;

 private:
  std::deque<FetchCallback> pending_;
};

RecordSet positive(const ManualClock& c, std::uint32_t ttl, const std::string& onion = kA1) {
  RecordSet s;
  s.status = Status::Ok;
  s.records = {SrvRecord{10, 0, 25, onion}};
  s.ttl = ttl;
  s.owner = "_onion-mx._tcp.example.org";
  s.received = c.mono;
  return s;
}

RecordSet negative(const ManualClock& c, std::uint32_t ttl) {
  RecordSet s;
  s.status = Status::NotFound;
  s.reason = "NXDOMAIN";
  s.ttl = ttl;
  s.received = c.mono;
  return s;
}

RecordSet failure(const std::string& why = "SERVFAIL") {
  RecordSet s;
  s.status = Status::Temp;
  s.reason = why;
  return s;
}

class CachedLookupTest : public ::testing::Test {
 protected:
  CachedLookupTest() {
    settings_.min_ttl = 0;
    settings_.min_negative_ttl = 0;
    settings_.stale_max = 1000;
    settings_.stale_recheck = 30;
    settings_.prefetch_rate = 2;
    cache_ = std::make_shared<Cache>(settings_);
    auto inner = std::make_unique<ScriptedLookup>();
    dns_ = inner.get();
    lookup_ = std::make_unique<CachedLookup>(
        std::move(inner), cache_, clock_,
        [this](onionmx::base::LogLevel, std::string_view m) { logs_.emplace_back(m); });
  }

  // Starts a fetch; the result lands in the returned slot.
  std::shared_ptr<std::optional<RecordSet>> ask(const std::string& domain = "example.org",
                                                bool explain = false) {
    auto slot = std::make_shared<std::optional<RecordSet>>();
    lookup_->fetch({"u@" + domain, domain, explain}, [slot](RecordSet s) { *slot = std::move(s); });
    return slot;
  }

  bool logged(std::string_view what) const {
    for (const auto& l : logs_)
      if (contains(l, what)) return true;
    return false;
  }

  Settings settings_;
  ManualClock clock_;
  std::shared_ptr<Cache> cache_;
  ScriptedLookup* dns_ = nullptr;
  std::unique_ptr<CachedLookup> lookup_;
  std::vector<std::string> logs_;
};

TEST_F(CachedLookupTest, AnswerIsStoredAndServedUntilItsTtlEnds) {
  auto first = ask();
  dns_->answer(positive(clock_, 300));
  ASSERT_TRUE(*first);
  EXPECT_FALSE((*first)->from_cache);
  clock_.advance(100s);
  auto second = ask();
  ASSERT_TRUE(*second) << "a hit answers at once";
  EXPECT_TRUE((*second)->from_cache);
  EXPECT_EQ((*second)->age, 100u);
  EXPECT_EQ((*second)->ttl, 200u) << "the TTL left";
  EXPECT_EQ((*second)->records[0].target, kA1);
  EXPECT_EQ(dns_->queries, 1);
  clock_.advance(200s);  // expired: asks again
  auto third = ask();
  EXPECT_FALSE(*third);
  EXPECT_EQ(dns_->queries, 2);
  dns_->answer(positive(clock_, 300));
  ASSERT_TRUE(*third);
  EXPECT_EQ(cache_->stats().hits, 1u);
  EXPECT_EQ(cache_->stats().misses, 2u);
}

TEST_F(CachedLookupTest, NegativeAnswersAreCachedForTheirNegativeTtl) {
  auto first = ask();
  dns_->answer(negative(clock_, 60));
  clock_.advance(50s);  // before the prefetch window (the last 10 %)
  auto hit = ask();
  ASSERT_TRUE(*hit);
  EXPECT_EQ((*hit)->status, Status::NotFound);
  EXPECT_TRUE((*hit)->from_cache);
  EXPECT_EQ(dns_->queries, 1);
  clock_.advance(10s);
  auto miss = ask();
  EXPECT_FALSE(*miss);
  EXPECT_EQ(dns_->queries, 2);
}

TEST_F(CachedLookupTest, FailuresAreNotCached) {
  auto first = ask();
  dns_->answer(failure());
  ASSERT_TRUE(*first);
  EXPECT_EQ((*first)->status, Status::Temp);
  auto again = ask();
  EXPECT_FALSE(*again);
  EXPECT_EQ(dns_->queries, 2);
  EXPECT_EQ(cache_->size(), 0u);
}

TEST_F(CachedLookupTest, ConcurrentAskersShareOneQuery) {
  std::vector<std::shared_ptr<std::optional<RecordSet>>> slots;
  for (int i = 0; i < 1000; ++i) slots.push_back(ask());
  EXPECT_EQ(dns_->queries, 1);
  EXPECT_EQ(lookup_->pending(), 1000u);
  dns_->answer(positive(clock_, 300));
  for (const auto& s : slots) {
    ASSERT_TRUE(*s);
    EXPECT_EQ((*s)->status, Status::Ok);
  }
  EXPECT_EQ(lookup_->pending(), 0u);
  EXPECT_EQ(cache_->stats().coalesced, 999u);
  // Other names are not coalesced with it.
  auto other = ask("other.example");
  EXPECT_EQ(dns_->queries, 2);
}

TEST_F(CachedLookupTest, StaleIsServedWhenRefreshFailsThenKnownRouteDefers) {
  auto first = ask();
  dns_->answer(positive(clock_, 300));
  clock_.advance(400s);  // expired, within ttl + stale_max
  auto stale = ask("example.org", true);
  dns_->answer(failure("timeout"));
  ASSERT_TRUE(*stale);
  EXPECT_EQ((*stale)->status, Status::Ok);
  EXPECT_TRUE((*stale)->stale);
  EXPECT_EQ((*stale)->ttl, settings_.stale_ttl);
  EXPECT_EQ((*stale)->age, 400u);
  EXPECT_TRUE(logged("serving the stale cached route"));
  bool explained = false;
  for (const auto& l : (*stale)->explain) explained |= contains(l, "served stale");
  EXPECT_TRUE(explained);
  // Within the recheck time DNS is not asked again.
  clock_.advance(10s);
  auto recheck = ask();
  ASSERT_TRUE(*recheck);
  EXPECT_TRUE((*recheck)->stale);
  EXPECT_EQ(dns_->queries, 2);
  // After it, DNS is asked again.
  clock_.advance(30s);
  auto retry = ask();
  EXPECT_FALSE(*retry);
  EXPECT_EQ(dns_->queries, 3);
  dns_->answer(failure());
  ASSERT_TRUE(*retry);
  EXPECT_TRUE((*retry)->stale);
  // Past ttl + stale_max: a temporary failure that the policy must keep.
  clock_.advance(1000s);
  auto late = ask();
  dns_->answer(failure());
  ASSERT_TRUE(*late);
  EXPECT_EQ((*late)->status, Status::Temp);
  EXPECT_TRUE((*late)->known_route);
  EXPECT_TRUE(contains((*late)->reason, "knows an onion route")) << (*late)->reason;
  // A real answer replaces the entry and clears the failure.
  auto healed = ask();
  dns_->answer(positive(clock_, 300));
  ASSERT_TRUE(*healed);
  EXPECT_FALSE((*healed)->stale);
  EXPECT_FALSE(cache_->peek("example.org")->has_failed);
}

TEST_F(CachedLookupTest, ExpiredNegativeIsNeverServedStale) {
  auto first = ask();
  dns_->answer(negative(clock_, 60));
  clock_.advance(61s);
  auto later = ask();
  dns_->answer(failure());
  ASSERT_TRUE(*later);
  EXPECT_EQ((*later)->status, Status::Temp);
  EXPECT_FALSE((*later)->known_route) << "the failure policy decides";
}

TEST_F(CachedLookupTest, HitsInTheLastPartOfTheTtlRefreshInTheBackground) {
  auto first = ask();
  dns_->answer(positive(clock_, 100));
  clock_.advance(89s);
  auto early = ask();
  ASSERT_TRUE(*early);
  EXPECT_EQ(dns_->queries, 1) << "not yet in the prefetch window";
  clock_.advance(2s);  // 91 of 100 s: the last 10 %
  auto hit = ask();
  ASSERT_TRUE(*hit) << "the asker does not wait";
  EXPECT_EQ(dns_->queries, 2);
  EXPECT_EQ(cache_->stats().prefetches, 1u);
  auto again = ask();  // a refresh is in flight: no second one
  EXPECT_EQ(dns_->queries, 2);
  EXPECT_EQ(lookup_->pending(), 0u) << "background refreshes have no waiters";
  dns_->answer(positive(clock_, 100, kA2));
  EXPECT_TRUE(logged("onion route changed")) << "old and new are logged";
  EXPECT_TRUE(logged(kA1));
  EXPECT_TRUE(logged(kA2));
  clock_.advance(50s);
  auto after = ask();
  ASSERT_TRUE(*after);
  EXPECT_EQ((*after)->records[0].target, kA2);
  EXPECT_EQ((*after)->age, 50u);
}

TEST_F(CachedLookupTest, PrefetchIsRateLimited) {
  // Many hot domains all in their window at once: at most prefetch_rate
  // (2 per second, the bucket's size) refreshes start.
  for (int i = 0; i < 10; ++i) {
    auto s = ask("d" + std::to_string(i) + ".example");
    dns_->answer(positive(clock_, 100));
  }
  clock_.advance(95s);
  for (int i = 0; i < 10; ++i) ask("d" + std::to_string(i) + ".example");
  EXPECT_EQ(dns_->queries, 10 + 2);
  clock_.advance(1s);  // refills 2 tokens
  for (int i = 0; i < 10; ++i) ask("d" + std::to_string(i) + ".example");
  EXPECT_EQ(dns_->queries, 10 + 4);
}

TEST_F(CachedLookupTest, ARouteThatDisappearsIsLogged) {
  auto first = ask();
  dns_->answer(positive(clock_, 10));
  clock_.advance(11s);
  auto second = ask();
  dns_->answer(negative(clock_, 60));
  ASSERT_TRUE(*second);
  EXPECT_EQ((*second)->status, Status::NotFound) << "NXDOMAIN is an answer, not a failure";
  EXPECT_TRUE(logged("onion route disappeared"));
  EXPECT_TRUE(logged(kA1));
}

TEST_F(CachedLookupTest, DestroyingItAnswersWaitersWithoutStoring) {
  // A scripted inner lookup that answers its pending fetches on the way out,
  // as dns::CaresClient does.
  class Dying final : public onionmx::source::SrvLookup {
   public:
    ~Dying() override {
      for (auto& cb : pending_) cb(failure("shutting down"));
    }
    void fetch(const Query&, FetchCallback done) override { pending_.push_back(std::move(done)); }
    std::size_t pending() const noexcept override { return pending_.size(); }
    std::vector<FetchCallback> pending_;
  };
  auto cache = std::make_shared<Cache>(settings_);
  cache->put(entry("example.org", true, 10, clock_.mono - 100s));  // stale
  auto l = std::make_unique<CachedLookup>(std::make_unique<Dying>(), cache, clock_, nullptr);
  std::optional<RecordSet> got;
  l->fetch({"u@example.org", "example.org", false}, [&](RecordSet s) { got = std::move(s); });
  l.reset();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, Status::Temp);
  EXPECT_FALSE(cache->peek("example.org")->has_failed) << "shutting down is not a DNS failure";
}

// ---------------------------------------- through the sources and resolver

TEST_F(CachedLookupTest, CacheLinkAnswersHitsAndTheFailurePolicyKeepsKnownRoutes) {
  std::shared_ptr<CachedLookup> shared(std::move(lookup_));
  auto rng = [](std::uint32_t) { return 0u; };
  std::vector<std::unique_ptr<onionmx::source::Source>> chain;
  chain.push_back(std::make_unique<onionmx::source::CacheSource>(shared, rng));
  chain.push_back(std::make_unique<onionmx::source::DnsSource>(shared, rng));
  // clearnet: the policy that would turn a plain DNS failure into "not found".
  onionmx::resolver::Resolver r(std::move(chain), onionmx::resolver::FailurePolicy::Clearnet,
                                nullptr);
  auto resolve = [&](bool explain = false) {
    auto slot = std::make_shared<std::optional<onionmx::record::Answer>>();
    r.resolve("user@example.org", explain,
              [slot](onionmx::record::Answer a) { *slot = std::move(a); });
    return slot;
  };
  auto first = resolve();
  dns_->answer(positive(clock_, 300));
  ASSERT_TRUE(*first);
  EXPECT_EQ((*first)->source, "dns");
  clock_.advance(10s);
  auto hit = resolve(true);
  ASSERT_TRUE(*hit);
  EXPECT_EQ((*hit)->source, "cache");
  EXPECT_EQ((*hit)->age, 10u);
  EXPECT_FALSE((*hit)->stale);
  bool age_explained = false;
  for (const auto& l : (*hit)->explain) age_explained |= contains(l, "age 10 s");
  EXPECT_TRUE(age_explained);
  // Stale: answered Ok from the DNS link, named cache, flagged stale.
  clock_.advance(500s);
  auto stale = resolve();
  dns_->answer(failure());
  ASSERT_TRUE(*stale);
  EXPECT_EQ((*stale)->status, Status::Ok);
  EXPECT_EQ((*stale)->source, "cache");
  EXPECT_TRUE((*stale)->stale);
  // Past stale_max: Temp, and clearnet does not apply.
  clock_.advance(2000s);
  auto late = resolve();
  dns_->answer(failure());
  ASSERT_TRUE(*late);
  EXPECT_EQ((*late)->status, Status::Temp);
  EXPECT_EQ((*late)->failure, onionmx::record::Failure::KnownRoute);
  // A domain the cache never saw: the policy applies as before.
  auto unknown = std::make_shared<std::optional<onionmx::record::Answer>>();
  r.resolve("user@other.example", false,
            [unknown](onionmx::record::Answer a) { *unknown = std::move(a); });
  dns_->answer(failure());
  ASSERT_TRUE(*unknown);
  EXPECT_EQ((*unknown)->status, Status::NotFound);
  EXPECT_EQ((*unknown)->source, "policy");
}

}  // namespace
