#include "storage/group_commit.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "temp_dir.hpp"

namespace herald::storage {
namespace {

std::unique_ptr<store> open_store(const std::string& path,
                                  storage_options o = {}) {
  o.path = path;
  auto s = store::open(o);
  EXPECT_TRUE(s) << (s ? "" : s.error().message);
  return s ? std::move(*s) : nullptr;
}

write_set one_put(uint64_t i, size_t value_bytes = 40) {
  write_set w;
  w.put(cf::enrollments, key::enrollment(workspace_id{1}, enrollment_id{i}),
        std::string(value_bytes, static_cast<char>('a' + i % 26)));
  return w;
}

bool present(store& s, uint64_t i) {
  auto v =
    s.get(cf::enrollments, key::enrollment(workspace_id{1}, enrollment_id{i}));
  return v && v->has_value();
}

TEST(GroupCommit, CompletesEverySetInOrderOnceDurable) {
  test::temp_dir dir;
  auto s = open_store(dir.str());
  group_commit gc{*s};
  std::mutex mu;
  std::vector<uint64_t> order;
  std::atomic<int> failures{0};
  for (uint64_t i = 1; i <= 2000; ++i)
    gc.submit(one_put(i), [&, i](const status& st) {
      if (!st) ++failures;
      std::lock_guard lk{mu};
      order.push_back(i);
    });
  gc.flush_once();
  ASSERT_EQ(order.size(), 2000u);
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  EXPECT_EQ(failures, 0);
  EXPECT_TRUE(present(*s, 1));
  EXPECT_TRUE(present(*s, 2000));
  auto t = gc.stats();
  EXPECT_EQ(t.sets, 2001u); // and the flush marker
  EXPECT_EQ(t.mutations, 2000u);
  EXPECT_EQ(t.failed_rounds, 0u);
}

TEST(GroupCommit, ManyPipeliningProducersShareRounds) {
  test::temp_dir dir;
  storage_options o;
  o.mode = durability::sync;
  auto s = open_store(dir.str(), o);
  group_commit gc{*s};
  constexpr int producers = 8;
  constexpr uint64_t per_producer = 1000;
  std::atomic<uint64_t> acked{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (uint64_t i = 0; i < per_producer; ++i)
        gc.submit(one_put(p * per_producer + i + 1),
                  [&](const status& st) { acked += st ? 1 : 0; });
    });
  for (auto& t : threads)
    t.join();
  gc.flush_once();
  EXPECT_EQ(acked, producers * per_producer);
  auto t = gc.stats();
  // With fsync per round, sets queue up while a round is written: far fewer
  // rounds.
  EXPECT_LT(t.rounds, t.sets / 4);
  EXPECT_GT(t.largest_round, 1u);
  for (uint64_t i = 1; i <= producers * per_producer; i += 997)
    EXPECT_TRUE(present(*s, i));
}

TEST(GroupCommit, SynchronousModeWritesOnlyWhenFlushed) {
  test::temp_dir dir;
  storage_options o;
  o.synchronous = true;
  auto s = open_store(dir.str(), o);
  group_commit gc{*s};
  int acked = 0;
  for (uint64_t i = 1; i <= 3; ++i)
    gc.submit(one_put(i), [&](const status& st) { acked += st ? 1 : 0; });
  EXPECT_FALSE(present(*s, 1));
  EXPECT_EQ(acked, 0);
  EXPECT_EQ(gc.flush_once(), 3u);
  EXPECT_EQ(acked, 3);
  EXPECT_TRUE(present(*s, 3));
  EXPECT_EQ(gc.flush_once(), 0u);
  EXPECT_EQ(gc.stats().rounds, 1u);
}

TEST(GroupCommit, BackPressureBoundsTheQueue) {
  test::temp_dir dir;
  storage_options o;
  o.max_queue_bytes = 2000;
  o.linger =
    std::chrono::milliseconds{300}; // the writer waits: the queue fills
  auto s = open_store(dir.str(), o);
  group_commit gc{*s};
  std::atomic<int> acked{0};
  int accepted = 0;
  for (uint64_t i = 1; i <= 100; ++i) {
    auto w = one_put(i, 150);
    completion done = [&](const status&) { ++acked; };
    if (!gc.try_submit(w, done)) {
      EXPECT_EQ(w.count(), 1u); // refused: left as it was
      EXPECT_TRUE(static_cast<bool>(done));
      break;
    }
    ++accepted;
  }
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, 100);
  EXPECT_LE(accepted * one_put(1, 150).bytes(), o.max_queue_bytes);
  // A blocking submit waits for room rather than growing the queue.
  gc.submit(one_put(1000, 150), [&](const status&) { ++acked; });
  gc.flush_once();
  EXPECT_EQ(acked, accepted + 1);
}

// post is for producers that must never wait (actors): it queues beyond the
// cap, and the backlog it reports is what their back-pressure reads.
TEST(GroupCommit, PostNeverBlocksAndReportsTheBacklog) {
  test::temp_dir dir;
  storage_options o;
  o.synchronous = true; // nothing is written until flushed: the queue grows
  o.max_queue_bytes = 2000;
  auto s = open_store(dir.str(), o);
  group_commit gc{*s};
  int acked = 0;
  for (uint64_t i = 1; i <= 100; ++i)
    gc.post(one_put(i, 150), [&](const status& st) {
      EXPECT_TRUE(st);
      ++acked;
    });
  EXPECT_GT(gc.backlog_bytes(), 100 * one_put(1, 150).bytes());
  EXPECT_EQ(gc.flush_once(), 100u);
  EXPECT_EQ(acked, 100);
  EXPECT_EQ(gc.backlog_bytes(), 0u);
  EXPECT_TRUE(present(*s, 100));
  gc.stop();
  bool refused = false;
  gc.post(one_put(101), [&](const status& st) { refused = !st; });
  EXPECT_TRUE(refused);
  EXPECT_FALSE(present(*s, 101));
}

TEST(GroupCommit, StopWritesWhatIsQueuedAndRefusesTheRest) {
  test::temp_dir dir;
  auto s = open_store(dir.str());
  std::atomic<int> ok{0};
  errc late = errc::other;
  {
    group_commit gc{*s};
    for (uint64_t i = 1; i <= 500; ++i)
      gc.submit(one_put(i), [&](const status& st) { ok += st ? 1 : 0; });
    gc.stop();
    EXPECT_EQ(ok, 500);
    gc.submit(one_put(501), [&](const status& st) {
      if (!st) late = st.error().code;
    });
  }
  EXPECT_EQ(late, errc::shutting_down);
  EXPECT_TRUE(present(*s, 500));
  EXPECT_FALSE(present(*s, 501));
}

TEST(GroupCommit, ASetIsAtomicAcrossColumnFamilies) {
  test::temp_dir dir;
  storage_options o;
  o.synchronous = true;
  auto s = open_store(dir.str(), o);
  group_commit gc{*s};
  write_set w;
  w.put(cf::enrollments, key::enrollment(workspace_id{1}, enrollment_id{1}),
        "snap");
  auto history = key::history(workspace_id{1}, lead_id{1}, from_ms(10),
                              enrollment_id{1}, 0, history_event::sent);
  w.put(cf::history, history, "sent");
  w.erase(cf::usage,
          key::usage(workspace_id{1}, account_id{1}, date::local_days{}));
  bool acked = false;
  gc.submit(std::move(w),
            [&](const status& st) { acked = static_cast<bool>(st); });
  gc.flush_once();
  EXPECT_TRUE(acked);
  EXPECT_TRUE(s->get(cf::history, history)->has_value());
}

} // namespace
} // namespace herald::storage
