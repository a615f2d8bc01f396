#include "storage/history.hpp"

#include <gtest/gtest.h>

#include "codec_samples.hpp"
#include "storage/codec.hpp"
#include "storage/keys.hpp"
#include "temp_dir.hpp"

namespace herald::storage {
namespace {

using codec_samples::t0;

class LeadHistory : public ::testing::Test {
 protected:
  LeadHistory() {
    storage_options o;
    o.path = dir.str();
    auto s = store::open(o);
    EXPECT_TRUE(s);
    db = std::move(*s);
  }

  // Enrollment `id` of lead 5 in workspace 1: indexed, its snapshot carrying
  // one line per time in `at` (step = the line's index).
  void enroll(uint64_t id, std::vector<int64_t> at, lead_id lead = lead_id{5}) {
    enrollment_snapshot x;
    x.e.id = enrollment_id{id};
    x.e.workspace = ws;
    x.e.lead = lead;
    x.e.last_sent = t0;
    for (size_t i = 0; i < at.size(); ++i)
      x.history.push_back(history_entry{
        x.e.id, static_cast<uint16_t>(i), history_event::sent,
        history_reason::none, account_id{3}, t0 + duration{at[i]}});
    write_set w;
    w.merge(cf::leads, key::lead_enrollments(ws, lead),
            key::lead_enrollments_entry(x.e.id));
    w.put(cf::enrollments, key::enrollment(ws, x.e.id), encode(x));
    ASSERT_TRUE(db->write(w, true));
  }

  test::temp_dir dir;
  std::unique_ptr<store> db;
  const workspace_id ws{1};
};

TEST_F(LeadHistory, MergesEveryEnrollmentsLinesAndTheSpilledOnesByTime) {
  enroll(10, {0, 300});
  enroll(11, {100, 200});
  enroll(12, {50}, lead_id{6}); // another lead's
  history_entry spilled{enrollment_id{10},
                        7,
                        history_event::postponed,
                        history_reason::auto_reply,
                        account_id{},
                        t0 + duration{150}};
  write_set w;
  w.put(cf::history,
        key::history(ws, lead_id{5}, spilled.at, spilled.enrollment,
                     spilled.step, spilled.what),
        encode(spilled));
  // Indexed before its first snapshot: nothing to read yet.
  w.merge(cf::leads, key::lead_enrollments(ws, lead_id{5}),
          key::lead_enrollments_entry(enrollment_id{13}));
  ASSERT_TRUE(db->write(w, true));

  auto lines = read_lead_history(*db, ws, lead_id{5});
  ASSERT_TRUE(lines) << lines.error().message;
  ASSERT_EQ(lines->size(), 5u);
  const std::vector<std::pair<uint64_t, int64_t>> expected{
    {10, 0}, {11, 100}, {10, 150}, {11, 200}, {10, 300}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ((*lines)[i].enrollment.value, expected[i].first) << i;
    EXPECT_EQ((*lines)[i].at, t0 + duration{expected[i].second}) << i;
  }
  EXPECT_EQ((*lines)[2].what, history_event::postponed);
  EXPECT_EQ((*lines)[0].account, account_id{3});

  auto none = read_lead_history(*db, ws, lead_id{99});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(LeadHistory, ACorruptSnapshotIsAnErrorNamingItsKey) {
  enroll(10, {0});
  write_set w;
  w.put(cf::enrollments, key::enrollment(ws, enrollment_id{10}), "\x01\x02");
  ASSERT_TRUE(db->write(w, true));
  auto lines = read_lead_history(*db, ws, lead_id{5});
  ASSERT_FALSE(lines);
  EXPECT_EQ(lines.error().code, errc::bad_value);
  EXPECT_EQ(lines.error().key,
            printable(key::enrollment(ws, enrollment_id{10})));
}

} // namespace
} // namespace herald::storage
