#include "source/trust_gate.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <utility>
#include <vector>

#include "record/policy.hpp"
#include "source/dns_source.hpp"

namespace onionmx::source {
namespace {

// A pin is refreshed on use only when this moves its expiry: every cache
// hit would otherwise rewrite it (and mark the cache file for saving).
constexpr std::int64_t kPinRefreshSlack = 60;

std::string routes_text(const std::vector<record::Route>& routes) {
  std::vector<std::string> parts;
  parts.reserve(routes.size());
  for (const auto& r : routes) parts.push_back(r.onion + ":" + std::to_string(r.port));
  std::sort(parts.begin(), parts.end());
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

std::string records_text(const std::vector<record::SrvRecord>& recs) {
  std::vector<std::string> parts;
  parts.reserve(recs.size());
  for (const auto& r : recs) parts.push_back(r.target + ":" + std::to_string(r.port));
  std::sort(parts.begin(), parts.end());
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

// Every onion of the answer is pinned (a subset: a dropped onion is no risk).
bool routes_pinned(const std::vector<record::Route>& routes, const record::Pin& pin) {
  return std::all_of(routes.begin(), routes.end(), [&](const record::Route& r) {
    return std::any_of(pin.records.begin(), pin.records.end(),
                       [&](const record::SrvRecord& p) { return p.target == r.onion; });
  });
}

std::vector<record::SrvRecord> records_of(const std::vector<record::Route>& routes) {
  std::vector<record::SrvRecord> out;
  out.reserve(routes.size());
  for (const auto& r : routes) out.push_back({r.priority, r.weight, r.port, r.onion});
  return out;
}

// The pin holds exactly these routes (as a set).  No copies: this runs on
// every hit of a pinned domain, and route sets are a handful of records.
bool same_records(const std::vector<record::SrvRecord>& pinned,
                  const std::vector<record::Route>& routes) {
  if (pinned.size() != routes.size()) return false;
  return std::all_of(routes.begin(), routes.end(), [&](const record::Route& r) {
    return std::any_of(pinned.begin(), pinned.end(), [&](const record::SrvRecord& p) {
      return p.target == r.onion && p.port == r.port && p.priority == r.priority &&
             p.weight == r.weight;
    });
  });
}

}  // namespace

std::string utc_time(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (!gmtime_r(&t, &tm)) return std::to_string(unix_seconds);
  char buf[32];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    return std::to_string(unix_seconds);
  return buf;
}

TrustGate::TrustGate(std::shared_ptr<cache::Cache> cache, const base::Clock& clock,
                     base::LogSink log, record::TrustSettings settings)
    : cache_(std::move(cache)), clock_(clock), log_(std::move(log)), settings_(settings) {}

void TrustGate::log(base::LogLevel level, const std::string& msg) const {
  if (log_) log_(level, msg);
}

std::int64_t TrustGate::now_wall() const {
  return std::chrono::duration_cast<std::chrono::seconds>(clock_.wall().time_since_epoch()).count();
}

record::Answer TrustGate::judge(record::RecordSet set, const Query& q,
                                const record::UniformRng& rng) {
  const bool fresh_from_dns = !set.from_cache;
  const bool srv_auth = set.authenticated;
  const record::PolicyFacts facts = std::move(set.policy);
  const record::GuardFacts guard = std::move(set.guard);
  record::Answer a = answer_from_set(std::move(set), rng);
  const std::string& domain = q.domain;
  const std::int64_t now = now_wall();
  // Literals are turned into strings only when asked for; call sites that
  // format (times) test q.explain themselves: this runs on every cache hit.
  auto explain = [&](auto&& line) {
    if (q.explain) a.explain.emplace_back(std::forward<decltype(line)>(line));
  };
  // Warnings for what DNS just said; a cached set repeats them at debug.
  const base::LogLevel warn = fresh_from_dns ? base::LogLevel::Warning : base::LogLevel::Debug;

  // The live pin, if any; reset whenever the cache's pins change below.
  const record::Pin* pin = nullptr;
  if (cache_ && settings_.policy) {
    if (const record::Pin* p = cache_->pin(domain)) {
      if (p->expires > now) {
        pin = p;
      } else {
        log(base::LogLevel::Info, "domain " + domain + ": pinned route expired at " +
                                      utc_time(p->expires) + "; pin removed");
        cache_->erase_pin(domain);
      }
    }
  }
  if (pin && q.explain) explain("policy: route pinned until " + utc_time(pin->expires));

  if (facts.state == record::PolicyFacts::State::Invalid)
    log(warn, "domain " + domain + ": invalid policy record (" + facts.reason +
                  "); treated as no policy");

  bool held = false;         // the pin's routes answered instead of DNS's
  bool pin_matches = false;  // DNS's routes are all pinned
  auto hold = [&](const std::string& dns_says) {
    const std::string until = utc_time(pin->expires);
    log(warn, "domain " + domain + ": possible hijack: DNS now says " + dns_says + ", pinned " +
                  records_text(pin->records) + " until " + until + "; not accepted without DNSSEC");
    a.status = base::Status::Ok;
    a.failure = record::Failure::None;
    a.routes = record::order_routes(pin->records, rng);
    a.source = record::kOriginPin;
    a.authenticated = false;
    a.reason = "pinned route (enforce policy, until " + until + "); DNS now says " + dns_says +
               " without DNSSEC: possible hijack, not accepted";
    explain("policy: " + a.reason);
    if (cache_) ++cache_->stats().pin_holds;
    held = true;
  };

  if (a.status == base::Status::Temp && pin) {
    // Enforce: no clearnet while the policy is cached, whatever
    // on_dns_failure says.
    a.failure = record::Failure::KnownRoute;
    a.reason += "; an enforce policy is pinned until " + utc_time(pin->expires) +
                ", so this domain's mail never goes over the clearnet";
    explain("policy: DNS failed under a live pin: temporary failure, never the clearnet");
  } else if (a.status == base::Status::NotFound && pin) {
    if (srv_auth) {
      log(base::LogLevel::Info,
          "domain " + domain + ": onion route withdrawn (DNSSEC-authenticated denial: " + a.reason +
              "); pin removed");
      explain("policy: DNSSEC-authenticated denial: pin removed");
      cache_->erase_pin(domain);
      pin = nullptr;
    } else {
      hold("no route (" + a.reason + ")");
    }
  } else if (a.status == base::Status::Ok && pin) {
    if (routes_pinned(a.routes, *pin)) {
      pin_matches = true;
      explain("policy: route matches the pin");
    } else if (srv_auth) {
      log(base::LogLevel::Warning, "domain " + domain + ": pinned route " +
                                       records_text(pin->records) + " replaced by " +
                                       routes_text(a.routes) + " (DNSSEC-authenticated)");
      explain("policy: changed route accepted: DNSSEC-authenticated");
      cache_->erase_pin(domain);
      pin = nullptr;
    } else {
      hold(routes_text(a.routes));
    }
  }

  // The downgrade guard: only DNS's own, unauthenticated routes.
  if (a.status == base::Status::Ok && !held && settings_.downgrade_guard) {
    if (srv_auth) {
      explain("guard: route DNSSEC-authenticated: used");
    } else if (pin_matches) {
      explain("guard: route matches a live pin: used");
    } else if (guard.state == record::GuardFacts::State::Failed) {
      a.status = base::Status::Temp;
      a.failure = record::Failure::Dns;
      a.ttl = 0;  // a failure is not cacheable (docs/dns-discovery.md, "TTLs")
      a.routes.clear();
      a.reason = "downgrade guard: cannot tell whether " + domain + " publishes MTA-STS or DANE (" +
                 guard.reason + ") and the onion route is not authenticated";
      explain("guard: " + a.reason);
    } else if (guard.state == record::GuardFacts::State::Checked && (guard.mta_sts || guard.dane)) {
      const std::string what =
          guard.mta_sts
              ? "MTA-STS (_mta-sts." + domain + " TXT v=STSv1)"
              : "DANE (DNSSEC-validated TLSA records for its MX host " + guard.dane_host + ")";
      a.status = base::Status::NotFound;
      a.failure = record::Failure::None;
      a.routes.clear();
      a.source = record::kOriginGuard;
      a.reason = "downgrade guard: " + domain + " publishes " + what +
                 " and the onion route is not authenticated (no DNSSEC, no pin); normal delivery";
      log(warn, "domain " + domain + ": " + a.reason);
      explain("guard: " + a.reason);
      if (cache_) ++cache_->stats().guard_refusals;
    } else if (guard.state == record::GuardFacts::State::Checked) {
      explain("guard: neither MTA-STS nor DANE: route used");
    }
  }

  // Pins follow the policy of the routes actually used.
  const bool used_dns_route =
      a.status == base::Status::Ok && !held && a.source != record::kOriginGuard;
  if (used_dns_route && cache_ && settings_.policy &&
      facts.state == record::PolicyFacts::State::Valid) {
    const record::Policy& pol = facts.policy;
    if (pol.mode == record::PolicyMode::Enforce) {
      if (pol.max_age == 0) {
        if (pin) cache_->erase_pin(domain);
        pin = nullptr;
      } else {
        const std::int64_t expires = now + pol.max_age;
        if (!pin || pin->expires + kPinRefreshSlack < expires ||
            !same_records(pin->records, a.routes)) {
          if (!pin)
            log(base::LogLevel::Info, "domain " + domain + ": route " + routes_text(a.routes) +
                                          " pinned until " + utc_time(expires) +
                                          " (enforce policy)");
          cache_->put_pin({domain, records_of(a.routes), expires, pol.max_age});
          pin = cache_->pin(domain);
        }
        if (pin && q.explain)
          explain("policy: enforce: route pinned until " + utc_time(pin->expires));
      }
    } else if (pin) {
      const std::string mode(record::policy_mode_name(pol.mode));
      if (facts.authenticated) {
        log(base::LogLevel::Info,
            "domain " + domain + ": policy mode " + mode + " (DNSSEC-authenticated); pin removed");
        explain("policy: mode " + mode + " (DNSSEC-authenticated): pin removed");
        cache_->erase_pin(domain);
        pin = nullptr;
      } else if (q.explain) {
        explain("policy: mode " + mode + " without DNSSEC: pin kept until " +
                utc_time(pin->expires));
      }
    }
  }

  // The policy record withdrawn altogether: as a downgrade, only with an
  // authenticated denial (an invalid record never touches the pin).
  if (used_dns_route && cache_ && settings_.policy && pin &&
      facts.state == record::PolicyFacts::State::Absent && facts.authenticated) {
    log(base::LogLevel::Info,
        "domain " + domain +
            ": policy record withdrawn (DNSSEC-authenticated denial); pin removed");
    explain("policy: no policy record (DNSSEC-authenticated): pin removed");
    cache_->erase_pin(domain);
    pin = nullptr;
  }

  // The `policy` field of the answer.
  record::AnswerPolicy& ap = a.policy;
  if (facts.state == record::PolicyFacts::State::Valid) {
    ap.present = true;
    ap.mode = record::policy_mode_name(facts.policy.mode);
    ap.max_age = facts.policy.max_age;
    ap.authenticated = facts.authenticated;
  } else if (facts.state == record::PolicyFacts::State::Invalid) {
    ap.present = true;
    ap.mode = "invalid";
    ap.error = facts.reason;
    ap.authenticated = facts.authenticated;
  }
  if (pin) {
    ap.present = true;
    if (ap.mode.empty()) {
      ap.mode = "enforce";  // the policy the pin remembers
      ap.max_age = pin->max_age;
    }
    ap.pinned = true;
    ap.pin_expires = pin->expires;
  }
  return a;
}

}  // namespace onionmx::source
