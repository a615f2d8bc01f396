#pragma once

// Deterministic actor tests: CAF's testing scheduler driven from GoogleTest
// (not caf/test/dsl.hpp, which clashes with GoogleTest and crashes outside
// CAF's runner).

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <memory>

#include "actors/enrollment.hpp"

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

/// W1's shape on the relative schedule with days of a day: a LinkedIn invite
/// (`first_delay_days` after enrollment), then three no_reply emails 3, 2 and
/// 2 days apart; messages compiled.
inline std::shared_ptr<sequence_env> w1_shaped_sequence(int first_delay_days) {
  auto env = std::make_shared<sequence_env>();
  env->seq.id = sequence_id{1};
  env->seq.workspace = workspace_id{1};
  env->seq.status = sequence_status::active;
  env->seq.schedule.mode = schedule_mode::relative;
  env->seq.schedule.day = days_ms(1);
  auto email = [](int delay, std::string subject, std::string body) {
    return step{step_channel::email,
                delay,
                step_condition::no_reply,
                {std::move(subject), std::move(body)},
                true};
  };
  env->seq.steps = {
    step{step_channel::linkedin_invite,
         first_delay_days,
         step_condition::always,
         {"", "Hi {{first_name}}"},
         true},
    email(3, "Hello {{first_name}}", "Body 1"),
    email(2, "Re", "Body 2"),
    email(2, "Re", "Body 3"),
  };
  env->calendar = env->seq.schedule.calendar;
  for (const auto& s : env->seq.steps) {
    auto compiled = compiled_message::compile(s.message);
    env->messages.push_back(std::move(*compiled));
  }
  return env;
}

} // namespace herald::actors::test
