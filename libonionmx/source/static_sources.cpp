#include "source/static_sources.hpp"

#include <algorithm>

#include "address/onion_address.hpp"
#include "base/strings.hpp"

namespace onionmx::source {

LocalDomainSource::LocalDomainSource(std::vector<std::string> domains) {
  for (auto& d : domains) {
    std::string n = base::ascii_lowercase(d);
    if (!n.empty() && n.back() == '.') n.pop_back();
    if (!n.empty() && n.front() == '.')
      suffixes_.push_back(n.substr(1));
    else if (!n.empty())
      exact_.push_back(std::move(n));
  }
}

bool LocalDomainSource::matches(std::string_view domain) const {
  if (std::find(exact_.begin(), exact_.end(), domain) != exact_.end()) return true;
  return std::any_of(suffixes_.begin(), suffixes_.end(), [&](const std::string& s) {
    return domain.size() > s.size() && base::ends_with_label(domain, s);
  });
}

void LocalDomainSource::lookup(const Query& q, StepCallback done) {
  Step step;
  if (matches(q.domain)) {
    step.decided = true;
    step.answer.status = base::Status::NotFound;
    step.answer.source = record::Origin::Local;
    step.answer.reason = "local domain: never routed over Tor";
    if (q.explain) step.answer.explain.push_back("local: " + q.domain + " is a local domain");
  } else if (q.explain) {
    step.answer.explain.push_back("local: " + q.domain + " is not a local domain");
  }
  done(std::move(step));
}

void OnionAddressSource::lookup(const Query& q, StepCallback done) {
  Step step;
  if (!address::is_onion_name(q.domain)) {
    if (q.explain) step.answer.explain.push_back("onion-address: not an onion name");
    done(std::move(step));
    return;
  }
  step.decided = true;
  step.answer.source = record::Origin::OnionAddress;
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
      step.answer.explain.push_back("onion-address: valid v3 address, routed directly (never sent to DNS)");
  }
  done(std::move(step));
}

}  // namespace onionmx::source
