// local_domains.hpp - domains this MTA receives for itself are never routed
// over Tor.  An entry "example.org" matches that domain only;
// ".example.org" matches every subdomain (Postfix's notation,
// transport(5)).  Decides "not found" for a match, passes otherwise.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "source/source.hpp"

namespace onionmx::source {

class LocalDomainSource final : public Source {
 public:
  static constexpr std::string_view kName = "local";
  explicit LocalDomainSource(const std::vector<std::string>& domains);
  void lookup(const Query& q, StepCallback done) override;
  bool matches(std::string_view domain) const;

 private:
  std::vector<std::string> exact_;
  std::vector<std::string> suffixes_;  // without the leading dot
};

}  // namespace onionmx::source
