#include "source/local_domains.hpp"

#include <algorithm>

#include "base/strings.hpp"

namespace onionmx::source {

LocalDomainSource::LocalDomainSource(const std::vector<std::string>& domains) {
  for (const auto& d : domains) {
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
    step.answer.source = kName;
    step.answer.reason = "local domain: never routed over Tor";
    if (q.explain) step.answer.explain.push_back("local: " + q.domain + " is a local domain");
  } else if (q.explain) {
    step.answer.explain.push_back("local: " + q.domain + " is not a local domain");
  }
  done(std::move(step));
}

}  // namespace onionmx::source
