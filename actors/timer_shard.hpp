#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

#include <caf/actor.hpp>
#include <caf/replies_to.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/messages.hpp"
#include "engine/timing_wheel.hpp"

namespace herald::actors {

/// Where a timer shard sends what comes due.
using timer_sink_actor =
  caf::typed_actor<caf::reacts_to<fired_atom, fired_timers>>;

/// A timer shard: arm a timer; advance the shard's time to the runtime clock's
/// now, learning the next due time (-1: none) and how many fired.
using timer_shard_actor = caf::typed_actor<
  caf::reacts_to<arm_atom, uint64_t, int64_t, uint32_t>,
  caf::replies_to<advance_atom, int64_t>::with<int64_t, uint64_t>>;

/// What a shard asks of and tells its runtime; empty members do nothing.
struct shard_hooks {
  /// Whether the shard may fire now. Closed while the work already started is
  /// behind (the persister's backlog, activations queued): back-pressure stops
  /// new work at its source instead of blocking a scheduler thread.
  std::function<bool()> may_fire;
  /// Told each armed due time (ms), so that a driver sleeping until the next
  /// due time can wake earlier.
  std::function<void(int64_t)> armed;
};

struct timer_shard_state {
  std::optional<timing_wheel> wheel;
  timer_sink_actor sink;
  shard_hooks hooks;
  uint64_t fired = 0;
  /// Taken by every handler, and by enrollments arming directly.
  std::mutex mu;

  static inline const char* name = "herald.timer_shard";
};

/// One engine timing wheel in an actor. Its time moves only by `advance`
/// messages carrying the runtime clock's time (never CAF's own timers), so the
/// manual clock drives it deterministically. Whatever comes due in an advance
/// goes to `sink` as one `fired_atom` batch, in due order; stale generations
/// are the receiver's to drop. While `hooks.may_fire` says no, an advance fires
/// nothing and answers the shard's time as its next due time, so the driver
/// comes back.
/// Arms `e` on the shard without a message (what arm_atom does).
void arm_timer(timer_shard_state& st, const timer_entry& e);

/// The state of the live shard actor `a` (for arm_timer); it lives as long as
/// the actor.
timer_shard_state& state_of(const timer_shard_actor& a);

timer_shard_actor::behavior_type
timer_shard(timer_shard_actor::stateful_pointer<timer_shard_state> self,
            time_point start, timer_sink_actor sink, shard_hooks hooks);

} // namespace herald::actors
