#include "event/loop.hpp"

#include <event2/event.h>

#include <algorithm>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>

namespace onionmx::event {

Loop::Loop() : base_(event_base_new()) {
  if (!base_) throw std::runtime_error("event_base_new failed");
}

Loop::Loop(event_base* borrowed) : base_(borrowed), borrowed_(true) {
  if (!base_) throw std::invalid_argument("no event_base");
}

Loop::~Loop() {
  if (!borrowed_) event_base_free(base_);
}

bool Loop::run_once() {
  // EVLOOP_ONCE blocks until an event is active and runs it; with nothing
  // registered event_base_loop returns 1 at once.
  return event_base_loop(base_, EVLOOP_ONCE) == 0;
}

void Loop::run_until(const std::function<bool()>& done) {
  while (!done())
    if (!run_once()) break;
}

void Loop::process() {
  // Polls with a zero timeout and runs what is ready, including timers
  // whose time has come.  EVLOOP_ONCE too: NONBLOCK alone keeps looping
  // while any event is active, so a descriptor that stays readable would
  // never let the caller's loop have its turn.
  event_base_loop(base_, EVLOOP_NONBLOCK | EVLOOP_ONCE);
}

std::optional<std::chrono::milliseconds> Loop::next_timeout() const {
  std::optional<std::chrono::steady_clock::time_point> first;
  for (const Timer* t : timers_)
    if (auto due = t->due(); due && (!first || *due < *first)) first = due;
  if (!first) return std::nullopt;
  auto left = *first - std::chrono::steady_clock::now();
  if (left.count() <= 0) return std::chrono::milliseconds(0);
  // Rounded up: waking a millisecond early would find nothing due.
  return std::chrono::ceil<std::chrono::milliseconds>(left);
}

void Loop::announce(int fd, bool readable, bool writable) const {
  if (observer_) observer_(fd, readable, writable);
}

void Loop::report(const char* where, const char* what) const noexcept {
  if (!log_) return;
  try {
    log_(base::LogLevel::Error, std::string(where) + ": internal error: " + what);
  } catch (...) {
    // Nothing more can be done from inside a C frame.
  }
}

void Loop::remove_timer(Timer* t) {
  timers_.erase(std::remove(timers_.begin(), timers_.end(), t), timers_.end());
}

namespace {
// Runs a callback from a libevent C frame: nothing may propagate.
template <class F>
void contained(const Loop& loop, const char* where, F&& f) noexcept {
  try {
    f();
  } catch (const std::exception& e) {
    loop.report(where, e.what());
  } catch (...) {
    loop.report(where, "unknown exception");
  }
}
}  // namespace

IoWatch::IoWatch(Loop& loop, int fd, bool read, bool write, Callback cb)
    : loop_(loop), fd_(fd), cb_(std::move(cb)) {
  short what = EV_PERSIST;
  if (read) what |= EV_READ;
  if (write) what |= EV_WRITE;
  ev_ = event_new(loop.base(), fd, what, &IoWatch::trampoline, this);
  if (!ev_) throw std::bad_alloc();
  if (event_add(ev_, nullptr) != 0) {
    event_free(ev_);
    throw std::runtime_error("event_add failed");
  }
  active_ = true;
  loop_.announce(fd_, read, write);
}

IoWatch::~IoWatch() {
  stop();
  event_free(ev_);
}

void IoWatch::stop() {
  if (!active_) return;
  active_ = false;
  event_del(ev_);
  loop_.announce(fd_, false, false);
}

void IoWatch::trampoline(int, short what, void* arg) {
  auto* self = static_cast<IoWatch*>(arg);
  contained(self->loop_, "descriptor callback",
            [&] { self->cb_((what & EV_READ) != 0, (what & EV_WRITE) != 0); });
}

Timer::Timer(Loop& loop, std::function<void()> cb) : loop_(loop), cb_(std::move(cb)) {
  ev_ = evtimer_new(loop.base(), &Timer::trampoline, this);
  if (!ev_) throw std::bad_alloc();
  loop_.add_timer(this);
}

Timer::~Timer() {
  loop_.remove_timer(this);
  event_free(ev_);
}

void Timer::arm(std::chrono::microseconds after) {
  if (after.count() < 0) after = std::chrono::microseconds(0);
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(after.count() / 1000000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>(after.count() % 1000000);
  due_ = std::chrono::steady_clock::now() + after;
  evtimer_add(ev_, &tv);
}

void Timer::disarm() {
  due_.reset();
  evtimer_del(ev_);
}

void Timer::trampoline(int, short, void* arg) {
  auto* self = static_cast<Timer*>(arg);
  self->due_.reset();
  contained(self->loop_, "timer callback", [&] { self->cb_(); });
}

}  // namespace onionmx::event
