#include "base/file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace onionmx::base {

Result<std::string> read_file(const std::string& path, std::size_t max_bytes,
                              const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Status::Io, "cannot open " + path + ": " + std::strerror(errno));
  std::string data;
  data.resize(max_bytes + 1);  // one byte more tells "too large" from "exactly full"
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad()) return fail(Status::Io, "cannot read " + path);
  if (data.size() > max_bytes) return fail(Status::BadData, path + ": larger than " + what);
  return data;
}

}  // namespace onionmx::base
