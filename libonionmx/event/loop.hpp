// loop.hpp - the event loop: libevent 2.1 behind a small interface.
//
// The only code that includes <event2/...>.  libevent picks epoll, kqueue
// or poll per platform, so the same loop serves Linux and the BSDs where
// OpenSMTPD lives.  One thread owns a Loop and everything registered on it.
// Callbacks run inside Loop::run_once(); they must not throw (libevent
// callbacks are C frames): IoWatch and Timer catch and log.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

struct event_base;
struct event;

namespace onionmx::event {

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Waits for at least one event and runs its callbacks.  Returns false if
  // nothing is registered (the loop would wait forever).
  bool run_once();
  // Runs until `done()` is true or nothing is registered.
  void run_until(const std::function<bool()>& done);
  // The underlying base, for the daemon's listeners and buffered sockets.
  event_base* base() noexcept { return base_.get(); }

 private:
  std::unique_ptr<event_base, void (*)(event_base*)> base_;
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

 private:
  static void trampoline(int fd, short what, void* arg);
  std::function<void()> cb_;
  ::event* ev_ = nullptr;
};

}  // namespace onionmx::event
