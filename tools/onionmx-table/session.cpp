// session.cpp - see session.hpp.
#include "session.hpp"

#include <event2/buffer.h>
#include <event2/util.h>
#include <fcntl.h>

#include <string_view>
#include <utility>
#include <vector>

#include "base/strings.hpp"
#include "dispatch.hpp"
#include "log.hpp"

namespace onionmx_table {
namespace proto = onionmx::proto;

namespace {

void read_cb(bufferevent* /*bev*/, void* arg) { static_cast<Session*>(arg)->on_read(); }
void input_event_cb(bufferevent* /*bev*/, short what, void* arg) {
  static_cast<Session*>(arg)->on_input_event(what);
}
void write_cb(bufferevent* /*bev*/, void* arg) { static_cast<Session*>(arg)->on_written(); }
void output_event_cb(bufferevent* /*bev*/, short what, void* arg) {
  static_cast<Session*>(arg)->on_output_event(what);
}

std::string shown(std::string_view s) { return onionmx::base::printable(s, 200); }

}  // namespace

Session::Session(event_base* base, onionmx::Context& ctx, SessionLimits limits,
                 DaemonClient* daemon)
    : base_(base), ctx_(ctx), limits_(limits), daemon_(daemon), decoder_(limits.max_line) {}

Session::~Session() {
  for (const auto& s : slots_) {
    if (s->lookup == 0) continue;
    if (daemon_)
      daemon_->cancel(s->lookup);
    else
      ctx_.cancel(s->lookup);
  }
  if (in_) bufferevent_free(in_);
  if (out_) bufferevent_free(out_);
  if (in_flags_ >= 0) (void)fcntl(in_fd_, F_SETFL, in_flags_);
  if (out_flags_ >= 0) (void)fcntl(out_fd_, F_SETFL, out_flags_);
}

std::string Session::start(int in, int out) {
  // O_NONBLOCK belongs to the open file, which a terminal shares with the
  // shell: put the old flags back at the end (~Session).
  in_fd_ = in;
  out_fd_ = out;
  in_flags_ = fcntl(in, F_GETFL);
  out_flags_ = fcntl(out, F_GETFL);
  if (evutil_make_socket_nonblocking(in) != 0 || evutil_make_socket_nonblocking(out) != 0)
    return "cannot make stdin/stdout non-blocking";
  in_ = bufferevent_socket_new(base_, in, 0);
  out_ = bufferevent_socket_new(base_, out, 0);
  if (!in_ || !out_) return "cannot create the stdin/stdout buffers";
  bufferevent_setcb(in_, read_cb, nullptr, input_event_cb, this);
  bufferevent_setcb(out_, nullptr, write_cb, output_event_cb, this);
  bufferevent_disable(in_, EV_WRITE);
  bufferevent_disable(out_, EV_READ);
  if (bufferevent_enable(in_, EV_READ) != 0 || bufferevent_enable(out_, EV_WRITE) != 0)
    return "cannot watch stdin/stdout";
  return {};
}

void Session::on_read() {
  evbuffer* input = bufferevent_get_input(in_);
  std::vector<proto::SmtpdTableLine> lines;
  while (evbuffer_get_length(input) > 0 && ended_.empty()) {
    const std::size_t n = evbuffer_get_contiguous_space(input);
    const auto* p =
        reinterpret_cast<const char*>(evbuffer_pullup(input, static_cast<ev_ssize_t>(n)));
    (void)decoder_.feed(std::string_view(p, n), lines);  // never fails (smtpd_table.hpp)
    evbuffer_drain(input, n);
    for (const auto& l : lines) on_line(l);
    lines.clear();
  }
  update_reading();
}

void Session::on_input_event(short what) {
  if (what & BEV_EVENT_ERROR) log(Level::Warning, "stdin: read error, stopping");
  if (!decoder_.at_boundary()) log(Level::Warning, "stdin ended inside a line (dropped)");
  eof_ = true;
  bufferevent_disable(in_, EV_READ);
  flush();
}

void Session::on_written() { flush(); }

void Session::on_output_event(short /*what*/) {
  // The reader (smtpd) is gone: nothing can be answered any more.
  finish("stdout closed");
}

void Session::on_line(const proto::SmtpdTableLine& line) {
  if (!ready_ || line.text.starts_with("config|")) {
    on_config(line.text);
    return;
  }
  on_request(line);
}

void Session::on_config(const std::string& text) {
  const auto c = proto::parse_smtpd_table_config(text);
  if (!c) {
    // Only config lines come before config|ready (table_proc.c); a reply
    // now would be read as a bad handshake line.
    log(Level::Warning, "before the handshake, ignored: \"" + shown(text) + "\"");
    return;
  }
  if (ready_) {
    log(Level::Warning, "config line after the handshake, ignored: \"" + shown(text) + "\"");
    return;
  }
  if (c->key == "tablename") table_ = c->value;
  if (c->key == "protocol" && c->value != proto::kSmtpdTableProtocol)
    log(Level::Warning, "smtpd speaks table protocol " + shown(c->value) + ", this table " +
                            std::string(proto::kSmtpdTableProtocol));
  if (c->key != "ready") {
    log(Level::Debug, "config " + shown(c->key) + "=" + shown(c->value));
    return;
  }
  std::string reg;
  for (const auto service : kServices) reg += proto::encode_smtpd_table_register(service);
  reg += proto::encode_smtpd_table_register("ready");
  bufferevent_write(out_, reg.data(), reg.size());
  ready_ = true;
  log(Level::Info, "table " + shown(table_) + ": ready (onionmx-table " + ONIONMX_VERSION_STRING +
                       ", library " + onionmx_version() + ")");
}

Session::Slot& Session::push(const proto::SmtpdTableRequest& r) {
  auto slot = std::make_unique<Slot>();
  slot->op = r.op;
  slot->id = r.id;
  slot->key = r.key;
  slots_.push_back(std::move(slot));
  return *slots_.back();
}

void Session::on_request(const proto::SmtpdTableLine& line) {
  const auto r = proto::parse_smtpd_table_request(line.text, line.truncated);
  if (r.id.empty()) {
    // No id to echo: no reply smtpd could match (smtpd_table.hpp).
    log(Level::Warning,
        "unanswerable line (" + r.error + "), ignored: \"" + shown(line.text) + "\"");
    return;
  }
  Slot& slot = push(r);
  const Decision d = decide(r);
  switch (d.action) {
    case Action::Error:
      answer(slot, proto::temp_reply(d.reason), "request");
      break;
    case Action::NotFound:
      answer(slot, {onionmx::base::Outcome::NotFound, {}}, "request");
      break;
    case Action::Reload: {
      const int rc = ctx_.reload();
      if (rc == ONIONMX_OK) {
        slot.line = proto::encode_smtpd_table_update(slot.id, std::nullopt);
        log(Level::Info, "update: configuration and map reloaded (generation " +
                             std::to_string(ctx_.generation()) + ")");
      } else {
        const std::string why = ctx_.last_error();
        slot.line = proto::encode_smtpd_table_update(slot.id, why);
        log(Level::Error,
            "update: reload failed, the previous configuration keeps answering: " + why);
      }
      break;
    }
    case Action::Lookup:
      start_lookup(slot, r.key);
      break;
  }
  flush();
}

void Session::start_lookup(Slot& slot, const std::string& key) {
  Slot* s = &slot;
  if (daemon_) {
    // Answered later, from the loop (daemon_client.hpp), never inside ask().
    slot.lookup = daemon_->ask(key, [this, s](const proto::Reply& rep) {
      s->lookup = 0;
      answer(*s, reply_of_daemon(rep), "onionmxd");
      flush();
    });
    return;
  }
  std::uint64_t id = 0;
  // An answer known at once (onion domains, the cache) runs the callback
  // inside submit(): flushing there would free `slot` under our feet.
  submitting_ = true;
  const int rc = ctx_.submit(
      key,
      [this, s](const onionmx::Lookup& res) {
        s->lookup = 0;
        answer(*s, reply_of_lookup(res), res.source);
        if (!submitting_) flush();
      },
      &id);
  submitting_ = false;
  if (rc != ONIONMX_OK) {
    answer(slot, proto::temp_reply("lookup not started: " + ctx_.last_error()), "request");
  } else if (!slot.line) {
    slot.lookup = id;
  }
}

void Session::answer(Slot& slot, const proto::Reply& reply, const std::string& source) {
  slot.line = proto::encode_smtpd_table_reply(slot.op, slot.id, reply);
  const std::string_view l = *slot.line;
  log(reply.outcome == onionmx::base::Outcome::Temp ? Level::Warning : Level::Info,
      table_ + ": " + slot.op + " key=\"" + shown(slot.key) + "\" reply=\"" +
          shown(l.substr(0, l.size() - 1)) + "\" source=" + (source.empty() ? "-" : source));
}

void Session::flush() {
  while (!slots_.empty() && slots_.front()->line) {
    const std::string& l = *slots_.front()->line;
    bufferevent_write(out_, l.data(), l.size());
    slots_.pop_front();
  }
  update_reading();
  if (eof_ && slots_.empty() && evbuffer_get_length(bufferevent_get_output(out_)) == 0)
    finish("end of input");
}

void Session::update_reading() {
  if (eof_ || !ended_.empty()) return;
  const bool full = slots_.size() >= limits_.max_pending ||
                    evbuffer_get_length(bufferevent_get_output(out_)) >= limits_.max_unsent;
  if (full)
    bufferevent_disable(in_, EV_READ);
  else
    bufferevent_enable(in_, EV_READ);
}

void Session::finish(const std::string& why) {
  if (!ended_.empty()) return;
  ended_ = why;
  event_base_loopexit(base_, nullptr);
}

}  // namespace onionmx_table
