#pragma once

// The runtime's settings, apart from the runtime (and CAF's headers): config/
// fills them.

#include <chrono>
#include <cstddef>

#include "engine/time.hpp"

namespace herald::actors {

/// The runtime's settings (config/ fills them).
struct runtime_options {
  /// CAF scheduler threads; 0: one per core but one, which the group-commit
  /// writer keeps busy (at least one). More threads than cores costs more in
  /// switching than it gains: on two cores, one CAF thread sends twice as
  /// fast as two.
  size_t threads = 0;
  /// CAF's own work-stealing scheduler instead of herald's (scheduler.hpp),
  /// for comparison: the same jobs at about a quarter more instructions.
  bool caf_work_stealing = false;
  /// Timer shards, enrollments spread over them by id; 0: one per thread.
  size_t shards = 0;
  /// CAF's testing scheduler and no threads of herald's own: nothing runs
  /// until settle() runs it (the group commit must be in synchronous mode).
  bool deterministic = false;
  /// Threads reading storage to activate enrollments (none when
  /// deterministic).
  size_t io_threads = 2;
  /// An idle enrollment leaves memory when its next timer is at least this
  /// far away (a halted one at once); duration::max(): never.
  duration passivate_after = std::chrono::seconds{60};
  /// An enrollment whose first step is at least passivate_after away starts
  /// passive, without an actor: enroll() writes its snapshot and arms its
  /// timer. False: every enrollment's first transition is an actor's (the
  /// tests of the actors' own passivation and reuse).
  bool in_place = true;
  /// Actors of enrollments that left memory are kept for the next enrollment
  /// or activation (terminating one costs CAF 0.17 a hand-off to its clock
  /// thread, and spawning one more): up to `max_parked`, beyond which they
  /// quit at once. The ticker lets those beyond `keep_parked` quit while
  /// nothing comes due, so a burst of completions does not pay for their
  /// terminations during the burst. A kept actor is about 2.7 KB; under
  /// timers firing every tick without a pause, up to max_parked stay held.
  size_t max_parked = 131072;
  size_t keep_parked = 4096;
  /// The timer shards fire nothing while the persister holds more than this
  /// queued or more activations than this wait for the I/O pool.
  size_t max_persist_backlog = size_t{8} << 20;
  size_t max_activations = 4096;
  /// enroll() waits (on its caller's thread, never an actor's) while this
  /// many enrollments wait for their first job, until a quarter of them have
  /// had it: an import cannot bury the timers already due under its own
  /// backlog (0: no bound; deterministic runs never wait). Woken with three
  /// quarters still queued, the importer refills before the CAF thread runs
  /// dry even when it waits for a core.
  size_t max_pending_enrolls = 4096;
  /// The ticker sleeps until the next due time (woken sooner when an earlier
  /// timer is armed), but never longer than this.
  duration ticker_max_sleep = std::chrono::seconds{1};
};

} // namespace herald::actors
