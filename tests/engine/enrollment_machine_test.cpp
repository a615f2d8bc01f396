#include "engine/enrollment_machine.hpp"

#include <gtest/gtest.h>

#include "time_helpers.hpp"

namespace herald {
namespace {

using namespace test;

template<class T>
std::vector<T> all_of(const effect_list& fx) {
  std::vector<T> out;
  for (const auto& e : fx)
    if (auto p = std::get_if<T>(&e)) out.push_back(*p);
  return out;
}

template<class T>
bool has(const effect_list& fx) {
  return !all_of<T>(fx).empty();
}

bool records(const effect_list& fx, history_event what,
             history_reason why = history_reason::none) {
  for (const auto& r : all_of<fx::record>(fx))
    if (r.what == what && r.why == why) return true;
  return false;
}

// The W1 sequence: invite, then three no_reply emails 3, 2 and 2 days apart, on
// the relative schedule with real-length days.
class Machine : public ::testing::Test {
 protected:
  Machine() {
    seq.steps = {
      step{step_channel::linkedin_invite,
           0,
           step_condition::always,
           {"", "Hi"},
           true},
      step{step_channel::email, 3, step_condition::no_reply, {"S", "B"}, true},
      step{step_channel::email, 2, step_condition::no_reply, {"S", "B"}, true},
      step{step_channel::email, 2, step_condition::no_reply, {"S", "B"}, true},
    };
    seq.status = sequence_status::active;
    seq.schedule.mode = schedule_mode::relative;
    seq.schedule.day = days_ms(1);
    cal = seq.schedule.calendar;
    ctx.seq = &seq;
    ctx.calendar = &cal;
    ctx.lead_zone = zone("UTC");
    e.id = enrollment_id{42};
    e.email_sender = account_id{1};
    e.linkedin_sender = account_id{2};
  }

  transition apply(const event& ev) {
    auto t = apply_event(e, ctx, ev, now);
    e = t.next;
    return t;
  }

  // Runs the current step through grant, intent and a sent outcome.
  transition send_current(send_outcome outcome = send_outcome::sent) {
    auto s = e.position;
    apply(ev::slot_granted{s});
    apply(ev::intent_durable{s, e.attempt});
    return apply(ev::send_result{s, e.attempt, outcome});
  }

  void fire() { apply(ev::timer_fired{e.generation}); }

  sequence seq;
  sending_calendar cal;
  machine_context ctx;
  enrollment e;
  time_point now = utc(2026, 12, 1, 10);
};

TEST_F(Machine, EnrollingArmsTheFirstStep) {
  auto t = apply(ev::enrolled{});
  auto timers = all_of<fx::arm_timer>(t.effects);
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].due, now);
  EXPECT_EQ(timers[0].generation, e.generation);
  EXPECT_EQ(e.phase, enrollment_phase::waiting);
  EXPECT_EQ(e.last_sent, now);
  EXPECT_TRUE(
    apply(ev::enrolled{}).effects.empty()); // a duplicate does nothing
}

TEST_F(Machine, AStepGoesThroughSlotIntentAndSend) {
  apply(ev::enrolled{});
  auto fired = apply(ev::timer_fired{e.generation});
  auto req = all_of<fx::request_slot>(fired.effects);
  ASSERT_EQ(req.size(), 1u);
  EXPECT_EQ(req[0].account, account_id{2});
  EXPECT_EQ(req[0].kind, step_channel::linkedin_invite);
  EXPECT_FALSE(req[0].follow_up);
  auto granted = apply(ev::slot_granted{0});
  ASSERT_EQ(all_of<fx::write_intent>(granted.effects).size(), 1u);
  EXPECT_FALSE(
    has<fx::send>(granted.effects)); // never before the intent is durable
  auto durable = apply(ev::intent_durable{0, 1});
  auto sends = all_of<fx::send>(durable.effects);
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].step, 0);
  EXPECT_TRUE(
    apply(ev::intent_durable{0, 1}).effects.empty()); // no second call
  now += std::chrono::minutes{1};
  auto done = apply(ev::send_result{0, 1, send_outcome::sent});
  EXPECT_TRUE(records(done.effects, history_event::sent));
  auto timers = all_of<fx::arm_timer>(done.effects);
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].due, now + days_ms(3));
  EXPECT_EQ(e.position, 1);
  EXPECT_EQ(e.invite_sent, now);
  EXPECT_TRUE(apply(ev::send_result{0, 1, send_outcome::sent}).effects.empty());
  fire();
  EXPECT_EQ(e.phase, enrollment_phase::awaiting_slot);
}

TEST_F(Machine, FollowUpsAskAsFollowUps) {
  apply(ev::enrolled{});
  fire();
  send_current();
  auto t = apply(ev::timer_fired{e.generation});
  auto req = all_of<fx::request_slot>(t.effects);
  ASSERT_EQ(req.size(), 1u);
  EXPECT_TRUE(req[0].follow_up);
  EXPECT_EQ(req[0].account, account_id{1});
}

TEST_F(Machine, StaleTimersDoNothing) {
  apply(ev::enrolled{});
  auto old = e.generation;
  apply(ev::auto_reply{now + days_ms(2)}); // re-arms: the first timer is stale
  EXPECT_GT(e.generation, old);
  EXPECT_TRUE(apply(ev::timer_fired{old}).effects.empty());
  EXPECT_EQ(e.phase, enrollment_phase::waiting);
}

TEST_F(Machine, ReplyWhileAskingForASlotWithdrawsItAndSendsNothing) {
  apply(ev::enrolled{});
  fire();
  auto t = apply(ev::reply{});
  EXPECT_EQ(all_of<fx::withdraw_slot>(t.effects).size(), 1u);
  auto halts = all_of<fx::halt>(t.effects);
  ASSERT_EQ(halts.size(), 1u);
  EXPECT_EQ(halts[0].state, enrollment_state::replied);
  EXPECT_TRUE(records(t.effects, history_event::halted, history_reason::reply));
  // The account granted before it saw the withdrawal: given back, not used.
  auto late = apply(ev::slot_granted{0});
  EXPECT_EQ(all_of<fx::release_slot>(late.effects).size(), 1u);
  EXPECT_FALSE(has<fx::write_intent>(late.effects));
  EXPECT_TRUE(apply(ev::intent_durable{0, 1}).effects.empty());
  EXPECT_TRUE(apply(ev::timer_fired{e.generation}).effects.empty());
}

TEST_F(Machine, ReplyBetweenGrantAndSendCancelsTheIntent) {
  apply(ev::enrolled{});
  fire();
  apply(ev::slot_granted{0});
  auto t = apply(ev::reply{});
  EXPECT_EQ(all_of<fx::release_slot>(t.effects).size(), 1u);
  EXPECT_TRUE(records(t.effects, history_event::cancelled));
  EXPECT_FALSE(has<fx::send>(apply(ev::intent_durable{0, 1}).effects));
  EXPECT_EQ(e.state, enrollment_state::replied);
}

TEST_F(Machine, ReplyDuringTheProviderCallKeepsTheOutcomeAndStops) {
  apply(ev::enrolled{});
  fire();
  apply(ev::slot_granted{0});
  apply(ev::intent_durable{0, 1});
  apply(ev::reply{});
  auto t = apply(ev::send_result{0, 1, send_outcome::sent});
  EXPECT_TRUE(records(t.effects, history_event::sent));
  EXPECT_FALSE(has<fx::arm_timer>(t.effects));
  EXPECT_EQ(e.phase, enrollment_phase::done);
  EXPECT_EQ(e.state, enrollment_state::replied);
}

TEST_F(Machine, AfterARestartAnOpenIntentIsUncertainAndNeverSentAgain) {
  apply(ev::enrolled{});
  fire();
  apply(ev::slot_granted{0}); // the intent, as storage holds it
  now += std::chrono::minutes{5};
  auto t = apply(ev::restarted{});
  EXPECT_TRUE(records(t.effects, history_event::uncertain));
  EXPECT_FALSE(has<fx::send>(t.effects));
  EXPECT_TRUE(e.has_uncertain);
  EXPECT_EQ(e.position, 1);
  auto timers = all_of<fx::arm_timer>(t.effects);
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].due, now + days_ms(3));
  // The lost call's durability or outcome, should one still come, is stale.
  EXPECT_TRUE(apply(ev::intent_durable{0, 1}).effects.empty());
  EXPECT_TRUE(apply(ev::send_result{0, 1, send_outcome::sent}).effects.empty());
  EXPECT_TRUE(apply(ev::restarted{}).effects.empty()); // once
}

TEST_F(Machine, AfterARestartAHaltedCallInFlightEndsUncertain) {
  apply(ev::enrolled{});
  fire();
  apply(ev::slot_granted{0});
  apply(ev::intent_durable{0, 1});
  apply(ev::reply{}); // storage holds the halted snapshot, still sending
  auto t = apply(ev::restarted{});
  EXPECT_TRUE(records(t.effects, history_event::uncertain));
  EXPECT_FALSE(has<fx::arm_timer>(t.effects));
  EXPECT_EQ(e.phase, enrollment_phase::done);
  EXPECT_EQ(e.state, enrollment_state::replied);
}

TEST_F(Machine, AfterARestartASlotRequestIsMadeAgain) {
  apply(ev::enrolled{});
  fire();
  ASSERT_EQ(e.phase, enrollment_phase::awaiting_slot);
  auto t = apply(ev::restarted{});
  auto req = all_of<fx::request_slot>(t.effects);
  ASSERT_EQ(req.size(), 1u);
  EXPECT_EQ(req[0].account, account_id{2});
  EXPECT_EQ(e.phase, enrollment_phase::awaiting_slot);
  // Waiting for its timer, there is nothing to redo.
  apply(ev::slot_granted{0});
  apply(ev::intent_durable{0, 1});
  apply(ev::send_result{0, 1, send_outcome::sent});
  ASSERT_EQ(e.phase, enrollment_phase::waiting);
  EXPECT_TRUE(apply(ev::restarted{}).effects.empty());
}

TEST_F(Machine, BouncesAndUnsubscribesHalt) {
  apply(ev::enrolled{});
  EXPECT_EQ(all_of<fx::halt>(apply(ev::bounce{}).effects)[0].state,
            enrollment_state::bounced);
  e = enrollment{};
  e.id = enrollment_id{43};
  e.email_sender = account_id{1};
  e.linkedin_sender = account_id{2};
  apply(ev::enrolled{});
  EXPECT_EQ(all_of<fx::halt>(apply(ev::unsubscribe{}).effects)[0].state,
            enrollment_state::unsubscribed);
  EXPECT_TRUE(apply(ev::reply{}).effects.empty()); // already halted
}

TEST_F(Machine, BouncedSendHaltsTheLead) {
  apply(ev::enrolled{});
  fire();
  auto t = send_current(send_outcome::bounced);
  EXPECT_TRUE(records(t.effects, history_event::bounced));
  EXPECT_EQ(e.state, enrollment_state::bounced);
  EXPECT_FALSE(has<fx::release_slot>(t.effects)); // the slot was used
}

TEST_F(Machine, DeferredSendAsksAgainAndUnknownGoesOnUncertain) {
  apply(ev::enrolled{});
  fire();
  auto deferred = send_current(send_outcome::deferred);
  EXPECT_TRUE(records(deferred.effects, history_event::deferred));
  EXPECT_EQ(all_of<fx::request_slot>(deferred.effects).size(), 1u);
  EXPECT_EQ(e.position, 0);
  auto unknown = send_current(send_outcome::unknown);
  EXPECT_TRUE(records(unknown.effects, history_event::uncertain));
  EXPECT_TRUE(e.has_uncertain);
  EXPECT_EQ(e.position, 1); // not resent: the enrollment goes on
  EXPECT_EQ(all_of<fx::arm_timer>(unknown.effects).size(), 1u);
}

TEST_F(Machine, FailedSendHalts) {
  apply(ev::enrolled{});
  fire();
  send_current(send_outcome::failed);
  EXPECT_EQ(e.state, enrollment_state::failed);
}

TEST_F(Machine, CompletesAfterTheLastStep) {
  apply(ev::enrolled{});
  for (int i = 0; i < 4; ++i) {
    fire();
    now += days_ms(3);
    auto t = send_current();
    if (i == 3) {
      EXPECT_TRUE(records(t.effects, history_event::completed));
      EXPECT_EQ(all_of<fx::halt>(t.effects)[0].state,
                enrollment_state::completed);
    }
  }
  EXPECT_EQ(e.state, enrollment_state::completed);
}

TEST_F(Machine, NoReplyStepsAreSkippedForALeadThatHadReplied) {
  apply(ev::enrolled{true});
  fire();
  send_current(); // step 1 is `always`
  auto t = apply(ev::timer_fired{e.generation});
  EXPECT_TRUE(
    records(t.effects, history_event::skipped, history_reason::lead_replied));
  EXPECT_FALSE(has<fx::request_slot>(t.effects));
  EXPECT_EQ(e.position, 2);
}

TEST_F(Machine, MissingContactFieldsSkipTheStepWithAReason) {
  ctx.lead_has_email = false;
  apply(ev::enrolled{});
  fire();
  send_current();
  auto t = apply(ev::timer_fired{e.generation});
  EXPECT_TRUE(
    records(t.effects, history_event::skipped, history_reason::no_email));
  ctx.lead_has_linkedin = false;
  e = enrollment{};
  e.id = enrollment_id{9};
  e.linkedin_sender = account_id{2};
  apply(ev::enrolled{});
  EXPECT_TRUE(records(apply(ev::timer_fired{e.generation}).effects,
                      history_event::skipped, history_reason::no_linkedin_url));
}

TEST_F(Machine, LinkedInMessageWaitsForTheInviteToBeAccepted) {
  seq.steps[1] = step{step_channel::linkedin_message,
                      1,
                      step_condition::no_reply,
                      {"", "Thanks"},
                      true};
  apply(ev::enrolled{});
  fire();
  send_current();
  auto sent_at = now;
  now += days_ms(1);
  auto t = apply(ev::timer_fired{e.generation});
  EXPECT_TRUE(records(t.effects, history_event::waiting_invite));
  EXPECT_EQ(e.phase, enrollment_phase::waiting_invite);
  auto timers = all_of<fx::arm_timer>(t.effects);
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].due, sent_at + days_ms(14));
  now += days_ms(2);
  auto accepted = apply(ev::invite_accepted{});
  auto req = all_of<fx::request_slot>(accepted.effects);
  ASSERT_EQ(req.size(), 1u);
  EXPECT_EQ(req[0].kind, step_channel::linkedin_message);
  EXPECT_EQ(req[0].account, account_id{2});
  EXPECT_TRUE(apply(ev::timer_fired{timers[0].generation}).effects.empty());
}

TEST_F(Machine, LinkedInMessageIsSkippedAfterTheGracePeriod) {
  seq.steps[1] = step{step_channel::linkedin_message,
                      1,
                      step_condition::no_reply,
                      {"", "Thanks"},
                      true};
  apply(ev::enrolled{});
  fire();
  send_current();
  now += days_ms(1);
  fire();
  now += days_ms(13);
  auto t = apply(ev::timer_fired{e.generation});
  EXPECT_TRUE(records(t.effects, history_event::skipped,
                      history_reason::invite_not_accepted));
  EXPECT_EQ(e.position, 2);
  // Due after the grace period already: skipped at once.
  seq.steps[2] = seq.steps[1];
  now += days_ms(30);
  EXPECT_TRUE(records(apply(ev::timer_fired{e.generation}).effects,
                      history_event::skipped,
                      history_reason::invite_not_accepted));
}

TEST_F(Machine, AutoReplyPostponesTheNextStep) {
  apply(ev::enrolled{});
  fire();
  send_current();
  auto back = now + days_ms(10);
  auto t = apply(ev::auto_reply{back});
  EXPECT_TRUE(
    records(t.effects, history_event::postponed, history_reason::auto_reply));
  auto timers = all_of<fx::arm_timer>(t.effects);
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].due, back);
  EXPECT_EQ(e.state, enrollment_state::active);
  // Without a return date: a week.
  auto u = apply(ev::auto_reply{});
  EXPECT_TRUE(
    all_of<fx::arm_timer>(u.effects).empty()); // already later than a week
  EXPECT_EQ(e.postponed_until, back);
}

TEST_F(Machine, AutoReplyWithoutADateWaitsAWeek) {
  apply(ev::enrolled{});
  fire();
  send_current();
  auto t = apply(ev::auto_reply{});
  auto timers = all_of<fx::arm_timer>(t.effects);
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].due, now + days_ms(7));
}

TEST_F(Machine, ColleagueReplyHaltsOnlyWhenTheSequenceSaysSo) {
  apply(ev::enrolled{});
  EXPECT_TRUE(apply(ev::colleague_replied{}).effects.empty());
  seq.stop_on_colleague_reply = true;
  apply(ev::colleague_replied{});
  EXPECT_EQ(e.state, enrollment_state::colleague_replied);
}

TEST_F(Machine, PauseKeepsThePlaceAndResumeSpreadsOverdueSteps) {
  seq.schedule.mode = schedule_mode::calendar;
  cal =
    sending_calendar{local_window{hm(9), hm(17)}, weekday_set::every_day(), {}};
  seq.schedule.calendar = cal;
  now = utc(2026, 12, 1, 10);
  apply(ev::enrolled{});
  fire();
  send_current(); // due again 3 days later, inside the window
  auto due = e.due;
  auto pause = apply(ev::sequence_paused{});
  EXPECT_TRUE(pause.effects.empty());
  EXPECT_TRUE(e.paused);
  now = due + days_ms(2);
  EXPECT_TRUE(apply(ev::timer_fired{e.generation - 1}).effects.empty());
  now = utc(2026, 12, 6, 12);
  auto resume = apply(ev::sequence_resumed{});
  auto timers = all_of<fx::arm_timer>(resume.effects);
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_GE(timers[0].due, now); // not in the past: no burst
  EXPECT_LT(timers[0].due, utc(2026, 12, 6, 17));
  EXPECT_EQ(e.position, 1); // the place was kept
}

TEST_F(Machine, PauseWhileAskingOrGrantedGivesTheSlotBack) {
  apply(ev::enrolled{});
  fire();
  auto p1 = apply(ev::sequence_paused{});
  EXPECT_EQ(all_of<fx::withdraw_slot>(p1.effects).size(), 1u);
  apply(ev::sequence_resumed{});
  fire();
  apply(ev::slot_granted{0});
  auto p2 = apply(ev::sequence_paused{});
  EXPECT_EQ(all_of<fx::release_slot>(p2.effects).size(), 1u);
  EXPECT_FALSE(has<fx::send>(apply(ev::intent_durable{0, 1}).effects));
  auto r = apply(ev::sequence_resumed{});
  EXPECT_EQ(all_of<fx::arm_timer>(r.effects).size(), 1u);
  fire();
  EXPECT_EQ(e.phase, enrollment_phase::awaiting_slot);
}

TEST_F(Machine, OutcomesOfAnotherStepAreIgnored) {
  apply(ev::enrolled{});
  fire();
  send_current();
  fire();
  apply(ev::slot_granted{1});
  apply(ev::intent_durable{1, 1});
  // A late repeat of step 0's outcome must not pass for step 1's.
  EXPECT_TRUE(
    apply(ev::send_result{0, 1, send_outcome::bounced}).effects.empty());
  EXPECT_EQ(e.state, enrollment_state::active);
  EXPECT_EQ(e.phase, enrollment_phase::sending);
}

// A deferral of attempt 1 repeated late, while attempt 2 is with the provider,
// must not pass for attempt 2's outcome (that would call the provider a third
// time after attempt 2 went out).
TEST_F(Machine, ALateOutcomeOfAnEarlierAttemptIsIgnored) {
  apply(ev::enrolled{});
  fire();
  send_current(send_outcome::deferred);
  EXPECT_EQ(e.attempt, 1);
  apply(ev::slot_granted{0});
  apply(ev::intent_durable{0, 2});
  EXPECT_EQ(e.phase, enrollment_phase::sending);
  EXPECT_TRUE(
    apply(ev::send_result{0, 1, send_outcome::deferred}).effects.empty());
  EXPECT_EQ(e.phase, enrollment_phase::sending);
  auto t = apply(ev::send_result{0, 2, send_outcome::sent});
  EXPECT_TRUE(records(t.effects, history_event::sent));
  EXPECT_EQ(e.position, 1);
  EXPECT_EQ(e.attempt, 0);
}

TEST_F(Machine, EnrollingInAPausedSequenceArmsNothing) {
  seq.status = sequence_status::paused;
  auto t = apply(ev::enrolled{});
  EXPECT_FALSE(has<fx::arm_timer>(t.effects));
  EXPECT_TRUE(e.paused);
  auto r = apply(ev::sequence_resumed{});
  EXPECT_EQ(all_of<fx::arm_timer>(r.effects).size(), 1u);
}

} // namespace
} // namespace herald
