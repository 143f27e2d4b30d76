// server.cpp - see server.hpp.
#include "server.hpp"

#include <event2/buffer.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "log.hpp"

namespace onionmxd {

namespace proto = onionmx::proto;
using Outcome = onionmx::base::Outcome;

namespace {

// Reading pauses while this many requests wait or this many reply bytes are
// unsent: a client that writes without reading cannot grow our memory.
constexpr std::size_t kMaxQueued = 64;
constexpr std::size_t kMaxUnsent = std::size_t{1} << 20;
constexpr int kBacklog = 128;

void read_cb(bufferevent* /*bev*/, void* arg) { static_cast<Connection*>(arg)->on_read(); }
void write_cb(bufferevent* /*bev*/, void* arg) { static_cast<Connection*>(arg)->on_write(); }
void event_cb(bufferevent* /*bev*/, short what, void* arg) {
  static_cast<Connection*>(arg)->on_event(what);
}
void deadline_cb(evutil_socket_t /*fd*/, short /*what*/, void* arg) {
  static_cast<Connection*>(arg)->on_deadline();
}
void accept_cb(evconnlistener* /*l*/, evutil_socket_t fd, sockaddr* /*addr*/, int /*len*/,
               void* arg) {
  static_cast<Listener*>(arg)->on_accept(fd);
}
void accept_error_cb(evconnlistener* /*l*/, void* arg) {
  static_cast<Listener*>(arg)->on_accept_error();
}
void resume_cb(evutil_socket_t /*fd*/, short /*what*/, void* arg) {
  static_cast<Listener*>(arg)->on_resume();
}

std::string errno_text(int e) { return std::strerror(e); }

std::string sockaddr_text(const sockaddr* sa) {
  char host[NI_MAXHOST] = "";
  char serv[NI_MAXSERV] = "";
  const socklen_t len = sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6)
                                                  : static_cast<socklen_t>(sizeof(sockaddr_in));
  if (getnameinfo(sa, len, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) !=
      0)
    return "?";
  if (sa->sa_family == AF_INET6) return std::string("[") + host + "]:" + serv;
  return std::string(host) + ":" + serv;
}

timeval to_timeval(unsigned ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

}  // namespace

const char* protocol_name(Protocol p) {
  return p == Protocol::Socketmap ? "socketmap" : "tcp_table";
}

// ---- Connection ----

Connection::Connection(Server& server, Protocol proto, bufferevent* bev, std::string peer)
    : server_(server), proto_(proto), bev_(bev), peer_(std::move(peer)) {
  if (proto_ == Protocol::Socketmap)
    socketmap_.emplace(server_.limits().max_request);
  else
    tcp_.emplace(server_.limits().max_request);
  deadline_ = evtimer_new(server_.base(), deadline_cb, this);
  bufferevent_setcb(bev_, read_cb, write_cb, event_cb, this);
  if (server_.limits().idle_timeout_s > 0) {
    const timeval idle = to_timeval(server_.limits().idle_timeout_s * 1000);
    bufferevent_set_timeouts(bev_, &idle, &idle);
  }
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
}

Connection::~Connection() {
  // A lookup still running is cancelled: its callback will not run.
  if (busy_ && id_ != 0) server_.ctx().cancel(id_);
  if (deadline_) event_free(deadline_);
  bufferevent_free(bev_);
}

void Connection::close(const char* why) {
  log(Level::Debug, std::string(protocol_name(proto_)) + " " + peer_ + ": closed: " + why);
  server_.drop(this);  // deletes this
}

bool Connection::idle() const {
  return !busy_ && queue_.empty() && evbuffer_get_length(bufferevent_get_output(bev_)) == 0;
}

void Connection::on_read() {
  evbuffer* in = bufferevent_get_input(bev_);
  const std::size_t n = evbuffer_get_length(in);
  if (n == 0) return;
  const auto* data = reinterpret_cast<const char*>(evbuffer_pullup(in, -1));
  const std::string_view chunk(data, n);
  std::optional<proto::DecodeError> err;
  if (socketmap_) {
    std::vector<proto::SocketmapRequest> got;
    err = socketmap_->feed(chunk, got);
    for (auto& r : got) queue_.push_back({std::move(r.name), std::move(r.key), {}});
  } else {
    std::vector<proto::TcpTableRequest> got;
    err = tcp_->feed(chunk, got);
    for (auto& r : got) queue_.push_back({{}, std::move(r.key), std::move(r.error)});
  }
  evbuffer_drain(in, n);
  if (err) {
    server_.metrics().protocol_error(proto_, err->kind == proto::WireError::TooLarge
                                                 ? ProtocolError::Oversized
                                                 : ProtocolError::Malformed);
    // No resynchronisation point: this connection ends, no other.
    log(Level::Warning,
        std::string(protocol_name(proto_)) + " " + peer_ + ": " +
            (err->kind == proto::WireError::TooLarge ? "request too large" : "malformed request") +
            " (" + printable(err->reason, 200) + "), connection closed");
    close("protocol error");
    return;
  }
  pump();
}

void Connection::on_write() {
  // Output drained: a paused reader may resume; a half-closed client is done.
  if (read_eof_ && idle()) {
    close("end of input");
    return;
  }
  update_reading();
}

void Connection::on_event(short what) {
  if (what & BEV_EVENT_TIMEOUT) {
    if ((what & BEV_EVENT_READING) && (busy_ || !queue_.empty())) {
      // Waiting on our own lookup is not idleness.
      update_reading();
      if (!paused_) bufferevent_enable(bev_, EV_READ);
      return;
    }
    if (!(what & BEV_EVENT_WRITING)) server_.metrics().closed_idle();
    close((what & BEV_EVENT_WRITING) ? "write timeout" : "idle timeout");
    return;
  }
  if (what & BEV_EVENT_ERROR) {
    close("connection error");
    return;
  }
  if (what & BEV_EVENT_EOF) {
    // Postfix never half-closes a socketmap connection: EOF means it is
    // gone, and its lookup is cancelled.  A tcp_table client may shut down
    // its side after the request (Exim's readsocket): answer, then close.
    if (proto_ == Protocol::Socketmap || idle()) {
      close("closed by peer");
      return;
    }
    read_eof_ = true;
  }
}

void Connection::on_deadline() {
  if (!busy_) return;
  server_.ctx().cancel(id_);
  busy_ = false;
  id_ = 0;
  server_.metrics().deadline(proto_);
  log(Level::Warning, std::string(protocol_name(proto_)) + " key=\"" + printable(current_.key) +
                          "\": no answer within " +
                          std::to_string(server_.limits().request_timeout_ms) + " ms");
  answer(proto::temp_reply("lookup timed out"), "deadline");
  pump();
}

void Connection::pump() {
  if (pumping_) return;  // an answer that came at once, inside start()
  pumping_ = true;
  while (!busy_ && !queue_.empty()) {
    Request req = std::move(queue_.front());
    queue_.pop_front();
    start(std::move(req));
  }
  pumping_ = false;
  if (read_eof_ && idle()) {
    close("end of input");
    return;
  }
  update_reading();
}

void Connection::start(Request req) {
  current_ = std::move(req);
  started_ = std::chrono::steady_clock::now();
  if (!current_.error.empty()) {  // tcp_table: not a valid "get"
    server_.metrics().protocol_error(proto_, ProtocolError::Invalid);
    answer(proto::temp_reply(current_.error), "protocol");
    return;
  }
  const ProfileSpec* profile = server_.profiles().find(
      proto_ == Protocol::Socketmap ? std::string_view(current_.name) : kPostfixMapName);
  if (!profile) {
    // Never NOTFOUND (clearnet).  Postfix defers on PERM too (mta-protocols.md
    // §1.2); it labels a configuration error that no retry fixes.
    answer({Outcome::Perm,
            "unknown map name: onionmxd has no profile \"" + printable(current_.name, 64) + "\""},
           "config");
    return;
  }
  profile_ = *profile;
  busy_ = true;
  const timeval tv = to_timeval(server_.limits().request_timeout_ms);
  evtimer_add(deadline_, &tv);
  std::uint64_t id = 0;
  const int rc =
      server_.ctx().submit(current_.key, [this](const onionmx::Lookup& r) { on_lookup(r); }, &id);
  if (rc != ONIONMX_OK) {
    evtimer_del(deadline_);
    busy_ = false;
    answer(proto::temp_reply(std::string("lookup not started: ") + onionmx_strerror(rc)), "error");
    return;
  }
  if (busy_) id_ = id;  // else answered at once, inside submit()
}

void Connection::on_lookup(const onionmx::Lookup& r) {
  evtimer_del(deadline_);
  busy_ = false;
  id_ = 0;
  answer(reply_for(profile_, r), r.source);
  pump();
}

void Connection::answer(const proto::Reply& reply, std::string_view source) {
  std::string bytes;
  std::string shown;
  if (proto_ == Protocol::Socketmap) {
    shown = proto::socketmap_payload(reply);
    bytes = proto::netstring_encode(shown);
  } else {
    bytes = proto::encode_tcp_table_reply(reply);
    shown = bytes.substr(0, bytes.size() - 1);
  }
  send_now(bytes);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - started_)
                      .count();
  server_.metrics().lookup(proto_, reply.outcome, source, static_cast<double>(us) / 1e6);
  if (enabled(Level::Info)) {
    char latency[32];
    std::snprintf(latency, sizeof latency, "%.1f", static_cast<double>(us) / 1000.0);
    log(Level::Info, std::string(protocol_name(proto_)) + " key=\"" + printable(current_.key) +
                         "\" answer=\"" + printable(shown, 200) +
                         "\" source=" + std::string(source) + " latency_ms=" + latency);
  }
}

// A reply nearly always fits the socket buffer.  Sending it at once, when
// nothing is queued before it, spares the two epoll_ctl(2) calls and the
// extra wakeup of a bufferevent write (tests/bench/onionmxd_bench.py: a
// hit cost 2-2.4x the echo server's CPU).  The rest, or the whole reply
// after EAGAIN or an error, goes through the bufferevent, which keeps the
// order and reports the error.
void Connection::send_now(std::string_view bytes) {
  std::size_t sent = 0;
  if (evbuffer_get_length(bufferevent_get_output(bev_)) == 0) {
    const ssize_t n =
        ::send(bufferevent_getfd(bev_), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) sent = static_cast<std::size_t>(n);
  }
  if (sent < bytes.size()) bufferevent_write(bev_, bytes.data() + sent, bytes.size() - sent);
}

void Connection::update_reading() {
  const bool full = queue_.size() >= kMaxQueued ||
                    evbuffer_get_length(bufferevent_get_output(bev_)) >= kMaxUnsent;
  if (full && !paused_) {
    bufferevent_disable(bev_, EV_READ);
    paused_ = true;
  } else if (!full && paused_ && !read_eof_) {
    bufferevent_enable(bev_, EV_READ);
    paused_ = false;
  }
}

// ---- Listener ----

Listener::Listener(Server& server, Protocol proto, proto::ListenSpec spec, evconnlistener* l,
                   std::string shown, bool unlink_at_exit)
    : server_(server),
      proto_(proto),
      spec_(std::move(spec)),
      listener_(l),
      shown_(std::move(shown)),
      unlink_at_exit_(unlink_at_exit) {
  evconnlistener_set_cb(listener_, accept_cb, this);
  evconnlistener_set_error_cb(listener_, accept_error_cb);
  resume_ = evtimer_new(server_.base(), resume_cb, this);
}

Listener::~Listener() {
  if (resume_) event_free(resume_);
  evconnlistener_free(listener_);
  if (unlink_at_exit_) ::unlink(spec_.path.c_str());
}

void Listener::on_accept(evutil_socket_t fd) {
  if (server_.connections() >= server_.limits().max_connections) {
    log(Level::Warning, std::string(protocol_name(proto_)) + " " + shown_ +
                            ": connection refused: " + std::to_string(server_.connections()) +
                            " connections open (--max-connections)");
    server_.metrics().refused();
    evutil_closesocket(fd);
    return;
  }
  std::string peer = shown_;
  if (spec_.kind == proto::ListenSpec::Kind::Inet) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
      peer = sockaddr_text(reinterpret_cast<sockaddr*>(&ss));
  }
  server_.accept(proto_, fd, std::move(peer));
}

void Listener::on_accept_error() {
  const int e = EVUTIL_SOCKET_ERROR();
  log(Level::Warning, std::string(protocol_name(proto_)) + " " + shown_ + ": accept failed: " +
                          evutil_socket_error_to_string(e) + "; not accepting for 100 ms");
  evconnlistener_disable(listener_);
  timeval tv{0, 100000};
  if (resume_) evtimer_add(resume_, &tv);
}

void Listener::on_resume() { evconnlistener_enable(listener_); }

// ---- Server ----

Server::Server(event_base* base, onionmx::Context& ctx, Limits limits)
    : base_(base), ctx_(ctx), limits_(limits) {}

Server::~Server() { shutdown(); }

void Server::set_limits(const Limits& l) {
  const Limits bound = limits_;
  limits_ = l;
  limits_.socket_mode = bound.socket_mode;
  limits_.socket_uid = bound.socket_uid;
  limits_.socket_gid = bound.socket_gid;
}

std::string Server::adopt(Protocol proto, int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return "socket " + std::to_string(fd) + ": " + errno_text(errno);
  proto::ListenSpec spec;
  std::string shown;
  if (ss.ss_family == AF_UNIX) {
    spec.kind = proto::ListenSpec::Kind::Unix;
    spec.path = reinterpret_cast<const sockaddr_un*>(&ss)->sun_path;
    shown = "unix:" + spec.path;
  } else {
    shown = "inet:" + sockaddr_text(reinterpret_cast<sockaddr*>(&ss));
  }
  if (evutil_make_socket_nonblocking(fd) != 0 || evutil_make_socket_closeonexec(fd) != 0)
    return shown + ": " + errno_text(errno);
  // Backlog 0: already listening (systemd did it).  The socket file is
  // systemd's: never unlinked here.
  evconnlistener* l = evconnlistener_new(base_, accept_cb, nullptr,
                                         LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
  if (!l) return "cannot serve " + shown + ": " + errno_text(errno);
  listeners_.push_back(std::make_unique<Listener>(*this, proto, spec, l, shown, false));
  log(Level::Info,
      std::string("listening: ") + protocol_name(proto) + " on " + shown + " (socket activation)");
  return {};
}

void Server::shutdown() {
  listeners_.clear();
  connections_.clear();
}

void Server::accept(Protocol proto, evutil_socket_t fd, std::string peer) {
  bufferevent* bev = bufferevent_socket_new(base_, fd, BEV_OPT_CLOSE_ON_FREE);
  if (!bev) {
    evutil_closesocket(fd);
    log(Level::Error, "out of memory for a connection");
    return;
  }
  auto c = std::make_unique<Connection>(*this, proto, bev, std::move(peer));
  log(Level::Debug, std::string(protocol_name(proto)) + ": connection opened");
  Connection* raw = c.get();
  connections_.emplace(raw, std::move(c));
  metrics_.accepted();
}

void Server::drop(Connection* c) { connections_.erase(c); }

std::string Server::listen(Protocol proto, const std::string& text) {
  auto spec = proto::parse_listen_spec(text);
  if (!spec) return spec.error().detail;
  return spec->kind == proto::ListenSpec::Kind::Inet ? listen_inet(proto, *spec)
                                                     : listen_unix(proto, *spec);
}

std::string Server::listen_inet(Protocol proto, const proto::ListenSpec& spec) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  if (spec.host_kind != proto::ListenSpec::Host::Name) hints.ai_flags |= AI_NUMERICHOST;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(spec.port);
  if (int rc = getaddrinfo(spec.host.c_str(), port.c_str(), &hints, &res); rc != 0)
    return proto::to_string(spec) + ": " + gai_strerror(rc);
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, &freeaddrinfo);
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    evconnlistener* l =
        evconnlistener_new_bind(base_, accept_cb, nullptr,
                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                                kBacklog, ai->ai_addr, static_cast<int>(ai->ai_addrlen));
    if (!l) return "cannot listen on " + proto::to_string(spec) + ": " + errno_text(errno);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    std::string shown = proto::to_string(spec);
    if (getsockname(evconnlistener_get_fd(l), reinterpret_cast<sockaddr*>(&ss), &len) == 0)
      shown = "inet:" + sockaddr_text(reinterpret_cast<sockaddr*>(&ss));
    listeners_.push_back(std::make_unique<Listener>(*this, proto, spec, l, shown, false));
    log(Level::Info, std::string("listening: ") + protocol_name(proto) + " on " + shown);
  }
  return {};
}

std::string Server::listen_unix(Protocol proto, const proto::ListenSpec& spec) {
  const std::string& path = spec.path;
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);  // parse_listen_spec bounds it
  // A socket left by a daemon that died is replaced; a live one or any
  // other file is not.
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return path + ": exists and is not a socket";
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return "socket: " + errno_text(errno);
    const int rc = ::connect(probe, reinterpret_cast<sockaddr*>(&sun), sizeof sun);
    const int e = errno;
    ::close(probe);
    if (rc == 0) return path + ": another server is listening there";
    // Only a refused connection proves the socket dead (a datagram socket
    // or one we may not reach is someone else's).
    if (e != ECONNREFUSED) return path + ": exists and cannot be replaced: " + errno_text(e);
    ::unlink(path.c_str());
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return "socket: " + errno_text(errno);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0) {
    const int e = errno;
    ::close(fd);
    return "cannot bind " + path + ": " + errno_text(e);
  }
  if (::chmod(path.c_str(), limits_.socket_mode) != 0) {
    const int e = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return "cannot chmod " + path + ": " + errno_text(e);
  }
  if ((limits_.socket_uid >= 0 || limits_.socket_gid >= 0) &&
      ::chown(path.c_str(), static_cast<uid_t>(limits_.socket_uid),
              static_cast<gid_t>(limits_.socket_gid)) != 0) {
    const int e = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return "cannot chown " + path + ": " + errno_text(e);
  }
  evconnlistener* l = evconnlistener_new(
      base_, accept_cb, nullptr, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, kBacklog, fd);
  if (!l) {
    const int e = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return "cannot listen on " + path + ": " + errno_text(e);
  }
  listeners_.push_back(
      std::make_unique<Listener>(*this, proto, spec, l, proto::to_string(spec), true));
  log(Level::Info, std::string("listening: ") + protocol_name(proto) + " on unix:" + path);
  return {};
}

}  // namespace onionmxd
