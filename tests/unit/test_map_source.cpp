// test_map_source.cpp - the "map" source through the engine
// (source/map_source.hpp, engine/sources.cpp): a signed map pins domains
// ahead of DNS; the map is loaded with the configuration, so a missing,
// unsigned, tampered or rolled-back map fails the load, and a reload with
// one keeps the running map answering; an expired map stops answering.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/test_util.hpp"
#include "crypto/minisign.hpp"
#include "engine/engine.hpp"
#include "event/loop.hpp"
#include "source/map_source.hpp"

namespace {

using namespace onionmx;
using base::Status;
using test::contains;

const std::string kA1 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion";
const std::string kA2 = "efjprum3peosirjsilqv6lvlns3476t3njpngaexsyhangeb3mjo7sad.onion";

class MapSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("onionmx-mapsrc-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    std::ofstream(path("map.pub")) << crypto::format_minisign_public_key(key_.public_key());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Writes map.json for `onion` at serial N, signed unless told otherwise.
  void write_map(std::uint64_t serial, const std::string& onion, bool sign = true,
                 const std::string& expires = "2099-01-01T00:00:00Z") {
    const std::string json =
        "{\"format\": \"onionmx-map\", \"version\": 1, \"serial\": " + std::to_string(serial) +
        ", \"expires\": \"" + expires + "\", \"entries\": {\"pinned.example\": [\"" + onion +
        "\"], \".sub.example\": [{\"onion\": \"" + onion + "\", \"port\": 2525}]}}\n";
    std::ofstream(path("map.json")) << json;
    std::filesystem::remove(path("map.json.minisig"));
    if (!sign) return;
    auto sig = crypto::minisign_sign(
        key_, std::span(reinterpret_cast<const std::uint8_t*>(json.data()), json.size()),
        "serial " + std::to_string(serial), "test");
    ASSERT_TRUE(sig) << sig.error().detail;
    std::ofstream(path("map.json.minisig")) << *sig;
  }

  engine::ConfigInput config(bool allow_unsigned = false) const {
    engine::ConfigInput in;
    in.text = "[resolver]\norder = [\"local\", \"onion-address\", \"map\"]\n[map]\npath = \"" +
              path("map.json") + "\"\ntrusted_keys = [\"" + path("map.pub") +
              "\"]\nstate_dir = \"" + path("state") +
              "\"\nallow_unsigned = " + (allow_unsigned ? "true" : "false") + "\n";
    return in;
  }

  base::Result<std::unique_ptr<engine::Engine>> make(bool allow_unsigned = false) {
    return engine::Engine::create(loop_, config(allow_unsigned), {},
                                  [this](base::LogLevel l, std::string_view m) {
                                    if (l >= base::LogLevel::Warning) warnings_.emplace_back(m);
                                  });
  }

  record::Answer resolve(engine::Engine& e, const std::string& key) {
    record::Answer got;
    int calls = 0;
    e.resolve(key, true, [&](record::Answer a, const auto&) {
      ++calls;
      got = std::move(a);
    });
    EXPECT_EQ(calls, 1) << "a map answer needs no network";
    return got;
  }

  std::filesystem::path dir_;
  crypto::MinisignSecretKey key_ = crypto::minisign_generate_key();
  event::Loop loop_;
  std::vector<std::string> warnings_;
};

TEST_F(MapSourceTest, PinnedDomainsAnswerFromTheMapWithItsSerial) {
  write_map(7, kA1);
  auto e = make();
  ASSERT_TRUE(e) << e.error().detail;
  auto a = resolve(**e, "User@Pinned.Example");
  EXPECT_EQ(a.status, Status::Ok) << a.reason;
  EXPECT_EQ(a.source, source::MapSource::kName);
  ASSERT_EQ(a.routes.size(), 1u);
  EXPECT_EQ(a.routes[0].onion, kA1);
  EXPECT_EQ(a.routes[0].port, 25);
  EXPECT_TRUE(contains(a.reason, "serial 7")) << a.reason;
  EXPECT_GT(a.ttl, 0u);
  EXPECT_LE(a.ttl, 86400u);
  bool explained = false;
  for (const auto& l : a.explain) explained |= contains(l, "pinned by the static map (serial 7");
  EXPECT_TRUE(explained);

  a = resolve(**e, "x@mx.sub.example");
  EXPECT_EQ(a.status, Status::Ok);
  ASSERT_EQ(a.routes.size(), 1u);
  EXPECT_EQ(a.routes[0].port, 2525);

  a = resolve(**e, "x@other.example");
  EXPECT_EQ(a.status, Status::NotFound) << "not pinned: passes on (no dns in this order)";
  EXPECT_EQ(a.source, record::kOriginNone);
  EXPECT_TRUE(std::filesystem::exists(path("state"))) << "the state directory is created";
}

TEST_F(MapSourceTest, UnsignedTamperedOrUntrustedMapsFailTheLoad) {
  write_map(1, kA1, /*sign=*/false);
  auto e = make();
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, Status::BadSig) << e.error().detail;
  EXPECT_TRUE(contains(e.error().detail, "map.json")) << e.error().detail;

  auto unsigned_ok = make(/*allow_unsigned=*/true);
  ASSERT_TRUE(unsigned_ok) << unsigned_ok.error().detail;
  EXPECT_FALSE(warnings_.empty()) << "an unsigned map is loaded with a warning";

  write_map(2, kA1);
  std::ofstream(path("map.json"), std::ios::app) << " ";  // one byte more
  e = make();
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, Status::BadSig) << e.error().detail;

  write_map(3, kA1);
  std::ofstream(path("map.pub")) << crypto::format_minisign_public_key(
      crypto::minisign_generate_key().public_key());
  e = make();
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, Status::BadSig) << e.error().detail;
}

TEST_F(MapSourceTest, AFailedReloadKeepsTheRunningMapASuccessfulOneSwapsIt) {
  write_map(10, kA1);
  auto e = make();
  ASSERT_TRUE(e) << e.error().detail;

  write_map(9, kA2);  // rollback
  auto r = (*e)->reload();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Status::BadSig) << r.error().detail;
  EXPECT_TRUE(contains(r.error().detail, "serial")) << r.error().detail;
  EXPECT_EQ(resolve(**e, "a@pinned.example").routes.at(0).onion, kA1);

  write_map(11, kA2, /*sign=*/false);  // unsigned
  EXPECT_FALSE((*e)->reload());
  EXPECT_EQ(resolve(**e, "a@pinned.example").routes.at(0).onion, kA1);

  write_map(11, kA2);
  ASSERT_TRUE((*e)->reload());
  EXPECT_EQ((*e)->generation(), 2u);
  auto a = resolve(**e, "a@pinned.example");
  EXPECT_EQ(a.routes.at(0).onion, kA2);
  EXPECT_TRUE(contains(a.reason, "serial 11")) << a.reason;
}

TEST_F(MapSourceTest, AnExpiredMapIsRefusedAtLoad) {
  write_map(1, kA1, true, "2001-01-01T00:00:00Z");
  auto e = make();
  ASSERT_FALSE(e);
  EXPECT_TRUE(contains(e.error().detail, "expire")) << e.error().detail;
}

// A map that expires while loaded stops answering (a clock moved past it).
class LaterClock final : public base::Clock {
 public:
  Monotonic monotonic() const noexcept override { return std::chrono::steady_clock::now(); }
  Wall wall() const noexcept override { return wall_; }
  Wall wall_ = std::chrono::system_clock::now();
};

TEST_F(MapSourceTest, AMapThatExpiresWhileLoadedStopsAnsweringAndSaysSoOnce) {
  write_map(5, kA1, true, "2090-01-01T00:00:00Z");
  LaterClock clock;
  auto e = engine::Engine::create(
      loop_, config(), {},
      [this](base::LogLevel l, std::string_view m) {
        if (l >= base::LogLevel::Warning) warnings_.emplace_back(m);
      },
      clock);
  ASSERT_TRUE(e) << e.error().detail;
  EXPECT_EQ(resolve(**e, "a@pinned.example").status, Status::Ok);
  clock.wall_ = std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 365 * 121);
  EXPECT_EQ(resolve(**e, "a@pinned.example").status, Status::NotFound);
  EXPECT_EQ(resolve(**e, "b@pinned.example").status, Status::NotFound);
  int expired = 0;
  for (const auto& w : warnings_) expired += contains(w, "has expired");
  EXPECT_EQ(expired, 1);
}

}  // namespace
