#include "engine/schedule.hpp"

#include <gtest/gtest.h>

#include <set>

#include "engine/zones.hpp"
#include "time_helpers.hpp"

namespace herald {
namespace {

using namespace test;

constexpr uint64_t key = 0xC0FFEE;

schedule_settings
calendar_schedule(weekday_set days = weekday_set::monday_to_friday(),
                  delay_counting counting = delay_counting::calendar_days) {
  schedule_settings s;
  s.calendar = sending_calendar{local_window{hm(9), hm(17)}, days, {}};
  s.counting = counting;
  return s;
}

send_constraints lead_only(const schedule_settings& s,
                           std::string_view zone_name) {
  return send_constraints{&s.calendar, zone(zone_name)};
}

// The due time expected for `key` in the window [begin, end).
time_point in_window(time_point begin, time_point end, uint64_t k = key) {
  return spread(interval{begin, end}, k);
}

TEST(Schedule, RelativeModeIsPreviousPlusDelayTimesDay) {
  schedule_settings s;
  s.mode = schedule_mode::relative;
  s.day = duration{1000};
  send_constraints none{};
  auto prev = utc(2026, 11, 28, 3, 7); // a Saturday night: no window applies
  EXPECT_EQ(*step_due(s, none, prev, 3, key, prev), prev + duration{3000});
  EXPECT_EQ(*step_due(s, none, prev, 0, key, prev), prev);
  // Already past: stays exact, so lateness is measured from the true due time.
  EXPECT_EQ(*step_due(s, none, prev, 2, key, prev + duration{5000}),
            prev + duration{2000});
  EXPECT_EQ(*overdue_slot(s, none, key, prev + duration{5000}),
            prev + duration{5000});
}

TEST(Schedule, FirstStepIsDueAtOnceInsideTheWindow) {
  auto s = calendar_schedule();
  auto c = lead_only(s, "Europe/Berlin");
  auto now = utc(2026, 11, 30, 10); // Monday 11:00 CET
  EXPECT_EQ(*step_due(s, c, now, 0, key, now), now);
}

TEST(Schedule, FirstStepOutsideTheWindowIsSpreadOverTheNextOne) {
  auto s = calendar_schedule();
  auto c = lead_only(s, "Europe/Berlin");
  auto now = utc(2026, 11, 28, 12); // Saturday
  auto due = *step_due(s, c, now, 0, key, now);
  EXPECT_EQ(due, in_window(utc(2026, 11, 30, 8), utc(2026, 11, 30, 16)));
  EXPECT_EQ(*step_due(s, c, now, 0, key, now), due); // deterministic
}

TEST(Schedule, ThousandsDueTheSameDaySpreadThroughTheWindow) {
  auto s = calendar_schedule();
  auto c = lead_only(s, "Europe/Berlin");
  auto prev = utc(2026, 11, 27, 9); // Friday
  std::multiset<time_point> dues;
  for (uint64_t k = 1; k <= 10'000; ++k)
    dues.insert(*step_due(s, c, prev, 1, k, prev)); // Monday
  auto open = utc(2026, 11, 30, 8);
  auto close = utc(2026, 11, 30, 16);
  EXPECT_GE(*dues.begin(), open);
  EXPECT_LT(*dues.rbegin(), close);
  EXPECT_LT(*dues.begin(), open + std::chrono::minutes{5});
  EXPECT_GT(*dues.rbegin(), close - std::chrono::minutes{5});
  EXPECT_LE(dues.count(open), 1u); // not everybody at 09:00:00
  // Every hour of the eight gets between 10% and 15% of the leads.
  for (int h = 0; h < 8; ++h) {
    auto from = open + std::chrono::hours{h};
    auto n = std::distance(dues.lower_bound(from),
                           dues.lower_bound(from + std::chrono::hours{1}));
    EXPECT_GT(n, 1000) << "hour " << h;
    EXPECT_LT(n, 1500) << "hour " << h;
  }
}

TEST(Schedule, DelayAcrossBerlinSpringForward) {
  auto s = calendar_schedule(weekday_set::every_day());
  auto c = lead_only(s, "Europe/Berlin");
  auto prev = utc(2026, 3, 27, 9); // Friday 10:00 CET
  // Monday 2026-03-30 09:00-17:00 CEST is 07:00-15:00 UTC.
  EXPECT_EQ(*step_due(s, c, prev, 3, key, prev),
            in_window(utc(2026, 3, 30, 7), utc(2026, 3, 30, 15)));
  // Due on the change day itself: 09:00 CEST, the wall-clock time kept.
  EXPECT_EQ(*step_due(s, c, prev, 2, key, prev),
            in_window(utc(2026, 3, 29, 7), utc(2026, 3, 29, 15)));
}

TEST(Schedule, DelayAcrossNewYorkFallBack) {
  auto s = calendar_schedule();
  auto c = lead_only(s, "America/New_York");
  auto prev = utc(2026, 10, 30, 14); // Friday 10:00 EDT
  // Monday 2026-11-02 09:00-17:00 EST is 14:00-22:00 UTC.
  EXPECT_EQ(*step_due(s, c, prev, 3, key, prev),
            in_window(utc(2026, 11, 2, 14), utc(2026, 11, 2, 22)));
}

TEST(Schedule, LordHoweHalfHourChange) {
  auto s = calendar_schedule(weekday_set::every_day());
  auto c = lead_only(s, "Australia/Lord_Howe");
  auto prev = utc(2026, 10, 1, 23, 30); // Friday 2026-10-02 10:00 at +10:30
  // Sunday 2026-10-04, after the 02:00->02:30 change: 09:00-17:00 at +11.
  EXPECT_EQ(*step_due(s, c, prev, 2, key, prev),
            in_window(utc(2026, 10, 3, 22), utc(2026, 10, 4, 6)));
}

TEST(Schedule, FarEastAndFarWestCountTheirOwnDates) {
  auto s = calendar_schedule();
  auto now = utc(2026, 11, 27, 20); // Friday 20:00 UTC
  // Kiritimati (+14): already Saturday 10:00, so Monday there: Sunday 19:00
  // UTC.
  auto kiri = lead_only(s, "Pacific/Kiritimati");
  EXPECT_EQ(*step_due(s, kiri, now, 0, key, now),
            in_window(utc(2026, 11, 29, 19), utc(2026, 11, 30, 3)));
  // Pago Pago (-11): Friday 09:00, inside the window: due at once.
  auto pago = lead_only(s, "Pacific/Pago_Pago");
  EXPECT_EQ(*step_due(s, pago, now, 0, key, now), now);
  // One day later for Pago Pago is Monday 09:00 SST, Monday 20:00 UTC.
  EXPECT_EQ(*step_due(s, pago, now, 1, key, now),
            in_window(utc(2026, 11, 30, 20), utc(2026, 12, 1, 4)));
}

TEST(Schedule, CalendarDaysOverAWeekendAndAHoliday) {
  auto s = calendar_schedule();
  auto c = lead_only(s, "Europe/Berlin");
  auto prev = utc(2026, 12, 18, 9); // Friday 10:00 CET
  // Two calendar days: Sunday, rolled to Monday 12-21.
  EXPECT_EQ(*step_due(s, c, prev, 2, key, prev),
            in_window(utc(2026, 12, 21, 8), utc(2026, 12, 21, 16)));
  // With Monday a holiday: Tuesday.
  s.calendar.add_holidays({day(2026, 12, 21)});
  EXPECT_EQ(*step_due(s, c, prev, 2, key, prev),
            in_window(utc(2026, 12, 22, 8), utc(2026, 12, 22, 16)));
}

TEST(Schedule, SendingDaysOverAWeekendAndAHoliday) {
  auto s = calendar_schedule(weekday_set::monday_to_friday(),
                             delay_counting::sending_days);
  auto c = lead_only(s, "Europe/Berlin");
  auto prev = utc(2026, 12, 18, 9); // Friday
  // Two sending days: Monday, Tuesday.
  EXPECT_EQ(*step_due(s, c, prev, 2, key, prev),
            in_window(utc(2026, 12, 22, 8), utc(2026, 12, 22, 16)));
  // With Monday a holiday: Tuesday, Wednesday.
  s.calendar.add_holidays({day(2026, 12, 21)});
  EXPECT_EQ(*step_due(s, c, prev, 2, key, prev),
            in_window(utc(2026, 12, 23, 8), utc(2026, 12, 23, 16)));
  // Christmas: from Wednesday 12-23, one sending day past Thursday and Friday's
  // holidays and the weekend is Monday 12-28.
  s.calendar.add_holidays({day(2026, 12, 24), day(2026, 12, 25)});
  auto wed = utc(2026, 12, 23, 9);
  EXPECT_EQ(*step_due(s, c, wed, 1, key, wed),
            in_window(utc(2026, 12, 28, 8), utc(2026, 12, 28, 16)));
}

TEST(Schedule, WorkspaceHolidaysJoinTheSequences) {
  auto s = calendar_schedule();
  s.calendar.add_holidays({day(2026, 12, 25)});
  workspace ws;
  ws.timezone = "Europe/Berlin";
  ws.holidays = {day(2026, 12, 24), day(2026, 12, 25)};
  auto cal = effective_calendar(s, ws);
  EXPECT_EQ(cal.holidays, (std::vector{day(2026, 12, 24), day(2026, 12, 25)}));
  EXPECT_TRUE(s.calendar.is_sending_day(day(2026, 12, 24)));
  EXPECT_FALSE(cal.is_sending_day(day(2026, 12, 24)));
}

TEST(Schedule, WindowCrossingMidnight) {
  auto s = calendar_schedule(weekday_set::every_day());
  s.calendar.window = local_window{hm(22), hm(6)};
  auto c = lead_only(s, "Europe/Berlin");
  // Sent Tuesday 01:00 CET, inside Monday's window: one day later is Tuesday's
  // window, 22:00 Tuesday to 06:00 Wednesday CET.
  auto prev = utc(2026, 12, 1, 0);
  EXPECT_EQ(*step_due(s, c, prev, 1, key, prev),
            in_window(utc(2026, 12, 1, 21), utc(2026, 12, 2, 5)));
  // A first step at 03:00 is inside the window: due at once.
  auto night = utc(2026, 12, 1, 2);
  EXPECT_EQ(*step_due(s, c, night, 0, key, night), night);
  // At 12:00: spread over tonight's window.
  auto noon = utc(2026, 12, 1, 11);
  EXPECT_EQ(*step_due(s, c, noon, 0, key, noon),
            in_window(utc(2026, 12, 1, 21), utc(2026, 12, 2, 5)));
}

TEST(Schedule, OverdueStepsResumeSpreadNotInABurst) {
  auto s = calendar_schedule();
  auto c = lead_only(s, "Europe/Berlin");
  auto prev = utc(2026, 11, 27, 9); // Friday; step due Monday, sequence paused
  auto resume =
    utc(2026, 12, 2, 11); // Wednesday 12:00 CET, window open until 16:00 UTC
  std::set<time_point> dues;
  for (uint64_t k = 1; k <= 1000; ++k) {
    auto due = *step_due(s, c, prev, 1, k, resume);
    EXPECT_GE(due, resume);
    EXPECT_LT(due, utc(2026, 12, 2, 16));
    EXPECT_EQ(due, *overdue_slot(s, c, k, resume));
    dues.insert(due);
  }
  EXPECT_GT(dues.size(), 990u); // spread, not one instant
  EXPECT_LT(*dues.begin(), resume + std::chrono::minutes{5});
  EXPECT_GT(*dues.rbegin(), utc(2026, 12, 2, 15, 55));
  // Resumed after the window closed: spread over the next day's whole window.
  auto evening = utc(2026, 12, 2, 19);
  EXPECT_EQ(*overdue_slot(s, c, key, evening),
            in_window(utc(2026, 12, 3, 8), utc(2026, 12, 3, 16)));
}

TEST(Schedule, NeedsBothTheSequencesAndTheAccountsWindow) {
  auto s = calendar_schedule();
  sending_calendar account_cal{
    local_window{hm(9), hm(17)}, weekday_set::every_day(), {}};
  send_constraints c{&s.calendar, zone("America/New_York"), &account_cal,
                     zone("Europe/Berlin")};
  auto prev = utc(2026, 11, 27, 15); // Friday 10:00 EST
  // Monday: 09-17 New York is 14-22 UTC, 09-17 Berlin 08-16 UTC: 14-16 UTC.
  EXPECT_EQ(*step_due(s, c, prev, 1, key, prev),
            in_window(utc(2026, 11, 30, 14), utc(2026, 11, 30, 16)));
  // Enrolled Monday 17:00 UTC: New York is open, Berlin closed; Tuesday's
  // overlap.
  auto late = utc(2026, 11, 30, 17);
  EXPECT_EQ(*step_due(s, c, late, 0, key, late),
            in_window(utc(2026, 12, 1, 14), utc(2026, 12, 1, 16)));
}

TEST(Schedule, WindowsThatNeverOverlapAreAnError) {
  auto s = calendar_schedule();
  s.calendar.window = local_window{hm(9), hm(10)};
  sending_calendar account_cal{
    local_window{hm(9), hm(10)}, weekday_set::every_day(), {}};
  send_constraints c{&s.calendar, zone("Europe/Berlin"), &account_cal,
                     zone("America/New_York")};
  auto now = utc(2026, 11, 30, 12);
  auto due = step_due(s, c, now, 1, key, now);
  ASSERT_FALSE(due);
  EXPECT_EQ(due.error(), schedule_error::no_open_slot);
  auto never = calendar_schedule(weekday_set{0});
  EXPECT_FALSE(step_due(never, lead_only(never, "UTC"), now, 0, key, now));
}

TEST(Schedule, UnknownLeadZoneUsesTheWorkspaces) {
  auto s = calendar_schedule();
  auto choice = resolve_zone("Atlantis/Capital", "Asia/Tokyo");
  EXPECT_FALSE(choice.fallback_reason.empty());
  send_constraints c{&s.calendar, choice.zone};
  auto prev = utc(2026, 11, 27, 1); // Friday 10:00 JST
  // Monday 09:00-17:00 JST is 00:00-08:00 UTC.
  EXPECT_EQ(*step_due(s, c, prev, 1, key, prev),
            in_window(utc(2026, 11, 30, 0), utc(2026, 11, 30, 8)));
}

} // namespace
} // namespace herald
