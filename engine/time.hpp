#pragma once

#include <chrono>
#include <cstdint>

namespace herald {

/// All engine times are UTC instants with millisecond resolution.
using duration = std::chrono::milliseconds;
using time_point = std::chrono::sys_time<duration>;

/// Milliseconds since the Unix epoch; the wheel and storage keys use this form.
constexpr int64_t to_ms(time_point t) noexcept {
  return t.time_since_epoch().count();
}

constexpr time_point from_ms(int64_t ms) noexcept {
  return time_point{duration{ms}};
}

constexpr duration days_ms(int64_t days) noexcept {
  return std::chrono::duration_cast<duration>(std::chrono::days{days});
}

} // namespace herald
