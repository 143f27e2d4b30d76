// result.hpp - internal result type: tl::expected<T, Error>.
//
// Expected failures (bad input, not found, DNS failure) travel as values;
// exceptions are for bugs and allocation failure only (docs/architecture.md).
// Never included by a public header.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

#include "base/status.hpp"

namespace onionmx {

struct Error {
  Status code = Status::Internal;
  std::string detail;
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(Status s, std::string detail) {
  return tl::unexpected<Error>(Error{s, std::move(detail)});
}

}  // namespace onionmx
