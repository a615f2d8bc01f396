#include "storage/recovery.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

#include "codec_samples.hpp"
#include "storage/codec.hpp"
#include "temp_dir.hpp"

namespace herald::storage {
namespace {

class Recovery : public ::testing::Test {
 protected:
  Recovery() {
    storage_options o;
    o.path = dir.str();
    auto s = store::open(o);
    EXPECT_TRUE(s);
    db = std::move(*s);
  }

  void write(const write_set& w) { ASSERT_TRUE(db->write(w, true)); }

  test::temp_dir dir;
  std::unique_ptr<store> db;
};

// The snapshot of enrollment `id` of workspace `ws`: every field set, the
// phase, the pause and the due time varying with the id.
enrollment snapshot(uint64_t ws, uint64_t id) {
  auto e = codec_samples::full_enrollment();
  e.workspace = workspace_id{ws};
  e.id = enrollment_id{id};
  e.phase = static_cast<enrollment_phase>(
    id % enum_names<enrollment_phase>::values.size());
  e.paused = id % 2 == 0;
  e.generation = static_cast<uint32_t>(id);
  e.due = e.last_sent + duration{static_cast<int64_t>(id)};
  return e;
}

TEST_F(Recovery, EnrollmentsComeBackInKeyOrder) {
  // Written shuffled, with ids and workspaces across byte boundaries: they come
  // back by workspace, then id, in numeric order.
  std::vector<std::pair<uint64_t, uint64_t>> written; // (workspace, id)
  for (uint64_t ws : {1u, 2u, 300u})
    for (uint64_t i = 1; i <= 1000; ++i)
      written.emplace_back(ws, i * 997);
  std::shuffle(written.begin(), written.end(), std::mt19937_64{5});
  write_set w;
  for (auto [ws, id] : written)
    w.put(cf::enrollments, key::enrollment(workspace_id{ws}, enrollment_id{id}),
          encode(snapshot(ws, id)));
  write(w);
  std::vector<std::pair<uint64_t, uint64_t>> seen;
  ASSERT_TRUE(scan_enrollments(*db, [&](const enrollment& e) {
    seen.emplace_back(e.workspace.value, e.id.value);
    codec_samples::expect_same(e, snapshot(e.workspace.value, e.id.value));
  }));
  std::sort(written.begin(), written.end());
  EXPECT_EQ(seen, written);
}

TEST_F(Recovery, OpenIntentsAndArmedTimersFollowThePhase) {
  struct expectation {
    enrollment_phase phase;
    bool open_intent;
    bool armed;
  };
  const std::vector<expectation> phases{
    {enrollment_phase::waiting, false, true},
    {enrollment_phase::waiting_invite, false, true},
    {enrollment_phase::awaiting_slot, false, false},
    {enrollment_phase::granted, true, false},
    {enrollment_phase::sending, true, false},
    {enrollment_phase::done, false, false},
  };
  ASSERT_EQ(phases.size(), enum_names<enrollment_phase>::values.size());
  for (const auto& x : phases) {
    SCOPED_TRACE(std::string{to_string(x.phase)});
    enrollment e;
    e.phase = x.phase;
    e.generation = 3;
    e.due = from_ms(1'796'000'000'000);
    EXPECT_EQ(has_open_intent(e), x.open_intent);
    EXPECT_EQ(is_armed(e), x.armed);
    // A paused enrollment keeps its place but has no timer.
    e.paused = true;
    EXPECT_FALSE(is_armed(e));
    EXPECT_EQ(has_open_intent(e), x.open_intent);
    // Nor has a terminal one; a call under way when it halted stays open.
    e.paused = false;
    e.state = enrollment_state::replied;
    EXPECT_FALSE(is_armed(e));
    EXPECT_EQ(has_open_intent(e), x.open_intent);
  }
  // Generation 0 was never armed.
  EXPECT_FALSE(is_armed(enrollment{}));
  EXPECT_FALSE(has_open_intent(enrollment{}));
}

TEST_F(Recovery, UsageCountersOfRecentDays) {
  auto today = date::local_days{date::days{20'000}};
  write_set w;
  for (int d = -10; d <= 0; ++d)
    w.put(cf::usage,
          key::usage(workspace_id{1}, account_id{2}, today + date::days{d}),
          encode(usage_counters{static_cast<uint32_t>(d + 10), 1, 2}));
  write(w);
  std::vector<day_usage> seen;
  ASSERT_TRUE(scan_usage(*db, today - date::days{6},
                         [&](const day_usage& u) { seen.push_back(u); }));
  ASSERT_EQ(seen.size(), 7u);
  EXPECT_EQ(seen.front().day, today - date::days{6});
  EXPECT_EQ(seen.back().day, today);
  EXPECT_EQ(seen.back().counters.emails, 10u);
  EXPECT_EQ(seen.back().account, account_id{2});
}

TEST_F(Recovery, ProcessedEventsWithinTheWindowAndPurge) {
  auto now = from_ms(1'796'000'000'000);
  write_set w;
  for (int d = 0; d < 10; ++d)
    put_processed_event(w, workspace_id{1}, "evt_" + std::to_string(d),
                        now - days_ms(d));
  write(w);
  std::vector<std::string> recent;
  ASSERT_TRUE(
    scan_processed_events(*db, now - days_ms(7), [&](const processed_event& e) {
      recent.push_back(e.event_id);
    }));
  EXPECT_EQ(recent.size(), 8u); // days 0..7
  auto purged = purge_processed_events(*db, now - days_ms(7));
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 2u);
  int left = 0;
  ASSERT_TRUE(scan_processed_events(*db, from_ms(0),
                                    [&](const processed_event&) { ++left; }));
  EXPECT_EQ(left, 8);
}

TEST_F(Recovery, ACorruptValueIsReportedWithItsKey) {
  write_set w;
  w.put(cf::enrollments, key::enrollment(workspace_id{1}, enrollment_id{1}),
        encode(snapshot(1, 1)));
  auto k = key::enrollment(workspace_id{1}, enrollment_id{3});
  w.put(cf::enrollments, k, std::string{"\x01garbage", 8});
  w.put(cf::enrollments, key::enrollment(workspace_id{2}, enrollment_id{1}),
        encode(snapshot(2, 1)));
  write(w);
  std::vector<uint64_t> seen;
  auto st = scan_enrollments(
    *db, [&](const enrollment& e) { seen.push_back(e.workspace.value); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, errc::bad_value);
  EXPECT_EQ(st.error().key, printable(k));
  EXPECT_EQ(st.error().message.rfind("enrollment record", 0), 0u)
    << st.error().message;
  EXPECT_EQ(seen, (std::vector<uint64_t>{1})); // the scan stops there
}

} // namespace
} // namespace herald::storage
