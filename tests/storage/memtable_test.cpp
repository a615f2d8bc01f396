// herald's memtable (storage/memtable_rep.hpp) under RocksDB itself: what is
// written reads back as an ordered map would, forwards, backwards and from
// any key, while it is written and after it is flushed.

#include "storage/memtable_rep.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "tests/storage/temp_dir.hpp"

namespace herald::storage::test {
namespace {

using herald::test::temp_dir;

std::unique_ptr<rocksdb::DB> open_db(const std::string& path) {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.allow_concurrent_memtable_write = false;
  o.memtable_factory = skip_list_memtables();
  o.write_buffer_size = size_t{256} << 20; // nothing flushed unless asked
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(o, path, &raw);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return std::unique_ptr<rocksdb::DB>{raw};
}

std::string key_of(const char* kind, uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%08llu", kind,
                static_cast<unsigned long long>(n));
  return buf;
}

// Everything `db` holds, by a forward or a backward scan.
std::vector<std::pair<std::string, std::string>> scan(rocksdb::DB& db,
                                                      bool backwards) {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it{db.NewIterator({})};
  for (backwards ? it->SeekToLast() : it->SeekToFirst(); it->Valid();
       backwards ? it->Prev() : it->Next())
    out.emplace_back(it->key().ToString(), it->value().ToString());
  EXPECT_TRUE(it->status().ok());
  if (backwards) std::reverse(out.begin(), out.end());
  return out;
}

void expect_same(rocksdb::DB& db,
                 const std::map<std::string, std::string>& want,
                 std::mt19937_64& random) {
  std::vector<std::pair<std::string, std::string>> all(want.begin(),
                                                       want.end());
  EXPECT_EQ(scan(db, false), all);
  EXPECT_EQ(scan(db, true), all);
  std::unique_ptr<rocksdb::Iterator> it{db.NewIterator({})};
  for (int i = 0; i < 3000; ++i) {
    // Present, absent, before everything and after everything.
    auto target = key_of(random() % 2 ? "r" : "s", random() % 12'000);
    if (i % 500 == 0) target = i % 1000 == 0 ? "" : "zzz";
    std::string value;
    auto st = db.Get({}, target, &value);
    auto found = want.find(target);
    ASSERT_EQ(st.ok(), found != want.end()) << target << " " << st.ToString();
    if (found != want.end()) {
      EXPECT_EQ(value, found->second);
    }

    it->Seek(target);
    auto at_or_after = want.lower_bound(target);
    ASSERT_EQ(it->Valid(), at_or_after != want.end()) << target;
    if (it->Valid()) {
      EXPECT_EQ(it->key().ToString(), at_or_after->first);
      it->Prev(); // the one before, whatever the direction so far
      ASSERT_EQ(it->Valid(), at_or_after != want.begin()) << target;
      if (it->Valid()) {
        EXPECT_EQ(it->key().ToString(), std::prev(at_or_after)->first);
      }
    }

    it->SeekForPrev(target);
    auto after = want.upper_bound(target);
    ASSERT_EQ(it->Valid(), after != want.begin()) << target;
    if (it->Valid()) {
      EXPECT_EQ(it->key().ToString(), std::prev(after)->first);
      it->Next();
      ASSERT_EQ(it->Valid(), after != want.end()) << target;
      if (it->Valid()) {
        EXPECT_EQ(it->key().ToString(), after->first);
      }
    }
  }
}

TEST(Memtable, ReadsAsAnOrderedMapWhateverTheOrderOfWrites) {
  temp_dir dir;
  auto db = open_db(dir.str());
  std::map<std::string, std::string> want;
  std::mt19937_64 random{7};
  // Runs of keys in order (as ids that grow), keys at random (as emails),
  // keys written again and deleted, alone and in batches in no order.
  uint64_t in_order = 0;
  for (int round = 0; round < 400; ++round) {
    rocksdb::WriteBatch batch;
    const int size = 1 + static_cast<int>(random() % 60);
    for (int i = 0; i < size; ++i) {
      std::string key = random() % 2 ? key_of("s", in_order++ % 12'000)
                                     : key_of("r", random() % 12'000);
      if (random() % 8 == 0) {
        ASSERT_TRUE(batch.Delete(key).ok());
        want.erase(key);
      } else {
        auto value = std::to_string(round) + "." + std::to_string(i);
        ASSERT_TRUE(batch.Put(key, value).ok());
        want[key] = value;
      }
    }
    ASSERT_TRUE(db->Write({}, &batch).ok());
  }
  ASSERT_GT(want.size(), 5000u);
  uint64_t immutable = 1;
  ASSERT_TRUE(
    db->GetIntProperty("rocksdb.num-immutable-mem-table", &immutable));
  EXPECT_EQ(immutable, 0u); // all of it in the memtable under test
  expect_same(*db, want, random);
  // Flushed: the table was written from the list's own iterator.
  ASSERT_TRUE(db->Flush({}).ok());
  expect_same(*db, want, random);
}

// Readers never lock: while one thread writes keys in a random order, others
// find every key written before they looked, in order.
TEST(Memtable, ReadersBesideTheWriterSeeEveryWriteInOrder) {
  temp_dir dir;
  auto db = open_db(dir.str());
  constexpr uint64_t keys = 40'000;
  std::vector<uint64_t> order(keys);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64{11});
  std::atomic<uint64_t> written{0};
  std::atomic<bool> failed{false};
  std::thread writer{[&] {
    for (uint64_t i = 0; i < keys; ++i) {
      if (!db->Put({}, key_of("k", order[i]), std::to_string(order[i])).ok())
        failed = true;
      written.store(i + 1, std::memory_order_release);
    }
  }};
  std::vector<std::thread> readers;
  std::atomic<uint64_t> scans{0};
  for (int r = 0; r < 2; ++r)
    readers.emplace_back([&, r] {
      std::mt19937_64 random(static_cast<uint64_t>(r) + 100);
      while (!failed) {
        const auto seen = written.load(std::memory_order_acquire);
        for (int i = 0; i < 50 && seen > 0; ++i) {
          auto n = order[random() % seen];
          std::string value;
          if (!db->Get({}, key_of("k", n), &value).ok() ||
              value != std::to_string(n))
            failed = true;
        }
        std::unique_ptr<rocksdb::Iterator> it{db->NewIterator({})};
        uint64_t count = 0;
        std::string last;
        for (it->SeekToFirst(); it->Valid(); it->Next(), ++count) {
          if (!last.empty() && it->key().ToString() <= last) failed = true;
          last = it->key().ToString();
        }
        if (count < seen) failed = true;
        ++scans;
        if (seen == keys) break;
      }
    });
  writer.join();
  for (auto& t : readers)
    t.join();
  EXPECT_FALSE(failed);
  EXPECT_GT(scans.load(), 2u);
}

} // namespace
} // namespace herald::storage::test
