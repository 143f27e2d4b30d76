// mta_net.hpp - sockets for the MTA-protocol benchmark tools (mtaload,
// mtaecho): connect to and listen on the endpoints onionmxd takes
// ("inet:HOST:PORT" / "unix:PATH", proto/listen_spec.hpp), non-blocking.
#pragma once

#include <string>

#include "proto/listen_spec.hpp"

namespace mtabench {

// Owns one descriptor.
class Fd {
 public:
  Fd() noexcept = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const noexcept { return fd_; }
  int release() noexcept;
  void reset() noexcept;
  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// A connected, non-blocking socket (TCP_NODELAY on inet: Postfix's client
// writes one small request and waits, so Nagle would only add delay).
// Throws std::runtime_error naming the endpoint and errno.
Fd connect_to(const onionmx::proto::ListenSpec& where);
// A listening, non-blocking socket; the port actually bound is written back
// to `where.port` (port 0 lets the kernel pick one).
Fd listen_on(onionmx::proto::ListenSpec& where);
void set_nonblocking(int fd);
// Raise RLIMIT_NOFILE's soft limit to the hard limit (many connections).
void raise_fd_limit() noexcept;

}  // namespace mtabench
