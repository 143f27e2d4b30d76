#include "dns/update.hpp"

#include <algorithm>
#include <cstdio>

#include "base/strings.hpp"
#include "dns/message.hpp"
#include "dns/wire.hpp"
#include "record/policy.hpp"

namespace onionmx::dns {
namespace {

constexpr std::size_t kHeaderSize = 12;

std::string type_name(std::uint16_t t) {
  switch (t) {
    case 1:  // A
      return "A";
    case kTypeCname:
      return "CNAME";
    case kTypeSoa:
      return "SOA";
    case kTypeTxt:
      return "TXT";
    case kTypeSrv:
      return "SRV";
    case kTypeTsig:
      return "TSIG";
    case kTypeAny:
      return "ANY";
    default:
      return "TYPE" + std::to_string(t);
  }
}

std::string class_name(std::uint16_t c) {
  switch (c) {
    case kClassIn:
      return "IN";
    case kClassAny:
      return "ANY";
    case kClassNone:
      return "NONE";
    default:
      return "CLASS" + std::to_string(c);
  }
}

std::string quote_txt(std::span<const std::uint8_t> s) {
  std::string out = "\"";
  for (auto c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c > 0x7e) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\%03u", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string absolute(std::string_view name) { return name.empty() ? "." : std::string(name) + "."; }

// Presentation form of RDATA for the types onionmx writes; hex otherwise.
std::string rdata_text(std::span<const std::uint8_t> w, std::size_t start, std::uint16_t type,
                       std::uint16_t rdlen) {
  if (rdlen == 0) return "";
  const auto rd = w.subspan(start, rdlen);
  if (type == kTypeSrv && rdlen >= 7) {
    wire::WireReader r(w, start + 6);
    auto target = r.name("SRV target");
    if (target && r.pos() == start + rdlen)
      return std::to_string((rd[0] << 8) | rd[1]) + " " + std::to_string((rd[2] << 8) | rd[3]) +
             " " + std::to_string((rd[4] << 8) | rd[5]) + " " + absolute(*target);
  } else if (type == kTypeTxt) {
    std::string out;
    std::size_t i = 0;
    while (i < rd.size() && i + 1 + rd[i] <= rd.size()) {
      if (!out.empty()) out += ' ';
      out += quote_txt(rd.subspan(i + 1, rd[i]));
      i += 1 + rd[i];
    }
    if (i == rd.size()) return out;
  }
  return "\\# " + std::to_string(rdlen) + " " + base::hex_lower(rd);
}

base::Result<std::string> dump_rr(wire::WireReader& rd) {
  auto name = rd.name("RR owner");
  if (!name) return base::fail(name.error());
  auto type = rd.u16("RR type");
  auto cls = rd.u16("RR class");
  auto ttl = rd.u32("RR TTL");
  auto rdlen = rd.u16("RDLENGTH");
  if (!type || !cls || !ttl || !rdlen) return base::fail(base::Status::BadData, "truncated RR");
  const std::size_t start = rd.pos();
  auto rdata = rd.bytes(*rdlen, "RDATA");
  if (!rdata) return base::fail(rdata.error());
  std::string line = absolute(*name) + " " + std::to_string(*ttl) + " " + class_name(*cls) + " " +
                     type_name(*type);
  if (*type == kTypeTsig) {
    wire::WireReader tr(rd.wire(), start);
    auto alg = tr.name("TSIG algorithm");
    auto time = tr.uint(6, "time");
    auto fudge = tr.u16("fudge");
    auto ms = tr.u16("MAC size");
    if (alg && time && fudge && ms) {
      auto mac = tr.bytes(*ms, "MAC");
      auto orig = tr.u16("original ID");
      auto err = tr.u16("error");
      if (mac && orig && err) {
        char buf[64];
        std::snprintf(buf, sizeof buf, " original-id 0x%04x error %s", static_cast<unsigned>(*orig),
                      tsig_error_name(*err).c_str());
        return line + " " + absolute(*alg) + " time " + std::to_string(*time) + " fudge " +
               std::to_string(*fudge) + " mac " + base::hex_lower(*mac) + buf;
      }
    }
  }
  const std::string text = rdata_text(rd.wire(), start, *type, *rdlen);
  if (!text.empty()) line += " " + text;
  // What each RR means in an UPDATE (RFC 2136 §2.4, §2.5).
  if (*cls == kClassAny && *rdlen == 0) line += *type == kTypeAny ? "  ; all RRsets" : "  ; RRset";
  if (*cls == kClassNone) line += *rdlen == 0 ? "  ; no such RRset" : "  ; delete this RR";
  return line;
}

}  // namespace

base::Result<std::vector<std::uint8_t>> build_update(const UpdateMessage& m) {
  if (m.prerequisites.size() > 0xffff || m.updates.size() > 0xffff)
    return base::fail(base::Status::Inval, "too many records for one UPDATE");
  auto zone = encode_name(m.zone);
  if (!zone) return base::fail(base::Status::Inval, "zone: " + zone.error().detail);
  std::vector<std::uint8_t> w;
  wire::put16(w, m.id);
  wire::put16(w, static_cast<std::uint16_t>(kOpcodeUpdate << 11));  // QR 0, OPCODE 5
  wire::put16(w, 1);                                                // ZOCOUNT
  wire::put16(w, static_cast<std::uint16_t>(m.prerequisites.size()));
  wire::put16(w, static_cast<std::uint16_t>(m.updates.size()));
  wire::put16(w, 0);  // ADCOUNT (TSIG is added by tsig_sign)
  w.insert(w.end(), zone->begin(), zone->end());
  wire::put16(w, kTypeSoa);
  wire::put16(w, kClassIn);
  for (const auto* section : {&m.prerequisites, &m.updates}) {
    for (const auto& rr : *section) {
      auto name = encode_name(rr.name);
      if (!name) return base::fail(base::Status::Inval, "record name: " + name.error().detail);
      if (rr.rdata.size() > 0xffff) return base::fail(base::Status::Inval, "RDATA too long");
      w.insert(w.end(), name->begin(), name->end());
      wire::put16(w, rr.type);
      wire::put16(w, rr.rrclass);
      wire::put32(w, rr.ttl);
      wire::put16(w, static_cast<std::uint16_t>(rr.rdata.size()));
      w.insert(w.end(), rr.rdata.begin(), rr.rdata.end());
    }
  }
  if (w.size() > 0xffff) return base::fail(base::Status::Inval, "UPDATE longer than 65535 bytes");
  return w;
}

base::Result<std::vector<std::uint8_t>> srv_rdata(std::uint16_t priority, std::uint16_t weight,
                                                  std::uint16_t port, std::string_view target) {
  auto t = encode_name(base::ascii_lowercase(target));
  if (!t) return base::fail(base::Status::Inval, "SRV target: " + t.error().detail);
  std::vector<std::uint8_t> r;
  wire::put16(r, priority);
  wire::put16(r, weight);
  wire::put16(r, port);
  r.insert(r.end(), t->begin(), t->end());
  return r;
}

std::vector<std::uint8_t> txt_rdata(std::string_view text) {
  std::vector<std::uint8_t> r;
  std::size_t i = 0;
  do {
    const std::size_t n = std::min<std::size_t>(255, text.size() - i);
    r.push_back(static_cast<std::uint8_t>(n));
    r.insert(r.end(), text.begin() + static_cast<std::ptrdiff_t>(i),
             text.begin() + static_cast<std::ptrdiff_t>(i + n));
    i += n;
  } while (i < text.size());
  return r;
}

UpdateRr delete_rrset(std::string_view name, std::uint16_t type) {
  return UpdateRr{std::string(name), type, kClassAny, 0, {}};
}

UpdateRr rrset_exists(std::string_view name, std::uint16_t type) {
  return UpdateRr{std::string(name), type, kClassAny, 0, {}};
}

std::string onionmx_owner(std::string_view domain) {
  return "_onion-mx._tcp." + normalize_name(domain);
}

base::Result<UpdateMessage> publish_update(
    std::uint16_t id, std::string_view zone_in, const PublishRecords& r,
    const std::vector<std::vector<std::uint8_t>>& current_txt) {
  const std::string zone = normalize_name(zone_in);
  const std::string domain = normalize_name(r.domain);
  if (zone.empty()) return base::fail(base::Status::Inval, "empty zone name");
  if (!base::ends_with_label(domain, zone))
    return base::fail(base::Status::Inval,
                      "domain " + domain + " is not inside zone " + zone + " (use --zone)");
  const std::string owner = onionmx_owner(domain);
  UpdateMessage m;
  m.id = id;
  m.zone = zone;
  m.prerequisites.push_back(rrset_exists(zone, kTypeSoa));
  if (current_txt.empty())
    m.prerequisites.push_back(UpdateRr{owner, kTypeTxt, kClassNone, 0, {}});  // §2.4.3
  for (const auto& rd : current_txt)
    m.prerequisites.push_back(UpdateRr{owner, kTypeTxt, kClassIn, 0, rd});  // §2.4.2
  m.updates.push_back(delete_rrset(owner, kTypeSrv));
  for (const auto& rd : current_txt)
    if (is_policy_txt(rd)) m.updates.push_back(UpdateRr{owner, kTypeTxt, kClassNone, 0, rd});
  auto srv = srv_rdata(r.priority, r.weight, r.port, r.onion);
  if (!srv) return base::fail(srv.error());
  m.updates.push_back(UpdateRr{owner, kTypeSrv, kClassIn, r.ttl, std::move(*srv)});
  if (!r.policy.empty())
    m.updates.push_back(UpdateRr{owner, kTypeTxt, kClassIn, r.ttl, txt_rdata(r.policy)});
  return m;
}

bool is_policy_txt(std::span<const std::uint8_t> rdata) {
  std::string text;
  for (std::size_t i = 0; i < rdata.size(); i += 1 + std::size_t{rdata[i]}) {
    const auto n = std::min<std::size_t>(rdata[i], rdata.size() - i - 1);
    text.append(reinterpret_cast<const char*>(rdata.data() + i + 1), n);
  }
  // select_policy: NotFound exactly when no record begins with the version.
  auto p = record::select_policy({text});
  return p || p.error().code != base::Status::NotFound;
}

base::Result<std::vector<std::vector<std::uint8_t>>> read_txt_rrset(std::span<const std::uint8_t> w,
                                                                    std::uint16_t id,
                                                                    std::string_view owner_in) {
  const auto bad = [](const std::string& why) {
    return base::fail(base::Status::BadData, "TXT answer: " + why);
  };
  wire::WireReader rd(w);
  auto rid = rd.u16("ID");
  auto flags = rd.u16("flags");
  std::uint16_t counts[4] = {};
  for (auto& c : counts) {
    auto v = rd.u16("count");
    if (!v) return bad(v.error().detail);
    c = *v;
  }
  if (!rid || !flags) return bad("shorter than the header");
  if (*rid != id) return bad("ID does not match the query");
  if ((*flags & 0x8000) == 0 || ((*flags >> 11) & 15) != 0) return bad("not a query response");
  const auto rcode = static_cast<std::uint8_t>(*flags & 15);
  if (rcode != kRcodeNoError && rcode != kRcodeNxDomain) return bad(std::string(rcode_name(rcode)));
  if ((*flags & 0x0400) == 0) return bad("not authoritative (AA not set)");
  if ((*flags & 0x0200) != 0) return bad("truncated");
  for (std::uint16_t i = 0; i < counts[0]; ++i) {
    auto n = rd.name("question");
    auto t = rd.uint(4, "question type and class");
    if (!n || !t) return bad("malformed question");
  }
  const std::string owner = normalize_name(owner_in);
  std::vector<std::vector<std::uint8_t>> out;
  for (std::uint16_t i = 0; i < counts[1]; ++i) {
    auto n = rd.name("RR owner");
    auto type = rd.u16("RR type");
    auto cls = rd.u16("RR class");
    auto ttl = rd.u32("RR TTL");
    auto len = rd.u16("RDLENGTH");
    if (!n || !type || !cls || !ttl || !len) return bad("malformed answer record");
    auto data = rd.bytes(*len, "RDATA");
    if (!data) return bad(data.error().detail);
    if (*n == owner && *type == kTypeTxt && *cls == kClassIn)
      out.emplace_back(data->begin(), data->end());
  }
  return out;
}

std::vector<std::string> publish_zone_lines(const PublishRecords& r) {
  const std::string owner = onionmx_owner(r.domain) + ".";
  const std::string ttl = std::to_string(r.ttl);
  std::vector<std::string> lines;
  lines.push_back(owner + " " + ttl + " IN SRV " + std::to_string(r.priority) + " " +
                  std::to_string(r.weight) + " " + std::to_string(r.port) + " " +
                  normalize_name(r.onion) + ".");
  if (!r.policy.empty()) {
    const auto rd = txt_rdata(r.policy);
    lines.push_back(owner + " " + ttl + " IN TXT " +
                    rdata_text(rd, 0, kTypeTxt, static_cast<std::uint16_t>(rd.size())));
  }
  return lines;
}

base::Result<std::string> dump_update(std::span<const std::uint8_t> w) {
  if (w.size() < kHeaderSize)
    return base::fail(base::Status::BadData, "message shorter than the 12-byte header");
  wire::WireReader rd(w);
  const std::uint16_t id = *rd.u16("ID");
  const std::uint16_t flags = *rd.u16("flags");
  std::uint16_t counts[4];
  for (auto& c : counts) c = *rd.u16("count");
  char head[160];
  std::snprintf(head, sizeof head,
                ";; opcode %u (%s), id 0x%04x, flags 0x%04x, size %zu\n;; ZONE %u, PREREQ %u, "
                "UPDATE %u, ADDITIONAL %u\n",
                static_cast<unsigned>((flags >> 11) & 15),
                ((flags >> 11) & 15) == kOpcodeUpdate ? "UPDATE" : "not UPDATE",
                static_cast<unsigned>(id), static_cast<unsigned>(flags), w.size(),
                static_cast<unsigned>(counts[0]), static_cast<unsigned>(counts[1]),
                static_cast<unsigned>(counts[2]), static_cast<unsigned>(counts[3]));
  std::string out = head;
  out += ";; ZONE SECTION:\n";
  for (std::uint16_t i = 0; i < counts[0]; ++i) {
    auto n = rd.name("zone");
    auto t = rd.u16("zone type");
    auto c = rd.u16("zone class");
    if (!n || !t || !c) return base::fail(base::Status::BadData, "malformed zone section");
    out += ";" + absolute(*n) + " " + class_name(*c) + " " + type_name(*t) + "\n";
  }
  const char* titles[] = {"PREREQUISITE", "UPDATE", "ADDITIONAL"};
  for (int s = 0; s < 3; ++s) {
    out += "\n;; " + std::string(titles[s]) + " SECTION:\n";
    for (std::uint16_t i = 0; i < counts[s + 1]; ++i) {
      auto line = dump_rr(rd);
      if (!line) return base::fail(line.error());
      out += base::printable(*line, 4096) + "\n";
    }
  }
  if (!rd.at_end())
    return base::fail(base::Status::BadData, "trailing bytes after the last record");
  return out;
}

std::string_view update_verdict_name(UpdateVerdict v) noexcept {
  switch (v) {
    case UpdateVerdict::Success:
      return "NOERROR";
    case UpdateVerdict::Refused:
      return "REFUSED";
    case UpdateVerdict::NotAuth:
      return "NOTAUTH";
    case UpdateVerdict::NotZone:
      return "NOTZONE";
    case UpdateVerdict::BadSig:
      return "BADSIG";
    case UpdateVerdict::BadKey:
      return "BADKEY";
    case UpdateVerdict::BadTime:
      return "BADTIME";
    case UpdateVerdict::PrereqFailed:
      return "PREREQUISITE";
    case UpdateVerdict::ServerError:
      return "SERVER-ERROR";
    case UpdateVerdict::Unverified:
      return "UNVERIFIED";
  }
  return "?";
}

std::string_view rcode_name(std::uint8_t rcode) noexcept {
  static constexpr std::string_view names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                               "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                               "NXRRSET", "NOTAUTH", "NOTZONE"};
  return rcode < std::size(names) ? names[rcode] : std::string_view("RCODE?");
}

std::string tsig_error_name(std::uint16_t error) {
  switch (error) {
    case 0:
      return "NOERROR";
    case kTsigBadSig:
      return "BADSIG";
    case kTsigBadKey:
      return "BADKEY";
    case kTsigBadTime:
      return "BADTIME";
    case kTsigBadTrunc:
      return "BADTRUNC";
    default:
      return std::to_string(error);
  }
}

base::Result<UpdateResponse> read_update_response(std::span<const std::uint8_t> w,
                                                  std::uint16_t request_id, const TsigKey& key,
                                                  std::span<const std::uint8_t> request_mac,
                                                  std::uint64_t now) {
  if (w.size() < kHeaderSize)
    return base::fail(base::Status::BadData, "response shorter than the 12-byte header");
  UpdateResponse r;
  r.id = static_cast<std::uint16_t>((w[0] << 8) | w[1]);
  const std::uint16_t flags = static_cast<std::uint16_t>((w[2] << 8) | w[3]);
  if (r.id != request_id)
    return base::fail(base::Status::BadData, "response ID does not match the request");
  if ((flags & 0x8000) == 0)
    return base::fail(base::Status::BadData, "QR bit not set: not a response");
  if (((flags >> 11) & 15) != kOpcodeUpdate)
    return base::fail(base::Status::BadData, "response opcode is not UPDATE");
  r.rcode = static_cast<std::uint8_t>(flags & 15);
  r.truncated = (flags & 0x0200) != 0;
  auto t = tsig_verify_response(w, key, request_mac, now);
  if (!t) return base::fail(t.error());
  r.tsig_check = t->check;
  if (t->record) {
    r.tsig_error = t->record->error;
    if (r.tsig_error == kTsigBadTime && t->record->other.size() == 6) {
      std::uint64_t s = 0;
      for (auto b : t->record->other) s = (s << 8) | b;
      r.server_time = s;
    }
  }
  const bool signed_ok = r.tsig_check == TsigCheck::Verified;
  std::string what = std::string(rcode_name(r.rcode));
  if (r.tsig_error != 0) what += " (TSIG error " + tsig_error_name(r.tsig_error) + ")";
  const std::string sig =
      signed_ok ? "" : "; response TSIG " + std::string(tsig_check_name(r.tsig_check));

  if (r.tsig_error == kTsigBadSig) {
    r.verdict = UpdateVerdict::BadSig;
    r.detail = what + ": the server knows key " + key.name + " with another secret";
  } else if (r.tsig_error == kTsigBadKey) {
    r.verdict = UpdateVerdict::BadKey;
    r.detail = what + ": the server does not know key " + key.name + " with algorithm " +
               std::string(tsig_algorithm_name(key.algorithm));
  } else if (r.tsig_error == kTsigBadTime) {
    r.verdict = UpdateVerdict::BadTime;
    r.detail = what + ": signing time " + std::to_string(now) + " is outside the server's fudge";
    if (r.server_time) r.detail += " (server time " + std::to_string(*r.server_time) + ")";
    r.detail += "; check the clock";
  } else if (r.tsig_error != 0) {
    r.verdict = UpdateVerdict::ServerError;
    r.detail = what;
  } else {
    switch (r.rcode) {
      case kRcodeNoError:
        r.verdict = signed_ok ? UpdateVerdict::Success : UpdateVerdict::Unverified;
        r.detail = signed_ok ? "NOERROR: records replaced"
                             : "NOERROR but the answer cannot be trusted" + sig;
        break;
      case kRcodeRefused:
        r.verdict = UpdateVerdict::Refused;
        r.detail = what + ": the server refused the update (update policy or ACL for key " +
                   key.name + ")";
        break;
      case kRcodeNotAuth:
        r.verdict = UpdateVerdict::NotAuth;
        r.detail = what + ": the server is not authoritative for the zone";
        break;
      case kRcodeNotZone:
        r.verdict = UpdateVerdict::NotZone;
        r.detail = what + ": a record name is outside the zone";
        break;
      case kRcodeNxDomain:
      case kRcodeYxDomain:
      case kRcodeYxRrset:
      case kRcodeNxRrset:
        r.verdict = UpdateVerdict::PrereqFailed;
        r.detail = what +
                   ": prerequisite failed (is --zone the zone apex? or the TXT records at the "
                   "name changed meanwhile: try again)";
        break;
      default:
        r.verdict = UpdateVerdict::ServerError;
        r.detail = what + ": the server could not apply the update";
        break;
    }
  }
  // BADSIG and BADKEY answers are unsigned by design (RFC 8945 §5.3.2).
  if (r.verdict != UpdateVerdict::Success && r.verdict != UpdateVerdict::Unverified &&
      r.verdict != UpdateVerdict::BadSig && r.verdict != UpdateVerdict::BadKey)
    r.detail += sig;
  return r;
}

}  // namespace onionmx::dns
