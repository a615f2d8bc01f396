#pragma once

#include <cstdint>

#include "engine/calendar.hpp"
#include "engine/model.hpp"
#include "engine/result.hpp"
#include "engine/time.hpp"

namespace date {
class time_zone;
} // namespace date

namespace herald {

/// Where a send may fall: the sequence's calendar in the lead's zone and, once
/// a sender is bound, the account's calendar in the account's zone (a send
/// needs both open).
struct send_constraints {
  const sending_calendar* sequence = nullptr;
  const date::time_zone* lead_zone = nullptr;
  /// Null when no sender is bound yet: then only the sequence's calendar
  /// applies.
  const sending_calendar* account = nullptr;
  const date::time_zone* account_zone = nullptr;
};

enum class schedule_error : uint8_t {
  /// No open slot within horizon_days: no sending day at all, or the sequence's
  /// and the
  /// account's windows never overlap.
  no_open_slot,
};

using due_result = result<time_point, schedule_error>;

/// The sequence's calendar with the workspace's holidays added.
sending_calendar effective_calendar(const schedule_settings& s,
                                    const workspace& ws);

/// The deterministic place of enrollment `spread_key` in `w`: a fixed fraction
/// of the way through, so thousands of leads due the same day spread over the
/// window instead of all falling at its opening.
time_point spread(interval w, uint64_t spread_key) noexcept;

/// The due time of a step `delay_days` after `previous` (the previous step's
/// send; for step 1, the enrollment).
///
/// Relative mode: exactly previous + delay_days x day (it may be in the past;
/// the timer then fires at once and lateness is measured from it).
///
/// Calendar mode: delay 0 is due at `previous` when that is inside an open
/// window, else at the enrollment's spread place in the next one. A positive
/// delay counts days from the local date of the window that held `previous` (or
/// of `previous` itself): calendar days, then rolled to the next sending day,
/// or sending days only; the step is then due at the enrollment's spread place
/// in that day's open window. A due time already before `now` (a step that
/// waited through a pause) is placed by overdue_slot instead. Fails with
/// no_open_slot when the windows never open.
due_result step_due(const schedule_settings& s, const send_constraints& c,
                    time_point previous, int32_t delay_days,
                    uint64_t spread_key, time_point now);

/// The new due time of a step whose due time passed while it could not go (the
/// sequence was paused, the account out of budget, herald down): at the
/// enrollment's spread place in the rest of the window open at `now`, else in
/// the next window, so a backlog resumes spread out rather than in a burst.
/// Relative mode: `now`.
due_result overdue_slot(const schedule_settings& s, const send_constraints& c,
                        uint64_t spread_key, time_point now);

} // namespace herald
