#include "transport.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace onionmx::tools {
namespace {

using Clock = std::chrono::steady_clock;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
};

SockAddr to_sockaddr(const ServerAddress& a) {
  SockAddr out;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.ss);
  if (inet_pton(AF_INET, a.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(a.port);
    out.len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, a.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(a.port);
    out.len = sizeof(sockaddr_in6);
  }
  return out;
}

int ms_left(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

tl::unexpected<base::Error> sys_error(const ServerAddress& s, const char* what, int err) {
  return base::fail(base::Status::Temp,
                    std::string(what) + " " + s.text() + ": " + std::strerror(err));
}

tl::unexpected<base::Error> timeout_error(const ServerAddress& s, double t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", t);
  return base::fail(base::Status::Temp,
                    "timed out after " + std::string(buf) + " s waiting for " + s.text());
}

// Waits for `events` on fd until the deadline: 1 ready, 0 timeout, -1 error.
int wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, ms_left(deadline));
    if (r < 0 && errno == EINTR) continue;
    return r;
  }
}

base::Result<std::vector<std::uint8_t>> exchange_tcp(const ServerAddress& s, const SockAddr& sa,
                                                     std::span<const std::uint8_t> query,
                                                     Clock::time_point deadline, double timeout) {
  Fd fd(::socket(sa.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return sys_error(s, "socket for", errno);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa.ss), sa.len) != 0) {
    if (errno != EINPROGRESS) return sys_error(s, "TCP connect to", errno);
    const int w = wait_for(fd.get(), POLLOUT, deadline);
    if (w == 0) return timeout_error(s, timeout);
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (w < 0 || err != 0) return sys_error(s, "TCP connect to", w < 0 ? errno : err);
  }
  std::vector<std::uint8_t> out;
  out.push_back(static_cast<std::uint8_t>(query.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(query.size() & 0xff));
  out.insert(out.end(), query.begin(), query.end());
  std::size_t sent = 0;
  while (sent < out.size()) {
    const ssize_t n = ::send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return sys_error(s, "TCP send to", errno);
    if (wait_for(fd.get(), POLLOUT, deadline) <= 0) return timeout_error(s, timeout);
  }
  std::vector<std::uint8_t> in;
  std::uint8_t buf[4096];
  for (;;) {
    if (in.size() >= 2) {
      const std::size_t want = 2 + ((std::size_t{in[0]} << 8) | in[1]);
      if (in.size() >= want)
        return std::vector<std::uint8_t>(in.begin() + 2,
                                         in.begin() + static_cast<std::ptrdiff_t>(want));
    }
    const int w = wait_for(fd.get(), POLLIN, deadline);
    if (w == 0) return timeout_error(s, timeout);
    if (w < 0) return sys_error(s, "TCP receive from", errno);
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n == 0) return base::fail(base::Status::Temp, "TCP connection closed by " + s.text());
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return sys_error(s, "TCP receive from", errno);
    }
    in.insert(in.end(), buf, buf + n);
  }
}

}  // namespace

std::string ServerAddress::text() const {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

base::Result<ServerAddress> parse_server(const std::string& s) {
  ServerAddress a;
  std::string port;
  bool has_port = false;
  const auto colons = std::count(s.begin(), s.end(), ':');
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string::npos)
      return base::fail(base::Status::Inval, "--server: missing ']' in " + s);
    a.host = s.substr(1, close - 1);
    if (close + 1 < s.size()) {
      if (s[close + 1] != ':')
        return base::fail(base::Status::Inval, "--server: expected ':' after ']'");
      has_port = true;
      port = s.substr(close + 2);
    }
  } else if (colons == 1) {
    a.host = s.substr(0, s.find(':'));
    has_port = true;
    port = s.substr(s.find(':') + 1);
  } else {
    a.host = s;  // IPv4 without port, or a bare IPv6 address
  }
  if (has_port) {
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) == 0 ||
        std::stoul(port) > 65535)
      return base::fail(base::Status::Inval, "--server: bad port \"" + port + "\"");
    a.port = static_cast<std::uint16_t>(std::stoul(port));
  }
  if (to_sockaddr(a).len == 0)
    return base::fail(base::Status::Inval,
                      "--server: \"" + a.host + "\" is not a numeric IPv4 or IPv6 address");
  return a;
}

base::Result<std::vector<std::uint8_t>> exchange(const ServerAddress& server,
                                                 std::span<const std::uint8_t> query,
                                                 const ExchangeOptions& opts) {
  const SockAddr sa = to_sockaddr(server);
  if (sa.len == 0) return base::fail(base::Status::Inval, "bad server address");
  const auto deadline =
      Clock::now() + std::chrono::milliseconds(static_cast<long>(opts.timeout_s * 1000));
  if (opts.tcp_only || query.size() > 512)
    return exchange_tcp(server, sa, query, deadline, opts.timeout_s);
  if (query.size() < 2) return base::fail(base::Status::Inval, "query too short");

  Fd fd(::socket(sa.ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return sys_error(server, "socket for", errno);
  // Connected: only the server's datagrams arrive, and an ICMP port
  // unreachable surfaces as ECONNREFUSED.
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa.ss), sa.len) != 0)
    return sys_error(server, "connect to", errno);
  // Resend after 1 s, 2 s, ... until the deadline (the server applies an
  // UPDATE once per ID; a resent copy gets the same answer or a
  // duplicate-signature refusal, and the first answer wins).
  int retry_ms = 1000;
  std::uint8_t buf[65535];
  while (ms_left(deadline) > 0) {
    if (::send(fd.get(), query.data(), query.size(), 0) < 0)
      return sys_error(server, "send to", errno);
    const auto resend = std::min(deadline, Clock::now() + std::chrono::milliseconds(retry_ms));
    retry_ms *= 2;
    for (;;) {
      const int w = wait_for(fd.get(), POLLIN, resend);
      if (w < 0) return sys_error(server, "receive from", errno);
      if (w == 0) break;
      const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        return sys_error(server, "receive from", errno);
      }
      if (n < 12 || buf[0] != query[0] || buf[1] != query[1]) continue;  // not ours
      if (buf[2] & 0x02) return exchange_tcp(server, sa, query, deadline, opts.timeout_s);
      return std::vector<std::uint8_t>(buf, buf + n);
    }
  }
  return timeout_error(server, opts.timeout_s);
}

}  // namespace onionmx::tools
