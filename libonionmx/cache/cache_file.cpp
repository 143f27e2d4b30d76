#include "cache/cache_file.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>
#include <utility>

#include "address/domain.hpp"
#include "address/onion_address.hpp"
#include "base/file.hpp"
#include "base/strings.hpp"
#include "crypto/crypto.hpp"

namespace onionmx::cache {
namespace {

using json = nlohmann::json;
using base::fail;
using base::Status;

constexpr std::string_view kFormat = "onionmx-cache";
constexpr std::size_t kMaxRecords = 1024;     // more than a 64 KiB DNS answer can hold
constexpr std::size_t kMaxReasonBytes = 512;  // reasons are diagnostics

std::string checksum(std::string_view bytes) {
  crypto::Sha3Digest d{};
  if (!crypto::sha3_256(
          std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), d))
    return {};
  return base::hex_lower(d);
}

// Diagnostics are clipped when written so that parse() takes back what
// serialize() wrote: at most kMaxReasonBytes, cut at a character boundary,
// and text that is not UTF-8 (which JSON cannot carry) made ASCII.
bool is_utf8(const std::string& s) {
  try {
    (void)json(s).dump();
    return true;
  } catch (const json::type_error&) {
    return false;
  }
}

std::string clip(std::string_view s) {
  std::string out(s);
  if (!is_utf8(out))
    for (char& ch : out)
      if (static_cast<unsigned char>(ch) >= 0x80) ch = '?';
  if (out.size() > kMaxReasonBytes) {
    std::size_t n = kMaxReasonBytes;
    while (n > 0 && (static_cast<unsigned char>(out[n]) & 0xC0) == 0x80) --n;
    out.resize(n);
  }
  return out;
}

// The states a file may name: closed sets, Unknown is never written.
using PolicyState = record::PolicyFacts::State;
using GuardState = record::GuardFacts::State;
constexpr std::array<std::pair<PolicyState, std::string_view>, 4> kPolicyStates{{
    {PolicyState::Absent, "absent"},
    {PolicyState::Valid, "valid"},
    {PolicyState::Invalid, "invalid"},
    {PolicyState::Failed, "failed"},
}};
constexpr std::array<std::pair<GuardState, std::string_view>, 2> kGuardStates{{
    {GuardState::Checked, "checked"},
    {GuardState::Failed, "failed"},
}};

template <class State, std::size_t N>
std::string_view state_name(const std::array<std::pair<State, std::string_view>, N>& names,
                            State s) {
  for (const auto& [state, name] : names)
    if (state == s) return name;
  return "unknown";
}

template <class State, std::size_t N>
bool state_from_name(const std::array<std::pair<State, std::string_view>, N>& names,
                     std::string_view n, State& out) {
  for (const auto& [state, name] : names)
    if (name == n) {
      out = state;
      return true;
    }
  return false;
}

json records_array(const std::vector<record::SrvRecord>& records) {
  json recs = json::array();
  for (const auto& r : records)
    recs.push_back(
        {{"priority", r.priority}, {"weight", r.weight}, {"port", r.port}, {"target", r.target}});
  return recs;
}

// Only the members of the state are written (docs/cache.md, "File format").
json policy_object(const record::PolicyFacts& f) {
  json j = {{"state", state_name(kPolicyStates, f.state)}, {"authenticated", f.authenticated}};
  if (f.state == PolicyState::Valid) {
    j["mode"] = record::policy_mode_name(f.policy.mode);
    j["max_age"] = std::min(f.policy.max_age, record::kPolicyMaxAgeLimit);
  } else if (f.state == PolicyState::Invalid || f.state == PolicyState::Failed) {
    j["reason"] = clip(f.reason);
  }
  return j;
}

json guard_object(const record::GuardFacts& g) {
  json j = {{"state", state_name(kGuardStates, g.state)}};
  if (g.state == GuardState::Checked) {
    j["mta_sts"] = g.mta_sts;
    j["dane"] = g.dane;
    // A host name the reader would refuse is not worth losing the file.
    j["dane_host"] = address::domain_syntax_problem(g.dane_host).empty() ? g.dane_host : "";
  } else if (g.state == GuardState::Failed) {
    j["reason"] = clip(g.reason);
  }
  return j;
}

json entry_object(const Entry& e) {
  json j = {{"domain", e.domain},
            {"positive", e.positive},
            {"ttl", e.ttl},
            {"fetched", e.fetched_wall},
            {"authenticated", e.authenticated}};
  if (e.positive) {
    j["owner"] = e.owner;
    j["records"] = records_array(e.records);
  } else {
    j["reason"] = clip(e.reason);
  }
  // Unknown facts are left out: old-style lines stay as they were.
  if (e.policy.state != PolicyState::Unknown) j["policy"] = policy_object(e.policy);
  if (e.guard.state != GuardState::Unknown) j["guard"] = guard_object(e.guard);
  return j;
}

json pin_object(const record::Pin& p) {
  return {{"pin", true},
          {"domain", p.domain},
          {"expires", p.expires},
          {"max_age", std::min(p.max_age, record::kPolicyMaxAgeLimit)},
          {"records", records_array(p.records)}};
}

std::string dump_line(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Strict field access: the wrong type or a missing key refuses the file.
template <class T>
bool get(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it == j.end()) return false;
  if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) return false;
    out = it->get<bool>();
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) return false;
    out = it->get<std::string>();
  } else {
    if (!it->is_number_integer()) return false;
    if constexpr (std::is_unsigned_v<T>) {
      if (it->is_number_unsigned()) {
        const auto v = it->get<std::uint64_t>();
        if (v > std::numeric_limits<T>::max()) return false;
        out = static_cast<T>(v);
        return true;
      }
      const auto v = it->get<std::int64_t>();
      if (v < 0 || static_cast<std::uint64_t>(v) > std::numeric_limits<T>::max()) return false;
      out = static_cast<T>(v);
    } else {
      if (it->is_number_unsigned()) {
        if (it->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
          return false;
      } else if constexpr (sizeof(T) < sizeof(std::int64_t)) {
        // get<T>() would truncate: -4294967295 read as an int is 1.
        const auto v = it->get<std::int64_t>();
        if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) return false;
      }
      out = it->get<T>();
    }
  }
  return true;
}

// The stored targets were validated when DNS delivered them; the file is
// re-checked for syntax and the onion checksum (a corrupt or edited byte),
// not for the Ed25519 point, which is costly and cannot change silently.
bool key_was_checked(const void*, const std::array<std::uint8_t, 32>&) { return true; }

// A key domain: what cache keys are (lower-case A-labels, never an onion).
std::string domain_problem(const std::string& domain) {
  if (std::string why = address::domain_syntax_problem(domain); !why.empty()) return why;
  if (domain != base::ascii_lowercase(domain) || address::is_onion_name(domain))
    return "not a lower-case DNS name";
  return {};
}

// The "records" member: 1..kMaxRecords SRV records with valid onion targets.
std::string records_problem(const json& j, std::vector<record::SrvRecord>& out) {
  auto recs = j.find("records");
  if (recs == j.end() || !recs->is_array() || recs->empty() || recs->size() > kMaxRecords)
    return "without records";
  for (const auto& r : *recs) {
    record::SrvRecord rec;
    if (!r.is_object() || !get(r, "priority", rec.priority) || !get(r, "weight", rec.weight) ||
        !get(r, "port", rec.port) || !get(r, "target", rec.target))
      return "malformed record";
    auto onion = address::parse_onion(rec.target, &key_was_checked, nullptr);
    if (!onion || onion->full != rec.target || rec.port == 0) return "invalid onion target";
    out.push_back(std::move(rec));
  }
  return {};
}

bool get_reason(const json& j, std::string& out) {
  return get(j, "reason", out) && out.size() <= kMaxReasonBytes;
}

base::Result<record::PolicyFacts> parse_policy_facts(const json& j) {
  record::PolicyFacts f;
  std::string state;
  if (!j.is_object() || !get(j, "state", state) || !get(j, "authenticated", f.authenticated))
    return fail(Status::BadData, "policy: missing or mistyped field");
  if (!state_from_name(kPolicyStates, state, f.state))
    return fail(Status::BadData, "policy: unknown state \"" + base::printable(state, 40) + "\"");
  if (f.state == PolicyState::Valid) {
    std::string mode;
    if (!get(j, "mode", mode) || !record::policy_mode_from_name(mode, f.policy.mode))
      return fail(Status::BadData, "policy: missing or unknown mode");
    if (!get(j, "max_age", f.policy.max_age) || f.policy.max_age > record::kPolicyMaxAgeLimit)
      return fail(Status::BadData,
                  "policy: max_age missing or above " + std::to_string(record::kPolicyMaxAgeLimit));
  } else if (f.state != PolicyState::Absent && !get_reason(j, f.reason)) {
    return fail(Status::BadData, "policy: " + state + " without a reason");
  }
  return f;
}

base::Result<record::GuardFacts> parse_guard_facts(const json& j) {
  record::GuardFacts g;
  std::string state;
  if (!j.is_object() || !get(j, "state", state))
    return fail(Status::BadData, "guard: missing or mistyped field");
  if (!state_from_name(kGuardStates, state, g.state))
    return fail(Status::BadData, "guard: unknown state \"" + base::printable(state, 40) + "\"");
  if (g.state == GuardState::Checked) {
    if (!get(j, "mta_sts", g.mta_sts) || !get(j, "dane", g.dane) ||
        !get(j, "dane_host", g.dane_host))
      return fail(Status::BadData, "guard: missing or mistyped field");
    if (!g.dane_host.empty() && !address::domain_syntax_problem(g.dane_host).empty())
      return fail(Status::BadData,
                  "guard: dane_host: " + address::domain_syntax_problem(g.dane_host));
  } else if (!get_reason(j, g.reason)) {
    return fail(Status::BadData, "guard: failed without a reason");
  }
  return g;
}

base::Result<Entry> parse_entry(const json& j) {
  Entry e;
  if (!get(j, "domain", e.domain) || !get(j, "positive", e.positive) || !get(j, "ttl", e.ttl) ||
      !get(j, "fetched", e.fetched_wall) || !get(j, "authenticated", e.authenticated))
    return fail(Status::BadData, "missing or mistyped field");
  if (std::string why = domain_problem(e.domain); !why.empty())
    return fail(Status::BadData, "domain: " + why);
  if (auto p = j.find("policy"); p != j.end()) {
    auto f = parse_policy_facts(*p);
    if (!f) return fail(f.error());
    e.policy = std::move(*f);
  }
  if (auto g = j.find("guard"); g != j.end()) {
    auto f = parse_guard_facts(*g);
    if (!f) return fail(f.error());
    e.guard = std::move(*f);
  }
  if (!e.positive) {
    if (!get_reason(j, e.reason)) return fail(Status::BadData, "negative entry without a reason");
    return e;
  }
  if (!get(j, "owner", e.owner)) return fail(Status::BadData, "positive entry without an owner");
  if (std::string why = address::domain_syntax_problem(e.owner); !why.empty())
    return fail(Status::BadData, "owner: " + why);
  if (std::string why = records_problem(j, e.records); !why.empty())
    return fail(Status::BadData, "positive entry: " + why);
  return e;
}

base::Result<record::Pin> parse_pin(const json& j) {
  record::Pin p;
  bool is_pin = false;
  if (!get(j, "pin", is_pin) || !is_pin || !get(j, "domain", p.domain) ||
      !get(j, "expires", p.expires) || !get(j, "max_age", p.max_age))
    return fail(Status::BadData, "pin: missing or mistyped field");
  if (std::string why = domain_problem(p.domain); !why.empty())
    return fail(Status::BadData, "pin: domain: " + why);
  if (p.max_age > record::kPolicyMaxAgeLimit)
    return fail(Status::BadData,
                "pin: max_age above " + std::to_string(record::kPolicyMaxAgeLimit));
  if (std::string why = records_problem(j, p.records); !why.empty())
    return fail(Status::BadData, "pin: " + why);
  return p;
}

}  // namespace

std::string entry_json(const Entry& e) { return entry_object(e).dump(); }

std::string entry_dump_json(const Cache& c, const Entry& e, base::Clock::Monotonic now) {
  json j = entry_object(e);
  j["age"] = Cache::age(e, now);
  switch (c.freshness(e, now)) {
    case Freshness::Fresh:
      j["state"] = "fresh";
      break;
    case Freshness::Stale:
      j["state"] = "stale";
      break;
    case Freshness::Expired:
      j["state"] = "expired";
      break;
  }
  return dump_line(j);
}

std::string pin_json(const record::Pin& p) { return dump_line(pin_object(p)); }

std::string pin_dump_json(const record::Pin& p, std::int64_t now_wall) {
  json j = pin_object(p);
  j["expires_in"] = p.expires > now_wall ? p.expires - now_wall : 0;
  return dump_line(j);
}

std::string serialize(const Cache& c, std::int64_t now_wall, std::size_t max_bytes) {
  std::string body;
  std::vector<std::size_t> starts;  // of each entry line, least recently used first
  starts.reserve(c.size());
  c.for_each([&](const Entry& e) {
    starts.push_back(body.size());
    body += dump_line(entry_object(e));
    body += '\n';
  });
  struct PinLine {
    std::int64_t expires;
    std::string line;
    bool kept = true;
  };
  std::vector<PinLine> pins;  // domain order
  std::size_t pin_bytes = 0;
  c.for_each_pin([&](const record::Pin& p) {
    if (p.records.empty()) return;  // pins nothing; the reader refuses it
    pins.push_back({p.expires, dump_line(pin_object(p)) + '\n'});
    pin_bytes += pins.back().line.size();
  });
  // parse() refuses a file over kMaxFileBytes: rather than write one that
  // the next start throws away whole, leave out the least recently used
  // entries, then the pins expiring first (the header and the trailer
  // take less than 256 bytes).
  std::size_t skip = 0;
  while (skip < starts.size() && body.size() - starts[skip] + pin_bytes + 256 > max_bytes) ++skip;
  std::size_t pin_count = pins.size();
  if (pin_bytes + 256 > max_bytes) {
    std::vector<PinLine*> by_expiry;
    by_expiry.reserve(pins.size());
    for (auto& p : pins) by_expiry.push_back(&p);
    // By expiry, ties in domain order (the vector's): deterministic.
    std::ranges::sort(by_expiry, [](const PinLine* a, const PinLine* b) {
      return a->expires != b->expires ? a->expires < b->expires : std::less<>()(a, b);
    });
    for (PinLine* p : by_expiry) {
      if (pin_bytes + 256 <= max_bytes) break;
      p->kept = false;
      pin_bytes -= p->line.size();
      --pin_count;
    }
  }
  std::string out = json{
      {"format", kFormat},
      {"version", kFileVersion},
      {"saved", now_wall},
      {"entries", starts.size() - skip},
      {"pins",
       pin_count}}.dump();
  out += '\n';
  out.append(body, skip < starts.size() ? starts[skip] : body.size());
  for (const auto& p : pins)
    if (p.kept) out += p.line;
  out += json{{"sha3-256", checksum(out)}}.dump();
  out += '\n';
  return out;
}

base::Result<FileContents> parse(std::string_view bytes) {
  const std::string_view all = bytes;
  std::vector<std::string_view> lines;
  while (!bytes.empty()) {
    const auto nl = bytes.find('\n');
    if (nl == std::string_view::npos)
      return fail(Status::BadData, "truncated (last line has no newline)");
    lines.push_back(bytes.substr(0, nl));
    bytes.remove_prefix(nl + 1);
  }
  if (lines.size() < 2) return fail(Status::BadData, "truncated or empty");
  json head = json::parse(lines.front(), nullptr, false);
  std::string format;
  int version = 0;
  std::size_t count = 0;
  std::size_t pin_count = 0;
  if (head.is_discarded() || !head.is_object() || !get(head, "format", format) || format != kFormat)
    return fail(Status::BadData, "not an onionmx cache file");
  if (!get(head, "version", version) || version < kOldestFileVersion || version > kFileVersion)
    return fail(Status::BadData, "cache file format version " + std::to_string(version) +
                                     " (this onionmx reads versions " +
                                     std::to_string(kOldestFileVersion) + " to " +
                                     std::to_string(kFileVersion) + ")");
  // Version 1 had no pins.
  if (!get(head, "entries", count) || (version >= 2 && !get(head, "pins", pin_count)) ||
      count + pin_count != lines.size() - 2)
    return fail(Status::BadData, "entry count does not match (truncated?)");
  json trailer = json::parse(lines.back(), nullptr, false);
  std::string sum;
  if (trailer.is_discarded() || !trailer.is_object() || !get(trailer, "sha3-256", sum))
    return fail(Status::BadData, "no checksum line (truncated?)");
  // Everything before the trailer line (and its newline).
  if (sum != checksum(all.substr(0, all.size() - lines.back().size() - 1)))
    return fail(Status::BadData, "checksum mismatch (corrupt file)");
  FileContents out;
  out.entries.reserve(count);
  out.pins.reserve(pin_count);
  std::set<std::string, std::less<>> pinned;
  for (std::size_t i = 1; i + 1 < lines.size(); ++i) {
    const std::string where = "line " + std::to_string(i + 1) + ": ";
    json j = json::parse(lines[i], nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return fail(Status::BadData, where + "not a JSON object");
    // A line with a "pin" member is a pin, any other an entry.
    if (j.contains("pin")) {
      auto p = parse_pin(j);
      if (!p) return fail(Status::BadData, where + p.error().detail);
      if (!pinned.insert(p->domain).second)
        return fail(Status::BadData, where + "pin: " + p->domain + " pinned twice");
      out.pins.push_back(std::move(*p));
    } else {
      auto e = parse_entry(j);
      if (!e) return fail(Status::BadData, where + e.error().detail);
      out.entries.push_back(std::move(*e));
    }
  }
  if (out.pins.size() != pin_count)
    return fail(Status::BadData, "pin count does not match (" + std::to_string(out.pins.size()) +
                                     " pin lines, header says " + std::to_string(pin_count) + ")");
  return out;
}

base::Result<std::size_t> load(const std::string& path, Cache& c, const base::Clock& clock) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return std::size_t{0};
  auto bytes = base::read_file(path, kMaxFileBytes, "the cache file limit");
  if (!bytes) return fail(bytes.error());
  auto contents = parse(*bytes);
  if (!contents) return fail(Status::BadData, path + ": " + contents.error().detail);
  const auto now = clock.monotonic();
  const std::int64_t now_wall =
      std::chrono::duration_cast<std::chrono::seconds>(clock.wall().time_since_epoch()).count();
  std::size_t loaded = 0;
  for (auto& e : contents->entries) {
    // A fetch time in the future (the clock was set back) counts as now.
    const std::int64_t age = std::max<std::int64_t>(0, now_wall - e.fetched_wall);
    e.fetched = now - std::chrono::seconds(age);
    e.ttl = c.settings().clamp_ttl(e.positive, e.ttl);
    // Expired negatives are worthless; expired positives still mark a
    // domain known to have an onion (cache.hpp).
    if (!e.positive && c.freshness(e, now) == Freshness::Expired) continue;
    c.put(std::move(e));
    ++loaded;
  }
  for (auto& p : contents->pins) {
    if (p.expires <= now_wall) continue;
    // A pin promises no more than its policy's max_age from now, whatever
    // the file says (a clock set back, an edited file).
    p.expires = std::min(p.expires, now_wall + std::int64_t{p.max_age});
    c.put_pin(std::move(p));
  }
  c.mark_saved();
  return loaded;
}

base::Result<void> save(const std::string& path, Cache& c, const base::Clock& clock) {
  const std::int64_t now_wall =
      std::chrono::duration_cast<std::chrono::seconds>(clock.wall().time_since_epoch()).count();
  // The state directory may not exist yet (first start); a failure to
  // create it shows up as the write's error.
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  // Expired pins would only be dropped again at the next load.
  c.expire_pins(now_wall);
  ONIONMX_TRY(base::write_file_atomic(path, serialize(c, now_wall), 0600));
  c.mark_saved();
  return {};
}

}  // namespace onionmx::cache
