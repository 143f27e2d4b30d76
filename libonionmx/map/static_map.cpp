#include "map/static_map.hpp"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>
#include <utility>

#include "address/domain.hpp"
#include "address/onion_address.hpp"
#include "base/strings.hpp"

namespace onionmx::map {
namespace {

using base::fail;
using base::Status;
using json = nlohmann::json;

std::size_t hash_key(std::string_view s) noexcept { return std::hash<std::string_view>{}(s); }

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil, public domain).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool is_known(const void* ctx, const std::array<std::uint8_t, 32>& key) {
  const auto* keys = static_cast<const std::vector<std::array<std::uint8_t, 32>>*>(ctx);
  return std::binary_search(keys->begin(), keys->end(), key);
}

struct PackedRoute {
  std::uint32_t onion;
  std::uint16_t port;
  std::uint16_t priority;
};

}  // namespace

std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS(Z|+hh:mm|-hh:mm), RFC 3339 §5.6 without fractions.
  auto num = [&](std::size_t pos, std::size_t len) -> std::optional<unsigned> {
    unsigned v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + static_cast<unsigned>(s[i] - '0');
    }
    return v;
  };
  if (s.size() != 20 && s.size() != 25) return std::nullopt;
  if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
    return std::nullopt;
  auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
       se = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !se) return std::nullopt;
  static constexpr std::array<unsigned, 12> kDays = {31, 29, 31, 30, 31, 30,
                                                     31, 31, 30, 31, 30, 31};
  if (*mo < 1 || *mo > 12 || *d < 1 || *d > kDays[*mo - 1] || *h > 23 || *mi > 59 || *se > 60)
    return std::nullopt;
  const bool leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
  if (*mo == 2 && *d == 29 && !leap) return std::nullopt;
  std::int64_t offset = 0;
  if (s.size() == 20) {
    if (s[19] != 'Z' && s[19] != 'z') return std::nullopt;
  } else {
    if ((s[19] != '+' && s[19] != '-') || s[22] != ':') return std::nullopt;
    auto oh = num(20, 2), om = num(23, 2);
    if (!oh || !om || *oh > 23 || *om > 59) return std::nullopt;
    offset = (std::int64_t{*oh} * 3600 + std::int64_t{*om} * 60) * (s[19] == '+' ? 1 : -1);
  }
  const unsigned sec = *se == 60 ? 59 : *se;  // a leap second counts as :59
  return days_from_civil(*y, *mo, *d) * 86400 + std::int64_t{*h} * 3600 + std::int64_t{*mi} * 60 +
         sec - offset;
}

std::string format_rfc3339(std::int64_t t) {
  std::int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  std::int64_t secs = t - days * 86400;
  // civil_from_days (H. Hinnant).
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  return buf;
}

namespace {

// Validates distinct onions (address::parse_onion) on worker threads while
// the main thread is still parsing: the prime-order checks (~40 us each)
// overlap the JSON parse instead of following it.  The main thread hands
// over onions in batches; at the end it helps with what is left.
class OnionValidator {
 public:
  struct Item {
    std::uint32_t id;
    std::string name;
  };

  OnionValidator(unsigned threads, const std::vector<std::array<std::uint8_t, 32>>* known)
      : workers_(threads > 1 ? std::min(threads, 16u) - 1 : 0), known_(known) {}
  OnionValidator(const OnionValidator&) = delete;
  OnionValidator& operator=(const OnionValidator&) = delete;
  ~OnionValidator() { stop(); }

  void add(std::uint32_t id, const std::string& name) {
    batch_.push_back(Item{id, name});
    if (batch_.size() >= kBatch) flush();
  }

  // Validates everything still pending (with the workers), then returns
  // the failures as (id, reason), by id.
  std::vector<std::pair<std::uint32_t, std::string>> finish() {
    flush();
    {
      std::lock_guard lock(m_);
      done_ = true;
    }
    cv_.notify_all();
    work();
    stop();
    std::sort(failures_.begin(), failures_.end());
    return std::move(failures_);
  }

 private:
  static constexpr std::size_t kBatch = 64;

  void flush() {
    if (batch_.empty()) return;
    {
      std::lock_guard lock(m_);
      for (auto& item : batch_) pending_.push_back(std::move(item));
    }
    batch_.clear();
    // Threads start with the first batch, so small maps never spawn any.
    if (threads_.size() < workers_)
      while (threads_.size() < workers_) threads_.emplace_back([this] { work(); });
    else
      cv_.notify_one();
  }

  // Takes batches until nothing is pending and no more will come.
  void work() {
    std::vector<Item> mine;
    std::vector<std::pair<std::uint32_t, std::string>> failed;
    for (;;) {
      {
        std::unique_lock lock(m_);
        cv_.wait(lock, [this] { return !pending_.empty() || done_; });
        if (!failed.empty()) {
          for (auto& f : failed) failures_.push_back(std::move(f));
          failed.clear();
        }
        if (pending_.empty()) return;  // and done_
        const std::size_t take = std::min(kBatch, pending_.size());
        mine.assign(std::make_move_iterator(pending_.end() - static_cast<std::ptrdiff_t>(take)),
                    std::make_move_iterator(pending_.end()));
        pending_.resize(pending_.size() - take);
      }
      for (const auto& item : mine) {
        auto r = address::parse_onion(item.name, known_ ? &is_known : nullptr, known_);
        if (!r)
          failed.emplace_back(item.id, r.error().detail);
        else if (r->full != item.name)
          failed.emplace_back(item.id, "not in canonical form");
      }
    }
  }

  void stop() {
    {
      std::lock_guard lock(m_);
      done_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  const unsigned workers_;
  const std::vector<std::array<std::uint8_t, 32>>* known_;
  std::vector<Item> batch_;  // main thread only
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<Item> pending_;
  bool done_ = false;
  std::vector<std::pair<std::uint32_t, std::string>> failures_;
  std::vector<std::thread> threads_;
};

}  // namespace

// Builds a StaticMap from SAX events (nlohmann::json_sax), so a million
// entries never become a DOM: each entry goes straight into the arena,
// each onion into the intern table.
class MapBuilder : public nlohmann::json_sax<json> {
 public:
  // size_hint: the document's length; about 60 bytes or more per entry.
  MapBuilder(const ParseOptions& o, std::size_t size_hint)
      : options_(o),
        validator_(o.threads ? o.threads : std::thread::hardware_concurrency(),
                   o.known_valid_keys) {
    std::size_t table = 1024;
    while (table < size_hint / 60) table *= 2;
    map_.table_.assign(table, StaticMap::TableSlot{0, 0, 0});
    map_.entries_.reserve(size_hint / 60);
    map_.arena_.reserve(size_hint / 4);
  }

  // --- SAX interface ---
  bool null() override { return type_error("null"); }
  bool boolean(bool) override { return type_error("a boolean"); }
  bool number_integer(number_integer_t v) override {
    if (v < 0) return type_error("a negative number");
    return number_unsigned(static_cast<number_unsigned_t>(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (ctx_ == Ctx::Top) {
      if (key_ == "version") {
        if (v != kFormatVersion)
          return fatal("unsupported format version " + std::to_string(v) + " (this is 1)");
        seen_version_ = true;
        return true;
      }
      if (key_ == "serial") {
        map_.serial_ = v;
        seen_serial_ = true;
        return true;
      }
      if (key_ == "expires") {
        if (v > (1ULL << 40)) return fatal("\"expires\" out of range");
        map_.expires_ = static_cast<std::int64_t>(v);
        return true;
      }
    }
    if (ctx_ == Ctx::RouteObject && (key_ == "port" || key_ == "priority")) {
      if (key_ == "port") {
        if (v < 1 || v > 65535) return entry_error("port " + std::to_string(v) + " out of range");
        route_port_ = static_cast<std::uint16_t>(v);
      } else {
        if (v > 65535) return entry_error("priority " + std::to_string(v) + " out of range");
        route_priority_ = static_cast<std::uint16_t>(v);
      }
      return true;
    }
    return type_error("a number");
  }
  bool number_float(number_float_t, const string_t&) override {
    return type_error("a non-integer number");
  }
  bool binary(binary_t&) override { return type_error("binary data"); }
  bool string(string_t& s) override {
    switch (ctx_) {
      case Ctx::Top:
        if (key_ == "format") {
          if (s != kFormatName) return fatal("\"format\" is not \"onionmx-map\"");
          seen_format_ = true;
          return true;
        }
        if (key_ == "expires") {
          auto t = parse_rfc3339(s);
          if (!t)
            return fatal("\"expires\" is not an RFC 3339 date-time (" + base::printable(s) + ")");
          map_.expires_ = t;
          return true;
        }
        if (key_ == "comment") return true;
        return type_error("a string");
      case Ctx::RouteList:
        add_route(s, 25, 0);
        return true;
      case Ctx::RouteObject:
        if (key_ == "onion") {
          route_onion_ = std::move(s);
          route_has_onion_ = true;
          return true;
        }
        return type_error("a string");
      default:
        return type_error("a string");
    }
  }
  bool start_object(std::size_t) override {
    switch (ctx_) {
      case Ctx::Start:
        ctx_ = Ctx::Top;
        return true;
      case Ctx::Top:
        if (key_ != "entries") return type_error("an object");
        if (seen_entries_) return fatal("\"entries\" appears twice");
        seen_entries_ = true;
        ctx_ = Ctx::Entries;
        return true;
      case Ctx::RouteList:
        ctx_ = Ctx::RouteObject;
        route_onion_.clear();
        route_has_onion_ = false;
        route_port_ = 25;
        route_priority_ = 0;
        key_.clear();
        return true;
      default:
        return type_error("an object");
    }
  }
  bool key(string_t& k) override {
    if (ctx_ == Ctx::Top) {
      static constexpr std::array<std::string_view, 6> kKeys = {"format",  "version", "serial",
                                                                "expires", "entries", "comment"};
      if (std::find(kKeys.begin(), kKeys.end(), k) == kKeys.end())
        return fatal("unknown top-level key \"" + base::printable(k) + "\"");
      if (std::find(seen_top_.begin(), seen_top_.end(), k) != seen_top_.end())
        return fatal("top-level key \"" + k + "\" appears twice");
      seen_top_.push_back(k);
    } else if (ctx_ == Ctx::Entries) {
      // In place, reusing entry_key_'s buffer: a million keys, no allocation each.
      for (char& c : k) c = base::ascii_lower(c);
      entry_key_.assign(k);
      routes_.clear();
      entry_ok_ = true;
      ++entry_number_;
      return true;
    } else if (ctx_ == Ctx::RouteObject) {
      if (k != "onion" && k != "port" && k != "priority")
        return entry_error("unknown route key \"" + base::printable(k) + "\"");
    }
    key_ = std::move(k);
    return true;
  }
  bool end_object() override {
    switch (ctx_) {
      case Ctx::Top:
        ctx_ = Ctx::Done;
        return true;
      case Ctx::Entries:
        ctx_ = Ctx::Top;
        return true;
      case Ctx::RouteObject:
        ctx_ = Ctx::RouteList;
        if (!route_has_onion_) return entry_error("route without \"onion\"");
        add_route(route_onion_, route_port_, route_priority_);
        return true;
      default:
        return fatal("unexpected end of object");
    }
  }
  bool start_array(std::size_t) override {
    if (ctx_ != Ctx::Entries) return type_error("an array");
    ctx_ = Ctx::RouteList;
    return true;
  }
  bool end_array() override {
    if (ctx_ != Ctx::RouteList) return fatal("unexpected end of array");
    ctx_ = Ctx::Entries;
    finish_entry();
    return problems_.size() < options_.max_problems;
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    // ex.what() is "[json.exception.parse_error.101] parse error at line 3, column 5: ..."
    std::string what = ex.what();
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    fatal("not valid JSON (byte " + std::to_string(position) + "): " + what);
    return false;
  }

  base::Result<StaticMap> finish() {
    if (problems_.empty() && ctx_ != Ctx::Done) fatal("truncated document");
    if (problems_.empty()) {
      if (!seen_format_) fatal("missing \"format\": \"onionmx-map\"");
      if (!seen_version_) fatal("missing \"version\"");
      if (!seen_serial_) fatal("missing \"serial\"");
      if (!seen_entries_) fatal("missing \"entries\"");
    }
    if (problems_.empty()) validate_onions();
    if (!problems_.empty()) {
      std::string detail = problems_.front();
      for (std::size_t i = 1; i < problems_.size() && i < options_.max_problems; ++i)
        detail += "; " + problems_[i];
      if (problems_.size() >= options_.max_problems) detail += "; (stopped after this many)";
      return fail(Status::BadData, std::move(detail));
    }
    materialize();
    return std::move(map_);
  }

 private:
  enum class Ctx { Start, Top, Entries, RouteList, RouteObject, Done };

  bool fatal(std::string why) {
    problems_.push_back(std::move(why));
    return false;
  }
  bool type_error(const char* what) {
    std::string where;
    switch (ctx_) {
      case Ctx::Start:
        where = "document";
        break;
      case Ctx::Top:
        where = "top-level key \"" + base::printable(key_) + "\"";
        break;
      case Ctx::Entries:
        where = "entry \"" + base::printable(entry_key_) + "\"";
        break;
      case Ctx::RouteList:
      case Ctx::RouteObject:
        where = "entry \"" + base::printable(entry_key_) + "\" route " +
                std::to_string(routes_.size() + 1);
        break;
      case Ctx::Done:
        where = "after the document";
        break;
    }
    return fatal(where + ": unexpected " + what);
  }
  bool entry_error(std::string why) {
    entry_ok_ = false;
    problems_.push_back("entry \"" + base::printable(entry_key_) + "\": " + std::move(why));
    return problems_.size() < options_.max_problems;
  }

  void add_route(std::string_view onion_in, std::uint16_t port, std::uint16_t priority) {
    onion_buf_.assign(onion_in);
    for (char& c : onion_buf_) c = base::ascii_lower(c);
    if (!onion_buf_.empty() && onion_buf_.back() == '.') onion_buf_.pop_back();
    // Open addressing over ids (a million finds among 100 000 onions: the
    // node-based std::unordered_map spent most of the parse chasing nodes).
    const std::size_t h = hash_key(onion_buf_);
    const std::size_t mask = onion_slots_.size() - 1;
    std::size_t i = h & mask;
    for (; onion_slots_[i] != 0; i = (i + 1) & mask) {
      const std::uint32_t id = onion_slots_[i] - 1;
      if (onion_hashes_[id] == h && onion_names_[id] == onion_buf_) {
        routes_.push_back(PackedRoute{id, port, priority});
        return;
      }
    }
    const auto id = static_cast<std::uint32_t>(onion_names_.size());
    onion_slots_[i] = id + 1;
    onion_names_.push_back(onion_buf_);
    validator_.add(id, onion_buf_);
    onion_hashes_.push_back(h);
    onion_first_key_.push_back(entry_key_);
    routes_.push_back(PackedRoute{id, port, priority});
    if (onion_names_.size() * 2 > onion_slots_.size()) {
      onion_slots_.assign(onion_slots_.size() * 2, 0);
      const std::size_t m = onion_slots_.size() - 1;
      for (std::uint32_t k = 0; k < onion_names_.size(); ++k) {
        std::size_t j = onion_hashes_[k] & m;
        while (onion_slots_[j] != 0) j = (j + 1) & m;
        onion_slots_[j] = k + 1;
      }
    }
  }

  void finish_entry() {
    if (!entry_ok_) return;
    std::string_view key = entry_key_;
    std::string_view domain = key;
    if (!domain.empty() && domain.front() == '.') domain.remove_prefix(1);
    if (domain.empty()) {
      entry_error("empty domain");
      return;
    }
    if (auto why = address::domain_syntax_problem(domain); !why.empty()) {
      entry_error("bad domain: " + why);
      return;
    }
    if (address::is_onion_name(domain)) {
      entry_error("an onion name is not a mail domain to route (RFC 7686)");
      return;
    }
    if (routes_.empty()) {
      entry_error("no routes");
      return;
    }
    // Same priority order the lookup returns; stable for equal priorities.
    // Insertion sort: stable, and no temporary buffer (std::stable_sort
    // allocates one even for a single element; a million entries).
    for (std::size_t i = 1; i < routes_.size(); ++i)
      for (std::size_t j = i; j > 0 && routes_[j].priority < routes_[j - 1].priority; --j)
        std::swap(routes_[j], routes_[j - 1]);
    std::uint32_t set = 0;
    if (routes_.size() == 1 && routes_[0].port == 25 && routes_[0].priority == 0) {
      // The common entry, one onion on port 25: its list is found by onion id.
      const std::uint32_t id = routes_[0].onion;
      if (simple_set_.size() <= id) simple_set_.resize(id + 1, UINT32_MAX);
      if (simple_set_[id] == UINT32_MAX) {
        simple_set_[id] = static_cast<std::uint32_t>(sets_.size());
        sets_.push_back(routes_);
      }
      set = simple_set_[id];
    } else {
      packed_.resize(routes_.size() * sizeof(PackedRoute));
      std::memcpy(packed_.data(), routes_.data(), packed_.size());
      auto sit = set_ids_.find(packed_);
      if (sit == set_ids_.end()) {
        sit = set_ids_.emplace(packed_, static_cast<std::uint32_t>(sets_.size())).first;
        sets_.push_back(routes_);
      }
      set = sit->second;
    }

    const std::size_t h = hash_key(key);
    if (const auto* existing = map_.find_key(key, h)) {
      if (existing->set != set)
        entry_error("conflicting duplicate (another entry has other routes)");
      return;  // an identical duplicate changes nothing
    }
    if (map_.arena_.size() + key.size() > UINT32_MAX) {
      fatal("map too large");
      return;
    }
    map_.entries_.push_back(StaticMap::Slot{static_cast<std::uint32_t>(map_.arena_.size()), set,
                                            static_cast<std::uint8_t>(key.size())});
    map_.arena_.append(key);
    // Linear probing stays short up to a load factor of 0.7.
    if ((map_.entries_.size() + 1) * 10 > map_.table_.size() * 7) rehash(map_.table_.size() * 2);
    insert_index(map_.entries_.size() - 1, h);
  }

  void insert_index(std::size_t entry, std::size_t h) {
    const auto& e = map_.entries_[entry];
    const std::size_t mask = map_.table_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask)
      if (map_.table_[i].len_tag == 0) {
        map_.table_[i] =
            StaticMap::TableSlot{e.name_offset, e.set, StaticMap::len_tag(e.name_length, h)};
        return;
      }
  }

  void rehash(std::size_t size) {
    map_.table_.assign(size, StaticMap::TableSlot{0, 0, 0});
    for (std::size_t e = 0; e < map_.entries_.size(); ++e) {
      const auto& s = map_.entries_[e];
      insert_index(e, hash_key(std::string_view(map_.arena_).substr(s.name_offset, s.name_length)));
    }
  }

  // Full validation of each distinct onion, spread over threads: the
  // prime-order check costs a scalar multiplication per key.
  void validate_onions() {
    for (auto& [id, why] : validator_.finish()) {
      if (problems_.size() >= options_.max_problems) break;
      problems_.push_back("entry \"" + base::printable(onion_first_key_[id]) + "\": onion \"" +
                          base::printable(onion_names_[id]) + "\": " + why);
    }
  }

  void materialize() {
    map_.onion_count_ = onion_names_.size();
    const std::vector<std::string> names = std::move(onion_names_);
    onion_slots_ = {};
    onion_hashes_ = {};
    simple_set_ = {};
    set_ids_.clear();
    map_.route_sets_.reserve(sets_.size());
    for (const auto& set : sets_) {
      std::vector<record::Route> routes;
      routes.reserve(set.size());
      for (const auto& p : set) {
        record::Route r;
        r.onion = names[p.onion];
        r.port = p.port;
        r.priority = p.priority;
        routes.push_back(std::move(r));
      }
      map_.route_sets_.push_back(std::move(routes));
    }
    sets_.clear();
    map_.arena_.shrink_to_fit();
    map_.entries_.shrink_to_fit();
  }

  const ParseOptions& options_;
  OnionValidator validator_;
  StaticMap map_;
  Ctx ctx_ = Ctx::Start;
  std::string key_;
  std::vector<std::string> seen_top_;
  bool seen_format_ = false, seen_version_ = false, seen_serial_ = false, seen_entries_ = false;
  std::string entry_key_;
  std::size_t entry_number_ = 0;
  bool entry_ok_ = true;
  std::vector<PackedRoute> routes_;
  std::string route_onion_;
  bool route_has_onion_ = false;
  std::uint16_t route_port_ = 25, route_priority_ = 0;
  std::vector<std::uint32_t> onion_slots_ = std::vector<std::uint32_t>(1024, 0);  // id + 1
  std::vector<std::size_t> onion_hashes_;
  std::vector<std::string> onion_names_;
  std::vector<std::uint32_t> simple_set_;  // onion id -> list {onion:25}
  std::string onion_buf_;
  std::vector<std::string> onion_first_key_;
  std::string packed_;
  std::unordered_map<std::string, std::uint32_t> set_ids_;
  std::vector<std::vector<PackedRoute>> sets_;
  std::vector<std::string> problems_;
};

const StaticMap::TableSlot* StaticMap::find_key(std::string_view key, std::size_t h) const {
  if (table_.empty() || key.empty()) return nullptr;
  const std::uint32_t want = len_tag(key.size(), h);
  const std::size_t mask = table_.size() - 1;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    const TableSlot& s = table_[i];
    if (s.len_tag == 0) return nullptr;
    if (s.len_tag == want &&
        std::memcmp(arena_.data() + s.name_offset, key.data(), key.size()) == 0)
      return &s;
  }
}

const std::vector<record::Route>* StaticMap::lookup(std::string_view domain) const {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (domain.empty() || domain.size() > 253) return nullptr;
  char buf[256];
  bool upper = false;
  for (char c : domain) upper |= (c >= 'A' && c <= 'Z');
  if (upper) {
    for (std::size_t i = 0; i < domain.size(); ++i) buf[i] = base::ascii_lower(domain[i]);
    domain = std::string_view(buf, domain.size());
  }
  if (const TableSlot* s = find_key(domain, hash_key(domain))) return &route_sets_[s->set];
  // ".parent" keys, most specific first.
  for (std::size_t dot = domain.find('.'); dot != std::string_view::npos;
       dot = domain.find('.', dot + 1)) {
    std::string_view suffix = domain.substr(dot);
    if (const TableSlot* s = find_key(suffix, hash_key(suffix))) return &route_sets_[s->set];
  }
  return nullptr;
}

void StaticMap::for_each(
    const std::function<void(std::string_view, const std::vector<record::Route>&)>& fn) const {
  for (const auto& s : entries_)
    fn(std::string_view(arena_).substr(s.name_offset, s.name_length), route_sets_[s.set]);
}

std::size_t StaticMap::memory_bytes() const noexcept {
  std::size_t n = arena_.capacity() + entries_.capacity() * sizeof(Slot) +
                  table_.capacity() * sizeof(TableSlot) +
                  route_sets_.capacity() * sizeof(std::vector<record::Route>);
  for (const auto& set : route_sets_)
    for (const auto& r : set) n += sizeof(record::Route) + r.onion.capacity();
  return n;
}

base::Result<StaticMap> parse_map(std::string_view text, const ParseOptions& options) {
  MapBuilder builder(options, text.size());
  try {
    json::sax_parse(text.begin(), text.end(), &builder, json::input_format_t::json, true);
  } catch (const json::exception& e) {
    return fail(Status::BadData, std::string("not valid JSON: ") + e.what());
  }
  return builder.finish();
}

base::Result<StaticMap> parse_map_stream(std::istream& in, std::size_t size_hint,
                                         const ParseOptions& options) {
  MapBuilder builder(options, size_hint);
  try {
    json::sax_parse(in, &builder, json::input_format_t::json, true);
  } catch (const json::exception& e) {
    return fail(Status::BadData, std::string("not valid JSON: ") + e.what());
  }
  return builder.finish();
}

namespace {

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

}  // namespace

std::string format_map(std::uint64_t serial, std::optional<std::int64_t> expires,
                       const std::vector<Entry>& entries) {
  std::string out;
  out.reserve(64 + entries.size() * 96);
  out += "{\n  \"format\": \"onionmx-map\",\n  \"version\": 1,\n  \"serial\": ";
  out += std::to_string(serial);
  if (expires) out += ",\n  \"expires\": \"" + format_rfc3339(*expires) + "\"";
  out += ",\n  \"entries\": {";
  bool first = true;
  for (const auto& e : entries) {
    out += first ? "\n    " : ",\n    ";
    first = false;
    append_json_string(out, e.key);
    out += ": [";
    for (std::size_t i = 0; i < e.routes.size(); ++i) {
      const auto& r = e.routes[i];
      if (i) out += ", ";
      if (r.port == 25 && r.priority == 0) {
        append_json_string(out, r.onion);
      } else {
        out += "{\"onion\": ";
        append_json_string(out, r.onion);
        if (r.port != 25) out += ", \"port\": " + std::to_string(r.port);
        if (r.priority != 0) out += ", \"priority\": " + std::to_string(r.priority);
        out += "}";
      }
    }
    out += "]";
  }
  out += first ? "}\n}\n" : "\n  }\n}\n";
  return out;
}

}  // namespace onionmx::map
