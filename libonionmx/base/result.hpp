// result.hpp - internal result type: tl::expected<T, Error>.
//
// Expected failures (bad input, not found, DNS failure) travel as values;
// exceptions are for bugs and allocation failure only (docs/architecture.md).
// Never included by a public header.
#pragma once

#include <string>
#include <tl/expected.hpp>
#include <utility>

#include "base/status.hpp"

namespace onionmx::base {

struct Error {
  Status code = Status::Internal;
  std::string detail;
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(Status s, std::string detail) {
  return tl::unexpected<Error>(Error{s, std::move(detail)});
}
// Passes an error on unchanged (from another Result, or one built by hand).
inline tl::unexpected<Error> fail(Error e) { return tl::unexpected<Error>(std::move(e)); }

}  // namespace onionmx::base

// Returns the error of a Result-valued expression from the enclosing
// function, which must itself return some Result.  For checks whose value
// is not needed: `ONIONMX_TRY(reader.get_bool(...));`.
#define ONIONMX_TRY(expr)                                            \
  do {                                                               \
    if (auto onionmx_try_ = (expr); !onionmx_try_)                   \
      return ::onionmx::base::fail(std::move(onionmx_try_.error())); \
  } while (0)
