#pragma once

// The atoms and message types of herald's actors (CAF 0.17: atoms are at most
// 10 characters; custom types carry a 0.17-style inspect).

#include <cstdint>
#include <vector>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include "engine/slot_queue.hpp"
#include "engine/timing_wheel.hpp"

namespace herald {

// In the engine's namespace, for argument-dependent lookup. A timer travels as
// its id, due time and generation.
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, timer_entry& x) {
  uint64_t id = x.id();
  int64_t due = x.due_ms();
  uint32_t generation = x.generation();
  return f(caf::meta::type_name("timer_entry"), id, due, generation,
           caf::meta::load_callback([&]() -> caf::error {
             x = timer_entry{id, due, generation};
             return caf::none;
           }));
}

template<class Inspector, class Tag>
typename Inspector::result_type inspect(Inspector& f, id<Tag>& x) {
  return f(caf::meta::type_name("id"), x.value);
}

} // namespace herald

namespace herald::actors {

/// Arm a timer: (arm_atom, enrollment id, due ms, generation).
using arm_atom = caf::atom_constant<caf::atom("arm")>;
/// Move a timer shard's time: (advance_atom, now ms) -> (next due ms or -1,
/// fired).
using advance_atom = caf::atom_constant<caf::atom("advance")>;
/// Timers that came due: (fired_atom, fired_timers).
using fired_atom = caf::atom_constant<caf::atom("fired")>;

/// A batch of timers that came due together, in due order.
struct fired_timers {
  std::vector<timer_entry> entries;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, fired_timers& x) {
  return f(caf::meta::type_name("fired_timers"), x.entries);
}

} // namespace herald::actors

namespace herald::actors {

/// Ask an account for a slot: (request_atom, slot_request, step, slot_client).
using request_atom = caf::atom_constant<caf::atom("request")>;
/// Take back a queued request: (withdraw_atom, enrollment id, step_channel).
using withdraw_atom = caf::atom_constant<caf::atom("withdraw")>;
/// A granted slot's outcome: (outcome_atom, enrollment id, send_outcome); a
/// slot that will not be used is given back as deferred.
using outcome_atom = caf::atom_constant<caf::atom("outcome")>;
/// A slot granted to an enrollment: (granted_atom, enrollment id, step).
using granted_atom = caf::atom_constant<caf::atom("granted")>;
/// Account controls: pause, resume, revoke, LinkedIn warning.
using pause_atom = caf::atom_constant<caf::atom("pause")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using revoke_atom = caf::atom_constant<caf::atom("revoke")>;
using warn_atom = caf::atom_constant<caf::atom("warn")>;

} // namespace herald::actors

namespace herald {

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, slot_request& x) {
  return f(caf::meta::type_name("slot_request"), x.enrollment, x.kind,
           x.follow_up, x.due);
}

} // namespace herald

namespace herald::actors {

/// Timer ids at or above this are account wake-ups (the account's id below it);
/// enrollments use the ids under it.
inline constexpr uint64_t account_timer_bit = uint64_t{1} << 63;

} // namespace herald::actors

namespace herald::actors {

/// Enroll: (enroll_atom, lead had replied before).
using enroll_atom = caf::atom_constant<caf::atom("enroll")>;
/// A timer of this enrollment fired: (fire_atom, generation).
using fire_atom = caf::atom_constant<caf::atom("fire")>;
/// The send intent is durable: (durable_atom, enrollment id, step, attempt).
using durable_atom = caf::atom_constant<caf::atom("durable")>;
/// Lead events: reply, bounce, unsubscribe, invite accepted, colleague replied,
/// and an auto-reply with its return date in ms (-1: none given).
using reply_atom = caf::atom_constant<caf::atom("reply")>;
using bounce_atom = caf::atom_constant<caf::atom("bounce")>;
using unsub_atom = caf::atom_constant<caf::atom("unsub")>;
using accepted_atom = caf::atom_constant<caf::atom("accepted")>;
using colleague_atom = caf::atom_constant<caf::atom("colleague")>;
using autoreply_atom = caf::atom_constant<caf::atom("autoreply")>;
/// Read an actor's state (tests, the API's lead view): (get_atom) -> state.
using get_atom = caf::atom_constant<caf::atom("get")>;

} // namespace herald::actors

namespace herald {

// The snapshot travels as its encoded form would: field by field.
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, enrollment& x) {
  return f(caf::meta::type_name("enrollment"), x.id, x.workspace, x.sequence,
           x.lead, x.position, x.attempt, x.state, x.phase, x.generation,
           x.paused, x.lead_replied, x.invite_accepted, x.has_uncertain, x.due,
           x.last_sent, x.invite_sent, x.postponed_until, x.email_sender,
           x.linkedin_sender);
}

} // namespace herald
