#include "source/trust_lookup.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "record/policy.hpp"

namespace onionmx::source {

// One fetch: the SRV set and the parts asked with it.  Shared by the
// callbacks, so late parts find it after the answer has gone.
struct TrustLookup::Join {
  Query query;
  FetchCallback done;
  bool answered = false;
  std::optional<record::RecordSet> srv;
  bool policy_pending = false;
  int guard_pending = 0;  // MTA-STS, MX, and one per TLSA query
  bool guard_asked = false;
  bool guard_failed = false;
  std::string guard_reason;
  record::PolicyFacts policy;
  record::GuardFacts guard;
  // Smallest TTL of the parts' records.  Denials do not shorten the set's
  // life: a domain that starts publishing MTA-STS or a policy is seen when
  // the SRV set is next fetched, and a negative TTL (often seconds) would
  // otherwise multiply the DNS load of every domain with an onion.
  std::uint32_t ttl = UINT32_MAX;
  std::vector<std::string> explain;

  void note(std::string line) {
    if (query.explain) explain.push_back(std::move(line));
  }
  void take_explain(RrSet& set) {
    if (!query.explain) return;
    explain.insert(explain.end(), std::make_move_iterator(set.explain.begin()),
                   std::make_move_iterator(set.explain.end()));
  }
  void fail_guard(const std::string& what, const RrSet& set) {
    if (!guard_failed) guard_reason = what + ": " + set.reason;
    guard_failed = true;
  }
};

namespace {

// A failed part may be asked again soon: the set it is stored with must not
// outlive it by much (the cache still clamps to cache.min_ttl).
constexpr std::uint32_t kFailedPartTtl = 60;

bool is_blank(char c) { return c == ' ' || c == '\t'; }

}  // namespace

bool is_mta_sts_record(std::string_view text) noexcept {
  constexpr std::string_view kVersion = "v=STSv1";
  if (text.substr(0, kVersion.size()) != kVersion) return false;
  std::size_t i = kVersion.size();
  while (i < text.size() && is_blank(text[i])) ++i;
  return i == text.size() || text[i] == ';';
}

TrustLookup::TrustLookup(std::unique_ptr<SrvLookup> inner, RrLookup& rr,
                         record::TrustSettings settings, std::string srv_prefix)
    : settings_(settings), srv_prefix_(std::move(srv_prefix)), rr_(&rr), inner_(std::move(inner)) {}

TrustLookup::~TrustLookup() {
  shutting_down_ = true;
  inner_.reset();
}

void TrustLookup::fetch(const Query& q, FetchCallback done) {
  auto j = std::make_shared<Join>();
  j->query = q;
  j->done = std::move(done);
  if (!settings_.parallel) {
    // After the SRV answer, and only for routes: no extra queries for the
    // domains without an onion, none for the guard when DNSSEC vouches.
    inner_->fetch(q, [this, j](record::RecordSet set) {
      const bool routes = set.status == base::Status::Ok && !shutting_down_;
      const bool guard = routes && settings_.downgrade_guard && !set.authenticated;
      j->srv = std::move(set);
      j->policy_pending = routes && settings_.policy;
      if (guard) {
        j->guard_asked = true;
        j->guard_pending = 2;
      }
      if (j->policy_pending) ask_policy(j);
      if (guard) {
        ask_mta_sts(j);
        ask_mx(j);
      }
      maybe_finish(j);
    });
    return;
  }
  // Every part is counted before any is asked: any may answer at once.
  j->policy_pending = settings_.policy;
  if (settings_.downgrade_guard) {
    j->guard_asked = true;
    j->guard_pending = 2;
  }
  if (settings_.policy) ask_policy(j);
  if (settings_.downgrade_guard) {
    ask_mta_sts(j);
    ask_mx(j);
  }
  inner_->fetch(q, [j](record::RecordSet set) {
    j->srv = std::move(set);
    maybe_finish(j);
  });
}

void TrustLookup::ask_policy(const std::shared_ptr<Join>& j) {
  RrQuery rq;
  rq.name = srv_prefix_ + "." + j->query.domain;
  rq.type = RrType::Txt;
  rq.explain = j->query.explain;
  rr_->query(rq, [j](RrSet set) {
    j->policy_pending = false;
    j->take_explain(set);
    record::PolicyFacts& p = j->policy;
    p.authenticated = set.authenticated;
    if (set.status == base::Status::Ok) {
      auto sel = record::select_policy(set.data);
      if (sel) {
        p.state = record::PolicyFacts::State::Valid;
        p.policy = *sel;
        j->note("policy: " + record::format_policy(*sel) + (set.authenticated ? " (AD=1)" : ""));
      } else if (sel.error().code == base::Status::NotFound) {
        p.state = record::PolicyFacts::State::Absent;
        j->note("policy: no v=ONIONMX1 record among the TXT records");
      } else {
        p.state = record::PolicyFacts::State::Invalid;
        p.reason = sel.error().detail;
        j->note("policy: invalid policy record: " + p.reason);
      }
      j->ttl = std::min(j->ttl, set.ttl);
    } else if (set.status == base::Status::NotFound) {
      p.state = record::PolicyFacts::State::Absent;
      j->note("policy: no policy record (" + set.reason + ")");
    } else {
      p.state = record::PolicyFacts::State::Failed;
      p.reason = set.reason;
      j->ttl = std::min(j->ttl, kFailedPartTtl);
      j->note("policy: TXT query failed: " + set.reason);
    }
    maybe_finish(j);
  });
}

void TrustLookup::ask_mta_sts(const std::shared_ptr<Join>& j) {
  RrQuery rq;
  rq.name = "_mta-sts." + j->query.domain;
  rq.type = RrType::Txt;
  rq.explain = j->query.explain;
  rq.trust_ad = true;
  rr_->query(rq, [j, name = rq.name](RrSet set) {
    --j->guard_pending;
    j->take_explain(set);
    if (set.status == base::Status::Ok) {
      j->ttl = std::min(j->ttl, set.ttl);
      if (std::any_of(set.data.begin(), set.data.end(),
                      [](const std::string& t) { return is_mta_sts_record(t); })) {
        j->guard.mta_sts = true;
        j->note("guard: MTA-STS published (" + name + " TXT v=STSv1)");
      } else {
        j->note("guard: no MTA-STS record at " + name);
      }
    } else if (set.status == base::Status::NotFound) {
      j->note("guard: no MTA-STS (" + set.reason + ")");
    } else {
      j->fail_guard(name + " TXT", set);
      j->note("guard: MTA-STS query failed: " + set.reason);
    }
    maybe_finish(j);
  });
}

void TrustLookup::ask_mx(const std::shared_ptr<Join>& j) {
  RrQuery rq;
  rq.name = j->query.domain;
  rq.type = RrType::Mx;
  rq.explain = j->query.explain;
  rq.trust_ad = true;
  rr_->query(rq, [this, j](RrSet set) {
    j->take_explain(set);
    if (set.status == base::Status::Temp) {
      j->fail_guard(j->query.domain + " MX", set);
      j->note("guard: MX query failed: " + set.reason);
    } else {
      if (set.status == base::Status::Ok) j->ttl = std::min(j->ttl, set.ttl);
      if (set.status != base::Status::Ok) {
        j->note("guard: no MX records (" + set.reason + "): no DANE");
      } else if (!set.authenticated) {
        // RFC 7672 §2.2.1: DANE applies only to a DNSSEC-secure MX RRset.
        j->note("guard: MX RRset not DNSSEC-secure: DANE does not apply");
      } else if (!shutting_down_ && !j->answered) {
        std::size_t asked = 0;
        for (const auto& host : set.data) {
          // "" is the null MX (RFC 7505): no mail, no TLSA.
          if (host.empty() || asked == kMaxGuardMxHosts) continue;
          ++asked;
          ++j->guard_pending;
          RrQuery tq;
          tq.name = "_25._tcp." + host;
          tq.type = RrType::Tlsa;
          tq.explain = j->query.explain;
          tq.trust_ad = true;
          rr_->query(tq, [j, host](RrSet t) {
            --j->guard_pending;
            j->take_explain(t);
            if (t.status == base::Status::Ok && t.authenticated) {
              j->ttl = std::min(j->ttl, t.ttl);
              if (!j->guard.dane) {
                j->guard.dane = true;
                j->guard.dane_host = host;
              }
              j->note("guard: DANE: DNSSEC-secure TLSA records for MX host " + host);
            } else if (t.status == base::Status::Temp) {
              j->fail_guard("_25._tcp." + host + " TLSA", t);
              j->note("guard: TLSA query for " + host + " failed: " + t.reason);
            } else {
              j->note("guard: no DNSSEC-secure TLSA records for MX host " + host);
            }
            maybe_finish(j);
          });
        }
      }
    }
    --j->guard_pending;
    maybe_finish(j);
  });
}

void TrustLookup::maybe_finish(const std::shared_ptr<Join>& j) {
  if (j->answered || !j->srv) return;
  record::RecordSet& set = *j->srv;
  const bool routes = set.status == base::Status::Ok;
  // Without routes there is nothing to guard or pin; an authenticated
  // route does not need the guard.
  if (routes && (j->policy_pending || (j->guard_pending > 0 && !set.authenticated))) return;
  j->answered = true;
  if (routes) {
    set.policy = j->policy;
    if (j->guard_asked && j->guard_pending == 0) {
      set.guard = j->guard;
      if (j->guard_failed && !j->guard.mta_sts && !j->guard.dane) {
        set.guard.state = record::GuardFacts::State::Failed;
        set.guard.reason = j->guard_reason;
      } else {
        set.guard.state = record::GuardFacts::State::Checked;
      }
    }
    set.ttl = std::min(set.ttl, j->ttl);
    if (!j->explain.empty())
      set.explain.insert(set.explain.end(), std::make_move_iterator(j->explain.begin()),
                         std::make_move_iterator(j->explain.end()));
  }
  FetchCallback done = std::move(j->done);
  done(std::move(set));
}

}  // namespace onionmx::source
