// static_map.hpp - the onionmx static map: JSON document, index, lookup.
//
// Format: docs/map-format.md (JSON Schema docs/map-format.schema.json).
//   {"format": "onionmx-map", "version": 1, "serial": N, "expires": "RFC 3339",
//    "entries": {"example.org": ["<56>.onion", {"onion": "...", "port": 25, "priority": 0}],
//                ".example.net": [...]}}
// "example.org" matches exactly that domain; ".example.net" matches every
// subdomain of example.net (not example.net itself), as Postfix transport(5)
// does.  The most specific key wins: exact, then the longest suffix.
// Parsing is strict (unknown keys, wrong types, duplicate keys with other
// routes, invalid domains and onions are errors, reported with the entry)
// and never throws except std::bad_alloc.  Every distinct onion is fully
// validated (address::parse_onion: v3, checksum, prime-order key), on
// several threads when there are many.
//
// Memory: domain names live in one arena, an open-addressing table of
// 32-bit indexes finds them, and each distinct list of routes is stored
// once (1 000 000 domains over 100 000 onions hold 100 000 route lists).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "record/route.hpp"

namespace onionmx::map {

inline constexpr std::string_view kFormatName = "onionmx-map";
inline constexpr std::uint64_t kFormatVersion = 1;

// One entry as written in a map (the tool builds maps from these).
struct Entry {
  std::string key;  // "example.org" or ".example.org"
  std::vector<record::Route> routes;
};

struct ParseOptions {
  // Threads validating onions; 0 = std::thread::hardware_concurrency().
  unsigned threads = 0;
  // At most this many problems are listed in the error detail.
  std::size_t max_problems = 20;
  // Sorted onion keys validated by an earlier load (map-valid-keys in the
  // state directory): these skip the prime-order point check.
  const std::vector<std::array<std::uint8_t, 32>>* known_valid_keys = nullptr;
};

class StaticMap {
 public:
  StaticMap() = default;
  StaticMap(StaticMap&&) noexcept = default;
  StaticMap& operator=(StaticMap&&) noexcept = default;
  StaticMap(const StaticMap&) = delete;
  StaticMap& operator=(const StaticMap&) = delete;

  // Routes for a domain (lower case, no trailing dot expected; both are
  // tolerated), best first by priority; nullptr if no key matches.  The
  // pointer lives as long as the map.
  const std::vector<record::Route>* lookup(std::string_view domain) const;

  std::uint64_t serial() const noexcept { return serial_; }
  // Unix seconds, if the map has "expires".
  std::optional<std::int64_t> expires() const noexcept { return expires_; }
  std::size_t size() const noexcept { return entries_.size(); }
  std::size_t distinct_onions() const noexcept { return onion_count_; }
  std::size_t distinct_route_lists() const noexcept { return route_sets_.size(); }
  // Entries in file order (duplicates removed).
  void for_each(const std::function<void(std::string_view key,
                                         const std::vector<record::Route>& routes)>& fn) const;
  // Every distinct list of routes (each onion appears in at least one).
  const std::vector<std::vector<record::Route>>& route_lists() const noexcept {
    return route_sets_;
  }
  // Bytes held by the index (arena, entries, table, route lists); an estimate.
  std::size_t memory_bytes() const noexcept;

 private:
  friend class MapBuilder;
  struct Slot {
    std::uint32_t name_offset;
    std::uint32_t set;
    std::uint8_t name_length;
  };
  // A table slot repeats its entry, so a hit touches the table and the
  // name only; len_tag = name length << 24 | 24 hash bits (0 = empty) lets
  // most non-matching probes skip the name.
  struct TableSlot {
    std::uint32_t name_offset;
    std::uint32_t set;
    std::uint32_t len_tag;
  };
  static std::uint32_t len_tag(std::size_t length, std::size_t hash) noexcept {
    return static_cast<std::uint32_t>(length << 24 | ((hash >> 40) & 0xffffff));
  }
  const TableSlot* find_key(std::string_view key, std::size_t hash) const;

  std::uint64_t serial_ = 0;
  std::optional<std::int64_t> expires_;
  std::string arena_;
  std::vector<Slot> entries_;
  std::vector<TableSlot> table_;  // open addressing, size a power of two
  std::vector<std::vector<record::Route>> route_sets_;
  std::size_t onion_count_ = 0;
};

// Parses and validates a whole map document.  BadData with every problem
// (up to max_problems), each naming its entry.
[[nodiscard]] base::Result<StaticMap> parse_map(std::string_view json,
                                                const ParseOptions& options = {});

// The same from a stream (the signed loader streams large files through
// its hash instead of holding them in memory).  size_hint: the document's
// length, to presize the index.
[[nodiscard]] base::Result<StaticMap> parse_map_stream(std::istream& in, std::size_t size_hint,
                                                       const ParseOptions& options = {});

// The JSON document for these entries (keys in the given order, one entry
// per line, routes as plain strings when port 25 and priority 0).  Does not
// validate: parse_map the result to check it.
std::string format_map(std::uint64_t serial, std::optional<std::int64_t> expires,
                       const std::vector<Entry>& entries);

// RFC 3339 "2027-01-31T00:00:00Z" (also "+hh:mm"/"-hh:mm" offsets; no
// fractional seconds) to Unix seconds, and back (always "Z").
std::optional<std::int64_t> parse_rfc3339(std::string_view s);
std::string format_rfc3339(std::int64_t unix_seconds);

}  // namespace onionmx::map
