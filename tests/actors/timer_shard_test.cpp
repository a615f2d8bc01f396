#include "actors/timer_shard.hpp"

#include <gtest/gtest.h>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "engine/clock.hpp"
#include "testing.hpp"

namespace herald::actors {
namespace {

class TimerShard : public ::testing::Test, public test::deterministic_system {
 protected:
  TimerShard() {
    sink = sys.spawn(
      [this](timer_sink_actor::pointer) -> timer_sink_actor::behavior_type {
        return {[this](fired_atom, const fired_timers& f) {
          batches.push_back(f.entries);
        }};
      });
    shard = sys.spawn(timer_shard, clock.now(), sink, shard_hooks{});
    sched.run();
  }

  // Advances the shard to the clock's time and returns its reply.
  std::pair<int64_t, uint64_t> advance() {
    std::pair<int64_t, uint64_t> reply{-2, 0};
    sys.spawn([&](caf::event_based_actor* self) {
      self
        ->request(shard, caf::infinite, advance_atom::value, to_ms(clock.now()))
        .then([&](int64_t next, uint64_t fired) {
          reply = {next, fired};
        });
    });
    sched.run();
    return reply;
  }

  void arm(uint64_t id, time_point due, uint32_t generation = 0) {
    caf::anon_send(shard, arm_atom::value, id, to_ms(due), generation);
    sched.run();
  }

  manual_clock clock{from_ms(1'796'205'600'000)};
  timer_sink_actor sink;
  timer_shard_actor shard;
  std::vector<std::vector<timer_entry>> batches;
};

TEST_F(TimerShard, FiresOnlyWhenTheClockIsAdvanced) {
  auto t0 = clock.now();
  arm(1, t0 + days_ms(3));
  arm(2, t0 + days_ms(1));
  arm(3, t0 + days_ms(3), 7);
  // Nothing fires by itself: the shard's time is the runtime clock's, by
  // message.
  sched.run();
  EXPECT_TRUE(batches.empty());
  auto [next, fired] = advance();
  EXPECT_EQ(fired, 0u);
  EXPECT_EQ(next, to_ms(t0 + days_ms(1)));
  ASSERT_TRUE(clock.set(from_ms(next)));
  std::tie(next, fired) = advance();
  EXPECT_EQ(fired, 1u);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0][0].id(), 2u);
  EXPECT_EQ(next, to_ms(t0 + days_ms(3)));
}

TEST_F(TimerShard, ATimerArmedDirectlyFiresLikeOneArmedByMessage) {
  auto t0 = clock.now();
  std::vector<int64_t> told;
  shard_hooks hooks;
  hooks.armed = [&](int64_t due) { told.push_back(due); };
  shard = sys.spawn(timer_shard, t0, sink, hooks);
  sched.run();
  // No message: the wheel has it before any job runs.
  arm_timer(state_of(shard), timer_entry{5, to_ms(t0 + days_ms(2)), 3});
  EXPECT_EQ(told, std::vector<int64_t>{to_ms(t0 + days_ms(2))});
  arm(6, t0 + days_ms(1));
  ASSERT_TRUE(clock.set(t0 + days_ms(2)));
  auto [next, fired] = advance();
  EXPECT_EQ(fired, 2u);
  EXPECT_EQ(next, -1);
  ASSERT_EQ(batches.size(), 1u);
  ASSERT_EQ(batches[0].size(), 2u);
  EXPECT_EQ(batches[0][0].id(), 6u);
  EXPECT_EQ(batches[0][1].id(), 5u);
  EXPECT_EQ(batches[0][1].generation(), 3u);
  EXPECT_EQ(told.size(), 2u); // the message's arm is told too
}

TEST_F(TimerShard, AMonthRunsDeterministicallyOnTheManualClock) {
  auto t0 = clock.now();
  for (uint64_t i = 1; i <= 1000; ++i)
    caf::anon_send(shard, arm_atom::value, i,
                   to_ms(t0 + duration{static_cast<int64_t>(i * 2'591'000)}),
                   uint32_t{1});
  sched.run();
  uint64_t total = 0;
  int64_t next = 0;
  do {
    auto [n, fired] = advance();
    total += fired;
    next = n;
    if (next >= 0) {
      ASSERT_TRUE(clock.set(from_ms(next)));
    }
  } while (next >= 0);
  EXPECT_EQ(total, 1000u);
  std::vector<uint64_t> order;
  for (const auto& b : batches)
    for (const auto& e : b) {
      order.push_back(e.id());
      EXPECT_EQ(e.generation(), 1u);
    }
  ASSERT_EQ(order.size(), 1000u);
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end())); // due order
  EXPECT_LT(clock.now(), t0 + days_ms(31));
}

} // namespace
} // namespace herald::actors
