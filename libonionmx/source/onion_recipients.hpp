// onion_recipients.hpp - recipients at "<56>.onion" route directly to that
// onion (RFC 7686: never looked up in DNS); invalid onion names are a
// permanent failure with the exact reason.  Other domains pass.
#pragma once

#include <cstdint>
#include <string_view>

#include "source/source.hpp"

namespace onionmx::source {

class OnionAddressSource final : public Source {
 public:
  static constexpr std::string_view kName = "onion-address";
  explicit OnionAddressSource(std::uint16_t port = 25) : port_(port) {}
  void lookup(const Query& q, StepCallback done) override;

 private:
  std::uint16_t port_;
};

}  // namespace onionmx::source
