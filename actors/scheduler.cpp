#include "actors/scheduler.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/detail/set_thread_name.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/execution_unit.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

// Why a scheduler of our own. Debian's libcaf_core 0.17.6 is built with
// CAF_LOG_LEVEL defined (QUIET), which compiles the logger's bookkeeping in:
// - CAF's worker loop casts every job to its actor,
//   `dynamic_cast<abstract_actor*>(job)`: a cross-cast through the whole
//   hierarchy of a typed stateful actor, about 1,100 instructions per job;
// - its workers register the logger on their thread, so every CAF_PUSH_AID in
//   the library (about ten per step) takes a spinlock and hashes the thread's
//   id to swap an actor id nobody logs.
// On the CAF thread of W1 that was about a quarter of all instructions. These
// workers run the same jobs the same way (resume, requeue, release) without
// either: their loop names no actor, and they never register the logger, so
// CAF_PUSH_AID and CAF_LOG_* find none and skip.
//
// Jobs wait in one queue under a mutex (external enqueues, and every enqueue
// when there are several workers). A sole worker keeps the jobs it wakes
// itself in a queue of its own, without a lock, and takes the shared queue
// over whole whenever it is not empty, so neither side starves the other. An
// idle worker sleeps on a condition variable: no polling.

namespace herald::actors {

namespace {

class lean_coordinator;

class lean_worker final : public caf::execution_unit {
 public:
  lean_worker(lean_coordinator& parent, bool sole);

  /// A job woken by the job this worker runs (on this worker's thread).
  void exec_later(caf::resumable* job) override;

  void run();

  std::thread thread;
  /// This worker's own jobs: touched by its thread only, and by stop() after
  /// the thread ended.
  std::deque<caf::resumable*> own;

 private:
  lean_coordinator& parent_;
  bool sole_;
};

class lean_coordinator final : public caf::scheduler::abstract_coordinator {
 public:
  explicit lean_coordinator(caf::actor_system& sys)
    : abstract_coordinator(sys) {}

  /// A job from any thread.
  void enqueue(caf::resumable* job) override {
    bool wake = false;
    {
      std::lock_guard lk{mu_};
      queue_.push_back(job);
      queued_.store(true, std::memory_order_relaxed);
      wake = sleepers_ > 0;
    }
    if (wake) cv_.notify_one();
  }

  caf::actor_clock& clock() noexcept override { return clock_; }

  /// Whether the shared queue may hold jobs (or the workers are to stop): a
  /// hint read without the lock.
  bool queued() const { return queued_.load(std::memory_order_relaxed); }

  /// Moves jobs of the shared queue to `into`: all of them when `all`, else
  /// one. With `wait`, sleeps until there is one. False once stopping.
  bool take(std::deque<caf::resumable*>& into, bool all, bool wait) {
    std::unique_lock lk{mu_};
    if (wait) {
      ++sleepers_;
      cv_.wait(lk, [this] { return stopping_ || !queue_.empty(); });
      --sleepers_;
    }
    if (stopping_) return false;
    if (all) {
      into.insert(into.end(), queue_.begin(), queue_.end());
      queue_.clear();
    } else if (!queue_.empty()) {
      into.push_back(queue_.front());
      queue_.pop_front();
    }
    queued_.store(!queue_.empty(), std::memory_order_relaxed);
    return true;
  }

 protected:
  void start() override {
    auto n = std::max<size_t>(1, num_workers());
    for (size_t i = 0; i < n; ++i)
      workers_.push_back(std::make_unique<lean_worker>(*this, n == 1));
    for (auto& w : workers_)
      w->thread = std::thread{[this, w = w.get()] {
        caf::detail::set_thread_name("herald.caf");
        system().thread_started();
        w->run();
        system().thread_terminates();
      }};
    // Request timeouts and delayed messages, as CAF's own schedulers do.
    timer_ = std::thread{[this] {
      caf::detail::set_thread_name("herald.clock");
      system().thread_started();
      clock_.run_dispatch_loop();
      system().thread_terminates();
    }};
    abstract_coordinator::start(); // the printer, on a thread of its own
  }

  // Runs after every actor but the system's hidden ones ended: what is still
  // queued is cleaned up, not run.
  void stop() override {
    {
      std::lock_guard lk{mu_};
      stopping_ = true;
      queued_.store(true, std::memory_order_relaxed);
    }
    cv_.notify_all();
    for (auto& w : workers_)
      w->thread.join();
    stop_actors();
    for (auto& w : workers_) {
      for (auto* job : w->own)
        cleanup_and_release(job);
      w->own.clear();
    }
    // A cleanup may enqueue another job.
    for (;;) {
      std::deque<caf::resumable*> left;
      {
        std::lock_guard lk{mu_};
        left.swap(queue_);
      }
      if (left.empty()) break;
      for (auto* job : left)
        cleanup_and_release(job);
    }
    clock_.cancel_dispatch_loop();
    timer_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<caf::resumable*> queue_;
  std::atomic<bool> queued_{false};
  size_t sleepers_ = 0;
  bool stopping_ = false;
  std::vector<std::unique_ptr<lean_worker>> workers_;
  caf::detail::thread_safe_actor_clock clock_;
  std::thread timer_;
};

lean_worker::lean_worker(lean_coordinator& parent, bool sole)
  : caf::execution_unit(&parent.system()), parent_(parent), sole_(sole) {}

void lean_worker::exec_later(caf::resumable* job) {
  if (sole_)
    own.push_back(job);
  else
    parent_.enqueue(job);
}

void lean_worker::run() {
  const auto throughput = parent_.max_throughput();
  for (;;) {
    if (own.empty() || parent_.queued()) {
      if (!parent_.take(own, sole_, own.empty())) return;
      if (own.empty()) continue;
    }
    auto* job = own.front();
    own.pop_front();
    // The queue's reference travels with the job: kept when it runs again,
    // given back when it waits or ended.
    switch (job->resume(this, throughput)) {
      case caf::resumable::resume_later: exec_later(job); break;
      case caf::resumable::awaiting_message:
      case caf::resumable::done: caf::intrusive_ptr_release(job); break;
      case caf::resumable::shutdown_execution_unit: return;
    }
  }
}

} // namespace

void use_lean_scheduler(caf::actor_system_config& cfg) {
  cfg.module_factories.push_back(
    [](caf::actor_system& sys) -> caf::actor_system::module* {
      return new lean_coordinator(sys);
    });
}

} // namespace herald::actors
