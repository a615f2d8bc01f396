#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "storage/error.hpp"
#include "storage/keys.hpp"
#include "storage/options.hpp"
#include "storage/write_set.hpp"

namespace herald::storage {

/// What the database holds in memory and on disk.
struct store_figures {
  uint64_t memtable_bytes = 0;
  uint64_t block_cache_bytes = 0;
  uint64_t table_reader_bytes = 0;
  uint64_t sst_bytes = 0;
  uint64_t wal_bytes = 0;
};

/// One RocksDB database per node, with the column families of `cf`. Every
/// RocksDB status is checked and translated here; RocksDB types never leave
/// storage/.
class store {
 public:
  /// The schema version this build reads and writes. Version 2 dropped the due
  /// index and the intent family: the enrollment snapshots carry both. Version
  /// 3: the snapshots carry their enrollment's history too. Version 4: a
  /// lead's enrollments are listed in one entry (key::lead_enrollments).
  /// Version 5: the email index keyed by domain first finds a company's
  /// leads; there is no index of a company's enrollments. Version 6: a lead's
  /// external id's entry lists its enrollments too.
  static constexpr uint32_t schema_version = 6;

  /// Opens the database at options.path, creating it (and any missing column
  /// family) when needed, with memory capped as the options say. Fails on an
  /// I/O error, a corrupt database or a schema version this build does not
  /// read.
  static expected<std::unique_ptr<store>> open(const storage_options& options);

  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  /// The value at `key`, or nullopt when there is none.
  expected<std::optional<std::string>> get(cf c, std::string_view key) const;

  /// The values at `keys`, in their order (nullopt where there is none): one
  /// batched read, which probes each memtable, filter and block once for
  /// all the keys that fall in it.
  expected<std::vector<std::optional<std::string>>>
  get_many(cf c, std::span<const std::string> keys) const;

  /// Writes `w` atomically, directly (set-up, tests, deletions); the hot path
  /// goes through group_commit.
  status write(const write_set& w, bool sync);

  /// Calls fn(key, value) for each key of `c` in [begin, end) in order (an
  /// empty `end` is unbounded) until fn returns false. Fails if the iteration
  /// broke off.
  status
  scan(cf c, std::string_view begin, std::string_view end,
       const std::function<bool(std::string_view, std::string_view)>& fn) const;

  /// As scan, over the keys starting with `prefix`.
  status scan_prefix(
    cf c, std::string_view prefix,
    const std::function<bool(std::string_view, std::string_view)>& fn) const;

  /// Removes every key of workspace `ws` in every column family, durably.
  status delete_workspace(workspace_id ws);

  /// Memtables to tables (then the write-ahead log can go).
  status flush();
  /// Compacts every column family fully.
  status compact();

  store_figures figures() const;
  const storage_options& options() const noexcept;

  struct impl;
  /// For storage's own code (the group-commit writer).
  impl& internals() noexcept { return *impl_; }

 private:
  explicit store(std::unique_ptr<impl> p);

  std::unique_ptr<impl> impl_;
};

} // namespace herald::storage
