#pragma once

// Ids of leads and enrollments that grow with time. An import writes a
// handful of keys per lead, and the keys named by these ids (a lead's
// record, its enrollments, their snapshots) then land at the end of their
// range of the memtable's skip list, next to where the last insert went:
// about half the import's memtable work, against keys scattered at random.

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>

namespace herald::storage {
class store;
} // namespace herald::storage

namespace herald::api {

/// 63 bits (the runtime keeps the top one for its timers): milliseconds
/// since 2024-01-01 UTC in the upper 41 (until 2093), a count in the lower
/// 22. Within a run each id is larger than the one before. Across runs, a
/// lease in storage says how far in time this run may give ids: a new run
/// starts past it, so no id is given twice even when the system clock went
/// back between the two. Thread-safe.
class id_source {
 public:
  /// Milliseconds since the Unix epoch (the system clock by default).
  using clock = std::function<int64_t()>;

  explicit id_source(storage::store& db, clock now = {});

  /// A new id. The first call reads the lease; a call that reaches the lease
  /// writes the next one, durably, before it answers (once per
  /// `lease_ms`). Throws std::runtime_error when storage fails.
  uint64_t next();

  static constexpr int64_t epoch_ms = 1'704'067'200'000; // 2024-01-01
  static constexpr unsigned count_bits = 22;
  static constexpr int64_t lease_ms = 10 * 60 * 1000;

 private:
  void extend(uint64_t reached_ms);

  storage::store& db_;
  clock now_;
  std::mutex mu_;
  std::atomic<bool> read_{false};
  std::atomic<uint64_t> last_{0};
  // Ids whose time is below this (ms since epoch_ms) may be given.
  std::atomic<uint64_t> lease_{0};
};

} // namespace herald::api
