// test_util.hpp - small helpers shared by the GoogleTest suites.
#pragma once

#include <string>
#include <string_view>

#include "base/status.hpp"

namespace onionmx::test {

inline bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Readable names in assertion messages.
inline const char* status_name(Status s) {
  switch (s) {
    case Status::Ok: return "Ok";
    case Status::NotFound: return "NotFound";
    case Status::Temp: return "Temp";
    case Status::Inval: return "Inval";
    case Status::BadData: return "BadData";
    case Status::BadSig: return "BadSig";
    case Status::Io: return "Io";
    case Status::NoMem: return "NoMem";
    case Status::Internal: return "Internal";
  }
  return "?";
}

}  // namespace onionmx::test
