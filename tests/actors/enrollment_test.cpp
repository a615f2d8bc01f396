#include "actors/enrollment.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

#include <caf/event_based_actor.hpp>
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

// One W1 enrollment (invite, then three no_reply emails 3, 2 and 2 days apart)
// with everything real around it: RocksDB through the group commit (synchronous
// mode, so the test decides when rounds are written), a timer shard on the
// manual clock, the two bound accounts, and channels with simulated providers.
class Enrollment : public ::testing::Test, public test::deterministic_system {
 protected:
  Enrollment() {
    storage::storage_options o;
    o.path = dir.str();
    o.synchronous = true;
    auto opened = storage::store::open(o);
    db = std::move(*opened);
    gc.emplace(*db);
    auto router = sys.spawn(
      [this](timer_sink_actor::pointer) -> timer_sink_actor::behavior_type {
        return {[this](fired_atom, const fired_timers& f) {
          for (const auto& e : f.entries) {
            if (e.id() == account_timer_bit + 1)
              caf::anon_send(email_account, fired_atom::value,
                             fired_timers{{e}});
            else if (e.id() == account_timer_bit + 2)
              caf::anon_send(linkedin_account, fired_atom::value,
                             fired_timers{{e}});
            else
              caf::anon_send(actor, fire_atom::value, e.generation());
          }
        }};
      });
    shard = sys.spawn(timer_shard, clock.now(), router, shard_hooks{});
    email_account = sys.spawn(account, sender(1, channel::email), utc(),
                              budget_policy{}, &clock, shard);
    linkedin_account = sys.spawn(account, sender(2, channel::linkedin), utc(),
                                 budget_policy{}, &clock, shard);
    auto env_seq = test::w1_shaped_sequence(0);
    auto contact = std::make_shared<lead>();
    contact->id = lead_id{9};
    contact->first_name = "Ada";
    contact->email = "ada@example.test";
    contact->linkedin_url = "https://www.linkedin.com/in/ada";
    enrollment e;
    e.id = enrollment_id{42};
    e.workspace = workspace_id{1};
    e.sequence = sequence_id{1};
    e.lead = lead_id{9};
    e.email_sender = account_id{1};
    e.linkedin_sender = account_id{2};
    enrollment_env env;
    env.time = &clock;
    env.persister = &*gc;
    env.shard = shard;
    env.email_account = email_account;
    env.linkedin_account = linkedin_account;
    env.email_channel = sys.spawn(channel_behavior, &email);
    env.linkedin_channel = sys.spawn(channel_behavior, &linkedin);
    actor = sys.spawn(enrollment_behavior, storage::enrollment_snapshot{e, {}},
                      env_seq, contact, utc(), env);
    settle();
  }

  ~Enrollment() override {
    settle();
    gc->stop();
  }

  static const date::time_zone* utc() { return date::locate_zone("UTC"); }

  sender_account sender(uint64_t id, channel kind) {
    sender_account a;
    a.id = account_id{id};
    a.kind = kind;
    a.limits.spacing = duration{0};
    a.limits.jitter = duration{0};
    a.limits.window =
      local_window{std::chrono::hours{0}, std::chrono::hours{0}};
    a.created_at = clock.now() - days_ms(30);
    return a;
  }

  // Runs actors and group-commit rounds until neither has anything left to do.
  void settle() {
    for (;;) {
      auto jobs = sched.run();
      auto sets = gc->flush_once();
      if (jobs == 0 && sets == 0) return;
    }
  }

  // Advances the shard to the clock; returns its next due time (-1: none).
  int64_t advance() {
    int64_t next = -2;
    sys.spawn([&](caf::event_based_actor* self) {
      self
        ->request(shard, caf::infinite, advance_atom::value, to_ms(clock.now()))
        .then([&](int64_t n, uint64_t) { next = n; });
    });
    settle();
    return next;
  }

  // Jumps the clock from due time to due time until nothing is armed. The next
  // due time is asked after settling, when whatever fired has been re-armed.
  void run_to_the_end() {
    for (;;) {
      advance();
      auto next = advance();
      if (next < 0) return;
      ASSERT_TRUE(clock.set(from_ms(std::max(next, to_ms(clock.now())))));
    }
  }

  // The enrollment's snapshot as storage holds it (none: not stored, or it
  // does not decode).
  std::optional<storage::enrollment_snapshot> stored_snapshot() {
    auto got =
      db->get(storage::cf::enrollments,
              storage::key::enrollment(workspace_id{1}, enrollment_id{42}));
    if (!got || !got->has_value()) return std::nullopt;
    auto decoded = storage::decode_snapshot(**got);
    if (!decoded) return std::nullopt;
    return std::move(*decoded);
  }

  enrollment state() {
    enrollment out;
    sys.spawn([&](caf::event_based_actor* self) {
      self->request(actor, caf::infinite, get_atom::value)
        .then([&](const enrollment& e) { out = e; });
    });
    settle();
    return out;
  }

  // The actor's state, running actors only (no group-commit round is written).
  enrollment state_without_flush() {
    enrollment out;
    sys.spawn([&](caf::event_based_actor* self) {
      self->request(actor, caf::infinite, get_atom::value)
        .then([&](const enrollment& e) { out = e; });
    });
    sched.run();
    return out;
  }

  size_t open_intents() {
    size_t n = 0;
    EXPECT_TRUE(storage::scan_enrollments(*db, [&](const enrollment& e) {
      if (storage::has_open_intent(e)) ++n;
    }));
    return n;
  }

  herald::test::temp_dir dir;
  std::unique_ptr<storage::store> db;
  std::optional<storage::group_commit> gc;
  manual_clock clock{from_ms(1'796'205'600'000)};
  sim_provider email;
  sim_provider linkedin;
  timer_shard_actor shard;
  account_actor email_account;
  account_actor linkedin_account;
  enrollment_actor actor;
};

TEST_F(Enrollment, RunsTheSequenceToTheEnd) {
  auto t0 = clock.now();
  caf::anon_send(actor, enroll_atom::value, false);
  settle();
  run_to_the_end();
  auto invites = linkedin.sent();
  auto emails = email.sent();
  ASSERT_EQ(invites.size(), 1u);
  ASSERT_EQ(emails.size(), 3u);
  EXPECT_EQ(invites[0].request.body, "Hi Ada");
  EXPECT_EQ(invites[0].request.to, "https://www.linkedin.com/in/ada");
  EXPECT_EQ(emails[0].request.subject, "Hello Ada");
  EXPECT_EQ(emails[0].request.step, 1);
  EXPECT_EQ(emails[2].request.step, 3);
  EXPECT_EQ(emails[2].request.idempotency_key(), "enr_000000000000002a:3:1");
  // Day 0, then 3, 2 and 2 days after each previous send: day 7 in all.
  EXPECT_EQ(clock.now(), t0 + days_ms(7));
  auto e = state();
  EXPECT_EQ(e.state, enrollment_state::completed);
  EXPECT_EQ(open_intents(), 0u); // every intent settled by its outcome
  // The snapshot on disk is the actor's.
  auto snapshot = stored_snapshot();
  ASSERT_TRUE(snapshot);
  EXPECT_EQ(snapshot->e.state, enrollment_state::completed);
  // Its history: each step sent through the account bound for its channel,
  // then the completion.
  ASSERT_EQ(snapshot->history.size(), 5u);
  for (uint16_t step = 0; step < 4; ++step) {
    const auto& line = snapshot->history[step];
    EXPECT_EQ(line.step, step);
    EXPECT_EQ(line.what, history_event::sent);
    EXPECT_EQ(line.enrollment, enrollment_id{42});
    EXPECT_EQ(line.account, step == 0 ? account_id{2} : account_id{1});
  }
  EXPECT_EQ(snapshot->history[3].at, t0 + days_ms(7));
  EXPECT_EQ(snapshot->history[4].what, history_event::completed);
  EXPECT_FALSE(snapshot->history[4].account.valid());
  size_t armed = 0;
  EXPECT_TRUE(storage::scan_enrollments(*db, [&](const enrollment& x) {
    if (storage::is_armed(x)) ++armed;
  }));
  EXPECT_EQ(armed, 0u);
  // The snapshot carried every line: none went to cf::history.
  size_t spilled = 0;
  EXPECT_TRUE(
    db->scan_prefix(storage::cf::history,
                    storage::key::history_prefix(workspace_id{1}, lead_id{9}),
                    [&](std::string_view, std::string_view) {
                      ++spilled;
                      return true;
                    }));
  EXPECT_EQ(spilled, 0u);
}

TEST_F(Enrollment, HistoryPastTheSnapshotsLimitGoesToRecordsOfItsOwn) {
  caf::anon_send(actor, enroll_atom::value, false);
  settle();
  // Each out-of-office reply postpones the invite and adds a line.
  const size_t replies = storage::snapshot_history_limit + 8;
  for (size_t i = 0; i < replies; ++i) {
    ASSERT_TRUE(clock.set(clock.now() + std::chrono::minutes{1}));
    caf::anon_send(actor, autoreply_atom::value, int64_t{-1});
    settle();
  }
  // The lead's index entry, as runtime::enroll writes it.
  storage::write_set w;
  w.merge(storage::cf::leads,
          storage::key::lead_enrollments(workspace_id{1}, lead_id{9}),
          storage::key::lead_enrollments_entry(enrollment_id{42}));
  ASSERT_TRUE(db->write(w, true));
  auto snapshot = stored_snapshot();
  ASSERT_TRUE(snapshot);
  EXPECT_EQ(snapshot->history.size(), storage::snapshot_history_limit);
  auto lines = storage::read_lead_history(*db, workspace_id{1}, lead_id{9});
  ASSERT_TRUE(lines);
  EXPECT_GT(lines->size(), storage::snapshot_history_limit);
  EXPECT_EQ(std::count_if(lines->begin(), lines->end(),
                          [](const storage::history_entry& x) {
                            return x.what == history_event::postponed;
                          }),
            static_cast<std::ptrdiff_t>(replies));
  EXPECT_TRUE(
    std::is_sorted(lines->begin(), lines->end(),
                   [](const auto& a, const auto& b) { return a.at < b.at; }));
  // The newest line is one of those past the limit.
  EXPECT_EQ(lines->back().at, clock.now());
  EXPECT_EQ(lines->back().enrollment, enrollment_id{42});
}

TEST_F(Enrollment, AReplyAfterTheInviteStopsEverythingElse) {
  caf::anon_send(actor, enroll_atom::value, false);
  settle();
  advance();
  ASSERT_EQ(linkedin.count(), 1u);
  caf::anon_send(actor, reply_atom::value);
  settle();
  run_to_the_end();
  EXPECT_EQ(email.count(), 0u);
  EXPECT_EQ(state().state, enrollment_state::replied);
}

TEST_F(Enrollment, TheProviderIsCalledOnlyOnceTheIntentIsDurable) {
  caf::anon_send(actor, enroll_atom::value, false);
  sched.run();
  gc->flush_once(); // the enrollment's snapshot
  // Fire, request and grant without writing any round: the intent waits in the
  // queue.
  sys.spawn([&](caf::event_based_actor* self) {
    self->request(shard, caf::infinite, advance_atom::value, to_ms(clock.now()))
      .then([](int64_t, uint64_t) {});
  });
  sched.run();
  EXPECT_EQ(linkedin.count(), 0u);
  EXPECT_EQ(state_without_flush().phase, enrollment_phase::granted);
  // The same step and attempt's durability, but of another enrollment (an
  // actor reused after its last one left memory gets that one's late
  // messages): ignored, like a grant or an outcome of another.
  caf::anon_send(actor, durable_atom::value, uint64_t{41}, uint16_t{0},
                 uint16_t{1});
  caf::anon_send(actor, sent_atom::value, uint64_t{41}, uint16_t{0},
                 uint16_t{1}, send_outcome::sent);
  sched.run();
  EXPECT_EQ(linkedin.count(), 0u);
  EXPECT_EQ(state_without_flush().phase, enrollment_phase::granted);
  gc->flush_once(); // the intent becomes durable
  sched.run();
  EXPECT_EQ(linkedin.count(), 1u);
}

} // namespace
} // namespace herald::actors

namespace herald::actors {
namespace {

// A pause changes the state without any effect; it must still stop every send.
TEST_F(Enrollment, APausedEnrollmentSendsNothingMore) {
  caf::anon_send(actor, enroll_atom::value, false);
  settle();
  advance();
  ASSERT_EQ(linkedin.count(), 1u);
  caf::anon_send(actor, pause_atom::value);
  settle();
  EXPECT_TRUE(state().paused);
  ASSERT_TRUE(clock.set(clock.now() + days_ms(30)));
  advance();
  advance();
  EXPECT_EQ(email.count(), 0u);
  caf::anon_send(actor, resume_atom::value);
  settle();
  run_to_the_end();
  EXPECT_EQ(email.count(), 3u);
}

} // namespace
} // namespace herald::actors
