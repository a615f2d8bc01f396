#pragma once

// Private to storage/: the RocksDB side of store.

#include <memory>
#include <string_view>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/write_batch.h>

#include "storage/store.hpp"

namespace herald::storage {

struct store::impl {
  storage_options options;
  std::shared_ptr<rocksdb::Cache> cache;
  std::vector<rocksdb::ColumnFamilyHandle*> handles; // indexed by cf
  std::unique_ptr<rocksdb::DB> db;

  ~impl();

  rocksdb::ColumnFamilyHandle* handle(cf c) const {
    return handles[static_cast<size_t>(c)];
  }

  /// Adds `w`'s mutations to `batch`.
  rocksdb::Status append(rocksdb::WriteBatch& batch, const write_set& w) const;
  /// Adds one mutation to `batch`.
  rocksdb::Status append(rocksdb::WriteBatch& batch, write_set::op o, cf c,
                         std::string_view key, std::string_view value) const;
};

/// Stops RocksDB counting this thread's work in its thread-local perf context,
/// which it does by default: every key comparison of a memtable insert or a
/// lookup reaches that context through the shared library's TLS, about a fifth
/// of a memtable insert. herald reads none of those counters.
inline void without_perf_counters() {
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
}

/// The storage error for a failed RocksDB status.
storage_error translate(const rocksdb::Status& s, std::string_view what,
                        std::string_view key = {});

} // namespace herald::storage
