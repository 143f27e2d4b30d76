#include "record/route.hpp"

namespace onionmx::record {

const char* source_name(Source s) noexcept {
  switch (s) {
    case Source::None: return "none";
    case Source::Local: return "local";
    case Source::OnionAddress: return "onion-address";
    case Source::Dns: return "dns";
    case Source::Policy: return "policy";
  }
  return "none";
}

}  // namespace onionmx::record
