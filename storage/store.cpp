#include "storage/store.hpp"

#include <algorithm>

#include <rocksdb/cache.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/transaction_log.h>
#include <rocksdb/write_buffer_manager.h>

#include "storage/memtable_rep.hpp"
#include "storage/store_impl.hpp"

namespace herald::storage {

namespace {

constexpr std::string_view schema_key = "schema_version";

/// The leads family's merge: a lead's enrollment ids gathered into its one
/// entry (key::lead_enrollments), each once.
class lead_enrollments_merge final : public rocksdb::AssociativeMergeOperator {
 public:
  const char* Name() const override { return "herald.LeadEnrollments"; }
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing,
             const rocksdb::Slice& value, std::string* merged,
             rocksdb::Logger*) const override {
    merged->clear();
    if (existing != nullptr) merged->assign(existing->data(), existing->size());
    return key::merge_lead_enrollments(*merged, {value.data(), value.size()});
  }
};

rocksdb::ColumnFamilyOptions
cf_options(const storage_options& o,
           const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions c;
  // Memtables of all families share the write-buffer manager's cap; one
  // family's own buffer stays small so a dozen of them cannot reach it alone.
  c.write_buffer_size =
    std::clamp<size_t>(o.write_buffer_bytes / 4, 1 << 20, size_t{16} << 20);
  c.max_write_buffer_number = 3;
  // herald's skip list (storage/memtable_rep.hpp): RocksDB's, as Debian
  // builds it, checks every insert with two comparisons per level of the list.
  // It keeps one insert hint, where the last insert went; the group commit
  // writes each round in key order (group_commit.cpp), so an insert climbs
  // from the one before it a few levels instead of searching from the top.
  c.memtable_factory = skip_list_memtables();
  // A bloom filter over each memtable's whole keys: a read of a key the
  // memtable lacks (an event id seen for the first time, a record flushed
  // already) skips its skip list, where a search among a million imported
  // entries missed the CPU cache at every level.
  c.memtable_whole_key_filtering = true;
  c.memtable_prefix_bloom_size_ratio = 0.02;
  // LZ4 at every level but L0, the last too. While a database is small its
  // last level is L1, so each L0 compaction rewrote all of it through ZSTD:
  // at 1,000,000 imported leads, herald's CPU per lead fell by a sixth
  // without it, for 40% more bytes on disk. A flush's table in L0 is soon
  // read whole by a compaction and rewritten: compressing it cost the flush
  // thread a tenth of its time in an import (load-tests/RESULTS.md).
  c.compression = rocksdb::kLZ4Compression;
  c.compression_per_level.assign(c.num_levels, rocksdb::kLZ4Compression);
  c.compression_per_level[0] = rocksdb::kNoCompression;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  t.cache_index_and_filter_blocks = true; // table readers charged to the cache
  t.pin_l0_filter_and_index_blocks_in_cache = true;
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Filters and indexes in partitions of a few KiB, found through a small
  // top level pinned in the cache. Whole, a large table's filter (1.7 MiB
  // for 200,000 imported leads) outgrew a shard of the block cache, was never
  // kept, and every read of that table read its filter from the file again:
  // events fell from 30k to 6k/s past that size.
  t.partition_filters = true;
  t.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  t.metadata_block_size = 4096;
  t.pin_top_level_index_and_filter = true;
  t.format_version = 5;
  c.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return c;
}

// The end of the range of keys starting with `prefix`: the prefix with its
// last byte below 0xFF bumped (empty: no end).
std::string prefix_end(std::string_view prefix) {
  std::string end{prefix};
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xFF)
    end.pop_back();
  if (!end.empty())
    end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

uint64_t int_property(rocksdb::DB& db, const std::string& name) {
  uint64_t v = 0;
  db.GetAggregatedIntProperty(name, &v);
  return v;
}

} // namespace

storage_error translate(const rocksdb::Status& s, std::string_view what,
                        std::string_view key) {
  errc code = errc::other;
  if (s.IsIOError())
    code = errc::io_error;
  else if (s.IsCorruption())
    code = errc::corruption;
  else if (s.IsInvalidArgument() || s.IsNotSupported())
    code = errc::invalid_argument;
  else if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut())
    code = errc::busy;
  else if (s.IsShutdownInProgress())
    code = errc::shutting_down;
  return storage_error{code, std::string{what} + ": " + s.ToString(),
                       printable(key)};
}

store::impl::~impl() {
  if (!db) return;
  for (auto* h : handles)
    if (h != nullptr) db->DestroyColumnFamilyHandle(h);
  db->Close();
}

rocksdb::Status store::impl::append(rocksdb::WriteBatch& batch,
                                    const write_set& w) const {
  rocksdb::Status st;
  w.for_each(
    [&](write_set::op o, cf c, std::string_view k, std::string_view v) {
      if (st.ok()) st = append(batch, o, c, k, v);
    });
  return st;
}

rocksdb::Status store::impl::append(rocksdb::WriteBatch& batch, write_set::op o,
                                    cf c, std::string_view k,
                                    std::string_view v) const {
  rocksdb::Slice key{k.data(), k.size()};
  switch (o) {
    case write_set::op::put:
      return batch.Put(handle(c), key, rocksdb::Slice{v.data(), v.size()});
    case write_set::op::erase: return batch.Delete(handle(c), key);
    case write_set::op::merge:
      return batch.Merge(handle(c), key, rocksdb::Slice{v.data(), v.size()});
    case write_set::op::erase_range:
      if (k.size() > write_set::max_range_begin_bytes)
        return rocksdb::Status::InvalidArgument(
          "a range deletion starts at a workspace's first key");
      return batch.DeleteRange(handle(c), key,
                               rocksdb::Slice{v.data(), v.size()});
  }
  return rocksdb::Status::InvalidArgument("unknown write_set op");
}

store::store(std::unique_ptr<impl> p) : impl_(std::move(p)) {
  // nop
}

store::~store() = default;

expected<std::unique_ptr<store>> store::open(const storage_options& o) {
  auto p = std::make_unique<impl>();
  p->options = o;
  p->cache = rocksdb::NewLRUCache(o.block_cache_bytes);
  rocksdb::DBOptions db;
  db.create_if_missing = true;
  db.create_missing_column_families = true;
  // One writer, the group commit's: herald's memtables take no concurrent
  // inserts.
  db.allow_concurrent_memtable_write = false;
  db.max_background_jobs = o.background_jobs;
  db.max_total_wal_size = o.max_wal_bytes;
  db.write_buffer_manager =
    std::make_shared<rocksdb::WriteBufferManager>(o.write_buffer_bytes);
  db.bytes_per_sync = 1 << 20;
  db.keep_log_file_num = 3;
  db.max_log_file_size = 8 << 20;
  auto family = cf_options(o, p->cache);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (size_t i = 0; i < cf_count; ++i) {
    auto c = static_cast<cf>(i);
    descriptors.emplace_back(std::string{cf_name(c)}, family);
    if (c == cf::leads)
      descriptors.back().options.merge_operator =
        std::make_shared<lead_enrollments_merge>();
    // Snapshots are read by the ids of enrollments that exist: a filter at
    // the last level, where most of them lie, would only say yes. Without
    // it, a snapshot read by an event at 1,000,000 leads went from 9.7-9.9%
    // to 7.2-8.7% of herald's samples, and the filters' memory goes.
    if (c == cf::enrollments)
      descriptors.back().options.optimize_filters_for_hits = true;
  }

  // Flushes and compactions at the lowest CPU priority (nice 19): on two
  // cores they took the CPU from the group-commit writer and the request
  // threads, on whose turn every answer waits. They still get what those
  // leave, and when they fall behind, RocksDB slows the writes until they
  // catch up. Imports of 300,000 leads ran 15% faster; events and W1 did not
  // slow (load-tests/RESULTS.md).
  for (auto pool : {rocksdb::Env::Priority::LOW, rocksdb::Env::Priority::HIGH})
    rocksdb::Env::Default()->LowerThreadPoolCPUPriority(
      pool, rocksdb::CpuPriority::kLow);
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(db, o.path, descriptors, &p->handles, &raw);
  if (!st.ok()) return translate(st, "open " + o.path);
  p->db.reset(raw);
  std::unique_ptr<store> s{new store{std::move(p)}};
  auto version = s->get(cf::meta, schema_key);
  if (!version) return version.error();
  if (!*version) {
    write_set w;
    w.put(cf::meta, schema_key, std::to_string(schema_version));
    if (auto ok = s->write(w, true); !ok) return ok.error();
  } else if (**version != std::to_string(schema_version)) {
    return storage_error{errc::invalid_argument,
                         "database schema version " + **version +
                           "; this build reads version " +
                           std::to_string(schema_version),
                         std::string{schema_key}};
  }
  return s;
}

expected<std::optional<std::string>> store::get(cf c,
                                                std::string_view key) const {
  without_perf_counters();
  std::string value;
  auto st = impl_->db->Get(rocksdb::ReadOptions{}, impl_->handle(c),
                           rocksdb::Slice{key.data(), key.size()}, &value);
  if (st.IsNotFound()) return std::optional<std::string>{};
  if (!st.ok()) return translate(st, "get", key);
  return std::optional<std::string>{std::move(value)};
}

expected<std::vector<std::optional<std::string>>>
store::get_many(cf c, std::span<const std::string> keys) const {
  without_perf_counters();
  std::vector<rocksdb::Slice> slices;
  slices.reserve(keys.size());
  for (const auto& k : keys)
    slices.emplace_back(k.data(), k.size());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  impl_->db->MultiGet(rocksdb::ReadOptions{}, impl_->handle(c), keys.size(),
                      slices.data(), values.data(), statuses.data());
  std::vector<std::optional<std::string>> out(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return translate(statuses[i], "get", keys[i]);
    out[i].emplace(values[i].data(), values[i].size());
  }
  return out;
}

status store::write(const write_set& w, bool sync) {
  without_perf_counters();
  rocksdb::WriteBatch batch;
  if (auto st = impl_->append(batch, w); !st.ok())
    return translate(st, "write");
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  auto st = impl_->db->Write(wo, &batch);
  if (!st.ok()) return translate(st, "write");
  return done{};
}

status store::scan(
  cf c, std::string_view begin, std::string_view end,
  const std::function<bool(std::string_view, std::string_view)>& fn) const {
  without_perf_counters();
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper{end.data(), end.size()};
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it{
    impl_->db->NewIterator(ro, impl_->handle(c))};
  for (it->Seek(rocksdb::Slice{begin.data(), begin.size()}); it->Valid();
       it->Next()) {
    auto k = it->key();
    auto v = it->value();
    if (!fn(std::string_view{k.data(), k.size()},
            std::string_view{v.data(), v.size()}))
      break;
  }
  if (!it->status().ok())
    return translate(it->status(), "scan " + std::string{cf_name(c)}, begin);
  return done{};
}

status store::scan_prefix(
  cf c, std::string_view prefix,
  const std::function<bool(std::string_view, std::string_view)>& fn) const {
  return scan(c, prefix, prefix_end(prefix), fn);
}

status store::delete_workspace(workspace_id ws) {
  write_set w;
  auto begin = key::workspace_prefix(ws);
  auto end = key::workspace_end(ws);
  for (size_t i = 1; i < cf_count; ++i)
    w.erase_range(static_cast<cf>(i), begin, end);
  return write(w, true);
}

status store::flush() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  auto st = impl_->db->Flush(fo, impl_->handles);
  if (!st.ok()) return translate(st, "flush");
  return done{};
}

status store::compact() {
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (auto* h : impl_->handles) {
    auto st = impl_->db->CompactRange(co, h, nullptr, nullptr);
    if (!st.ok()) return translate(st, "compact");
  }
  return done{};
}

store_figures store::figures() const {
  auto& db = *impl_->db;
  store_figures f;
  f.memtable_bytes = int_property(db, "rocksdb.cur-size-all-mem-tables");
  f.block_cache_bytes = impl_->cache->GetUsage();
  f.table_reader_bytes = int_property(db, "rocksdb.estimate-table-readers-mem");
  f.sst_bytes = int_property(db, "rocksdb.total-sst-files-size");
  rocksdb::VectorLogPtr logs;
  if (db.GetSortedWalFiles(logs).ok())
    for (const auto& log : logs)
      f.wal_bytes += log->SizeFileBytes();
  return f;
}

const storage_options& store::options() const noexcept {
  return impl_->options;
}

} // namespace herald::storage
