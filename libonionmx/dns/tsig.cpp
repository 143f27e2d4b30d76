#include "dns/tsig.hpp"

#include "base/strings.hpp"
#include "crypto/hmac.hpp"
#include "dns/message.hpp"
#include "dns/wire.hpp"

namespace onionmx::dns {
namespace {

constexpr std::size_t kHeaderSize = 12;

crypto::HmacDigest digest_of(TsigAlgorithm a) {
  switch (a) {
    case TsigAlgorithm::HmacSha1:
      return crypto::HmacDigest::Sha1;
    case TsigAlgorithm::HmacSha224:
      return crypto::HmacDigest::Sha224;
    case TsigAlgorithm::HmacSha256:
      return crypto::HmacDigest::Sha256;
    case TsigAlgorithm::HmacSha384:
      return crypto::HmacDigest::Sha384;
    case TsigAlgorithm::HmacSha512:
      return crypto::HmacDigest::Sha512;
  }
  return crypto::HmacDigest::Sha256;
}

base::Result<std::vector<std::uint8_t>> canonical_name(std::string_view name, const char* what) {
  auto n = encode_name(base::ascii_lowercase(name));
  if (!n) return base::fail(base::Status::Inval, std::string(what) + ": " + n.error().detail);
  return n;
}

// Skips one RR at the reader; returns its TYPE.
base::Result<std::uint16_t> skip_rr(wire::WireReader& rd) {
  auto n = rd.name("RR owner");
  if (!n) return base::fail(n.error());
  auto type = rd.u16("RR type");
  if (!type) return base::fail(type.error());
  auto rest = rd.bytes(6, "RR class/TTL");
  if (!rest) return base::fail(rest.error());
  auto rdlen = rd.u16("RDLENGTH");
  if (!rdlen) return base::fail(rdlen.error());
  auto rdata = rd.bytes(*rdlen, "RDATA");
  if (!rdata) return base::fail(rdata.error());
  return *type;
}

base::Result<ResponseTsig> verify(std::span<const std::uint8_t> wire, const TsigKey& key,
                                  std::span<const std::uint8_t> request_mac, bool is_response,
                                  std::uint64_t now) {
  auto split = tsig_split(wire);
  if (!split) return base::fail(split.error());
  ResponseTsig out;
  if (!*split) return out;  // Unsigned
  const TsigSplit& s = **split;
  out.record = s.tsig;
  const auto alg = tsig_algorithm_from_name(s.tsig.algorithm);
  if (s.tsig.key_name != key.name || !alg || *alg != key.algorithm) {
    out.check = TsigCheck::WrongKey;
    return out;
  }
  // BADSIG/BADKEY answers carry an empty MAC (RFC 8945 §5.3.2).
  if (s.tsig.mac.empty()) return out;
  if (s.tsig.mac.size() != tsig_mac_size(key.algorithm)) {
    out.check = TsigCheck::BadMac;  // truncation (RFC 8945 §5.2.2.1) is not accepted
    return out;
  }
  auto vars = tsig_variables(key.name, key.algorithm, s.tsig.time_signed, s.tsig.fudge,
                             s.tsig.error, s.tsig.other);
  if (!vars) return base::fail(vars.error());
  std::vector<std::uint8_t> prefix;
  if (is_response) {
    wire::put16(prefix, static_cast<std::uint16_t>(request_mac.size()));
    prefix.insert(prefix.end(), request_mac.begin(), request_mac.end());
  }
  const std::span<const std::uint8_t> parts[] = {prefix, s.unsigned_message, *vars};
  auto mac = crypto::hmac(digest_of(key.algorithm), key.secret, parts);
  if (!mac) return base::fail(base::Status::Internal, "HMAC computation failed");
  if (!crypto::equal_constant_time(*mac, s.tsig.mac)) {
    out.check = TsigCheck::BadMac;
    return out;
  }
  const std::uint64_t lo =
      s.tsig.time_signed > s.tsig.fudge ? s.tsig.time_signed - s.tsig.fudge : 0;
  const std::uint64_t hi = s.tsig.time_signed + s.tsig.fudge;
  out.check = (now < lo || now > hi) ? TsigCheck::BadTime : TsigCheck::Verified;
  return out;
}

}  // namespace

std::string_view tsig_algorithm_name(TsigAlgorithm a) noexcept {
  switch (a) {
    case TsigAlgorithm::HmacSha1:
      return "hmac-sha1";
    case TsigAlgorithm::HmacSha224:
      return "hmac-sha224";
    case TsigAlgorithm::HmacSha256:
      return "hmac-sha256";
    case TsigAlgorithm::HmacSha384:
      return "hmac-sha384";
    case TsigAlgorithm::HmacSha512:
      return "hmac-sha512";
  }
  return "hmac-sha256";
}

std::optional<TsigAlgorithm> tsig_algorithm_from_name(std::string_view name) noexcept {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  for (auto a : {TsigAlgorithm::HmacSha1, TsigAlgorithm::HmacSha224, TsigAlgorithm::HmacSha256,
                 TsigAlgorithm::HmacSha384, TsigAlgorithm::HmacSha512})
    if (base::ascii_iequals(name, tsig_algorithm_name(a))) return a;
  return std::nullopt;
}

std::size_t tsig_mac_size(TsigAlgorithm a) noexcept { return crypto::hmac_size(digest_of(a)); }

std::string_view tsig_check_name(TsigCheck c) noexcept {
  switch (c) {
    case TsigCheck::Verified:
      return "verified";
    case TsigCheck::Unsigned:
      return "unsigned";
    case TsigCheck::WrongKey:
      return "signed with another key";
    case TsigCheck::BadMac:
      return "bad MAC";
    case TsigCheck::BadTime:
      return "time outside the fudge";
  }
  return "?";
}

base::Result<std::vector<std::uint8_t>> tsig_variables(std::string_view key_name, TsigAlgorithm alg,
                                                       std::uint64_t time_signed,
                                                       std::uint16_t fudge, std::uint16_t error,
                                                       std::span<const std::uint8_t> other) {
  auto kn = canonical_name(key_name, "TSIG key name");
  if (!kn) return base::fail(kn.error());
  auto an = canonical_name(tsig_algorithm_name(alg), "TSIG algorithm");
  if (!an) return base::fail(an.error());
  if (other.size() > 0xffff) return base::fail(base::Status::Inval, "TSIG other data too long");
  std::vector<std::uint8_t> v = std::move(*kn);
  wire::put16(v, kClassAny);
  wire::put32(v, 0);  // TTL
  v.insert(v.end(), an->begin(), an->end());
  wire::put48(v, time_signed);
  wire::put16(v, fudge);
  wire::put16(v, error);
  wire::put16(v, static_cast<std::uint16_t>(other.size()));
  v.insert(v.end(), other.begin(), other.end());
  return v;
}

base::Result<SignedMessage> tsig_sign(std::span<const std::uint8_t> message, const TsigKey& key,
                                      std::uint64_t time_signed, std::uint16_t fudge) {
  if (message.size() < kHeaderSize)
    return base::fail(base::Status::BadData, "message shorter than the 12-byte header");
  const std::uint16_t arcount = static_cast<std::uint16_t>((message[10] << 8) | message[11]);
  if (arcount == 0xffff) return base::fail(base::Status::BadData, "ARCOUNT has no room for TSIG");
  auto vars = tsig_variables(key.name, key.algorithm, time_signed, fudge, 0, {});
  if (!vars) return base::fail(vars.error());
  const std::span<const std::uint8_t> parts[] = {message, *vars};
  auto mac = crypto::hmac(digest_of(key.algorithm), key.secret, parts);
  if (!mac) return base::fail(base::Status::Internal, "HMAC computation failed");

  SignedMessage out;
  out.wire.assign(message.begin(), message.end());
  out.wire[10] = static_cast<std::uint8_t>((arcount + 1) >> 8);
  out.wire[11] = static_cast<std::uint8_t>((arcount + 1) & 0xff);
  auto kn = canonical_name(key.name, "TSIG key name");
  auto an = canonical_name(tsig_algorithm_name(key.algorithm), "TSIG algorithm");
  if (!kn || !an) return base::fail(base::Status::Inval, "bad TSIG key name");
  std::vector<std::uint8_t> rdata = std::move(*an);
  wire::put48(rdata, time_signed);
  wire::put16(rdata, fudge);
  wire::put16(rdata, static_cast<std::uint16_t>(mac->size()));
  rdata.insert(rdata.end(), mac->begin(), mac->end());
  rdata.push_back(message[0]);  // original ID
  rdata.push_back(message[1]);
  wire::put16(rdata, 0);  // error
  wire::put16(rdata, 0);  // other len
  out.wire.insert(out.wire.end(), kn->begin(), kn->end());
  wire::put16(out.wire, kTypeTsig);
  wire::put16(out.wire, kClassAny);
  wire::put32(out.wire, 0);
  wire::put16(out.wire, static_cast<std::uint16_t>(rdata.size()));
  out.wire.insert(out.wire.end(), rdata.begin(), rdata.end());
  out.mac = std::move(*mac);
  return out;
}

base::Result<std::optional<TsigSplit>> tsig_split(std::span<const std::uint8_t> w) {
  if (w.size() < kHeaderSize)
    return base::fail(base::Status::BadData, "message shorter than the 12-byte header");
  wire::WireReader rd(w, 4);
  std::uint16_t counts[4];
  for (auto& c : counts) c = *rd.u16("header count");
  for (std::uint16_t i = 0; i < counts[0]; ++i) {
    auto n = rd.name("question");
    if (!n) return base::fail(n.error());
    auto tc = rd.bytes(4, "question type/class");
    if (!tc) return base::fail(tc.error());
  }
  const std::size_t rrs = std::size_t{counts[1]} + counts[2] + counts[3];
  std::size_t last_start = 0;
  std::uint16_t last_type = 0;
  for (std::size_t i = 0; i < rrs; ++i) {
    const std::size_t start = rd.pos();
    auto type = skip_rr(rd);
    if (!type) return base::fail(type.error());
    if (*type == kTypeTsig && (i + 1 != rrs || counts[3] == 0))
      return base::fail(base::Status::BadData, "TSIG record is not the last record");
    last_start = start;
    last_type = *type;
  }
  if (!rd.at_end())
    return base::fail(base::Status::BadData, "trailing bytes after the last record");
  if (rrs == 0 || last_type != kTypeTsig) return std::optional<TsigSplit>{};

  TsigSplit s;
  wire::WireReader tr(w, last_start);
  auto owner = tr.name("TSIG owner");
  if (!owner) return base::fail(owner.error());
  s.tsig.key_name = std::move(*owner);
  (void)tr.u16("TSIG type");
  auto cls = tr.u16("TSIG class");
  auto ttl = tr.u32("TSIG TTL");
  auto rdlen = tr.u16("TSIG RDLENGTH");
  if (!cls || !ttl || !rdlen) return base::fail(base::Status::BadData, "truncated TSIG record");
  if (*cls != kClassAny || *ttl != 0)
    return base::fail(base::Status::BadData, "TSIG record with class other than ANY or TTL not 0");
  const std::size_t rdata_end = tr.pos() + *rdlen;
  auto alg = tr.name("TSIG algorithm");
  if (!alg) return base::fail(alg.error());
  s.tsig.algorithm = std::move(*alg);
  auto time = tr.uint(6, "TSIG time signed");
  auto fudge = tr.u16("TSIG fudge");
  auto mac_size = tr.u16("TSIG MAC size");
  if (!time || !fudge || !mac_size)
    return base::fail(base::Status::BadData, "truncated TSIG RDATA");
  auto mac = tr.bytes(*mac_size, "TSIG MAC");
  if (!mac) return base::fail(mac.error());
  auto orig = tr.u16("TSIG original ID");
  auto err = tr.u16("TSIG error");
  auto olen = tr.u16("TSIG other length");
  if (!orig || !err || !olen) return base::fail(base::Status::BadData, "truncated TSIG RDATA");
  auto other = tr.bytes(*olen, "TSIG other data");
  if (!other) return base::fail(other.error());
  if (tr.pos() != rdata_end)
    return base::fail(base::Status::BadData, "TSIG RDATA length does not match its content");
  s.tsig.time_signed = *time;
  s.tsig.fudge = *fudge;
  s.tsig.mac.assign(mac->begin(), mac->end());
  s.tsig.original_id = *orig;
  s.tsig.error = *err;
  s.tsig.other.assign(other->begin(), other->end());

  s.unsigned_message.assign(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(last_start));
  s.unsigned_message[0] = static_cast<std::uint8_t>(s.tsig.original_id >> 8);
  s.unsigned_message[1] = static_cast<std::uint8_t>(s.tsig.original_id & 0xff);
  const std::uint16_t ar = static_cast<std::uint16_t>(counts[3] - 1);
  s.unsigned_message[10] = static_cast<std::uint8_t>(ar >> 8);
  s.unsigned_message[11] = static_cast<std::uint8_t>(ar & 0xff);
  return std::optional<TsigSplit>(std::move(s));
}

base::Result<ResponseTsig> tsig_verify_response(std::span<const std::uint8_t> response,
                                                const TsigKey& key,
                                                std::span<const std::uint8_t> request_mac,
                                                std::uint64_t now) {
  return verify(response, key, request_mac, true, now);
}

base::Result<ResponseTsig> tsig_verify_request(std::span<const std::uint8_t> request,
                                               const TsigKey& key, std::uint64_t now) {
  return verify(request, key, {}, false, now);
}

}  // namespace onionmx::dns
