#include "record/route.hpp"

namespace onionmx::record {

const char* origin_name(Origin s) noexcept {
  switch (s) {
    case Origin::None: return "none";
    case Origin::Local: return "local";
    case Origin::OnionAddress: return "onion-address";
    case Origin::Dns: return "dns";
    case Origin::Policy: return "policy";
  }
  return "none";
}

}  // namespace onionmx::record
