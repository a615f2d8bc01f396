#include "engine/budget.hpp"

#include <gtest/gtest.h>

#include "engine/slot_queue.hpp"
#include "time_helpers.hpp"

namespace herald {
namespace {

using namespace test;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// An email account open all day, every day, without spacing: each test turns on
// what it exercises.
sender_account email_account(uint32_t cap = 50) {
  sender_account acc;
  acc.id = account_id{7};
  acc.kind = channel::email;
  acc.limits.daily_cap = cap;
  acc.limits.spacing = duration{0};
  acc.limits.jitter = duration{0};
  acc.limits.window = local_window{hm(0), hm(0)};
  acc.created_at = utc(2026, 11, 30);
  return acc;
}

sender_account linkedin_account() {
  auto acc = email_account();
  acc.kind = channel::linkedin;
  acc.limits.invites_per_day = 3;
  acc.limits.invites_per_week = 5;
  acc.limits.messages_per_day = 2;
  return acc;
}

uint32_t grant_all(account_budget& b, step_channel kind, time_point at) {
  uint32_t n = 0;
  while (b.request(kind, at).granted)
    ++n;
  return n;
}

TEST(Budget, DailyCapResetsAtMidnightInTheAccountsZone) {
  auto ny = zone("America/New_York");
  account_budget b{email_account(3), ny};
  // 00:30-01:30 UTC on Dec 2 is still the evening of Dec 1 in New York.
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(
      b.request(step_channel::email, utc(2026, 12, 2, 0, 30 + 20 * i)).granted);
  auto d = b.request(step_channel::email, utc(2026, 12, 2, 2));
  ASSERT_FALSE(d.granted);
  EXPECT_EQ(d.reason, budget_reason::daily_cap);
  EXPECT_EQ(d.retry_at, utc(2026, 12, 2, 5)); // New York midnight, not UTC's
  EXPECT_FALSE(b.request(step_channel::email, utc(2026, 12, 2, 4, 59)).granted);
  EXPECT_TRUE(b.request(step_channel::email, utc(2026, 12, 2, 5)).granted);
  EXPECT_EQ(b.usage(utc(2026, 12, 2, 5)).emails, 1u);
}

TEST(Budget, WarmupRampsDayByDay) {
  auto acc = email_account(50);
  acc.limits.ramp = warmup{5, 5, 20};
  account_budget b{acc, zone("UTC")};
  std::vector<uint32_t> per_day;
  for (unsigned d = 0; d < 6; ++d)
    per_day.push_back(
      grant_all(b, step_channel::email, utc(2026, 11, 30 + d, 10)));
  EXPECT_EQ(per_day, (std::vector<uint32_t>{5, 10, 15, 20, 20, 20}));
  EXPECT_EQ(b.usage(utc(2026, 12, 1, 10)).email_allowance, 10u);
}

TEST(Budget, WarmupCountsOnlyTheAccountsSendingDays) {
  auto acc = email_account(50);
  acc.limits.ramp = warmup{10, 10, 0};
  acc.limits.days = weekday_set::monday_to_friday();
  acc.created_at = utc(2026, 12, 3); // Thursday
  account_budget b{acc, zone("UTC")};
  EXPECT_EQ(grant_all(b, step_channel::email, utc(2026, 12, 3, 10)), 10u);
  EXPECT_EQ(grant_all(b, step_channel::email, utc(2026, 12, 4, 10)), 20u);
  // Saturday: no window at all, retry on Monday.
  auto sat = b.request(step_channel::email, utc(2026, 12, 5, 10));
  EXPECT_EQ(sat.reason, budget_reason::outside_window);
  EXPECT_EQ(sat.retry_at, utc(2026, 12, 7));
  // Monday is the third sending day.
  EXPECT_EQ(grant_all(b, step_channel::email, utc(2026, 12, 7, 10)), 30u);
  // The ramp never goes above the daily cap.
  EXPECT_EQ(b.usage(utc(2027, 1, 29, 10)).email_allowance, 50u);
}

TEST(Budget, SpacingWithSeededJitter) {
  auto acc = email_account();
  acc.limits.spacing = minutes{2};
  acc.limits.jitter = minutes{1};
  account_budget b{acc, zone("UTC")};
  account_budget twin{acc, zone("UTC")};
  auto t = utc(2026, 12, 1, 10);
  ASSERT_TRUE(b.request(step_channel::email, t).granted);
  ASSERT_TRUE(twin.request(step_channel::email, t).granted);
  auto d = b.request(step_channel::email, t + minutes{1});
  ASSERT_FALSE(d.granted);
  EXPECT_EQ(d.reason, budget_reason::spacing);
  EXPECT_GE(d.retry_at, t + minutes{2});
  EXPECT_LT(d.retry_at, t + minutes{3});
  // Seeded: the same account gets the same jitter.
  EXPECT_EQ(twin.request(step_channel::email, t + minutes{1}).retry_at,
            d.retry_at);
  EXPECT_FALSE(
    b.request(step_channel::email, d.retry_at - duration{1}).granted);
  EXPECT_TRUE(b.request(step_channel::email, d.retry_at).granted);
  // The next gap draws another jitter.
  auto next = b.request(step_channel::email, d.retry_at + seconds{1});
  EXPECT_NE(next.retry_at - d.retry_at, d.retry_at - t);
}

TEST(Budget, OutsideTheWindowRetriesAtItsOpeningInTheAccountsZone) {
  auto acc = email_account();
  acc.limits.window = local_window{hm(9), hm(17)};
  account_budget b{acc, zone("Europe/Berlin")};
  auto d = b.request(step_channel::email, utc(2026, 12, 1, 6)); // 07:00 CET
  ASSERT_FALSE(d.granted);
  EXPECT_EQ(d.reason, budget_reason::outside_window);
  EXPECT_EQ(d.retry_at, utc(2026, 12, 1, 8));
  EXPECT_TRUE(b.request(step_channel::email, utc(2026, 12, 1, 8)).granted);
  auto late = b.request(step_channel::email, utc(2026, 12, 1, 16)); // 17:00 CET
  EXPECT_EQ(late.retry_at, utc(2026, 12, 2, 8));
}

TEST(Budget, DeferralsAndFailuresAreNotCounted) {
  account_budget b{email_account(1), zone("UTC")};
  auto t = utc(2026, 12, 1, 10);
  auto first = b.request(step_channel::email, t);
  ASSERT_TRUE(first.granted);
  EXPECT_EQ(b.usage(t).in_flight, 1u);
  EXPECT_FALSE(
    b.request(step_channel::email, t).granted); // counted while in flight
  b.record(first.ticket, send_outcome::deferred, t);
  EXPECT_EQ(b.usage(t).emails, 0u);
  auto second = b.request(step_channel::email, t);
  ASSERT_TRUE(second.granted);
  b.record(second.ticket, send_outcome::failed, t);
  auto third = b.request(step_channel::email, t);
  ASSERT_TRUE(third.granted);
  b.record(third.ticket, send_outcome::sent, t);
  EXPECT_EQ(b.usage(t).emails, 1u);
  EXPECT_EQ(b.usage(t).in_flight, 0u);
  EXPECT_EQ(b.request(step_channel::email, t).reason, budget_reason::daily_cap);
}

TEST(Budget, UnknownOutcomesStayCounted) {
  account_budget b{email_account(1), zone("UTC")};
  auto t = utc(2026, 12, 1, 10);
  auto d = b.request(step_channel::email, t);
  b.record(d.ticket, send_outcome::unknown, t);
  EXPECT_EQ(b.request(step_channel::email, t).reason, budget_reason::daily_cap);
}

TEST(Budget, BounceRatePausesUntilResumed) {
  account_budget b{email_account(1000), zone("UTC")};
  auto t = utc(2026, 12, 1, 10);
  auto send = [&](bool bounced) {
    auto d = b.request(step_channel::email, t);
    ASSERT_TRUE(d.granted);
    b.record(d.ticket, bounced ? send_outcome::bounced : send_outcome::sent, t);
  };
  // 5 bounces in 100 sends is at the threshold, not past it.
  for (int i = 0; i < 100; ++i)
    send(i % 20 == 19);
  EXPECT_EQ(b.status(t), account_status::active);
  EXPECT_DOUBLE_EQ(b.recent_bounce_rate(), 0.05);
  send(true); // the window slides: 6 of the last 100
  EXPECT_EQ(b.status(t), account_status::paused);
  EXPECT_EQ(b.pause_reason(), budget_reason::bounce_rate);
  auto d = b.request(step_channel::email, t);
  EXPECT_FALSE(d.granted);
  EXPECT_EQ(d.reason, budget_reason::bounce_rate);
  EXPECT_EQ(d.retry_at, never);
  EXPECT_TRUE(b.resume());
  EXPECT_EQ(b.recent_bounce_rate(), 0.0);
  EXPECT_TRUE(b.request(step_channel::email, t).granted);
}

TEST(Budget, BounceRateNeedsAMinimumOfSends) {
  budget_policy p;
  p.bounce_min_sends = 20;
  account_budget b{email_account(1000), zone("UTC"), p};
  auto t = utc(2026, 12, 1, 10);
  for (int i = 0; i < 19; ++i) {
    auto d = b.request(step_channel::email, t);
    b.record(d.ticket, i < 3 ? send_outcome::bounced : send_outcome::sent, t);
  }
  EXPECT_EQ(b.status(t),
            account_status::active); // 3/19, too few sends to judge
  auto d = b.request(step_channel::email, t);
  b.record(d.ticket, send_outcome::sent, t);
  EXPECT_EQ(b.status(t), account_status::paused); // 3/20 = 15%
}

TEST(Budget, LinkedInInvitesPerDayAndPerRollingWeek) {
  account_budget b{linkedin_account(), zone("UTC")};
  auto day1 = utc(2026, 12, 1, 10);
  EXPECT_EQ(grant_all(b, step_channel::linkedin_invite, day1), 3u);
  EXPECT_EQ(b.request(step_channel::linkedin_invite, day1).reason,
            budget_reason::daily_cap);
  auto day2 = utc(2026, 12, 2, 10);
  EXPECT_EQ(grant_all(b, step_channel::linkedin_invite, day2), 2u);
  auto d = b.request(step_channel::linkedin_invite, day2);
  EXPECT_EQ(d.reason, budget_reason::weekly_cap);
  EXPECT_EQ(d.retry_at,
            day1 + days_ms(7)); // when the first invite leaves the week
  EXPECT_EQ(b.usage(day2).invites_week, 5u);
  // Day 8: day 1's three invites left the window, day 2's two did not.
  auto day8 = utc(2026, 12, 8, 10);
  EXPECT_EQ(grant_all(b, step_channel::linkedin_invite, day8), 3u);
  EXPECT_EQ(b.usage(day8).invites_week, 5u);
}

TEST(Budget, LinkedInDeferredInviteLeavesTheWeek) {
  account_budget b{linkedin_account(), zone("UTC")};
  auto t = utc(2026, 12, 1, 10);
  auto d = b.request(step_channel::linkedin_invite, t);
  b.record(d.ticket, send_outcome::deferred, t);
  EXPECT_EQ(b.usage(t).invites_week, 0u);
  EXPECT_EQ(b.usage(t).invites, 0u);
}

TEST(Budget, LinkedInMessagesHaveTheirOwnCap) {
  account_budget b{linkedin_account(), zone("UTC")};
  auto t = utc(2026, 12, 1, 10);
  EXPECT_EQ(grant_all(b, step_channel::linkedin_invite, t), 3u);
  EXPECT_EQ(grant_all(b, step_channel::linkedin_message, t), 2u);
  EXPECT_EQ(b.request(step_channel::linkedin_message, t).reason,
            budget_reason::daily_cap);
}

TEST(Budget, LinkedInWarningPausesForTheCooldownOrUntilResumed) {
  account_budget b{linkedin_account(), zone("UTC")};
  auto t = utc(2026, 12, 1, 10);
  b.warn(t);
  EXPECT_EQ(b.status(t), account_status::warned);
  EXPECT_EQ(b.paused_until(t), t + hours{24});
  auto d = b.request(step_channel::linkedin_invite, t + hours{1});
  EXPECT_EQ(d.reason, budget_reason::account_warned);
  EXPECT_EQ(d.retry_at, t + hours{24});
  EXPECT_EQ(b.status(t + hours{24}), account_status::active);
  EXPECT_TRUE(b.request(step_channel::linkedin_invite, t + hours{24}).granted);
  b.warn(t + hours{25});
  EXPECT_TRUE(b.resume());
  EXPECT_TRUE(b.request(step_channel::linkedin_invite, t + hours{25}).granted);
}

TEST(Budget, PausedAndRevokedAccountsGrantNothingAndSayWhy) {
  account_budget b{email_account(), zone("UTC")};
  auto t = utc(2026, 12, 1, 10);
  b.pause();
  auto d = b.request(step_channel::email, t);
  EXPECT_EQ(d.reason, budget_reason::account_paused);
  EXPECT_EQ(d.retry_at, never);
  b.revoke();
  EXPECT_EQ(b.request(step_channel::email, t).reason,
            budget_reason::account_revoked);
  EXPECT_FALSE(b.resume());
  EXPECT_EQ(b.status(t), account_status::revoked);
  EXPECT_EQ(b.request(step_channel::linkedin_invite, t).reason,
            budget_reason::wrong_channel);
}

// After a restart, the sends storage holds count as their grants did.
TEST(Budget, RestoredSendsCountAgainstTodayTheWeekAndTheSpacing) {
  auto acc = email_account(3);
  acc.limits.spacing = minutes{10};
  account_budget b{acc, zone("UTC")};
  auto now = utc(2026, 12, 2, 12);
  b.restore(step_channel::email, utc(2026, 12, 1, 23), now); // yesterday
  b.restore(step_channel::email, now - minutes{4}, now);
  b.restore(step_channel::email, now - minutes{30}, now); // out of order
  b.restore(step_channel::linkedin_invite, now, now);     // not this channel
  EXPECT_EQ(b.usage(now).emails, 2u);
  auto d = b.request(step_channel::email, now);
  ASSERT_FALSE(d.granted);
  EXPECT_EQ(d.reason, budget_reason::spacing);
  EXPECT_EQ(d.retry_at, now + minutes{6}); // ten minutes after the latest
  EXPECT_TRUE(b.request(step_channel::email, now + minutes{6}).granted);
  d = b.request(step_channel::email, now + minutes{20});
  ASSERT_FALSE(d.granted);
  EXPECT_EQ(d.reason, budget_reason::daily_cap);

  account_budget li{linkedin_account(), zone("UTC")};
  for (int day = 1; day <= 4; ++day) // one invite a day, Nov 29 - Dec 2
    li.restore(step_channel::linkedin_invite, utc(2026, 11, 28 + day, 9), now);
  li.restore(step_channel::linkedin_invite, utc(2026, 11, 20, 9), now);
  EXPECT_EQ(li.usage(now).invites, 1u);
  EXPECT_EQ(li.usage(now).invites_week, 4u); // Nov 20 is past the week
  EXPECT_TRUE(li.request(step_channel::linkedin_invite, now).granted);
  d = li.request(step_channel::linkedin_invite, now);
  ASSERT_FALSE(d.granted);
  EXPECT_EQ(d.reason, budget_reason::weekly_cap);
}

// Callers read the clock before taking the account's lock: a time from just
// before midnight may come after the day has rolled over. It counts as today.
TEST(Budget, ATimeFromBeforeTodayNeverRollsTheDayBack) {
  account_budget b{email_account(1), zone("UTC")};
  auto midnight = utc(2026, 12, 2);
  EXPECT_TRUE(b.request(step_channel::email, midnight + seconds{1}).granted);
  auto late = b.request(step_channel::email, midnight - seconds{1});
  EXPECT_FALSE(late.granted);
  EXPECT_EQ(late.reason, budget_reason::daily_cap);
  EXPECT_FALSE(b.request(step_channel::email, midnight + seconds{2}).granted);
  EXPECT_EQ(b.usage(midnight + seconds{2}).emails, 1u);
}

TEST(SlotQueue, FollowUpsFirstThenByDueTime) {
  slot_queue q;
  auto t = utc(2026, 12, 1, 10);
  q.push({1, step_channel::email, false, t});
  q.push({2, step_channel::email, true, t + hours{2}});
  q.push({3, step_channel::email, false, t - hours{1}});
  q.push({4, step_channel::email, true, t + hours{1}});
  std::vector<uint64_t> order;
  while (auto r = q.pop())
    order.push_back(r->enrollment);
  EXPECT_EQ(order, (std::vector<uint64_t>{4, 2, 3, 1}));
}

TEST(SlotQueue, OneRequestPerEnrollmentAndRemoval) {
  slot_queue q;
  auto t = utc(2026, 12, 1, 10);
  q.push({1, step_channel::email, false, t});
  q.push({1, step_channel::email, true, t + hours{1}}); // replaces
  q.push({2, step_channel::email, false, t});
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.front()->enrollment, 1u);
  EXPECT_TRUE(q.front()->follow_up);
  EXPECT_TRUE(q.remove(1));
  EXPECT_FALSE(q.remove(1));
  EXPECT_EQ(q.pop()->enrollment, 2u);
  EXPECT_TRUE(q.empty());
}

// When a day's budget is short, due follow-ups get it before new leads.
TEST(SlotQueue, ShortBudgetGoesToFollowUps) {
  account_budget b{email_account(2), zone("UTC")};
  slot_queue q;
  auto t = utc(2026, 12, 1, 10);
  for (uint64_t i = 1; i <= 3; ++i) // first steps, due earlier
    q.push({i, step_channel::email, false, t - hours{5}});
  q.push({10, step_channel::email, true, t});
  q.push({11, step_channel::email, true, t});
  std::vector<uint64_t> granted;
  while (!q.empty() && b.request(step_channel::email, t).granted)
    granted.push_back(q.pop()->enrollment);
  EXPECT_EQ(granted, (std::vector<uint64_t>{10, 11}));
  EXPECT_EQ(q.size(), 3u);
}

TEST(NewLeadGate, CapsNewLeadsPerLocalDay) {
  new_lead_gate gate{2, zone("Asia/Tokyo")};
  auto t = utc(2026, 12, 1, 10); // 19:00 JST
  EXPECT_TRUE(gate.admit(t).granted);
  EXPECT_TRUE(gate.admit(t).granted);
  auto d = gate.admit(t);
  EXPECT_EQ(d.reason, budget_reason::new_lead_cap);
  EXPECT_EQ(d.retry_at, utc(2026, 12, 1, 15)); // JST midnight
  gate.release(t);
  EXPECT_TRUE(gate.admit(t).granted);
  EXPECT_EQ(gate.started_today(t), 2u);
  EXPECT_TRUE(gate.admit(utc(2026, 12, 1, 15)).granted);
  new_lead_gate open{std::nullopt, zone("UTC")};
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(open.admit(t).granted);
}

} // namespace
} // namespace herald
