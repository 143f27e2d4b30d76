// cares_client.hpp - `_onion-mx._tcp.<domain>` SRV record sets over c-ares.
//
// The only code that includes <ares.h>.  c-ares 1.18.1 is used as transport
// only (docs/dns-discovery.md): queries are built by dns/message (so DO and
// AD can be set), sent with ares_send, and walked by dns/srv_answer (TTLs,
// RFC 2308 negative TTLs, AD).  ARES_FLAG_NOCHECKRESP keeps SERVFAIL and
// REFUSED answers so they are told apart; c-ares retries truncated UDP
// answers over TCP by itself.  Sockets and timeouts are driven by the event
// loop (sock-state callback + one timer), so many lookups are in flight at
// once; each also has its own deadline, the configured time budget.
// A FORMERR without OPT makes c-ares 1.18 turn EDNS off for the channel's
// life (docs/dns-discovery.md): the client then starts a fresh channel for
// later lookups and frees the old one, from the loop, once it has drained.
// Outcomes are exact: NXDOMAIN/NODATA/"."/no valid target -> NotFound;
// SERVFAIL, REFUSED, timeout, unreachable server, malformed or mismatched
// answer -> Temp.  The answer is a record set (record/record_set.hpp): the
// weighted order is drawn above, per lookup.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/result.hpp"
#include "dns/dns_config.hpp"
#include "dns/dns_stats.hpp"
#include "event/loop.hpp"
#include "source/rr_lookup.hpp"
#include "source/srv_lookup.hpp"

namespace onionmx::dns {

struct SrvAnswer;
struct Message;

// The reason given to lookups that end because the client goes away.
inline constexpr const char* kShutdownReason = "DNS lookup cancelled (shutting down)";

class CaresClient final : public source::SrvLookup, public source::RrLookup {
 public:
  [[nodiscard]] static base::Result<std::unique_ptr<CaresClient>> create(
      event::Loop& loop, DnsConfig cfg, base::LogSink log,
      const base::Clock& clock = base::SystemClock::instance(), DnsStats* stats = nullptr);
  // Lookups still pending complete with a temporary failure.
  ~CaresClient() override;
  CaresClient(const CaresClient&) = delete;
  CaresClient& operator=(const CaresClient&) = delete;

  void fetch(const source::Query& q, source::FetchCallback done) override;
  std::size_t pending() const noexcept override { return requests_.size(); }
  // TXT, MX and TLSA queries (docs/route-trust.md): same budget, IDs,
  // in-flight limit and CNAME handling as the SRV lookups.
  void query(const source::RrQuery& q, source::RrCallback done) override;

 private:
  struct Request;
  struct Channel;
  struct Token;
  CaresClient(event::Loop& loop, DnsConfig cfg, base::LogSink log, const base::Clock& clock);

  [[nodiscard]] base::Result<std::unique_ptr<Channel>> make_channel();
  void start(std::uint64_t serial);
  void send_query(Request& r);
  void on_answer(Channel& ch, std::uint64_t serial, int status, int timeouts,
                 const unsigned char* abuf, int alen);
  void check_edns(Channel& ch);
  void reap();
  void on_records(Request& r, SrvAnswer& ans);
  void on_no_records(Request& r, const SrvAnswer& ans);
  void on_rr_answer(Request& r, const Message& msg);
  void enqueue(std::unique_ptr<Request> req);
  void finish_rr(std::uint64_t serial, source::RrSet set);
  std::unique_ptr<Request> retire(std::uint64_t serial, base::Status status,
                                  const std::string& reason, std::vector<std::string>& explain);
  void on_deadline();
  std::uint16_t next_id();
  void finish(std::uint64_t serial, record::RecordSet set);
  void fail_temp(std::uint64_t serial, std::string reason);
  void clear_retired();
  void on_io(Channel& ch, int fd, bool readable, bool writable);
  void on_sock_state(Channel& ch, int fd, bool readable, bool writable);
  void arm_timer(Channel& ch);
  void log(base::LogLevel level, const std::string& msg) const;

  event::Loop& loop_;
  DnsConfig cfg_;
  base::LogSink log_;
  const base::Clock& clock_;
  std::unique_ptr<Channel> channel_;  // where new queries go
  // Replaced channels with queries still in c-ares; freed by reaper_ (from
  // the loop, never inside their own callbacks) once they have none.
  std::vector<std::unique_ptr<Channel>> draining_;
  std::unique_ptr<event::Timer> reaper_;
  // Watches are freed at the next top-level callback, never inside their own.
  std::vector<std::unique_ptr<event::IoWatch>> retired_;
  // Every lookup has the same budget, so deadlines expire in start order:
  // one queue and one timer serve them all.
  std::deque<std::pair<base::Clock::Monotonic, std::uint64_t>> deadlines_;
  std::unique_ptr<event::Timer> deadline_timer_;
  std::array<std::uint8_t, 512> id_pool_{};
  std::size_t id_pool_used_ = 512;
  std::unordered_map<std::uint64_t, std::unique_ptr<Request>> requests_;
  std::deque<std::uint64_t> queue_;  // waiting for an in-flight slot
  std::uint64_t next_serial_ = 1;
  bool shutting_down_ = false;
  DnsStats own_stats_;  // counted here when the creator keeps none
  DnsStats* stats_ = &own_stats_;
};

}  // namespace onionmx::dns
