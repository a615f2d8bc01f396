#include "storage/memtable_rep.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <utility>
#include <vector>

#include <rocksdb/slice.h>
#include <rocksdb/version.h>

namespace herald::storage {

namespace {

constexpr int max_height = 12;
constexpr auto relaxed = std::memory_order_relaxed;

using link = std::atomic<char*>;

// A node is its entry, what MemTable encoded (the internal key and the value,
// each after its varint32 length), preceded by its links: the link of level
// i of the node whose entry is at `e` lies at ((link*) e)[-1 - i].
link& link_of(char* e, int level) {
  return reinterpret_cast<link*>(e)[-1 - level];
}

char* next(char* e, int level) {
  return link_of(e, level).load(std::memory_order_acquire);
}

// RocksDB's LookupKey (db/lookup_key.h, not installed) begins with a pointer
// to the key's memtable form: its internal key after a varint32 length. Read
// in 7.8's source; another version must be read again.
static_assert(ROCKSDB_MAJOR == 7 && ROCKSDB_MINOR == 8,
              "memtable_key() reads RocksDB 7.8's LookupKey layout");
const char* memtable_key(const rocksdb::LookupKey& k) {
  return *reinterpret_cast<const char* const*>(&k);
}

class skip_list final : public rocksdb::MemTableRep {
 public:
  skip_list(const KeyComparator& compare, rocksdb::Allocator* allocator)
    : MemTableRep(allocator), compare_(compare),
      random_((0x9E3779B97F4A7C15ULL ^ reinterpret_cast<uintptr_t>(this)) | 1) {
    for (auto& l : head_links_)
      l.store(nullptr, relaxed);
    prev_.fill(head());
    next_.fill(nullptr);
  }

  // Room for the entry and, before it, the links of a node of a random
  // height, which waits in the lowest link until the insert.
  rocksdb::KeyHandle Allocate(const size_t len, char** buf) override {
    const int height = random_height();
    const size_t links = sizeof(link) * static_cast<size_t>(height);
    char* raw = nullptr;
    MemTableRep::Allocate(len + links + alignof(link) - 1, &raw);
    auto at = reinterpret_cast<uintptr_t>(raw);
    at = (at + alignof(link) - 1) & ~(uintptr_t{alignof(link)} - 1);
    char* e = reinterpret_cast<char*>(at) + links;
    for (int i = 0; i < height; ++i)
      new (&link_of(e, i)) link(nullptr);
    link_of(e, 0).store(reinterpret_cast<char*>(static_cast<uintptr_t>(height)),
                        relaxed);
    *buf = e;
    return e;
  }

  void Insert(rocksdb::KeyHandle handle) override {
    insert(static_cast<char*>(handle));
  }
  bool InsertKey(rocksdb::KeyHandle handle) override {
    return insert(static_cast<char*>(handle));
  }
  // RocksDB's hints are not used: the list keeps its own.
  void InsertWithHint(rocksdb::KeyHandle handle, void**) override {
    insert(static_cast<char*>(handle));
  }
  bool InsertKeyWithHint(rocksdb::KeyHandle handle, void**) override {
    return insert(static_cast<char*>(handle));
  }

  bool Contains(const char* key) const override {
    auto k = compare_.decode_key(key);
    char* n = at_or_after(k);
    return n != nullptr && compare_(n, k) == 0;
  }

  void Get(const rocksdb::LookupKey& k, void* callback_args,
           bool (*callback_func)(void* arg, const char* entry)) override {
    auto key = compare_.decode_key(memtable_key(k));
    for (char* n = at_or_after(key);
         n != nullptr && callback_func(callback_args, n); n = next(n, 0)) {}
  }

  // Every byte is in the memtable's arena, which RocksDB counts itself.
  size_t ApproximateMemoryUsage() override { return 0; }

  Iterator* GetIterator(rocksdb::Arena* arena) override;

  // For the iterators (each reads the list without a lock).
  char* first() const { return next(head(), 0); }
  char* last() const;
  char* at_or_after(const rocksdb::Slice& key) const;
  char* at_or_before(const rocksdb::Slice& key) const;
  char* before(const rocksdb::Slice& key) const;
  rocksdb::Slice key_of(const char* e) const { return compare_.decode_key(e); }

  // An iterator RocksDB places in its arena is only destroyed, never freed:
  // it is built in a slot of this list's, which its destructor hands back.
  void* take_slot();
  void give_back(void* slot);

 private:
  char* head() const {
    return reinterpret_cast<char*>(const_cast<link*>(head_links_.data())) +
           sizeof(head_links_);
  }

  // Levels 1 and up each hold a quarter of the level below.
  int random_height() {
    int height = 1;
    while (height < max_height) {
      random_ ^= random_ << 13;
      random_ ^= random_ >> 7;
      random_ ^= random_ << 17;
      if ((random_ & 3) != 0) break;
      ++height;
    }
    return height;
  }

  bool insert(char* x);
  template<class Still>
  char* last_where(Still still) const;

  const KeyComparator& compare_;
  // The head's links, highest level first (link_of(head(), i) is level i's).
  std::array<link, max_height> head_links_;
  std::atomic<int> height_{1};
  // The writer's own: the insert hint (the last insert's neighbours at each
  // level, always adjacent), and the random heights' state.
  std::array<char*, max_height> prev_{};
  std::array<char*, max_height> next_{};
  uint64_t random_; // each list its own heights

  std::mutex slots_mu_;
  std::vector<std::unique_ptr<std::byte[]>> slots_;
  // Each free slot with the thread that freed it, which alone reuses it: the
  // iterator's destructor hands the slot back before the base class's part
  // of it has run, so another thread must not build in it meanwhile.
  std::vector<std::pair<std::thread::id, void*>> free_slots_;
};

bool skip_list::insert(char* x) {
  const auto height =
    static_cast<int>(reinterpret_cast<uintptr_t>(link_of(x, 0).load(relaxed)));
  link_of(x, 0).store(nullptr, relaxed);
  const auto key = compare_.decode_key(x);
  int top = height_.load(relaxed);
  if (height > top) {
    // The new levels are empty: their hint (head, nothing) brackets any key.
    // A reader that sees the new height before the links goes down.
    height_.store(height, relaxed);
    top = height;
  }
  // The lowest level whose hint brackets the key. Each level's neighbours are
  // at least as far apart as the one's below, so the levels above bracket it
  // too; a neighbour shared with the level below is not compared again.
  bool after_prev = prev_[0] == head() || compare_(prev_[0], key) < 0;
  bool before_next = next_[0] == nullptr || compare_(next_[0], key) > 0;
  int level = 0;
  while (!(after_prev && before_next) && ++level < top) {
    if (!after_prev && prev_[level] != prev_[level - 1])
      after_prev = prev_[level] == head() || compare_(prev_[level], key) < 0;
    if (!before_next && next_[level] != next_[level - 1])
      before_next = next_[level] == nullptr || compare_(next_[level], key) > 0;
  }
  // Down from there (from the head if no level brackets it).
  char* p = level < top ? prev_[level] : head();
  bool duplicate = false;
  for (int i = level - 1; i >= 0; --i) {
    char* n = next(p, i);
    int c = 1;
    while (n != nullptr && (c = compare_(n, key)) < 0) {
      p = n;
      n = next(p, i);
    }
    prev_[i] = p;
    next_[i] = n;
    duplicate = i == 0 && n != nullptr && c == 0;
  }
  if (duplicate) return false;
  // Linked bottom up, each link published after the node's own: a reader
  // that finds the node finds its entry and its links.
  for (int i = 0; i < height; ++i) {
    link_of(x, i).store(next_[i], relaxed);
    link_of(prev_[i], i).store(x, std::memory_order_release);
    prev_[i] = x;
  }
  return true;
}

char* skip_list::at_or_after(const rocksdb::Slice& key) const {
  char* p = head();
  char* n = nullptr;
  char* known_after = nullptr; // compared already, on a level above
  for (int i = height_.load(relaxed) - 1; i >= 0; --i) {
    n = next(p, i);
    while (n != nullptr && n != known_after && compare_(n, key) < 0) {
      p = n;
      n = next(p, i);
    }
    known_after = n;
  }
  return n;
}

// The last node for which every node up to it satisfies `still` (monotone
// along the list), or null: a walk from the head, down the levels.
template<class Still>
char* skip_list::last_where(Still still) const {
  char* p = head();
  for (int i = height_.load(relaxed) - 1; i >= 0; --i)
    for (char* n = next(p, i); n != nullptr && still(n); n = next(p, i))
      p = n;
  return p == head() ? nullptr : p;
}

char* skip_list::at_or_before(const rocksdb::Slice& key) const {
  return last_where([&](char* n) { return compare_(n, key) <= 0; });
}

char* skip_list::before(const rocksdb::Slice& key) const {
  return last_where([&](char* n) { return compare_(n, key) < 0; });
}

char* skip_list::last() const {
  return last_where([](char*) { return true; });
}

class list_iterator final : public rocksdb::MemTableRep::Iterator {
 public:
  list_iterator(skip_list& list, bool in_slot)
    : list_(list), in_slot_(in_slot) {}

  // The slot is handed back last, and only this thread builds in it again
  // (skip_list::take_slot).
  ~list_iterator() override {
    if (in_slot_) list_.give_back(this);
  }

  bool Valid() const override { return node_ != nullptr; }
  const char* key() const override { return node_; }
  void Next() override { node_ = next(node_, 0); }
  void Prev() override { node_ = list_.before(list_.key_of(node_)); }
  void Seek(const rocksdb::Slice& internal_key, const char*) override {
    node_ = list_.at_or_after(internal_key);
  }
  void SeekForPrev(const rocksdb::Slice& internal_key, const char*) override {
    node_ = list_.at_or_before(internal_key);
  }
  void SeekToFirst() override { node_ = list_.first(); }
  void SeekToLast() override { node_ = list_.last(); }

 private:
  skip_list& list_;
  char* node_ = nullptr;
  bool in_slot_;
};

void* skip_list::take_slot() {
  const auto me = std::this_thread::get_id();
  std::lock_guard lk{slots_mu_};
  for (size_t i = 0; i < free_slots_.size(); ++i)
    if (free_slots_[i].first == me) {
      void* slot = free_slots_[i].second;
      free_slots_[i] = free_slots_.back();
      free_slots_.pop_back();
      return slot;
    }
  slots_.push_back(std::make_unique<std::byte[]>(sizeof(list_iterator)));
  return slots_.back().get();
}

void skip_list::give_back(void* slot) {
  std::lock_guard lk{slots_mu_};
  free_slots_.emplace_back(std::this_thread::get_id(), slot);
}

rocksdb::MemTableRep::Iterator* skip_list::GetIterator(rocksdb::Arena* arena) {
  if (arena == nullptr) return new list_iterator(*this, false);
  return new (take_slot()) list_iterator(*this, true);
}

class factory final : public rocksdb::MemTableRepFactory {
 public:
  using MemTableRepFactory::CreateMemTableRep;
  rocksdb::MemTableRep*
  CreateMemTableRep(const rocksdb::MemTableRep::KeyComparator& compare,
                    rocksdb::Allocator* allocator,
                    const rocksdb::SliceTransform*, rocksdb::Logger*) override {
    return new skip_list(compare, allocator);
  }
  const char* Name() const override { return "herald.SkipList"; }
};

} // namespace

std::shared_ptr<rocksdb::MemTableRepFactory> skip_list_memtables() {
  return std::make_shared<factory>();
}

} // namespace herald::storage
