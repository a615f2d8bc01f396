#pragma once

#include <cstdint>

namespace herald {

/// The first output of a SplitMix64 generator seeded with `x`. Deterministic
/// across runs and machines: spreading offsets, jitter seeds and the load-test
/// lead layout all derive from it (the peer harnesses use the same function, so
/// their counts match ours exactly).
constexpr uint64_t splitmix64(uint64_t x) noexcept {
  uint64_t z = x + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// A uniform fraction in [0, 1) derived from `x`.
constexpr double unit_fraction(uint64_t x) noexcept {
  return static_cast<double>(splitmix64(x) >> 11) * 0x1.0p-53;
}

} // namespace herald
