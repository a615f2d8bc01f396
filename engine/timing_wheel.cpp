#include "engine/timing_wheel.hpp"

#include <algorithm>

namespace herald {

namespace {

// Spare blocks kept for reuse beyond this many are returned to the allocator
// (~3 MB).
constexpr size_t max_spare_blocks = 4096;

} // namespace

timing_wheel::timing_wheel(time_point start)
  : now_ms_(static_cast<uint64_t>(std::max<int64_t>(to_ms(start), 0))) {
  // nop
}

timing_wheel::~timing_wheel() {
  for (auto& level : slots_)
    for (auto& s : level)
      free_chain(s.head);
  free_chain(spare_);
}

void timing_wheel::insert(const timer_entry& e) {
  ++size_;
  if (e.due_ms() <= static_cast<int64_t>(now_ms_)) {
    overdue_.push_back(e);
    overdue_min_ = std::min(overdue_min_, e.due_ms());
    return;
  }
  place(e);
}

std::vector<timer_entry> timing_wheel::pop_due(time_point now) {
  std::vector<timer_entry> out;
  pop_due(now, [&out](const timer_entry& e) { out.push_back(e); });
  return out;
}

timing_wheel::block* timing_wheel::advance_one(uint64_t limit,
                                               uint64_t& span) noexcept {
  if (levels_mask_ == 0) return nullptr;
  auto level = static_cast<uint32_t>(std::countr_zero(levels_mask_));
  auto& words = occupied_[level];
  uint32_t word = 0;
  while (words[word] == 0)
    ++word;
  auto index = word * 64 + static_cast<uint32_t>(std::countr_zero(words[word]));
  // Every entry at `level` shares the wheel time's higher digits and has a
  // larger digit at `level`, so the slot starts at those digits, this index,
  // and zeros below.
  auto shift = level * level_bits;
  uint64_t high_mask =
    shift + level_bits >= 64 ? 0 : ~((uint64_t{1} << (shift + level_bits)) - 1);
  uint64_t start = (now_ms_ & high_mask) | (uint64_t{index} << shift);
  if (start > limit) return nullptr;
  now_ms_ = start;
  span = uint64_t{1} << shift;
  slot& s = slots_[level][index];
  block* chain = s.head;
  s = slot{};
  words[word] &= ~(uint64_t{1} << (index % 64));
  if (std::all_of(words.begin(), words.end(),
                  [](uint64_t w) { return w == 0; }))
    levels_mask_ &= ~(1u << level);
  return chain;
}

void timing_wheel::sort_block(block& b) noexcept {
  for (uint32_t i = 1; i < b.count; ++i) {
    timer_entry e = b.items[i];
    uint32_t j = i;
    for (; j > 0 && b.items[j - 1].order_key() > e.order_key(); --j)
      b.items[j] = b.items[j - 1];
    b.items[j] = e;
  }
}

std::optional<time_point> timing_wheel::next_due() const noexcept {
  if (!overdue_.empty()) return from_ms(overdue_min_);
  if (levels_mask_ == 0) return std::nullopt;
  auto level = static_cast<uint32_t>(std::countr_zero(levels_mask_));
  const auto& words = occupied_[level];
  uint32_t word = 0;
  while (words[word] == 0)
    ++word;
  auto index = word * 64 + static_cast<uint32_t>(std::countr_zero(words[word]));
  return from_ms(slots_[level][index].min_due);
}

size_t timing_wheel::memory_bytes() const noexcept {
  return sizeof(*this) + blocks_ * sizeof(block) +
         overdue_.capacity() * sizeof(timer_entry);
}

timing_wheel::block* timing_wheel::acquire_block() {
  block* b = spare_;
  if (b != nullptr) {
    spare_ = b->next;
    --spare_count_;
  } else {
    b = new block;
    ++blocks_;
  }
  b->next = nullptr;
  b->count = 0;
  return b;
}

void timing_wheel::release_block(block* b) noexcept {
  if (spare_count_ >= max_spare_blocks) {
    delete b;
    --blocks_;
    return;
  }
  b->next = spare_;
  spare_ = b;
  ++spare_count_;
}

void timing_wheel::free_chain(block* b) noexcept {
  while (b != nullptr) {
    block* next = b->next;
    delete b;
    b = next;
  }
}

} // namespace herald
