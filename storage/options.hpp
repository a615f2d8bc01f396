#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace herald::storage {

/// When a write counts as durable: `sync` fsyncs the write-ahead log once per
/// group-commit round (survives a machine crash); `async` leaves the log in the
/// OS's buffers (survives a process crash, not a power cut).
enum class durability : uint8_t { sync, async };

/// The storage settings (config/ fills them; storage reads no file or
/// environment). The memory figures cap the whole database, every column family
/// together.
struct storage_options {
  std::string path;
  durability mode = durability::sync;
  /// All memtables together (RocksDB's db_write_buffer_size).
  size_t write_buffer_bytes = size_t{64} << 20;
  /// One block cache shared by every column family.
  size_t block_cache_bytes = size_t{64} << 20;
  /// The write-ahead log is flushed into tables beyond this size.
  uint64_t max_wal_bytes = uint64_t{256} << 20;
  int background_jobs = 2;
  /// A group-commit round takes at most this many bytes of mutations...
  size_t max_batch_bytes = size_t{4} << 20;
  /// ...and producers wait (or are refused) beyond this much memory queued
  /// (each set counted with its bookkeeping, not only its mutations' bytes).
  size_t max_queue_bytes = size_t{16} << 20;
  /// How long a round may wait for more mutations when it is small (0: never;
  /// rounds then group whatever queued during the previous write). Without an
  /// fsync to batch behind, async rounds are otherwise a few sets each: W1
  /// async ran 24% faster with 200 µs (and sync no slower); a durable point
  /// waits at most that much longer.
  std::chrono::microseconds linger{200};
  /// No writer thread: rounds run on the caller's thread in flush_once(), for
  /// tests driven by a deterministic scheduler.
  bool synchronous = false;
};

} // namespace herald::storage
