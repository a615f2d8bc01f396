#include "engine/warmup.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace herald {
namespace {

constexpr account_limits ramped(uint32_t start, uint32_t increment,
                                uint32_t ceiling, uint32_t cap) {
  account_limits l;
  l.daily_cap = cap;
  l.ramp = warmup{start, increment, ceiling};
  return l;
}

TEST(Warmup, WithoutARampEveryDayIsTheDailyCap) {
  account_limits l;
  l.daily_cap = 35;
  EXPECT_EQ(email_daily_allowance(l, 0), 35u);
  EXPECT_EQ(email_daily_allowance(l, 1000), 35u);
  // An increment alone is no ramp: start 0 means none.
  l.ramp.increment = 5;
  EXPECT_EQ(email_daily_allowance(l, 0), 35u);
}

TEST(Warmup, RampGrowsByItsIncrementUpToTheCeiling) {
  auto l = ramped(10, 5, 40, 50);
  EXPECT_EQ(email_daily_allowance(l, 0), 10u);
  EXPECT_EQ(email_daily_allowance(l, 1), 15u);
  EXPECT_EQ(email_daily_allowance(l, 5), 35u);
  EXPECT_EQ(email_daily_allowance(l, 6), 40u);
  EXPECT_EQ(email_daily_allowance(l, 7), 40u);
  EXPECT_EQ(email_daily_allowance(l, 365), 40u);
}

TEST(Warmup, NeverAboveTheDailyCap) {
  // No ceiling: the daily cap stops the ramp.
  auto l = ramped(10, 10, 0, 35);
  EXPECT_EQ(email_daily_allowance(l, 2), 30u);
  EXPECT_EQ(email_daily_allowance(l, 3), 35u);
  // A ceiling above the cap does not lift it.
  l.ramp.ceiling = 100;
  EXPECT_EQ(email_daily_allowance(l, 9), 35u);
  // Nor does a start above it.
  EXPECT_EQ(email_daily_allowance(ramped(80, 5, 0, 50), 0), 50u);
}

TEST(Warmup, LargeFiguresSaturateInsteadOfOverflowing) {
  constexpr uint32_t max = std::numeric_limits<uint32_t>::max();
  EXPECT_EQ(email_daily_allowance(ramped(max, max, 0, max), max), max);
  EXPECT_EQ(email_daily_allowance(ramped(2, max, 0, 50), max), 50u);
  // 2 + 2 x 2^31 wraps to 2 in 32 bits; the cap must win instead.
  EXPECT_EQ(email_daily_allowance(ramped(2, 2, 0, max), 1u << 31), max);
  EXPECT_EQ(email_daily_allowance(ramped(2, max, 7, 50), max), 7u);
}

TEST(Warmup, UsableAtCompileTime) {
  static_assert(email_daily_allowance(ramped(10, 5, 40, 50), 2) == 20);
  SUCCEED();
}

} // namespace
} // namespace herald
