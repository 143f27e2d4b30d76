#include "dns/srv_answer.hpp"

#include <algorithm>

#include "address/onion_address.hpp"

namespace onionmx::dns {
namespace {

std::string rcode_text(std::uint8_t rcode) {
  switch (rcode) {
    case kRcodeFormErr:
      return "FORMERR (server could not parse the query)";
    case kRcodeServFail:
      return "SERVFAIL (server failure)";
    case kRcodeNotImp:
      return "NOTIMP (not implemented)";
    case kRcodeRefused:
      return "REFUSED (server refuses to answer; misconfigured resolver?)";
    default:
      return "rcode " + std::to_string(rcode);
  }
}

// RFC 2308 §5: negative TTL = min(SOA TTL, SOA MINIMUM); no SOA, no caching.
bool has_soa(const Message& m) {
  return std::any_of(m.authority.begin(), m.authority.end(),
                     [](const ResourceRecord& rr) { return rr.type == kTypeSoa; });
}

// RFC 2181 §8: a TTL with the top bit set is treated as zero.
std::uint32_t sane_ttl(std::uint32_t ttl) { return (ttl & 0x80000000u) ? 0 : ttl; }

std::uint32_t negative_ttl(const Message& m) {
  for (const auto& rr : m.authority)
    if (rr.type == kTypeSoa && rr.soa) return std::min(sane_ttl(rr.ttl), sane_ttl(rr.soa->minimum));
  return 0;
}

// The walk every answer shares: rcode, question match, the CNAME chain
// inside the answer, the RRset of `qtype` at its end and its TTL, RFC 2308
// negative TTLs.  `take` copies one matching RR's data into the answer.
template <class Answer, class Take>
Answer interpret(const Message& m, std::string_view qname, std::uint16_t qtype,
                 std::string_view type_name, Take take) {
  const std::string want = normalize_name(qname);
  auto failure = [](std::string reason) {
    Answer a;
    a.kind = Answer::Kind::Failure;
    a.reason = std::move(reason);
    return a;
  };
  if (!m.qr) return failure("malformed answer: QR bit not set");
  if (m.opcode != 0) return failure("malformed answer: opcode " + std::to_string(m.opcode));
  if (m.qdcount != 1 || m.qname != want || m.qtype != qtype || m.qclass != kClassIn)
    return failure("mismatched answer: question section is not " + want + " IN " +
                   std::string(type_name));
  if (m.tc) return failure("answer truncated even over TCP");
  if (m.rcode != kRcodeNoError && m.rcode != kRcodeNxDomain) return failure(rcode_text(m.rcode));

  Answer a;
  a.authenticated = m.ad;
  a.final_name = want;
  std::uint32_t ttl = UINT32_MAX;
  bool followed = false;
  for (int hop = 0;; ++hop) {
    auto it = std::find_if(m.answers.begin(), m.answers.end(), [&](const ResourceRecord& rr) {
      return rr.type == kTypeCname && rr.rrclass == kClassIn && rr.name == a.final_name;
    });
    if (it == m.answers.end()) break;
    if (hop >= kMaxCnameHops) return failure("CNAME chain longer than 8 hops");
    a.notes.push_back("CNAME " + a.final_name + " -> " + it->cname);
    ttl = std::min(ttl, sane_ttl(it->ttl));
    a.final_name = it->cname;
    followed = true;
  }

  bool found = false;
  for (const auto& rr : m.answers) {
    if (rr.type != qtype || rr.rrclass != kClassIn || rr.name != a.final_name || !take(rr, a))
      continue;
    found = true;
    ttl = std::min(ttl, sane_ttl(rr.ttl));
  }

  if (found) {
    if (m.rcode != kRcodeNoError)
      return failure("malformed answer: NXDOMAIN with " + std::string(type_name) + " records");
    a.kind = Answer::Kind::Records;
    a.ttl = ttl;
    return a;
  }
  if (m.rcode == kRcodeNxDomain) {
    a.kind = Answer::Kind::NoRecords;
    a.nxdomain = true;
    a.ttl = followed ? std::min(ttl, negative_ttl(m)) : negative_ttl(m);
    a.reason = "NXDOMAIN: " + a.final_name + " does not exist";
    return a;
  }
  // NOERROR without data at the end of a CNAME chain: an authoritative
  // server stops at its zone edge (no SOA), a recursive one says NODATA
  // with the target zone's SOA.
  if (followed && !has_soa(m)) {
    a.kind = Answer::Kind::FollowCname;
    a.ttl = ttl;
    return a;
  }
  a.kind = Answer::Kind::NoRecords;
  a.ttl = followed ? std::min(ttl, negative_ttl(m)) : negative_ttl(m);
  a.reason = "NODATA: no " + std::string(type_name) + " record at " + a.final_name;
  return a;
}

}  // namespace

SrvAnswer interpret_srv_answer(const Message& m, std::string_view qname) {
  return interpret<SrvAnswer>(m, qname, kTypeSrv, "SRV",
                              [](const ResourceRecord& rr, SrvAnswer& a) {
                                if (!rr.srv) return false;
                                a.records.push_back(*rr.srv);
                                return true;
                              });
}

RrAnswer interpret_rr_answer(const Message& m, std::string_view qname, std::uint16_t qtype) {
  const char* name = qtype == kTypeTxt    ? "TXT"
                     : qtype == kTypeMx   ? "MX"
                     : qtype == kTypeTlsa ? "TLSA"
                                          : "RR";
  RrAnswer out =
      interpret<RrAnswer>(m, qname, qtype, name, [qtype](const ResourceRecord& rr, RrAnswer& a) {
        if (qtype == kTypeTxt) {
          if (!rr.txt) return false;
          a.data.push_back(*rr.txt);
        } else if (qtype == kTypeMx) {
          if (!rr.mx) return false;
          a.mx_preference.push_back(rr.mx_preference);
          a.data.push_back(*rr.mx);
        } else {
          a.data.emplace_back();
        }
        return true;
      });
  if (qtype == kTypeMx && out.kind == RrAnswer::Kind::Records) {
    // Most preferred first (RFC 5321 §5.1); wire order among equals.
    std::vector<std::size_t> idx(out.data.size());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t x, std::size_t y) {
      return out.mx_preference[x] < out.mx_preference[y];
    });
    std::vector<std::string> sorted;
    std::vector<std::uint16_t> prefs;
    for (auto i : idx) {
      sorted.push_back(std::move(out.data[i]));
      prefs.push_back(out.mx_preference[i]);
    }
    out.data = std::move(sorted);
    out.mx_preference = std::move(prefs);
  }
  return out;
}

TargetCheck check_targets(std::vector<record::SrvRecord> records) {
  TargetCheck out;
  // RFC 2782: a single "." target means the service is decidedly not
  // available.  Mixed with real targets, "." entries are ignored.
  if (records.size() == 1 && records.front().target.empty()) {
    out.kind = TargetCheck::Kind::DecidedlyNone;
    out.reason = "SRV target \".\": the domain publishes that it has no onion";
    out.notes.push_back("target \".\": decidedly no onion service");
    return out;
  }
  const std::size_t total = records.size();
  for (auto& srv : records) {
    const std::string where = "SRV " + std::to_string(srv.priority) + " " +
                              std::to_string(srv.weight) + " " + std::to_string(srv.port) + " " +
                              (srv.target.empty() ? "." : srv.target);
    if (srv.target.empty()) {
      out.notes.push_back(where + ": dropped, \".\" mixed with other targets");
      continue;
    }
    auto onion = address::parse_onion(srv.target);
    if (!onion) {
      out.notes.push_back(where + ": dropped, " + onion.error().detail);
      continue;
    }
    if (srv.port == 0) {
      out.notes.push_back(where + ": dropped, port 0");
      continue;
    }
    out.notes.push_back(where + ": accepted");
    srv.target = std::move(onion->full);
    out.records.push_back(std::move(srv));
  }
  if (out.records.empty()) {
    out.kind = TargetCheck::Kind::NoneValid;
    out.reason = "no valid onion target in " + std::to_string(total) + " SRV record(s)";
    return out;
  }
  out.kind = TargetCheck::Kind::Routes;
  return out;
}

}  // namespace onionmx::dns
