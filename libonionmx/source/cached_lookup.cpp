#include "source/cached_lookup.hpp"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "cache/cache_file.hpp"

namespace onionmx::source {
namespace {

std::string routes_text(const std::vector<record::SrvRecord>& recs) {
  std::vector<std::string> parts;
  parts.reserve(recs.size());
  for (const auto& r : recs)
    parts.push_back(r.target + ":" + std::to_string(r.port) + " (prio " +
                    std::to_string(r.priority) + ", weight " + std::to_string(r.weight) + ")");
  std::sort(parts.begin(), parts.end());
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

std::string seconds(std::uint32_t s) { return std::to_string(s) + " s"; }

}  // namespace

CachedLookup::CachedLookup(std::unique_ptr<SrvLookup> inner, std::shared_ptr<cache::Cache> cache,
                           const base::Clock& clock, base::LogSink log)
    : cache_(std::move(cache)),
      clock_(clock),
      log_(std::move(log)),
      prefetch_tokens_(cache_->settings().prefetch_rate),
      prefetch_refill_(clock.monotonic()),
      last_save_(clock.monotonic()),
      inner_(std::move(inner)) {}

CachedLookup::~CachedLookup() {
  shutting_down_ = true;
  inner_.reset();
}

void CachedLookup::log(base::LogLevel level, const std::string& msg) const {
  if (log_) log_(level, msg);
}

record::RecordSet CachedLookup::from_entry(const cache::Entry& e, base::Clock::Monotonic now,
                                           bool stale, bool explain) const {
  record::RecordSet set;
  set.from_cache = true;
  set.stale = stale;
  set.age = cache::Cache::age(e, now);
  set.authenticated = e.authenticated;
  set.policy = e.policy;
  set.guard = e.guard;
  set.received = e.fetched;
  if (stale) {
    set.ttl = cache_->settings().stale_ttl;
  } else {
    const std::uint32_t left = e.ttl > set.age ? e.ttl - set.age : 0;
    set.ttl = left;
  }
  if (e.positive) {
    set.status = base::Status::Ok;
    set.records = e.records;
    set.owner = e.owner;
  } else {
    set.status = base::Status::NotFound;
    set.reason = e.reason + " (cached)";
  }
  if (explain)
    set.explain.push_back(std::string("cache: ") + (stale ? "stale " : "") +
                          (e.positive ? "positive" : "negative") + " entry, age " +
                          seconds(set.age) + " of TTL " + seconds(e.ttl) +
                          (e.authenticated ? ", AD=1" : ", AD=0"));
  return set;
}

std::optional<record::RecordSet> CachedLookup::serve_fresh(cache::Entry* e, const Query& q,
                                                           base::Clock::Monotonic now) {
  if (!e || cache_->freshness(*e, now) != cache::Freshness::Fresh) return std::nullopt;
  ++cache_->stats().hits;
  record::RecordSet set = from_entry(*e, now, false, q.explain);
  if (cache_->in_prefetch_window(*e, now)) maybe_prefetch(*e);
  return set;
}

std::optional<record::RecordSet> CachedLookup::fresh(const Query& q) {
  return serve_fresh(cache_->find(q.domain), q, clock_.monotonic());
}

void CachedLookup::fetch(const Query& q, FetchCallback done) {
  // One lookup and one clock reading serve the whole decision.
  cache::Entry* e = cache_->find(q.domain);
  const auto now = clock_.monotonic();
  if (auto hit = serve_fresh(e, q, now)) {
    done(std::move(*hit));
    return;
  }
  ++cache_->stats().misses;
  std::vector<std::string> explain;
  if (e) {
    // RFC 8767 §5 failure recheck: a refresh failed moments ago; serve the
    // stale entry without asking DNS again.
    if (cache_->freshness(*e, now) == cache::Freshness::Stale && e->has_failed &&
        now - e->failed < std::chrono::seconds(cache_->settings().stale_recheck)) {
      ++cache_->stats().stale;
      record::RecordSet set = from_entry(*e, now, true, q.explain);
      if (q.explain) set.explain.push_back("cache: DNS failed recently; not asked again yet");
      done(std::move(set));
      return;
    }
    if (q.explain)
      explain.push_back("cache: " + std::string(e->positive ? "positive" : "negative") +
                        " entry expired (age " + seconds(cache::Cache::age(*e, now)) + " of TTL " +
                        seconds(e->ttl) + "), asking DNS");
  } else if (q.explain) {
    explain.push_back("cache: no entry, asking DNS");
  }
  auto it = flights_.find(q.domain);
  if (it != flights_.end()) {
    ++cache_->stats().coalesced;
    ++waiting_;
    it->second.waiters.push_back(std::move(done));
    return;
  }
  start(q, std::move(explain), std::move(done));
}

void CachedLookup::start(const Query& q, std::vector<std::string> explain, FetchCallback first) {
  Flight& f = flights_[q.domain];
  f.explain = std::move(explain);
  if (first) {
    f.waiters.push_back(std::move(first));
    ++waiting_;
  }
  if (!inner_) {
    record::RecordSet set;
    set.status = base::Status::Temp;
    set.reason = "DNS is not in resolver.order";
    on_answer(q.domain, std::move(set));
    return;
  }
  // The inner lookup may answer before fetch() returns.
  inner_->fetch(
      q, [this, domain = q.domain](record::RecordSet set) { on_answer(domain, std::move(set)); });
}

void CachedLookup::maybe_prefetch(const cache::Entry& e) {
  const cache::Settings& s = cache_->settings();
  if (!inner_ || flights_.count(e.domain) || s.prefetch_rate == 0) return;
  const auto now = clock_.monotonic();
  const double elapsed = std::chrono::duration<double>(now - prefetch_refill_).count();
  prefetch_refill_ = now;
  prefetch_tokens_ =
      std::min<double>(s.prefetch_rate, prefetch_tokens_ + elapsed * s.prefetch_rate);
  if (prefetch_tokens_ < 1) return;
  prefetch_tokens_ -= 1;
  ++cache_->stats().prefetches;
  log(base::LogLevel::Debug, "domain " + e.domain + ": cached entry in its last " +
                                 std::to_string(s.prefetch_percent) +
                                 "% of TTL, refreshing in the background");
  Query q;
  q.domain = e.domain;
  q.key = e.domain;
  start(q, {}, nullptr);
}

void CachedLookup::on_answer(const std::string& domain, record::RecordSet set) {
  auto node = flights_.extract(domain);
  if (node.empty()) return;
  Flight f = std::move(node.mapped());
  waiting_ -= f.waiters.size();
  const auto now = clock_.monotonic();
  // A set whose guard queries failed is not stored: it is asked again, and
  // meanwhile a stale entry keeps its own facts (docs/route-trust.md).
  const bool definitive =
      (set.status == base::Status::Ok && set.guard.state != record::GuardFacts::State::Failed) ||
      set.status == base::Status::NotFound;
  if (definitive) {
    store(domain, set);
  } else if (!shutting_down_) {
    if (cache::Entry* e = cache_->find(domain); e && e->positive) {
      e->has_failed = true;
      e->failed = now;
      if (cache_->freshness(*e, now) == cache::Freshness::Stale) {
        const std::uint32_t age = cache::Cache::age(*e, now);
        log(base::LogLevel::Warning, "domain " + domain + ": DNS failed (" + set.reason +
                                         "); serving the stale cached route (age " + seconds(age) +
                                         ", TTL " + seconds(e->ttl) + ")");
        cache_->stats().stale += f.waiters.size();
        std::vector<std::string> dns_explain = std::move(set.explain);
        for (auto& w : f.waiters) {
          record::RecordSet s = from_entry(*e, now, true, true);
          s.explain.insert(s.explain.begin(), dns_explain.begin(), dns_explain.end());
          s.explain.insert(s.explain.begin(), f.explain.begin(), f.explain.end());
          s.explain.push_back("cache: DNS failed (" + set.reason + "), served stale (RFC 8767)");
          w(std::move(s));
        }
        return;
      }
      // Past stale_max: still no clearnet for a domain known to have an onion.
      if (cache_->freshness(*e, now) == cache::Freshness::Expired) {
        set.known_route = true;
        set.reason += "; the cache knows an onion route for this domain (expired " +
                      seconds(cache::Cache::age(*e, now) - e->ttl) + " ago), so it defers";
      }
    }
  }
  if (!f.explain.empty())
    set.explain.insert(set.explain.begin(), f.explain.begin(), f.explain.end());
  if (!f.waiters.empty()) {
    // Copies for all but the last asker, which takes the set itself.
    for (std::size_t i = 0; i + 1 < f.waiters.size(); ++i) f.waiters[i](set);
    f.waiters.back()(std::move(set));
  }
  maybe_save();
}

void CachedLookup::store(const std::string& domain, const record::RecordSet& set) {
  const cache::Settings& s = cache_->settings();
  cache::Entry e;
  e.domain = domain;
  e.positive = set.status == base::Status::Ok;
  e.ttl = s.clamp_ttl(e.positive, set.ttl);
  e.authenticated = set.authenticated;
  e.policy = set.policy;
  e.guard = set.guard;
  e.fetched = set.received;
  e.fetched_wall =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.wall().time_since_epoch()).count();
  if (e.positive) {
    e.records = set.records;
    e.owner = set.owner;
  } else {
    e.reason = set.reason;
  }
  if (const cache::Entry* old = cache_->peek(domain)) {
    const std::string before = old->positive ? routes_text(old->records) : "";
    const std::string after = e.positive ? routes_text(e.records) : "";
    if (old->positive && !e.positive)
      log(base::LogLevel::Warning,
          "domain " + domain + ": onion route disappeared: was " + before + ", now " + e.reason);
    else if (old->positive && before != after)
      log(base::LogLevel::Warning,
          "domain " + domain + ": onion route changed: was " + before + ", now " + after);
    else if (!old->positive && e.positive)
      log(base::LogLevel::Info,
          "domain " + domain + ": onion route appeared: " + after + " (was " + old->reason + ")");
  }
  cache_->put(std::move(e));
}

void CachedLookup::maybe_save() {
  const cache::Settings& s = cache_->settings();
  if (s.file.empty() || !cache_->dirty() || shutting_down_) return;
  const auto now = clock_.monotonic();
  if (now - last_save_ < std::chrono::seconds(s.save_interval)) return;
  last_save_ = now;
  if (auto ok = cache::save(s.file, *cache_, clock_); !ok)
    log(base::LogLevel::Warning, "cache not saved: " + ok.error().detail);
}

}  // namespace onionmx::source
