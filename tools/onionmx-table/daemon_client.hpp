// daemon_client.hpp - onionmx-table --daemon: ask a running onionmxd over
// its socketmap listener instead of the library in-process
// (docs/onionmx-table.md#asking-onionmxd).
//
// One persistent connection; requests go one at a time in order (the
// socketmap protocol has no ids, socketmap_table(5), so the reply that
// comes back belongs to the one request in flight).  Each request gets
// the deadline `timeout_ms`; on EOF or a connection error before its reply
// it is sent once more on a new connection.  Every failure (connect,
// timeout, a malformed reply, TEMP, PERM) becomes a Temp reply: the table
// answers error, never not-found (docs/status-model.md).
#pragma once

#include <event2/bufferevent.h>
#include <event2/event.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "proto/listen_spec.hpp"
#include "proto/netstring.hpp"
#include "proto/reply.hpp"

namespace onionmx_table {

class DaemonClient {
 public:
  using Done = std::function<void(const onionmx::proto::Reply&)>;

  // `map` is the socketmap name (an onionmxd profile, "opensmtpd").
  DaemonClient(event_base* base, onionmx::proto::ListenSpec where, std::string map,
               unsigned timeout_ms);
  ~DaemonClient();
  DaemonClient(const DaemonClient&) = delete;
  DaemonClient& operator=(const DaemonClient&) = delete;

  // Queues a lookup of `key`; `done` runs once, later, from the event loop
  // (never inside ask()).  Returns an id for cancel().
  std::uint64_t ask(const std::string& key, Done done);
  // `done` of that request will not run.
  void cancel(std::uint64_t id);

  // libevent callbacks (trampolines in daemon_client.cpp).
  void on_read();
  void on_event(short what);
  void on_timer();
  void on_kick();

 private:
  struct Pending {
    std::uint64_t id = 0;
    std::string key;
    Done done;
    bool retried = false;
  };
  void send_front();                     // arms the deadline, then transmit()
  void transmit();                       // (re)connects and writes the front request
  std::string connect();                 // "" or why not
  void failure(const std::string& why);  // retry once, then fail the front
  void complete_front(const onionmx::proto::Reply& r);
  void fail_front(const std::string& reason);
  void drop_connection();

  event_base* base_;
  onionmx::proto::ListenSpec where_;
  std::string map_;
  unsigned timeout_ms_;
  bufferevent* conn_ = nullptr;
  event* timer_ = nullptr;  // the front request's deadline
  event* kick_ = nullptr;   // reports deferred_ from the loop, never inside ask()
  std::string deferred_;
  bool completing_ = false;  // inside a Done callback: ask() must not send
  onionmx::proto::NetstringDecoder frames_;
  std::deque<Pending> queue_;  // the front is in flight
  std::uint64_t next_id_ = 1;
};

}  // namespace onionmx_table
