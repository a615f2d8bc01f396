#include "storage/recovery.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

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

TEST_F(Recovery, DueIndexGivesBackEveryArmedTimer) {
  std::mt19937_64 rng{5};
  std::map<std::tuple<uint64_t, int64_t, uint64_t>, uint32_t> expected;
  write_set w;
  for (uint64_t i = 1; i <= 3000; ++i) {
    due_entry e{
      workspace_id{1 + i % 3}, enrollment_id{i},
      from_ms(1'796'000'000'000 + static_cast<int64_t>(rng() % 2'000'000'000)),
      static_cast<uint32_t>(i % 7)};
    put_due(w, e);
    expected[{e.ws.value, to_ms(e.due), e.id.value}] = e.generation;
  }
  write(w);
  // Superseded entries go away with the new ones' writes.
  write_set later;
  int erased = 0;
  for (auto it = expected.begin(); it != expected.end() && erased < 500;
       ++erased) {
    auto [ws, due, id] = it->first;
    erase_due(later, workspace_id{ws}, from_ms(due), enrollment_id{id});
    it = expected.erase(it);
  }
  write(later);
  std::vector<std::tuple<uint64_t, int64_t, uint64_t>> seen;
  ASSERT_TRUE(scan_due(*db, [&](const due_entry& e) {
    seen.emplace_back(e.ws.value, to_ms(e.due), e.id.value);
    EXPECT_EQ(e.generation, (expected[{e.ws.value, to_ms(e.due), e.id.value}]));
  }));
  ASSERT_EQ(seen.size(), expected.size());
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
}

TEST_F(Recovery, OpenIntentsAreThoseWithoutAnOutcome) {
  write_set w;
  for (uint64_t e = 1; e <= 10; ++e) {
    send_intent in{
      enrollment_id{e}, 2, 1, account_id{7}, step_channel::linkedin_invite,
      from_ms(1000 * e)};
    w.put(cf::intents,
          key::intent(workspace_id{4}, in.enrollment, in.step, in.attempt),
          encode(in));
  }
  write(w);
  // Recording an outcome removes the intent in the same batch.
  write_set outcomes;
  for (uint64_t e = 1; e <= 10; e += 2)
    outcomes.erase(cf::intents,
                   key::intent(workspace_id{4}, enrollment_id{e}, 2, 1));
  write(outcomes);
  std::vector<uint64_t> open;
  ASSERT_TRUE(scan_open_intents(*db, [&](const open_intent& o) {
    EXPECT_EQ(o.ws, workspace_id{4});
    EXPECT_EQ(o.intent.step, 2);
    EXPECT_EQ(o.intent.kind, step_channel::linkedin_invite);
    open.push_back(o.intent.enrollment.value);
  }));
  EXPECT_EQ(open, (std::vector<uint64_t>{2, 4, 6, 8, 10}));
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
  auto k = key::due(workspace_id{1}, from_ms(5), enrollment_id{3});
  w.put(cf::due, k, std::string{"\x63garbage", 8});
  write(w);
  auto st = scan_due(*db, [](const due_entry&) {});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, errc::bad_value);
  EXPECT_EQ(st.error().key, printable(k));
  write_set bad_intent;
  bad_intent.put(cf::intents,
                 key::intent(workspace_id{1}, enrollment_id{1}, 0, 1), "\x01");
  write(bad_intent);
  EXPECT_FALSE(scan_open_intents(*db, [](const open_intent&) {}));
}

} // namespace
} // namespace herald::storage
