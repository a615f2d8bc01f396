#include "actors/account.hpp"

#include <gtest/gtest.h>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <date/tz.h>

#include "testing.hpp"

namespace herald::actors {
namespace {

using std::chrono::hours;

// One email account (cap 2, no spacing, open all day, UTC), its timer shard,
// and a client recording the grants it receives.
class Account : public ::testing::Test, public test::deterministic_system {
 protected:
  Account() {
    router = sys.spawn(
      [this](timer_sink_actor::pointer) -> timer_sink_actor::behavior_type {
        return {[this](fired_atom, const fired_timers& f) {
          caf::anon_send(acc, fired_atom::value, f);
        }};
      });
    shard = sys.spawn(timer_shard, clock.now(), router, shard_hooks{});
    client = sys.spawn(
      [this](slot_client_actor::pointer) -> slot_client_actor::behavior_type {
        return {[this](granted_atom, uint64_t enrollment, uint16_t step) {
          grants.emplace_back(enrollment, step);
        }};
      });
    sender_account a;
    a.id = account_id{7};
    a.kind = channel::email;
    a.limits.daily_cap = 2;
    a.limits.spacing = duration{0};
    a.limits.jitter = duration{0};
    a.limits.window =
      local_window{std::chrono::hours{0}, std::chrono::hours{0}};
    a.created_at = clock.now() - days_ms(30);
    acc = sys.spawn(account, a, date::locate_zone("UTC"), budget_policy{},
                    &clock, shard);
    sched.run();
  }

  void request(uint64_t enrollment, bool follow_up, uint16_t step = 0) {
    caf::anon_send(
      acc, request_atom::value,
      slot_request{enrollment, step_channel::email, follow_up, clock.now()},
      step, client);
    sched.run();
  }

  template<class... Ts>
  void tell(Ts... xs) {
    caf::anon_send(acc, xs...);
    sched.run();
  }

  // Moves the clock and the shard to `t`.
  void advance_to(time_point t) {
    ASSERT_TRUE(clock.set(t));
    sys.spawn([this](caf::event_based_actor* self) {
      self
        ->request(shard, caf::infinite, advance_atom::value, to_ms(clock.now()))
        .then([](int64_t, uint64_t) {});
    });
    sched.run();
  }

  std::vector<uint64_t> granted_ids() const {
    std::vector<uint64_t> out;
    for (auto [e, s] : grants)
      out.push_back(e);
    return out;
  }

  manual_clock clock{from_ms(1'796'205'600'000)}; // Tue 2026-12-01 10:00 UTC
  timer_sink_actor router;
  timer_shard_actor shard;
  slot_client_actor client;
  account_actor acc;
  std::vector<std::pair<uint64_t, uint16_t>> grants;
};

TEST_F(Account, GrantsAtOnceWhileTheBudgetAllows) {
  request(1, false, 0);
  request(2, true, 3);
  ASSERT_EQ(grants.size(), 2u);
  EXPECT_EQ(grants[0], (std::pair<uint64_t, uint16_t>{1, 0}));
  EXPECT_EQ(grants[1], (std::pair<uint64_t, uint16_t>{2, 3}));
}

TEST_F(Account, AShortBudgetGoesToFollowUpsFirst) {
  tell(pause_atom::value);
  for (uint64_t e = 1; e <= 3; ++e)
    request(e, false); // first steps, asked first
  request(10, true);
  request(11, true);
  EXPECT_TRUE(grants.empty()); // paused: everything waits, nothing is dropped
  tell(resume_atom::value);
  EXPECT_EQ(granted_ids(), (std::vector<uint64_t>{10, 11}));
}

TEST_F(Account, WakesOnTheNextDayThroughTheTimerShard) {
  request(1, false);
  request(2, false);
  request(3, false); // over the cap: waits for tomorrow
  EXPECT_EQ(grants.size(), 2u);
  advance_to(from_ms(1'796'205'600'000) + hours{13} + std::chrono::minutes{59});
  EXPECT_EQ(grants.size(), 2u);           // 23:59 UTC: still today
  advance_to(from_ms(1'796'256'000'000)); // Wed 2026-12-02 00:00 UTC
  EXPECT_EQ(granted_ids(), (std::vector<uint64_t>{1, 2, 3}));
}

TEST_F(Account, ReleasedAndDeferredGrantsAreGivenBack) {
  request(1, false);
  request(2, false);
  request(3, false);
  EXPECT_EQ(grants.size(), 2u);
  // Never used: given back as deferred, which frees its slot.
  tell(outcome_atom::value, uint64_t{1}, send_outcome::deferred);
  EXPECT_EQ(granted_ids(), (std::vector<uint64_t>{1, 2, 3}));
  request(4, false);
  tell(outcome_atom::value, uint64_t{2}, send_outcome::deferred);
  EXPECT_EQ(grants.size(), 4u); // the deferral gave 2's slot to 4
  request(5, false);
  tell(outcome_atom::value, uint64_t{3}, send_outcome::sent);
  EXPECT_EQ(grants.size(), 4u); // delivered: stays counted
}

TEST_F(Account, AWithdrawnRequestIsNeverGranted) {
  tell(pause_atom::value);
  request(1, false);
  request(2, false);
  tell(withdraw_atom::value, uint64_t{1}, step_channel::email);
  tell(resume_atom::value);
  EXPECT_EQ(granted_ids(), (std::vector<uint64_t>{2}));
}

TEST_F(Account, ARevokedAccountGrantsNothingEvenWhenResumed) {
  tell(revoke_atom::value);
  request(1, false);
  tell(resume_atom::value);
  advance_to(clock.now() + days_ms(3));
  EXPECT_TRUE(grants.empty());
}

} // namespace
} // namespace herald::actors

namespace herald::actors {
namespace {

// Slots taken and settled without a message obey the same budget, and never
// jump the queue: with a request waiting, nothing is taken directly.
TEST_F(Account, SlotsTakenDirectlyKeepTheCapAndTheQueue) {
  auto& st = state_of(acc);
  EXPECT_TRUE(take_slot(st, 1, step_channel::email, clock.now()));
  EXPECT_TRUE(take_slot(st, 2, step_channel::email, clock.now()));
  EXPECT_FALSE(take_slot(st, 3, step_channel::email, clock.now())); // cap 2
  request(4, false); // waits in the queue
  EXPECT_TRUE(grants.empty());
  // A deferral gives a slot back: it goes to the one waiting, not to a
  // direct taker.
  settle_slot(st, acc, 1, send_outcome::deferred, clock.now());
  EXPECT_FALSE(take_slot(st, 5, step_channel::email, clock.now()));
  sched.run();
  EXPECT_EQ(granted_ids(), (std::vector<uint64_t>{4}));
  // Sent stays counted; an unknown grant settles nothing.
  settle_slot(st, acc, 2, send_outcome::sent, clock.now());
  settle_slot(st, acc, 99, send_outcome::deferred, clock.now());
  sched.run();
  EXPECT_FALSE(take_slot(st, 6, step_channel::email, clock.now()));
}

} // namespace
} // namespace herald::actors
