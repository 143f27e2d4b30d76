// mtaload.cpp - load generator for MTA lookup tables: socketmap_table(5)
// (netstrings) and tcp_table(5) (text lines), as Postfix speaks them.
//
// N connections, each with one request in flight at a time (Postfix's
// clients send a request and wait for its reply, docs/onionmxd.md),
// for a duration and/or a total request count (whichever ends first).  Keys
// come from a file (one per line) or a pattern whose "{i}" is replaced by
// start + (n mod range), so a run can ask the same keys again (cache hits)
// or each key once (misses).  Reports requests/s, p50/p90/p99/max latency
// and replies by kind (OK/NOTFOUND/TEMP/PERM, 200/500/400) and errors by
// cause, as text or one JSON line (--json).  Plain poll(2): a handful of
// connections, no dependency beyond the project's own wire codecs.
//
//   mtaload --socketmap inet:127.0.0.1:17001 -c 8 -d 5 --pattern 'u@d{i}.bench.test' --range 1000
//   mtaload --tcp-table unix:/run/t.sock -c 1 -n 10000 --keys keys.txt --json
//
// Exit status: 0 when every request got a reply, 1 when any failed, 2 on a
// usage or setup error.
#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "mta_net.hpp"
#include "mtaload_stats.hpp"
#include "proto/listen_spec.hpp"
#include "proto/netstring.hpp"
#include "proto/socketmap.hpp"
#include "proto/tcp_table.hpp"

namespace {

using mtabench::Fd;
using mtabench::Stats;
using onionmx::proto::ListenSpec;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Options {
  std::string socketmap, tcp_table;
  std::string map_name = "onionmx";
  unsigned connections = 1;
  double duration = 0;
  std::uint64_t requests = 0;
  std::string keys_file, pattern;
  std::uint64_t range = 0, start = 0;
  double timeout = 10;
  bool json = false;
};

// The n-th key of the run.
class Keys {
 public:
  explicit Keys(const Options& o) : pattern_(o.pattern), range_(o.range), start_(o.start) {
    if (!o.keys_file.empty()) {
      std::ifstream in(o.keys_file);
      if (!in) throw std::runtime_error("cannot read " + o.keys_file);
      for (std::string line; std::getline(in, line);) {
        if (!line.empty()) file_.push_back(line);
      }
      if (file_.empty()) throw std::runtime_error(o.keys_file + " holds no keys");
    } else if (pattern_.find("{i}") == std::string::npos) {
      range_ = 1;  // a fixed key
    }
    if (range_ == 0) range_ = file_.empty() ? 1 : file_.size();
  }

  std::string operator()(std::uint64_t n) const {
    const std::uint64_t i = start_ + (n % range_);
    if (!file_.empty()) return file_[i % file_.size()];
    std::string key = pattern_;
    if (const auto at = key.find("{i}"); at != std::string::npos) {
      key.replace(at, 3, std::to_string(i));
    }
    return key;
  }

 private:
  std::vector<std::string> file_;
  std::string pattern_;
  std::uint64_t range_, start_;
};

// One client connection and its request in flight.
struct Conn {
  Fd fd;
  std::string out;  // unsent bytes of the current request
  std::string in;   // tcp_table: bytes of an unfinished reply line
  onionmx::proto::NetstringDecoder frames{onionmx::proto::kSocketmapMaxReply + 16};
  bool busy = false;
  std::int64_t sent_ns = 0;
};

class Load {
 public:
  Load(const Options& o, ListenSpec where, bool socketmap)
      : o_(o), where_(std::move(where)), socketmap_(socketmap), keys_(o), conns_(o.connections) {}

  Stats run(double& elapsed_s) {
    const std::int64_t t0 = now_ns();
    deadline_ns_ = o_.duration > 0 ? t0 + static_cast<std::int64_t>(o_.duration * 1e9) : 0;
    for (auto& c : conns_) {
      if (open(c)) issue(c);
    }
    std::vector<pollfd> pfds;
    std::vector<Conn*> owners;
    for (;;) {
      pfds.clear();
      owners.clear();
      std::int64_t wake = -1;
      for (auto& c : conns_) {
        if (!c.fd || !c.busy) continue;
        pfds.push_back({c.fd.get(), static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
        owners.push_back(&c);
        const std::int64_t due = c.sent_ns + static_cast<std::int64_t>(o_.timeout * 1e9);
        if (wake < 0 || due < wake) wake = due;
      }
      if (pfds.empty()) break;  // nothing in flight and nothing more to send
      const std::int64_t wait_ms = std::max<std::int64_t>(0, (wake - now_ns()) / 1000000 + 1);
      const int n = ::poll(pfds.data(), pfds.size(), static_cast<int>(wait_ms));
      if (n < 0 && errno != EINTR) throw std::runtime_error("poll failed");
      for (std::size_t i = 0; i < pfds.size() && n > 0; ++i) {
        if (pfds[i].revents != 0) service(*owners[i], pfds[i].revents);
      }
      expire();
    }
    elapsed_s = static_cast<double>(now_ns() - t0) / 1e9;
    return std::move(stats_);
  }

 private:
  bool more() const {
    if (o_.requests > 0 && issued_ >= o_.requests) return false;
    return deadline_ns_ == 0 || now_ns() < deadline_ns_;
  }

  bool open(Conn& c) {
    try {
      c.fd = mtabench::connect_to(where_);
    } catch (const std::exception& e) {
      stats_.connect_error(e.what());
      return false;
    }
    c.in.clear();
    c.frames = onionmx::proto::NetstringDecoder(onionmx::proto::kSocketmapMaxReply + 16);
    return true;
  }

  void issue(Conn& c) {
    if (!more()) return;
    const std::string key = keys_(issued_++);
    c.out = socketmap_ ? onionmx::proto::encode_socketmap_request(o_.map_name, key)
                       : onionmx::proto::encode_tcp_table_request(key);
    c.busy = true;
    c.sent_ns = now_ns();
    stats_.sent();
    flush(c);
  }

  void flush(Conn& c) {
    while (!c.out.empty()) {
      const ssize_t w = ::write(c.fd.get(), c.out.data(), c.out.size());
      if (w < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        fail(c, "write error");
        return;
      }
      c.out.erase(0, static_cast<std::size_t>(w));
    }
  }

  // The request in flight on c ends as an error; a fresh connection takes
  // its place (as Postfix reconnects).
  void fail(Conn& c, const std::string& cause) {
    if (c.busy) stats_.error(cause);
    c.busy = false;
    c.out.clear();
    c.fd.reset();
    if (more() && open(c)) issue(c);
  }

  void service(Conn& c, short revents) {
    if ((revents & POLLOUT) != 0) flush(c);
    if (!c.fd || (revents & (POLLIN | POLLHUP | POLLERR)) == 0) return;
    char buf[65536];
    const ssize_t r = ::read(c.fd.get(), buf, sizeof buf);
    if (r < 0) {
      if (errno != EAGAIN && errno != EINTR) fail(c, "read error");
      return;
    }
    if (r == 0) {
      fail(c, "closed");
      return;
    }
    const std::string_view chunk(buf, static_cast<std::size_t>(r));
    std::vector<std::string> replies;
    if (socketmap_) {
      if (c.frames.feed(chunk, replies)) {
        fail(c, "malformed netstring");
        return;
      }
      for (auto& p : replies) p = p.substr(0, p.find(' '));
    } else {
      c.in.append(chunk);
      for (std::size_t lf; (lf = c.in.find('\n')) != std::string::npos; c.in.erase(0, lf + 1)) {
        // tcp_table(5): "<code> <text>", the code three digits.
        const std::string code = c.in.substr(0, 3);
        const bool ok =
            lf >= 4 && c.in[3] == ' ' && code.find_first_not_of("0123456789") == std::string::npos;
        replies.push_back(ok ? code : "malformed");
      }
      if (c.in.size() > onionmx::proto::kTcpTableMaxReply) {
        fail(c, "reply line too long");
        return;
      }
    }
    if (replies.empty()) return;
    if (replies.size() > 1 || !c.busy) {
      stats_.connect_error("unsolicited reply");  // one request, one reply
    }
    if (!c.busy) return;
    c.busy = false;
    if (replies.front() == "malformed") {
      fail(c, "malformed reply");
      return;
    }
    stats_.reply(replies.front(), now_ns() - c.sent_ns);
    issue(c);
  }

  void expire() {
    const std::int64_t now = now_ns();
    for (auto& c : conns_) {
      if (c.busy && now - c.sent_ns > static_cast<std::int64_t>(o_.timeout * 1e9)) {
        fail(c, "timeout");
      }
    }
  }

  const Options& o_;
  ListenSpec where_;
  bool socketmap_;
  Keys keys_;
  std::vector<Conn> conns_;
  Stats stats_;
  std::uint64_t issued_ = 0;
  std::int64_t deadline_ns_ = 0;
};

}  // namespace

namespace {

int run(int argc, char** argv) {
  Options o;
  CLI::App app{"Load generator for Postfix socketmap and tcp_table servers", "mtaload"};
  auto* sm = app.add_option("--socketmap", o.socketmap, "inet:HOST:PORT or unix:PATH");
  auto* tcp = app.add_option("--tcp-table", o.tcp_table, "inet:HOST:PORT or unix:PATH");
  sm->excludes(tcp);
  app.add_option("--map-name", o.map_name, "socketmap name (default onionmx)");
  app.add_option("-c,--connections", o.connections, "Concurrent connections")
      ->check(CLI::Range(1U, 100000U));
  app.add_option("-d,--duration", o.duration, "Seconds to send requests for")
      ->check(CLI::PositiveNumber);
  app.add_option("-n,--requests", o.requests, "Total requests to send")->check(CLI::PositiveNumber);
  auto* kf = app.add_option("--keys", o.keys_file, "File of keys, one per line");
  auto* pat = app.add_option("--pattern", o.pattern, "Key pattern; {i} becomes start + n % range");
  kf->excludes(pat);
  app.add_option("--range", o.range, "Distinct keys (default: all of the file; pattern: 1)");
  app.add_option("--start", o.start, "First value of {i} / first line of the file");
  app.add_option("--timeout", o.timeout, "Seconds before a request counts as timed out")
      ->check(CLI::PositiveNumber);
  app.add_flag("--json", o.json, "Print one JSON line instead of text");
  CLI11_PARSE(app, argc, argv);

  const bool socketmap = !o.socketmap.empty();
  if (!socketmap && o.tcp_table.empty()) {
    std::cerr << "mtaload: give --socketmap or --tcp-table\n";
    return 2;
  }
  if (o.keys_file.empty() && o.pattern.empty()) {
    std::cerr << "mtaload: give --keys or --pattern\n";
    return 2;
  }
  if (o.duration == 0 && o.requests == 0) o.duration = 5;
  if (o.pattern.find("{i}") != std::string::npos && o.range == 0) o.range = 1;
  const std::string endpoint = socketmap ? o.socketmap : o.tcp_table;
  auto spec = onionmx::proto::parse_listen_spec(endpoint);
  if (!spec) {
    std::cerr << "mtaload: " << spec.error().detail << "\n";
    return 2;
  }
  mtabench::raise_fd_limit();
  std::signal(SIGPIPE, SIG_IGN);  // a server gone mid-request is an EPIPE, counted
  try {
    Load load(o, *spec, socketmap);
    double elapsed = 0;
    const Stats stats = load.run(elapsed);
    const mtabench::RunInfo info{socketmap ? "socketmap" : "tcp_table", endpoint, o.connections};
    std::cout << (o.json ? stats.json(info, elapsed) : stats.text(info, elapsed));
    if (stats.replies() == 0) std::cerr << "mtaload: no replies\n";
    return stats.replies() == stats.requests() && stats.replies() > 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "mtaload: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // CLI11 setup, allocation: a usage/setup error
    std::cerr << "mtaload: " << e.what() << "\n";
    return 2;
  }
}
