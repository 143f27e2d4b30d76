#include "dns/cares_source.hpp"

#include <algorithm>
#include <mutex>

#include <ares.h>

#include "address/onion_address.hpp"
#include "base/strings.hpp"
#include "crypto/crypto.hpp"
#include "dns/message.hpp"
#include "dns/srv_answer.hpp"

namespace onionmx::dns {

const char* dnssec_name(Dnssec d) noexcept {
  switch (d) {
    case Dnssec::Off: return "off";
    case Dnssec::Prefer: return "prefer";
    case Dnssec::Require: return "require";
  }
  return "off";
}

struct CaresSource::Channel {
  ares_channel ch = nullptr;
  ~Channel() {
    if (ch) ares_destroy(ch);
  }
};

struct CaresSource::Request {
  std::uint64_t serial = 0;
  source::Query query;
  source::StepCallback done;
  std::string qname;  // current owner name (changes when a CNAME is followed)
  int hops = 0;
  std::uint16_t id = 0;
  std::uint32_t ttl_cap = UINT32_MAX;  // CNAME TTLs along the chain
  bool authenticated = true;           // AND over every answer of the chain
  bool started = false;
  std::vector<std::string> explain;
};

namespace {

// The ares callback's argument: which source and which request.  Owned by
// c-ares between ares_send and the callback, which always runs exactly once
// (with ARES_EDESTRUCTION at the latest).
struct Token {
  CaresSource* self;
  std::uint64_t serial;
};

std::string ares_failure(int status, int timeouts, const std::string& servers) {
  switch (status) {
    case ARES_ETIMEOUT:
      return "DNS timeout: no answer from " + servers + " (" + std::to_string(timeouts) +
             " timeouts)";
    case ARES_ECONNREFUSED: return "DNS server unreachable: " + servers + " (connection refused)";
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION: return "DNS lookup cancelled (shutting down)";
    default: return std::string("DNS error: ") + ares_strerror(status);
  }
}

constexpr std::uint16_t kUdpPayloadSize = 1232;  // DNS flag day 2020

std::string join(const std::vector<std::string>& v) {
  if (v.empty()) return "the system resolvers";
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

CaresSource::CaresSource(event::Loop& loop, DnsConfig cfg, base::LogSink log)
    : loop_(loop), cfg_(std::move(cfg)), log_(std::move(log)) {
  rng_ = [](std::uint32_t n) { return crypto::random_uniform_inclusive(n); };
}

base::Result<std::unique_ptr<CaresSource>> CaresSource::create(event::Loop& loop, DnsConfig cfg,
                                                         base::LogSink log) {
  static std::once_flag once;
  static int init_status = ARES_SUCCESS;
  std::call_once(once, [] { init_status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (init_status != ARES_SUCCESS)
    return base::fail(base::Status::Internal, std::string("ares_library_init: ") + ares_strerror(init_status));

  std::unique_ptr<CaresSource> self(new CaresSource(loop, std::move(cfg), std::move(log)));
  self->channel_ = std::make_unique<Channel>();
  self->ares_timer_ = std::make_unique<event::Timer>(loop, [s = self.get()] {
    s->clear_retired();
    ares_process_fd(s->channel_->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    s->arm_timer();
  });
  self->deadline_timer_ = std::make_unique<event::Timer>(loop, [s = self.get()] { s->on_deadline(); });

  const auto& c = self->cfg_;
  // c-ares doubles the per-try timeout on each round: t + 2t + 4t ... so
  // the per-try value is derived from the lookup's total budget.
  const long rounds = (1L << std::clamp(c.tries, 1, 10)) - 1;
  ares_options o{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  o.sock_state_cb = [](void* data, ares_socket_t fd, int r, int w) {
    static_cast<CaresSource*>(data)->on_sock_state(static_cast<int>(fd), r != 0, w != 0);
  };
  o.sock_state_cb_data = self.get();
  // ARES_FLAG_EDNS + ednspsz: without them c-ares 1.18 reads at most 512
  // bytes over UDP and retries every larger answer over TCP, although our
  // queries offer 1232.  (Our queries carry their own OPT RR.)
  o.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH | ARES_FLAG_EDNS |
            (c.tcp ? ARES_FLAG_USEVC : 0);
  o.ednspsz = kUdpPayloadSize;
  mask |= ARES_OPT_EDNSPSZ;
  o.timeout = static_cast<int>(std::max<long>(50, static_cast<long>(c.timeout.count()) / rounds));
  o.tries = std::clamp(c.tries, 1, 10);
#ifdef ARES_OPT_QUERY_CACHE
  // onionmx caches and computes TTLs itself (c-ares >= 1.31 caches by default).
  o.qcache_max_ttl = 0;
  mask |= ARES_OPT_QUERY_CACHE;
#endif
  int rc = ares_init_options(&self->channel_->ch, &o, mask);
  if (rc != ARES_SUCCESS)
    return base::fail(base::Status::Internal, std::string("ares_init_options: ") + ares_strerror(rc));
  if (!c.servers.empty()) {
    std::string csv = join(c.servers);
    rc = ares_set_servers_ports_csv(self->channel_->ch, csv.c_str());
    if (rc != ARES_SUCCESS)
      return base::fail(base::Status::Inval, "invalid DNS server list \"" + csv + "\": " + ares_strerror(rc));
  }
  return self;
}

CaresSource::~CaresSource() {
  shutting_down_ = true;
  // Queued lookups never reached c-ares: answer them here.  In-flight ones
  // are answered by ares_destroy (ARES_EDESTRUCTION) through on_answer.
  while (!queue_.empty()) {
    auto serial = queue_.front();
    queue_.pop_front();
    fail_temp(serial, "DNS lookup cancelled (shutting down)");
  }
  channel_.reset();
  // Lookups whose deadline fired are already gone; any left (none expected)
  // are failed so that no caller waits forever.
  while (!requests_.empty()) fail_temp(requests_.begin()->first, "DNS lookup cancelled (shutting down)");
  watches_.clear();
  clear_retired();
}

void CaresSource::log(base::LogLevel level, const std::string& msg) const {
  if (log_) log_(level, msg);
}

void CaresSource::lookup(const source::Query& q, source::StepCallback done) {
  auto refuse = [&](base::Status status, const char* reason) {
    source::Step step;
    step.decided = true;
    step.answer.status = status;
    step.answer.source = record::Origin::Dns;
    step.answer.reason = reason;
    done(std::move(step));
  };
  if (shutting_down_) return refuse(base::Status::Temp, "DNS lookup cancelled (shutting down)");
  // RFC 7686: .onion names never go to DNS, whatever the source order.
  if (address::is_onion_name(q.domain))
    return refuse(base::Status::BadData, "onion names are never sent to DNS (RFC 7686)");
  auto req = std::make_unique<Request>();
  req->serial = next_serial_++;
  req->query = q;
  req->done = std::move(done);
  req->qname = cfg_.srv_prefix + "." + q.domain;
  const auto serial = req->serial;
  requests_.emplace(serial, std::move(req));
  // The budget covers time spent waiting for an in-flight slot too.
  if (deadlines_.empty()) deadline_timer_->arm(cfg_.timeout);
  deadlines_.emplace_back(std::chrono::steady_clock::now() + cfg_.timeout, serial);
  if (requests_.size() - queue_.size() > cfg_.max_in_flight) {
    queue_.push_back(serial);
    return;
  }
  start(serial);
}

void CaresSource::start(std::uint64_t serial) {
  auto it = requests_.find(serial);
  if (it == requests_.end()) return;
  Request& r = *it->second;
  r.started = true;
  send_query(r);
}

void CaresSource::on_deadline() {
  clear_retired();
  const auto now = std::chrono::steady_clock::now();
  while (!deadlines_.empty() && deadlines_.front().first <= now) {
    const auto serial = deadlines_.front().second;
    deadlines_.pop_front();
    // Completed lookups are skipped here rather than searched for on
    // completion: the queue stays O(1) per lookup.
    if (requests_.count(serial))
      fail_temp(serial, "DNS timeout: no usable answer within " +
                            std::to_string(cfg_.timeout.count()) + " ms");
  }
  if (!deadlines_.empty())
    deadline_timer_->arm(std::chrono::duration_cast<std::chrono::microseconds>(
        deadlines_.front().first - now));
}

std::uint16_t CaresSource::next_id() {
  // Query IDs must be unpredictable (RFC 5452); one getrandom per 256 IDs.
  if (id_pool_used_ + 2 > id_pool_.size()) {
    crypto::random_bytes(id_pool_);
    id_pool_used_ = 0;
  }
  auto id = static_cast<std::uint16_t>((id_pool_[id_pool_used_] << 8) | id_pool_[id_pool_used_ + 1]);
  id_pool_used_ += 2;
  return id;
}

void CaresSource::send_query(Request& r) {
  QueryOptions qo;
  qo.udp_payload_size = kUdpPayloadSize;
  qo.dnssec_ok = cfg_.dnssec != Dnssec::Off;
  qo.authentic_data = cfg_.dnssec != Dnssec::Off;
  r.id = next_id();
  auto q = build_query(r.id, r.qname, kTypeSrv, qo);
  if (!q) {
    // The owner name cannot exist in DNS (too long, empty label): nothing
    // can be published there, so this is an answer, not a failure.
    record::Answer a;
    a.status = base::Status::NotFound;
    a.source = record::Origin::Dns;
    a.reason = "no SRV lookup possible for " + base::printable(r.qname) + ": " + q.error().detail;
    finish(r.serial, std::move(a));
    return;
  }
  if (r.query.explain)
    r.explain.push_back("dns: query " + r.qname + " IN SRV (dnssec=" + dnssec_name(cfg_.dnssec) +
                        (cfg_.tcp ? ", tcp" : "") + ")");
  auto token = std::make_unique<Token>(Token{this, r.serial});
  // 1.18.1 ares_send keeps the caller's ID (dns.md §6.4); the callback may
  // run before ares_send returns, so `r` must not be touched afterwards.
  ares_send(channel_->ch, q->data(), static_cast<int>(q->size()),
            [](void* arg, int status, int timeouts, unsigned char* abuf, int alen) {
              std::unique_ptr<Token> t(static_cast<Token*>(arg));
              t->self->on_answer(t->serial, status, timeouts, abuf, alen);
            },
            token.release());
  arm_timer();
}

void CaresSource::on_answer(std::uint64_t serial, int status, int timeouts,
                            const unsigned char* abuf, int alen) {
  auto it = requests_.find(serial);
  if (it == requests_.end()) return;  // deadline already answered it
  Request& r = *it->second;
  if (status != ARES_SUCCESS || abuf == nullptr || alen <= 0) {
    fail_temp(serial, ares_failure(status == ARES_SUCCESS ? ARES_EBADRESP : status, timeouts,
                                   join(cfg_.servers)));
    return;
  }
  auto msg = parse_message(std::span<const std::uint8_t>(abuf, static_cast<std::size_t>(alen)));
  if (!msg) {
    fail_temp(serial, "malformed DNS answer: " + msg.error().detail);
    return;
  }
  if (msg->id != r.id) {
    fail_temp(serial, "mismatched DNS answer: wrong ID");
    return;
  }
  SrvAnswer ans = interpret_srv_answer(*msg, r.qname);
  if (r.query.explain) {
    for (auto& n : ans.notes) r.explain.push_back("dns: " + n);
  }
  // One CNAME budget for the whole chain: hops inside answers plus re-queries.
  r.hops += static_cast<int>(ans.notes.size());
  if (r.hops > kMaxCnameHops) {
    fail_temp(serial, "CNAME chain longer than " + std::to_string(kMaxCnameHops) + " hops");
    return;
  }
  r.authenticated = r.authenticated && ans.authenticated && cfg_.dnssec != Dnssec::Off;

  record::Answer a;
  a.source = record::Origin::Dns;
  switch (ans.kind) {
    case SrvAnswer::Kind::Failure:
      fail_temp(serial, ans.reason);
      return;
    case SrvAnswer::Kind::FollowCname:
      r.ttl_cap = std::min(r.ttl_cap, ans.ttl);
      if (address::is_onion_name(ans.final_name)) {
        fail_temp(serial, "CNAME points into .onion; not sent to DNS (RFC 7686)");
        return;
      }
      r.qname = ans.final_name;
      send_query(r);
      return;
    case SrvAnswer::Kind::NoRecords:
      a.status = base::Status::NotFound;
      a.ttl = std::min({ans.ttl, r.ttl_cap, cfg_.max_negative_ttl});
      a.authenticated = r.authenticated;
      a.reason = ans.reason;
      if (r.query.explain)
        r.explain.push_back("dns: " + ans.reason + ", negative TTL " + std::to_string(a.ttl) +
                            (r.authenticated ? " (authenticated)" : ""));
      finish(serial, std::move(a));
      return;
    case SrvAnswer::Kind::Records: break;
  }

  const std::uint32_t ttl = std::min({ans.ttl, r.ttl_cap, cfg_.max_ttl});
  if (r.query.explain)
    r.explain.push_back("dns: " + std::to_string(ans.records.size()) + " SRV record(s), TTL " +
                        std::to_string(ttl) + ", AD=" + (ans.authenticated ? "1" : "0"));
  RouteSelection sel = select_routes(std::move(ans.records), rng_);
  if (r.query.explain)
    for (auto& n : sel.notes) r.explain.push_back("dns: " + n);
  for (const auto& n : sel.notes)
    if (n.find(": dropped,") != std::string::npos)
      log(base::LogLevel::Info, "domain " + r.query.domain + ": " + n);

  a.ttl = ttl;
  a.authenticated = r.authenticated;
  if (sel.kind != RouteSelection::Kind::Routes) {
    a.status = base::Status::NotFound;
    a.ttl = std::min(ttl, cfg_.max_negative_ttl);
    a.reason = sel.reason;
    finish(serial, std::move(a));
    return;
  }
  if (cfg_.dnssec == Dnssec::Require && !r.authenticated) {
    // A route we cannot authenticate is not used; nor is its absence
    // assumed: the domain does publish an onion, so defer.
    fail_temp(serial, "SRV answer for " + r.qname +
                          " is not DNSSEC-authenticated (AD bit clear) and dnssec=require");
    return;
  }
  a.status = base::Status::Ok;
  a.routes = std::move(sel.routes);
  a.reason = "SRV " + r.qname;
  finish(serial, std::move(a));
}

std::string CaresSource::lookup_domain(std::uint64_t serial) const {
  auto it = requests_.find(serial);
  return it == requests_.end() ? std::string("?") : it->second->query.domain;
}

void CaresSource::fail_temp(std::uint64_t serial, std::string reason) {
  record::Answer a;
  a.status = base::Status::Temp;
  a.source = record::Origin::Dns;
  a.reason = std::move(reason);
  // The answer carries the reason to the MTA; the log is for trends.
  if (!shutting_down_) log(base::LogLevel::Info, "domain " + lookup_domain(serial) + ": " + a.reason);
  finish(serial, std::move(a));
}

void CaresSource::finish(std::uint64_t serial, record::Answer answer) {
  auto it = requests_.find(serial);
  if (it == requests_.end()) return;
  std::unique_ptr<Request> r = std::move(it->second);
  requests_.erase(it);
  if (!r->started) queue_.erase(std::remove(queue_.begin(), queue_.end(), serial), queue_.end());
  if (r->query.explain) {
    if (answer.status == base::Status::Temp) r->explain.push_back("dns: temporary failure: " + answer.reason);
    answer.explain.insert(answer.explain.begin(), r->explain.begin(), r->explain.end());
  }
  // Free a slot before the callback, which may start more lookups.
  while (!queue_.empty() && requests_.size() - queue_.size() < cfg_.max_in_flight) {
    auto next = queue_.front();
    queue_.pop_front();
    start(next);
  }
  source::Step step;
  step.decided = true;
  step.answer = std::move(answer);
  r->done(std::move(step));
}

void CaresSource::on_sock_state(int fd, bool readable, bool writable) {
  if (auto it = watches_.find(fd); it != watches_.end()) {
    it->second->stop();
    retired_.push_back(std::move(it->second));
    watches_.erase(it);
  }
  if (readable || writable) {
    watches_[fd] = std::make_unique<event::IoWatch>(
        loop_, fd, readable, writable, [this, fd](bool r, bool w) { on_io(fd, r, w); });
  }
}

void CaresSource::clear_retired() {
  retired_.clear();
}

void CaresSource::on_io(int fd, bool readable, bool writable) {
  clear_retired();
  ares_process_fd(channel_->ch, readable ? fd : ARES_SOCKET_BAD, writable ? fd : ARES_SOCKET_BAD);
  arm_timer();
}

void CaresSource::arm_timer() {
  if (!channel_ || !channel_->ch) return;
  timeval tv{};
  timeval* tvp = ares_timeout(channel_->ch, nullptr, &tv);
  if (tvp)
    ares_timer_->arm(std::chrono::seconds(tvp->tv_sec) + std::chrono::microseconds(tvp->tv_usec));
  else
    ares_timer_->disarm();
}

}  // namespace onionmx::dns
