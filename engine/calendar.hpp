#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include <date/date.h>

#include "engine/time.hpp"

namespace date {
class time_zone;
} // namespace date

namespace herald {

/// A daily sending window in local wall-clock time, as minutes since local
/// midnight. `end` before `start` crosses midnight (22:00-06:00 ends the next
/// morning); `end == start` is open all day.
struct local_window {
  std::chrono::minutes start{9 * 60};
  std::chrono::minutes end{17 * 60};

  bool crosses_midnight() const noexcept { return end < start; }

  /// Wall-clock length: 8 h for 09:00-17:00, 8 h for 22:00-06:00, 24 h for all
  /// day.
  std::chrono::minutes length() const noexcept {
    using namespace std::chrono;
    return end > start ? end - start : end - start + minutes{24 * 60};
  }

  friend bool operator==(const local_window&, const local_window&) = default;
};

/// A set of weekdays; bit i is `date::weekday{i}` (Sunday is 0).
struct weekday_set {
  uint8_t bits = 0x7F;

  static constexpr weekday_set every_day() noexcept { return {0x7F}; }
  static constexpr weekday_set monday_to_friday() noexcept { return {0x3E}; }

  constexpr bool contains(date::weekday d) const noexcept {
    return (bits >> d.c_encoding()) & 1u;
  }

  friend bool operator==(weekday_set, weekday_set) = default;
};

/// When sends may go out: a daily window on sending days (weekdays in `days`,
/// not a holiday), in whatever zone the calendar is applied to. A window
/// instance belongs to the local date on which it opens: 22:00-06:00 opened on
/// a Friday is Friday's.
struct sending_calendar {
  local_window window;
  weekday_set days;
  /// Local dates with no sending, sorted and unique (see add_holidays).
  std::vector<date::local_days> holidays;

  bool is_sending_day(date::local_days d) const noexcept;

  /// The first sending day at or after `d`, searching at most `horizon_days`.
  std::optional<date::local_days>
  sending_day_at_or_after(date::local_days d) const;

  /// Merges `more` into the holidays, keeping them sorted and unique.
  void add_holidays(const std::vector<date::local_days>& more);

  friend bool operator==(const sending_calendar&,
                         const sending_calendar&) = default;
};

/// How many days in [from, to) fall on a weekday in `days` (0 when to <= from).
/// O(1) in the span.
uint32_t sending_days_between(date::local_days from, date::local_days to,
                              weekday_set days) noexcept;

/// How far ahead the calendar functions search before answering "never": more
/// than a year, so a long run of holidays still finds its next sending day.
inline constexpr int horizon_days = 400;

/// A half-open span of time [begin, end).
struct interval {
  time_point begin;
  time_point end;

  bool contains(time_point t) const noexcept { return begin <= t && t < end; }
  duration length() const noexcept { return end - begin; }

  friend bool operator==(const interval&, const interval&) = default;
};

/// The window instance that opens on local date `d` in `zone`, or nullopt when
/// `d` is not a sending day (or a DST gap leaves the instance empty).
std::optional<interval> window_on(date::local_days d,
                                  const sending_calendar& cal,
                                  const date::time_zone* zone);

/// The window instance containing `t`, else the next one to open, in `zone`;
/// nullopt when none opens within horizon_days. The result may begin before
/// `t`.
std::optional<interval> window_at_or_after(time_point t,
                                           const sending_calendar& cal,
                                           const date::time_zone* zone);

/// The first span at or after `t` that is open in both calendars, each in its
/// own zone (a send needs the sequence's window in the lead's zone and the
/// account's in the account's); nullopt when they do not overlap within
/// horizon_days. May begin before `t`.
std::optional<interval> joint_window_at_or_after(time_point t,
                                                 const sending_calendar& a,
                                                 const date::time_zone* zone_a,
                                                 const sending_calendar& b,
                                                 const date::time_zone* zone_b);

} // namespace herald
