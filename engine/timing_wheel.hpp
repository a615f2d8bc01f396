#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "engine/time.hpp"

namespace herald {

/// One armed timer: `id` (an enrollment) is due at `due_ms()`, armed when the
/// enrollment's generation was `generation()`. The wheel never interprets the
/// generation. Cancelling is lazy: the owner bumps the enrollment's generation
/// and drops popped entries that are not `armed_with` the current one, so a
/// cancel costs nothing here.
///
/// 16 bytes: the id, then the due time (42 bits of milliseconds since the
/// epoch, enough until 2109) above the low 22 bits of the generation. A stale
/// timer could only pass for current after 4 million re-arms of one enrollment
/// while it is still pending.
class timer_entry {
 public:
  static constexpr int generation_bits = 22;
  static constexpr uint32_t generation_mask = (1u << generation_bits) - 1;
  /// Due times are clamped to [0, max_due_ms].
  static constexpr int64_t max_due_ms =
    (int64_t{1} << (64 - generation_bits)) - 1;

  constexpr timer_entry() noexcept = default;
  constexpr timer_entry(uint64_t id, int64_t due_ms,
                        uint32_t generation) noexcept
    : id_(id),
      packed_((static_cast<uint64_t>(std::clamp<int64_t>(due_ms, 0, max_due_ms))
               << generation_bits) |
              (generation & generation_mask)) {
    // nop
  }

  constexpr uint64_t id() const noexcept { return id_; }
  constexpr int64_t due_ms() const noexcept {
    return static_cast<int64_t>(packed_ >> generation_bits);
  }
  constexpr time_point due() const noexcept { return from_ms(due_ms()); }
  /// The low generation_bits of the generation the timer was armed with.
  constexpr uint32_t generation() const noexcept {
    return static_cast<uint32_t>(packed_) & generation_mask;
  }
  /// True when the timer was armed with `current` (modulo 2^generation_bits).
  constexpr bool armed_with(uint32_t current) const noexcept {
    return generation() == (current & generation_mask);
  }
  /// Due time and generation as one word, ordered by due time.
  constexpr uint64_t order_key() const noexcept { return packed_; }

  friend bool operator==(const timer_entry&, const timer_entry&) = default;

 private:
  uint64_t id_ = 0;
  uint64_t packed_ = 0;
};

/// A hierarchical timing wheel (Varghese & Lauck) with millisecond ticks.
///
/// Why this shape: millions of idle enrollments wait days between steps, so an
/// entry must be small (16 bytes, stored in blocks of 32 without per-entry
/// pointers or vector slack), an insert O(1), and popping must skip empty time
/// in O(1) per level rather than tick by tick (a manual clock jumps months at
/// once). Eight levels of 256 slots cover the whole 64-bit millisecond range,
/// so there is no overflow list. An entry sits at the level of the highest
/// base-256 digit in which its due time differs from the wheel's time, and
/// moves down one or more levels each time its slot comes due (at most seven
/// moves, three for a month ahead). Occupancy bitmaps find the next non-empty
/// slot with a count of trailing zeros, and each slot keeps the minimum due
/// time of its entries (slots are only appended to or emptied whole), which
/// makes `next_due` O(1).
///
/// Not thread-safe: one owner (a timer shard) per wheel.
class timing_wheel {
 public:
  /// A wheel whose time starts at `start` (clamped to the epoch).
  explicit timing_wheel(time_point start);
  ~timing_wheel();

  timing_wheel(const timing_wheel&) = delete;
  timing_wheel& operator=(const timing_wheel&) = delete;

  /// Arms a timer. O(1). An entry due at or before now() fires on the next
  /// pop_due.
  void insert(uint64_t id, time_point due, uint32_t generation) {
    insert(timer_entry{id, to_ms(due), generation});
  }
  void insert(const timer_entry& e);

  /// Moves the wheel's time to `now` and calls `fn(const timer_entry&)` for
  /// every entry due at or before it, in due order (entries due in the same
  /// millisecond in no set order). Returns how many entries fired. `fn` must
  /// not call into this wheel. A `now` before the wheel's time is treated as
  /// the wheel's time.
  template<class F>
  size_t pop_due(time_point now, F&& fn);

  /// As above, collecting the due entries.
  std::vector<timer_entry> pop_due(time_point now);

  /// The earliest due time of any entry, or nullopt when empty. O(1).
  std::optional<time_point> next_due() const noexcept;

  /// The instant up to which entries have been popped.
  time_point now() const noexcept {
    return from_ms(static_cast<int64_t>(now_ms_));
  }

  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  /// Bytes of memory the wheel holds: its slot table, its blocks (in use and
  /// spare) and the overdue buffer.
  size_t memory_bytes() const noexcept;

  static constexpr int level_bits = 8;
  static constexpr int levels = 64 / level_bits;
  static constexpr uint32_t slots_per_level = 1u << level_bits;
  static constexpr uint32_t block_entries = 32;

 private:
  struct block {
    block* next;
    uint32_t count;
    timer_entry items[block_entries];
  };

  struct slot {
    block* head = nullptr;
    block* tail = nullptr;
    int64_t min_due = std::numeric_limits<int64_t>::max();
  };

  static constexpr uint32_t words_per_level = slots_per_level / 64;

  // Places an entry due strictly after now_ms_ at its level and slot.
  void place(const timer_entry& e) {
    auto due = static_cast<uint64_t>(e.due_ms());
    // due > now_ms_, so the xor is non-zero and the raw clz is defined
    // (countl_zero would add a zero check: baseline x86-64 has no lzcnt).
    auto top_bit = 63u - static_cast<unsigned>(__builtin_clzll(due ^ now_ms_));
    unsigned level = top_bit / level_bits;
    auto index = static_cast<uint32_t>(due >> (level * level_bits)) &
                 (slots_per_level - 1);
    slot& s = slots_[level][index];
    if (s.tail == nullptr || s.tail->count == block_entries) {
      block* b = acquire_block();
      if (s.tail == nullptr) {
        s.head = b;
        occupied_[level][index / 64] |= uint64_t{1} << (index % 64);
        levels_mask_ |= 1u << level;
      } else {
        s.tail->next = b;
      }
      s.tail = b;
    }
    s.tail->items[s.tail->count++] = e;
    if (e.due_ms() < s.min_due) s.min_due = e.due_ms();
  }

  // Fires `e` when due at `at` (the start of the slot being emptied), else
  // places it again relative to the wheel's time.
  template<class F>
  void cascade(const timer_entry& e, int64_t at, F& fn, size_t& fired) {
    if (e.due_ms() == at) {
      fn(e);
      ++fired;
    } else {
      place(e);
    }
  }

  // Finds the earliest non-empty slot. When its start is at or before `limit`,
  // moves the wheel's time to that start, detaches the slot, sets `span` to the
  // slot's width in ms and returns its blocks; otherwise returns nullptr.
  block* advance_one(uint64_t limit, uint64_t& span) noexcept;

  static void prefetch_block(const block* b) noexcept {
    const auto* p = reinterpret_cast<const char*>(b);
    for (size_t off = 0; off < sizeof(block); off += 64)
      __builtin_prefetch(p + off);
  }

  // Sorts a block's entries by due time (insertion sort: a block is small).
  static void sort_block(block& b) noexcept;

  // Fires the overdue buffer in due order.
  template<class F>
  size_t drain_overdue(F& fn);

  block* acquire_block();
  void release_block(block* b) noexcept;
  void free_chain(block* b) noexcept;

  uint64_t now_ms_;
  size_t size_ = 0;
  uint32_t levels_mask_ = 0;
  std::array<std::array<uint64_t, words_per_level>, levels> occupied_{};
  std::array<std::array<slot, slots_per_level>, levels> slots_{};
  std::vector<timer_entry> overdue_;
  int64_t overdue_min_ = std::numeric_limits<int64_t>::max();
  block* spare_ = nullptr;
  size_t spare_count_ = 0;
  size_t blocks_ = 0;
};

template<class F>
size_t timing_wheel::pop_due(time_point now, F&& fn) {
  size_t fired = overdue_.empty() ? 0 : drain_overdue(fn);
  auto limit = static_cast<uint64_t>(std::max<int64_t>(to_ms(now), 0));
  uint64_t span = 0;
  // Each round takes the earliest slot starting at or before `limit`. Its
  // entries are earlier than everything else in the wheel, so whatever of them
  // is due can be emitted in order right away; what is not due is placed again
  // relative to the new time.
  while (block* b = advance_one(limit, span)) {
    auto at = static_cast<int64_t>(now_ms_);
    if (b->next == nullptr) {
      // One block (the sparse low levels): sort it and emit its due prefix. If
      // some of it is not due, the slot outlasts `limit`, so nothing later in
      // the wheel is due either and the time can move to `limit` before placing
      // the rest.
      if (b->count > 1) sort_block(*b);
      uint32_t i = 0;
      for (;
           i < b->count && b->items[i].due_ms() <= static_cast<int64_t>(limit);
           ++i)
        fn(b->items[i]);
      fired += i;
      if (i < b->count) {
        now_ms_ = limit;
        for (; i < b->count; ++i)
          place(b->items[i]);
      } else {
        now_ms_ = static_cast<uint64_t>(b->items[i - 1].due_ms());
      }
      release_block(b);
      continue;
    }
    // Chain blocks lie anywhere in memory: fetch the next one, and by the
    // middle of this one (when the next one's header has arrived) the one
    // after, while this one is read.
    if (b->next != nullptr) prefetch_block(b->next);
    while (b != nullptr) {
      uint32_t half = std::min(b->count, block_entries / 2);
      for (uint32_t i = 0; i < half; ++i)
        cascade(b->items[i], at, fn, fired);
      if (b->next != nullptr && b->next->next != nullptr)
        prefetch_block(b->next->next);
      for (uint32_t i = half; i < b->count; ++i)
        cascade(b->items[i], at, fn, fired);
      block* next = b->next;
      release_block(b);
      b = next;
    }
  }
  now_ms_ = std::max(now_ms_, limit);
  size_ -= fired;
  return fired;
}

template<class F>
size_t timing_wheel::drain_overdue(F& fn) {
  std::stable_sort(overdue_.begin(), overdue_.end(),
                   [](const timer_entry& a, const timer_entry& b) {
                     return a.due_ms() < b.due_ms();
                   });
  for (const auto& e : overdue_)
    fn(e);
  size_t n = overdue_.size();
  overdue_.clear();
  overdue_min_ = std::numeric_limits<int64_t>::max();
  constexpr size_t keep = 4096;
  if (overdue_.capacity() > keep) std::vector<timer_entry>().swap(overdue_);
  return n;
}

} // namespace herald
