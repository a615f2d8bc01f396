#include "engine/calendar.hpp"

#include <algorithm>
#include <bit>
#include <limits>

#include "engine/zones.hpp"

namespace herald {

bool sending_calendar::is_sending_day(date::local_days d) const noexcept {
  return days.contains(date::weekday{d}) &&
         !std::binary_search(holidays.begin(), holidays.end(), d);
}

std::optional<date::local_days>
sending_calendar::sending_day_at_or_after(date::local_days d) const {
  for (int i = 0; i <= horizon_days; ++i, d += date::days{1})
    if (is_sending_day(d)) return d;
  return std::nullopt;
}

void sending_calendar::add_holidays(const std::vector<date::local_days>& more) {
  holidays.insert(holidays.end(), more.begin(), more.end());
  std::sort(holidays.begin(), holidays.end());
  holidays.erase(std::unique(holidays.begin(), holidays.end()), holidays.end());
}

uint32_t sending_days_between(date::local_days from, date::local_days to,
                              weekday_set days) noexcept {
  if (to <= from) return 0;
  auto n = (to - from).count();
  auto weeks = n / 7;
  int64_t count = weeks * std::popcount(static_cast<uint8_t>(days.bits & 0x7F));
  for (auto d = from + date::days{weeks * 7}; d < to; d += date::days{1})
    if (days.contains(date::weekday{d})) ++count;
  return static_cast<uint32_t>(
    std::min<int64_t>(count, std::numeric_limits<uint32_t>::max()));
}

std::optional<interval> window_on(date::local_days d,
                                  const sending_calendar& cal,
                                  const date::time_zone* zone) {
  if (!cal.is_sending_day(d)) return std::nullopt;
  local_time open = local_time{d} + cal.window.start;
  local_time close = open + cal.window.length();
  interval w{to_utc(open, zone), to_utc(close, zone)};
  if (w.end <= w.begin) return std::nullopt;
  return w;
}

std::optional<interval> window_at_or_after(time_point t,
                                           const sending_calendar& cal,
                                           const date::time_zone* zone) {
  // Start a day early: yesterday's instance may still be open (it crosses
  // midnight, or it is all day).
  auto today = date::floor<date::days>(to_local(t, zone));
  auto last = today + date::days{horizon_days};
  for (auto d = today - date::days{1}; d <= last; d += date::days{1}) {
    if (auto w = window_on(d, cal, zone); w && w->end > t) return w;
  }
  return std::nullopt;
}

std::optional<interval> joint_window_at_or_after(
  time_point t, const sending_calendar& a, const date::time_zone* zone_a,
  const sending_calendar& b, const date::time_zone* zone_b) {
  auto stop = t + days_ms(horizon_days);
  for (auto from = t; from <= stop;) {
    auto wa = window_at_or_after(from, a, zone_a);
    auto wb = window_at_or_after(from, b, zone_b);
    if (!wa || !wb) return std::nullopt;
    interval both{std::max(wa->begin, wb->begin), std::min(wa->end, wb->end)};
    if (both.begin < both.end) return both;
    // One window closes before the other opens: search again from the later
    // opening, which is strictly after `from` (the earlier-closing window ends
    // after `from`).
    from = both.begin;
  }
  return std::nullopt;
}

} // namespace herald
