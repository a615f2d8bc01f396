// The runtime with threads (CAF's scheduler, the group commit's writer, the
// I/O pool), for what only shows without the deterministic one: a first step
// fired in the job that armed it, and the intake bound.

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <thread>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "runtime_fixture.hpp"

namespace herald::actors {
namespace {

using test::Runtime;

// The runtime with threads, for what only shows without the deterministic
// scheduler: a store in `path`, the two providers and accounts, W1's
// sequence with its first step at enrollment. Nothing ticks: the manual
// clock stays put.
struct threaded_runtime {
  threaded_runtime(const std::string& path, const clock& time, provider& emails,
                   provider& invites,
                   const std::array<sender_account, 2>& senders)
    : store{open(path)}, commit{*store}, rt{options(), time, *store, commit} {
    const auto* utc = date::locate_zone("UTC");
    rt.add_channel(channel::email, &emails);
    rt.add_channel(channel::linkedin, &invites);
    for (const auto& a : senders)
      rt.add_account(a, utc);
    rt.add_sequence(test::w1_shaped_sequence(0), utc);
  }
  ~threaded_runtime() {
    rt.stop();
    commit.stop();
  }

  static std::unique_ptr<storage::store> open(const std::string& path) {
    storage::storage_options so;
    so.path = path;
    auto opened = storage::store::open(so);
    EXPECT_TRUE(opened);
    return opened ? std::move(*opened) : nullptr;
  }
  static runtime_options options() {
    runtime_options o;
    o.threads = 1;
    o.io_threads = 1;
    return o;
  }

  // Waits (bounded) until `done` holds; false if it never did.
  static bool eventually(const std::function<bool()>& done) {
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds{30};
    while (!done()) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
    return true;
  }

  std::unique_ptr<storage::store> store;
  storage::group_commit commit;
  runtime rt;
};

// With threads, a step armed already due goes in the job that armed it, not
// on the wheel's next tick: nothing ticks here, yet the invite goes; the
// email, three days off, waits.
TEST_F(Runtime, WithThreadsAStepDueAtEnrollmentGoesWithoutATick) {
  threaded_runtime t{dir.str(), clock, email, linkedin, senders()};
  ASSERT_TRUE(t.rt.enroll(enrollment_of(1, 1), make_lead(1), false));
  EXPECT_TRUE(t.eventually([&] { return linkedin.count() == 1; }));
  EXPECT_EQ(email.count(), 0u);
}

// The enrollment's first snapshot waits for the step fired at once, whose
// intent supersedes it; a step that gets no slot writes no intent, and the
// enrollment is stored all the same (asking for its slot).
TEST_F(Runtime, WithThreadsAStepWaitingForItsSlotStillStoresItsEnrollment) {
  invites_per_day = 0;
  threaded_runtime t{dir.str(), clock, email, linkedin, senders()};
  ASSERT_TRUE(t.rt.enroll(enrollment_of(1, 1), make_lead(1), false));
  auto key = storage::key::enrollment(workspace_id{1}, enrollment_id{1});
  EXPECT_TRUE(t.eventually([&] {
    auto got = t.store->get(storage::cf::enrollments, key);
    return got && got->has_value();
  }));
  auto got = t.store->get(storage::cf::enrollments, key);
  ASSERT_TRUE(got && got->has_value());
  auto stored = storage::decode_enrollment(**got);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->phase, enrollment_phase::awaiting_slot);
  EXPECT_EQ(stored->position, 0u);
  EXPECT_EQ(linkedin.count(), 0u);
}

// Only the first step fires in the job that armed it. A step armed due at
// once later (a resume on the relative schedule, placed at now) goes through
// the wheel: its pause gave a slot request back by message, which the account
// must see before the step asks again. Nothing ticks here, so it waits.
TEST_F(Runtime, WithThreadsOnlyTheFirstStepFiresWhereItIsArmed) {
  invites_per_day = 0; // the invite waits in the account's queue
  threaded_runtime t{dir.str(), clock, email, linkedin, senders()};
  // Stored: the paused enrollment leaves memory, and its resume reads it back.
  auto contact = make_lead(1);
  storage::write_set w;
  w.put(storage::cf::leads, storage::key::lead(contact->workspace, contact->id),
        storage::encode(*contact));
  ASSERT_TRUE(t.store->write(w, false));
  ASSERT_TRUE(t.rt.enroll(enrollment_of(1, 1), contact, false));
  auto stored_now = [&]() -> std::optional<enrollment> {
    auto got =
      t.store->get(storage::cf::enrollments,
                   storage::key::enrollment(workspace_id{1}, enrollment_id{1}));
    if (!got || !got->has_value()) return std::nullopt;
    auto e = storage::decode_enrollment(**got);
    return e ? std::optional{*e} : std::nullopt;
  };
  ASSERT_TRUE(t.eventually([&] {
    auto e = stored_now();
    return e && e->phase == enrollment_phase::awaiting_slot;
  }));
  ASSERT_TRUE(t.rt.deliver(enrollment_id{1}, lead_event::pause));
  ASSERT_TRUE(t.eventually([&] {
    auto e = stored_now();
    return e && e->paused;
  }));
  ASSERT_TRUE(t.rt.deliver(enrollment_id{1}, lead_event::resume));
  EXPECT_TRUE(t.eventually([&] {
    auto e = stored_now();
    return e && !e->paused && e->phase == enrollment_phase::waiting;
  }));
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
  o.in_place = false; // each enrollment's first job is an actor's
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
