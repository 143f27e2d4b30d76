#include "source/onion_recipients.hpp"

#include <string>

#include "address/onion_address.hpp"

namespace onionmx::source {

void OnionAddressSource::lookup(const Query& q, StepCallback done) {
  Step step;
  if (!address::is_onion_name(q.domain)) {
    if (q.explain) step.answer.explain.push_back("onion-address: not an onion name");
    done(std::move(step));
    return;
  }
  step.decided = true;
  step.answer.source = kName;
  auto onion = address::parse_onion(q.domain);
  if (!onion) {
    step.answer.status = base::Status::BadData;
    step.answer.reason = "invalid onion address: " + onion.error().detail;
    if (q.explain)
      step.answer.explain.push_back("onion-address: rejected (" +
                                    std::string(address::onion_error_name(onion.error().kind)) +
                                    "): " + onion.error().detail);
  } else {
    step.answer.status = base::Status::Ok;
    step.answer.routes.push_back(record::Route{onion->full, port_, 0, 0});
    step.answer.reason = "recipient domain is a valid v3 onion address";
    // The address is its own key: the answer never changes.
    step.answer.ttl = 86400;
    if (q.explain)
      step.answer.explain.push_back(
          "onion-address: valid v3 address, routed directly (never sent to DNS)");
  }
  done(std::move(step));
}

}  // namespace onionmx::source
