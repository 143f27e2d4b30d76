#include "cache/cache_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

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
constexpr std::size_t kMaxRecords = 1024;  // more than a 64 KiB DNS answer can hold
constexpr std::size_t kMaxReasonBytes = 512;

std::string checksum(std::string_view bytes) {
  crypto::Sha3Digest d{};
  if (!crypto::sha3_256(
          std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), d))
    return {};
  return base::hex_lower(d);
}

json entry_object(const Entry& e) {
  json j = {{"domain", e.domain},
            {"positive", e.positive},
            {"ttl", e.ttl},
            {"fetched", e.fetched_wall},
            {"authenticated", e.authenticated}};
  if (e.positive) {
    j["owner"] = e.owner;
    json recs = json::array();
    for (const auto& r : e.records)
      recs.push_back(
          {{"priority", r.priority}, {"weight", r.weight}, {"port", r.port}, {"target", r.target}});
    j["records"] = std::move(recs);
  } else {
    j["reason"] = e.reason;
  }
  return j;
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

base::Result<Entry> parse_entry(std::string_view line) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(Status::BadData, "not a JSON object");
  Entry e;
  if (!get(j, "domain", e.domain) || !get(j, "positive", e.positive) || !get(j, "ttl", e.ttl) ||
      !get(j, "fetched", e.fetched_wall) || !get(j, "authenticated", e.authenticated))
    return fail(Status::BadData, "missing or mistyped field");
  if (std::string why = address::domain_syntax_problem(e.domain); !why.empty())
    return fail(Status::BadData, "domain: " + why);
  if (e.domain != base::ascii_lowercase(e.domain) || address::is_onion_name(e.domain))
    return fail(Status::BadData, "domain: not a lower-case DNS name");
  if (!e.positive) {
    if (!get(j, "reason", e.reason) || e.reason.size() > kMaxReasonBytes)
      return fail(Status::BadData, "negative entry without a reason");
    return e;
  }
  auto recs = j.find("records");
  if (!get(j, "owner", e.owner) || recs == j.end() || !recs->is_array() || recs->empty() ||
      recs->size() > kMaxRecords)
    return fail(Status::BadData, "positive entry without records");
  if (std::string why = address::domain_syntax_problem(e.owner); !why.empty())
    return fail(Status::BadData, "owner: " + why);
  for (const auto& r : *recs) {
    record::SrvRecord rec;
    if (!r.is_object() || !get(r, "priority", rec.priority) || !get(r, "weight", rec.weight) ||
        !get(r, "port", rec.port) || !get(r, "target", rec.target))
      return fail(Status::BadData, "malformed record");
    auto onion = address::parse_onion(rec.target, &key_was_checked, nullptr);
    if (!onion || onion->full != rec.target || rec.port == 0)
      return fail(Status::BadData, "invalid onion target");
    e.records.push_back(std::move(rec));
  }
  return e;
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
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string serialize(const Cache& c, std::int64_t now_wall, std::size_t max_bytes) {
  std::string body;
  std::vector<std::size_t> starts;  // of each entry line, least recently used first
  starts.reserve(c.size());
  c.for_each([&](const Entry& e) {
    starts.push_back(body.size());
    body += entry_object(e).dump(-1, ' ', false, json::error_handler_t::replace);
    body += '\n';
  });
  // parse() refuses a file over kMaxFileBytes: rather than write one that
  // the next start throws away whole, leave out the least recently used
  // entries (the header and the trailer take less than 256 bytes).
  std::size_t skip = 0;
  while (skip < starts.size() && body.size() - starts[skip] + 256 > max_bytes) ++skip;
  std::string out = json{{"format", kFormat},
                         {"version", kFileVersion},
                         {"saved", now_wall},
                         {"entries", starts.size() - skip}}
                        .dump();
  out += '\n';
  out.append(body, skip < starts.size() ? starts[skip] : body.size());
  out += json{{"sha3-256", checksum(out)}}.dump();
  out += '\n';
  return out;
}

base::Result<std::vector<Entry>> parse(std::string_view bytes) {
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
  if (head.is_discarded() || !head.is_object() || !get(head, "format", format) || format != kFormat)
    return fail(Status::BadData, "not an onionmx cache file");
  if (!get(head, "version", version) || version != kFileVersion)
    return fail(Status::BadData, "cache file format version " + std::to_string(version) +
                                     " (this onionmx reads version " +
                                     std::to_string(kFileVersion) + ")");
  if (!get(head, "entries", count) || count != lines.size() - 2)
    return fail(Status::BadData, "entry count does not match (truncated?)");
  json trailer = json::parse(lines.back(), nullptr, false);
  std::string sum;
  if (trailer.is_discarded() || !trailer.is_object() || !get(trailer, "sha3-256", sum))
    return fail(Status::BadData, "no checksum line (truncated?)");
  // Everything before the trailer line (and its newline).
  if (sum != checksum(all.substr(0, all.size() - lines.back().size() - 1)))
    return fail(Status::BadData, "checksum mismatch (corrupt file)");
  std::vector<Entry> out;
  out.reserve(count);
  for (std::size_t i = 1; i + 1 < lines.size(); ++i) {
    auto e = parse_entry(lines[i]);
    if (!e) return fail(Status::BadData, "line " + std::to_string(i + 1) + ": " + e.error().detail);
    out.push_back(std::move(*e));
  }
  return out;
}

base::Result<std::size_t> load(const std::string& path, Cache& c, const base::Clock& clock) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return std::size_t{0};
  auto bytes = base::read_file(path, kMaxFileBytes, "the cache file limit");
  if (!bytes) return fail(bytes.error());
  auto entries = parse(*bytes);
  if (!entries) return fail(Status::BadData, path + ": " + entries.error().detail);
  const auto now = clock.monotonic();
  const std::int64_t now_wall =
      std::chrono::duration_cast<std::chrono::seconds>(clock.wall().time_since_epoch()).count();
  std::size_t loaded = 0;
  for (auto& e : *entries) {
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
  ONIONMX_TRY(base::write_file_atomic(path, serialize(c, now_wall), 0600));
  c.mark_saved();
  return {};
}

}  // namespace onionmx::cache
