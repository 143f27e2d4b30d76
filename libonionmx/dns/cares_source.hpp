// cares_source.hpp - the DNS source: `_onion-mx._tcp.<domain>` SRV over c-ares.
//
// The only code that includes <ares.h>.  c-ares 1.18.1 is used as transport
// only (dns.md §6): queries are built by dns/message (so DO and AD can be
// set), sent with ares_send, and walked by dns/srv_answer (TTLs, negative
// TTLs, AD).  ARES_FLAG_NOCHECKRESP keeps SERVFAIL/REFUSED answers so they
// are told apart; c-ares retries truncated UDP answers over TCP by itself.
// Sockets and timeouts are driven by the event loop (sock-state callback +
// one timer), so many lookups are in flight at once; each lookup also has
// its own deadline, the configured time budget.  Outcomes are exact:
// NXDOMAIN/NODATA/"." -> not found; SERVFAIL, REFUSED, timeout, unreachable
// server, malformed or mismatched answer -> temporary failure.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/log.hpp"
#include "base/result.hpp"
#include "event/loop.hpp"
#include "record/srv.hpp"
#include "source/source.hpp"

namespace onionmx::dns {

enum class Dnssec { Off, Prefer, Require };
const char* dnssec_name(Dnssec d) noexcept;

struct DnsConfig {
  std::vector<std::string> servers;  // "ip", "ip:port", "[ipv6]:port"; empty: resolv.conf
  bool tcp = false;
  Dnssec dnssec = Dnssec::Off;
  std::chrono::milliseconds timeout{5000};  // time budget of one lookup
  int tries = 2;
  std::string srv_prefix = "_onion-mx._tcp";
  std::uint32_t max_ttl = 86400;
  std::uint32_t max_negative_ttl = 3600;
  // Bounded so a burst of answers fits the UDP socket's receive buffer
  // (Linux default ~208 KiB): beyond it the kernel drops answers.
  std::size_t max_in_flight = 128;
};

class CaresSource final : public source::Source {
 public:
  [[nodiscard]] static base::Result<std::unique_ptr<CaresSource>> create(event::Loop& loop, DnsConfig cfg,
                                                                   base::LogSink log);
  ~CaresSource() override;
  CaresSource(const CaresSource&) = delete;
  CaresSource& operator=(const CaresSource&) = delete;

  std::string_view name() const override { return "dns"; }
  void lookup(const source::Query& q, source::StepCallback done) override;

  // Tests inject a deterministic generator for the RFC 2782 order.
  void set_rng(record::UniformRng rng) { rng_ = std::move(rng); }
  std::size_t pending() const noexcept { return requests_.size(); }

 private:
  struct Request;
  struct Channel;
  CaresSource(event::Loop& loop, DnsConfig cfg, base::LogSink log);

  void start(std::uint64_t serial);
  void send_query(Request& r);
  void on_answer(std::uint64_t serial, int status, int timeouts, const unsigned char* abuf,
                 int alen);
  void clear_retired();
  void on_deadline();
  std::uint16_t next_id();
  std::string lookup_domain(std::uint64_t serial) const;
  void finish(std::uint64_t serial, record::Answer answer);
  void fail_temp(std::uint64_t serial, std::string reason);
  void on_io(int fd, bool readable, bool writable);
  void on_sock_state(int fd, bool readable, bool writable);
  void arm_timer();
  void log(base::LogLevel level, const std::string& msg) const;

  event::Loop& loop_;
  DnsConfig cfg_;
  base::LogSink log_;
  record::UniformRng rng_;
  std::unique_ptr<Channel> channel_;
  std::unique_ptr<event::Timer> ares_timer_;
  std::map<int, std::unique_ptr<event::IoWatch>> watches_;
  // Watches are freed at the next top-level callback, never inside their own.
  std::vector<std::unique_ptr<event::IoWatch>> retired_;
  // Every lookup has the same budget, so deadlines expire in start order:
  // one queue and one timer serve them all.
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>> deadlines_;
  std::unique_ptr<event::Timer> deadline_timer_;
  std::array<std::uint8_t, 512> id_pool_{};
  std::size_t id_pool_used_ = 512;
  std::unordered_map<std::uint64_t, std::unique_ptr<Request>> requests_;
  std::deque<std::uint64_t> queue_;  // waiting for an in-flight slot
  std::uint64_t next_serial_ = 1;
  bool shutting_down_ = false;
};

}  // namespace onionmx::dns
