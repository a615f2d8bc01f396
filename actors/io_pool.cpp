#include "actors/io_pool.hpp"

namespace herald::actors {

io_pool::io_pool(size_t threads) {
  for (size_t i = 0; i < threads; ++i)
    threads_.emplace_back([this] { work(); });
}

io_pool::~io_pool() { stop(); }

void io_pool::post(std::function<void()> job) {
  pending_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lk{mu_};
    if (!stopping_) {
      jobs_.push_back(std::move(job));
      job = nullptr;
    }
  }
  if (job) { // stopped: nobody else will run it
    job();
    pending_.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  ready_.notify_one();
}

size_t io_pool::run_pending() {
  size_t n = 0;
  for (;;) {
    std::function<void()> job;
    {
      std::lock_guard lk{mu_};
      if (jobs_.empty()) return n;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
    pending_.fetch_sub(1, std::memory_order_relaxed);
    ++n;
  }
}

void io_pool::work() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lk{mu_};
      ready_.wait(lk, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
    pending_.fetch_sub(1, std::memory_order_relaxed);
  }
}

void io_pool::stop() {
  {
    std::lock_guard lk{mu_};
    if (stopping_) return;
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& t : threads_)
    t.join();
  run_pending();
}

} // namespace herald::actors
