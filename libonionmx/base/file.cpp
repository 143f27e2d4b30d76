#include "base/file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace onionmx::base {
namespace {

std::string errno_text() { return std::strerror(errno); }

struct Fd {
  int fd = -1;
  Fd() = default;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Result<std::string> read_file(const std::string& path, std::size_t max_bytes,
                              const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Status::Io, "cannot open " + path + ": " + std::strerror(errno));
  // Grow as data arrives: the limit may be large (the cache file) while
  // the file is small, and one byte more than the limit tells "too large"
  // from "exactly full".
  std::string data;
  std::size_t chunk = std::size_t{64} * 1024;
  while (data.size() <= max_bytes) {
    const std::size_t want = std::min(chunk, max_bytes + 1 - data.size());
    const std::size_t had = data.size();
    data.resize(had + want);
    in.read(data.data() + had, static_cast<std::streamsize>(want));
    data.resize(had + static_cast<std::size_t>(in.gcount()));
    if (!in) break;
    chunk = std::min<std::size_t>(chunk * 2, 16u << 20);
  }
  if (in.bad()) return fail(Status::Io, "cannot read " + path);
  if (data.size() > max_bytes) return fail(Status::BadData, path + ": larger than " + what);
  return data;
}

Result<void> write_file_atomic(const std::string& path, std::string_view data, unsigned mode) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    Fd f;
    f.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(mode));
    if (f.fd < 0) return fail(Status::Io, "cannot create " + tmp + ": " + errno_text());
    std::size_t done = 0;
    bool ok = true;
    while (ok && done < data.size()) {
      const ssize_t n = ::write(f.fd, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        ok = false;
      else
        done += static_cast<std::size_t>(n);
    }
    if (!ok || ::fsync(f.fd) != 0) {
      const std::string why = errno_text();
      ::unlink(tmp.c_str());
      return fail(Status::Io, "cannot write " + tmp + ": " + why);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    return fail(Status::Io, "cannot rename " + tmp + " to " + path + ": " + why);
  }
  // The rename itself must reach the disk before the new state is relied on.
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  Fd d;
  d.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d.fd < 0 || ::fsync(d.fd) != 0)
    return fail(Status::Io, "cannot fsync directory " + dir + ": " + errno_text());
  return {};
}

}  // namespace onionmx::base
