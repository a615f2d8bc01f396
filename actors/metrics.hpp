#pragma once

// What the enrollments count for /metrics: counters and a histogram
// registered once in the registry handed to the runtime, incremented through
// pointers (no label lookup on the hot path).

#include <array>
#include <memory>

#include "engine/enrollment_machine.hpp"
#include "engine/model.hpp"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
} // namespace prometheus

namespace herald::actors {

struct step_metrics {
  /// herald_sends_total{channel, outcome}: each provider call's outcome, by
  /// the step's channel.
  std::array<
    std::array<prometheus::Counter*, enum_names<send_outcome>::values.size()>,
    enum_names<step_channel>::values.size()>
    sends{};
  /// herald_skips_total{reason}: steps skipped.
  std::array<prometheus::Counter*, enum_names<history_reason>::values.size()>
    skips{};
  /// herald_lateness_seconds: how long after its due time a step's provider
  /// call was made.
  prometheus::Histogram* lateness = nullptr;

  void sent(step_channel kind, send_outcome outcome) const;
  void skipped(history_reason why) const;
  void late(duration by) const;
};

/// Registers the step metrics in `registry`.
std::unique_ptr<step_metrics> register_step_metrics(prometheus::Registry& r);

} // namespace herald::actors
