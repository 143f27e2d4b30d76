// test_srv.cpp - RFC 2782 SRV ordering (docs/test-vectors.md §3).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "crypto/crypto.hpp"
#include "record/srv.hpp"

namespace {

using onionmx::record::order_srv;
using onionmx::record::shuffle;
using onionmx::record::SrvRecord;
using onionmx::record::UniformRng;

// A1/A2/A3 = V1/V2/V3 of docs/test-vectors.md §1.4; `_onion-mx._tcp.multi`
// of docs/test-vectors.md §2, in zone order.
const std::string kA1 = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion";
const std::string kA2 = "efjprum3peosirjsilqv6lvlns3476t3njpngaexsyhangeb3mjo7sad.onion";
const std::string kA3 = "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid.onion";
const std::string kBackup = "backup.example.net";

std::vector<SrvRecord> multi_rrset() {
  return {
      {10, 60, 25, kA1},
      {10, 20, 25, kA2},
      {10, 0, 25, kA3},
      {20, 0, 2525, kBackup},
  };
}

// Replays a fixed sequence and records every call as (sum, value).
class ScriptedRng {
 public:
  explicit ScriptedRng(std::vector<std::uint32_t> script) : script_(std::move(script)) {}
  UniformRng fn() {
    return [this](std::uint32_t n) {
      std::uint32_t v = next_ < script_.size() ? script_[next_] : 0;
      ++next_;
      EXPECT_LE(v, n) << "scripted value out of range for rnd(" << n << ")";
      calls.emplace_back(n, v);
      return v;
    };
  }
  std::vector<std::pair<std::uint32_t, std::uint32_t>> calls;

 private:
  std::vector<std::uint32_t> script_;
  std::size_t next_ = 0;
};

std::vector<std::string> targets(const std::vector<SrvRecord>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(r.target);
  return out;
}

using Calls = std::vector<std::pair<std::uint32_t, std::uint32_t>>;

struct ReferenceVector {
  std::vector<std::uint32_t> rnd;
  std::vector<std::string> order;
  Calls calls;
};

// docs/test-vectors.md §3 "Reference vectors on _onion-mx._tcp.multi".
std::vector<ReferenceVector> reference_vectors() {
  return {
      {{37, 0, 0, 0}, {kA1, kA3, kA2, kBackup}, {{80, 37}, {20, 0}, {20, 0}, {0, 0}}},
      {{0, 61, 0, 0}, {kA3, kA2, kA1, kBackup}, {{80, 0}, {80, 61}, {60, 0}, {0, 0}}},
      {{80, 50, 0, 0}, {kA2, kA1, kA3, kBackup}, {{80, 80}, {60, 50}, {0, 0}, {0, 0}}},
      {{61, 0, 0, 0}, {kA2, kA3, kA1, kBackup}, {{80, 61}, {60, 0}, {60, 0}, {0, 0}}},
  };
}

TEST(SrvOrder, ReplaysTheFourReferenceVectorsOfDnsMdExactly) {
  for (const auto& v : reference_vectors()) {
    ScriptedRng rng(v.rnd);
    auto out = order_srv(multi_rrset(), rng.fn());
    EXPECT_EQ(targets(out), v.order) << "rnd " << ::testing::PrintToString(v.rnd);
    EXPECT_EQ(rng.calls, v.calls) << "rnd " << ::testing::PrintToString(v.rnd);
  }
}

TEST(SrvOrder, ReferenceVectorsDoNotDependOnWhereTheLowerPriorityRecordSits) {
  for (const auto& v : reference_vectors()) {
    auto rrset = multi_rrset();
    std::rotate(rrset.begin(), rrset.begin() + 3, rrset.end());  // backup first
    ScriptedRng rng(v.rnd);
    auto out = order_srv(rrset, rng.fn());
    EXPECT_EQ(targets(out), v.order);
    EXPECT_EQ(rng.calls, v.calls);
  }
}

TEST(SrvOrder, RecordsKeepTheirPortPriorityAndWeight) {
  ScriptedRng rng({37, 0, 0, 0});
  auto out = order_srv(multi_rrset(), rng.fn());
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].weight, 60);
  EXPECT_EQ(out[0].priority, 10);
  EXPECT_EQ(out[0].port, 25);
  EXPECT_EQ(out[3].port, 2525);
  EXPECT_EQ(out[3].priority, 20);
}

TEST(SrvOrder, LowestPriorityComesFirstWhateverTheWeights) {
  std::vector<SrvRecord> rs = {{30, 1000, 25, "c"},
                               {10, 0, 25, "a"},
                               {20, 65535, 25, "b"},
                               {0, 0, 25, "z"},
                               {65535, 10, 25, "last"}};
  ScriptedRng rng({});
  auto out = order_srv(rs, rng.fn());
  EXPECT_EQ(targets(out), (std::vector<std::string>{"z", "a", "b", "c", "last"}));
}

TEST(SrvOrder, AllZeroWeightsDrawFromZeroAndKeepTheGivenOrder) {
  std::vector<SrvRecord> rs = {{5, 0, 25, "x"}, {5, 0, 25, "y"}, {5, 0, 25, "z"}};
  ScriptedRng rng({0, 0, 0});
  auto out = order_srv(rs, rng.fn());
  EXPECT_EQ(targets(out), (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(rng.calls, (Calls{{0, 0}, {0, 0}, {0, 0}}));
}

TEST(SrvOrder, LargestWeightsDoNotOverflowTheRunningSum) {
  std::vector<SrvRecord> rs = {{1, 65535, 25, "p"}, {1, 65535, 25, "q"}, {1, 65535, 25, "r"}};
  ScriptedRng rng({196605, 65536, 0});
  auto out = order_srv(rs, rng.fn());
  EXPECT_EQ(targets(out), (std::vector<std::string>{"r", "q", "p"}));
  EXPECT_EQ(rng.calls, (Calls{{196605, 196605}, {131070, 65536}, {65535, 0}}));
}

TEST(SrvOrder, EmptyInputGivesEmptyOutputWithoutDrawing) {
  ScriptedRng rng({});
  EXPECT_TRUE(order_srv({}, rng.fn()).empty());
  EXPECT_TRUE(rng.calls.empty());
}

TEST(SrvShuffle, IsAPermutationAndDrawsOnlyWithinBounds) {
  std::vector<SrvRecord> rs;
  for (int i = 0; i < 10; ++i) rs.push_back({1, 1, 25, std::to_string(i)});
  std::uint32_t seq = 7;
  std::vector<std::uint32_t> bounds;
  shuffle(rs, [&](std::uint32_t n) {
    bounds.push_back(n);
    seq = seq * 1103515245u + 12345u;
    return (seq >> 8) % (n + 1);
  });
  std::vector<std::string> got = targets(rs);
  std::sort(got.begin(), got.end());
  std::vector<std::string> want;
  for (int i = 0; i < 10; ++i) want.push_back(std::to_string(i));
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  // Fisher-Yates: one draw per position, bounds 9, 8, ..., 1.
  EXPECT_EQ(bounds, (std::vector<std::uint32_t>{9, 8, 7, 6, 5, 4, 3, 2, 1}));
}

TEST(SrvShuffle, MovesRecordsAccordingToTheDraws) {
  // With rnd always returning its bound, Fisher-Yates leaves the order; with
  // 0 it moves the last record to the front: shuffle really moves records.
  std::vector<SrvRecord> rs = {{1, 0, 25, "a"}, {1, 0, 25, "b"}, {1, 0, 25, "c"}};
  auto kept = rs;
  shuffle(kept, [](std::uint32_t n) { return n; });
  EXPECT_EQ(targets(kept), (std::vector<std::string>{"a", "b", "c"}));
  shuffle(rs, [](std::uint32_t) { return 0u; });
  EXPECT_NE(targets(rs), (std::vector<std::string>{"a", "b", "c"}));
}

// ------------------------------------------------------------ statistics
//
// {w60, w20, w0} in one priority, drawn with the production RNG.  The weight-0
// record is tried first and wins only for x = 0, so the first pick follows
// 1/81, 60/81, 20/81 (x uniform on [0, 80]).  The critical values below are
// for p ≈ 1e-6, so a correct implementation fails about once in a million
// runs, while ignoring the weights gives a statistic in the thousands.

constexpr int kDraws = 20000;

double chi_square(const std::vector<long>& observed, const std::vector<double>& p) {
  double chi = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double e = p[i] * kDraws;
    chi += (observed[i] - e) * (observed[i] - e) / e;
  }
  return chi;
}

std::vector<SrvRecord> weighted_trio() {
  return {{10, 60, 25, "w60"}, {10, 20, 25, "w20"}, {10, 0, 25, "w0"}};
}

TEST(SrvStatistics, FirstPickFrequenciesFollowTheWeights) {
  const UniformRng rnd = [](std::uint32_t n) {
    return onionmx::crypto::random_uniform_inclusive(n);
  };
  std::map<std::string, long> first;
  for (int i = 0; i < kDraws; ++i) ++first[order_srv(weighted_trio(), rnd).front().target];
  const std::vector<long> obs = {first["w60"], first["w20"], first["w0"]};
  const std::vector<double> p = {60.0 / 81, 20.0 / 81, 1.0 / 81};
  const double chi = chi_square(obs, p);
  EXPECT_LT(chi, 27.6) << "first picks w60/w20/w0 = " << obs[0] << "/" << obs[1] << "/" << obs[2]
                       << ", expected about " << p[0] * kDraws << "/" << p[1] * kDraws << "/"
                       << p[2] * kDraws;
  // And each cell within 5 sigma on its own.
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double sigma = std::sqrt(kDraws * p[i] * (1 - p[i]));
    EXPECT_NEAR(static_cast<double>(obs[i]), p[i] * kDraws, 5 * sigma) << "cell " << i;
  }
}

TEST(SrvStatistics, WholeOrderingsFollowTheRfc2782Probabilities) {
  // After w60: [w0, w20], sum 20 -> w0 1/21.  After w20: [w0, w60] -> w0 1/61.
  // After w0: [w60, w20], sum 80 -> w60 61/81 (x in [0, 60]), w20 20/81.
  const UniformRng rnd = [](std::uint32_t n) {
    return onionmx::crypto::random_uniform_inclusive(n);
  };
  const std::vector<std::string> perms = {"w60 w20 w0", "w60 w0 w20", "w20 w60 w0",
                                          "w20 w0 w60", "w0 w60 w20", "w0 w20 w60"};
  const std::vector<double> p = {60.0 / 81 * 20 / 21, 60.0 / 81 * 1 / 21, 20.0 / 81 * 60 / 61,
                                 20.0 / 81 * 1 / 61,  1.0 / 81 * 61 / 81, 1.0 / 81 * 20 / 81};
  std::map<std::string, long> seen;
  for (int i = 0; i < kDraws; ++i) {
    auto out = order_srv(weighted_trio(), rnd);
    ASSERT_EQ(out.size(), 3u);
    ++seen[out[0].target + " " + out[1].target + " " + out[2].target];
  }
  std::vector<long> obs;
  for (const auto& k : perms) obs.push_back(seen[k]);
  const double chi = chi_square(obs, p);
  EXPECT_LT(chi, 35.9) << ::testing::PrintToString(obs);  // 5 degrees of freedom
}

TEST(SrvStatistics, ProductionRngStaysWithinItsInclusiveBound) {
  std::array<long, 3> hist{};
  for (int i = 0; i < 3000; ++i) {
    const auto v = onionmx::crypto::random_uniform_inclusive(2);
    ASSERT_LE(v, 2u);
    ++hist[v];
  }
  for (long h : hist) EXPECT_GT(h, 800);  // each of 0, 1, 2 about 1000 times
  EXPECT_EQ(onionmx::crypto::random_uniform_inclusive(0), 0u);
}

}  // namespace
