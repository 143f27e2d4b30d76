#include "address/domain.hpp"

#include "base/strings.hpp"

namespace onionmx::address {

std::string domain_syntax_problem(std::string_view d) {
  if (d.size() > 253) return "domain longer than 253 characters";
  std::size_t start = 0;
  while (start <= d.size()) {
    std::size_t end = d.find('.', start);
    if (end == std::string_view::npos) end = d.size();
    std::string_view label = d.substr(start, end - start);
    if (label.empty()) return "empty label in domain";
    if (label.size() > 63) return "label longer than 63 characters";
    if (label.front() == '-' || label.back() == '-') return "label starts or ends with '-'";
    for (std::size_t i = 0; i < label.size(); ++i) {
      const auto c = static_cast<unsigned char>(label[i]);
      if (c >= 0x80) return "non-ASCII domain (write the A-label, xn--...)";
      const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      if (!ok) return "invalid character '" + base::printable(label.substr(i, 1)) + "' in domain";
    }
    start = end + 1;
  }
  return {};
}

}  // namespace onionmx::address
