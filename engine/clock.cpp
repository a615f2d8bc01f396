#include "engine/clock.hpp"

#include <chrono>

namespace herald {

time_point system_clock::now() const noexcept {
  return std::chrono::time_point_cast<duration>(
    std::chrono::system_clock::now());
}

manual_clock::manual_clock(time_point start) noexcept : now_ms_(to_ms(start)) {
  // nop
}

time_point manual_clock::now() const noexcept {
  return from_ms(now_ms_.load(std::memory_order_acquire));
}

bool manual_clock::advance(duration d) noexcept {
  if (d.count() < 0) return false;
  now_ms_.fetch_add(d.count(), std::memory_order_acq_rel);
  return true;
}

bool manual_clock::set(time_point t) noexcept {
  auto target = to_ms(t);
  auto current = now_ms_.load(std::memory_order_acquire);
  do {
    if (target < current) return false;
  } while (
    !now_ms_.compare_exchange_weak(current, target, std::memory_order_acq_rel));
  return true;
}

} // namespace herald
