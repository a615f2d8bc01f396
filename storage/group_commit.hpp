#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "storage/completion.hpp"
#include "storage/error.hpp"
#include "storage/store.hpp"
#include "storage/write_set.hpp"

namespace prometheus {
class Counter;
class Histogram;
class Registry;
} // namespace prometheus

namespace herald::storage {

/// The order in which a round made of `sets` is written: each mutation's
/// position as write_set::for_each lists them, set after set. Sorted by
/// family and key, and in the order they came for one key, unless the round
/// holds a range deletion (then as they came). What the tests check.
std::vector<uint32_t> round_order(std::span<const write_set> sets);

/// The front of the database for the hot path: many producers hand it write
/// sets, one writer thread turns everything queued into one RocksDB WriteBatch
/// per round (bounded by bytes), written with the configured durability, and
/// then completes each set. Producers pipeline: they keep many sets in flight
/// and learn of each by its callback. Memory is bounded: beyond max_queue_bytes
/// queued, submit blocks and try_submit refuses. Write sets are applied in
/// submission order.
class group_commit {
 public:
  /// `metrics` (may be none): where the writer's histograms are registered
  /// (herald_group_commit_*); it must outlive the writer.
  explicit group_commit(store& db, prometheus::Registry* metrics = nullptr);
  /// Writes everything queued, then stops the writer.
  ~group_commit();

  group_commit(const group_commit&) = delete;
  group_commit& operator=(const group_commit&) = delete;

  /// Queues `w`. Blocks while the queue is full. After stop(), `done` is called
  /// at once with shutting_down.
  void submit(write_set w, completion done);

  /// Queues `w` whatever the queue holds, never blocking: for producers that
  /// must not wait (actors on scheduler threads). Their back-pressure is taken
  /// upstream, by not starting new work while backlog_bytes() is high. After
  /// stop(), `done` is called at once with shutting_down.
  void post(write_set w, completion done);

  /// The bytes queued and not yet taken into a round.
  size_t backlog_bytes() const noexcept {
    return backlog_.load(std::memory_order_relaxed);
  }

  /// Queues `w` unless the queue is full: then returns false, leaving both
  /// arguments as they were.
  bool try_submit(write_set& w, completion& done);

  /// Synchronous mode: writes everything queued now as one round on this thread
  /// and returns how many sets it held. Threaded mode: waits until everything
  /// queued now is durable and returns 0.
  size_t flush_once();

  /// Refuses new sets, writes those queued and joins the writer. Idempotent.
  void stop();

  struct totals {
    uint64_t rounds = 0;
    uint64_t sets = 0;
    uint64_t mutations = 0;
    uint64_t bytes = 0;
    uint64_t largest_round = 0; // sets
    uint64_t failed_rounds = 0;
  };
  totals stats() const;

 private:
  struct request {
    write_set set;
    completion callback;
  };

  void run();
  // Queues `w` (mu_ held by `lk`, which it releases), or completes it with
  // shutting_down once stopping.
  void enqueue(std::unique_lock<std::mutex>& lk, write_set& w,
               completion& done);
  // Moves queued requests into `round` up to `max_bytes` (at least one); mu_
  // held.
  void take(std::vector<request>& round, size_t max_bytes);
  // Writes `round` as one batch, completes its requests and empties it.
  void write_round(std::vector<request>& round);
  bool admits(const write_set& w) const;
  // The memory a queued set holds: its bytes, its allocation and its queue
  // entry.
  static size_t charge(const write_set& w) noexcept {
    return w.bytes() + sizeof(request) + 64;
  }

  store& db_;
  const storage_options& options_;
  mutable std::mutex mu_;
  std::condition_variable work_;
  std::condition_variable space_;
  std::deque<request> queue_;
  size_t queued_bytes_ = 0;
  std::atomic<size_t> backlog_{0}; // queued_bytes_, readable without mu_
  bool stopping_ = false;
  // What the writer does, so that producers wake it only when it waits for
  // them.
  enum class writer_state : uint8_t { writing, idle, lingering };
  writer_state writer_state_ = writer_state::writing;
  std::thread writer_;

  std::atomic<uint64_t> rounds_{0};
  prometheus::Histogram* round_sets_ = nullptr;
  prometheus::Histogram* round_seconds_ = nullptr;
  prometheus::Counter* failed_rounds_ = nullptr;
  std::atomic<uint64_t> sets_{0};
  std::atomic<uint64_t> mutations_{0};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> largest_{0};
  std::atomic<uint64_t> failed_{0};
};

} // namespace herald::storage
