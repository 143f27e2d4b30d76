#include "address/idna.hpp"

#include <idn2.h>

#include <algorithm>
#include <memory>

namespace onionmx::address {

bool has_non_ascii(std::string_view s) noexcept {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

base::Result<std::string> to_a_labels(std::string_view domain) {
  if (domain.find('\0') != std::string_view::npos)
    return base::fail(base::Status::Inval, "domain contains a NUL byte");
  const std::string in(domain);  // idn2 wants a NUL-terminated string
  char* out = nullptr;
  const int rc = idn2_to_ascii_8z(in.c_str(), &out, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
  const std::unique_ptr<char, decltype(&idn2_free)> owned(out, &idn2_free);
  if (rc != IDN2_OK || out == nullptr)
    return base::fail(
        base::Status::Inval,
        std::string("invalid internationalised domain name (IDNA): ") + idn2_strerror(rc));
  return std::string(out);
}

}  // namespace onionmx::address
