#pragma once

// herald's own CAF 0.17 scheduler: worker threads that run actors' jobs from
// one queue, without the per-job costs of Debian's build of CAF's
// work-stealing scheduler (see scheduler.cpp).

namespace caf {
class actor_system_config;
} // namespace caf

namespace herald::actors {

/// Makes the actor system built from `cfg` use herald's scheduler, with
/// `scheduler.max-threads` workers and `scheduler.max-throughput` messages per
/// job as CAF's own would.
void use_lean_scheduler(caf::actor_system_config& cfg);

} // namespace herald::actors
