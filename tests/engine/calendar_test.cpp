#include "engine/calendar.hpp"

#include <gtest/gtest.h>

#include "engine/zones.hpp"
#include "time_helpers.hpp"

namespace herald {
namespace {

using namespace test;

// -- zones
// ---------------------------------------------------------------------------------

TEST(Zones, ResolveTheLeadsZoneWhenKnown) {
  auto z = resolve_zone("America/New_York", "Europe/Berlin");
  EXPECT_EQ(z.zone->name(), "America/New_York");
  EXPECT_TRUE(z.fallback_reason.empty());
}

TEST(Zones, UnknownZoneFallsBackToTheWorkspacesAndSaysWhy) {
  auto z = resolve_zone("Mars/Olympus_Mons", "Europe/Berlin");
  EXPECT_EQ(z.zone->name(), "Europe/Berlin");
  EXPECT_NE(z.fallback_reason.find("unknown time zone 'Mars/Olympus_Mons'"),
            std::string::npos);
  EXPECT_NE(z.fallback_reason.find("Europe/Berlin"), std::string::npos);
  auto none = resolve_zone("", "Asia/Tokyo");
  EXPECT_EQ(none.zone->name(), "Asia/Tokyo");
  EXPECT_NE(none.fallback_reason.find("no time zone"), std::string::npos);
  auto neither = resolve_zone("Nowhere", "Neverland");
  EXPECT_EQ(neither.zone->name(), "UTC");
  EXPECT_NE(neither.fallback_reason.find("using UTC"), std::string::npos);
  EXPECT_EQ(find_zone("europe/berlin"), nullptr); // names are case-sensitive
}

TEST(Zones, BerlinSpringForwardGapAndFallBackRepeat) {
  auto berlin = zone("Europe/Berlin");
  // 2026-03-29 02:00 CET -> 03:00 CEST: 02:30 does not exist, lands at 03:30
  // CEST.
  EXPECT_EQ(to_utc(wall(2026, 3, 29, 2, 30), berlin), utc(2026, 3, 29, 1, 30));
  EXPECT_EQ(to_utc(wall(2026, 3, 29, 9), berlin), utc(2026, 3, 29, 7));
  EXPECT_EQ(to_utc(wall(2026, 3, 28, 9), berlin), utc(2026, 3, 28, 8));
  // 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 happens twice; the first one
  // counts.
  EXPECT_EQ(to_utc(wall(2026, 10, 25, 2, 30), berlin),
            utc(2026, 10, 25, 0, 30));
  EXPECT_EQ(to_local(utc(2026, 10, 25, 1, 30), berlin),
            wall(2026, 10, 25, 2, 30));
}

TEST(Zones, NewYorkGapAndRepeat) {
  auto ny = zone("America/New_York");
  // 2026-03-08 02:00 EST -> 03:00 EDT.
  EXPECT_EQ(to_utc(wall(2026, 3, 8, 2, 30), ny), utc(2026, 3, 8, 7, 30));
  // 2026-11-01 02:00 EDT -> 01:00 EST: 01:30 twice, first is EDT.
  EXPECT_EQ(to_utc(wall(2026, 11, 1, 1, 30), ny), utc(2026, 11, 1, 5, 30));
}

// The conversions keep a thread's last spans of constant offset: whatever
// they hold, in whatever order zones and times come (forward, back, several
// zones taking turns), every answer is the zone database's own, across the
// transitions of two years.
TEST(Zones, ConversionsAnswerAsTheZoneDatabaseInAnyOrder) {
  std::vector<const date::time_zone*> zones;
  for (auto name : {"America/New_York", "Europe/Berlin", "Australia/Lord_Howe",
                    "UTC", "Asia/Kolkata", "Pacific/Chatham"})
    zones.push_back(date::locate_zone(name));
  auto reference_utc = [](local_time wall, const date::time_zone* z) {
    return time_point{wall.time_since_epoch() - z->get_info(wall).first.offset};
  };
  const auto start = utc(2026, 1, 1, 0);
  const auto step = std::chrono::minutes{17};
  size_t checked = 0;
  for (int pass = 0; pass < 2; ++pass)
    for (int64_t i = 0; i < 2 * 365 * 24 * 60 / 17; ++i) {
      auto n = pass == 0 ? i : 2 * 365 * 24 * 60 / 17 - i; // back, then
      auto t = start + n * step;
      for (auto* z : zones) {
        auto wall =
          local_time{t.time_since_epoch()} + std::chrono::minutes{n % 90};
        ASSERT_EQ(to_local(t, z), z->to_local(t)) << z->name();
        ASSERT_EQ(to_utc(wall, z), reference_utc(wall, z)) << z->name();
        ++checked;
      }
    }
  EXPECT_GT(checked, 700'000u);
}

TEST(Zones, LordHoweHalfHourDst) {
  auto lh = zone("Australia/Lord_Howe");
  // Standard +10:30, summer +11. 2026-10-04 02:00 -> 02:30: 02:15 does not
  // exist.
  EXPECT_EQ(to_utc(wall(2026, 10, 4, 2, 15), lh), utc(2026, 10, 3, 15, 45));
  EXPECT_EQ(to_local(utc(2026, 10, 3, 15, 45), lh), wall(2026, 10, 4, 2, 45));
  // 2026-04-05 02:00 -> 01:30: 01:45 happens twice, the first at +11.
  EXPECT_EQ(to_utc(wall(2026, 4, 5, 1, 45), lh), utc(2026, 4, 4, 14, 45));
  EXPECT_EQ(to_utc(wall(2026, 4, 6, 9), lh), utc(2026, 4, 5, 22, 30));
}

// -- calendars
// -----------------------------------------------------------------------------

sending_calendar weekdays_9_to_17() {
  return sending_calendar{
    local_window{hm(9), hm(17)}, weekday_set::monday_to_friday(), {}};
}

TEST(Calendar, SendingDaysSkipWeekendsAndHolidays) {
  auto cal = weekdays_9_to_17();
  cal.add_holidays({day(2026, 12, 25), day(2026, 12, 24), day(2026, 12, 25)});
  EXPECT_EQ(cal.holidays.size(), 2u);
  EXPECT_TRUE(std::is_sorted(cal.holidays.begin(), cal.holidays.end()));
  EXPECT_TRUE(cal.is_sending_day(day(2026, 12, 23)));  // Wednesday
  EXPECT_FALSE(cal.is_sending_day(day(2026, 12, 24))); // holiday
  EXPECT_FALSE(cal.is_sending_day(day(2026, 12, 26))); // Saturday
  EXPECT_EQ(cal.sending_day_at_or_after(day(2026, 12, 24)), day(2026, 12, 28));
  sending_calendar never{local_window{}, weekday_set{0}, {}};
  EXPECT_FALSE(never.sending_day_at_or_after(day(2026, 1, 1)).has_value());
}

TEST(Calendar, WindowAtOrAfterSkipsTheWeekend) {
  auto berlin = zone("Europe/Berlin");
  auto cal = weekdays_9_to_17();
  // Saturday 2026-11-28 12:00 UTC -> Monday 09:00-17:00 CET.
  auto w = window_at_or_after(utc(2026, 11, 28, 12), cal, berlin);
  ASSERT_TRUE(w);
  EXPECT_EQ(*w, (interval{utc(2026, 11, 30, 8), utc(2026, 11, 30, 16)}));
  // Inside Monday's window: that window, which began before t.
  auto inside = window_at_or_after(utc(2026, 11, 30, 10), cal, berlin);
  EXPECT_EQ(inside, w);
  // At its close: the next day's.
  auto closed = window_at_or_after(utc(2026, 11, 30, 16), cal, berlin);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->begin, utc(2026, 12, 1, 8));
}

TEST(Calendar, WindowCrossingMidnightBelongsToTheDayItOpens) {
  auto berlin = zone("Europe/Berlin");
  sending_calendar night{
    local_window{hm(22), hm(6)}, weekday_set::monday_to_friday(), {}};
  EXPECT_TRUE(night.window.crosses_midnight());
  EXPECT_EQ(night.window.length(), hm(8));
  // Friday 2026-11-27 23:00 CET: inside Friday's window, open until Saturday
  // 06:00.
  auto fri = window_at_or_after(utc(2026, 11, 27, 22), night, berlin);
  ASSERT_TRUE(fri);
  EXPECT_EQ(*fri, (interval{utc(2026, 11, 27, 21), utc(2026, 11, 28, 5)}));
  // Saturday 03:00 CET is still Friday's window.
  EXPECT_EQ(window_at_or_after(utc(2026, 11, 28, 2), night, berlin), fri);
  // Saturday 07:00 CET: Saturday and Sunday open none; next is Monday 22:00.
  auto next = window_at_or_after(utc(2026, 11, 28, 6), night, berlin);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->begin, utc(2026, 11, 30, 21));
}

TEST(Calendar, FarEastAndFarWestWeekdays) {
  auto cal = weekdays_9_to_17();
  // Friday 2026-11-27 20:00 UTC is already Saturday 10:00 in Kiritimati (+14):
  // the next window is Monday 09:00 there, Sunday 19:00 UTC.
  auto kiri =
    window_at_or_after(utc(2026, 11, 27, 20), cal, zone("Pacific/Kiritimati"));
  ASSERT_TRUE(kiri);
  EXPECT_EQ(kiri->begin, utc(2026, 11, 29, 19));
  // Monday 2026-11-30 05:00 UTC is still Sunday 18:00 in Pago Pago (-11):
  // the next window is Monday 09:00 there, Monday 20:00 UTC.
  auto pago =
    window_at_or_after(utc(2026, 11, 30, 5), cal, zone("Pacific/Pago_Pago"));
  ASSERT_TRUE(pago);
  EXPECT_EQ(pago->begin, utc(2026, 11, 30, 20));
}

TEST(Calendar, WindowOnADstDayKeepsItsWallClockTimes) {
  auto berlin = zone("Europe/Berlin");
  sending_calendar all_day_night{
    local_window{hm(1), hm(5)}, weekday_set::every_day(), {}};
  // 01:00-05:00 on 2026-03-29 spans the gap: 3 hours long, not 4.
  auto w = window_on(day(2026, 3, 29), all_day_night, berlin);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->length(), std::chrono::hours{3});
  // and on 2026-10-25 spans the repeat: 5 hours long.
  auto v = window_on(day(2026, 10, 25), all_day_night, berlin);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->length(), std::chrono::hours{5});
}

TEST(Calendar, JointWindowIsTheOverlapOfTwoZones) {
  auto cal = weekdays_9_to_17();
  // 09-17 New York (14-22 UTC in winter) and 09-17 Berlin (08-16 UTC): 14-16
  // UTC.
  auto both =
    joint_window_at_or_after(utc(2026, 12, 1, 0), cal, zone("America/New_York"),
                             cal, zone("Europe/Berlin"));
  ASSERT_TRUE(both);
  EXPECT_EQ(*both, (interval{utc(2026, 12, 1, 14), utc(2026, 12, 1, 16)}));
  // After today's overlap closed: tomorrow's.
  auto later = joint_window_at_or_after(utc(2026, 12, 1, 17), cal,
                                        zone("America/New_York"), cal,
                                        zone("Europe/Berlin"));
  ASSERT_TRUE(later);
  EXPECT_EQ(later->begin, utc(2026, 12, 2, 14));
}

TEST(Calendar, JointWindowNeverOverlappingIsNone) {
  sending_calendar morning{
    local_window{hm(9), hm(10)}, weekday_set::every_day(), {}};
  EXPECT_FALSE(joint_window_at_or_after(utc(2026, 12, 1), morning,
                                        zone("Europe/Berlin"), morning,
                                        zone("America/New_York")));
}

} // namespace
} // namespace herald
