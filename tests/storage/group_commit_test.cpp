#include "storage/group_commit.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
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

// A store whose group commit writes only when flushed (no writer thread).
std::unique_ptr<store> open_synchronous(const std::string& path) {
  storage_options o;
  o.synchronous = true;
  return open_store(path, o);
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

// A completion holds small callables inline and larger ones on the heap; both
// are called with the status, survive moves and end exactly once.
TEST(Completion, CallsAndEndsWhatItHoldsInlineOrOnTheHeap) {
  struct probe {
    std::shared_ptr<int> calls = std::make_shared<int>(0);
  };
  probe small;
  probe large;
  std::array<uint64_t, 16> padding{};
  {
    completion inline_one = [p = small](const status& s) {
      *p.calls += s ? 1 : 10;
    };
    completion heap_one = [p = large, padding](const status&) {
      *p.calls += 1 + static_cast<int>(padding[0]);
    };
    EXPECT_EQ(small.calls.use_count(), 2);
    EXPECT_EQ(large.calls.use_count(), 2);
    completion moved = std::move(inline_one);
    completion also_moved;
    also_moved = std::move(heap_one);
    EXPECT_FALSE(inline_one);
    EXPECT_FALSE(heap_one);
    ASSERT_TRUE(moved);
    ASSERT_TRUE(also_moved);
    moved(done{});
    moved(status{storage_error{errc::io_error, "", ""}});
    also_moved(done{});
    EXPECT_EQ(*small.calls, 11);
    EXPECT_EQ(*large.calls, 1);
    // Each captured copy is still held once, by the completion it moved to.
    EXPECT_EQ(small.calls.use_count(), 2);
    EXPECT_EQ(large.calls.use_count(), 2);
  }
  EXPECT_EQ(small.calls.use_count(), 1);
  EXPECT_EQ(large.calls.use_count(), 1);
  // An empty std::function is no completion at all.
  completion none = std::function<void(const status&)>{};
  EXPECT_FALSE(none);
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
  auto s = open_synchronous(dir.str());
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
  auto s = open_synchronous(dir.str());
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

// The value of enrollment `i`'s key in workspace `ws`, or "(none)".
std::string value_of(store& s, uint64_t i, uint64_t ws = 1) {
  auto v =
    s.get(cf::enrollments, key::enrollment(workspace_id{ws}, enrollment_id{i}));
  return v && *v ? **v : std::string{"(none)"};
}

// A round is written in key order; writes to one key keep the order they
// came in, across sets and within one.
TEST(GroupCommit, ARoundKeepsTheOrderOfWritesToOneKey) {
  test::temp_dir dir;
  auto s = open_synchronous(dir.str());
  group_commit gc{*s};
  auto at = [](uint64_t i) {
    return key::enrollment(workspace_id{1}, enrollment_id{i});
  };
  for (uint64_t round = 0; round < 60; ++round) {
    write_set w;
    w.put(cf::enrollments, at(1000 - round), "other");
    w.put(cf::enrollments, at(7), std::to_string(round));
    if (round % 3 == 0) w.erase(cf::enrollments, at(9));
    if (round % 3 == 1) w.put(cf::enrollments, at(9), "nine");
    gc.submit(std::move(w), {});
  }
  write_set last;
  last.put(cf::enrollments, at(5), "first");
  last.erase(cf::enrollments, at(5));
  last.put(cf::enrollments, at(6), "gone");
  last.put(cf::enrollments, at(6), "kept");
  gc.submit(std::move(last), {});
  EXPECT_EQ(gc.flush_once(), 61u);
  EXPECT_EQ(gc.stats().rounds, 1u);
  EXPECT_EQ(value_of(*s, 7), "59");
  EXPECT_EQ(value_of(*s, 9), "nine"); // erased in round 57, put in 58
  EXPECT_EQ(value_of(*s, 5), "(none)");
  EXPECT_EQ(value_of(*s, 6), "kept");
  for (uint64_t round = 0; round < 60; ++round)
    EXPECT_EQ(value_of(*s, 1000 - round), "other");
}

// A round's keys are dealt into groups (family, workspace and kind), those in
// order already kept so and the others sorted; a round of more groups than
// that pays for is sorted whole. Either way, every key holds the value last
// written to it, wherever its writes came in the round.
TEST(GroupCommit, ARoundOfManyKindsOfKeysKeepsTheLastWriteOfEach) {
  for (uint64_t workspaces : {3, 90}) {
    test::temp_dir dir;
    auto s = open_synchronous(dir.str());
    group_commit gc{*s};
    auto lead = [](uint64_t ws, uint64_t i) {
      return key::lead(workspace_id{ws}, lead_id{i << 40 | i});
    };
    for (uint64_t round = 0; round < 4; ++round)
      for (uint64_t ws = 1; ws <= workspaces; ++ws) {
        write_set w;
        for (uint64_t i = 1; i <= 20; ++i) {
          // Enrollments that come again in every set, descending leads, a
          // workspace key written twice in each.
          w.put(cf::enrollments,
                key::enrollment(workspace_id{ws}, enrollment_id{i}),
                std::to_string(round));
          w.put(cf::leads, lead(ws, 21 - i), std::to_string(round) + "L");
        }
        w.put(cf::workspaces, key::workspace(workspace_id{ws}),
              "first " + std::to_string(round));
        w.put(cf::workspaces, key::workspace(workspace_id{ws}),
              "then " + std::to_string(round));
        gc.submit(std::move(w), {});
      }
    EXPECT_EQ(gc.flush_once(), 4 * workspaces);
    EXPECT_EQ(gc.stats().rounds, 1u);
    for (uint64_t ws = 1; ws <= workspaces; ++ws) {
      for (uint64_t i = 1; i <= 20; ++i) {
        EXPECT_EQ(value_of(*s, i, ws), "3") << ws << " " << i;
        auto v = s->get(cf::leads, lead(ws, i));
        ASSERT_TRUE(v && *v);
        EXPECT_EQ(**v, "3L");
      }
      auto v = s->get(cf::workspaces, key::workspace(workspace_id{ws}));
      ASSERT_TRUE(v && *v);
      EXPECT_EQ(**v, "then 3");
    }
  }
}

// What a round's order must be: by family and key, then in the order the
// mutations came (a round with a range deletion: as they came).
std::vector<uint32_t> expected_order(const std::vector<write_set>& sets) {
  std::vector<std::pair<cf, std::string>> keys;
  bool ranged = false;
  for (const auto& set : sets)
    set.for_each(
      [&](write_set::op o, cf c, std::string_view k, std::string_view) {
        ranged = ranged || o == write_set::op::erase_range;
        keys.emplace_back(c, std::string{k});
      });
  std::vector<uint32_t> order(keys.size());
  for (uint32_t i = 0; i < order.size(); ++i)
    order[i] = i;
  if (!ranged)
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return keys[a] < keys[b]; });
  return order;
}

// A round is written in the order of a whole sort, whether its groups
// (family, workspace and kind) came in order (skipped), out of order (each
// sorted), or were too many to deal (sorted whole); with keys shorter than a
// group's 9 bytes, keys that begin others, and keys written more than once.
TEST(GroupCommit, ARoundIsWrittenInKeyOrderWhateverItsGroups) {
  auto enrollment = [](uint64_t ws, uint64_t i) {
    return key::enrollment(workspace_id{ws}, enrollment_id{i});
  };
  auto lead = [](uint64_t ws, uint64_t i) {
    return key::lead(workspace_id{ws}, lead_id{i << 40 | i});
  };
  // 3 groups per workspace: 21 and 22 workspaces make 63 and 66, around the
  // 64 a round is dealt into at most.
  for (uint64_t workspaces : {1, 2, 21, 22, 90}) {
    std::vector<write_set> sets(3);
    for (uint64_t ws = 1; ws <= workspaces; ++ws)
      for (uint64_t i = 1; i <= 30; ++i) {
        // Ascending ids across the sets (in order), descending leads (out of
        // order), and short keys: some a prefix of others, some repeated.
        sets[i % 3].put(cf::enrollments, enrollment(ws, i), "e");
        sets[i % 3].put(cf::leads, lead(ws, 31 - i), "l");
        std::string shorter = key::workspace(workspace_id{ws});
        shorter.resize(i % 10);
        sets[(i + 1) % 3].put(cf::workspaces, shorter, "w");
      }
    sets[2].merge(cf::leads, lead(1, 5), "m");
    auto order = round_order(sets);
    EXPECT_EQ(order, expected_order(sets)) << workspaces << " workspaces";
  }
  std::vector<write_set> ranged(2);
  for (uint64_t i = 9; i >= 1; --i)
    ranged[0].put(cf::enrollments, enrollment(1, i), "e");
  ranged[1].erase_range(cf::enrollments, key::workspace_prefix(workspace_id{1}),
                        key::workspace_end(workspace_id{1}));
  ranged[1].put(cf::enrollments, enrollment(1, 3), "again");
  EXPECT_EQ(round_order(ranged), expected_order(ranged));
  EXPECT_TRUE(round_order(std::vector<write_set>(2)).empty());
}

// A range deletion covers what came before it in its round, never what came
// after; and it does not break the memtable's hinted inserts.
TEST(GroupCommit, ARangeDeletionCoversOnlyWhatCameBefore) {
  test::temp_dir dir;
  auto s = open_synchronous(dir.str());
  group_commit gc{*s};
  auto at = [](uint64_t ws, uint64_t i) {
    return key::enrollment(workspace_id{ws}, enrollment_id{i});
  };
  write_set before;
  before.put(cf::enrollments, at(2, 5), "before");
  before.put(cf::enrollments, at(1, 5), "kept");
  write_set range;
  range.erase_range(cf::enrollments, key::workspace_prefix(workspace_id{2}),
                    key::workspace_end(workspace_id{2}));
  write_set after;
  after.put(cf::enrollments, at(2, 3), "after");
  after.put(cf::enrollments, at(3, 1), "after");
  gc.submit(std::move(before), {});
  gc.submit(std::move(range), {});
  gc.submit(std::move(after), {});
  EXPECT_EQ(gc.flush_once(), 3u);
  EXPECT_EQ(value_of(*s, 5, 2), "(none)");
  EXPECT_EQ(value_of(*s, 3, 2), "after");
  EXPECT_EQ(value_of(*s, 5, 1), "kept");
  EXPECT_EQ(value_of(*s, 1, 3), "after");
}

TEST(GroupCommit, ARangeDeletionFromInsideAWorkspaceIsRefused) {
  test::temp_dir dir;
  auto s = open_synchronous(dir.str());
  group_commit gc{*s};
  write_set w;
  w.put(cf::enrollments, key::enrollment(workspace_id{1}, enrollment_id{1}),
        "x");
  w.erase_range(cf::enrollments,
                key::enrollment(workspace_id{1}, enrollment_id{2}),
                key::workspace_end(workspace_id{1}));
  std::optional<status> result;
  gc.submit(std::move(w), [&](const status& st) { result = st; });
  gc.flush_once();
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(*result);
  EXPECT_EQ(result->error().code, errc::invalid_argument);
  EXPECT_FALSE(present(*s, 1)); // the set is refused as a whole
}

} // namespace
} // namespace herald::storage
