#include "source/map_source.hpp"

#include <algorithm>
#include <chrono>
#include <string>

namespace onionmx::source {

namespace {
// Answers from the map may be cached for a day at most, and never past
// the map's expiry.
constexpr std::int64_t kMaxMapTtl = 86400;
}  // namespace

MapSource::MapSource(std::shared_ptr<const map::StaticMap> map, const base::Clock& clock,
                     base::LogSink log)
    : map_(std::move(map)), clock_(clock), log_(std::move(log)) {}

bool MapSource::expired() {
  const auto exp = map_->expires();
  if (!exp) return false;
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.wall().time_since_epoch()).count();
  if (now < *exp) return false;
  if (!expiry_logged_ && log_) {
    log_(base::LogLevel::Warning,
         "static map serial " + std::to_string(map_->serial()) +
             " has expired: its pins no longer answer (reload a fresh map)");
  }
  expiry_logged_ = true;
  return true;
}

void MapSource::lookup(const Query& q, StepCallback done) {
  Step step;
  if (!map_) {
    done(std::move(step));
    return;
  }
  const std::string serial = std::to_string(map_->serial());
  if (expired()) {
    if (q.explain) step.answer.explain.push_back("map: serial " + serial + " expired, not used");
    done(std::move(step));
    return;
  }
  const auto* routes = map_->lookup(q.domain);
  if (!routes || routes->empty()) {
    if (q.explain)
      step.answer.explain.push_back("map: no entry for " + q.domain + " (serial " + serial + ")");
    done(std::move(step));
    return;
  }
  step.decided = true;
  record::Answer& a = step.answer;
  a.status = base::Status::Ok;
  a.source = kName;
  a.routes = *routes;
  a.reason = "static map serial " + serial;
  std::int64_t ttl = kMaxMapTtl;
  if (auto exp = map_->expires()) {
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.wall().time_since_epoch()).count();
    ttl = std::clamp<std::int64_t>(*exp - now, 0, kMaxMapTtl);
  }
  a.ttl = static_cast<std::uint32_t>(ttl);
  if (q.explain)
    a.explain.push_back("map: " + q.domain + " pinned by the static map (serial " + serial + ", " +
                        std::to_string(routes->size()) + " route(s))");
  done(std::move(step));
}

}  // namespace onionmx::source
