// bench_map.cpp - loading and querying a large signed static map.
//
// A child process generates a map of N domains (default 1 000 000) over K
// distinct onions (default 100 000, each from a random Ed25519 key via
// address::encode_onion), signs it with a fresh minisign key and writes
// MAP and MAP.minisig to a temporary directory.  The parent then measures,
// with a clean peak-RSS counter:
//   - load = read + minisign verify + JSON parse + validation + index
//     (map::load_signed_map), cold on all cores and on one thread, and a
//     warm reload that finds the validated-key cache of the first load;
//   - peak RSS (VmHWM) and resident bytes per entry after the load;
//   - lookups/s on one thread, hits (exact and subdomain) and misses.
// Same-run baselines: a std::unordered_map<std::string, std::string> of the
// same domains (build time, lookups/s), and the onion point check alone
// (crypto::ed25519_is_valid_point over the K keys, one thread).
// Usage: bench_map [domains] [onions]
#include <sodium.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "address/onion_address.hpp"
#include "base/base32.hpp"
#include "crypto/crypto.hpp"
#include "crypto/minisign.hpp"
#include "map/signed_map.hpp"

namespace {

using namespace onionmx;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Process CPU time (all threads): on a shared machine wall time says little.
double cpu_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

long status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) return std::atol(line.c_str() + prefix.size());
  return -1;
}

std::string domain_name(std::size_t i) { return "d" + std::to_string(i) + ".example-mail.net"; }

std::vector<std::string> make_onions(std::size_t k) {
  std::vector<std::string> onions;
  onions.reserve(k);
  std::array<std::uint8_t, 32> pk{};
  std::array<std::uint8_t, 64> sk{};
  for (std::size_t i = 0; i < k; ++i) {
    crypto_sign_keypair(pk.data(), sk.data());
    onions.push_back(address::encode_onion(pk));
  }
  return onions;
}

int generate(const std::string& dir, std::size_t n, std::size_t k) {
  auto onions = make_onions(k);
  std::string text =
      "{\"format\": \"onionmx-map\", \"version\": 1, \"serial\": 1, "
      "\"expires\": \"2099-01-01T00:00:00Z\", \"entries\": {\n";
  text.reserve(n * 96);
  for (std::size_t i = 0; i < n; ++i) {
    text += "\"" + domain_name(i) + "\": [\"" + onions[i % k] + "\"]";
    text += i + 1 < n ? ",\n" : "\n";
  }
  text += "}}\n";
  auto key = crypto::minisign_generate_key();
  auto sig = crypto::minisign_sign(
      key, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), "bench",
      "bench");
  std::ofstream(dir + "/map.json", std::ios::binary) << text;
  std::ofstream(dir + "/map.json.minisig", std::ios::binary) << *sig;
  std::ofstream(dir + "/key.pub", std::ios::binary)
      << crypto::format_minisign_public_key(key.public_key());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1000000;
  const std::size_t k = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 100000;
  if (sodium_init() < 0 || n == 0 || k == 0) return 2;
  char tmpl[] = "/tmp/onionmx-bench-map.XXXXXX";
  if (!::mkdtemp(tmpl)) return 2;
  const std::string dir = tmpl;

  auto t0 = Clock::now();
  pid_t child = ::fork();
  if (child == 0) _exit(generate(dir, n, k));
  int st = 0;
  ::waitpid(child, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return 2;
  std::printf("generated %zu domains over %zu onions in %.2f s (%.1f MB)\n", n, k,
              seconds_since(t0),
              static_cast<double>(std::filesystem::file_size(dir + "/map.json")) / 1e6);

  std::ifstream pub_in(dir + "/key.pub");
  std::string pub_text((std::istreambuf_iterator<char>(pub_in)), {});
  map::LoadOptions opt;
  opt.trusted_keys.push_back(*crypto::parse_minisign_public_key(pub_text));
  opt.state_dir = dir;
  opt.now = 1800000000;

  const long rss0 = status_kb("VmRSS");
  const long hwm0 = status_kb("VmHWM");
  t0 = Clock::now();
  double c0 = cpu_now();
  auto loaded = map::load_signed_map(dir + "/map.json", opt);
  const double load_s = seconds_since(t0);
  const double load_cpu = cpu_now() - c0;
  if (!loaded) {
    std::fprintf(stderr, "load failed: %s\n", loaded.error().detail.c_str());
    return 1;
  }
  const long rss1 = status_kb("VmRSS");
  const long hwm1 = status_kb("VmHWM");
  const auto& m = loaded->map;
  std::printf("cold load+verify+index (%u threads): wall %.3f s, cpu %.3f s  [goal <= 3 s]\n",
              std::thread::hardware_concurrency(), load_s, load_cpu);
  std::printf(
      "peak RSS %.1f MB (before %.1f MB): %.0f B/entry peak; resident after load "
      "%.0f B/entry [goal <= 200]; index estimate %.0f B/entry\n",
      static_cast<double>(hwm1) / 1024, static_cast<double>(hwm0) / 1024,
      static_cast<double>(hwm1 - rss0) * 1024 / static_cast<double>(n),
      static_cast<double>(rss1 - rss0) * 1024 / static_cast<double>(n),
      static_cast<double>(m.memory_bytes()) / static_cast<double>(n));

  // Lookups on one thread.
  std::vector<std::string> hits, subs, misses;
  std::mt19937_64 rng(1);
  for (int i = 0; i < 200000; ++i) {
    const std::size_t j = rng() % n;
    hits.push_back(domain_name(j));
    subs.push_back("mx." + domain_name(j));  // no ".parent" key: walks up, then misses
    misses.push_back("x" + std::to_string(j) + ".nowhere.example");
  }
  auto rate = [](const std::vector<std::string>& keys, auto&& fn) {
    std::size_t found = 0;
    const double t = cpu_now();
    for (int round = 0; round < 5; ++round)
      for (const auto& key : keys) found += fn(key) ? 1 : 0;
    const double s = cpu_now() - t;
    return std::pair<double, std::size_t>(5.0 * static_cast<double>(keys.size()) / s, found);
  };
  auto [hit_rate, hit_found] = rate(hits, [&](const std::string& d) { return m.lookup(d); });
  auto [sub_rate, sub_found] = rate(subs, [&](const std::string& d) { return m.lookup(d); });
  auto [miss_rate, miss_found] = rate(misses, [&](const std::string& d) { return m.lookup(d); });
  if (hit_found != 5 * hits.size() || sub_found != 0 || miss_found != 0) {
    std::fprintf(stderr, "lookup results wrong\n");
    return 1;
  }

  // Baseline: a plain hash map of the same domains (exact match only).
  std::unordered_map<std::string, std::string> plain;
  t0 = Clock::now();
  plain.reserve(n);
  m.for_each([&](std::string_view key, const std::vector<record::Route>& routes) {
    plain.emplace(std::string(key), routes.front().onion);
  });
  const double plain_build_s = seconds_since(t0);
  auto [plain_hit, ph] =
      rate(hits, [&](const std::string& d) { return plain.find(d) != plain.end(); });
  auto [plain_miss, pm] =
      rate(misses, [&](const std::string& d) { return plain.find(d) != plain.end(); });
  (void)ph;
  (void)pm;
  std::printf(
      "lookups/s (cpu time), one thread: hits %.2f M, subdomain walk-up misses %.2f M, misses %.2f "
      "M "
      "[goal >= 2 M]\n",
      hit_rate / 1e6, sub_rate / 1e6, miss_rate / 1e6);
  std::printf(
      "baseline unordered_map<string,string>: hits %.2f M/s, misses %.2f M/s "
      "(ratio map/baseline: hits %.2f, misses %.2f); its build from the index alone "
      "%.3f s\n",
      plain_hit / 1e6, plain_miss / 1e6, hit_rate / plain_hit, miss_rate / plain_miss,
      plain_build_s);
  plain.clear();

  // Baseline: the point check alone, one thread, over the K distinct keys.
  std::vector<std::array<std::uint8_t, 32>> keys;
  m.for_each([&](std::string_view, const std::vector<record::Route>& routes) {
    if (keys.size() < 20000) {
      auto raw = base32::decode(std::string_view(routes.front().onion).substr(0, 56));
      std::array<std::uint8_t, 32> pk{};
      std::copy_n(raw->begin(), 32, pk.begin());
      keys.push_back(pk);
    }
  });
  const std::size_t sample = std::min<std::size_t>(keys.size(), 20000);
  c0 = cpu_now();
  std::size_t valid = 0;
  for (std::size_t i = 0; i < sample; ++i) valid += crypto::ed25519_is_valid_point(keys[i]);
  const double point_s = (cpu_now() - c0) * static_cast<double>(k) / static_cast<double>(sample);
  std::printf(
      "baseline point check alone (libsodium is_valid_point, 1 thread): cpu %.2f s for %zu "
      "keys (%.1f us each; cpu ratio cold load / point checks %.2f)\n",
      point_s, k, point_s * 1e6 / static_cast<double>(k), load_cpu / point_s);
  (void)valid;

  // Baseline: nlohmann's parser alone over the same bytes, no handler work
  // (json::accept), and BLAKE2b-512 of the file (the prehash).
  {
    auto text = map::read_whole_file(dir + "/map.json", map::kMaxMapBytes);
    c0 = cpu_now();
    const bool ok = nlohmann::json::accept(*text);
    const double accept_s = cpu_now() - c0;
    std::array<std::uint8_t, 64> h{};
    c0 = cpu_now();
    crypto_generichash(h.data(), h.size(), reinterpret_cast<const std::uint8_t*>(text->data()),
                       text->size(), nullptr, 0);
    const double hash_s = cpu_now() - c0;
    std::printf(
        "baseline JSON syntax check alone (nlohmann accept): cpu %.3f s%s; BLAKE2b-512 of "
        "the file cpu %.3f s\n",
        accept_s, ok ? "" : " (rejected!)", hash_s);
  }

  // The same cold load on one thread (fresh state directory: no key cache).
  loaded = tl::unexpected(base::Error{});
  opt.parse.threads = 1;
  opt.state_dir = dir + "/state1";
  std::filesystem::create_directory(opt.state_dir);
  t0 = Clock::now();
  c0 = cpu_now();
  auto one = map::load_signed_map(dir + "/map.json", opt);
  const double one_s = seconds_since(t0);
  const double one_cpu = cpu_now() - c0;
  std::printf("cold load on 1 thread: wall %.3f s, cpu %.3f s (wall all cores / 1 thread = %.2f)\n",
              one_s, one_cpu, load_s / one_s);
  one = tl::unexpected(base::Error{});

  // A reload of the same map (the daemon's usual case): the first load left
  // map-valid-keys in the state directory, so no point checks.
  opt.parse.threads = 0;
  opt.state_dir = dir;
  t0 = Clock::now();
  c0 = cpu_now();
  auto warm = map::load_signed_map(dir + "/map.json", opt);
  const double warm_s = seconds_since(t0);
  const double warm_cpu = cpu_now() - c0;
  std::printf(
      "warm reload (validated-key cache, all cores): wall %.3f s, cpu %.3f s "
      "(cpu warm / cold = %.2f) [goal <= 3 s]\n",
      warm_s, warm_cpu, warm_cpu / load_cpu);
  std::filesystem::remove_all(dir);
  return warm ? 0 : 1;
}
