// session.hpp - one smtpd-tables(7) conversation on stdin/stdout, on the
// library's libevent loop.
//
// Lines from stdin go to the pure decoder (proto/smtpd_table.hpp); after
// the config|…|ready handshake each request gets a slot in a queue, its
// lookup runs concurrently with the others (Context::submit on the same
// event_base), and replies leave strictly in request order: table_proc.c
// sends one request and reads exactly one line back, checking the op and
// id, so a reply out of order would stop smtpd.  smtpd itself never sends
// a second request before the first is answered; the order matters for any
// client that does.  Reading pauses while too many requests or too many
// unsent bytes are queued.  At EOF the queued lookups finish, their replies
// are written, and the loop ends.
#pragma once

#include <event2/bufferevent.h>
#include <event2/event.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <onionmx/onionmx.hpp>
#include <optional>
#include <string>

#include "daemon_client.hpp"
#include "proto/reply.hpp"
#include "proto/smtpd_table.hpp"

namespace onionmx_table {

struct SessionLimits {
  std::size_t max_line = onionmx::proto::kDefaultMaxRequest;  // bytes kept of one line
  std::size_t max_pending = 256;                              // queued requests before pausing
  std::size_t max_unsent = std::size_t{1} << 20;              // unsent reply bytes before pausing
};

class Session {
 public:
  // With `daemon`, lookups go to onionmxd (daemon_client.hpp) instead of
  // `ctx`; `update` still reloads `ctx`.  `daemon` must outlive the session.
  Session(event_base* base, onionmx::Context& ctx, SessionLimits limits,
          DaemonClient* daemon = nullptr);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Starts reading fd `in` and writing fd `out`; an empty string or why not.
  std::string start(int in, int out);
  // Why the session ended ("" while it runs, "end of input" after a clean EOF).
  const std::string& ended() const { return ended_; }

  // libevent callbacks (trampolines in session.cpp).
  void on_read();
  void on_input_event(short what);
  void on_written();
  void on_output_event(short what);

 private:
  struct Slot {
    std::string op;
    std::string id;
    std::string key;                  // for the log
    std::optional<std::string> line;  // the reply, once known
    std::uint64_t lookup = 0;         // running lookup, for cancel()
  };
  void on_line(const onionmx::proto::SmtpdTableLine& line);
  void on_config(const std::string& text);
  void on_request(const onionmx::proto::SmtpdTableLine& line);
  void start_lookup(Slot& slot, const std::string& key);
  void answer(Slot& slot, const onionmx::proto::Reply& reply, const std::string& source);
  Slot& push(const onionmx::proto::SmtpdTableRequest& r);
  void flush();
  void update_reading();
  void finish(const std::string& why);

  event_base* base_;
  onionmx::Context& ctx_;
  SessionLimits limits_;
  DaemonClient* daemon_;
  onionmx::proto::SmtpdTableDecoder decoder_;
  bufferevent* in_ = nullptr;
  bufferevent* out_ = nullptr;
  int in_fd_ = -1;
  int out_fd_ = -1;
  int in_flags_ = -1;  // fcntl flags before start(), restored at the end
  int out_flags_ = -1;
  bool ready_ = false;       // the handshake is done
  bool eof_ = false;         // stdin ended
  bool submitting_ = false;  // inside Context::submit()
  std::string table_ = "?";
  std::string ended_;
  std::deque<std::unique_ptr<Slot>> slots_;  // request order
};

}  // namespace onionmx_table
