#pragma once

// Private to storage/ (and its tests): herald's memtable, a skip list for one
// writer and any number of readers.

#include <memory>

#include <rocksdb/memtablerep.h>

namespace herald::storage {

/// The memtables of every column family. RocksDB's own skip list, as Debian
/// builds it (without NDEBUG), checks the whole splice with two key
/// comparisons per level of the list after every insert: about three quarters
/// of the comparisons of an import's inserts, which were 43% of the
/// group-commit writer's time (load-tests/RESULTS.md). This one is the same
/// structure without the checks, and it keeps its own insert hint: where the
/// last insert went, from which the next climbs only as far as it must.
///
/// One writer at a time (RocksDB's `allow_concurrent_memtable_write` must be
/// off); readers run beside it without locks.
std::shared_ptr<rocksdb::MemTableRepFactory> skip_list_memtables();

} // namespace herald::storage
