// srv_answer.hpp - what an `_onion-mx._tcp` SRV answer means.
//
// interpret_srv_answer() classifies one DNS response (rcode, question match,
// CNAME chain inside the answer, RRset TTL, RFC 2308 negative TTL, AD bit).
// check_targets() keeps the SRV records whose targets are valid onions: a
// lone "." target means "decidedly no onion" (RFC 2782); every target is
// checked by the onion module and dropped with a reason if invalid.  The
// weighted order is drawn per lookup, later (record::order_routes).
// Pure functions: the transport (c-ares) lives in cares_source.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dns/message.hpp"
#include "record/route.hpp"
#include "record/srv.hpp"

namespace onionmx::dns {

inline constexpr int kMaxCnameHops = 8;

struct SrvAnswer {
  enum class Kind {
    Records,      // SRV RRset found for final_name
    NoRecords,    // NXDOMAIN or NODATA: no onion published
    FollowCname,  // chain ends at final_name with no data: query it
    Failure,      // error: Temp with reason, never "not found"
  };
  Kind kind = Kind::Failure;
  bool nxdomain = false;
  std::string final_name;                  // after CNAMEs in this answer
  std::vector<record::SrvRecord> records;  // the RRset, in wire order
  std::uint32_t ttl = 0;                   // positive: min RRset/CNAME TTL; negative: RFC 2308
  bool authenticated = false;              // AD bit
  std::string reason;                      // Failure, NoRecords
  std::vector<std::string> notes;          // CNAME hops, for --explain
};

SrvAnswer interpret_srv_answer(const Message& m, std::string_view qname);

// The same walk for the other types onionmx asks for (TXT, MX, TLSA: the
// policy record and the downgrade guard, docs/route-trust.md).
struct RrAnswer {
  using Kind = SrvAnswer::Kind;
  Kind kind = Kind::Failure;
  bool nxdomain = false;
  std::string final_name;
  // TXT: joined character-strings; MX: exchanges, most preferred first;
  // TLSA: one empty string per record.
  std::vector<std::string> data;
  std::vector<std::uint16_t> mx_preference;  // MX, parallel to `data`
  std::uint32_t ttl = 0;
  bool authenticated = false;
  std::string reason;
  std::vector<std::string> notes;
};

RrAnswer interpret_rr_answer(const Message& m, std::string_view qname, std::uint16_t qtype);

struct TargetCheck {
  enum class Kind { Routes, DecidedlyNone, NoneValid };
  Kind kind = Kind::NoneValid;
  // Valid targets in wire order, each target the onion's canonical name.
  std::vector<record::SrvRecord> records;
  std::vector<std::string> notes;  // accepted / dropped targets and why
  std::string reason;
};

TargetCheck check_targets(std::vector<record::SrvRecord> records);

}  // namespace onionmx::dns
