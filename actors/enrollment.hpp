#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/account.hpp"
#include "actors/channel.hpp"
#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "actors/sequence_counters.hpp"
#include "actors/timer_shard.hpp"
#include "engine/enrollment_machine.hpp"
#include "engine/templates.hpp"
#include "storage/group_commit.hpp"
#include "storage/records.hpp"

namespace herald::actors {

/// Counts the enrollments of one delivery down as each confirms it has applied
/// what came before (the last one calls `done` with how many there were).
class delivery_countdown {
 public:
  delivery_countdown(size_t n, std::function<void(size_t)> done)
    : total_(n), left_(n), done_(std::move(done)) {}

  void confirm() {
    if (left_.fetch_sub(1) == 1 && done_) done_(total_);
  }

 private:
  size_t total_;
  std::atomic<size_t> left_;
  std::function<void(size_t)> done_;
};

/// A delivery's confirmation, sent to an enrollment after the event itself.
struct delivery_ack {
  std::shared_ptr<delivery_countdown> countdown;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, delivery_ack&) {
  return f(caf::meta::type_name("delivery_ack"));
}

/// Confirm a delivery: (ack_atom, delivery_ack).
using ack_atom = caf::atom_constant<caf::atom("ack")>;
/// A kept actor takes up the enrollment reassign() left it: (assign_atom).
using assign_atom = caf::atom_constant<caf::atom("assign")>;
/// The runtime restarted from storage: redo or resolve what was in flight
/// (restart_atom).
using restart_atom = caf::atom_constant<caf::atom("restart")>;

using enrollment_actor = caf::typed_actor<
  caf::reacts_to<enroll_atom, bool>, caf::reacts_to<fire_atom, uint32_t>,
  caf::reacts_to<granted_atom, uint64_t, uint16_t>,
  caf::reacts_to<sent_atom, uint64_t, uint16_t, uint16_t, send_outcome>,
  caf::reacts_to<durable_atom, uint64_t, uint16_t, uint16_t>,
  caf::reacts_to<reply_atom>, caf::reacts_to<bounce_atom>,
  caf::reacts_to<unsub_atom>, caf::reacts_to<accepted_atom>,
  caf::reacts_to<colleague_atom>, caf::reacts_to<autoreply_atom, int64_t>,
  caf::reacts_to<pause_atom>, caf::reacts_to<resume_atom>,
  caf::reacts_to<ack_atom, delivery_ack>, caf::reacts_to<assign_atom>,
  caf::reacts_to<restart_atom>, caf::replies_to<get_atom>::with<enrollment>>;

/// A sequence's parts its enrollments share, immutable while they run.
struct sequence_env {
  sequence seq;
  /// The sequence's calendar with the workspace's holidays.
  sending_calendar calendar;
  /// Each step's message, parsed once.
  std::vector<compiled_message> messages;
};

/// The directory an enrollment actor lives in (virtual activation): it routes
/// timers and events to the live actor, or activates one from storage.
class enrollment_directory {
 public:
  virtual ~enrollment_directory() = default;

  /// Called by the actor of `id` when it is idle. Under the directory's lock,
  /// and only if `mailbox_empty()` (nothing was routed to it meanwhile), marks
  /// it passive: then the actor must park or quit, and the next timer or event
  /// activates a new one from its snapshot, once the actor's write number
  /// `last_write` (0: none) is reported durable through written(). `armed`:
  /// the generation its timer is armed with (0: none), so that a stale timer
  /// (of a halted or re-armed enrollment) is dropped without activating it.
  /// `final`: it has ended (done, and no longer active), so no event can
  /// change it again, and none activates it.
  virtual bool passivate(enrollment_id id,
                         const std::function<bool()>& mailbox_empty,
                         uint32_t armed, uint64_t last_write, bool final) = 0;

  /// Called by an actor that passivate() has just marked passive, instead of
  /// quitting: true when the directory keeps it for reuse (its state already
  /// released; it must not touch it again), false when it must quit.
  /// Terminating an actor is dear in CAF 0.17 (its clock thread is handed
  /// every termination), so an enrollment or activation reuses a kept one.
  virtual bool park(enrollment_id id, const enrollment_actor& self) = 0;

  /// Reports the actor of `id`'s write number `number` durable (`ok`) or
  /// failed; called on the group commit's thread, in write order. After a
  /// failed write the enrollment is not activated again from the older
  /// snapshot storage still holds.
  virtual void written(enrollment_id id, uint64_t number, bool ok) = 0;
};

/// The runtime's parts an enrollment actor works with; they outlive it.
struct enrollment_env {
  const clock* time = nullptr;
  storage::group_commit* persister = nullptr;
  timer_shard_actor shard;
  /// The shard's state, for arming without a message (none: by message).
  timer_shard_state* shard_state = nullptr;
  /// The actors of the enrollment's bound senders and of the two channels.
  account_actor email_account;
  account_actor linkedin_account;
  channel_actor email_channel;
  channel_actor linkedin_channel;
  /// The channels' providers when they are direct (provider::direct), called
  /// in the enrollment's own job; none: through the channel actor.
  provider* email_provider = nullptr;
  provider* linkedin_provider = nullptr;
  /// The accounts' states, for taking and settling slots without a message
  /// (none: always by message).
  account_state* email_slots = nullptr;
  account_state* linkedin_slots = nullptr;
  /// Counts enrollments waiting for their first job (none: not counted); the
  /// actor counts itself off and wakes waiting enroll() calls when the count
  /// comes down to `pending_low`.
  std::atomic<int64_t>* pending_enrolls = nullptr;
  int64_t pending_low = 0;
  /// None: the actor stays resident until it exits.
  enrollment_directory* directory = nullptr;
  /// The sequence's dashboard figures, moved as the enrollment moves (none:
  /// not counted).
  sequence_counters* counters = nullptr;
  /// What sends and skips count in (none: not counted).
  const step_metrics* metrics = nullptr;
  /// An idle enrollment passivates when its next timer is at least this far
  /// away (a halted one at once).
  duration passivate_after = duration::max();
  /// An enrollment's first step, armed already due, fires in the job that
  /// armed it, not through the wheel's next tick. Off where time stands
  /// still between advances (deterministic runs): there, nothing fires
  /// before the clock moves.
  bool fire_due_at_once = false;
};

/// Everything an enrollment actor is given for one enrollment: at spawn, or
/// when a kept actor is reused.
struct enrollment_assignment {
  storage::enrollment_snapshot snapshot;
  std::shared_ptr<const sequence_env> sequence;
  std::shared_ptr<const lead> contact;
  const date::time_zone* lead_zone = nullptr;
  enrollment_env env;
};

struct enrollment_actor_state {
  /// Kept by the directory for reuse: it ignores every message until it is
  /// assigned an enrollment again.
  bool parked = false;
  /// The clock as read once for the job running (job_clock in
  /// enrollment.cpp); none between jobs.
  std::optional<time_point> job_now;
  enrollment e;
  /// Its history so far, written with every snapshot (the lines past the
  /// snapshot's limit go to cf::history).
  std::vector<storage::history_entry> history;
  machine_context ctx;
  std::shared_ptr<const sequence_env> sequence;
  std::shared_ptr<const lead> contact;
  enrollment_env env;
  /// Writes posted, numbered from 1, and the latest whose durability the
  /// directory hears of (an idle snapshot's): passivation needs the last
  /// write to be one of those.
  uint64_t writes = 0;
  uint64_t reported = 0;
  /// A snapshot the job running still has to write, unless a later
  /// transition of the same job writes one (a step fired at once).
  bool snapshot_owed = false;
  /// The next enrollment of a kept actor, left by reassign() for the actor's
  /// own job (assign_atom) to take up: the only part of the state another
  /// thread touches (owned; freed by the actor's state when left).
  std::atomic<enrollment_assignment*> incoming{nullptr};

  enrollment_actor_state() = default;
  enrollment_actor_state(const enrollment_actor_state&) = delete;
  enrollment_actor_state& operator=(const enrollment_actor_state&) = delete;
  ~enrollment_actor_state() { delete incoming.load(); }

  static inline const char* name = "herald.enrollment";
};

/// Gives `st` its enrollment (an actor's state at spawn or reassignment, or
/// one without an actor for apply_idle()).
void assign(enrollment_actor_state& st, enrollment_assignment a);

/// Applies `ev` to the enrollment in `st` (assigned, without an actor) when it
/// needs none: the transition only records, halts or arms a timer in the
/// shard's wheel, and leaves the enrollment idle. `w` then holds what to write
/// (its snapshot, and history past the snapshot's limit; empty when nothing
/// changed). False when an actor must apply it: nothing in `st` changed.
bool apply_idle(enrollment_actor_state& st, const event& ev,
                storage::write_set& w);

/// Hands a kept actor (taken from the directory's pool) its next enrollment:
/// the actor takes it up in its own job, before the messages sent to it after
/// this call. Late messages for its last enrollment may run meanwhile; they
/// are ignored.
void reassign(const enrollment_actor& a, enrollment_assignment next);

/// One enrollment: a thin owner of its state around the engine's state machine.
/// It turns the machine's effects into messages (the timer shard, its accounts,
/// the channels) and durable writes: a send intent is written and its
/// durability awaited before the provider is called; an outcome is written as
/// the new snapshot, which carries the enrollment's history with the new line,
/// settles the intent and holds the next due time.
enrollment_actor::behavior_type enrollment_behavior(
  enrollment_actor::stateful_pointer<enrollment_actor_state> self,
  storage::enrollment_snapshot snapshot,
  std::shared_ptr<const sequence_env> sequence,
  std::shared_ptr<const lead> contact, const date::time_zone* lead_zone,
  enrollment_env env);

} // namespace herald::actors
