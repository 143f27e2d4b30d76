#include "dns/cares_client.hpp"

#include <ares.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "address/onion_address.hpp"
#include "base/strings.hpp"
#include "crypto/crypto.hpp"
#include "dns/message.hpp"
#include "dns/srv_answer.hpp"

namespace onionmx::dns {

// One ares channel with the event-loop state that drives it.
struct CaresClient::Channel {
  CaresClient* owner = nullptr;
  ares_channel ch = nullptr;
  std::unique_ptr<event::Timer> timer;  // ares_timeout() of this channel
  std::map<int, std::unique_ptr<event::IoWatch>> watches;
  std::size_t outstanding = 0;  // ares_send calls whose callback has not run yet
  // Runs the callbacks of what is still outstanding (ARES_EDESTRUCTION) and
  // reports its sockets closed (sock-state callback) while still whole.
  ~Channel() {
    if (ch) ares_destroy(ch);
  }
};

// The ares callback's argument: which source, channel and request.  Owned by
// c-ares between ares_send and the callback, which always runs exactly once
// (with ARES_EDESTRUCTION at the latest).
struct CaresClient::Token {
  CaresClient* self;
  Channel* channel;  // the channel the query went to
  std::uint64_t serial;
};

struct CaresClient::Request {
  std::uint64_t serial = 0;
  source::Query query;
  source::FetchCallback done;
  std::string qname;  // current owner name (changes when a CNAME is followed)
  int hops = 0;
  std::uint16_t id = 0;
  std::uint32_t ttl_cap = UINT32_MAX;  // CNAME TTLs along the chain
  bool authenticated = true;           // AND over every answer of the chain
  bool started = false;
  std::vector<std::string> explain;
  // Not SRV: a policy or guard query (source::RrLookup), answered through
  // rr_done instead of done.
  std::uint16_t qtype = kTypeSrv;
  bool trust_ad = false;  // read AD whatever dns.dnssec says (guard queries)
  source::RrCallback rr_done;
};

namespace {

std::string ares_failure(int status, int timeouts, const std::string& servers) {
  switch (status) {
    case ARES_ETIMEOUT:
      return "DNS timeout: no answer from " + servers + " (" + std::to_string(timeouts) +
             " timeouts)";
    case ARES_ECONNREFUSED:
      return "DNS server unreachable: " + servers + " (connection refused)";
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
      return kShutdownReason;
    default:
      return std::string("DNS error: ") + ares_strerror(status);
  }
}

constexpr std::uint16_t kUdpPayloadSize = 1232;  // DNS flag day 2020

std::string type_name(std::uint16_t t) {
  switch (t) {
    case kTypeSrv:
      return "SRV";
    case kTypeTxt:
      return "TXT";
    case kTypeMx:
      return "MX";
    case kTypeTlsa:
      return "TLSA";
    default:
      return "TYPE" + std::to_string(t);
  }
}

std::string join(const std::vector<std::string>& v) {
  if (v.empty()) return "the system resolvers";
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

CaresClient::CaresClient(event::Loop& loop, DnsConfig cfg, base::LogSink log,
                         const base::Clock& clock)
    : loop_(loop), cfg_(std::move(cfg)), log_(std::move(log)), clock_(clock) {}

base::Result<std::unique_ptr<CaresClient>> CaresClient::create(event::Loop& loop, DnsConfig cfg,
                                                               base::LogSink log,
                                                               const base::Clock& clock,
                                                               DnsStats* stats) {
  static std::once_flag once;
  static int init_status = ARES_SUCCESS;
  std::call_once(once, [] { init_status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (init_status != ARES_SUCCESS)
    return base::fail(base::Status::Internal,
                      std::string("ares_library_init: ") + ares_strerror(init_status));

  std::unique_ptr<CaresClient> self(new CaresClient(loop, std::move(cfg), std::move(log), clock));
  if (stats) self->stats_ = stats;
  self->deadline_timer_ =
      std::make_unique<event::Timer>(loop, [s = self.get()] { s->on_deadline(); });
  self->reaper_ = std::make_unique<event::Timer>(loop, [s = self.get()] { s->reap(); });
  auto ch = self->make_channel();
  if (!ch) return base::fail(ch.error());
  self->channel_ = std::move(*ch);
  return self;
}

// A channel with the configured settings; called again, with the same
// settings, to replace one that lost EDNS.
base::Result<std::unique_ptr<CaresClient::Channel>> CaresClient::make_channel() {
  auto channel = std::make_unique<Channel>();
  channel->timer = std::make_unique<event::Timer>(loop_, [this, c = channel.get()] {
    clear_retired();
    ares_process_fd(c->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    arm_timer(*c);
  });

  const auto& c = cfg_;
  // c-ares doubles the per-try timeout on each round: t + 2t + 4t ... so
  // the per-try value is derived from the lookup's total budget.
  const long rounds = (1L << std::clamp(c.tries, 1, 10)) - 1;
  ares_options o{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  // The sock-state callback is per channel: each channel's sockets are
  // watched, and processed, on their own channel.
  channel->owner = this;
  o.sock_state_cb = [](void* data, ares_socket_t fd, int r, int w) {
    auto* ch = static_cast<Channel*>(data);
    ch->owner->on_sock_state(*ch, static_cast<int>(fd), r != 0, w != 0);
  };
  o.sock_state_cb_data = channel.get();
  // ARES_FLAG_EDNS + ednspsz: without them c-ares 1.18 reads at most 512
  // bytes over UDP and retries every larger answer over TCP, although our
  // queries offer 1232.  (Our queries carry their own OPT RR.)
  o.flags =
      ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH | ARES_FLAG_EDNS | (c.tcp ? ARES_FLAG_USEVC : 0);
  o.ednspsz = kUdpPayloadSize;
  mask |= ARES_OPT_EDNSPSZ;
  o.timeout = static_cast<int>(std::max<long>(50, static_cast<long>(c.timeout.count()) / rounds));
  o.tries = std::clamp(c.tries, 1, 10);
#ifdef ARES_OPT_QUERY_CACHE
  // onionmx caches and computes TTLs itself (c-ares >= 1.31 caches by default).
  o.qcache_max_ttl = 0;
  mask |= ARES_OPT_QUERY_CACHE;
#endif
  int rc = ares_init_options(&channel->ch, &o, mask);
  if (rc != ARES_SUCCESS)
    return base::fail(base::Status::Internal,
                      std::string("ares_init_options: ") + ares_strerror(rc));
  if (!c.servers.empty()) {
    std::string csv = join(c.servers);
    rc = ares_set_servers_ports_csv(channel->ch, csv.c_str());
    if (rc != ARES_SUCCESS)
      return base::fail(base::Status::Inval,
                        "invalid DNS server list \"" + csv + "\": " + ares_strerror(rc));
  }
  return channel;
}

CaresClient::~CaresClient() {
  shutting_down_ = true;
  // Queued lookups never reached c-ares: answer them here.  In-flight ones
  // are answered by ares_destroy (ARES_EDESTRUCTION) through on_answer.
  while (!queue_.empty()) {
    auto serial = queue_.front();
    queue_.pop_front();
    fail_temp(serial, kShutdownReason);
  }
  channel_.reset();
  draining_.clear();
  // Lookups whose deadline fired are already gone; any left (none expected)
  // are failed so that no caller waits forever.
  while (!requests_.empty()) fail_temp(requests_.begin()->first, kShutdownReason);
  clear_retired();
}

void CaresClient::log(base::LogLevel level, const std::string& msg) const {
  if (log_) log_(level, msg);
}

void CaresClient::fetch(const source::Query& q, source::FetchCallback done) {
  if (shutting_down_) {
    record::RecordSet set;
    set.status = base::Status::Temp;
    set.reason = kShutdownReason;
    done(std::move(set));
    return;
  }
  auto req = std::make_unique<Request>();
  req->serial = next_serial_++;
  req->query = q;
  req->done = std::move(done);
  req->qname = cfg_.srv_prefix + "." + q.domain;
  enqueue(std::move(req));
}

void CaresClient::query(const source::RrQuery& q, source::RrCallback done) {
  if (shutting_down_) {
    source::RrSet set;
    set.status = base::Status::Temp;
    set.reason = kShutdownReason;
    done(std::move(set));
    return;
  }
  auto req = std::make_unique<Request>();
  req->serial = next_serial_++;
  req->query.key = q.name;
  req->query.domain = q.name;
  req->query.explain = q.explain;
  req->qname = q.name;
  req->qtype = static_cast<std::uint16_t>(q.type);
  req->trust_ad = q.trust_ad;
  req->rr_done = std::move(done);
  enqueue(std::move(req));
}

void CaresClient::enqueue(std::unique_ptr<Request> req) {
  const auto serial = req->serial;
  requests_.emplace(serial, std::move(req));
  // The budget covers time spent waiting for an in-flight slot too.
  if (deadlines_.empty()) deadline_timer_->arm(cfg_.timeout);
  deadlines_.emplace_back(clock_.monotonic() + cfg_.timeout, serial);
  if (requests_.size() - queue_.size() > cfg_.max_in_flight) {
    queue_.push_back(serial);
    return;
  }
  start(serial);
}

void CaresClient::start(std::uint64_t serial) {
  auto it = requests_.find(serial);
  if (it == requests_.end()) return;
  Request& r = *it->second;
  r.started = true;
  send_query(r);
}

void CaresClient::on_deadline() {
  clear_retired();
  const auto now = clock_.monotonic();
  while (!deadlines_.empty() && deadlines_.front().first <= now) {
    const auto serial = deadlines_.front().second;
    deadlines_.pop_front();
    // Completed lookups are skipped here rather than searched for on
    // completion: the queue stays O(1) per lookup.
    if (auto it = requests_.find(serial); it != requests_.end()) {
      if (it->second->qtype == kTypeSrv) ++stats_->timeouts;
      fail_temp(serial, "DNS timeout: no usable answer within " +
                            std::to_string(cfg_.timeout.count()) + " ms");
    }
  }
  if (!deadlines_.empty())
    deadline_timer_->arm(
        std::chrono::duration_cast<std::chrono::microseconds>(deadlines_.front().first - now));
}

std::uint16_t CaresClient::next_id() {
  // Query IDs must be unpredictable (RFC 5452); one getrandom per 256 IDs.
  if (id_pool_used_ + 2 > id_pool_.size()) {
    crypto::random_bytes(id_pool_);
    id_pool_used_ = 0;
  }
  auto id =
      static_cast<std::uint16_t>((id_pool_[id_pool_used_] << 8) | id_pool_[id_pool_used_ + 1]);
  id_pool_used_ += 2;
  return id;
}

void CaresClient::send_query(Request& r) {
  QueryOptions qo;
  qo.udp_payload_size = kUdpPayloadSize;
  qo.dnssec_ok = cfg_.dnssec != Dnssec::Off;
  // RFC 6840 §5.7: AD=1 asks a validating resolver to report validation.
  qo.authentic_data = cfg_.dnssec != Dnssec::Off || r.trust_ad;
  r.id = next_id();
  auto q = build_query(r.id, r.qname, r.qtype, qo);
  if (!q && r.qtype != kTypeSrv) {
    source::RrSet set;
    set.status = base::Status::NotFound;
    set.owner = r.qname;
    set.ttl = cfg_.max_negative_ttl;
    set.reason = "no lookup possible for " + base::printable(r.qname) + ": " + q.error().detail;
    finish_rr(r.serial, std::move(set));
    return;
  }
  if (!q) {
    // The owner name cannot exist in DNS (too long, empty label): nothing
    // can be published there, so this is an answer, not a failure.
    record::RecordSet set;
    set.status = base::Status::NotFound;
    set.owner = r.qname;
    set.ttl = cfg_.max_negative_ttl;
    set.reason = "no SRV lookup possible for " + base::printable(r.qname) + ": " + q.error().detail;
    finish(r.serial, std::move(set));
    return;
  }
  if (r.query.explain)
    r.explain.push_back("dns: query " + r.qname + " IN " + type_name(r.qtype) + " (dnssec=" +
                        std::string(dnssec_name(cfg_.dnssec)) + (cfg_.tcp ? ", tcp" : "") + ")");
  // The callback may replace channel_ (and it may run before ares_send
  // returns); `ch` stays alive until it has drained, reap() runs later.
  Channel& ch = *channel_;
  auto token = std::make_unique<Token>(Token{this, &ch, r.serial});
  ++ch.outstanding;
  ++(r.qtype == kTypeSrv ? stats_->queries : stats_->trust_queries);
  // 1.18.1 ares_send keeps the caller's ID (docs/dns-discovery.md); the callback may
  // run before ares_send returns, so `r` must not be touched afterwards.
  ares_send(
      ch.ch, q->data(), static_cast<int>(q->size()),
      [](void* arg, int status, int timeouts, unsigned char* abuf, int alen) {
        std::unique_ptr<Token> t(static_cast<Token*>(arg));
        Channel& c = *t->channel;
        if (--c.outstanding == 0 && &c != t->self->channel_.get() && !t->self->shutting_down_)
          t->self->reaper_->arm(std::chrono::microseconds(0));
        t->self->on_answer(c, t->serial, status, timeouts, abuf, alen);
      },
      token.release());
  arm_timer(ch);
}

void CaresClient::on_answer(Channel& ch, std::uint64_t serial, int status, int timeouts,
                            const unsigned char* abuf, int alen) {
  const bool answered = status == ARES_SUCCESS && abuf != nullptr && alen > 0;
  base::Result<Message> msg = base::fail(base::Status::Temp, "no answer");
  if (answered)
    msg = parse_message(std::span<const std::uint8_t>(abuf, static_cast<std::size_t>(alen)));
  // c-ares clears ARES_FLAG_EDNS only on a FORMERR without OPT, and then
  // resends that query without its OPT RR; the outcome of that resend has
  // no OPT RR (RFC 6891 §7) or is no answer at all.  Only then is the
  // channel's flag looked at, so answers with OPT cost nothing extra.
  if (!msg || std::none_of(msg->additional.begin(), msg->additional.end(),
                           [](const ResourceRecord& rr) { return rr.type == kTypeOpt; }))
    check_edns(ch);

  auto it = requests_.find(serial);
  if (it == requests_.end()) return;  // deadline already answered it
  Request& r = *it->second;
  if (!answered) {
    if (status == ARES_ETIMEOUT && r.qtype == kTypeSrv) ++stats_->timeouts;
    fail_temp(serial, ares_failure(status == ARES_SUCCESS ? ARES_EBADRESP : status, timeouts,
                                   join(cfg_.servers)));
    return;
  }
  if (!msg) return fail_temp(serial, "malformed DNS answer: " + msg.error().detail);
  if (msg->id != r.id) return fail_temp(serial, "mismatched DNS answer: wrong ID");
  if (r.qtype != kTypeSrv) return on_rr_answer(r, *msg);
  SrvAnswer ans = interpret_srv_answer(*msg, r.qname);
  if (r.query.explain)
    for (auto& n : ans.notes) r.explain.push_back("dns: " + n);
  // One CNAME budget for the whole chain: hops inside answers plus re-queries.
  r.hops += static_cast<int>(ans.notes.size());
  if (r.hops > kMaxCnameHops)
    return fail_temp(serial, "CNAME chain longer than " + std::to_string(kMaxCnameHops) + " hops");
  r.authenticated = r.authenticated && ans.authenticated && cfg_.dnssec != Dnssec::Off;

  switch (ans.kind) {
    case SrvAnswer::Kind::Failure:
      return fail_temp(serial, ans.reason);
    case SrvAnswer::Kind::FollowCname:
      r.ttl_cap = std::min(r.ttl_cap, ans.ttl);
      if (address::is_onion_name(ans.final_name))
        return fail_temp(serial, "CNAME points into .onion; not sent to DNS (RFC 7686)");
      r.qname = ans.final_name;
      return send_query(r);
    case SrvAnswer::Kind::NoRecords:
      return on_no_records(r, ans);
    case SrvAnswer::Kind::Records:
      return on_records(r, ans);
  }
}

void CaresClient::on_rr_answer(Request& r, const Message& msg) {
  RrAnswer ans = interpret_rr_answer(msg, r.qname, r.qtype);
  if (r.query.explain)
    for (auto& n : ans.notes) r.explain.push_back("dns: " + n);
  r.hops += static_cast<int>(ans.notes.size());
  if (r.hops > kMaxCnameHops)
    return fail_temp(r.serial,
                     "CNAME chain longer than " + std::to_string(kMaxCnameHops) + " hops");
  r.authenticated =
      r.authenticated && ans.authenticated && (cfg_.dnssec != Dnssec::Off || r.trust_ad);
  source::RrSet set;
  switch (ans.kind) {
    case RrAnswer::Kind::Failure:
      return fail_temp(r.serial, ans.reason);
    case RrAnswer::Kind::FollowCname:
      r.ttl_cap = std::min(r.ttl_cap, ans.ttl);
      if (address::is_onion_name(ans.final_name))
        return fail_temp(r.serial, "CNAME points into .onion; not sent to DNS (RFC 7686)");
      r.qname = ans.final_name;
      return send_query(r);
    case RrAnswer::Kind::NoRecords:
      set.status = base::Status::NotFound;
      set.ttl = std::min({ans.ttl, r.ttl_cap, cfg_.max_negative_ttl});
      set.reason = ans.reason;
      break;
    case RrAnswer::Kind::Records:
      set.status = base::Status::Ok;
      set.ttl = std::min({ans.ttl, r.ttl_cap, cfg_.max_ttl});
      set.data = std::move(ans.data);
      break;
  }
  set.authenticated = r.authenticated;
  set.owner = r.qname;
  if (r.query.explain)
    r.explain.push_back(
        "dns: " + r.qname + " " + type_name(r.qtype) + ": " +
        (set.status == base::Status::Ok ? std::to_string(set.data.size()) + " record(s)"
                                        : set.reason) +
        ", TTL " + std::to_string(set.ttl) + ", AD=" + (r.authenticated ? "1" : "0"));
  finish_rr(r.serial, std::move(set));
}

void CaresClient::finish_rr(std::uint64_t serial, source::RrSet set) {
  if (auto r = retire(serial, set.status, set.reason, set.explain)) r->rr_done(std::move(set));
}

void CaresClient::on_no_records(Request& r, const SrvAnswer& ans) {
  record::RecordSet set;
  set.status = base::Status::NotFound;
  set.ttl = std::min({ans.ttl, r.ttl_cap, cfg_.max_negative_ttl});
  set.authenticated = r.authenticated;
  set.owner = r.qname;
  set.reason = ans.reason;
  if (r.query.explain)
    r.explain.push_back("dns: " + ans.reason + ", negative TTL " + std::to_string(set.ttl) +
                        (r.authenticated ? " (authenticated)" : ""));
  finish(r.serial, std::move(set));
}

void CaresClient::on_records(Request& r, SrvAnswer& ans) {
  const std::uint32_t ttl = std::min({ans.ttl, r.ttl_cap, cfg_.max_ttl});
  if (r.query.explain)
    r.explain.push_back("dns: " + std::to_string(ans.records.size()) + " SRV record(s), TTL " +
                        std::to_string(ttl) + ", AD=" + (ans.authenticated ? "1" : "0"));
  TargetCheck checked = check_targets(std::move(ans.records));
  if (r.query.explain)
    for (auto& n : checked.notes) r.explain.push_back("dns: " + n);
  for (const auto& n : checked.notes)
    if (n.find(": dropped,") != std::string::npos)
      log(base::LogLevel::Info, "domain " + r.query.domain + ": " + n);

  record::RecordSet set;
  set.ttl = ttl;
  set.authenticated = r.authenticated;
  set.owner = r.qname;
  if (checked.kind != TargetCheck::Kind::Routes) {
    set.status = base::Status::NotFound;
    set.ttl = std::min(ttl, cfg_.max_negative_ttl);
    set.reason = std::move(checked.reason);
    return finish(r.serial, std::move(set));
  }
  if (cfg_.dnssec == Dnssec::Require && !r.authenticated) {
    // A route we cannot authenticate is not used; nor is its absence
    // assumed: the domain does publish an onion, so defer.
    return fail_temp(r.serial,
                     "SRV answer for " + r.qname +
                         " is not DNSSEC-authenticated (AD bit clear) and dnssec=require");
  }
  set.status = base::Status::Ok;
  set.records = std::move(checked.records);
  finish(r.serial, std::move(set));
}

void CaresClient::fail_temp(std::uint64_t serial, std::string reason) {
  auto it = requests_.find(serial);
  if (it == requests_.end()) return;
  if (it->second->qtype != kTypeSrv) {
    source::RrSet set;
    set.status = base::Status::Temp;
    set.owner = it->second->qname;
    set.reason = std::move(reason);
    if (!shutting_down_) ++stats_->trust_failures;
    return finish_rr(serial, std::move(set));
  }
  record::RecordSet set;
  set.status = base::Status::Temp;
  set.owner = it->second->qname;
  set.reason = std::move(reason);
  // The answer carries the reason to the MTA; the log is for trends.
  // Lookups cut short by our own shutdown are not DNS failures.
  if (!shutting_down_) ++stats_->failures;
  if (!shutting_down_)
    log(base::LogLevel::Info, "domain " + it->second->query.domain + ": " + set.reason);
  finish(serial, std::move(set));
}

void CaresClient::finish(std::uint64_t serial, record::RecordSet set) {
  set.received = clock_.monotonic();
  if (auto r = retire(serial, set.status, set.reason, set.explain)) r->done(std::move(set));
}

// Takes a request out, hands its explain lines to the answer and frees its
// in-flight slot before the callback, which may start more lookups.
std::unique_ptr<CaresClient::Request> CaresClient::retire(std::uint64_t serial, base::Status status,
                                                          const std::string& reason,
                                                          std::vector<std::string>& explain) {
  auto it = requests_.find(serial);
  if (it == requests_.end()) return nullptr;
  std::unique_ptr<Request> r = std::move(it->second);
  requests_.erase(it);
  if (!r->started) queue_.erase(std::remove(queue_.begin(), queue_.end(), serial), queue_.end());
  if (r->query.explain) {
    if (status == base::Status::Temp) r->explain.push_back("dns: temporary failure: " + reason);
    explain = std::move(r->explain);
  }
  while (!queue_.empty() && requests_.size() - queue_.size() < cfg_.max_in_flight) {
    auto next = queue_.front();
    queue_.pop_front();
    start(next);
  }
  return r;
}

// c-ares 1.18 turns EDNS off for the channel's whole life after one
// FORMERR without OPT (ares_process.c, process_answer), so every later UDP
// answer over 512 bytes is fetched again over TCP.  Its only getter for the
// flags is ares_save_options.  A fresh channel with the same settings takes
// the new queries; the old one finishes what it has in flight.
void CaresClient::check_edns(Channel& ch) {
  if (&ch != channel_.get() || shutting_down_) return;
  ares_options o{};
  int mask = 0;
  if (ares_save_options(ch.ch, &o, &mask) != ARES_SUCCESS) return;
  const bool edns = (o.flags & ARES_FLAG_EDNS) != 0;
  ares_destroy_options(&o);
  if (edns) return;
  auto fresh = make_channel();
  if (!fresh) {
    // Still usable: large answers come over TCP.  Tried again at the next check.
    log(base::LogLevel::Warning,
        "c-ares disabled EDNS after a FORMERR without OPT; no new DNS channel: " +
            fresh.error().detail);
    return;
  }
  log(base::LogLevel::Info,
      "c-ares disabled EDNS after a FORMERR without OPT; later lookups use a new DNS channel");
  draining_.push_back(std::move(channel_));
  channel_ = std::move(*fresh);
  // Freed from the loop: this may run inside the old channel's callback.
  reaper_->arm(std::chrono::microseconds(0));
}

void CaresClient::reap() {
  clear_retired();
  std::erase_if(draining_, [](const std::unique_ptr<Channel>& c) { return c->outstanding == 0; });
}

void CaresClient::on_sock_state(Channel& ch, int fd, bool readable, bool writable) {
  if (auto it = ch.watches.find(fd); it != ch.watches.end()) {
    it->second->stop();
    retired_.push_back(std::move(it->second));
    ch.watches.erase(it);
  }
  if (readable || writable) {
    ch.watches[fd] = std::make_unique<event::IoWatch>(
        loop_, fd, readable, writable,
        [this, c = &ch, fd](bool r, bool w) { on_io(*c, fd, r, w); });
  }
}

void CaresClient::clear_retired() { retired_.clear(); }

void CaresClient::on_io(Channel& ch, int fd, bool readable, bool writable) {
  clear_retired();
  ares_process_fd(ch.ch, readable ? fd : ARES_SOCKET_BAD, writable ? fd : ARES_SOCKET_BAD);
  arm_timer(ch);
}

void CaresClient::arm_timer(Channel& ch) {
  if (!ch.ch) return;
  timeval tv{};
  timeval* tvp = ares_timeout(ch.ch, nullptr, &tv);
  if (tvp)
    ch.timer->arm(std::chrono::seconds(tvp->tv_sec) + std::chrono::microseconds(tvp->tv_usec));
  else
    ch.timer->disarm();
}

}  // namespace onionmx::dns
