#pragma once

#include <algorithm>
#include <cstdint>

#include "engine/model.hpp"

namespace herald {

/// How many emails an account may send on its sending day `sending_day_index`
/// (0-based, counted from its first): the daily cap without a ramp; with one,
/// `start + index x increment`, capped by the ramp's ceiling (when set) and
/// never above the daily cap. Saturates instead of overflowing.
constexpr uint32_t email_daily_allowance(const account_limits& l,
                                         uint32_t sending_day_index) noexcept {
  if (!l.ramp.enabled()) return l.daily_cap;
  // Both factors fit in 32 bits, so the sum fits in 64: no overflow here.
  uint64_t ramped = uint64_t{l.ramp.start} +
                    uint64_t{sending_day_index} * uint64_t{l.ramp.increment};
  if (l.ramp.ceiling > 0) ramped = std::min<uint64_t>(ramped, l.ramp.ceiling);
  return static_cast<uint32_t>(std::min<uint64_t>(ramped, l.daily_cap));
}

} // namespace herald
