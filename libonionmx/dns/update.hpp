// update.hpp - DNS UPDATE (RFC 2136) messages: write, dump, read the answer.
//
// Pure code, no I/O.  Writer: header with OPCODE 5, ZOCOUNT 1 (zone SOA IN),
// PRCOUNT, UPCOUNT, ADCOUNT; names uncompressed (RFC 2136 §2.2 allows, never
// requires, compression).  The onionmx publishing update (publish_update)
// touches only `_onion-mx._tcp.<domain>`: it replaces the SRV RRset there and
// the policy TXT record (docs/policy-record.md), keeping other TXT records
// at the name, with the prerequisite "SOA RRset exists at the zone name"
// (RFC 2136 §2.4.1), so the update applies only to a real zone apex and
// never to other names or types.
//
// Readers: the answer to the update (checks ID, QR and OPCODE, classifies
// the RCODE together with the TSIG error and the TSIG verdict, RFC 8945
// §5.3, into an UpdateVerdict) and the TXT RRset read before it.
// Limits: one zone per message; no EDNS; TXT strings over 255 bytes are
// split into several character-strings.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "dns/tsig.hpp"

namespace onionmx::dns {

inline constexpr std::uint8_t kOpcodeUpdate = 5;
inline constexpr std::uint8_t kRcodeYxDomain = 6;
inline constexpr std::uint8_t kRcodeYxRrset = 7;
inline constexpr std::uint8_t kRcodeNxRrset = 8;
inline constexpr std::uint8_t kRcodeNotAuth = 9;
inline constexpr std::uint8_t kRcodeNotZone = 10;

// One RR of the prerequisite or update section.
struct UpdateRr {
  std::string name;  // presentation form, any case (written as given)
  std::uint16_t type = 0;
  std::uint16_t rrclass = 0;
  std::uint32_t ttl = 0;
  std::vector<std::uint8_t> rdata;
};

struct UpdateMessage {
  std::uint16_t id = 0;
  std::string zone;
  std::vector<UpdateRr> prerequisites;
  std::vector<UpdateRr> updates;
};

[[nodiscard]] base::Result<std::vector<std::uint8_t>> build_update(const UpdateMessage& m);

// RDATA helpers.  SRV target uncompressed (RFC 2782); TXT text split into
// character-strings of at most 255 bytes (RFC 1035 §3.3.14).
[[nodiscard]] base::Result<std::vector<std::uint8_t>> srv_rdata(std::uint16_t priority,
                                                                std::uint16_t weight,
                                                                std::uint16_t port,
                                                                std::string_view target);
std::vector<std::uint8_t> txt_rdata(std::string_view text);

// RFC 2136 §2.5.2 "delete an RRset": class ANY, TTL 0, no RDATA.
UpdateRr delete_rrset(std::string_view name, std::uint16_t type);
// RFC 2136 §2.4.1 "RRset exists (value independent)": class ANY, TTL 0.
UpdateRr rrset_exists(std::string_view name, std::uint16_t type);

// What `onionmx-publish` publishes for one domain.
struct PublishRecords {
  std::string domain;  // lower case, no trailing dot
  std::string onion;   // "<56>.onion", validated by the caller
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 25;
  std::uint32_t ttl = 300;
  std::string policy;  // TXT text; empty: no TXT added (the old one is still deleted)
};

// "_onion-mx._tcp.<domain>".
std::string onionmx_owner(std::string_view domain);

// Inval when the owner name is not inside `zone` (the server would answer
// NOTZONE), or for bad names.
//
// `current_txt`: the RDATA of the TXT RRset at the owner name as the server
// holds it (read_txt_rrset; empty: none).  Other TXT records may share the
// name (docs/policy-record.md), so only the v=ONIONMX1 ones are deleted, by
// value (RFC 2136 §2.5.4), under the prerequisite that the TXT RRset is
// still exactly `current_txt` (§2.4.2, or "does not exist", §2.4.3): a
// change in between fails the whole update (NXRRSET/YXRRSET) and touches
// nothing.  The SRV RRset at that name is onionmx's alone and is replaced.
[[nodiscard]] base::Result<UpdateMessage> publish_update(
    std::uint16_t id, std::string_view zone, const PublishRecords& r,
    const std::vector<std::vector<std::uint8_t>>& current_txt = {});

// The TXT RRset at `owner` from the answer to a TXT query with `id`:
// RDATA as on the wire, answer order.  Empty for NXDOMAIN or NODATA.
// BadData unless the answer is an authoritative (AA) NOERROR/NXDOMAIN
// answer to that query (the primary must speak for its own zone).
[[nodiscard]] base::Result<std::vector<std::vector<std::uint8_t>>> read_txt_rrset(
    std::span<const std::uint8_t> wire, std::uint16_t id, std::string_view owner);

// Whether a TXT RDATA is an onionmx policy record (its character-strings
// joined begin with v=ONIONMX1, docs/policy-record.md "Selection").
bool is_policy_txt(std::span<const std::uint8_t> rdata);

// Zone-file lines (absolute names) of the records publish_update adds.
std::vector<std::string> publish_zone_lines(const PublishRecords& r);

// Human-readable dump of an UPDATE message (sections named as in RFC 2136),
// like dig's, for --dry-run.  BadData for a malformed message.
[[nodiscard]] base::Result<std::string> dump_update(std::span<const std::uint8_t> wire);

enum class UpdateVerdict {
  Success,       // NOERROR, response TSIG verified
  Refused,       // REFUSED
  NotAuth,       // NOTAUTH without TSIG error: server not authoritative for the zone
  NotZone,       // NOTZONE
  BadSig,        // TSIG error BADSIG: the server has the key with another secret
  BadKey,        // TSIG error BADKEY: the server does not know the key (or algorithm)
  BadTime,       // TSIG error BADTIME: clocks differ by more than the fudge
  PrereqFailed,  // YXDOMAIN, YXRRSET, NXRRSET, NXDOMAIN: prerequisite not met
  ServerError,   // FORMERR, SERVFAIL, NOTIMP, other rcodes
  Unverified,    // NOERROR but the response TSIG is missing or wrong
};
std::string_view update_verdict_name(UpdateVerdict v) noexcept;

struct UpdateResponse {
  std::uint16_t id = 0;
  std::uint8_t rcode = 0;
  std::uint16_t tsig_error = 0;  // from the response TSIG RR, 0 without one
  TsigCheck tsig_check = TsigCheck::Unsigned;
  std::optional<std::uint64_t> server_time;  // BADTIME: the server's clock (other data)
  bool truncated = false;                    // TC bit
  UpdateVerdict verdict = UpdateVerdict::ServerError;
  std::string detail;  // one line, e.g. "NOTAUTH (TSIG error BADSIG): ..."
};

std::string_view rcode_name(std::uint8_t rcode) noexcept;  // "NOERROR", "NOTAUTH", ...
std::string tsig_error_name(std::uint16_t error);          // "BADSIG", ..., or the number

// Reads the answer to a signed UPDATE.  BadData when it is not an answer to
// that request (ID, QR, OPCODE) or is malformed; every server verdict is a
// value.  `now` is the clock that signed the request.
[[nodiscard]] base::Result<UpdateResponse> read_update_response(
    std::span<const std::uint8_t> wire, std::uint16_t request_id, const TsigKey& key,
    std::span<const std::uint8_t> request_mac, std::uint64_t now);

}  // namespace onionmx::dns
