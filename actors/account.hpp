#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>

#include <caf/replies_to.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/messages.hpp"
#include "actors/timer_shard.hpp"
#include "engine/budget.hpp"
#include "engine/clock.hpp"
#include "engine/slot_queue.hpp"

namespace herald::actors {

/// Serve the queues again: (serve_atom).
using serve_atom = caf::atom_constant<caf::atom("serve")>;

/// Where an account's grants go: the enrollment that asked, for the step it
/// asked for.
using slot_client_actor =
  caf::typed_actor<caf::reacts_to<granted_atom, uint64_t, uint16_t>>;

/// A sender account: asked for slots, it grants them as its budget allows,
/// follow-ups first; told outcomes, it counts only what was delivered.
using account_actor = caf::typed_actor<
  caf::reacts_to<request_atom, slot_request, uint16_t, slot_client_actor>,
  caf::reacts_to<withdraw_atom, uint64_t, step_channel>,
  caf::reacts_to<outcome_atom, uint64_t, send_outcome>,
  caf::reacts_to<fired_atom, fired_timers>, caf::reacts_to<pause_atom>,
  caf::reacts_to<resume_atom>, caf::reacts_to<revoke_atom>,
  caf::reacts_to<warn_atom>, caf::reacts_to<serve_atom>>;

struct account_state {
  struct waiter {
    slot_client_actor client;
    uint16_t step = 0;
  };

  std::optional<account_budget> budget;
  /// One queue per step channel, so a capped invite budget never holds up
  /// messages.
  std::array<slot_queue, 3> queues;
  std::unordered_map<uint64_t, waiter> waiting;
  std::unordered_map<uint64_t, grant_ticket> granted;
  const clock* time = nullptr;
  timer_shard_actor shard;
  uint64_t wake_id = 0;
  uint32_t wake_generation = 0;
  std::optional<time_point> wake_at;
  /// Taken by every handler, and by enrollments taking or settling a slot
  /// directly.
  std::mutex mu;

  static inline const char* name = "herald.account";
};

/// Gives a new account actor's state its budget and links, once: the runtime
/// right after the spawn (enrollments take slots in it directly as soon as
/// add_account() returns), or the actor's first job, whichever comes first.
void init_account_state(account_state& st, const sender_account& acc,
                        const date::time_zone* zone, budget_policy policy,
                        const clock* time, const timer_shard_actor& shard);

/// Takes a slot of `kind` for `enrollment` without a message, when nothing of
/// that kind is queued (so the follow-ups-first order holds) and the budget
/// allows it at `now`; false otherwise (then ask with request_atom).
bool take_slot(account_state& st, uint64_t enrollment, step_channel kind,
               time_point now);

/// Settles a slot taken or granted, as outcome_atom does, without a message;
/// asks `account` to serve its queues when a given-back slot could go to one
/// waiting.
void settle_slot(account_state& st, const account_actor& account,
                 uint64_t enrollment, send_outcome outcome, time_point now);

/// The state of the live account actor `a` (for take_slot and settle_slot);
/// it lives as long as the actor.
account_state& state_of(const account_actor& a);

/// The actor of account `acc` (its days and window in `zone`). Time comes from
/// `time`; when its budget says "not now", it arms a wake-up on `shard` (which
/// must deliver this account's fired timers back to it) instead of using CAF's
/// timers.
account_actor::behavior_type
account(account_actor::stateful_pointer<account_state> self, sender_account acc,
        const date::time_zone* zone, budget_policy policy, const clock* time,
        timer_shard_actor shard);

} // namespace herald::actors
