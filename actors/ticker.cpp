// The runtime's time: tick() moves the timer shards to the clock's now, and
// the ticker thread drives the system clock.

#include "actors/runtime.hpp"

#include <limits>

#include <caf/send.hpp>

namespace herald::actors {

void runtime::tick() {
  serving_ = true;
  caf::anon_send(driver_, advance_atom::value, to_ms(time_.now()));
}

void runtime::armed(int64_t due) {
  auto earliest = earliest_armed_.load();
  while (due < earliest &&
         !earliest_armed_.compare_exchange_weak(earliest, due))
    continue;
  // Paired with the ticker's store of planned_wake_ and its re-read of
  // earliest_armed_: one of the two sides sees the other's write.
  if (due < planned_wake_.load()) {
    std::lock_guard lk{ticker_mu_};
    ticker_poke_ = true;
    ticker_cv_.notify_all();
  }
}

void runtime::start_ticker(duration period) {
  ticker_ = std::thread{[this, period] {
    const auto period_ms = std::max<int64_t>(1, period.count());
    const int64_t awake = std::numeric_limits<int64_t>::min();
    std::unique_lock lk{ticker_mu_};
    while (!ticker_stop_) {
      // Awake: from here, an armed timer is either in a shard's answer to this
      // tick or in earliest_armed_.
      planned_wake_.store(awake);
      earliest_armed_.store(std::numeric_limits<int64_t>::max());
      auto asked = answers_.load() + shards_.size();
      auto fired_before = fired_.load();
      lk.unlock();
      tick();
      lk.lock();
      // The shards' answers, waited for briefly: a busy system ticks on.
      bool answered =
        ticker_cv_.wait_for(lk, std::chrono::milliseconds{5} + period, [&] {
          return ticker_stop_ || answers_.load() >= asked;
        });
      // Nothing came due: a moment for kept actors beyond keep_parked to quit
      // (their terminations are dear: a burst of completions should not pay
      // for them during the burst); back soon while some are left.
      size_t excess = 0;
      if (answered && fired_.load() == fired_before) {
        lk.unlock();
        excess = trim_parked(4096);
        lk.lock();
      }
      auto now = to_ms(time_.now());
      int64_t wake = now + period_ms;
      if (answered) {
        int64_t next = std::numeric_limits<int64_t>::max();
        for (size_t i = 0; i < shards_.size(); ++i)
          if (auto n = next_due_[i].load(); n >= 0) next = std::min(next, n);
        wake = std::max(std::min(next, now + options_.ticker_max_sleep.count()),
                        wake);
      }
      if (excess > 0) wake = std::min(wake, now + 10 * period_ms);
      // Store, then look: a timer armed after the store sees the plan and
      // pokes; one armed before it is in earliest_armed_.
      planned_wake_.store(wake);
      if (auto earliest = earliest_armed_.load(); earliest < wake) {
        wake = std::max(earliest, now + period_ms);
        planned_wake_.store(wake);
      }
      ticker_cv_.wait_for(lk, std::chrono::milliseconds{wake - now},
                          [this] { return ticker_stop_ || ticker_poke_; });
      ticker_poke_ = false;
    }
  }};
}

} // namespace herald::actors
