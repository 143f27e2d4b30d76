// server.hpp - onionmxd's listeners and MTA connections on one libevent loop.
//
// A Listener accepts on one endpoint (inet:HOST:PORT or unix:PATH) for one
// protocol (socketmap or tcp_table).  Each accepted socket becomes a
// Connection: its bytes go to the protocol's incremental decoder
// (libonionmx/proto, pure), complete requests wait in a queue, and one
// lookup at a time runs through the public C++ API on the loop's own
// event_base, so replies leave in request order.  docs/onionmxd.md lists
// the rules (mta-protocols.md §7) and the limits.
#pragma once

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <onionmx/onionmx.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "metrics.hpp"
#include "profiles.hpp"
#include "proto/listen_spec.hpp"
#include "proto/reply.hpp"
#include "proto/socketmap.hpp"
#include "proto/tcp_table.hpp"

namespace onionmxd {

enum class Protocol { Socketmap, TcpTable };

struct Limits {
  std::size_t max_request = onionmx::proto::kDefaultMaxRequest;  // bytes of one request
  std::size_t max_connections = 1000;                            // beyond: closed at accept
  unsigned idle_timeout_s = 60;        // no request for this long: closed (0: never)
  unsigned request_timeout_ms = 6000;  // no answer by then: TEMP / 400
  unsigned socket_mode = 0666;         // unix listeners
  int socket_uid = -1;                 // unix listeners' owner and group; -1: ours
  int socket_gid = -1;
};

class Server;

class Connection {
 public:
  Connection(Server& server, Protocol proto, bufferevent* bev, std::string peer);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // libevent callbacks (static trampolines in server.cpp).
  void on_read();
  void on_write();
  void on_event(short what);
  void on_deadline();

 private:
  struct Request {
    std::string name;   // socketmap map name; empty for tcp_table
    std::string key;    // as the lookup gets it (tcp_table: decoded)
    std::string error;  // tcp_table: a framed but invalid line (answered 400)
  };
  void pump();
  void start(Request req);
  void on_lookup(const onionmx::Lookup& r);
  void answer(const onionmx::proto::Reply& reply, std::string_view source);
  void send_now(std::string_view bytes);
  void update_reading();
  bool idle() const;
  void close(const char* why);

  Server& server_;
  ProfileSpec profile_;  // of the request being looked up (a reload may change the set)
  Protocol proto_;
  bufferevent* bev_;
  event* deadline_ = nullptr;
  std::string peer_;
  std::optional<onionmx::proto::SocketmapDecoder> socketmap_;
  std::optional<onionmx::proto::TcpTableDecoder> tcp_;
  std::deque<Request> queue_;
  Request current_;
  bool busy_ = false;      // a lookup of current_ is running
  std::uint64_t id_ = 0;   // its id, for cancel()
  bool pumping_ = false;   // pump() is on the stack (answers may come at once)
  bool paused_ = false;    // reading stopped: too much queued or unsent
  bool read_eof_ = false;  // the client closed its side (tcp_table: answer, then close)
  std::chrono::steady_clock::time_point started_;
};

class Listener {
 public:
  Listener(Server& server, Protocol proto, onionmx::proto::ListenSpec spec, evconnlistener* l,
           std::string shown, bool unlink_at_exit);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  void on_accept(evutil_socket_t fd);
  // accept() failed (EMFILE, ENFILE, ENOBUFS, ...): the pending connection
  // would wake the loop at once again, so accepting pauses for a moment.
  void on_accept_error();
  void on_resume();
  const std::string& shown() const { return shown_; }

 private:
  Server& server_;
  Protocol proto_;
  onionmx::proto::ListenSpec spec_;
  evconnlistener* listener_;
  std::string shown_;  // the endpoint as bound, for the log (inet: the real port)
  bool unlink_at_exit_;
  event* resume_ = nullptr;  // re-enables accepting after on_accept_error()
};

class Server {
 public:
  Server(event_base* base, onionmx::Context& ctx, Limits limits);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; an empty string on success, else why not.
  std::string listen(Protocol proto, const std::string& spec);
  // Serves a socket already bound and listening (systemd socket activation,
  // activation.hpp); an empty string on success.
  std::string adopt(Protocol proto, int fd);
  // Closes every listener and connection (cancelling their lookups).
  void shutdown();

  event_base* base() { return base_; }
  onionmx::Context& ctx() { return ctx_; }
  const Limits& limits() const { return limits_; }
  // SIGHUP: new limits apply to new connections (request_timeout to new
  // requests); the unix sockets' mode and owner stay as bound.
  void set_limits(const Limits& l);
  const Profiles& profiles() const { return profiles_; }
  void set_profiles(Profiles p) { profiles_ = std::move(p); }
  void accept(Protocol proto, evutil_socket_t fd, std::string peer);
  void drop(Connection* c);
  std::size_t connections() const { return connections_.size(); }
  Metrics& metrics() { return metrics_; }

 private:
  std::string listen_inet(Protocol proto, const onionmx::proto::ListenSpec& spec);
  std::string listen_unix(Protocol proto, const onionmx::proto::ListenSpec& spec);

  event_base* base_;
  onionmx::Context& ctx_;
  Limits limits_;
  Profiles profiles_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
  Metrics metrics_;
};

const char* protocol_name(Protocol p);

}  // namespace onionmxd
