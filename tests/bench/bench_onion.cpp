// bench_onion.cpp - onion address validation throughput (addresses/s).
//
// BM_ParseValid / BadChecksum / Subdomain run the full onionmx check
// (syntax, base32, version, SHA3-256 checksum, Ed25519 prime-order point
// validation) on addresses parse_onion has never seen; BM_ParseValidRepeated
// re-parses the same three (any memo of validated labels shows there).
// BM_BaselinePointValidationOnly isolates the point check.  The baselines, in the
// same run, are what older tools did (a suffix test) and the single
// SHA3-256 over 48 bytes that any checksum verification needs, so the cost
// of the strict validation can be read as a ratio.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
// GCC 12 with -fsanitize=address reports a false -Wmaybe-uninitialized
// inside libstdc++'s std::regex (std::function in the NFA states).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "address/onion_address.hpp"
#include "crypto/crypto.hpp"

namespace {

using onionmx::address::encode_onion;
using onionmx::address::parse_onion;

// parse_onion may remember labels it has already validated (a per-thread
// memo), so "cold" benchmarks must never show it the same label twice: they
// draw from one pool of fresh random addresses with a cursor shared by all
// of them and kept across Google Benchmark's calibration rounds; the pool
// grows (timing paused) if a long run exhausts it.  BM_ParseValidRepeated
// measures the opposite case, the same three addresses over and over.
class FreshAddresses {
 public:
  const std::string& take(benchmark::State& state) {
    if (next_ == pool_.size()) {
      state.PauseTiming();
      grow(4096);
      state.ResumeTiming();
    }
    return pool_[next_++];
  }
  // For fixtures built outside the timed loop.
  const std::string& take_for_setup() {
    if (next_ == pool_.size()) grow(4096);
    return pool_[next_++];
  }
  void grow(std::size_t n) {
    pool_.reserve(pool_.size() + n);
    for (std::size_t i = 0; i < n; ++i) {
      std::array<std::uint8_t, crypto_sign_PUBLICKEYBYTES> pk{};
      std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES> sk{};
      crypto_sign_keypair(pk.data(), sk.data());
      pool_.push_back(encode_onion(pk));
    }
  }

 private:
  std::vector<std::string> pool_;
  std::size_t next_ = 0;
};

FreshAddresses& fresh() {
  static FreshAddresses pool = [] {
    FreshAddresses p;
    if (sodium_init() >= 0) p.grow(16384);
    return p;
  }();
  return pool;
}

// V1..V3 of docs/test-vectors.md §1.4.
const std::vector<std::string> kDocAddresses = {
    "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion",
    "efjprum3peosirjsilqv6lvlns3476t3njpngaexsyhangeb3mjo7sad.onion",
    "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid.onion",
};

template <class NextName>
void run_parse(benchmark::State& state, bool expect_ok, NextName next_name) {
  std::size_t wrong = 0;
  for (auto _ : state) {
    auto r = parse_onion(next_name());
    wrong += static_cast<bool>(r) != expect_ok;
    benchmark::DoNotOptimize(r);
  }
  if (wrong != 0) state.SkipWithError("unexpected verdict");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// Full validation of addresses never parsed before (V1..V3 first, once).
void BM_ParseValid(benchmark::State& state) {
  fresh();  // build the pool before timing starts
  static std::size_t doc = 0;
  run_parse(state, true, [&]() -> const std::string& {
    return doc < kDocAddresses.size() ? kDocAddresses[doc++] : fresh().take(state);
  });
}

// One checksum character changed (position 52 holds only checksum bits):
// rejected after the SHA3, before the point check.  Rejections are never
// remembered, so a fixed set is fine.
void BM_ParseBadChecksum(benchmark::State& state) {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (int i = 0; i < 1024; ++i) {
      std::string a = fresh().take_for_setup();
      a[52] = a[52] == 'a' ? 'b' : 'a';
      v.push_back(a);
    }
    return v;
  }();
  std::size_t i = 0;
  run_parse(state, false, [&]() -> const std::string& {
    if (i == names.size()) i = 0;
    return names[i++];
  });
}

void BM_ParseSubdomain(benchmark::State& state) {
  fresh();  // build the pool before timing starts
  std::string name;
  run_parse(state, true, [&]() -> const std::string& {
    name = "smtp." + fresh().take(state);
    return name;
  });
}

// The same few addresses again and again (what a busy MTA mostly sees).
void BM_ParseValidRepeated(benchmark::State& state) {
  std::size_t i = 0;
  run_parse(state, true, [&]() -> const std::string& {
    if (i == kDocAddresses.size()) i = 0;
    return kDocAddresses[i++];
  });
}

const std::vector<std::string>& suffix_inputs() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> out = kDocAddresses;
    for (int i = 0; i < 1021; ++i) out.push_back(fresh().take_for_setup());
    return out;
  }();
  return v;
}

// Baseline 1a: what older tools did, a regex search for the suffix.
void BM_BaselineSuffixCheck_Regex(benchmark::State& state) {
  const std::regex suffix(R"(onion\.?$)");
  const auto& names = suffix_inputs();
  std::size_t i = 0;
  std::size_t hits = 0;
  for (auto _ : state) {
    hits += std::regex_search(names[i], suffix);
    if (++i == names.size()) i = 0;
  }
  benchmark::DoNotOptimize(hits);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// Baseline 1b: a plain ends_with(".onion").
void BM_BaselineSuffixCheck_EndsWith(benchmark::State& state) {
  const auto& names = suffix_inputs();
  std::size_t i = 0;
  std::size_t hits = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(names[i].data());
    hits += std::string_view(names[i]).ends_with(".onion");
    if (++i == names.size()) i = 0;
  }
  benchmark::DoNotOptimize(hits);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// Baseline 2: only the checksum hash, SHA3-256(".onion checksum" | pk | 03).
void BM_BaselineSha3Only(benchmark::State& state) {
  std::array<std::uint8_t, 48> in{};
  std::memcpy(in.data(), ".onion checksum", 15);
  in[47] = 0x03;
  onionmx::crypto::Sha3Digest md{};
  std::uint8_t n = 0;
  for (auto _ : state) {
    in[15] = n++;  // a different key byte each time
    benchmark::DoNotOptimize(onionmx::crypto::sha3_256(in, md));
    benchmark::DoNotOptimize(md);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// For reading the cost split: only the Ed25519 point validation.
void BM_BaselinePointValidationOnly(benchmark::State& state) {
  std::vector<std::array<std::uint8_t, 32>> keys;
  for (const auto& a : suffix_inputs()) keys.push_back(parse_onion(a)->pubkey);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(onionmx::crypto::ed25519_is_valid_point(keys[i]));
    if (++i == keys.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// crypto_scalarmult_ed25519_noclamp(q, L, P) as a cheaper order test?  No:
// libsodium 1.0.18 runs the full subgroup check on P inside it (then the
// multiplication), and it returns -1 both for invalid P and for the identity
// result [L]P of every valid P, so it can neither be faster nor tell the
// two apart.  Measured here for the record.
void BM_AlternativeScalarmultNoclampByL(benchmark::State& state) {
  std::vector<std::array<std::uint8_t, 32>> keys;
  for (const auto& a : suffix_inputs()) keys.push_back(parse_onion(a)->pubkey);
  // L = 2^252 + 27742317777372353535851937790883648493, little-endian.
  static constexpr std::array<std::uint8_t, 32> kL = {
      0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
      0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};
  std::array<std::uint8_t, 32> out{};
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        crypto_scalarmult_ed25519_noclamp(out.data(), kL.data(), keys[i].data()));
    if (++i == keys.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// What the static map does instead on a reload: the keys of the last
// accepted map are remembered (state directory, map-valid-keys), so a key
// costs a binary search in 100 000 sorted keys instead of the point check.
void BM_KnownKeyLookup100k(benchmark::State& state) {
  std::vector<std::array<std::uint8_t, 32>> known(100000);
  for (auto& k : known) randombytes_buf(k.data(), k.size());
  std::sort(known.begin(), known.end());
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(std::binary_search(known.begin(), known.end(), known[i]));
    i = (i + 7919) % known.size();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

BENCHMARK(BM_ParseValid);
BENCHMARK(BM_ParseBadChecksum);
BENCHMARK(BM_ParseSubdomain);
BENCHMARK(BM_ParseValidRepeated);
BENCHMARK(BM_BaselineSuffixCheck_Regex);
BENCHMARK(BM_BaselineSuffixCheck_EndsWith);
BENCHMARK(BM_BaselineSha3Only);
BENCHMARK(BM_BaselinePointValidationOnly);
BENCHMARK(BM_AlternativeScalarmultNoclampByL);
BENCHMARK(BM_KnownKeyLookup100k);

}  // namespace

BENCHMARK_MAIN();

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
