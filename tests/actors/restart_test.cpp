// A restart: recover() rebuilds what the runtime lost from storage.

#include <gtest/gtest.h>

#include "runtime_fixture.hpp"
#include "storage/history.hpp"
#include "storage/recovery.hpp"

namespace herald::actors {
namespace {

using test::answering_later;
using test::Runtime;

TEST_F(Runtime, RecoverComesOnceAndBeforeAnythingElse) {
  start(0);
  EXPECT_TRUE(rt->recover());
  EXPECT_FALSE(rt->recover()); // budgets would count twice
  auto fresh = [&] {
    rt->stop();
    rt.reset();
    gc->stop();
    gc.reset();
    db.reset();
    start(0);
  };
  fresh();
  rt->tick();
  EXPECT_FALSE(rt->recover());
  fresh();
  enroll(1);
  EXPECT_FALSE(rt->recover());
}

TEST_F(Runtime, ARestartArmsEveryWaitingEnrollmentAgain) {
  start(0);
  auto t0 = clock.now();
  enroll(20);
  run_until(t0 + days_ms(1)); // the invites went; the emails are days away
  ASSERT_EQ(linkedin.count(), 20u);
  auto r = restart(0);
  EXPECT_EQ(r.enrollments, 20u);
  EXPECT_EQ(r.armed, 20u);
  EXPECT_EQ(r.resolved, 0u);
  EXPECT_EQ(r.unknown_sequence, 0u);
  EXPECT_EQ(rt->stats().resident, 0u); // passive until due
  run_to_the_end();
  expect_each_step_once_to_the_end(t0, 20);
  // Enrolling an id recovered is refused like any duplicate.
  EXPECT_FALSE(rt->enroll(enrollment_of(3, 3), make_lead(3), false));
}

TEST_F(Runtime, ARestartMarksAnOpenIntentUncertainAndNeverSendsItAgain) {
  answering_later invites; // never answers: the outcome is never written
  start(0, {}, &invites);
  enroll(2);
  rt->advance();
  rt->settle();
  ASSERT_EQ(invites.requests.size(), 2u);
  ASSERT_TRUE(storage::has_open_intent(stored(1)));
  answering_later after;
  auto r = restart(0, &after);
  EXPECT_EQ(r.enrollments, 2u);
  EXPECT_EQ(r.armed, 0u);
  EXPECT_EQ(r.resolved, 2u);
  auto e = stored(1);
  EXPECT_FALSE(storage::has_open_intent(e));
  EXPECT_TRUE(e.has_uncertain);
  EXPECT_EQ(e.position, 1);
  auto lines = storage::read_lead_history(*db, workspace_id{1}, lead_id{1});
  ASSERT_TRUE(lines);
  ASSERT_FALSE(lines->empty());
  EXPECT_EQ(lines->back().step, 0);
  EXPECT_EQ(lines->back().what, history_event::uncertain);
  run_to_the_end();
  EXPECT_TRUE(after.requests.empty()); // the invite is never made again
  EXPECT_EQ(email.count(), 6u);        // the sequence goes on
  EXPECT_EQ(stored(2).state, enrollment_state::completed);
}

TEST_F(Runtime, ARestartAsksAgainForASlotAPausedAccountHeld) {
  start(0);
  ASSERT_TRUE(rt->control(account_id{2}, account_event::pause));
  enroll(3);
  run_until(clock.now() + days_ms(1));
  rt->settle();
  EXPECT_EQ(linkedin.count(), 0u); // asked, and held by the pause
  auto r = restart(0);             // the account comes back unpaused
  EXPECT_EQ(r.enrollments, 3u);
  // A request is not a durable point: the timer that made it fires again.
  EXPECT_EQ(r.armed, 3u);
  run_to_the_end();
  auto sent = sends();
  EXPECT_EQ(sent.size(), 12u);
  for (const auto& [key, times] : sent)
    EXPECT_EQ(times, 1);
  EXPECT_EQ(stored(3).state, enrollment_state::completed);
}

TEST_F(Runtime, ARestartKeepsTodaysSendsAgainstTheCaps) {
  invites_per_day = 3;
  start(0);
  enroll(5);
  rt->advance();
  rt->settle();
  ASSERT_EQ(linkedin.count(), 3u); // two wait for tomorrow
  auto r = restart(0);
  EXPECT_EQ(r.sends_counted, 3u);
  rt->advance(); // the two ask again at once, and wait again
  rt->settle();
  EXPECT_EQ(linkedin.count(), 3u);
  auto tomorrow = date::floor<date::days>(clock.now()) + date::days{1};
  run_until(tomorrow);
  EXPECT_EQ(linkedin.count(), 5u);
  for (const auto& [key, times] : sends())
    EXPECT_EQ(times, 1);
}

// Slots spent on calls whose outcome was never recorded stay spent.
TEST_F(Runtime, ARestartKeepsTheSlotsOfOpenIntentsSpent) {
  invites_per_day = 2;
  answering_later invites; // never answers
  start(0, {}, &invites);
  enroll(2);
  rt->advance();
  rt->settle();
  ASSERT_EQ(invites.requests.size(), 2u);
  answering_later after;
  auto r = restart(0, &after);
  EXPECT_EQ(r.resolved, 2u);
  EXPECT_EQ(r.sends_counted, 2u);
  rt->enroll(enrollment_of(3, 3), store_leads(3, 3)[0], false);
  rt->advance();
  rt->settle();
  EXPECT_TRUE(after.requests.empty()); // today's two are spent
  run_until(date::floor<date::days>(clock.now()) + date::days{1});
  ASSERT_EQ(after.requests.size(), 1u);
  EXPECT_EQ(after.requests[0].enrollment, enrollment_id{3});
}

// Sends recorded past a snapshot's 32 history lines count too.
TEST_F(Runtime, ARestartCountsSendsRecordedPastTheSnapshotsLines) {
  invites_per_day = 1;
  answering_later invites;
  start(0, {}, &invites);
  enroll(1);
  rt->advance();
  rt->settle();
  for (size_t i = 0; i < storage::snapshot_history_limit + 2; ++i) {
    ASSERT_EQ(invites.requests.size(), i + 1);
    invites.answers[i](send_report{send_outcome::deferred, "busy"});
    rt->settle();
  }
  invites.answers.back()(send_report{send_outcome::sent, "at last"});
  rt->settle();
  ASSERT_EQ(stored(1).position, 1);
  auto r = restart(0);
  EXPECT_EQ(r.sends_counted, 1u);
  rt->enroll(enrollment_of(2, 2), store_leads(2, 2)[0], false);
  rt->advance();
  rt->settle();
  EXPECT_EQ(linkedin.count(), 0u); // the day's one invite went before
}

TEST_F(Runtime, ARestartAsksAgainForTheSlotADeferredSendWaitsFor) {
  answering_later invites;
  start(0, {}, &invites);
  enroll(1);
  rt->advance();
  rt->settle();
  ASSERT_EQ(invites.requests.size(), 1u);
  ASSERT_TRUE(rt->control(account_id{2}, account_event::pause));
  rt->settle();
  invites.answers[0](send_report{send_outcome::deferred, "try later"});
  rt->settle();
  // The deferral is recorded with the request it made, held by the pause.
  ASSERT_EQ(stored(1).phase, enrollment_phase::awaiting_slot);
  answering_later after;
  auto r = restart(0, &after);
  EXPECT_EQ(r.armed, 0u);
  EXPECT_EQ(r.resolved, 1u);
  ASSERT_EQ(after.requests.size(), 1u); // asked again, granted, called
  EXPECT_EQ(after.requests[0].step, 0);
  EXPECT_EQ(after.requests[0].attempt, 2);
}

// The figures a scan of the snapshots gives: what the counters must show.
sequence_counters::figures scanned_figures(const storage::store& db,
                                           size_t steps) {
  sequence_counters::figures f;
  f.steps.resize(steps);
  EXPECT_TRUE(storage::scan_snapshots(db, [&](const auto& snapshot) {
    const auto& e = snapshot.e;
    ++f.states[static_cast<size_t>(e.state)];
    if (e.state == enrollment_state::active) {
      ++f.phases[static_cast<size_t>(e.phase)];
      if (e.position < steps) ++f.steps[e.position].waiting;
    }
    for (const auto& line : snapshot.history) {
      if (line.what == history_event::sent) ++f.steps[line.step].sent;
      if (line.what == history_event::skipped) ++f.steps[line.step].skipped;
    }
  }));
  return f;
}

TEST_F(Runtime, TheSequencesFiguresFollowItsEnrollmentsAndSurviveARestart) {
  start(0);
  auto t0 = clock.now();
  EXPECT_FALSE(rt->figures(sequence_id{9}));
  enroll(10);
  auto f = *rt->figures(sequence_id{1});
  EXPECT_EQ(f.steps.size(), 4u);
  EXPECT_EQ(f.steps[0].waiting, 10u);
  EXPECT_EQ(f.states[0], 10u);
  // One lead replied elsewhere before: its no_reply steps are skipped.
  auto late = store_leads(11, 11);
  ASSERT_TRUE(rt->enroll(enrollment_of(11, 11), late[0], true));
  run_until(t0 + days_ms(1)); // the invites went
  ASSERT_TRUE(rt->deliver(enrollment_id{1}, lead_event::reply));
  ASSERT_TRUE(rt->deliver(enrollment_id{2}, lead_event::bounce));
  rt->settle();
  f = *rt->figures(sequence_id{1});
  EXPECT_EQ(f.steps[0].sent, 11u);
  EXPECT_EQ(f.steps[0].waiting, 0u);
  EXPECT_EQ(f.steps[1].waiting, 9u);
  EXPECT_EQ(f.states[static_cast<size_t>(enrollment_state::replied)], 1u);
  EXPECT_EQ(f.states[static_cast<size_t>(enrollment_state::bounced)], 1u);
  EXPECT_EQ(f, scanned_figures(*db, 4));
  auto before = f;
  restart(0);
  EXPECT_EQ(*rt->figures(sequence_id{1}), before);
  run_to_the_end();
  f = *rt->figures(sequence_id{1});
  EXPECT_EQ(f, scanned_figures(*db, 4));
  EXPECT_EQ(f.states[static_cast<size_t>(enrollment_state::completed)], 9u);
  EXPECT_EQ(f.states[0], 0u);
  for (size_t step = 1; step < 4; ++step) {
    EXPECT_EQ(f.steps[step].sent, 8u) << step;
    EXPECT_EQ(f.steps[step].skipped, 1u) << step;
    EXPECT_EQ(f.steps[step].waiting, 0u) << step;
  }
}

} // namespace
} // namespace herald::actors
