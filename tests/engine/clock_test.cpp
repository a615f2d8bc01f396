#include "engine/clock.hpp"

#include <gtest/gtest.h>

namespace herald {
namespace {

const time_point t0 = from_ms(1'795'000'000'000);

TEST(ManualClock, MovesOnlyWhenTold) {
  manual_clock clock{t0};
  EXPECT_EQ(clock.now(), t0);
  EXPECT_EQ(clock.now(), t0);
  EXPECT_TRUE(clock.advance(days_ms(30)));
  EXPECT_EQ(clock.now(), t0 + days_ms(30));
  EXPECT_TRUE(clock.set(t0 + days_ms(31)));
  EXPECT_EQ(clock.now(), t0 + days_ms(31));
}

TEST(ManualClock, NeverMovesBackwards) {
  manual_clock clock{t0};
  EXPECT_FALSE(clock.advance(duration{-1}));
  EXPECT_FALSE(clock.set(t0 - duration{1}));
  EXPECT_EQ(clock.now(), t0);
  EXPECT_TRUE(clock.set(t0)); // staying put is allowed
  EXPECT_EQ(clock.now(), t0);
}

TEST(ManualClock, WorksThroughTheInterface) {
  manual_clock manual{t0};
  const clock& c = manual;
  ASSERT_TRUE(manual.advance(duration{5}));
  EXPECT_EQ(c.now(), t0 + duration{5});
}

TEST(SystemClock, TracksTheSystemTime) {
  system_clock clock;
  auto before =
    std::chrono::time_point_cast<duration>(std::chrono::system_clock::now());
  auto now = clock.now();
  auto after =
    std::chrono::time_point_cast<duration>(std::chrono::system_clock::now());
  EXPECT_LE(before, now);
  EXPECT_LE(now, after);
}

} // namespace
} // namespace herald
