// tsig.hpp - TSIG (RFC 8945): sign a request, read and verify a response.
//
// Pure code, no I/O: the caller supplies the time.  Layout (RFC 8945 §4.2,
// §5.1): the TSIG RR is the last RR of the additional section, NAME = key name, TYPE 250, CLASS
// ANY, TTL 0, RDATA = algorithm name, time signed (u48), fudge (u16), MAC size + MAC, original ID,
// error, other len + other data.  Names are written uncompressed and in lower case (canonical form,
// RFC 8945 §4.3.3).
//
// Request MAC = HMAC(message before TSIG ‖ TSIG variables) (§4.3.3).
// Response MAC = HMAC(request MAC size ‖ request MAC ‖ response before TSIG
// with ARCOUNT - 1 and ID = original ID ‖ TSIG variables) (§4.3.1, §5.3).
// Algorithms: hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512
// (RFC 8945 §6); no truncated MACs (the responder's MAC must be full size),
// no hmac-md5, no GSS-TSIG, no multi-message (AXFR) verification.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace onionmx::dns {

inline constexpr std::uint16_t kTypeTsig = 250;
inline constexpr std::uint16_t kTypeAny = 255;
inline constexpr std::uint16_t kClassAny = 255;
inline constexpr std::uint16_t kClassNone = 254;
inline constexpr std::uint16_t kTsigDefaultFudge = 300;

// TSIG error field values (RFC 8945 §3; 16 is shared with BADVERS).
inline constexpr std::uint16_t kTsigBadSig = 16;
inline constexpr std::uint16_t kTsigBadKey = 17;
inline constexpr std::uint16_t kTsigBadTime = 18;
inline constexpr std::uint16_t kTsigBadTrunc = 22;

enum class TsigAlgorithm { HmacSha1, HmacSha224, HmacSha256, HmacSha384, HmacSha512 };

// "hmac-sha256" etc. (the wire name without its trailing dot).
std::string_view tsig_algorithm_name(TsigAlgorithm a) noexcept;
// Case-insensitive, one trailing dot allowed.
std::optional<TsigAlgorithm> tsig_algorithm_from_name(std::string_view name) noexcept;
std::size_t tsig_mac_size(TsigAlgorithm a) noexcept;

struct TsigKey {
  std::string name;  // lower case, no trailing dot
  TsigAlgorithm algorithm = TsigAlgorithm::HmacSha256;
  std::vector<std::uint8_t> secret;
};

// A TSIG RR as read from a message.
struct TsigRecord {
  std::string key_name;   // lower case, no trailing dot
  std::string algorithm;  // lower case, no trailing dot
  std::uint64_t time_signed = 0;
  std::uint16_t fudge = 0;
  std::vector<std::uint8_t> mac;
  std::uint16_t original_id = 0;
  std::uint16_t error = 0;
  std::vector<std::uint8_t> other;
};

// The TSIG variables (RFC 8945 §4.3.3): key name ‖ CLASS ANY ‖ TTL 0 ‖
// algorithm ‖ time (u48) ‖ fudge ‖ error ‖ other len ‖ other data.
[[nodiscard]] base::Result<std::vector<std::uint8_t>> tsig_variables(
    std::string_view key_name, TsigAlgorithm alg, std::uint64_t time_signed, std::uint16_t fudge,
    std::uint16_t error, std::span<const std::uint8_t> other);

struct SignedMessage {
  std::vector<std::uint8_t> wire;  // the message with its TSIG RR, ARCOUNT + 1
  std::vector<std::uint8_t> mac;   // the request MAC, needed to verify the response
};

// Signs a complete message (header counts final, no TSIG yet).  BadData for
// a message shorter than its header, Inval for a bad key name, Internal if
// the HMAC fails.
[[nodiscard]] base::Result<SignedMessage> tsig_sign(std::span<const std::uint8_t> message,
                                                    const TsigKey& key, std::uint64_t time_signed,
                                                    std::uint16_t fudge = kTsigDefaultFudge);

// A message split at its TSIG RR.
struct TsigSplit {
  std::vector<std::uint8_t> unsigned_message;  // ARCOUNT - 1, ID = original ID
  TsigRecord tsig;
};

// Finds the TSIG RR.  nullopt when the message has none; BadData when it is
// malformed or a TSIG RR is not the last RR (RFC 8945 §5.1 rejects those).
[[nodiscard]] base::Result<std::optional<TsigSplit>> tsig_split(std::span<const std::uint8_t> wire);

enum class TsigCheck {
  Verified,  // MAC correct, time within fudge
  Unsigned,  // no TSIG RR, or one with an empty MAC (servers answer BADSIG/BADKEY so)
  WrongKey,  // key name or algorithm differ from the request's
  BadMac,    // MAC does not verify
  BadTime,   // MAC correct, time signed outside now ± fudge
};
std::string_view tsig_check_name(TsigCheck c) noexcept;

struct ResponseTsig {
  TsigCheck check = TsigCheck::Unsigned;
  std::optional<TsigRecord> record;
};

// Verifies a response against the request MAC (RFC 8945 §5.3).  `now` is
// the signer's clock (the same clock that signed the request).  BadData for
// malformed messages only; every verdict on the MAC is a TsigCheck.
[[nodiscard]] base::Result<ResponseTsig> tsig_verify_response(
    std::span<const std::uint8_t> response, const TsigKey& key,
    std::span<const std::uint8_t> request_mac, std::uint64_t now);

// Verifies a signed request (the server side; used by tests and the fuzz
// target to check tsig_sign round trips).
[[nodiscard]] base::Result<ResponseTsig> tsig_verify_request(std::span<const std::uint8_t> request,
                                                             const TsigKey& key, std::uint64_t now);

}  // namespace onionmx::dns
