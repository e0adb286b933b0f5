#include "core/clock.hpp"

#include <gtest/gtest.h>

#include <string>

namespace rh {
namespace {

constexpr std::int64_t kFakeStart = 1'700'000'000'000;  // 2023-11-14T22:13:20Z

TEST(Rfc3339, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(kFakeStart), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(format_rfc3339(kFakeStart + 7), "2023-11-14T22:13:20.007Z");
  EXPECT_EQ(format_rfc3339(951'782'400'000), "2000-02-29T00:00:00.000Z");  // leap day
}

TEST(Rfc3339, ParsesWhatItFormats) {
  for (std::int64_t ms : {std::int64_t{0}, std::int64_t{1}, std::int64_t{999}, kFakeStart,
                          kFakeStart + 123, std::int64_t{951'782'400'000},
                          std::int64_t{4'102'444'799'999} /* 2099-12-31T23:59:59.999Z */}) {
    std::string s = format_rfc3339(ms);
    auto back = parse_rfc3339(s);
    ASSERT_TRUE(back.has_value()) << s;
    EXPECT_EQ(*back, ms) << s;
  }
}

TEST(Rfc3339, AcceptsTheRfcVariants) {
  EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20Z"), kFakeStart);
  EXPECT_EQ(parse_rfc3339("2023-11-14t22:13:20z"), kFakeStart);
  EXPECT_EQ(parse_rfc3339("2023-11-14 22:13:20Z"), kFakeStart);
  EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20.5Z"), kFakeStart + 500);
  EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20.05Z"), kFakeStart + 50);
  // Digits beyond milliseconds are truncated, not rounded.
  EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20.123999999Z"), kFakeStart + 123);
}

TEST(Rfc3339, AppliesOffsets) {
  EXPECT_EQ(parse_rfc3339("2023-11-14T23:13:20+01:00"), kFakeStart);
  EXPECT_EQ(parse_rfc3339("2023-11-14T16:43:20-05:30"), kFakeStart);
  EXPECT_EQ(parse_rfc3339("2023-11-15T00:13:20.250+02:00"), kFakeStart + 250);
  EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20+00:00"), kFakeStart);
  EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20-00:00"), kFakeStart);
}

TEST(Rfc3339, RejectsMalformedInput) {
  for (const char* bad : {
           "",
           "2023-11-14",
           "2023-11-14T22:13:20",         // no zone
           "2023-11-14T22:13Z",           // no seconds
           "2023-11-14T22:13:20.Z",       // empty fraction
           "2023-11-14T22:13:20,5Z",      // comma fraction
           "2023-11-14T22:13:20+0100",    // offset without colon
           "2023-11-14T22:13:20+01",      // offset without minutes
           "2023-11-14T22:13:20+1:00",    // one-digit hour
           "2023-11-14T22:13:20Zjunk",    // trailing text
           "2023-11-14T22:13:20+01:00 ",  // trailing space
           "2023-13-14T22:13:20Z",        // month 13
           "2023-00-14T22:13:20Z",        // month 0
           "2023-11-32T22:13:20Z",        // day 32
           "2023-11-00T22:13:20Z",        // day 0
           "2023-11-14T24:00:00Z",        // hour 24
           "2023-11-14T22:60:00Z",        // minute 60
           "2023-11-14T22:13:61Z",        // second 61
           "2023/11/14T22:13:20Z",        // wrong separators
           "2023-11-14X22:13:20Z",
           "20231114T221320Z",  // basic format
           "+2023-11-14T22:13:20Z",
           "2023-1a-14T22:13:20Z",
       }) {
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(FakeClock, MovesOnlyWhenTold) {
  FakeClock c;
  EXPECT_EQ(c.now_ms(), kFakeStart);
  c.advance_ms(1500);
  EXPECT_EQ(c.now_ms(), kFakeStart + 1500);
  c.set_ms(42);
  EXPECT_EQ(c.now_ms(), 42);
}

TEST(SystemClock, IsTheWallClock) {
  SystemClock c;
  // Later than the time this test was written, earlier than 2100.
  EXPECT_GT(c.now_ms(), kFakeStart);
  EXPECT_LT(c.now_ms(), 4'102'444'800'000);
}

}  // namespace
}  // namespace rh
