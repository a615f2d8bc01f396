#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/enrollment_machine.hpp"
#include "engine/model.hpp"

namespace herald::actors {

/// A sequence's dashboard figures, kept as its enrollments move so that
/// reading them costs the number of steps, not a scan: enrollments in each
/// state, and per step how many active enrollments wait for it, how many sent
/// it and how many skipped it. Updated by the enrollments' own jobs (relaxed
/// atomics: a read taken while enrollments move may count one of them in two
/// places for an instant) and rebuilt by recovery from the snapshots.
class sequence_counters {
 public:
  static constexpr size_t state_count =
    enum_names<enrollment_state>::values.size();
  static constexpr size_t phase_count =
    enum_names<enrollment_phase>::values.size();

  explicit sequence_counters(size_t steps);

  /// `e` is counted from now on: its state, and its step while active.
  void entered(const enrollment& e) noexcept { add(e, 1); }
  /// An enrollment moved from `before` to `after` (counted only where they
  /// differ).
  void moved(const enrollment& before, const enrollment& after) noexcept {
    if (before.state == after.state && before.position == after.position &&
        before.phase == after.phase)
      return;
    add(before, -1);
    add(after, 1);
  }
  /// A history line of step `step`: `sent` and `skipped` are counted.
  void recorded(uint16_t step, history_event what) noexcept;

  struct step_figures {
    uint64_t waiting = 0;
    uint64_t sent = 0;
    uint64_t skipped = 0;
    bool operator==(const step_figures&) const = default;
  };
  struct figures {
    std::vector<step_figures> steps;
    std::array<uint64_t, state_count> states{};
    /// Active enrollments in each phase (those awaiting a slot, granted one
    /// or sending are the due backlog).
    std::array<uint64_t, phase_count> phases{};
    bool operator==(const figures&) const = default;
  };
  figures read() const;
  size_t steps() const noexcept { return steps_; }

 private:
  void add(const enrollment& e, int64_t n) noexcept;

  size_t steps_;
  std::array<std::atomic<int64_t>, state_count> states_{};
  std::array<std::atomic<int64_t>, phase_count> phases_{};
  // Per step: waiting, sent, skipped.
  std::unique_ptr<std::atomic<int64_t>[]> per_step_;
};

} // namespace herald::actors
