#include "actors/runtime.hpp"

#include <gtest/gtest.h>

#include <future>
#include <map>
#include <set>

#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <date/tz.h>

#include "../storage/temp_dir.hpp"
#include "storage/codec.hpp"
#include "storage/history.hpp"
#include "storage/keys.hpp"
#include "storage/recovery.hpp"
#include "testing.hpp"

namespace herald::actors {
namespace {

// The assembled runtime, deterministic: CAF's testing scheduler, the group
// commit in synchronous mode, no I/O threads, a manual clock. settle() runs
// everything in flight; advance() fires what is due. A real RocksDB in a temp
// dir, simulated providers. The sequence is W1's shape: a LinkedIn invite,
// then three no_reply emails 3, 2 and 2 days apart.
class Runtime : public ::testing::Test {
 protected:
  ~Runtime() override {
    if (rt) rt->stop();
    if (gc) gc->stop();
  }

  // `invites`: the LinkedIn channel's provider, if not the simulated one.
  void start(int first_delay_days, runtime_options o = {},
             provider* invites = nullptr) {
    storage::storage_options so;
    so.path = dir.str();
    so.synchronous = true;
    auto opened = storage::store::open(so);
    ASSERT_TRUE(opened);
    db = std::move(*opened);
    gc.emplace(*db);
    o.deterministic = true;
    rt.emplace(o, clock, *db, *gc);
    rt->add_channel(channel::email, &email);
    rt->add_channel(channel::linkedin,
                    invites != nullptr ? invites : &linkedin);
    email_account = rt->add_account(sender(1, channel::email), utc());
    linkedin_account = rt->add_account(sender(2, channel::linkedin), utc());
    rt->add_sequence(test::w1_shaped_sequence(first_delay_days), utc());
  }

  // A restart: the runtime, the group commit and the store go, as in a crash
  // once the last round is written; the store is opened again and the runtime
  // recovers from it.
  runtime::recovery_totals restart(int first_delay_days,
                                   provider* invites = nullptr) {
    rt->stop();
    rt.reset();
    gc->stop();
    gc.reset();
    db.reset();
    start(first_delay_days, {}, invites);
    auto recovered = rt->recover();
    EXPECT_TRUE(recovered) << (recovered ? "" : recovered.error().message);
    rt->settle();
    return recovered ? *recovered : runtime::recovery_totals{};
  }

  // Enrollments leave memory when their next step is an hour or more away.
  void start_passivating(int first_delay_days, size_t max_parked = 4096) {
    runtime_options o;
    o.passivate_after = std::chrono::hours{1};
    o.max_parked = max_parked;
    start(first_delay_days, o);
  }

  static const date::time_zone* utc() { return date::locate_zone("UTC"); }

  sender_account sender(uint64_t id, channel kind) {
    sender_account a;
    a.id = account_id{id};
    a.workspace = workspace_id{1};
    a.kind = kind;
    a.limits.daily_cap = 1000;
    a.limits.invites_per_week = a.limits.messages_per_day = 1000;
    a.limits.invites_per_day = invites_per_day;
    a.limits.spacing = duration{0};
    a.limits.jitter = duration{0};
    a.limits.window =
      local_window{std::chrono::hours{0}, std::chrono::hours{0}};
    a.created_at = clock.now() - days_ms(365);
    return a;
  }

  // Enrollment `id` of `lead` in `sequence`, bound to accounts 1 and 2.
  static enrollment enrollment_of(uint64_t id, uint64_t lead,
                                  uint64_t sequence = 1) {
    enrollment e;
    e.id = enrollment_id{id};
    e.workspace = workspace_id{1};
    e.sequence = sequence_id{sequence};
    e.lead = lead_id{lead};
    e.email_sender = account_id{1};
    e.linkedin_sender = account_id{2};
    return e;
  }

  static std::shared_ptr<lead> make_lead(uint64_t i) {
    auto l = std::make_shared<lead>();
    l->id = lead_id{i};
    l->workspace = workspace_id{1};
    l->first_name = "Lead" + std::to_string(i);
    l->email = "lead" + std::to_string(i) + "@example.test";
    l->linkedin_url = "https://www.linkedin.com/in/lead" + std::to_string(i);
    return l;
  }

  // Stores leads first..last as an import would (durable when it returns).
  std::vector<std::shared_ptr<lead>> store_leads(uint64_t first,
                                                 uint64_t last) {
    storage::write_set w;
    std::vector<std::shared_ptr<lead>> leads;
    for (uint64_t i = first; i <= last; ++i) {
      auto l = make_lead(i);
      w.put(storage::cf::leads, storage::key::lead(l->workspace, l->id),
            storage::encode(*l));
      leads.push_back(std::move(l));
    }
    gc->post(std::move(w), nullptr);
    gc->flush_once();
    return leads;
  }

  // Stores leads 1..n and enrolls each.
  void enroll(uint64_t n) {
    auto leads = store_leads(1, n);
    for (auto& l : leads) {
      auto e = enrollment_of(l->id.value, l->id.value);
      EXPECT_TRUE(rt->enroll(e, std::move(l), false));
    }
    rt->settle();
  }

  // Moves the clock from due time to due time until nothing is armed or the
  // next due time is past `until`.
  void run_until(time_point until) {
    while (auto next = rt->advance()) {
      if (*next > until) break;
      ASSERT_TRUE(clock.set(std::max(*next, clock.now())));
    }
  }
  void run_to_the_end() { run_until(time_point::max()); }

  enrollment stored(uint64_t id) {
    auto got =
      db->get(storage::cf::enrollments,
              storage::key::enrollment(workspace_id{1}, enrollment_id{id}));
    EXPECT_TRUE(got && got->has_value());
    return *storage::decode_enrollment(**got);
  }

  // Every (enrollment, step) sent, with how many times.
  std::map<std::pair<uint64_t, uint16_t>, int> sends() const {
    std::map<std::pair<uint64_t, uint16_t>, int> out;
    for (const auto& r : linkedin.sent())
      ++out[{r.request.enrollment.value, r.request.step}];
    for (const auto& r : email.sent())
      ++out[{r.request.enrollment.value, r.request.step}];
    return out;
  }

  // Every one of 1..n enrolled at `t0` ran W1's four steps once each and
  // completed, seven days on.
  void expect_each_step_once_to_the_end(time_point t0, uint64_t n) {
    auto sent = sends();
    EXPECT_EQ(sent.size(), 4 * n);
    for (const auto& [key, times] : sent)
      EXPECT_EQ(times, 1) << "enrollment " << key.first << " step "
                          << key.second;
    EXPECT_EQ(clock.now(), t0 + days_ms(7));
    for (uint64_t i = 1; i <= n; ++i)
      EXPECT_EQ(stored(i).state, enrollment_state::completed);
  }

  caf::scheduler::test_coordinator& sched() {
    return dynamic_cast<caf::scheduler::test_coordinator&>(
      rt->system().scheduler());
  }

  uint32_t invites_per_day = 1000;
  herald::test::temp_dir dir;
  manual_clock clock{from_ms(1'796'205'600'000)};
  sim_provider email;
  sim_provider linkedin;
  std::unique_ptr<storage::store> db;
  std::optional<storage::group_commit> gc;
  std::optional<runtime> rt;
  account_actor email_account;
  account_actor linkedin_account;
};

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
  // Their first step is three days away: snapshots and timers only.
  EXPECT_EQ(rt->stats().resident, 0u);
  EXPECT_EQ(rt->stats().passivations, 10u);
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
  start_passivating(3, max_parked);
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

TEST_F(Runtime, AnEnrollmentIsNotGivenBackTheActorItLeft) {
  start_passivating(3);
  enroll(2); // both passive, their actors kept
  EXPECT_EQ(rt->stats().parked, 2u);
  // Enrollment 2 left last; enrollment 1 gets its actor, not its own.
  ASSERT_TRUE(rt->deliver(enrollment_id{1}, lead_event::reply));
  rt->settle();
  EXPECT_EQ(rt->stats().reused, 1u);
  EXPECT_EQ(stored(1).state, enrollment_state::replied);
  // Now both kept actors last had enrollment 1: a new one is spawned for it.
  ASSERT_TRUE(rt->deliver(enrollment_id{1}, lead_event::bounce));
  rt->settle();
  EXPECT_EQ(rt->stats().activations, 2u);
  EXPECT_EQ(rt->stats().reused, 1u);
  EXPECT_EQ(stored(1).state, enrollment_state::replied);
}

TEST_F(Runtime, KeptActorsBeyondTheIdleKeepQuitWhenTrimmed) {
  runtime_options o;
  o.passivate_after = std::chrono::hours{1};
  o.max_parked = 8;
  o.keep_parked = 3;
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
  EXPECT_EQ(rt->stats().activations, 1u);
  EXPECT_EQ(stored(2).state, enrollment_state::replied);
  EXPECT_EQ(rt->stats().resident, 0u);
  run_to_the_end();
  for (const auto& [key, times] : sends())
    EXPECT_NE(key.first, 2u) << "a replied lead got step " << key.second;
  EXPECT_EQ(linkedin.count(), 2u);
  EXPECT_EQ(email.count(), 6u);
  // The replied enrollment's timer (its first step, day 3) still fired, and
  // was dropped without activating it: 1 activation for the reply, then one
  // per step for each of the other two.
  EXPECT_EQ(rt->stats().stale_dropped, 1u);
  EXPECT_EQ(rt->stats().activations, 1u + 2 * 4);
}

TEST_F(Runtime, AnActivationWaitsUntilTheLastSnapshotIsDurable) {
  start_passivating(3);
  ASSERT_TRUE(rt->enroll(enrollment_of(1, 1), store_leads(1, 1)[0], false));
  // Actors only: the enrollment snapshot waits in the group commit's queue,
  // and the idle actor has already left memory.
  sched().run();
  EXPECT_EQ(rt->stats().resident, 0u);
  EXPECT_GT(gc->backlog_bytes(), 0u);
  ASSERT_TRUE(rt->deliver(enrollment_id{1}, lead_event::reply));
  sched().run();
  // Held back: storage has nothing to read yet.
  EXPECT_EQ(rt->stats().deferred_activations, 1u);
  EXPECT_EQ(rt->stats().activations, 0u);
  // The round lands; the activation reads the snapshot and applies the reply.
  rt->settle();
  EXPECT_EQ(rt->stats().activations, 1u);
  EXPECT_EQ(rt->stats().failed_activations, 0u);
  EXPECT_EQ(stored(1).state, enrollment_state::replied);
  EXPECT_EQ(rt->stats().resident, 0u);
  run_to_the_end();
  EXPECT_EQ(email.count() + linkedin.count(), 0u);
}

TEST_F(Runtime, AFailedLastSnapshotIsNotActivatedFromAnOlderOne) {
  start_passivating(3);
  enroll(1); // its first snapshot durable, and passive
  ASSERT_EQ(rt->stats().resident, 0u);
  // The group commit refuses every write from now on. The reply activates
  // the enrollment, which halts and leaves memory, but its snapshot saying
  // so fails: storage still holds the waiting one.
  gc->stop();
  ASSERT_TRUE(rt->deliver(enrollment_id{1}, lead_event::reply));
  rt->settle();
  EXPECT_EQ(rt->stats().activations, 1u);
  EXPECT_EQ(stored(1).state, enrollment_state::active);
  // The next event is not applied to that older state.
  ASSERT_TRUE(rt->deliver(enrollment_id{1}, lead_event::resume));
  rt->settle();
  EXPECT_EQ(rt->stats().activations, 1u);
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

// A direct provider that answers after its call has returned, when the test
// says so.
class answering_later final : public provider {
 public:
  void send(send_request r, std::function<void(send_report)> done) override {
    requests.push_back(std::move(r));
    answers.push_back(std::move(done));
  }
  bool direct() const override { return true; }

  std::vector<send_request> requests;
  std::vector<std::function<void(send_report)>> answers;
};

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

// The threaded runtime: enroll() waits while max_pending_enrolls enrollments
// wait for their first job, and goes on once they have had it. The one CAF
// thread is held by a test actor, so no enrollment can have its first job.
TEST(RuntimeIntake, EnrollWaitsWhileTooManyWaitForTheirFirstJob) {
  herald::test::temp_dir dir;
  storage::storage_options so;
  so.path = dir.str();
  auto opened = storage::store::open(so);
  ASSERT_TRUE(opened);
  auto db = std::move(*opened);
  storage::group_commit gc{*db};
  manual_clock clock{from_ms(1'796'205'600'000)};
  runtime_options o;
  o.threads = 1;
  o.io_threads = 1;
  o.max_pending_enrolls = 2;
  o.passivate_after = std::chrono::hours{1};
  runtime rt{o, clock, *db, gc};
  sim_provider delivery;
  rt.add_channel(channel::email, &delivery);
  rt.add_channel(channel::linkedin, &delivery);
  rt.add_sequence(test::w1_shaped_sequence(3), date::locate_zone("UTC"));

  std::promise<void> gate;
  auto held = gate.get_future().share();
  auto blocker = rt.system().spawn([held](caf::event_based_actor*) {
    return caf::behavior{[held](int) { held.wait(); }};
  });
  caf::anon_send(blocker, 1);

  auto enroll = [&](uint64_t i) {
    enrollment e;
    e.id = enrollment_id{i};
    e.workspace = workspace_id{1};
    e.sequence = sequence_id{1};
    e.lead = lead_id{i};
    auto l = std::make_shared<lead>();
    l->id = e.lead;
    l->workspace = e.workspace;
    l->email = "lead@example.test";
    return rt.enroll(e, l, false);
  };
  ASSERT_TRUE(enroll(1));
  ASSERT_TRUE(enroll(2));
  auto third = std::async(std::launch::async, [&] { return enroll(3); });
  // Two wait for their first job: the third enroll() waits too (a correct
  // runtime never returns here, so the wait cannot pass by luck).
  EXPECT_EQ(third.wait_for(std::chrono::milliseconds{100}),
            std::future_status::timeout);
  gate.set_value();
  ASSERT_EQ(third.wait_for(std::chrono::seconds{30}),
            std::future_status::ready);
  EXPECT_TRUE(third.get());
  EXPECT_EQ(rt.stats().enrolled, 3u);
  caf::anon_send_exit(blocker, caf::exit_reason::user_shutdown);
  rt.stop();
  gc.stop();
}

} // namespace
} // namespace herald::actors
