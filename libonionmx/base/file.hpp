// file.hpp - read a whole small file with a size bound, as a Result.
// Configuration and key files are small; anything larger is refused
// before it is read into memory.
#pragma once

#include <string>

#include "base/result.hpp"

namespace onionmx::base {

// Io if the file cannot be opened or read; BadData "<path>: larger than
// <what>" if it holds more than max_bytes.
[[nodiscard]] Result<std::string> read_file(const std::string& path, std::size_t max_bytes,
                                            const std::string& what);

}  // namespace onionmx::base
