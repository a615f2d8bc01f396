#include "storage/group_commit.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <future>
#include <numeric>
#include <span>
#include <tuple>

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "storage/store_impl.hpp"

namespace herald::storage {

namespace {

storage_error stopping_error() {
  return storage_error{errc::shutting_down, "storage is stopping", {}};
}

void raise_max(std::atomic<uint64_t>& target, uint64_t value) {
  auto current = target.load(std::memory_order_relaxed);
  while (value > current && !target.compare_exchange_weak(
                              current, value, std::memory_order_relaxed)) {}
}

/// One mutation of a round.
struct mutation {
  write_set::op o;
  cf c;
  std::string_view key;
  std::string_view value;
};

/// Where a mutation goes in key order: its family and the first 15 bytes of
/// its key as two big-endian numbers, so that most comparisons are of
/// integers; then the whole key, then the order it came in.
struct place {
  uint64_t high;
  uint64_t low;
  uint32_t order;
};

/// `n` bytes of `key` from `at` (fewer where it ends, then zeros), big-endian.
uint64_t key_bits(std::string_view key, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    v <<= 8;
    if (at + i < key.size()) v |= static_cast<unsigned char>(key[at + i]);
  }
  return v;
}

/// A range of keys of a round: those of a family sharing their first 9
/// bytes (the high word and the top 16 bits of the low one of a place).
struct group {
  uint64_t high;
  uint64_t low;
  uint32_t count;
  uint32_t first; // where its places start once dealt
};

/// Deals `order` into `dealt`, group after group in key order, each group's
/// places in the order they came in. False, dealing nothing, when the round
/// has too many groups for this to pay (then it is sorted whole).
constexpr size_t max_groups = 64;
bool deal(const std::vector<place>& order, std::vector<group>& groups,
          std::vector<uint32_t>& group_of, std::vector<place>& dealt) {
  constexpr uint64_t group_bits = ~uint64_t{0} << 48;
  groups.clear();
  group_of.clear();
  size_t last = 0;
  for (const auto& p : order) {
    uint64_t low = p.low & group_bits;
    if (groups.empty() || groups[last].high != p.high ||
        groups[last].low != low) {
      last = 0;
      while (last < groups.size() &&
             (groups[last].high != p.high || groups[last].low != low))
        ++last;
      if (last == groups.size()) {
        if (groups.size() == max_groups) return false;
        groups.push_back({p.high, low, 0, 0});
      }
    }
    ++groups[last].count;
    group_of.push_back(static_cast<uint32_t>(last));
  }
  // Each group's first place, in key order of the groups.
  // On the stack: the writer deals every round, most of them small.
  std::array<uint32_t, max_groups> rank;
  auto ranked = std::span{rank}.first(groups.size());
  std::iota(ranked.begin(), ranked.end(), 0u);
  std::sort(ranked.begin(), ranked.end(), [&](uint32_t a, uint32_t b) {
    return std::tie(groups[a].high, groups[a].low) <
           std::tie(groups[b].high, groups[b].low);
  });
  uint32_t at = 0;
  for (auto i : ranked) {
    groups[i].first = at;
    at += groups[i].count;
  }
  dealt.resize(order.size());
  std::array<uint32_t, max_groups> next;
  for (size_t i = 0; i < groups.size(); ++i)
    next[i] = groups[i].first;
  for (size_t i = 0; i < order.size(); ++i)
    dealt[next[group_of[i]]++] = order[i];
  return true;
}

/// The round's mutations (in `all`, as `for_each` lists them, set after set)
/// in the order they are written: by family and key, and in the order they
/// came in for the same key. The batch lands as a whole, so the order of
/// different keys in it is invisible; but the memtable's skip list, given
/// one insert hint per memtable (memtable_rep.hpp), searches from where the
/// last insert went: in key order, a round's inserts climb a few levels from
/// the one before instead of descending from the top. A round with a range
/// deletion keeps its order: the range must not cover a put that came after.
///
/// Most of a round is in order already: keys named by ids that grow with
/// time (leads, enrollments) come in ascending. So the mutations are first
/// dealt into groups by family and the key's first 9 bytes (its workspace
/// and kind), groups being ranges of keys; only a group not in order already
/// (external ids, email addresses) is sorted. An import's round sorted a
/// third of its mutations instead of all of them.
const std::vector<place>& in_key_order(const auto& sets,
                                       std::vector<mutation>& all) {
  thread_local std::vector<place> order;
  thread_local std::vector<place> dealt;
  thread_local std::vector<group> groups;
  thread_local std::vector<uint32_t> group_of;
  all.clear();
  order.clear();
  bool ranged = false;
  for (const write_set& set : sets)
    set.for_each(
      [&](write_set::op o, cf c, std::string_view k, std::string_view v) {
        ranged = ranged || o == write_set::op::erase_range;
        auto at = static_cast<uint32_t>(all.size());
        all.push_back({o, c, k, v});
        uint64_t family = static_cast<uint64_t>(c) << 56;
        order.push_back({family | key_bits(k, 0, 7), key_bits(k, 7, 8), at});
      });
  auto before = [&all](const place& a, const place& b) {
    if (a.high != b.high) return a.high < b.high;
    if (a.low != b.low) return a.low < b.low;
    if (int by_key = all[a.order].key.compare(all[b.order].key); by_key != 0)
      return by_key < 0;
    return a.order < b.order;
  };
  const std::vector<place>* sorted = &order;
  if (!ranged && deal(order, groups, group_of, dealt)) {
    for (const auto& g : groups) {
      auto first = dealt.begin() + g.first;
      auto last = first + g.count;
      if (!std::is_sorted(first, last, before)) std::sort(first, last, before);
    }
    sorted = &dealt;
  } else if (!ranged) {
    std::sort(order.begin(), order.end(), before);
  }
  return *sorted;
}

/// Adds the round's mutations to `batch` in that order.
rocksdb::Status append_in_key_order(const store::impl& db,
                                    rocksdb::WriteBatch& batch,
                                    const auto& sets) {
  thread_local std::vector<mutation> all;
  rocksdb::Status st;
  for (const auto& p : in_key_order(sets, all)) {
    const auto& m = all[p.order];
    st = db.append(batch, m.o, m.c, m.key, m.value);
    if (!st.ok()) break;
  }
  return st;
}

} // namespace

std::vector<uint32_t> round_order(std::span<const write_set> sets) {
  std::vector<mutation> all;
  std::vector<uint32_t> out;
  for (const auto& p : in_key_order(sets, all))
    out.push_back(p.order);
  return out;
}

group_commit::group_commit(store& db, prometheus::Registry* metrics)
  : db_(db), options_(db.options()) {
  if (metrics != nullptr) {
    round_sets_ =
      &prometheus::BuildHistogram()
         .Name("herald_group_commit_round_sets")
         .Help("Write sets per group-commit round (one RocksDB write)")
         .Register(*metrics)
         .Add({}, prometheus::Histogram::BucketBoundaries{1, 4, 16, 64, 256,
                                                          1024, 4096, 16384});
    round_seconds_ =
      &prometheus::BuildHistogram()
         .Name("herald_group_commit_write_seconds")
         .Help("How long a group-commit round's RocksDB write took, with the "
               "configured durability")
         .Register(*metrics)
         .Add({}, prometheus::Histogram::BucketBoundaries{
                    0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1,
                    0.25, 1});
    failed_rounds_ = &prometheus::BuildCounter()
                        .Name("herald_group_commit_failed_rounds_total")
                        .Help("Group-commit rounds whose write failed")
                        .Register(*metrics)
                        .Add({});
  }
  if (!options_.synchronous) writer_ = std::thread{[this] { run(); }};
}

group_commit::~group_commit() { stop(); }

bool group_commit::admits(const write_set& w) const {
  // Without a writer thread nothing would ever make room: synchronous mode
  // takes all.
  return options_.synchronous || queued_bytes_ == 0 ||
         queued_bytes_ + charge(w) <= options_.max_queue_bytes;
}

void group_commit::enqueue(std::unique_lock<std::mutex>& lk, write_set& w,
                           completion& done) {
  if (stopping_) {
    lk.unlock();
    if (done) done(stopping_error());
    return;
  }
  queued_bytes_ += charge(w);
  backlog_.store(queued_bytes_, std::memory_order_relaxed);
  queue_.push_back(request{std::move(w), std::move(done)});
  // Wake the writer only when it waits for this: for any work, or, lingering,
  // for a full round. A wake-up per set while it lingers cost both threads a
  // futex call and a switch for nothing.
  bool wake = writer_state_ == writer_state::idle ||
              (writer_state_ == writer_state::lingering &&
               queued_bytes_ >= options_.max_batch_bytes);
  lk.unlock();
  if (wake) work_.notify_one();
}

void group_commit::submit(write_set w, completion done) {
  std::unique_lock lk{mu_};
  space_.wait(lk, [&] { return stopping_ || admits(w); });
  enqueue(lk, w, done);
}

void group_commit::post(write_set w, completion done) {
  std::unique_lock lk{mu_};
  enqueue(lk, w, done);
}

bool group_commit::try_submit(write_set& w, completion& done) {
  std::unique_lock lk{mu_};
  if (stopping_ || !admits(w)) return false;
  enqueue(lk, w, done);
  return true;
}

void group_commit::take(std::vector<request>& round, size_t max_bytes) {
  size_t bytes = 0;
  while (!queue_.empty() &&
         (round.empty() || bytes + queue_.front().set.bytes() <= max_bytes)) {
    bytes += queue_.front().set.bytes();
    queued_bytes_ -= charge(queue_.front().set);
    round.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  backlog_.store(queued_bytes_, std::memory_order_relaxed);
}

void group_commit::write_round(std::vector<request>& round) {
  auto& db = db_.internals();
  thread_local rocksdb::WriteBatch batch;
  batch.Clear();
  uint64_t mutations = 0;
  uint64_t bytes = 0;
  for (const auto& r : round) {
    mutations += r.set.count();
    bytes += r.set.bytes();
  }
  thread_local std::vector<std::reference_wrapper<const write_set>> sets;
  sets.clear();
  for (const auto& r : round)
    sets.push_back(std::cref(r.set));
  rocksdb::Status st = append_in_key_order(db, batch, sets);
  if (st.ok() && batch.Count() > 0) {
    rocksdb::WriteOptions wo;
    wo.sync = options_.mode == durability::sync;
    auto started = std::chrono::steady_clock::now();
    st = db.db->Write(wo, &batch);
    if (round_seconds_ != nullptr)
      round_seconds_->Observe(std::chrono::duration<double>(
                                std::chrono::steady_clock::now() - started)
                                .count());
  }
  if (round_sets_ != nullptr)
    round_sets_->Observe(static_cast<double>(round.size()));
  status result = done{};
  if (!st.ok()) {
    result = translate(st, "group commit");
    failed_.fetch_add(1, std::memory_order_relaxed);
    if (failed_rounds_ != nullptr) failed_rounds_->Increment();
  }
  // Counted before completing, so that whoever learns of a completion sees
  // its round in stats().
  rounds_.fetch_add(1, std::memory_order_relaxed);
  sets_.fetch_add(round.size(), std::memory_order_relaxed);
  mutations_.fetch_add(mutations, std::memory_order_relaxed);
  bytes_.fetch_add(bytes, std::memory_order_relaxed);
  raise_max(largest_, round.size());
  for (auto& r : round)
    if (r.callback) r.callback(result);
  round.clear();
}

void group_commit::run() {
  without_perf_counters();
  std::vector<request> round;
  for (;;) {
    {
      std::unique_lock lk{mu_};
      writer_state_ = writer_state::idle;
      work_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return; // stopping, and everything queued is written
      if (options_.linger.count() > 0 && !stopping_ &&
          queued_bytes_ < options_.max_batch_bytes) {
        writer_state_ = writer_state::lingering;
        work_.wait_for(lk, options_.linger, [&] {
          return stopping_ || queued_bytes_ >= options_.max_batch_bytes;
        });
      }
      writer_state_ = writer_state::writing;
      take(round, options_.max_batch_bytes);
    }
    space_.notify_all();
    write_round(round);
  }
}

size_t group_commit::flush_once() {
  if (options_.synchronous) {
    std::vector<request> round;
    {
      std::lock_guard lk{mu_};
      take(round, SIZE_MAX);
    }
    auto n = round.size();
    if (n > 0) write_round(round);
    return n;
  }
  std::promise<void> written;
  auto future = written.get_future();
  submit(write_set{}, [&written](const status&) { written.set_value(); });
  future.wait();
  return 0;
}

void group_commit::stop() {
  {
    std::lock_guard lk{mu_};
    stopping_ = true;
  }
  work_.notify_all();
  space_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (options_.synchronous) {
    std::vector<request> round;
    {
      std::lock_guard lk{mu_};
      take(round, SIZE_MAX);
    }
    if (!round.empty()) write_round(round);
  }
}

group_commit::totals group_commit::stats() const {
  totals t;
  t.rounds = rounds_.load(std::memory_order_relaxed);
  t.sets = sets_.load(std::memory_order_relaxed);
  t.mutations = mutations_.load(std::memory_order_relaxed);
  t.bytes = bytes_.load(std::memory_order_relaxed);
  t.largest_round = largest_.load(std::memory_order_relaxed);
  t.failed_rounds = failed_.load(std::memory_order_relaxed);
  return t;
}

} // namespace herald::storage
