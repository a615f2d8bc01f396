#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace herald::actors {

/// A small fixed pool for blocking work (RocksDB reads when activating an
/// enrollment), so that none of it runs on a CAF scheduler thread. Jobs run in
/// the order posted when there is one thread. With no threads, jobs wait until
/// run_pending() runs them on the caller's thread: the deterministic runtime.
class io_pool {
 public:
  explicit io_pool(size_t threads);
  /// Runs what is queued, then joins the threads.
  ~io_pool();

  io_pool(const io_pool&) = delete;
  io_pool& operator=(const io_pool&) = delete;

  void post(std::function<void()> job);

  /// Jobs posted and not yet finished.
  size_t pending() const noexcept {
    return pending_.load(std::memory_order_relaxed);
  }

  /// Runs the queued jobs on this thread (those they post too); returns how
  /// many ran. For the pool without threads.
  size_t run_pending();

  /// Runs what is queued, then joins the threads. Idempotent; later posts run
  /// inline.
  void stop();

 private:
  void work();

  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  std::atomic<size_t> pending_{0};
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace herald::actors
