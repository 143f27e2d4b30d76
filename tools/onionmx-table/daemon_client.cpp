// daemon_client.cpp - see daemon_client.hpp.
#include "daemon_client.hpp"

#include <event2/buffer.h>
#include <event2/util.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <utility>
#include <vector>

#include "log.hpp"
#include "proto/socketmap.hpp"

namespace onionmx_table {
namespace proto = onionmx::proto;

namespace {

void read_cb(bufferevent* /*bev*/, void* arg) { static_cast<DaemonClient*>(arg)->on_read(); }
void event_cb(bufferevent* /*bev*/, short what, void* arg) {
  static_cast<DaemonClient*>(arg)->on_event(what);
}
void timer_cb(evutil_socket_t /*fd*/, short /*what*/, void* arg) {
  static_cast<DaemonClient*>(arg)->on_timer();
}
void kick_cb(evutil_socket_t /*fd*/, short /*what*/, void* arg) {
  static_cast<DaemonClient*>(arg)->on_kick();
}

timeval as_timeval(unsigned ms) {
  return {static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

// The socket address to connect to; "" or why not.  A host name is
// resolved here with getaddrinfo(3), blocking (it is for names like
// localhost from /etc/hosts; docs/onionmx-table.md), and its first address
// in the system's order (RFC 6724, gai.conf(5)) is used.
std::string address_of(const proto::ListenSpec& w, sockaddr_storage& ss, socklen_t& len) {
  std::memset(&ss, 0, sizeof ss);
  if (w.kind == proto::ListenSpec::Kind::Unix) {
    auto* un = reinterpret_cast<sockaddr_un*>(&ss);
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, w.path.data(), w.path.size());  // <= kMaxUnixPath, listen_spec
    len = sizeof(sockaddr_un);
    return {};
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (w.host_kind != proto::ListenSpec::Host::Name) hints.ai_flags = AI_NUMERICHOST;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(w.port);
  if (const int rc = getaddrinfo(w.host.c_str(), port.c_str(), &hints, &res); rc != 0 || !res)
    return "cannot resolve " + w.host + ": " + gai_strerror(rc);
  std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
  len = res->ai_addrlen;
  freeaddrinfo(res);
  return {};
}

}  // namespace

DaemonClient::DaemonClient(event_base* base, proto::ListenSpec where, std::string map,
                           unsigned timeout_ms)
    : base_(base),
      where_(std::move(where)),
      map_(std::move(map)),
      timeout_ms_(timeout_ms),
      frames_(proto::kSocketmapMaxReply) {
  timer_ = evtimer_new(base_, timer_cb, this);
  kick_ = event_new(base_, -1, 0, kick_cb, this);
}

DaemonClient::~DaemonClient() {
  drop_connection();
  if (timer_) event_free(timer_);
  if (kick_) event_free(kick_);
}

std::uint64_t DaemonClient::ask(const std::string& key, Done done) {
  const std::uint64_t id = next_id_++;
  queue_.push_back({id, key, std::move(done), false});
  if (queue_.size() == 1 && !completing_) send_front();
  return id;
}

void DaemonClient::cancel(std::uint64_t id) {
  for (auto& p : queue_)
    if (p.id == id) p.done = nullptr;
}

void DaemonClient::send_front() {
  if (queue_.empty()) return;
  const timeval tv = as_timeval(timeout_ms_);
  if (!timer_ || !kick_ || evtimer_add(timer_, &tv) != 0) {
    fail_front("cannot arm the request timer");
    return;
  }
  transmit();
}

void DaemonClient::transmit() {
  if (!conn_) {
    if (std::string err = connect(); !err.empty()) {
      // Not inside ask(): the caller's slot may not be set up yet.
      deferred_ = err;
      event_active(kick_, 0, 0);
      return;
    }
  }
  const std::string wire = proto::encode_socketmap_request(map_, queue_.front().key);
  bufferevent_write(conn_, wire.data(), wire.size());
}

std::string DaemonClient::connect() {
  conn_ = bufferevent_socket_new(base_, -1, BEV_OPT_CLOSE_ON_FREE);
  if (!conn_) return "cannot create a socket for onionmxd";
  bufferevent_setcb(conn_, read_cb, nullptr, event_cb, this);
  (void)bufferevent_enable(conn_, EV_READ | EV_WRITE);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (std::string err = address_of(where_, ss, len); !err.empty()) {
    drop_connection();
    return "cannot connect to onionmxd at " + proto::to_string(where_) + ": " + err;
  }
  if (bufferevent_socket_connect(conn_, reinterpret_cast<sockaddr*>(&ss), static_cast<int>(len)) !=
      0) {
    const std::string why = evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR());
    drop_connection();
    return "cannot connect to onionmxd at " + proto::to_string(where_) + ": " + why;
  }
  return {};
}

void DaemonClient::on_read() {
  evbuffer* in = bufferevent_get_input(conn_);
  std::vector<std::string> payloads;
  const std::size_t n = evbuffer_get_length(in);
  const auto* p = reinterpret_cast<const char*>(evbuffer_pullup(in, static_cast<ev_ssize_t>(n)));
  auto err = frames_.feed(std::string_view(p, n), payloads);
  evbuffer_drain(in, n);
  // One request is in flight, so one reply at most: the next request is
  // written only after this one is answered.
  if (queue_.empty()) {
    log(Level::Warning, "onionmxd sent bytes nobody asked for; reconnecting at the next request");
    drop_connection();
    return;
  }
  if (payloads.size() > 1) {
    drop_connection();
    fail_front("onionmxd sent more than one reply to one request");
    return;
  }
  if (payloads.empty()) {
    if (err) {
      drop_connection();
      fail_front("onionmxd: malformed reply: " + err->reason);
    }
    return;
  }
  proto::Reply r;
  if (auto bad = proto::parse_socketmap_reply(payloads.front(), r)) {
    drop_connection();
    fail_front("onionmxd: " + bad->reason);
    return;
  }
  if (err) drop_connection();  // the reply is good, the bytes after it are not
  if (r.outcome == onionmx::base::Outcome::Temp || r.outcome == onionmx::base::Outcome::Perm) {
    r.text = "onionmxd: " + r.text;
    log(Level::Warning, r.text);
  }
  complete_front(r);
}

void DaemonClient::on_event(short what) {
  if (what & BEV_EVENT_CONNECTED) return;
  std::string why = "onionmxd at " + proto::to_string(where_) + " closed the connection";
  if (what & BEV_EVENT_ERROR)
    why = "connection to onionmxd at " + proto::to_string(where_) + ": " +
          evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR());
  failure(why);
}

void DaemonClient::on_kick() {
  std::string why;
  why.swap(deferred_);
  failure(why);
}

void DaemonClient::on_timer() {
  drop_connection();  // a late reply must not answer the next request
  fail_front("onionmxd did not answer within " + std::to_string(timeout_ms_) + " ms");
}

void DaemonClient::failure(const std::string& why) {
  drop_connection();
  if (queue_.empty()) return;
  Pending& front = queue_.front();
  if (front.retried) {
    fail_front(why);
    return;
  }
  // onionmxd closes idle connections (--idle-timeout) and may have been
  // restarted: one new connection per request before giving up.
  log(Level::Debug, why + "; reconnecting");
  front.retried = true;
  transmit();  // within the same deadline
}

void DaemonClient::complete_front(const proto::Reply& r) {
  evtimer_del(timer_);
  event_del(kick_);
  deferred_.clear();
  Done done = std::move(queue_.front().done);
  queue_.pop_front();
  completing_ = true;
  if (done) done(r);
  completing_ = false;
  send_front();
}

void DaemonClient::fail_front(const std::string& reason) {
  log(Level::Warning, reason);
  complete_front(proto::temp_reply(reason));
}

void DaemonClient::drop_connection() {
  if (conn_) bufferevent_free(conn_);
  conn_ = nullptr;
  frames_ = proto::NetstringDecoder(proto::kSocketmapMaxReply);
}

}  // namespace onionmx_table
