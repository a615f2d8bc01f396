#include "engine/timing_wheel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <unordered_map>

#include "engine/clock.hpp"

namespace herald {
namespace {

constexpr int64_t t0_ms = 1'795'000'000'000; // 2026-11-17
const time_point t0 = from_ms(t0_ms);

time_point test_year_2100() {
  return from_ms(4'102'444'800'000); // 2100-01-01T00:00Z
}

std::vector<int64_t> dues(const std::vector<timer_entry>& es) {
  std::vector<int64_t> out;
  for (const auto& e : es)
    out.push_back(e.due_ms());
  return out;
}

TEST(TimingWheel, FiresDueEntriesInOrder) {
  timing_wheel wheel{t0};
  std::vector<int64_t> offsets{5000,   1,      86'400'000, 300,       299,
                               65'536, 65'535, 7,          3'600'000, 1};
  for (size_t i = 0; i < offsets.size(); ++i)
    wheel.insert(i + 1, t0 + duration{offsets[i]}, 0);
  EXPECT_EQ(wheel.size(), offsets.size());
  auto fired = wheel.pop_due(t0 + days_ms(2));
  ASSERT_EQ(fired.size(), offsets.size());
  auto got = dues(fired);
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
  EXPECT_EQ(got.front(), t0_ms + 1);
  EXPECT_EQ(got.back(), t0_ms + 86'400'000);
  EXPECT_TRUE(wheel.empty());
}

TEST(TimingWheel, FiresNothingBeforeItsDueTime) {
  timing_wheel wheel{t0};
  wheel.insert(1, t0 + duration{100}, 0);
  EXPECT_TRUE(wheel.pop_due(t0 + duration{99}).empty());
  EXPECT_EQ(wheel.now(), t0 + duration{99});
  auto fired = wheel.pop_due(t0 + duration{100});
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].id(), 1u);
  EXPECT_EQ(fired[0].due_ms(), t0_ms + 100);
}

TEST(TimingWheel, EntryAlreadyDueFiresOnNextPopBeforeLaterOnes) {
  timing_wheel wheel{t0};
  wheel.pop_due(t0 + duration{1000});
  wheel.insert(1, t0 + duration{1500}, 0);
  wheel.insert(2, t0 + duration{900}, 0);  // in the past
  wheel.insert(3, t0 + duration{1000}, 0); // exactly now
  wheel.insert(4, t0 - days_ms(3), 0);     // long past
  EXPECT_EQ(wheel.next_due(), t0 - days_ms(3));
  auto fired = wheel.pop_due(t0 + duration{2000});
  ASSERT_EQ(fired.size(), 4u);
  EXPECT_EQ(fired[0].id(), 4u);
  EXPECT_EQ(fired[1].id(), 2u);
  EXPECT_EQ(fired[2].id(), 3u);
  EXPECT_EQ(fired[3].id(), 1u);
}

TEST(TimingWheel, NextDueIsTheEarliestEntry) {
  timing_wheel wheel{t0};
  EXPECT_FALSE(wheel.next_due().has_value());
  wheel.insert(1, t0 + days_ms(40), 0);
  EXPECT_EQ(wheel.next_due(), t0 + days_ms(40));
  wheel.insert(2, t0 + std::chrono::hours{5} + duration{17}, 0);
  wheel.insert(3, t0 + std::chrono::hours{5} + duration{3}, 0);
  EXPECT_EQ(wheel.next_due(), t0 + std::chrono::hours{5} + duration{3});
  wheel.pop_due(t0 + std::chrono::hours{5} + duration{3});
  EXPECT_EQ(wheel.next_due(), t0 + std::chrono::hours{5} + duration{17});
  wheel.pop_due(t0 + days_ms(39));
  EXPECT_EQ(wheel.next_due(), t0 + days_ms(40));
  wheel.pop_due(t0 + days_ms(40));
  EXPECT_FALSE(wheel.next_due().has_value());
}

TEST(TimingWheel, ManyEntriesInOneMillisecondAllFire) {
  timing_wheel wheel{t0};
  for (uint64_t i = 1; i <= 1000; ++i)
    wheel.insert(i, t0 + std::chrono::hours{1}, 0);
  EXPECT_TRUE(wheel.pop_due(t0 + std::chrono::hours{1} - duration{1}).empty());
  auto fired = wheel.pop_due(t0 + std::chrono::hours{1});
  ASSERT_EQ(fired.size(), 1000u);
  std::vector<uint64_t> ids;
  for (const auto& e : fired)
    ids.push_back(e.id());
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());
  EXPECT_EQ(ids.front(), 1u);
  EXPECT_EQ(ids.back(), 1000u);
}

// Cancelling is lazy: the owner bumps the generation and drops stale entries on
// pop.
TEST(TimingWheel, CancellationByGenerationDropsStaleTimers) {
  timing_wheel wheel{t0};
  std::unordered_map<uint64_t, uint32_t> current; // the owner's generations
  auto arm = [&](uint64_t id, time_point due) {
    wheel.insert(id, due, ++current[id]);
  };
  arm(1, t0 + days_ms(3));
  arm(2, t0 + days_ms(3));
  arm(1, t0 + days_ms(5)); // re-armed: the day-3 timer of 1 is now stale
  ++current[2];            // cancelled outright
  std::vector<timer_entry> live;
  wheel.pop_due(t0 + days_ms(10), [&](const timer_entry& e) {
    if (e.armed_with(current[e.id()])) live.push_back(e);
  });
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].id(), 1u);
  EXPECT_EQ(live[0].due_ms(), to_ms(t0 + days_ms(5)));
  EXPECT_EQ(live[0].generation(), 2u);
  EXPECT_TRUE(wheel.empty());
}

// A wheel driven months ahead on a manual clock, jumping from due time to due
// time as a simulation does: every entry fires exactly at its due time, none is
// lost.
TEST(TimingWheel, DrivenMonthsAheadOnAManualClock) {
  manual_clock clock{t0};
  timing_wheel wheel{clock.now()};
  std::mt19937_64 rng{1};
  std::uniform_int_distribution<int64_t> offset{0, to_ms(t0 + days_ms(180)) -
                                                     t0_ms};
  constexpr size_t n = 20'000;
  for (uint64_t i = 1; i <= n; ++i)
    wheel.insert(i, t0 + duration{offset(rng)}, 0);
  size_t fired = 0;
  int64_t last = 0;
  while (auto next = wheel.next_due()) {
    ASSERT_TRUE(clock.set(std::max(*next, clock.now())));
    wheel.pop_due(clock.now(), [&](const timer_entry& e) {
      EXPECT_EQ(e.due_ms(), to_ms(clock.now()));
      EXPECT_GE(e.due_ms(), last);
      last = e.due_ms();
      ++fired;
    });
  }
  EXPECT_EQ(fired, n);
  EXPECT_LE(clock.now(), t0 + days_ms(180));
  EXPECT_GT(clock.now(), t0 + days_ms(179));
}

// At the start of a higher-level slot, only what is due then fires; the rest of
// the slot moves down a level and waits.
TEST(TimingWheel, SlotBoundaryFiresOnlyWhatIsDue) {
  for (int level = 1; level < 5; ++level) {
    int64_t width = int64_t{1} << (8 * level);
    int64_t b = (t0_ms / width + 3) * width; // a level-`level` slot start ahead
    timing_wheel wheel{t0};
    std::vector<int64_t> at{b - 1,         b,        b + 1, b + width / 2,
                            b + width - 1, b + width};
    for (size_t i = 0; i < at.size(); ++i)
      wheel.insert(i + 1, from_ms(at[i]), 0);
    for (auto t : at) {
      auto fired = wheel.pop_due(from_ms(t));
      ASSERT_EQ(fired.size(), 1u) << "level " << level << " at b+" << t - b;
      EXPECT_EQ(fired[0].due_ms(), t) << "level " << level;
    }
    EXPECT_TRUE(wheel.empty());
  }
}

TEST(TimingWheel, CoversYearsAhead) {
  timing_wheel wheel{t0};
  wheel.insert(1, t0 + days_ms(3 * 365), 0);
  wheel.insert(2, t0 + days_ms(40 * 365), 0);
  EXPECT_TRUE(wheel.pop_due(t0 + days_ms(3 * 365) - duration{1}).empty());
  EXPECT_EQ(wheel.pop_due(t0 + days_ms(3 * 365)).size(), 1u);
  auto fired = wheel.pop_due(t0 + days_ms(41 * 365));
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].id(), 2u);
}

TEST(TimingWheel, EntriesPackDueTimeAndGeneration) {
  static_assert(sizeof(timer_entry) == 16);
  timer_entry e{42, t0_ms, 0xFFFFFFFFu};
  EXPECT_EQ(e.id(), 42u);
  EXPECT_EQ(e.due(), t0);
  EXPECT_EQ(e.generation(), timer_entry::generation_mask);
  EXPECT_TRUE(e.armed_with(0xFFFFFFFFu));
  EXPECT_FALSE(e.armed_with(0xFFFFFFFEu));
  // Due times clamp to the representable range (the year 2109) and to the
  // epoch.
  EXPECT_GT(from_ms(timer_entry::max_due_ms), test_year_2100());
  EXPECT_EQ((timer_entry{1, timer_entry::max_due_ms + 5, 0}.due_ms()),
            timer_entry::max_due_ms);
  EXPECT_EQ((timer_entry{1, -5, 0}.due_ms()), 0);
  EXPECT_LT((timer_entry{1, 10, 7}.order_key()),
            (timer_entry{1, 11, 0}.order_key()));
}

// Random inserts interleaved with random advances, small and huge, against a
// sorted reference: each pop returns exactly the reference's due entries, in
// due order.
TEST(TimingWheel, MatchesAReferenceUnderRandomUse) {
  std::mt19937_64 rng{2026};
  timing_wheel wheel{t0};
  std::multimap<int64_t, uint64_t> reference;
  int64_t now = t0_ms;
  uint64_t next_id = 1;
  std::uniform_int_distribution<int> pick{0, 99};
  std::uniform_int_distribution<int> scale{0, 40};
  for (int round = 0; round < 3000; ++round) {
    int inserts = pick(rng) % 20;
    for (int i = 0; i < inserts; ++i) {
      // offsets from the past to years ahead, densest near now
      int64_t span = int64_t{1} << scale(rng);
      int64_t off =
        std::uniform_int_distribution<int64_t>{-span / 8, span}(rng);
      uint64_t id = next_id++;
      wheel.insert(id, from_ms(now + off), 0);
      reference.emplace(std::min(now + off, timer_entry::max_due_ms), id);
    }
    int64_t step =
      std::uniform_int_distribution<int64_t>{0, int64_t{1} << scale(rng)}(rng);
    now += step;
    if (pick(rng) < 30) {
      // Stop exactly at a slot boundary of some level, where cascades happen,
      // with entries one millisecond on either side of it.
      int64_t width = int64_t{1} << (8 * (1 + pick(rng) % 4));
      now = std::max(now - step, (now / width) * width);
      for (int64_t off : {int64_t{-1}, int64_t{0}, int64_t{1}, width / 2}) {
        uint64_t id = next_id++;
        wheel.insert(id, from_ms(now + off), 0);
        reference.emplace(std::min(now + off, timer_entry::max_due_ms), id);
      }
    }
    auto fired = wheel.pop_due(from_ms(now));
    std::vector<std::pair<int64_t, uint64_t>> expected;
    auto end = reference.upper_bound(now);
    for (auto it = reference.begin(); it != end; ++it)
      expected.emplace_back(it->first, it->second);
    reference.erase(reference.begin(), end);
    ASSERT_EQ(fired.size(), expected.size()) << "round " << round;
    auto got_dues = dues(fired);
    ASSERT_TRUE(std::is_sorted(got_dues.begin(), got_dues.end()));
    std::vector<std::pair<int64_t, uint64_t>> got;
    for (const auto& e : fired)
      got.emplace_back(e.due_ms(), e.id());
    std::sort(got.begin(), got.end());
    std::sort(expected.begin(), expected.end());
    ASSERT_EQ(got, expected) << "round " << round;
    ASSERT_EQ(wheel.size(), reference.size());
    if (reference.empty())
      ASSERT_FALSE(wheel.next_due().has_value());
    else
      ASSERT_EQ(wheel.next_due(), from_ms(reference.begin()->first));
  }
}

// The memory contract behind "10 million idle enrollments on one machine": a
// wheel full of entries spread over a month costs at most 32 bytes per entry,
// everything included.
TEST(TimingWheel, HoldsAMonthOfEntriesInAtMost32BytesEach) {
  timing_wheel wheel{t0};
  std::mt19937_64 rng{3};
  std::uniform_int_distribution<int64_t> offset{1, to_ms(t0 + days_ms(30)) -
                                                     t0_ms};
  constexpr size_t n = 1'000'000;
  for (uint64_t i = 1; i <= n; ++i)
    wheel.insert(i, t0 + duration{offset(rng)}, 0);
  auto per_entry = static_cast<double>(wheel.memory_bytes()) / n;
  EXPECT_LE(per_entry, 32.0);
  // Halfway through, the entries moved down the levels still fit the bound.
  wheel.pop_due(t0 + days_ms(15));
  per_entry = static_cast<double>(wheel.memory_bytes()) / wheel.size();
  EXPECT_LE(per_entry, 32.0);
}

} // namespace
} // namespace herald
