#include "cache/cache.hpp"

#include <algorithm>
#include <ranges>

namespace onionmx::cache {

std::uint32_t Settings::clamp_ttl(bool positive, std::uint32_t ttl) const noexcept {
  const std::uint32_t lo = positive ? min_ttl : min_negative_ttl;
  const std::uint32_t hi = positive ? max_ttl : max_negative_ttl;
  return std::clamp(ttl, std::min(lo, hi), hi);
}

void Cache::set_settings(Settings s) {
  settings_ = std::move(s);
  evict_to(settings_.size);
}

Entry* Cache::find(std::string_view domain) noexcept {
  auto it = index_.find(domain);
  if (it == index_.end()) return nullptr;
  if (it->second != lru_.begin()) lru_.splice(lru_.begin(), lru_, it->second);
  return &*it->second;
}

const Entry* Cache::peek(std::string_view domain) const noexcept {
  auto it = index_.find(domain);
  return it == index_.end() ? nullptr : &*it->second;
}

Entry& Cache::put(Entry e) {
  dirty_ = true;
  auto it = index_.find(e.domain);
  if (it != index_.end()) {
    // The key is a view into the entry's domain: re-key after replacing.
    auto node = it->second;
    index_.erase(it);
    *node = std::move(e);
    lru_.splice(lru_.begin(), lru_, node);
    index_.emplace(node->domain, node);
    return *node;
  }
  lru_.push_front(std::move(e));
  index_.emplace(lru_.front().domain, lru_.begin());
  evict_to(std::max<std::size_t>(settings_.size, 1));
  return lru_.front();
}

bool Cache::erase(std::string_view domain) {
  auto it = index_.find(domain);
  if (it == index_.end()) return false;
  auto node = it->second;
  index_.erase(it);
  lru_.erase(node);
  dirty_ = true;
  return true;
}

void Cache::clear() {
  if (!lru_.empty() || !pins_.empty()) dirty_ = true;
  pins_.clear();
  index_.clear();
  lru_.clear();
}

void Cache::evict_to(std::size_t n) {
  while (index_.size() > n) {
    index_.erase(std::string_view(lru_.back().domain));
    lru_.pop_back();
    ++stats_.evictions;
    dirty_ = true;
  }
}

std::uint32_t Cache::age(const Entry& e, base::Clock::Monotonic now) noexcept {
  if (now <= e.fetched) return 0;
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(now - e.fetched).count();
  return s > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(s);
}

Freshness Cache::freshness(const Entry& e, base::Clock::Monotonic now) const noexcept {
  const auto elapsed = now - e.fetched;
  const std::chrono::seconds ttl(e.ttl);
  if (elapsed < ttl) return Freshness::Fresh;
  if (e.positive && elapsed < ttl + std::chrono::seconds(settings_.stale_max))
    return Freshness::Stale;
  return Freshness::Expired;
}

bool Cache::in_prefetch_window(const Entry& e, base::Clock::Monotonic now) const noexcept {
  if (!settings_.prefetch || e.ttl == 0) return false;
  const auto elapsed = now - e.fetched;
  const auto ttl =
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::seconds(e.ttl));
  if (elapsed >= ttl) return false;
  const auto window = ttl * std::min<std::uint32_t>(settings_.prefetch_percent, 100) / 100;
  return elapsed >= ttl - window;
}

const record::Pin* Cache::pin(std::string_view domain) const noexcept {
  auto it = pins_.find(domain);
  return it == pins_.end() ? nullptr : &it->second;
}

void Cache::put_pin(record::Pin p) {
  dirty_ = true;
  std::string key = p.domain;
  pins_.insert_or_assign(std::move(key), std::move(p));
  // Bounded like the entries; the pin closest to expiry is the cheapest loss.
  while (pins_.size() > std::max<std::size_t>(settings_.size, 1)) {
    auto victim = std::min_element(pins_.begin(), pins_.end(), [](const auto& a, const auto& b) {
      return a.second.expires < b.second.expires;
    });
    pins_.erase(victim);
  }
}

bool Cache::erase_pin(std::string_view domain) {
  auto it = pins_.find(domain);
  if (it == pins_.end()) return false;
  pins_.erase(it);
  dirty_ = true;
  return true;
}

std::size_t Cache::expire_pins(std::int64_t now_wall) {
  const std::size_t n =
      std::erase_if(pins_, [now_wall](const auto& kv) { return kv.second.expires <= now_wall; });
  if (n) dirty_ = true;
  return n;
}

void Cache::for_each_pin(const std::function<void(const record::Pin&)>& fn) const {
  std::vector<const record::Pin*> sorted;
  sorted.reserve(pins_.size());
  for (const auto& kv : pins_) sorted.push_back(&kv.second);
  std::sort(sorted.begin(), sorted.end(),
            [](const record::Pin* a, const record::Pin* b) { return a->domain < b->domain; });
  for (const record::Pin* p : sorted) fn(*p);
}

void Cache::for_each(const std::function<void(const Entry&)>& fn) const {
  for (const Entry& e : std::views::reverse(lru_)) fn(e);
}

}  // namespace onionmx::cache
