// message.hpp - DNS wire format: build queries, walk answers (RFC 1035).
//
// Pure code, no c-ares: c-ares 1.18.1 parsers drop TTLs and cannot read the
// SOA of a negative answer, and ares_query cannot set DO or AD
// (docs/dns-discovery.md).  So onionmx builds its queries and walks the answer itself, and
// c-ares is only the transport.  Every offset is checked against the message
// length; compression pointers must point backwards (no loops).  Input is
// hostile: this is a fuzz target.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "record/srv.hpp"

namespace onionmx::dns {

inline constexpr std::uint16_t kTypeCname = 5;
inline constexpr std::uint16_t kTypeSoa = 6;
inline constexpr std::uint16_t kTypeMx = 15;
inline constexpr std::uint16_t kTypeTxt = 16;
inline constexpr std::uint16_t kTypeSrv = 33;
inline constexpr std::uint16_t kTypeOpt = 41;
inline constexpr std::uint16_t kTypeTlsa = 52;
inline constexpr std::uint16_t kClassIn = 1;

inline constexpr std::uint8_t kRcodeNoError = 0;
inline constexpr std::uint8_t kRcodeFormErr = 1;
inline constexpr std::uint8_t kRcodeServFail = 2;
inline constexpr std::uint8_t kRcodeNxDomain = 3;
inline constexpr std::uint8_t kRcodeNotImp = 4;
inline constexpr std::uint8_t kRcodeRefused = 5;

struct QueryOptions {
  bool recursion_desired = true;
  bool edns = true;  // OPT RR with udp_payload_size
  std::uint16_t udp_payload_size = 1232;
  bool dnssec_ok = false;       // DO bit in the OPT RR
  bool authentic_data = false;  // AD bit in the header (RFC 6840 §5.7)
};

// Name in presentation form, with or without the trailing dot.  Fails for
// empty labels, labels over 63 bytes, names over 255 bytes on the wire.
[[nodiscard]] base::Result<std::vector<std::uint8_t>> build_query(std::uint16_t id,
                                                                  std::string_view name,
                                                                  std::uint16_t qtype,
                                                                  const QueryOptions& opts);

struct SoaData {
  std::uint32_t minimum = 0;
};

struct ResourceRecord {
  std::string name;  // lower case, no trailing dot, "" for the root
  std::uint16_t type = 0;
  std::uint16_t rrclass = 0;
  std::uint32_t ttl = 0;
  // Decoded RDATA of the types onionmx reads; others are skipped.
  std::optional<record::SrvRecord> srv;  // target lower case, "" for "."
  std::string cname;                     // CNAME target
  std::optional<SoaData> soa;
  // TXT: the character-strings joined (RFC 1035 §3.3.14); MX: the exchange
  // (lower case, no trailing dot) and its preference.
  std::optional<std::string> txt;
  std::optional<std::string> mx;
  std::uint16_t mx_preference = 0;
};

struct Message {
  std::uint16_t id = 0;
  bool qr = false, aa = false, tc = false, rd = false, ra = false, ad = false, cd = false;
  std::uint8_t opcode = 0;
  std::uint8_t rcode = 0;
  std::uint16_t qdcount = 0;
  std::string qname;  // first question, lower case, no trailing dot
  std::uint16_t qtype = 0;
  std::uint16_t qclass = 0;
  std::vector<ResourceRecord> answers;
  std::vector<ResourceRecord> authority;
  std::vector<ResourceRecord> additional;
};

// Uncompressed wire form of a presentation name (with or without the
// trailing dot; bytes copied as given, so fold case first for canonical
// form).  Inval for empty labels, labels over 63 bytes, names over 255 bytes.
[[nodiscard]] base::Result<std::vector<std::uint8_t>> encode_name(std::string_view name);

// Parses the header, the questions and every RR.  BadData with a precise
// reason for anything truncated, out of bounds or malformed.
[[nodiscard]] base::Result<Message> parse_message(std::span<const std::uint8_t> wire);

// Lower case, strip one trailing dot.
std::string normalize_name(std::string_view name);

}  // namespace onionmx::dns
