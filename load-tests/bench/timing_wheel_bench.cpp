// Google Benchmark figures for the timing wheel (load-tests/RESULTS.md has the
// command and the figures). Entries are enrollments waiting days between steps:
// due times uniform over the next 30 days, as a wheel holding a whole node's
// idle enrollments sees them.

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "engine/timing_wheel.hpp"

namespace {

using herald::timer_entry;
using herald::timing_wheel;

constexpr int64_t start_ms = 1'795'000'000'000; // late 2026
constexpr int64_t horizon_ms = 30LL * 24 * 3600 * 1000;

std::vector<timer_entry> make_entries(size_t n) {
  std::mt19937_64 rng{42};
  std::uniform_int_distribution<int64_t> offset{1, horizon_ms};
  std::vector<timer_entry> out(n);
  for (size_t i = 0; i < n; ++i)
    out[i] = timer_entry{i + 1, start_ms + offset(rng), 1};
  return out;
}

const std::vector<timer_entry>& entries(size_t n) {
  static std::vector<timer_entry> cache;
  if (cache.size() != n) cache = make_entries(n);
  return cache;
}

using bench_clock = std::chrono::steady_clock;

double seconds_since(bench_clock::time_point t0) {
  return std::chrono::duration<double>(bench_clock::now() - t0).count();
}

void report(benchmark::State& state, size_t n, double per_entry_s) {
  state.counters["ns_per_entry"] = per_entry_s * 1e9 / static_cast<double>(n);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}

// Inserting n entries into an empty wheel.
void BM_WheelInsert(benchmark::State& state) {
  auto n = static_cast<size_t>(state.range(0));
  const auto& es = entries(n);
  double total = 0;
  double bytes = 0;
  for (auto _ : state) {
    auto wheel = std::make_unique<timing_wheel>(herald::from_ms(start_ms));
    auto t0 = bench_clock::now();
    for (const auto& e : es)
      wheel->insert(e);
    auto s = seconds_since(t0);
    state.SetIterationTime(s);
    total += s;
    bytes = static_cast<double>(wheel->memory_bytes()) / static_cast<double>(n);
  }
  report(state, n, total / static_cast<double>(state.iterations()));
  state.counters["bytes_per_entry"] = bytes;
}

// Popping all n entries in one call at the end of the horizon (every cascade
// included).
void BM_WheelPop(benchmark::State& state) {
  auto n = static_cast<size_t>(state.range(0));
  const auto& es = entries(n);
  double total = 0;
  for (auto _ : state) {
    auto wheel = std::make_unique<timing_wheel>(herald::from_ms(start_ms));
    for (const auto& e : es)
      wheel->insert(e);
    uint64_t sum = 0;
    auto t0 = bench_clock::now();
    auto fired =
      wheel->pop_due(herald::from_ms(start_ms + horizon_ms),
                     [&sum](const timer_entry& e) { sum += e.id(); });
    auto s = seconds_since(t0);
    benchmark::DoNotOptimize(sum);
    if (fired != n) state.SkipWithError("wheel lost entries");
    state.SetIterationTime(s);
    total += s;
  }
  report(state, n, total / static_cast<double>(state.iterations()));
}

// Popping all n entries as a timer shard does: the clock advancing one second
// at a time through the 30 days (2.6 million pops, most of them finding
// nothing).
void BM_WheelPopBySecond(benchmark::State& state) {
  auto n = static_cast<size_t>(state.range(0));
  const auto& es = entries(n);
  double total = 0;
  for (auto _ : state) {
    auto wheel = std::make_unique<timing_wheel>(herald::from_ms(start_ms));
    for (const auto& e : es)
      wheel->insert(e);
    uint64_t sum = 0;
    size_t fired = 0;
    auto t0 = bench_clock::now();
    for (int64_t t = start_ms; t <= start_ms + horizon_ms; t += 1000)
      fired += wheel->pop_due(herald::from_ms(t),
                              [&sum](const timer_entry& e) { sum += e.id(); });
    auto s = seconds_since(t0);
    benchmark::DoNotOptimize(sum);
    if (fired != n) state.SkipWithError("wheel lost entries");
    state.SetIterationTime(s);
    total += s;
  }
  report(state, n, total / static_cast<double>(state.iterations()));
}

// next_due() on a wheel holding n entries.
void BM_WheelNextDue(benchmark::State& state) {
  auto n = static_cast<size_t>(state.range(0));
  const auto& es = entries(n);
  timing_wheel wheel{herald::from_ms(start_ms)};
  for (const auto& e : es)
    wheel.insert(e);
  for (auto _ : state)
    benchmark::DoNotOptimize(wheel.next_due());
}

// Steady state of a shard holding n idle enrollments: time moves on a second at
// a time, each entry that fires is re-armed 1 to 7 days later (its next step).
void BM_WheelSteadyState(benchmark::State& state) {
  auto n = static_cast<size_t>(state.range(0));
  const auto& es = entries(n);
  timing_wheel wheel{herald::from_ms(start_ms)};
  for (const auto& e : es)
    wheel.insert(e);
  std::mt19937_64 rng{7};
  std::uniform_int_distribution<int64_t> delay{24LL * 3600 * 1000,
                                               7LL * 24 * 3600 * 1000};
  std::vector<timer_entry> fired;
  int64_t now = start_ms;
  size_t processed = 0;
  for (auto _ : state) {
    now += 1000;
    fired.clear();
    wheel.pop_due(herald::from_ms(now),
                  [&fired](const timer_entry& e) { fired.push_back(e); });
    for (auto e : fired) {
      e = timer_entry{e.id(), now + delay(rng), e.generation() + 1};
      wheel.insert(e);
    }
    processed += fired.size();
  }
  state.counters["rearmed_per_s"] = benchmark::Counter(
    static_cast<double>(processed), benchmark::Counter::kIsRate);
  state.counters["ns_per_rearm"] = benchmark::Counter(
    static_cast<double>(processed),
    benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

constexpr int64_t ten_million = 10'000'000;

BENCHMARK(BM_WheelInsert)
  ->Arg(65536)
  ->Arg(ten_million)
  ->UseManualTime()
  ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WheelPop)
  ->Arg(65536)
  ->Arg(ten_million)
  ->UseManualTime()
  ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WheelPopBySecond)
  ->Arg(65536)
  ->Arg(ten_million)
  ->UseManualTime()
  ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WheelNextDue)->Arg(65536)->Arg(ten_million);
BENCHMARK(BM_WheelSteadyState)->Arg(65536)->Arg(ten_million);

} // namespace
