#pragma once

#include <atomic>

#include "engine/time.hpp"

namespace herald {

/// The one time source of the engine. Everything that needs the time takes it
/// from a clock handed in (or as a `now` argument), never from the system
/// directly, so tests and simulations run days of outreach in milliseconds.
class clock {
 public:
  virtual ~clock() = default;

  /// The current instant. Thread-safe.
  virtual time_point now() const noexcept = 0;
};

/// Wall-clock time (UTC), for production.
class system_clock final : public clock {
 public:
  time_point now() const noexcept override;
};

/// Time that moves only when told to. It never moves backwards: the timing
/// wheels and the budgets built on it rely on time being monotonic. Reads are
/// thread-safe; moves are meant to come from one driver (a test, the simulation
/// loop, the admin clock endpoint).
class manual_clock final : public clock {
 public:
  explicit manual_clock(time_point start) noexcept;

  time_point now() const noexcept override;

  /// Moves time forward by `d`. Returns false and changes nothing when `d` is
  /// negative.
  [[nodiscard]] bool advance(duration d) noexcept;

  /// Moves time to `t`. Returns false and changes nothing when `t` is before
  /// now().
  [[nodiscard]] bool set(time_point t) noexcept;

 private:
  std::atomic<int64_t> now_ms_;
};

} // namespace herald
