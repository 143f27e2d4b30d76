// mtaecho.cpp - the transport's limit: a socketmap_table(5) and tcp_table(5)
// server that answers every request at once with one fixed reply (found by default).
//
// It decodes requests with the same codecs as onionmxd (libonionmx/proto)
// and does nothing else, so mtaload against it measures what sockets,
// framing and the client cost; onionmxd's rate over mtaecho's is the share
// of the transport's limit that the daemon reaches (issue 9, Benchmark).
// One thread, poll(2), pipelined requests answered in order.
//
//   mtaecho --socketmap inet:127.0.0.1:0 --tcp-table inet:127.0.0.1:0 [--value V]
//           [--status found|notfound|temp|perm]
//
// Prints "socketmap PORT" / "tcp_table PORT" lines (or the unix paths) on
// stdout once listening, then serves until SIGTERM or SIGINT.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "mta_net.hpp"
#include "proto/listen_spec.hpp"
#include "proto/reply.hpp"
#include "proto/socketmap.hpp"
#include "proto/tcp_table.hpp"

namespace {

using mtabench::Fd;
using onionmx::proto::ListenSpec;

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int /*sig*/) { g_stop = 1; }

struct Listener {
  Fd fd;
  bool socketmap = true;
};

struct Client {
  Fd fd;
  bool socketmap = true;
  onionmx::proto::SocketmapDecoder sm;
  onionmx::proto::TcpTableDecoder tcp;
  std::string out;
};

class Echo {
 public:
  explicit Echo(const onionmx::proto::Reply& reply)
      : sm_reply_(onionmx::proto::encode_socketmap_reply(reply)),
        tcp_reply_(onionmx::proto::encode_tcp_table_reply(reply)) {}

  void add_listener(Fd fd, bool socketmap) {
    listeners_.push_back(Listener{std::move(fd), socketmap});
  }

  void serve() {
    std::vector<pollfd> pfds;
    while (g_stop == 0) {
      pfds.clear();
      for (const auto& l : listeners_) pfds.push_back({l.fd.get(), POLLIN, 0});
      for (const auto& c : clients_) {
        pfds.push_back(
            {c->fd.get(), static_cast<short>(POLLIN | (c->out.empty() ? 0 : POLLOUT)), 0});
      }
      if (::poll(pfds.data(), pfds.size(), 200) < 0 && errno != EINTR) return;
      for (std::size_t i = 0; i < listeners_.size(); ++i) {
        if (pfds[i].revents != 0) accept_all(listeners_[i]);
      }
      // Clients accepted just now are past the end of pfds: served next round.
      std::size_t at = listeners_.size();
      for (auto& c : clients_) {
        if (at < pfds.size() && pfds[at].revents != 0) service(*c, pfds[at].revents);
        ++at;
      }
      std::erase_if(clients_, [](const auto& c) { return !c->fd; });
    }
  }

 private:
  void accept_all(const Listener& l) {
    for (;;) {
      const int fd = ::accept4(l.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      auto c = std::make_unique<Client>();
      c->fd = Fd(fd);
      c->socketmap = l.socketmap;
      clients_.push_back(std::move(c));
    }
  }

  void service(Client& c, short revents) {
    if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !read_requests(c)) {
      c.fd.reset();
      return;
    }
    while (!c.out.empty()) {
      const ssize_t w = ::write(c.fd.get(), c.out.data(), c.out.size());
      if (w < 0) {
        if (errno != EAGAIN && errno != EINTR) c.fd.reset();
        return;
      }
      c.out.erase(0, static_cast<std::size_t>(w));
    }
  }

  // False when the connection must close: EOF, an error, a bad frame.
  bool read_requests(Client& c) {
    char buf[65536];
    const ssize_t r = ::read(c.fd.get(), buf, sizeof buf);
    if (r < 0) return errno == EAGAIN || errno == EINTR;
    if (r == 0) return false;
    const std::string_view chunk(buf, static_cast<std::size_t>(r));
    if (c.socketmap) {
      sm_scratch_.clear();
      if (c.sm.feed(chunk, sm_scratch_)) return false;
      for (std::size_t i = 0; i < sm_scratch_.size(); ++i) c.out += sm_reply_;
    } else {
      tcp_scratch_.clear();
      if (c.tcp.feed(chunk, tcp_scratch_)) return false;
      for (std::size_t i = 0; i < tcp_scratch_.size(); ++i) c.out += tcp_reply_;
    }
    return true;
  }

  std::string sm_reply_, tcp_reply_;
  std::vector<Listener> listeners_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::vector<onionmx::proto::SocketmapRequest> sm_scratch_;
  std::vector<onionmx::proto::TcpTableRequest> tcp_scratch_;
};

}  // namespace

namespace {

int run(int argc, char** argv) {
  std::vector<std::string> sm_specs, tcp_specs;
  std::string value = "smtptor:[aoqqvaxm2tj6wj2wdx3zhtwbihdlyxnzmtujmrnfrzibcrwnzcuj6yad.onion]:25";
  CLI::App app{"Fixed-reply socketmap and tcp_table server (benchmark baseline)", "mtaecho"};
  app.add_option("--socketmap", sm_specs, "inet:HOST:PORT or unix:PATH (repeatable)");
  app.add_option("--tcp-table", tcp_specs, "inet:HOST:PORT or unix:PATH (repeatable)");
  std::string status = "found";
  app.add_option("--value", value, "The value (found) or reason every request gets");
  app.add_option("--status", status, "found, notfound, temp or perm (the smoke test's kinds)")
      ->check(CLI::IsMember({"found", "notfound", "temp", "perm"}));
  CLI11_PARSE(app, argc, argv);
  if (sm_specs.empty() && tcp_specs.empty()) {
    std::cerr << "mtaecho: give --socketmap and/or --tcp-table\n";
    return 2;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);  // a client gone mid-reply is an EPIPE, not a kill
  mtabench::raise_fd_limit();
  try {
    using onionmx::base::Outcome;
    const Outcome outcome = status == "found"      ? Outcome::Found
                            : status == "notfound" ? Outcome::NotFound
                            : status == "temp"     ? Outcome::Temp
                                                   : Outcome::Perm;
    Echo echo(onionmx::proto::Reply{outcome, value});
    for (const bool socketmap : {true, false}) {
      for (const auto& s : socketmap ? sm_specs : tcp_specs) {
        auto spec = onionmx::proto::parse_listen_spec(s);
        if (!spec) throw std::runtime_error(spec.error().detail);
        echo.add_listener(mtabench::listen_on(*spec), socketmap);
        std::cout << (socketmap ? "socketmap " : "tcp_table ")
                  << (spec->kind == ListenSpec::Kind::Unix ? spec->path
                                                           : std::to_string(spec->port))
                  << "\n"
                  << std::flush;  // the caller waits for these lines
      }
    }
    echo.serve();
  } catch (const std::exception& e) {
    std::cerr << "mtaecho: " << e.what() << "\n";
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // CLI11 setup, allocation: a usage/setup error
    std::cerr << "mtaecho: " << e.what() << "\n";
    return 2;
  }
}
