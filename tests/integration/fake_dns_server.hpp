// fake_dns_server.hpp - an in-process DNS server for fault injection.
//
// Modelled on c-ares test/ares-test.h MockServer: binds UDP and TCP on the
// same ephemeral port of 127.0.0.1, serves from its own thread with poll(),
// and answers every query through a handler the test supplies.  A Reply is
// a DNS message built from records (SRV, CNAME, SOA) with chosen rcode and
// AA/AD/TC bits, or raw bytes, or silence; it can carry a wrong ID or a
// different question, or be truncated over UDP only (full answer over TCP).
// It is not a DNS implementation: real servers are tested elsewhere.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace onionmx::testing {

enum class Transport { Udp, Tcp };

// One query as received.
struct DnsQuery {
  Transport transport = Transport::Udp;
  std::uint16_t id = 0;
  std::string qname;  // lower case, no trailing dot
  std::uint16_t qtype = 0;
  bool rd = false;
  bool ad = false;         // AD bit in the header (RFC 6840 §5.7)
  bool edns = false;       // has an OPT RR
  bool dnssec_ok = false;  // DO bit of the OPT RR
};

// A resource record for a reply.  Names in presentation form; "" or "." is
// the root.
struct Rr {
  std::string name;
  std::uint16_t type = 0;
  std::uint32_t ttl = 0;
  std::vector<std::uint8_t> rdata;

  static Rr srv(const std::string& name, std::uint32_t ttl, std::uint16_t priority,
                std::uint16_t weight, std::uint16_t port, const std::string& target);
  static Rr cname(const std::string& name, std::uint32_t ttl, const std::string& target);
  // SOA with mname ns1.<zone>, rname hostmaster.<zone> and the given MINIMUM.
  static Rr soa(const std::string& zone, std::uint32_t ttl, std::uint32_t minimum);
};

struct Reply {
  enum class Kind { Message, Raw, Silent };
  Kind kind = Kind::Message;
  std::uint8_t rcode = 0;
  bool aa = true;
  bool ad = false;
  bool tc = false;
  bool truncated_over_udp = false;      // UDP: TC and no records; TCP: the full answer
  bool wrong_id = false;                // ID of the query + 1
  std::optional<std::string> question;  // answer a different question name
  std::vector<Rr> answers;
  std::vector<Rr> authority;
  std::vector<std::uint8_t> raw;  // Kind::Raw: sent as is

  static Reply noerror() { return Reply{}; }
  static Reply with_rcode(std::uint8_t rcode);
  static Reply silent();
  static Reply bytes(std::vector<std::uint8_t> raw);

  Reply& answer(Rr rr);
  Reply& authority_rr(Rr rr);
  Reply& authenticated(bool on = true);
  Reply& truncate_over_udp();
  Reply& with_wrong_id();
  Reply& for_question(std::string qname);

  // The wire form of this reply to `q` (Kind::Message and Raw).
  std::vector<std::uint8_t> encode(const DnsQuery& q) const;
};

// Header (12 bytes) + question of `q`, as a server would start its reply;
// for tests that hand-craft malformed answers.
std::vector<std::uint8_t> reply_prefix(const DnsQuery& q, std::uint16_t ancount);
// A name in uncompressed wire form.
std::vector<std::uint8_t> wire_name(const std::string& name);

class FakeDnsServer {
 public:
  using Handler = std::function<Reply(const DnsQuery&)>;

  // Binds and starts serving at once.  The handler runs on the server
  // thread; it must be thread-safe with respect to the test.
  explicit FakeDnsServer(Handler handler);
  ~FakeDnsServer();
  FakeDnsServer(const FakeDnsServer&) = delete;
  FakeDnsServer& operator=(const FakeDnsServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Closes every socket and joins the thread; later queries hit a closed
  // port.  Idempotent.
  void stop();

  int udp_queries() const { return udp_queries_.load(); }
  int tcp_queries() const { return tcp_queries_.load(); }
  int queries() const { return udp_queries() + tcp_queries(); }
  std::vector<DnsQuery> received() const;

 private:
  void serve();
  void answer(Transport t, const std::vector<std::uint8_t>& query, std::vector<std::uint8_t>& out,
              bool& send);

  Handler handler_;
  int udp_fd_ = -1;
  int tcp_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<int> udp_queries_{0};
  std::atomic<int> tcp_queries_{0};
  mutable std::mutex mu_;
  std::vector<DnsQuery> received_;
};

}  // namespace onionmx::testing
