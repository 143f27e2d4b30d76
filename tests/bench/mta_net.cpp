// mta_net.cpp - see mta_net.hpp.
#include "mta_net.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace mtabench {

using onionmx::proto::ListenSpec;

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    reset();
    fd_ = o.release();
  }
  return *this;
}

Fd::~Fd() { reset(); }

int Fd::release() noexcept {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void Fd::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

namespace {

[[noreturn]] void fail(const std::string& what, const ListenSpec& where) {
  throw std::runtime_error(what + " " + onionmx::proto::to_string(where) + ": " +
                           std::strerror(errno));
}

struct Address {
  sockaddr_storage storage{};
  socklen_t len = 0;
  int family = AF_UNSPEC;
};

// The first address of the endpoint (a host name resolves to its first
// address: enough for loopback benchmarks).
Address address_of(const ListenSpec& where) {
  Address a;
  if (where.kind == ListenSpec::Kind::Unix) {
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::memcpy(un.sun_path, where.path.c_str(), where.path.size() + 1);  // <= kMaxUnixPath
    std::memcpy(&a.storage, &un, sizeof un);
    a.len = sizeof un;
    a.family = AF_UNIX;
    return a;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(where.port);
  const int rc = ::getaddrinfo(where.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    throw std::runtime_error("cannot resolve " + where.host + ": " + ::gai_strerror(rc));
  }
  std::memcpy(&a.storage, res->ai_addr, res->ai_addrlen);
  a.len = res->ai_addrlen;
  a.family = res->ai_family;
  ::freeaddrinfo(res);
  return a;
}

}  // namespace

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

Fd connect_to(const ListenSpec& where) {
  const Address a = address_of(where);
  Fd fd(::socket(a.family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) fail("socket for", where);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a.storage), a.len) != 0) {
    fail("cannot connect to", where);
  }
  if (a.family != AF_UNIX) {
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  set_nonblocking(fd.get());
  return fd;
}

Fd listen_on(ListenSpec& where) {
  const Address a = address_of(where);
  Fd fd(::socket(a.family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) fail("socket for", where);
  const int one = 1;
  if (a.family == AF_UNIX) {
    ::unlink(where.path.c_str());  // a socket left by an earlier run
  } else {
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a.storage), a.len) != 0) {
    fail("cannot bind", where);
  }
  if (::listen(fd.get(), SOMAXCONN) != 0) fail("cannot listen on", where);
  if (a.family != AF_UNIX) {
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len);
    where.port =
        ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port
                                          : reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
  }
  set_nonblocking(fd.get());
  return fd;
}

void raise_fd_limit() noexcept {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

}  // namespace mtabench
