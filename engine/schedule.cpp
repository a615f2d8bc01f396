#include "engine/schedule.hpp"

#include <algorithm>

#include "engine/hash.hpp"
#include "engine/zones.hpp"

namespace herald {

namespace {

// The first span at or after `t` open for a send under `c`.
std::optional<interval> open_span(time_point t, const send_constraints& c) {
  if (c.account != nullptr)
    return joint_window_at_or_after(t, *c.sequence, c.lead_zone, *c.account,
                                    c.account_zone);
  return window_at_or_after(t, *c.sequence, c.lead_zone);
}

// The local date whose window instance holds `t`, else the local date of `t`.
date::local_days send_day(time_point t, const sending_calendar& cal,
                          const date::time_zone* zone) {
  auto w = window_at_or_after(t, cal, zone);
  auto at = (w && w->contains(t)) ? w->begin : t;
  return date::floor<date::days>(to_local(at, zone));
}

// The sending day `delay_days` after `from`, counted as `counting` says.
std::optional<date::local_days> target_day(const sending_calendar& cal,
                                           delay_counting counting,
                                           date::local_days from,
                                           int32_t delay_days) {
  if (counting == delay_counting::calendar_days)
    return cal.sending_day_at_or_after(from + date::days{delay_days});
  std::optional<date::local_days> d = from;
  for (int32_t i = 0; i < delay_days && d; ++i)
    d = cal.sending_day_at_or_after(*d + date::days{1});
  return d;
}

} // namespace

sending_calendar effective_calendar(const schedule_settings& s,
                                    const workspace& ws) {
  sending_calendar cal = s.calendar;
  cal.add_holidays(ws.holidays);
  return cal;
}

time_point spread(interval w, uint64_t spread_key) noexcept {
  auto span = static_cast<double>(w.length().count());
  return w.begin +
         duration{static_cast<int64_t>(unit_fraction(spread_key) * span)};
}

due_result step_due(const schedule_settings& s, const send_constraints& c,
                    time_point previous, int32_t delay_days,
                    uint64_t spread_key, time_point now) {
  delay_days = std::max(delay_days, 0);
  if (s.mode == schedule_mode::relative) return previous + s.day * delay_days;
  time_point due;
  if (delay_days == 0) {
    auto span = open_span(previous, c);
    if (!span) return schedule_error::no_open_slot;
    due = span->contains(previous) ? previous : spread(*span, spread_key);
  } else {
    const auto& cal = *c.sequence;
    auto day = target_day(cal, s.counting, send_day(previous, cal, c.lead_zone),
                          delay_days);
    if (!day) return schedule_error::no_open_slot;
    auto opens = to_utc(local_time{*day} + cal.window.start, c.lead_zone);
    auto span = open_span(opens, c);
    if (!span) return schedule_error::no_open_slot;
    span->begin = std::max(span->begin, opens);
    due = spread(*span, spread_key);
  }
  if (due < now) return overdue_slot(s, c, spread_key, now);
  return due;
}

due_result overdue_slot(const schedule_settings& s, const send_constraints& c,
                        uint64_t spread_key, time_point now) {
  if (s.mode == schedule_mode::relative) return now;
  auto span = open_span(now, c);
  if (!span) return schedule_error::no_open_slot;
  span->begin = std::max(span->begin, now);
  return spread(*span, spread_key);
}

} // namespace herald
