#include "load-tests/w1.hpp"

#include <gtest/gtest.h>

namespace herald::load {
namespace {

TEST(W1, HashIsThePeersSplitMix64) {
  EXPECT_EQ(splitmix64(0), 0xE220A8397B1DCDAFull);
}

// The counts the peer harness publishes for the defaults: if these match,
// herald and BullMQ do exactly the same work.
TEST(W1, DefaultsGiveThePeersCounts) {
  w1_config c;
  auto e = expected(c);
  EXPECT_EQ(e.repliers, 14'976u);
  EXPECT_EQ(e.sends, 370'193u);
  uint64_t sum_k = 0;
  for (uint64_t i = 0; i < c.leads; ++i)
    if (auto k = plan_lead(c, i).replies_after)
      sum_k += static_cast<uint64_t>(*k);
  EXPECT_EQ(sum_k, 30'097u);
}

TEST(W1, LeadsFillWorkspacesInBlocksAndAccountsRoundRobin) {
  w1_config c;
  auto l = plan_lead(c, 5013);
  EXPECT_EQ(l.workspace, 1u);
  EXPECT_EQ(l.local, 13u);
  EXPECT_EQ(l.email_account, 3u);
  EXPECT_EQ(l.linkedin_account, 3u);
  EXPECT_EQ(plan_lead(c, 99'999).workspace, 19u);
  w1_config odd;
  odd.leads = 101; // ceil(101 / 20) = 6 per workspace
  EXPECT_EQ(plan_lead(odd, 100).workspace, 16u);
  EXPECT_EQ(plan_lead(odd, 100).local, 4u);
}

// A run that did everything right, as a runtime would record it.
w1_recorder perfect_run(const w1_config& c) {
  w1_recorder r{c};
  for (uint64_t i = 0; i < c.leads; ++i) {
    int64_t sent = 0;
    auto steps = expected_steps(c, i);
    for (int s = 1; s <= steps; ++s) {
      auto due = sent + w1_delay_days[s - 1] * c.day_ms;
      sent = due + static_cast<int64_t>(i % 7); // a little late
      r.sent(i, s, due, sent);
    }
    if (plan_lead(c, i).replies_after) r.reply_acknowledged(i, sent + 1);
  }
  return r;
}

TEST(W1, APerfectRunPassesEveryInvariant) {
  w1_config c;
  c.leads = 10'000;
  auto r = perfect_run(c);
  auto inv = r.check();
  EXPECT_TRUE(inv.ok());
  EXPECT_EQ(r.sends(), expected(c).sends);
  auto late = r.lateness();
  EXPECT_EQ(late.n, r.sends());
  EXPECT_EQ(late.min, 0);
  EXPECT_EQ(late.max, 6);
  EXPECT_NEAR(late.mean, 3.0, 0.01);
  EXPECT_EQ(r.lateness(1).n, c.leads); // every lead gets step 1
  EXPECT_EQ(r.lateness(1).n + r.lateness(2).n + r.lateness(3).n +
              r.lateness(4).n,
            r.sends());
}

TEST(W1, EachViolationIsCounted) {
  w1_config c;
  c.leads = 1000;
  // The first lead that replies, and the step after which it does.
  // see plan).
  uint64_t replier = 0;
  while (!plan_lead(c, replier).replies_after)
    ++replier;
  auto k = *plan_lead(c, replier).replies_after;
  auto r = perfect_run(c);
  r.sent(replier, k, 0, 1'000'000); // after the reply, and a duplicate
  if (k < w1_steps)
    r.sent(replier, k + 1, 0, 1'000'001); // unexpected and after the reply
  auto inv = r.check();
  EXPECT_GE(inv.sends_after_reply, 1u);
  EXPECT_EQ(inv.duplicate_sends, 1u);
  EXPECT_EQ(inv.unexpected_sends, k < w1_steps ? 1u : 0u);
  EXPECT_EQ(inv.missing_sends, 0u);
  EXPECT_FALSE(inv.ok());

  w1_recorder empty{c};
  EXPECT_EQ(empty.check().missing_sends, expected(c).sends);
}

TEST(W1, RecordersMerge) {
  w1_config c;
  c.leads = 100;
  auto whole = perfect_run(c);
  w1_recorder a{c};
  w1_recorder b{c};
  a.merge(whole);
  b.merge(a);
  EXPECT_EQ(b.sends(), whole.sends());
  EXPECT_TRUE(b.check().ok());
  EXPECT_EQ(b.send_span(), whole.send_span());
}

TEST(W1, LatenessPercentilesInterpolate) {
  w1_config c;
  c.leads = 1;
  w1_recorder r{c};
  for (int i = 0; i <= 100; ++i)
    r.sent(0, 1, 0, i); // lateness 0..100
  auto s = r.lateness();
  EXPECT_EQ(s.n, 101u);
  EXPECT_DOUBLE_EQ(s.p50, 50);
  EXPECT_DOUBLE_EQ(s.p90, 90);
  EXPECT_DOUBLE_EQ(s.p99, 99);
  EXPECT_NEAR(s.p999, 99.9, 1e-9);
  EXPECT_DOUBLE_EQ(s.max, 100);
}

} // namespace
} // namespace herald::load
