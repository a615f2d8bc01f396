// Google Benchmark figures for storage: group-commit throughput from pipelining
// producers (load-tests/RESULTS.md has the commands and the figures).

#include <benchmark/benchmark.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

#include "engine/timing_wheel.hpp"
#include "load-tests/process_stats.hpp"
#include "storage/codec.hpp"
#include "storage/group_commit.hpp"
#include "storage/recovery.hpp"
#include "storage/store.hpp"

namespace {

using namespace herald;
using namespace herald::storage;

class scratch_db {
 public:
  explicit scratch_db(durability mode) {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("herald-bench-" + std::to_string(rd()));
    options_.path = path_.string();
    options_.mode = mode;
    reopen();
  }
  void close() { db_.reset(); }
  void reopen() {
    db_.reset();
    auto s = store::open(options_);
    if (s) db_ = std::move(*s);
  }
  ~scratch_db() {
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  store* get() { return db_.get(); }

 private:
  std::filesystem::path path_;
  storage_options options_;
  std::unique_ptr<store> db_;
};

double rss_mb() { return herald::load::rss().now_bytes / (1 << 20); }

// `producers` threads each submit their share of `total` ~100-byte mutations (a
// 16-byte key, an 84-byte value) as fast as the queue takes them, completed by
// callback; an iteration ends when all are durable.
void BM_GroupCommit(benchmark::State& state) {
  auto producers = static_cast<int>(state.range(0));
  auto mode = state.range(1) == 0 ? durability::sync : durability::async;
  constexpr uint64_t total = 200'000;
  scratch_db db{mode};
  if (db.get() == nullptr) {
    state.SkipWithError("cannot open the database");
    return;
  }
  group_commit gc{*db.get()};
  const std::string value(84, 'v');
  uint64_t base = 0;
  double cpu = 0;
  for (auto _ : state) {
    std::atomic<uint64_t> acked{0};
    auto cpu0 = herald::load::cpu_seconds();
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
      threads.emplace_back([&, p] {
        uint64_t share = total / static_cast<uint64_t>(producers);
        for (uint64_t i = 0; i < share; ++i) {
          write_set w;
          w.put(cf::enrollments,
                key::enrollment(workspace_id{static_cast<uint64_t>(p + 1)},
                                enrollment_id{base + i + 1}),
                value);
          gc.submit(std::move(w), [&acked](const status& st) {
            if (st) acked.fetch_add(1, std::memory_order_relaxed);
          });
        }
      });
    for (auto& t : threads)
      t.join();
    gc.flush_once();
    cpu += herald::load::cpu_seconds() - cpu0;
    base += total;
    if (acked.load() != total / static_cast<uint64_t>(producers) * producers)
      state.SkipWithError("mutations lost");
  }
  auto mutations = static_cast<double>(state.iterations()) *
                   static_cast<double>(total / producers * producers);
  state.counters["mutations_per_s"] =
    benchmark::Counter(mutations, benchmark::Counter::kIsRate);
  state.counters["cpu_us_per_mutation"] = cpu * 1e6 / mutations;
  auto t = gc.stats();
  state.counters["sets_per_round"] =
    static_cast<double>(t.sets) /
    static_cast<double>(std::max<uint64_t>(t.rounds, 1));
  state.SetLabel(mode == durability::sync ? "sync" : "async");
}

// A W1-shaped enrollment waiting for its second step.
enrollment w1_enrollment(uint64_t i, time_point t0) {
  enrollment e;
  e.id = enrollment_id{i};
  e.workspace = workspace_id{1 + i % 20};
  e.sequence = sequence_id{1 + i % 20};
  e.lead = lead_id{i};
  e.position = 1;
  e.generation = 3;
  e.due = t0 + days_ms(3) + duration{static_cast<int64_t>(i % 86'400'000)};
  e.last_sent = t0 + duration{static_cast<int64_t>(i % 1000)};
  e.invite_sent = e.last_sent;
  e.email_sender = account_id{1 + i % 10};
  e.linkedin_sender = account_id{11 + i % 5};
  return e;
}

// 1,000,000 enrollments written as a runtime would (one snapshot per
// enrollment through the group commit); then the memory held, the bytes on
// disk after compaction, and a restart: every snapshot read and decoded, the
// armed ones into a timing wheel.
void BM_MillionEnrollments(benchmark::State& state) {
  constexpr uint64_t n = 1'000'000;
  const auto t0 = from_ms(1'796'000'000'000);
  for (auto _ : state) {
    scratch_db db{durability::async};
    auto rss0 = rss_mb();
    auto fill0 = std::chrono::steady_clock::now();
    {
      group_commit gc{*db.get()};
      std::string value;
      for (uint64_t i = 1; i <= n; ++i) {
        auto e = w1_enrollment(i, t0);
        write_set w;
        value.clear();
        encode_to(value, e);
        w.put(cf::enrollments, key::enrollment(e.workspace, e.id), value);
        gc.submit(std::move(w), nullptr);
      }
      gc.flush_once();
    }
    auto fill_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - fill0)
        .count();
    auto f = db.get()->figures();
    state.counters["fill_per_s"] = static_cast<double>(n) / fill_s;
    state.counters["rocksdb_mem_mb"] =
      static_cast<double>(f.memtable_bytes + f.block_cache_bytes +
                          f.table_reader_bytes) /
      (1 << 20);
    state.counters["rss_mb"] = rss_mb();
    state.counters["rss_growth_mb"] = rss_mb() - rss0;
    if (!db.get()->flush() || !db.get()->compact()) {
      state.SkipWithError("flush or compaction failed");
      return;
    }
    state.counters["disk_bytes_per_enrollment"] =
      static_cast<double>(db.get()->figures().sst_bytes) /
      static_cast<double>(n);
    db.reopen();
    auto rec0 = std::chrono::steady_clock::now();
    timing_wheel wheel{t0};
    uint64_t scanned = 0;
    uint64_t armed = 0;
    auto st = scan_enrollments(*db.get(), [&](const enrollment& e) {
      ++scanned;
      if (!is_armed(e)) return;
      wheel.insert(e.id.value, e.due, e.generation);
      ++armed;
    });
    auto recovery_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - rec0)
        .count();
    if (!st || scanned != n || armed != n)
      state.SkipWithError("recovery lost enrollments");
    state.counters["recovery_snapshots_to_wheel_s"] = recovery_s;
    state.counters["snapshot_bytes"] =
      static_cast<double>(encode(w1_enrollment(7, t0)).size());
  }
}

// One enrollment snapshot encoded as the hot path does it (a new string per
// snapshot, two or three per W1 step).
void BM_EncodeSnapshot(benchmark::State& state) {
  const auto t0 = from_ms(1'796'000'000'000);
  auto e = w1_enrollment(123'456, t0);
  for (auto _ : state) {
    auto bytes = encode(e);
    benchmark::DoNotOptimize(bytes);
    e.generation += 1;
  }
}

BENCHMARK(BM_EncodeSnapshot);

BENCHMARK(BM_MillionEnrollments)
  ->Iterations(1)
  ->UseRealTime()
  ->Unit(benchmark::kSecond);

BENCHMARK(BM_GroupCommit)
  ->ArgsProduct({{1, 4, 64}, {0, 1}})
  ->ArgNames({"producers", "async"})
  ->UseRealTime()
  ->Unit(benchmark::kMillisecond)
  ->Iterations(3);

} // namespace
