#include "actors/sequence_counters.hpp"

#include <algorithm>

namespace herald::actors {

sequence_counters::sequence_counters(size_t steps)
  : steps_(steps), per_step_(new std::atomic<int64_t>[3 * steps]) {
  for (size_t i = 0; i < 3 * steps; ++i)
    per_step_[i].store(0, std::memory_order_relaxed);
}

void sequence_counters::add(const enrollment& e, int64_t n) noexcept {
  auto state = static_cast<size_t>(e.state);
  if (state < state_count)
    states_[state].fetch_add(n, std::memory_order_relaxed);
  if (e.state != enrollment_state::active) return;
  if (auto phase = static_cast<size_t>(e.phase); phase < phase_count)
    phases_[phase].fetch_add(n, std::memory_order_relaxed);
  if (e.position < steps_)
    per_step_[3 * e.position].fetch_add(n, std::memory_order_relaxed);
}

void sequence_counters::recorded(uint16_t step, history_event what) noexcept {
  if (step >= steps_) return;
  if (what == history_event::sent)
    per_step_[3 * step + 1].fetch_add(1, std::memory_order_relaxed);
  else if (what == history_event::skipped)
    per_step_[3 * step + 2].fetch_add(1, std::memory_order_relaxed);
}

sequence_counters::figures sequence_counters::read() const {
  // A count caught between an enrollment's leaving one place and entering
  // the next may dip below zero for an instant.
  auto load = [](const std::atomic<int64_t>& n) {
    return static_cast<uint64_t>(
      std::max<int64_t>(0, n.load(std::memory_order_relaxed)));
  };
  figures f;
  f.steps.resize(steps_);
  for (size_t i = 0; i < steps_; ++i)
    f.steps[i] = {load(per_step_[3 * i]), load(per_step_[3 * i + 1]),
                  load(per_step_[3 * i + 2])};
  for (size_t i = 0; i < state_count; ++i)
    f.states[i] = load(states_[i]);
  for (size_t i = 0; i < phase_count; ++i)
    f.phases[i] = load(phases_[i]);
  return f;
}

} // namespace herald::actors
