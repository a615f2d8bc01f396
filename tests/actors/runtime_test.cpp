#include <gtest/gtest.h>

#include <map>
#include <set>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "runtime_fixture.hpp"
#include "storage/history.hpp"
#include "storage/recovery.hpp"

namespace herald::actors {
namespace {

using test::answering_later;
using test::Runtime;

TEST_F(Runtime, RunsEverySequenceToTheEndAndLeavesNothingResident) {
  start(0);
  auto t0 = clock.now();
  enroll(20);
  run_to_the_end();
  expect_each_step_once_to_the_end(t0, 20);
  auto s = rt->stats();
  EXPECT_EQ(s.enrolled, 20u);
  EXPECT_EQ(s.resident, 0u);
  EXPECT_EQ(s.passivations, 80u); // between steps, days apart, and at the end
}

TEST_F(Runtime, IdleEnrollmentsLeaveMemoryAndComeBackWhenDue) {
  start_passivating(3);
  enroll(10);
  // Their first step is three days away: snapshots and timers only, written
  // by enroll() itself (no actor).
  EXPECT_EQ(rt->stats().resident, 0u);
  EXPECT_EQ(rt->stats().enrolled_in_place, 10u);
  EXPECT_EQ(rt->stats().passivations, 0u);
  EXPECT_EQ(linkedin.count(), 0u);
  run_until(clock.now() + days_ms(3));
  EXPECT_EQ(linkedin.count(), 10u);
  // Activated from their snapshots for the invite, then gone again (the next
  // step is three days away).
  EXPECT_EQ(rt->stats().activations, 10u);
  EXPECT_EQ(rt->stats().resident, 0u);
  EXPECT_EQ(stored(4).position, 1);
  run_to_the_end();
  EXPECT_EQ(email.count(), 30u);
  EXPECT_EQ(rt->stats().activations, 40u); // once per step
  for (const auto& [key, times] : sends())
    EXPECT_EQ(times, 1);
  EXPECT_EQ(stored(7).state, enrollment_state::completed);
  EXPECT_EQ(email.sent()[0].request.subject.substr(0, 10), "Hello Lead");
  // Each activation read the history back with the state: the lead's history
  // has every step, found through the index enroll() wrote.
  auto lines = storage::read_lead_history(*db, workspace_id{1}, lead_id{7});
  ASSERT_TRUE(lines);
  ASSERT_EQ(lines->size(), 5u);
  for (uint16_t step = 0; step < 4; ++step) {
    EXPECT_EQ((*lines)[step].step, step);
    EXPECT_EQ((*lines)[step].what, history_event::sent);
  }
  EXPECT_EQ(lines->back().what, history_event::completed);
}

// Runs ten W1 enrollments that leave memory between steps; with `max_parked`
// actors kept for reuse. Every step once, every history whole, either way.
class RuntimeReuse : public Runtime,
                     public ::testing::WithParamInterface<size_t> {};

TEST_P(RuntimeReuse, ReusedActorsCarryNothingOfTheirLastEnrollment) {
  const size_t max_parked = GetParam();
  start_passivating(3, max_parked, false);
  enroll(10);
  EXPECT_EQ(rt->stats().resident, 0u);
  run_to_the_end();
  auto s = rt->stats();
  EXPECT_EQ(s.activations, 40u);
  // Each activation of a step takes an actor another enrollment left: ten
  // left at enrollment, and each leaves again after its step.
  EXPECT_EQ(s.reused, max_parked == 0 ? 0u : 40u);
  EXPECT_EQ(email.count(), 30u);
  EXPECT_EQ(linkedin.count(), 10u);
  for (const auto& [key, times] : sends())
    EXPECT_EQ(times, 1) << key.first << " step " << key.second;
  for (uint64_t i = 1; i <= 10; ++i) {
    EXPECT_EQ(stored(i).state, enrollment_state::completed);
    auto lines = storage::read_lead_history(*db, workspace_id{1}, lead_id{i});
    ASSERT_TRUE(lines);
    ASSERT_EQ(lines->size(), 5u) << "lead " << i;
    for (const auto& line : *lines)
      EXPECT_EQ(line.enrollment, enrollment_id{i});
  }
  // Each email went to its own lead.
  for (const auto& r : email.sent())
    EXPECT_EQ(r.request.to, "lead" +
                              std::to_string(r.request.enrollment.value) +
                              "@example.test");
}

INSTANTIATE_TEST_SUITE_P(KeptOrNot, RuntimeReuse,
                         ::testing::Values(size_t{0}, size_t{4096}));

// Enrollments that left memory as actors, or were passive from the start
// (enrolled in place): the same guarantees either way.
class RuntimeInPlace : public Runtime,
                       public ::testing::WithParamInterface<bool> {};

INSTANTIATE_TEST_SUITE_P(ActorsOrInPlace, RuntimeInPlace,
                         ::testing::Values(false, true));

TEST_F(Runtime, AnEnrollmentIsNotGivenBackTheActorItLeft) {
  start_passivating(3, 4096, false);
  enroll(2); // both passive, their actors kept
  EXPECT_EQ(rt->stats().parked, 2u);
  // Enrollment 2 left last; enrollment 1 gets its actor, not its own.
  ASSERT_TRUE(rt->deliver(enrollment_id{1}, lead_event::invite_accepted));
  rt->settle();
  EXPECT_EQ(rt->stats().reused, 1u);
  EXPECT_TRUE(stored(1).invite_accepted);
  // Now both kept actors last had enrollment 1: a new one is spawned for it.
  ASSERT_TRUE(rt->deliver(enrollment_id{1}, lead_event::pause));
  rt->settle();
  EXPECT_EQ(rt->stats().activations, 2u);
  EXPECT_EQ(rt->stats().reused, 1u);
  EXPECT_TRUE(stored(1).paused);
}

// An enrollment activated to halt needs no contact: its lead is not read back
// (here it is gone from storage, and the reply still halts it), while an
// event it keeps going after does read it.
TEST_P(RuntimeInPlace, AnActivationToHaltDoesNotReadTheLead) {
  runtime_options o;
  o.passivate_after = std::chrono::hours{1};
  o.in_place = GetParam();
  start(3, o);
  enroll(2);
  storage::write_set gone;
  for (uint64_t lead : {1, 2})
    gone.erase(storage::cf::leads,
               storage::key::lead(workspace_id{1}, lead_id{lead}));
  gc->post(std::move(gone), nullptr);
  gc->flush_once();
  ASSERT_TRUE(rt->deliver(enrollment_id{1}, lead_event::reply));
  rt->settle();
  EXPECT_EQ(rt->stats().failed_activations, 0u);
  EXPECT_EQ(stored(1).state, enrollment_state::replied);
  ASSERT_TRUE(rt->deliver(enrollment_id{2}, lead_event::invite_accepted));
  rt->settle();
  EXPECT_EQ(rt->stats().failed_activations, 1u);
  EXPECT_FALSE(stored(2).invite_accepted);
}

// An ended enrollment whose last snapshot (the one saying it ended) is not
// durable yet is not confirmed on the spot: storage may still say it is
// going, and a crash would bring that back.
TEST_F(Runtime, AnEndingNotYetDurableIsNotConfirmedOnTheSpot) {
  start_passivating(3, 4096, false);
  auto leads = store_leads(1, 1);
  ASSERT_TRUE(rt->enroll(enrollment_of(1, 1), leads[0], false));
  ASSERT_TRUE(rt->deliver(enrollment_id{1}, lead_event::reply));
  sched().run(); // it halts and leaves; its snapshot waits in the queue
  ASSERT_EQ(rt->stats().resident, 0u);
  ASSERT_GT(gc->backlog_bytes(), 0u);
  ASSERT_TRUE(rt->deliver(enrollment_id{1}, lead_event::bounce));
  sched().run();
  EXPECT_EQ(rt->stats().ended_inputs, 0u);
  EXPECT_EQ(rt->stats().deferred_activations, 1u);
  auto activations = rt->stats().activations;
  // Once the ending is durable, the bounce that waited for it is applied as
  // to any ended enrollment: without an activation.
  rt->settle();
  EXPECT_EQ(stored(1).state, enrollment_state::replied);
  EXPECT_EQ(rt->stats().ended_inputs, 1u);
  EXPECT_EQ(rt->stats().activations, activations);
  // And the next event at once.
  ASSERT_TRUE(rt->deliver(enrollment_id{1}, lead_event::bounce));
  rt->settle();
  EXPECT_EQ(rt->stats().ended_inputs, 2u);
  EXPECT_EQ(rt->stats().activations, activations);
}

// A reply to a lead that already replied (or bounced, or finished) changes
// nothing: its ended enrollment is not activated to find that out, before a
// restart or after it.
TEST_P(RuntimeInPlace, AnEndedEnrollmentTakesEventsWithoutAnActivation) {
  runtime_options o;
  o.passivate_after = std::chrono::hours{1};
  o.in_place = GetParam();
  start(3, o);
  enroll(2);
  ASSERT_TRUE(rt->deliver(enrollment_id{1}, lead_event::reply));
  rt->settle();
  ASSERT_EQ(stored(1).state, enrollment_state::replied);
  auto activations = rt->stats().activations;
  ASSERT_EQ(rt->stats().resident, 0u);
  auto again = [&] {
    EXPECT_TRUE(rt->deliver(enrollment_id{1}, lead_event::bounce));
    size_t reached = 99;
    rt->deliver_to_lead(workspace_id{1}, lead_id{1}, lead_event::reply,
                        std::nullopt, [&](size_t n) { reached = n; });
    rt->settle();
    EXPECT_EQ(reached, 1u); // confirmed, as applied
    EXPECT_EQ(rt->stats().activations, activations);
    EXPECT_EQ(stored(1).state, enrollment_state::replied);
  };
  again();
  EXPECT_EQ(rt->stats().ended_inputs, 3u);
  // The other enrollment, not ended, still takes its events (the bounce
  // halts it without an actor).
  auto halted = rt->stats().halted_in_place;
  ASSERT_TRUE(rt->deliver(enrollment_id{2}, lead_event::bounce));
  rt->settle();
  EXPECT_EQ(rt->stats().halted_in_place, halted + 1);
  EXPECT_EQ(stored(2).state, enrollment_state::bounced);
  restart(3);
  activations = rt->stats().activations;
  again();
}

TEST_F(Runtime, KeptActorsBeyondTheIdleKeepQuitWhenTrimmed) {
  runtime_options o;
  o.passivate_after = std::chrono::hours{1};
  o.max_parked = 8;
  o.keep_parked = 3;
  o.in_place = false;
  start(3, o);
  enroll(10); // all passive at once: 8 kept, 2 quit
  EXPECT_EQ(rt->stats().parked, 8u);
  EXPECT_EQ(rt->trim_parked(2), 3u); // 2 go, 3 still beyond the keep
  EXPECT_EQ(rt->trim_parked(100), 0u);
  rt->settle();
  EXPECT_EQ(rt->stats().parked, 3u);
  // The rest of the run is unchanged: the kept ones are reused, others spawn.
  run_to_the_end();
  EXPECT_EQ(email.count(), 30u);
  EXPECT_EQ(linkedin.count(), 10u);
  for (const auto& [key, times] : sends())
    EXPECT_EQ(times, 1);
  EXPECT_GT(rt->stats().reused, 0u);
  EXPECT_LE(rt->stats().parked, 8u);
}

// The timer shards tell accounts' wake-ups from enrollments' timers by the
// top bit of their ids: ids with it set are refused, not misrouted.
TEST_F(Runtime, RefusesIdsWithTheTopBitSet) {
  constexpr uint64_t top = uint64_t{1} << 63;
  EXPECT_FALSE(rt->enroll(enrollment_of(top | 7, 1), make_lead(1), false));
  EXPECT_EQ(rt->stats().enrolled, 0u);
  EXPECT_THROW(rt->add_account(sender(top | 3, channel::email), utc()),
               std::invalid_argument);
}

TEST_F(Runtime, AnEventForAPassiveEnrollmentActivatesIt) {
  start_passivating(3);
  enroll(3);
  ASSERT_EQ(rt->stats().resident, 0u);
  EXPECT_TRUE(rt->deliver(enrollment_id{2}, lead_event::reply));
  EXPECT_FALSE(rt->deliver(enrollment_id{99}, lead_event::reply));
  // Enrolling an id twice changes nothing, passive or not.
  EXPECT_FALSE(
    rt->enroll(enrollment_of(3, 3), std::make_shared<lead>(), false));
  rt->settle();
  // Passive from the start (enrolled without an actor), and halted without
  // one: a reply needs no actor.
  EXPECT_EQ(rt->stats().enrolled_in_place, 3u);
  EXPECT_EQ(rt->stats().activations, 0u);
  EXPECT_EQ(rt->stats().halted_in_place, 1u);
  EXPECT_EQ(stored(2).state, enrollment_state::replied);
  EXPECT_EQ(rt->stats().resident, 0u);
  // Its history has the reply.
  auto history = storage::read_lead_history(*db, workspace_id{1}, lead_id{2});
  ASSERT_TRUE(history);
  ASSERT_FALSE(history->empty());
  EXPECT_EQ(history->back().what, history_event::halted);
  EXPECT_EQ(history->back().why, history_reason::reply);
  // The figures moved with it.
  auto figures = rt->figures(sequence_id{1});
  ASSERT_TRUE(figures);
  EXPECT_EQ(figures->states[static_cast<size_t>(enrollment_state::replied)],
            1u);
  run_to_the_end();
  for (const auto& [key, times] : sends())
    EXPECT_NE(key.first, 2u) << "a replied lead got step " << key.second;
  EXPECT_EQ(linkedin.count(), 2u);
  EXPECT_EQ(email.count(), 6u);
  // The replied enrollment's timer (its first step, day 3) still fired, and
  // was dropped without activating it: one activation per step for each of
  // the other two.
  EXPECT_EQ(rt->stats().stale_dropped, 1u);
  EXPECT_EQ(rt->stats().activations, 2u * 4);
}

// A reply to a passive lead halts its enrollment without an actor, and its
// delivery is confirmed as applied; the lead's other enrollments are not
// touched.
TEST_P(RuntimeInPlace, AReplyHaltsAPassiveEnrollmentWithoutAnActor) {
  start_passivating(3, 4096, GetParam());
  enroll(2);
  ASSERT_EQ(rt->stats().resident, 0u);
  auto activations = rt->stats().activations;
  size_t reached = 99;
  rt->deliver_to_lead(workspace_id{1}, lead_id{1}, lead_event::reply,
                      std::nullopt, [&](size_t n) { reached = n; });
  rt->settle();
  EXPECT_EQ(reached, 1u);
  EXPECT_EQ(rt->stats().halted_in_place, 1u);
  EXPECT_EQ(rt->stats().activations, activations);
  EXPECT_EQ(rt->stats().resident, 0u);
  EXPECT_EQ(stored(1).state, enrollment_state::replied);
  EXPECT_EQ(stored(2).state, enrollment_state::active);
  auto figures = rt->figures(sequence_id{1});
  ASSERT_TRUE(figures);
  EXPECT_EQ(figures->states[static_cast<size_t>(enrollment_state::replied)],
            1u);
  EXPECT_EQ(figures->states[static_cast<size_t>(enrollment_state::active)], 1u);
  run_to_the_end();
  for (const auto& [key, times] : sends())
    EXPECT_NE(key.first, 1u) << "a replied lead got step " << key.second;
  EXPECT_EQ(email.count() + linkedin.count(), 4u);
}

TEST_P(RuntimeInPlace, AnActivationWaitsUntilTheLastSnapshotIsDurable) {
  start_passivating(3, 4096, GetParam());
  ASSERT_TRUE(rt->enroll(enrollment_of(1, 1), store_leads(1, 1)[0], false));
  // Actors only: the enrollment snapshot waits in the group commit's queue,
  // and the idle enrollment is passive (its actor left memory, or it never
  // had one).
  sched().run();
  EXPECT_EQ(rt->stats().resident, 0u);
  EXPECT_GT(gc->backlog_bytes(), 0u);
  ASSERT_TRUE(rt->deliver(enrollment_id{1}, lead_event::reply));
  sched().run();
  // Held back: storage has nothing to read yet.
  EXPECT_EQ(rt->stats().deferred_activations, 1u);
  EXPECT_EQ(rt->stats().halted_in_place, 0u);
  // The round lands; the activation reads the snapshot and applies the reply
  // (a halt: without an actor).
  rt->settle();
  EXPECT_EQ(rt->stats().halted_in_place, 1u);
  EXPECT_EQ(rt->stats().activations, 0u);
  EXPECT_EQ(rt->stats().failed_activations, 0u);
  EXPECT_EQ(stored(1).state, enrollment_state::replied);
  EXPECT_EQ(rt->stats().resident, 0u);
  run_to_the_end();
  EXPECT_EQ(email.count() + linkedin.count(), 0u);
}

// An import's batch: each enrollment once, passive or resident as enroll()
// would make it, a reply to one whose first snapshot is still queued held
// back until it is durable.
class RuntimeBatch : public Runtime,
                     public ::testing::WithParamInterface<int> {};

INSTANTIATE_TEST_SUITE_P(FarOrDueNow, RuntimeBatch, ::testing::Values(3, 0));

TEST_P(RuntimeBatch, EnrollsABatchAsOneAtATimeWould) {
  const int first_delay_days = GetParam();
  start_passivating(first_delay_days);
  std::vector<std::pair<enrollment, std::shared_ptr<const lead>>> batch;
  for (auto& l : store_leads(1, 3))
    batch.emplace_back(enrollment_of(l->id.value, l->id.value), l);
  batch.push_back(batch.front()); // enrolled once
  // The batch's index entries, queued first and reported.
  storage::write_set index;
  index.put(storage::cf::leads, "index-of-the-batch", "x");
  std::optional<bool> indexed;
  EXPECT_EQ(
    rt->enroll_all(batch, std::move(index),
                   [&](const storage::status& ok) { indexed = bool(ok); }),
    3u);
  EXPECT_EQ(rt->stats().enrolled, 3u);
  EXPECT_EQ(rt->stats().enrolled_in_place, first_delay_days > 0 ? 3u : 0u);
  sched().run();
  ASSERT_TRUE(rt->deliver(enrollment_id{2}, lead_event::reply));
  rt->settle();
  EXPECT_EQ(indexed, true);
  EXPECT_TRUE(db->get(storage::cf::leads, "index-of-the-batch")->has_value());
  EXPECT_EQ(stored(2).state, enrollment_state::replied);
  EXPECT_EQ(rt->stats().failed_activations, 0u);
  auto again = batch;
  EXPECT_EQ(rt->enroll_all(again, {}, nullptr), 0u);
  // An unknown sequence: nothing enrolled, nothing written.
  std::vector<std::pair<enrollment, std::shared_ptr<const lead>>> stray{
    {enrollment_of(50, 1, 99), batch.front().second}};
  storage::write_set unwritten;
  unwritten.put(storage::cf::leads, "never", "x");
  EXPECT_THROW(rt->enroll_all(stray, std::move(unwritten), nullptr),
               std::invalid_argument);
  rt->settle();
  EXPECT_FALSE(db->get(storage::cf::leads, "never")->has_value());
  run_to_the_end();
  for (const auto& [key, times] : sends()) {
    EXPECT_EQ(times, 1) << key.first << " step " << key.second;
    EXPECT_TRUE(key.first != 2 || (first_delay_days == 0 && key.second == 0))
      << "the replied lead got step " << key.second;
  }
  EXPECT_EQ(stored(1).state, enrollment_state::completed);
  EXPECT_EQ(stored(3).state, enrollment_state::completed);
}

TEST_P(RuntimeInPlace, AFailedLastSnapshotIsNotActivatedFromAnOlderOne) {
  start_passivating(3, 4096, GetParam());
  enroll(1); // its first snapshot durable, and passive
  ASSERT_EQ(rt->stats().resident, 0u);
  // The group commit refuses every write from now on. The reply halts the
  // passive enrollment, but its snapshot saying so fails: storage still
  // holds the waiting one.
  gc->stop();
  ASSERT_TRUE(rt->deliver(enrollment_id{1}, lead_event::reply));
  rt->settle();
  EXPECT_EQ(rt->stats().halted_in_place, 1u);
  EXPECT_EQ(stored(1).state, enrollment_state::active);
  // The next event is not applied to that older state.
  ASSERT_TRUE(rt->deliver(enrollment_id{1}, lead_event::resume));
  rt->settle();
  EXPECT_EQ(rt->stats().activations, 0u);
  EXPECT_EQ(rt->stats().failed_activations, 1u);
  run_to_the_end();
  EXPECT_EQ(email.count() + linkedin.count(), 0u);
}

TEST_F(Runtime, AReplyWhileTheSlotIsPendingHaltsAndFreesTheQueue) {
  start(0);
  ASSERT_TRUE(rt->control(account_id{2}, account_event::pause));
  EXPECT_FALSE(rt->control(account_id{77}, account_event::pause));
  enroll(1);
  // The invite's slot request waits in the paused account.
  EXPECT_EQ(rt->stats().resident, 1u);
  ASSERT_TRUE(rt->deliver(enrollment_id{1}, lead_event::reply));
  rt->settle();
  EXPECT_EQ(stored(1).state, enrollment_state::replied);
  ASSERT_TRUE(rt->control(account_id{2}, account_event::resume));
  rt->settle();
  run_to_the_end();
  EXPECT_EQ(linkedin.count(), 0u);
  EXPECT_EQ(email.count(), 0u);
  EXPECT_EQ(rt->stats().resident, 0u);
}

TEST_F(Runtime, AReplyBetweenGrantAndSendStopsTheCall) {
  start(0);
  enroll(0);
  // Store the lead and enroll, then run actors without writing any round: the
  // slot is granted and the intent waits in the group commit's queue.
  rt->enroll(enrollment_of(1, 1), store_leads(1, 1)[0], false);
  sched().run();
  rt->tick();
  sched().run();
  EXPECT_GT(gc->backlog_bytes(), 0u);
  ASSERT_TRUE(rt->deliver(enrollment_id{1}, lead_event::reply));
  sched().run();
  // Now the intent becomes durable: the provider must not be called.
  rt->settle();
  run_to_the_end();
  EXPECT_EQ(linkedin.count(), 0u);
  EXPECT_EQ(stored(1).state, enrollment_state::replied);
}

TEST_F(Runtime, AnAnswerAfterTheCallComesBackAsAMessage) {
  answering_later invites;
  start(0, {}, &invites);
  enroll(1);
  rt->advance();
  ASSERT_EQ(invites.requests.size(), 1u);
  // The call is not a durable point: the stored intent stays open until the
  // outcome is written, and nothing moves until the answer comes.
  rt->settle();
  EXPECT_TRUE(storage::has_open_intent(stored(1)));
  EXPECT_EQ(email.count(), 0u);
  invites.answers[0](send_report{send_outcome::sent, "later"});
  rt->settle();
  auto e = stored(1);
  EXPECT_FALSE(storage::has_open_intent(e));
  EXPECT_EQ(e.phase, enrollment_phase::waiting);
  EXPECT_EQ(e.position, 1);
  EXPECT_EQ(e.due, clock.now() + days_ms(3));
  run_to_the_end();
  EXPECT_EQ(invites.requests.size(), 1u);
  EXPECT_EQ(email.count(), 3u);
}

TEST_F(Runtime, PauseAndResumeKeepThePlaceAndSendEachStepOnce) {
  start_passivating(0);
  enroll(5);
  run_until(clock.now());
  ASSERT_EQ(linkedin.count(), 5u); // the invites
  for (uint64_t i = 1; i <= 5; ++i)
    ASSERT_TRUE(rt->deliver(enrollment_id{i}, lead_event::pause));
  rt->settle();
  EXPECT_TRUE(stored(3).paused);
  EXPECT_EQ(rt->stats().resident, 0u); // paused: idle, passive
  // Their armed timers come due while paused: stale, nothing is sent.
  ASSERT_TRUE(clock.set(clock.now() + days_ms(30)));
  rt->advance();
  EXPECT_EQ(email.count(), 0u);
  for (uint64_t i = 1; i <= 5; ++i)
    ASSERT_TRUE(rt->deliver(enrollment_id{i}, lead_event::resume));
  rt->settle();
  run_to_the_end();
  EXPECT_EQ(email.count(), 15u);
  for (const auto& [key, times] : sends())
    EXPECT_EQ(times, 1);
  EXPECT_EQ(stored(5).state, enrollment_state::completed);
}

} // namespace
} // namespace herald::actors

namespace herald::actors {
namespace {

// A LinkedIn warning pauses the account for its cool-down: the invites wait,
// then go out, each once.
TEST_F(Runtime, ALinkedInWarningHoldsTheInvitesForItsCoolDown) {
  start(0);
  ASSERT_TRUE(rt->control(account_id{2}, account_event::linkedin_warning));
  enroll(3);
  run_until(clock.now() + std::chrono::hours{1});
  EXPECT_EQ(linkedin.count(), 0u);
  run_until(clock.now() + days_ms(4));
  EXPECT_EQ(linkedin.count(), 3u);
  run_to_the_end();
  EXPECT_EQ(email.count(), 9u);
  for (const auto& [key, times] : sends())
    EXPECT_EQ(times, 1);
}

} // namespace
} // namespace herald::actors

namespace herald::actors {
namespace {

// A reply addressed to the lead halts it in every sequence of the workspace,
// passive enrollments included, and says so once each has applied it.
TEST_F(Runtime, AReplyToTheLeadHaltsItInEverySequence) {
  start_passivating(3);
  auto second = test::w1_shaped_sequence(0);
  second->seq.id = sequence_id{2};
  rt->add_sequence(std::move(second), utc());
  enroll(2); // leads 1 and 2 in sequence 1, first steps three days away
  auto lead_one = std::make_shared<lead>();
  lead_one->id = lead_id{1};
  lead_one->workspace = workspace_id{1};
  lead_one->linkedin_url = "https://www.linkedin.com/in/one";
  ASSERT_TRUE(rt->enroll(enrollment_of(100, 1, 2), lead_one, false));
  run_until(clock.now());
  ASSERT_EQ(linkedin.count(), 1u); // sequence 2's invite went at once

  std::optional<size_t> applied;
  rt->deliver_to_lead(workspace_id{1}, lead_id{1}, lead_event::reply,
                      std::nullopt, [&](size_t n) { applied = n; });
  rt->settle();
  ASSERT_TRUE(applied);
  EXPECT_EQ(*applied, 2u);
  EXPECT_EQ(stored(1).state, enrollment_state::replied);
  EXPECT_EQ(stored(100).state, enrollment_state::replied);
  EXPECT_EQ(stored(2).state, enrollment_state::active);
  run_to_the_end();
  for (const auto& [key, times] : sends()) {
    EXPECT_NE(key.first, 1u);
    EXPECT_TRUE(key.first != 100u || key.second == 0) << key.second;
  }
  EXPECT_EQ(email.count(), 3u); // lead 2's emails only

  std::optional<size_t> none;
  rt->deliver_to_lead(workspace_id{1}, lead_id{77}, lead_event::reply,
                      std::nullopt, [&](size_t n) { none = n; });
  rt->settle();
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0u);
}

// A colleague's reply reaches the other leads at the company's domain; the
// sequences that stop on one halt them.
TEST_F(Runtime,
       AColleaguesReplyHaltsTheCompanysOtherLeadsWhereTheSequenceSaysSo) {
  start_passivating(3);
  auto stopping = test::w1_shaped_sequence(3);
  stopping->seq.id = sequence_id{2};
  stopping->seq.stop_on_colleague_reply = true;
  rt->add_sequence(std::move(stopping), utc());
  enroll(3); // leads 1-3 at example.test, in sequence 1, which goes on
  auto other = make_lead(4);
  other->email = "someone@other.test";
  auto five = make_lead(5);
  five->email = "Five@EXAMPLE.test ";
  storage::write_set w;
  for (const auto& l : {other, five})
    w.put(storage::cf::leads, storage::key::lead(l->workspace, l->id),
          storage::encode(*l));
  gc->post(std::move(w), nullptr);
  gc->flush_once();
  ASSERT_TRUE(rt->enroll(enrollment_of(4, 4, 2), other, false));
  ASSERT_TRUE(rt->enroll(enrollment_of(5, 5, 2), five, false));
  ASSERT_TRUE(rt->enroll(enrollment_of(6, 1, 2), make_lead(1), false));
  rt->settle();

  std::optional<size_t> applied;
  rt->deliver_to_domain(workspace_id{1}, "example.test", lead_id{1},
                        lead_event::colleague_replied,
                        [&](size_t n) { applied = n; });
  rt->settle();
  ASSERT_TRUE(applied);
  EXPECT_EQ(*applied, 3u); // enrollments 2, 3 and 5
  EXPECT_EQ(stored(5).state, enrollment_state::colleague_replied);
  EXPECT_EQ(stored(2).state, enrollment_state::active); // its sequence goes on
  EXPECT_EQ(stored(6).state, enrollment_state::active); // the replier's own
  EXPECT_EQ(stored(4).state, enrollment_state::active); // another company
  run_to_the_end();
  for (const auto& [key, times] : sends())
    EXPECT_NE(key.first, 5u);
}

} // namespace
} // namespace herald::actors
