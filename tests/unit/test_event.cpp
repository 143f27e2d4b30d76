// test_event.cpp - the event loop wrapper (event/loop.hpp): callbacks that
// throw are logged, not swallowed; the watch observer sees every
// descriptor come and go; next_timeout() follows the earliest armed timer;
// process() runs what is due without waiting; a borrowed event_base is not
// freed by the Loop.
#include <event2/event.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "event/loop.hpp"

namespace {

using namespace std::chrono_literals;
using onionmx::event::IoWatch;
using onionmx::event::Loop;
using onionmx::event::Timer;

TEST(EventLoop, AThrowingTimerCallbackIsLoggedAtErrorLevel) {
  Loop loop;
  std::vector<std::string> errors;
  loop.set_log([&](onionmx::base::LogLevel level, std::string_view m) {
    if (level == onionmx::base::LogLevel::Error) errors.emplace_back(m);
  });
  Timer t(loop, [] { throw std::runtime_error("boom"); });
  t.arm(0us);
  EXPECT_TRUE(loop.run_once());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("timer callback"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("boom"), std::string::npos) << errors[0];
}

TEST(EventLoop, WatchObserverSeesDescriptorsComeAndGo) {
  Loop loop;
  std::vector<std::tuple<int, bool, bool>> seen;
  loop.set_watch_observer([&](int fd, bool r, bool w) { seen.emplace_back(fd, r, w); });
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  int reads = 0;
  {
    IoWatch w(loop, sv[0], true, false, [&](bool r, bool) { reads += r ? 1 : 0; });
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0], std::make_tuple(sv[0], true, false));
    ASSERT_EQ(::write(sv[1], "x", 1), 1);
    loop.process();
    EXPECT_EQ(reads, 1) << "process() ran the ready descriptor without waiting";
    w.stop();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1], std::make_tuple(sv[0], false, false));
  }
  EXPECT_EQ(seen.size(), 2u) << "a stopped watch is announced once";
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(EventLoop, NextTimeoutFollowsTheEarliestArmedTimer) {
  Loop loop;
  EXPECT_FALSE(loop.next_timeout());
  int fired = 0;
  Timer late(loop, [&] { ++fired; });
  Timer early(loop, [&] { ++fired; });
  late.arm(10s);
  early.arm(200ms);
  auto t = loop.next_timeout();
  ASSERT_TRUE(t);
  EXPECT_LE(*t, 200ms);
  EXPECT_GT(*t, 150ms);
  early.disarm();
  t = loop.next_timeout();
  ASSERT_TRUE(t);
  EXPECT_GT(*t, 9s);
  late.disarm();
  EXPECT_FALSE(loop.next_timeout());
  early.arm(0us);
  loop.process();
  EXPECT_EQ(fired, 1) << "a due timer runs inside process()";
  EXPECT_FALSE(loop.next_timeout()) << "a fired timer is no longer armed";
}

TEST(EventLoop, ABorrowedBaseRunsOurEventsAndOutlivesTheLoop) {
  event_base* base = event_base_new();
  ASSERT_NE(base, nullptr);
  int fired = 0;
  {
    Loop loop(base);
    EXPECT_TRUE(loop.borrowed());
    Timer t(loop, [&] { ++fired; });
    t.arm(0us);
    event_base_dispatch(base);  // the caller's own dispatch
    EXPECT_EQ(fired, 1);
  }
  EXPECT_EQ(event_base_loop(base, EVLOOP_NONBLOCK), 1) << "the base is still usable, and empty";
  event_base_free(base);
}

}  // namespace
