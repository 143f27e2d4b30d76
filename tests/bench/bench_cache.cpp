// bench_cache.cpp - the local cache in process, on one thread (issue 8:
// goal >= 5 million cached hits/s).
//
// For N = 10 000 and 1 000 000 entries, with keys drawn at random, hits/s of
//   store     cache::Cache::find + freshness() on the real monotonic clock;
//   fetch     source::CachedLookup::fetch (the whole SrvLookup surface: the
//             RecordSet copy, the callback);
//   chain     resolver::Resolver with CacheSource + DnsSource over one
//             shared CachedLookup, resolving "user@domainN.example";
//   chain+trust  the same with the route-trust gate: entries without a
//             policy, then all under enforce with a live pin;
//   baseline  std::unordered_map<std::string, cache::Entry>::find of the
//             same keys + the same freshness test (ratios are against it);
//   miss      CachedLookup::fetch of names it does not hold, answered at
//             once by a scripted inner lookup: store, LRU eviction.
// Then the memory per entry: mallinfo2() bytes in use (and RSS) after
// inserting 1 000 000 entries of the usual shape (one SRV record with a
// 62-character onion, a 20-character domain), positive and negative, and
// the same for the baseline map.  Rates are per CPU second (a shared
// machine says little through wall time).
// Each rate is the best of 3 passes over the same random keys.
// Usage: bench_cache [lookups per pass, default 500 000]
#include <malloc.h>
#include <sodium.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "address/onion_address.hpp"
#include "base/clock.hpp"
#include "cache/cache.hpp"
#include "resolver/resolver.hpp"
#include "source/cache_source.hpp"
#include "source/cached_lookup.hpp"
#include "source/dns_source.hpp"
#include "source/trust_gate.hpp"

namespace {

using namespace onionmx;

double cpu_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

long rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

std::size_t heap_in_use() { return mallinfo2().uordblks + mallinfo2().hblkhd; }

// "domain123456.example": 20 characters for six digits.
std::string domain_name(std::size_t i) { return "domain" + std::to_string(i) + ".example"; }

std::string random_onion() {
  std::array<std::uint8_t, 32> pk{};
  std::array<std::uint8_t, 64> sk{};
  crypto_sign_keypair(pk.data(), sk.data());
  return address::encode_onion(pk);
}

const base::Clock& clock() { return base::SystemClock::instance(); }

cache::Entry positive_entry(std::string domain, const std::string& onion) {
  cache::Entry e;
  e.positive = true;
  e.ttl = 3600;
  e.fetched = clock().monotonic();
  e.fetched_wall = 1700000000;
  e.owner = "_onion-mx._tcp." + domain;
  e.records = {record::SrvRecord{10, 0, 25, onion}};
  e.domain = std::move(domain);
  return e;
}

cache::Entry negative_entry(std::string domain) {
  cache::Entry e;
  e.ttl = 900;
  e.fetched = clock().monotonic();
  e.fetched_wall = 1700000000;
  e.reason = "NXDOMAIN";
  e.domain = std::move(domain);
  return e;
}

// Answers every fetch before returning, with one record (the miss path).
class Scripted final : public source::SrvLookup {
 public:
  explicit Scripted(std::string onion) : onion_(std::move(onion)) {}
  void fetch(const source::Query& q, source::FetchCallback done) override {
    ++fetches;
    record::RecordSet set;
    set.status = base::Status::Ok;
    set.ttl = 3600;
    set.received = clock().monotonic();
    set.owner = "_onion-mx._tcp." + q.domain;
    set.records = {record::SrvRecord{10, 0, 25, onion_}};
    done(std::move(set));
  }
  std::size_t pending() const noexcept override { return 0; }
  std::size_t fetches = 0;

 private:
  std::string onion_;
};

// xorshift: cheap and deterministic, for the RFC 2782 draw.
std::uint32_t draw(std::uint32_t upper) {
  static std::uint64_t s = 88172645463325252ull;
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return upper == UINT32_MAX ? static_cast<std::uint32_t>(s)
                             : static_cast<std::uint32_t>(s % (std::uint64_t{upper} + 1));
}

struct Row {
  std::string name;
  std::size_t n;
  double rate;  // per CPU second
};

// Runs fn(i) for every index of `order`, kPasses times; returns the best
// pass's calls per CPU second (the machine is shared: the best pass is the
// least disturbed) and aborts if fn missed (every measured call must hit).
constexpr int kPasses = 3;
template <class Fn>
double measure(const std::vector<std::uint32_t>& order, Fn&& fn) {
  double best = 0;
  for (int pass = 0; pass < kPasses; ++pass) {
    std::size_t ok = 0;
    const double t = cpu_now();
    for (std::uint32_t i : order) ok += fn(i) ? 1 : 0;
    const double s = cpu_now() - t;
    if (ok != order.size()) {
      std::fprintf(stderr, "bench_cache: %zu of %zu lookups were not hits\n", order.size() - ok,
                   order.size());
      std::exit(1);
    }
    best = std::max(best, static_cast<double>(order.size()) / s);
  }
  return best;
}

void print_rows(const std::vector<Row>& rows) {
  std::printf("\n%-44s %10s %14s %10s\n", "one thread, random keys", "entries", "hits/s", "vs map");
  for (const auto& r : rows) {
    double base = 0;
    for (const auto& b : rows)
      if (b.n == r.n && b.name.rfind("baseline", 0) == 0) base = b.rate;
    std::printf("%-44s %10zu %12.2f M %9.2fx\n", r.name.c_str(), r.n, r.rate / 1e6,
                base > 0 ? r.rate / base : 0.0);
  }
}

void run_size(std::size_t n, std::size_t lookups, const std::vector<std::string>& onions,
              std::vector<Row>& rows) {
  std::vector<std::string> domains;
  domains.reserve(n);
  for (std::size_t i = 0; i < n; ++i) domains.push_back(domain_name(i));
  std::mt19937 rng(static_cast<std::uint32_t>(n));
  std::vector<std::uint32_t> order(lookups);
  for (auto& i : order) i = static_cast<std::uint32_t>(rng() % n);

  cache::Settings s;
  s.size = n;
  auto store = std::make_shared<cache::Cache>(s);
  for (std::size_t i = 0; i < n; ++i)
    store->put(positive_entry(domains[i], onions[i % onions.size()]));

  rows.push_back({"store: Cache::find + freshness", n, measure(order, [&](std::uint32_t i) {
                    const cache::Entry* e = store->find(domains[i]);
                    return e &&
                           store->freshness(*e, clock().monotonic()) == cache::Freshness::Fresh;
                  })});

  // The same without the LRU move (Cache::peek): what the move costs.
  rows.push_back(
      {"store: Cache::peek + freshness (no LRU)", n, measure(order, [&](std::uint32_t i) {
         const cache::Entry* e = store->peek(domains[i]);
         return e && store->freshness(*e, clock().monotonic()) == cache::Freshness::Fresh;
       })});

  auto cached = std::make_shared<source::CachedLookup>(std::make_unique<Scripted>(onions[0]), store,
                                                       clock(), nullptr);
  source::Query q;
  rows.push_back(
      {"fetch: CachedLookup::fetch (RecordSet+cb)", n, measure(order, [&](std::uint32_t i) {
         q.domain = domains[i];
         bool hit = false;
         cached->fetch(q, [&](record::RecordSet set) {
           hit = set.from_cache && set.status == base::Status::Ok;
         });
         return hit;
       })});

  {
    std::vector<std::unique_ptr<source::Source>> chain;
    chain.push_back(std::make_unique<source::CacheSource>(cached, draw));
    chain.push_back(std::make_unique<source::DnsSource>(cached, draw));
    resolver::Resolver r(std::move(chain), resolver::FailurePolicy::Defer, nullptr);
    std::string key;
    rows.push_back(
        {"chain: Resolver cache+dns, user@domainN", n, measure(order, [&](std::uint32_t i) {
           key = "user@";
           key += domains[i];
           bool hit = false;
           r.resolve(key, false, [&](record::Answer a) {
             hit = a.status == base::Status::Ok && a.source == "cache";
           });
           return hit;
         })});
  }
  // The same chain with the route-trust gate (docs/route-trust.md) on
  // every hit: first entries without a policy (most domains), then every
  // entry under an enforce policy with a live pin.
  for (const bool enforce : {false, true}) {
    if (enforce) {
      const std::int64_t now =
          std::chrono::duration_cast<std::chrono::seconds>(clock().wall().time_since_epoch())
              .count();
      for (const auto& d : domains) {
        cache::Entry* e = store->find(d);
        e->policy.state = record::PolicyFacts::State::Valid;
        e->policy.policy = {record::PolicyMode::Enforce, 604800};
        e->guard.state = record::GuardFacts::State::Checked;
        store->put_pin({d, e->records, now + 604800, 604800});
      }
    }
    auto gate =
        std::make_shared<source::TrustGate>(store, clock(), nullptr, record::TrustSettings{});
    std::vector<std::unique_ptr<source::Source>> chain;
    chain.push_back(std::make_unique<source::CacheSource>(cached, draw, gate));
    chain.push_back(std::make_unique<source::DnsSource>(cached, draw, gate));
    resolver::Resolver r(std::move(chain), resolver::FailurePolicy::Defer, nullptr);
    std::string key;
    rows.push_back({enforce ? "chain+trust: enforce, pinned" : "chain+trust: no policy", n,
                    measure(order, [&](std::uint32_t i) {
                      key = "user@";
                      key += domains[i];
                      bool hit = false;
                      r.resolve(key, false, [&](record::Answer a) {
                        hit = a.status == base::Status::Ok && a.source == "cache" &&
                              a.policy.pinned == enforce;
                      });
                      return hit;
                    })});
  }
  if (const auto misses = store->stats().misses; misses != 0) {
    std::fprintf(stderr, "bench_cache: %llu misses among the hits\n",
                 static_cast<unsigned long long>(misses));
    std::exit(1);
  }
  cached.reset();
  store.reset();

  {
    std::unordered_map<std::string, cache::Entry> plain;
    plain.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
      plain.emplace(domains[i], positive_entry(domains[i], onions[i % onions.size()]));
    rows.push_back(
        {"baseline: unordered_map<string,Entry>::find", n, measure(order, [&](std::uint32_t i) {
           auto it = plain.find(domains[i]);
           return it != plain.end() &&
                  clock().monotonic() - it->second.fetched < std::chrono::seconds(it->second.ttl);
         })});
  }

  // Misses: a cache smaller than the key space, asked in a cycle, never
  // holds the next name; the scripted inner answers at once.
  {
    cache::Settings small;
    small.size = std::min(n, lookups) / 2;  // half the names the cycle visits
    auto miss_store = std::make_shared<cache::Cache>(small);
    auto scripted = std::make_unique<Scripted>(onions[1 % onions.size()]);
    auto* inner = scripted.get();
    source::CachedLookup miss(std::move(scripted), miss_store, clock(), nullptr);
    std::vector<std::uint32_t> cycle(lookups);
    for (std::size_t i = 0; i < lookups; ++i) cycle[i] = static_cast<std::uint32_t>(i % n);
    rows.push_back(
        {"miss: CachedLookup::fetch, inner answers*", n, measure(cycle, [&](std::uint32_t i) {
           q.domain = domains[i];
           bool ok = false;
           miss.fetch(q, [&](record::RecordSet set) {
             ok = !set.from_cache && set.status == base::Status::Ok;
           });
           return ok;
         })});
    if (inner->fetches != kPasses * lookups) {
      std::fprintf(stderr, "bench_cache: %zu inner fetches for %zu misses\n", inner->fetches,
                   kPasses * lookups);
      std::exit(1);
    }
  }
}

// Bytes in use per entry after inserting n entries made by make(i).
template <class Insert>
void memory_row(const char* name, std::size_t n, Insert&& insert) {
  malloc_trim(0);
  const std::size_t heap0 = heap_in_use();
  const long rss0 = rss_kb();
  const double t = cpu_now();
  insert(n);
  const double s = cpu_now() - t;
  const std::size_t heap1 = heap_in_use();
  const long rss1 = rss_kb();
  std::printf("%-44s %10zu %9.0f B %9.0f B %8.2f M/s\n", name, n,
              static_cast<double>(heap1 - heap0) / static_cast<double>(n),
              static_cast<double>(rss1 - rss0) * 1024 / static_cast<double>(n),
              static_cast<double>(n) / s / 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t lookups = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 500000;
  if (sodium_init() < 0 || lookups == 0) return 2;
  std::vector<std::string> onions;
  for (int i = 0; i < 1000; ++i) onions.push_back(random_onion());
  std::printf("bench_cache: best of %d passes of %zu random lookups, rates per CPU second\n",
              kPasses, lookups);

  std::vector<Row> rows;
  for (std::size_t n : {std::size_t{10000}, std::size_t{1000000}})
    run_size(n, lookups, onions, rows);
  print_rows(rows);
  std::printf(
      "[goal: >= 5 M cached hits/s in process on one thread]\n"
      "* misses visit the names in order (an LRU cycle), not at random: their keys and\n"
      "  entries are warm in the CPU caches, so at 1 000 000 they can beat random hits\n");

  constexpr std::size_t kMem = 1000000;
  std::printf("\n%-44s %10s %11s %11s %10s\n", "memory per entry (1 SRV, 62-char onion)", "entries",
              "heap", "RSS", "inserts");
  {
    cache::Settings s;
    s.size = kMem;
    auto c = std::make_unique<cache::Cache>(s);
    memory_row("Cache, positive entries", kMem, [&](std::size_t n) {
      for (std::size_t i = 0; i < n; ++i)
        c->put(positive_entry(domain_name(100000 + i), onions[i % onions.size()]));
    });
    c.reset();
    c = std::make_unique<cache::Cache>(s);
    memory_row("Cache, negative entries", kMem, [&](std::size_t n) {
      for (std::size_t i = 0; i < n; ++i) c->put(negative_entry(domain_name(100000 + i)));
    });
    c.reset();
  }
  {
    auto plain = std::make_unique<std::unordered_map<std::string, cache::Entry>>();
    memory_row("baseline unordered_map<string,Entry>, pos.", kMem, [&](std::size_t n) {
      for (std::size_t i = 0; i < n; ++i) {
        std::string d = domain_name(100000 + i);
        plain->emplace(d, positive_entry(d, onions[i % onions.size()]));
      }
    });
  }
  std::printf("(sizeof(cache::Entry) = %zu B; the domain is %zu characters)\n",
              sizeof(cache::Entry), domain_name(100000).size());
  return 0;
}
