// loop.hpp - the event loop: libevent 2.1 behind a small interface.
//
// The only code that includes <event2/...>.  libevent picks epoll, kqueue
// or poll per platform, so the same loop serves Linux and the BSDs where
// OpenSMTPD lives.  One thread owns a Loop and everything registered on it.
//
// Three ways to drive it (docs/c-api.md, "Event loops"):
//  - its own event_base, run by run_once()/run_until() (blocking lookups);
//  - its own event_base, run by the embedding program's loop: the program
//    watches the descriptors announced to the WatchObserver, and calls
//    process() when one is ready or next_timeout() has passed;
//  - the embedding program's event_base (borrowed): callbacks run from the
//    program's own event_base_dispatch().
// Callbacks run from libevent, a C frame: IoWatch and Timer catch whatever
// their callbacks throw and report it to the loop's log sink.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "base/log.hpp"

struct event_base;
struct event;

namespace onionmx::event {

class Timer;

class Loop {
 public:
  // Told (fd, readable, writable) whenever the set of descriptors the loop
  // waits on changes; (fd, false, false) means "stop watching fd".
  using WatchObserver = std::function<void(int fd, bool readable, bool writable)>;

  Loop();                               // owns a new event_base
  explicit Loop(event_base* borrowed);  // runs on the caller's event_base
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Waits for at least one event and runs its callbacks.  Returns false if
  // nothing is registered (the loop would wait forever).
  bool run_once();
  // Runs until `done()` is true or nothing is registered.
  void run_until(const std::function<bool()>& done);
  // Runs every callback that is due now, without waiting.
  void process();
  // Time until the earliest armed timer fires (zero if overdue); nullopt
  // when no timer is armed.
  std::optional<std::chrono::milliseconds> next_timeout() const;

  bool borrowed() const noexcept { return borrowed_; }
  event_base* base() noexcept { return base_; }

  void set_watch_observer(WatchObserver observer) { observer_ = std::move(observer); }
  void set_log(base::LogSink log) { log_ = std::move(log); }

  // For IoWatch and Timer.
  void announce(int fd, bool readable, bool writable) const;
  void report(const char* where, const char* what) const noexcept;
  void add_timer(Timer* t) { timers_.push_back(t); }
  void remove_timer(Timer* t);

 private:
  event_base* base_ = nullptr;
  bool borrowed_ = false;
  WatchObserver observer_;
  base::LogSink log_;
  std::vector<Timer*> timers_;
};

// A persistent watch on one file descriptor.
class IoWatch {
 public:
  using Callback = std::function<void(bool readable, bool writable)>;
  IoWatch(Loop& loop, int fd, bool read, bool write, Callback cb);
  ~IoWatch();
  // Stops watching; the object may then be destroyed later.
  void stop();
  IoWatch(const IoWatch&) = delete;
  IoWatch& operator=(const IoWatch&) = delete;

 private:
  static void trampoline(int fd, short what, void* arg);
  Loop& loop_;
  int fd_;
  bool active_ = false;
  Callback cb_;
  ::event* ev_ = nullptr;
};

// A one-shot timer that can be re-armed.
class Timer {
 public:
  Timer(Loop& loop, std::function<void()> cb);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  void arm(std::chrono::microseconds after);
  void disarm();
  // When an armed timer fires.
  std::optional<std::chrono::steady_clock::time_point> due() const { return due_; }

 private:
  static void trampoline(int fd, short what, void* arg);
  Loop& loop_;
  std::function<void()> cb_;
  ::event* ev_ = nullptr;
  std::optional<std::chrono::steady_clock::time_point> due_;
};

}  // namespace onionmx::event
