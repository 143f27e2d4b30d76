// test_policy.cpp - the v=ONIONMX1 policy record grammar
// (docs/policy-record.md): accepted forms, rejections, selection rule.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/test_util.hpp"
#include "record/policy.hpp"

namespace {

using namespace onionmx::record;
using onionmx::base::Status;
using onionmx::test::contains;

TEST(Policy, Accepts) {
  const std::pair<const char*, Policy> cases[] = {
      {"v=ONIONMX1; mode=enforce; max_age=604800", {PolicyMode::Enforce, 604800}},
      {"v=ONIONMX1;mode=testing;max_age=0;", {PolicyMode::Testing, 0}},
      {"v=ONIONMX1 ;\tmax_age=86400 ; mode=none ; ", {PolicyMode::None, 86400}},
      {"v=ONIONMX1; mode=enforce; x-ext=1.2; max_age=31557600", {PolicyMode::Enforce, 31557600}},
      {"v=ONIONMX1; max_age=0000000001; mode=enforce", {PolicyMode::Enforce, 1}},
  };
  for (const auto& [text, want] : cases) {
    auto p = parse_policy(text);
    ASSERT_TRUE(p) << text << ": " << p.error().detail;
    EXPECT_EQ(p->mode, want.mode) << text;
    EXPECT_EQ(p->max_age, want.max_age) << text;
  }
}

TEST(Policy, Rejects) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "does not begin with v=ONIONMX1"},
      {"v=onionmx1; mode=enforce; max_age=1", "does not begin"},
      {" v=ONIONMX1; mode=enforce; max_age=1", "does not begin"},
      {"v=ONIONMX1", "no fields"},
      {"v=ONIONMX1;", "no fields"},
      {"v=ONIONMX10; mode=enforce; max_age=1", "expected ';'"},
      {"v=ONIONMX1; mode=enforce", "max_age missing"},
      {"v=ONIONMX1; max_age=5", "mode missing"},
      {"v=ONIONMX1; mode=Enforce; max_age=5", "mode must be"},
      {"v=ONIONMX1; mode=enforce; mode=none; max_age=5", "mode given twice"},
      {"v=ONIONMX1; mode=enforce; max_age=5; max_age=6", "max_age given twice"},
      {"v=ONIONMX1; mode=enforce; max_age=-1", "decimal digits"},
      {"v=ONIONMX1; mode=enforce; max_age=31557601", "max_age over"},
      {"v=ONIONMX1; mode=enforce; max_age=99999999999", "too large"},
      {"v=ONIONMX1; mode=enforce; max_age=", "bad value"},
      {"v=ONIONMX1; mode=enforce max_age=5", "expected ';'"},
      {"v=ONIONMX1; mode=enforce;; max_age=5", "field without '='"},
      {"v=ONIONMX1; _x=1; mode=enforce; max_age=5", "bad field name"},
      {"v=ONIONMX1; v=ONIONMX1; mode=enforce; max_age=5", "v given twice"},
      {"v=ONIONMX1; mode=enforce; max_age=5; x=a=b", "bad value"},
      {"v=ONIONMX1; mode=enforce; max_age=5\n", "bad value"},
  };
  for (const auto& [text, want] : cases) {
    auto p = parse_policy(text);
    ASSERT_FALSE(p) << text;
    EXPECT_EQ(p.error().code, Status::BadData);
    EXPECT_TRUE(contains(p.error().detail, want)) << text << ": " << p.error().detail;
  }
}

TEST(Policy, FormatRoundTrips) {
  for (auto m : {PolicyMode::Enforce, PolicyMode::Testing, PolicyMode::None}) {
    Policy p{m, 1234};
    const std::string s = format_policy(p);
    auto back = parse_policy(s);
    ASSERT_TRUE(back) << s;
    EXPECT_EQ(back->mode, m);
    EXPECT_EQ(back->max_age, 1234u);
  }
  EXPECT_EQ(format_policy({PolicyMode::Testing, 60}), "v=ONIONMX1; mode=testing; max_age=60");
}

TEST(Policy, Selection) {
  auto one = select_policy({"v=spf1 -all", "v=ONIONMX1; mode=testing; max_age=60"});
  ASSERT_TRUE(one);
  EXPECT_EQ(one->mode, PolicyMode::Testing);
  auto none = select_policy({"v=spf1 -all", "v=ONIONMX10; mode=enforce; max_age=1"});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Status::NotFound);
  auto two =
      select_policy({"v=ONIONMX1; mode=testing; max_age=60", "v=ONIONMX1; mode=none; max_age=1"});
  ASSERT_FALSE(two);
  EXPECT_TRUE(contains(two.error().detail, "more than one"));
  auto broken = select_policy({"v=ONIONMX1; mode=sometimes; max_age=1"});
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code, Status::BadData);
}

}  // namespace
