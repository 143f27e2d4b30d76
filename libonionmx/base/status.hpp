// status.hpp - the status model shared by every layer.
//
// Status mirrors the stable C codes of onionmx.h (same order, same meaning);
// Outcome is the MTA-facing verdict (found / notfound / temp / perm).  The
// mapping between them lives in one place, status.cpp, so that the protocol
// codecs and the C API cannot disagree about what defers and what does not.
#pragma once

#include <string_view>

namespace onionmx::base {

enum class Status {
  Ok = 0,
  NotFound = -1,  // no onion route: the MTA uses its normal routing
  Temp = -2,      // DNS timeout/SERVFAIL/unreachable: the MTA defers
  Inval = -3,     // API misuse or bad argument
  BadData = -4,   // malformed record, invalid onion name
  BadSig = -5,    // signature check failed
  Io = -6,        // system I/O error
  NoMem = -7,     // allocation failure
  Internal = -8,  // caught bug
};

enum class Outcome { Found, NotFound, Temp, Perm };

// Stable lower-case words: "found", "notfound", "temp", "perm" (the JSON
// `status` field of onionmx-lookup is a fixed interface).
std::string_view outcome_name(Outcome o) noexcept;
// Every non-Ok, non-NotFound status is an error: it never becomes NotFound.
Outcome outcome_of(Status s) noexcept;
bool status_is_temporary(Status s) noexcept;
std::string_view status_message(Status s) noexcept;

}  // namespace onionmx::base
