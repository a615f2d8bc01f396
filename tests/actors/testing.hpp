#pragma once

// Deterministic actor tests: CAF's testing scheduler driven from GoogleTest
// (not caf/test/dsl.hpp, which clashes with GoogleTest and crashes outside
// CAF's runner).

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>

namespace herald::actors::test {

/// An actor system whose scheduler runs jobs only when told (sched.run()).
class deterministic_system {
 public:
  deterministic_system() : sys{config()}, sched{coordinator(sys)} {}

  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;

 private:
  static caf::actor_system_config& config() {
    static caf::actor_system_config cfg = [] {
      caf::actor_system_config c;
      c.set("scheduler.policy", caf::atom("testing"));
      return c;
    }();
    return cfg;
  }

  static caf::scheduler::test_coordinator& coordinator(caf::actor_system& s) {
    return dynamic_cast<caf::scheduler::test_coordinator&>(s.scheduler());
  }
};

} // namespace herald::actors::test
