#include "base/status.hpp"

namespace onionmx::base {

std::string_view outcome_name(Outcome o) noexcept {
  switch (o) {
    case Outcome::Found:
      return "found";
    case Outcome::NotFound:
      return "notfound";
    case Outcome::Temp:
      return "temp";
    case Outcome::Perm:
      return "perm";
  }
  return "temp";
}

Outcome outcome_of(Status s) noexcept {
  switch (s) {
    case Status::Ok:
      return Outcome::Found;
    case Status::NotFound:
      return Outcome::NotFound;
    case Status::Inval:
    case Status::BadData:
    case Status::BadSig:
      return Outcome::Perm;
    case Status::Temp:
    case Status::Io:
    case Status::NoMem:
    case Status::Internal:
      return Outcome::Temp;
  }
  // An unknown code must defer, never fall through to clearnet.
  return Outcome::Temp;
}

bool status_is_temporary(Status s) noexcept { return outcome_of(s) == Outcome::Temp; }

std::string_view status_message(Status s) noexcept {
  switch (s) {
    case Status::Ok:
      return "success";
    case Status::NotFound:
      return "no onion route";
    case Status::Temp:
      return "temporary failure";
    case Status::Inval:
      return "invalid argument";
    case Status::BadData:
      return "malformed data";
    case Status::BadSig:
      return "signature verification failed";
    case Status::Io:
      return "input/output error";
    case Status::NoMem:
      return "out of memory";
    case Status::Internal:
      return "internal error";
  }
  return "unknown status";
}

}  // namespace onionmx::base
