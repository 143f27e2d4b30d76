#include "fake_dns_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <span>
#include <stdexcept>

#include "dns/message.hpp"

namespace onionmx::testing {
namespace {

void put16(std::vector<std::uint8_t>& v, std::uint16_t x) {
  v.push_back(static_cast<std::uint8_t>(x >> 8));
  v.push_back(static_cast<std::uint8_t>(x & 0xff));
}

void put32(std::vector<std::uint8_t>& v, std::uint32_t x) {
  put16(v, static_cast<std::uint16_t>(x >> 16));
  put16(v, static_cast<std::uint16_t>(x & 0xffff));
}

void append(std::vector<std::uint8_t>& v, const std::vector<std::uint8_t>& w) {
  v.insert(v.end(), w.begin(), w.end());
}

void put_rr(std::vector<std::uint8_t>& v, const Rr& rr) {
  append(v, wire_name(rr.name));
  put16(v, rr.type);
  put16(v, dns::kClassIn);
  put32(v, rr.ttl);
  put16(v, static_cast<std::uint16_t>(rr.rdata.size()));
  append(v, rr.rdata);
}

std::vector<std::uint8_t> header(std::uint16_t id, std::uint16_t flags, std::uint16_t qd,
                                 std::uint16_t an, std::uint16_t ns) {
  std::vector<std::uint8_t> v;
  put16(v, id);
  put16(v, flags);
  put16(v, qd);
  put16(v, an);
  put16(v, ns);
  put16(v, 0);
  return v;
}

[[noreturn]] void die(const char* what) {
  throw std::runtime_error(std::string("FakeDnsServer: ") + what + ": " + std::strerror(errno));
}

}  // namespace

std::vector<std::uint8_t> wire_name(const std::string& name) {
  std::vector<std::uint8_t> out;
  std::string n = name;
  if (!n.empty() && n.back() == '.') n.pop_back();
  std::size_t start = 0;
  while (!n.empty() && start <= n.size()) {
    std::size_t end = n.find('.', start);
    if (end == std::string::npos) end = n.size();
    out.push_back(static_cast<std::uint8_t>(end - start));
    out.insert(out.end(), n.begin() + static_cast<std::ptrdiff_t>(start),
               n.begin() + static_cast<std::ptrdiff_t>(end));
    start = end + 1;
  }
  out.push_back(0);
  return out;
}

Rr Rr::srv(const std::string& name, std::uint32_t ttl, std::uint16_t priority, std::uint16_t weight,
           std::uint16_t port, const std::string& target) {
  Rr rr{name, dns::kTypeSrv, ttl, {}};
  put16(rr.rdata, priority);
  put16(rr.rdata, weight);
  put16(rr.rdata, port);
  append(rr.rdata, wire_name(target));
  return rr;
}

Rr Rr::cname(const std::string& name, std::uint32_t ttl, const std::string& target) {
  return Rr{name, dns::kTypeCname, ttl, wire_name(target)};
}

Rr Rr::soa(const std::string& zone, std::uint32_t ttl, std::uint32_t minimum) {
  Rr rr{zone, dns::kTypeSoa, ttl, {}};
  append(rr.rdata, wire_name("ns1." + zone));
  append(rr.rdata, wire_name("hostmaster." + zone));
  for (std::uint32_t v : {1u, 3600u, 600u, 86400u, minimum}) put32(rr.rdata, v);
  return rr;
}

Reply Reply::with_rcode(std::uint8_t rcode) {
  Reply r;
  r.rcode = rcode;
  return r;
}

Reply Reply::silent() {
  Reply r;
  r.kind = Kind::Silent;
  return r;
}

Reply Reply::bytes(std::vector<std::uint8_t> raw) {
  Reply r;
  r.kind = Kind::Raw;
  r.raw = std::move(raw);
  return r;
}

Reply& Reply::answer(Rr rr) {
  answers.push_back(std::move(rr));
  return *this;
}

Reply& Reply::authority_rr(Rr rr) {
  authority.push_back(std::move(rr));
  return *this;
}

Reply& Reply::authenticated(bool on) {
  ad = on;
  return *this;
}

Reply& Reply::truncate_over_udp() {
  truncated_over_udp = true;
  return *this;
}

Reply& Reply::with_wrong_id() {
  wrong_id = true;
  return *this;
}

Reply& Reply::for_question(std::string qname) {
  question = std::move(qname);
  return *this;
}

std::vector<std::uint8_t> reply_prefix(const DnsQuery& q, std::uint16_t ancount) {
  auto v = header(q.id, 0x8180, 1, ancount, 0);  // QR RD RA, NOERROR
  append(v, wire_name(q.qname));
  put16(v, q.qtype);
  put16(v, dns::kClassIn);
  return v;
}

std::vector<std::uint8_t> Reply::encode(const DnsQuery& q) const {
  if (kind == Kind::Raw) return raw;
  const bool cut = tc || (truncated_over_udp && q.transport == Transport::Udp);
  std::uint16_t flags = 0x8000 | 0x0080 | rcode;  // QR, RA
  if (aa) flags |= 0x0400;
  if (cut) flags |= 0x0200;
  if (q.rd) flags |= 0x0100;
  if (ad) flags |= 0x0020;
  const std::uint16_t id = wrong_id ? static_cast<std::uint16_t>(q.id + 1) : q.id;
  const auto an = cut ? 0 : answers.size();
  const auto ns = cut ? 0 : authority.size();
  auto v = header(id, flags, 1, static_cast<std::uint16_t>(an), static_cast<std::uint16_t>(ns));
  append(v, wire_name(question.value_or(q.qname)));
  put16(v, q.qtype);
  put16(v, dns::kClassIn);
  for (std::size_t i = 0; i < an; ++i) put_rr(v, answers[i]);
  for (std::size_t i = 0; i < ns; ++i) put_rr(v, authority[i]);
  return v;
}

FakeDnsServer::FakeDnsServer(Handler handler) : handler_(std::move(handler)) {
  if (pipe(wake_) != 0) die("pipe");
  // UDP first on port 0, then TCP on the same port; retry if another
  // process holds that TCP port.
  for (int attempt = 0; attempt < 20 && tcp_fd_ < 0; ++attempt) {
    udp_fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (udp_fd_ < 0) die("socket(udp)");
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(udp_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die("bind(udp)");
    socklen_t len = sizeof sa;
    if (getsockname(udp_fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) die("getsockname");
    port_ = ntohs(sa.sin_port);

    int tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (tcp < 0) die("socket(tcp)");
    int one = 1;
    setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(tcp, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 && listen(tcp, 16) == 0) {
      tcp_fd_ = tcp;
    } else {
      close(tcp);
      close(udp_fd_);
      udp_fd_ = -1;
    }
  }
  if (tcp_fd_ < 0) die("no port free for both UDP and TCP");
  thread_ = std::thread([this] { serve(); });
}

FakeDnsServer::~FakeDnsServer() { stop(); }

void FakeDnsServer::stop() {
  if (thread_.joinable()) {
    const char c = 'q';
    while (write(wake_[1], &c, 1) < 0 && errno == EINTR) {
    }
    thread_.join();
  }
  for (int* fd : {&udp_fd_, &tcp_fd_, &wake_[0], &wake_[1]}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

std::vector<DnsQuery> FakeDnsServer::received() const {
  std::lock_guard<std::mutex> lock(mu_);
  return received_;
}

void FakeDnsServer::answer(Transport t, const std::vector<std::uint8_t>& query,
                           std::vector<std::uint8_t>& out, bool& send) {
  send = false;
  (t == Transport::Udp ? udp_queries_ : tcp_queries_)++;
  auto m = dns::parse_message(std::span<const std::uint8_t>(query.data(), query.size()));
  if (!m || m->qr || m->qdcount != 1) return;  // not a query: ignore it
  DnsQuery q;
  q.transport = t;
  q.id = m->id;
  q.qname = m->qname;
  q.qtype = m->qtype;
  q.rd = m->rd;
  q.ad = m->ad;
  for (const auto& rr : m->additional) {
    if (rr.type != dns::kTypeOpt) continue;
    q.edns = true;
    q.dnssec_ok = (rr.ttl & 0x8000u) != 0;  // TTL = ext-rcode(8) version(8) DO(1) Z(15)
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    received_.push_back(q);
  }
  const Reply r = handler_(q);
  if (r.kind == Reply::Kind::Silent) return;
  out = r.encode(q);
  send = true;
}

void FakeDnsServer::serve() {
  struct Conn {
    int fd;
    std::vector<std::uint8_t> in;
  };
  std::vector<Conn> conns;
  std::vector<std::uint8_t> buf(65536);
  for (;;) {
    std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {udp_fd_, POLLIN, 0}, {tcp_fd_, POLLIN, 0}};
    for (const auto& c : conns) fds.push_back({c.fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents) break;
    if (fds[1].revents & POLLIN) {
      for (;;) {
        sockaddr_in from{};
        socklen_t flen = sizeof from;
        ssize_t n =
            recvfrom(udp_fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &flen);
        if (n < 0) break;  // EAGAIN: drained
        std::vector<std::uint8_t> query(buf.begin(), buf.begin() + n);
        std::vector<std::uint8_t> out;
        bool send = false;
        answer(Transport::Udp, query, out, send);
        if (send)
          sendto(udp_fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), flen);
      }
    }
    if (fds[2].revents & POLLIN) {
      int fd = accept4(tcp_fd_, nullptr, nullptr, SOCK_CLOEXEC);  // blocking: replies are small
      if (fd >= 0) conns.push_back({fd, {}});
    }
    // Read from the connections polled in this round (fds[3...]).
    std::vector<int> closed;
    for (std::size_t i = 3; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      Conn& c = conns[i - 3];
      ssize_t n = recv(c.fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        closed.push_back(c.fd);
        continue;
      }
      c.in.insert(c.in.end(), buf.begin(), buf.begin() + n);
      // Frames: 2-byte length, then the message.
      while (c.in.size() >= 2) {
        const std::size_t len = (std::size_t{c.in[0]} << 8) | c.in[1];
        if (c.in.size() < 2 + len) break;
        std::vector<std::uint8_t> query(c.in.begin() + 2,
                                        c.in.begin() + 2 + static_cast<std::ptrdiff_t>(len));
        c.in.erase(c.in.begin(), c.in.begin() + 2 + static_cast<std::ptrdiff_t>(len));
        std::vector<std::uint8_t> out;
        bool send_it = false;
        answer(Transport::Tcp, query, out, send_it);
        if (!send_it) continue;
        std::vector<std::uint8_t> frame;
        put16(frame, static_cast<std::uint16_t>(out.size()));
        append(frame, out);
        if (send(c.fd, frame.data(), frame.size(), MSG_NOSIGNAL) < 0) {
          closed.push_back(c.fd);
          break;
        }
      }
    }
    for (int fd : closed) {
      close(fd);
      std::erase_if(conns, [fd](const Conn& c) { return c.fd == fd; });
    }
  }
  for (const auto& c : conns) close(c.fd);
}

}  // namespace onionmx::testing
