#include "event/loop.hpp"

#include <new>
#include <stdexcept>

#include <event2/event.h>

namespace onionmx::event {

Loop::Loop() : base_(event_base_new(), &event_base_free) {
  if (!base_) throw std::runtime_error("event_base_new failed");
}

Loop::~Loop() = default;

bool Loop::run_once() {
  // EVLOOP_ONCE blocks until an event is active and runs it; with nothing
  // registered event_base_loop returns 1 at once.
  return event_base_loop(base_.get(), EVLOOP_ONCE) == 0;
}

void Loop::run_until(const std::function<bool()>& done) {
  while (!done())
    if (!run_once()) break;
}

IoWatch::IoWatch(Loop& loop, int fd, bool read, bool write, Callback cb) : cb_(std::move(cb)) {
  short what = EV_PERSIST;
  if (read) what |= EV_READ;
  if (write) what |= EV_WRITE;
  ev_ = event_new(loop.base(), fd, what, &IoWatch::trampoline, this);
  if (!ev_) throw std::bad_alloc();
  if (event_add(ev_, nullptr) != 0) {
    event_free(ev_);
    throw std::runtime_error("event_add failed");
  }
}

IoWatch::~IoWatch() { event_free(ev_); }

void IoWatch::stop() { event_del(ev_); }

void IoWatch::trampoline(int, short what, void* arg) {
  auto* self = static_cast<IoWatch*>(arg);
  // A C frame: nothing may propagate.  Owners' callbacks are noexcept in
  // practice; this is the last line of defence.
  try {
    self->cb_((what & EV_READ) != 0, (what & EV_WRITE) != 0);
  } catch (...) {
  }
}

Timer::Timer(Loop& loop, std::function<void()> cb) : cb_(std::move(cb)) {
  ev_ = evtimer_new(loop.base(), &Timer::trampoline, this);
  if (!ev_) throw std::bad_alloc();
}

Timer::~Timer() { event_free(ev_); }

void Timer::arm(std::chrono::microseconds after) {
  if (after.count() < 0) after = std::chrono::microseconds(0);
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(after.count() / 1000000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>(after.count() % 1000000);
  evtimer_add(ev_, &tv);
}

void Timer::disarm() { evtimer_del(ev_); }

void Timer::trampoline(int, short, void* arg) {
  auto* self = static_cast<Timer*>(arg);
  try {
    self->cb_();
  } catch (...) {
  }
}

}  // namespace onionmx::event
