// static_sources.hpp - sources that answer without any network.
//
// LocalDomainSource: domains this MTA receives for itself are never routed
// over Tor.  An entry "example.org" matches that domain only; ".example.org"
// matches every subdomain (Postfix's notation).
// OnionAddressSource: recipients at "<56>.onion" route directly to that
// onion (RFC 7686: never looked up in DNS); invalid onion names are a
// permanent failure with the exact reason.
#pragma once

#include <string>
#include <vector>

#include "source/source.hpp"

namespace onionmx::source {

class LocalDomainSource final : public Source {
 public:
  explicit LocalDomainSource(std::vector<std::string> domains);
  std::string_view name() const override { return "local"; }
  void lookup(const Query& q, StepCallback done) override;
  bool matches(std::string_view domain) const;

 private:
  std::vector<std::string> exact_;
  std::vector<std::string> suffixes_;  // without the leading dot
};

class OnionAddressSource final : public Source {
 public:
  explicit OnionAddressSource(std::uint16_t port = 25) : port_(port) {}
  std::string_view name() const override { return "onion-address"; }
  void lookup(const Query& q, StepCallback done) override;

 private:
  std::uint16_t port_;
};

}  // namespace onionmx::source
