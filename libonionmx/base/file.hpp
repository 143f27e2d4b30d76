// file.hpp - whole small files as Results: read with a size bound, and
// replaced atomically.  Configuration and key files are small; anything
// larger is refused before it is read into memory.  State that must
// survive a crash (map rollback serials, the cache) is written to a
// temporary file, fsync'd and renamed over the old one, so a reader sees
// the old file or the new one, never a part (rename(2), fsync(2)).
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace onionmx::base {

// Io if the file cannot be opened or read; BadData "<path>: larger than
// <what>" if it holds more than max_bytes.
[[nodiscard]] Result<std::string> read_file(const std::string& path, std::size_t max_bytes,
                                            const std::string& what);

// Replaces `path` with `data`: write <path>.tmp.<pid>, fsync, rename, fsync
// the directory.  On any error the old file is untouched and the temporary
// one removed.
[[nodiscard]] Result<void> write_file_atomic(const std::string& path, std::string_view data,
                                             unsigned mode = 0644);

}  // namespace onionmx::base
