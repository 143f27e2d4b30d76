// make_cache_corpus.cpp - writes the seed corpora of fuzz_cache_file and
// fuzz_cache_entry with the library's own cache::serialize and
// cache::entry_json, from fixed Ed25519 seeds (the output is the same
// every run).  Not built by default:
//   ninja -C build tests/fuzz/make_cache_corpus
//   build/tests/fuzz/make_cache_corpus tests/fuzz/corpus
// writes corpus/cache_file/* (real files of version 2 with policy and
// guard facts and pins, one of version 1, then truncated, bit-flipped and
// foreign variants) and corpus/cache_entry/* (entry and pin lines, valid
// and not).
#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "address/onion_address.hpp"
#include "base/strings.hpp"
#include "cache/cache.hpp"
#include "cache/cache_file.hpp"
#include "crypto/crypto.hpp"

namespace {

using namespace onionmx;

std::string onion(std::uint8_t seed_byte) {
  std::array<std::uint8_t, 32> seed{};
  seed.fill(seed_byte);
  std::array<std::uint8_t, 32> pk{};
  std::array<std::uint8_t, 64> sk{};
  crypto_sign_seed_keypair(pk.data(), sk.data(), seed.data());
  return address::encode_onion(pk);
}

cache::Entry positive(const std::string& domain, std::vector<record::SrvRecord> recs,
                      bool authenticated) {
  cache::Entry e;
  e.domain = domain;
  e.positive = true;
  e.ttl = 3600;
  e.fetched_wall = 1700000000;
  e.authenticated = authenticated;
  e.owner = "_onion-mx._tcp." + domain;
  e.records = std::move(recs);
  return e;
}

cache::Entry negative(const std::string& domain, const std::string& reason, std::uint32_t ttl) {
  cache::Entry e;
  e.domain = domain;
  e.ttl = ttl;
  e.fetched_wall = 1700000100;
  e.reason = reason;
  return e;
}

std::string file_of(const std::vector<cache::Entry>& entries,
                    const std::vector<record::Pin>& pins = {}) {
  cache::Settings s;
  s.size = entries.size() + pins.size() + 1;
  cache::Cache c(s);
  for (const auto& e : entries) c.put(e);
  for (const auto& p : pins) c.put_pin(p);
  return cache::serialize(c, 1700000200);
}

// A version-1 file (no facts, no pins), as onionmx 0.3 wrote it.
std::string v1_file_of(const std::vector<cache::Entry>& entries) {
  std::string out = R"({"entries":)" + std::to_string(entries.size()) +
                    R"(,"format":"onionmx-cache","saved":1700000200,"version":1})" + "\n";
  for (const auto& e : entries) out += cache::entry_json(e) + "\n";
  crypto::Sha3Digest d{};
  if (!crypto::sha3_256(std::span(reinterpret_cast<const std::uint8_t*>(out.data()), out.size()),
                        d))
    return {};
  return out + R"({"sha3-256":")" + base::hex_lower(d) + "\"}\n";
}

cache::Entry with_facts(cache::Entry e, record::PolicyFacts::State ps, record::GuardFacts g) {
  e.policy.state = ps;
  e.policy.authenticated = ps == record::PolicyFacts::State::Valid;
  if (ps == record::PolicyFacts::State::Valid)
    e.policy.policy = {record::PolicyMode::Enforce, 604800};
  if (ps == record::PolicyFacts::State::Invalid) e.policy.reason = "several v=ONIONMX1 records";
  if (ps == record::PolicyFacts::State::Failed) e.policy.reason = "timeout";
  e.guard = std::move(g);
  return e;
}

void write(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || sodium_init() < 0) {
    std::fprintf(stderr, "usage: %s CORPUS_ROOT\n", argv[0]);
    return 2;
  }
  const std::filesystem::path root = argv[1];
  const auto files = root / "cache_file";
  const auto lines = root / "cache_entry";
  std::filesystem::create_directories(files);
  std::filesystem::create_directories(lines);

  const std::string a = onion(1), b = onion(2), c = onion(3);
  const cache::Entry several =
      positive("example.org", {{10, 60, 25, a}, {10, 40, 2525, "smtp." + b}, {20, 0, 25, c}}, true);
  const cache::Entry one = positive("mail.example.net", {{0, 0, 25, a}}, false);
  const cache::Entry nx = negative("nx.example", "NXDOMAIN", 900);
  const cache::Entry nodata = negative("nodata.example.com", "NODATA", 30);
  const cache::Entry dot =
      negative("dot.example", "the SRV target is \".\" (no onion service)", 300);

  const std::string mixed = file_of({several, nx, one, nodata});
  write(files / "positive.cache", file_of({several, one}));
  write(files / "negative.cache", file_of({nx, nodata, dot}));
  write(files / "mixed.cache", mixed);
  write(files / "empty.cache", file_of({}));
  // Variants: cut in an entry line, the trailer gone, one bit flipped in
  // an entry (checksum mismatch), another version, a count that lies.
  write(files / "truncated-mid-entry", mixed.substr(0, mixed.size() / 2));
  const std::size_t trailer = mixed.rfind("{\"sha3-256\"");
  write(files / "truncated-no-trailer", mixed.substr(0, trailer));
  std::string flipped = mixed;
  flipped[mixed.find("example.org") + 2] ^= 0x01;
  write(files / "bitflip-entry", flipped);
  std::string v3 = mixed;
  v3.replace(v3.find("\"version\":2"), 11, "\"version\":3");
  write(files / "version-3", v3);
  std::string count = mixed;
  count.replace(count.find("\"entries\":4"), 11, "\"entries\":3");
  write(files / "count-mismatch", count);
  write(files / "version-1.cache", v1_file_of({several, nx, one}));

  // Version 2: facts of every state, and pins.
  using PS = record::PolicyFacts::State;
  using GS = record::GuardFacts::State;
  const cache::Entry enforced =
      with_facts(several, PS::Valid, {GS::Checked, true, true, "mx1.example.org", ""});
  const cache::Entry absent = with_facts(one, PS::Absent, {GS::Checked, false, false, "", ""});
  const cache::Entry invalid =
      with_facts(positive("inv.example", {{0, 0, 25, b}}, false), PS::Invalid,
                 {GS::Failed, false, false, "", "_mta-sts.inv.example TXT: SERVFAIL"});
  const cache::Entry failed =
      with_facts(positive("fail.example", {{0, 0, 25, c}}, false), PS::Failed, {});
  const record::Pin pin_a{"example.org", several.records, 1700604800, 604800};
  const record::Pin pin_b{"pinned.example", {{0, 0, 25, c}}, 1700000300, 3600};
  const std::string trust = file_of({enforced, absent, invalid, failed, nx}, {pin_a, pin_b});
  write(files / "trust.cache", trust);
  write(files / "pins-only.cache", file_of({}, {pin_a, pin_b}));
  std::string pin_count = trust;
  pin_count.replace(pin_count.find("\"pins\":2"), 8, "\"pins\":1");
  write(files / "pin-count-mismatch", pin_count);

  write(lines / "positive-several", cache::entry_json(several) + "\n");
  write(lines / "positive-one", cache::entry_json(one) + "\n");
  write(lines / "negative", cache::entry_json(nx) + "\n");
  write(lines / "negative-dot", cache::entry_json(dot) + "\n");
  write(lines / "several-lines", cache::entry_json(several) + "\n" + cache::entry_json(nodata) +
                                     "\n" + cache::entry_json(one) + "\n");
  write(
      lines / "duplicate-domain",
      cache::entry_json(one) + "\n" + cache::entry_json(negative(one.domain, "NODATA", 60)) + "\n");
  cache::Entry upper = one;
  upper.domain = "Mail.Example.NET";
  write(lines / "upper-case-domain", cache::entry_json(upper) + "\n");
  cache::Entry port0 = one;
  port0.records[0].port = 0;
  write(lines / "port-zero", cache::entry_json(port0) + "\n");
  cache::Entry badsum = one;
  badsum.records[0].target[3] = badsum.records[0].target[3] == 'a' ? 'b' : 'a';
  write(lines / "onion-bad-checksum", cache::entry_json(badsum) + "\n");
  cache::Entry onion_domain = nx;
  onion_domain.domain = a;
  write(lines / "onion-as-domain", cache::entry_json(onion_domain) + "\n");
  write(lines / "facts-every-state",
        cache::entry_json(enforced) + "\n" + cache::entry_json(absent) + "\n" +
            cache::entry_json(invalid) + "\n" + cache::entry_json(failed) + "\n");
  write(lines / "pins", cache::pin_json(pin_a) + "\n" + cache::pin_json(pin_b) + "\n");
  write(lines / "entries-and-pins", cache::entry_json(enforced) + "\n" + cache::pin_json(pin_a) +
                                        "\n" + cache::entry_json(nx) + "\n");
  write(lines / "pin-twice", cache::pin_json(pin_b) + "\n" + cache::pin_json(pin_b) + "\n");
  record::Pin pin_bad = pin_b;
  pin_bad.records[0].target[5] = pin_bad.records[0].target[5] == 'a' ? 'b' : 'a';
  write(lines / "pin-bad-onion", cache::pin_json(pin_bad) + "\n");
  std::string pin_big = cache::pin_json(pin_b);
  pin_big.replace(pin_big.find("\"max_age\":3600"), 14, "\"max_age\":31557601");
  write(lines / "pin-max-age-too-large", pin_big + "\n");
  std::string bad_state = cache::entry_json(enforced);
  bad_state.replace(bad_state.find("\"valid\""), 7, "\"maybe\"");
  write(lines / "policy-unknown-state", bad_state + "\n");
  write(lines / "not-json", "{\"domain\": \"x.example\", \"positive\": tru\n");
  std::printf("wrote %s and %s\n", files.c_str(), lines.c_str());
  return 0;
}
