// cache_file.hpp - the persistent cache file (docs/cache.md, "File
// format"): JSON lines, a header with the format version, one line per
// entry (least recently used first) with the entry's policy and guard
// facts, one line per pin (docs/route-trust.md; domain order) and a
// SHA3-256 trailer over every byte before it.  Version 2; version-1 files
// (no facts, no pins) still load.
//
// Reading is all or nothing: a file that is foreign, of another version,
// truncated, corrupt (checksum), or that holds one invalid entry or pin is
// refused as a whole with a reason, never half-loaded.  Writing goes
// through base::write_file_atomic, so a crash (even kill -9) mid-save
// leaves the previous file in place.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "cache/cache.hpp"

namespace onionmx::cache {

inline constexpr int kFileVersion = 2;
inline constexpr int kOldestFileVersion = 1;  // read, never written
inline constexpr std::size_t kMaxFileBytes = 256u << 20;

// The file's bytes for `c`'s entries and pins, saved at `now_wall` (Unix
// seconds).  At most `max_bytes`: the least recently used entries are left
// out rather than write a file that parse() would refuse whole, and, if
// that is not enough, the pins expiring first.
std::string serialize(const Cache& c, std::int64_t now_wall, std::size_t max_bytes = kMaxFileBytes);

// What a file holds.
struct FileContents {
  std::vector<Entry> entries;     // oldest use first
  std::vector<record::Pin> pins;  // as written (domain order), expired ones included
};

// The entries and pins of a file's bytes, each checked (domain syntax,
// onion targets, TTLs, fact states, max_age); BadData with a reason
// otherwise.  Entries come back with fetched_wall set and `fetched` unset.
[[nodiscard]] base::Result<FileContents> parse(std::string_view bytes);

// One entry as a JSON object on one line (the file's entry line).  With
// `now`, adds "age" (seconds) and "state" (fresh, stale, expired): the
// form of `onionmx-lookup --cache-dump`.
std::string entry_json(const Entry& e);
std::string entry_dump_json(const Cache& c, const Entry& e, base::Clock::Monotonic now);
// One pin as a JSON object on one line, with "pin": true (the file's pin
// line); the dump form adds "expires_in" (seconds left at `now_wall`).
std::string pin_json(const record::Pin& p);
std::string pin_dump_json(const record::Pin& p, std::int64_t now_wall);

// Loads `path` into `c` (which should be empty), placing each entry on the
// monotonic clock by its wall-clock age, and its live pins (expired ones
// are dropped; none lives longer than its max_age from now).  A missing
// file is not an error (first start); anything else wrong is, and leaves
// `c` untouched.  Returns the number of entries loaded.
[[nodiscard]] base::Result<std::size_t> load(const std::string& path, Cache& c,
                                             const base::Clock& clock);
// Saves `c` to `path` atomically and marks it saved.
[[nodiscard]] base::Result<void> save(const std::string& path, Cache& c, const base::Clock& clock);

}  // namespace onionmx::cache
