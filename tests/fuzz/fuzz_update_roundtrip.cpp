// fuzz_update_roundtrip.cpp - UPDATE writer + TSIG signer, and the response
// reader, on fuzzed input.
//
// Input: 18 bytes of fields (ID 2, priority 2, weight 2, port 2, TTL 4,
// time signed 6), 1 byte algorithm index, 1 byte key length L, L key bytes,
// then NUL-separated texts: zone, domain, SRV target, TXT policy, and the
// TXT records already at the name (one per line).
// Invariants: when the message builds, it signs; the signed message splits
// back to exactly the unsigned one, verifies (RFC 8945) at its signing time,
// fails verification with another key, and dumps.  Separately the whole
// input is read as an UPDATE response (must never crash; a verdict always
// comes with a detail), and as the answer to the TXT query before an
// update (read_txt_rrset, is_policy_txt: must never crash).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "dns/tsig.hpp"
#include "dns/update.hpp"

namespace {

std::uint64_t be(const std::uint8_t* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace onionmx::dns;
  const TsigKey fixed{"fuzz-key", TsigAlgorithm::HmacSha256, std::vector<std::uint8_t>(32, 0x5a)};
  {
    const std::vector<std::uint8_t> request_mac(32, 0x11);
    auto r =
        read_update_response({data, size}, size >= 2 ? static_cast<std::uint16_t>(be(data, 2)) : 0,
                             fixed, request_mac, 1700000000);
    if (r && r->detail.empty()) std::abort();
    // The same input as the answer to the TXT query before an update.
    auto txt = read_txt_rrset({data, size}, size >= 2 ? static_cast<std::uint16_t>(be(data, 2)) : 0,
                              "_onion-mx._tcp.example.org");
    if (txt)
      for (const auto& rd : *txt) (void)is_policy_txt(rd);
    (void)is_policy_txt({data, size});
  }
  if (size < 20) return 0;
  const std::uint16_t id = static_cast<std::uint16_t>(be(data, 2));
  PublishRecords rec;
  rec.priority = static_cast<std::uint16_t>(be(data + 2, 2));
  rec.weight = static_cast<std::uint16_t>(be(data + 4, 2));
  rec.port = static_cast<std::uint16_t>(be(data + 6, 2));
  rec.ttl = static_cast<std::uint32_t>(be(data + 8, 4));
  const std::uint64_t time = be(data + 12, 6);
  const auto alg = static_cast<TsigAlgorithm>(data[18] % 5);
  std::size_t pos = 19;
  const std::size_t klen = data[pos++];
  if (size - pos < klen) return 0;
  TsigKey key{"k.example", alg, std::vector<std::uint8_t>(data + pos, data + pos + klen)};
  pos += klen;
  std::vector<std::string> texts(5);
  for (std::size_t i = 0; pos < size; ++pos) {
    if (data[pos] == 0) {
      if (++i == texts.size()) break;
      continue;
    }
    texts[i] += static_cast<char>(data[pos]);
  }
  rec.domain = texts[1];
  rec.onion = texts[2];
  rec.policy = texts[3];
  // The TXT records already at the name: the lines of the fifth text (some
  // may be policy records, deleted by value).
  std::vector<std::vector<std::uint8_t>> current;
  for (std::size_t a = 0, b = 0; b <= texts[4].size(); ++b)
    if (b == texts[4].size() || texts[4][b] == '\n') {
      if (b > a) current.push_back(txt_rdata(std::string_view(texts[4]).substr(a, b - a)));
      a = b + 1;
    }
  auto m = publish_update(id, texts[0], rec, current);
  if (!m) return 0;
  auto w = build_update(*m);
  if (!w) return 0;
  auto s = tsig_sign(*w, key, time);
  if (!s) std::abort();  // a built message always signs
  auto split = tsig_split(s->wire);
  if (!split || !*split || (*split)->unsigned_message != *w) std::abort();
  auto v = tsig_verify_request(s->wire, key, time & 0xffffffffffffULL);
  if (!v || v->check != TsigCheck::Verified) std::abort();
  auto other = key;
  other.secret.push_back(1);
  auto o = tsig_verify_request(s->wire, other, time & 0xffffffffffffULL);
  if (!o || o->check == TsigCheck::Verified) std::abort();
  if (!dump_update(s->wire)) std::abort();
  return 0;
}
