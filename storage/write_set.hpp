#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "storage/keys.hpp"

namespace herald::storage {

/// Mutations that land together, all or none (one group-commit unit). Kept as
/// one flat buffer: building one allocates once, and producers never see
/// RocksDB types.
class write_set {
 public:
  enum class op : uint8_t { put, erase, erase_range, merge };

  void put(cf c, std::string_view key, std::string_view value) {
    append(op::put, c, key, value);
  }
  void erase(cf c, std::string_view key) { append(op::erase, c, key, {}); }
  /// Adds `value` to what `key` holds, by the family's merge (only cf::leads
  /// has one: key::lead_enrollments).
  void merge(cf c, std::string_view key, std::string_view value) {
    append(op::merge, c, key, value);
  }
  /// The longest first key of a range deletion: a workspace prefix, all that
  /// herald deletes by range. Writing a longer one fails. (RocksDB 7.8's skip
  /// list broke when a range deletion took the point keys' insert hint; the
  /// memtable is herald's now, but the rule stays.)
  static constexpr size_t max_range_begin_bytes = 8;

  /// Removes every key of `c` in [begin, end); `begin` is at most
  /// max_range_begin_bytes long.
  void erase_range(cf c, std::string_view begin, std::string_view end) {
    append(op::erase_range, c, begin, end);
  }

  size_t bytes() const noexcept { return ops_.size(); }
  uint32_t count() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  void clear() noexcept {
    ops_.clear();
    count_ = 0;
  }
  void reserve(size_t bytes) { ops_.reserve(bytes); }

  /// Calls fn(op, cf, key, value) for each mutation in order (value is the
  /// range's end for erase_range).
  template<class F>
  void for_each(F&& fn) const {
    const char* p = ops_.data();
    const char* end = p + ops_.size();
    while (p < end) {
      auto o = static_cast<op>(p[0]);
      auto c = static_cast<cf>(p[1]);
      uint32_t klen;
      uint32_t vlen;
      std::memcpy(&klen, p + 2, 4);
      std::memcpy(&vlen, p + 6, 4);
      p += header;
      std::string_view k{p, klen};
      std::string_view v{p + klen, vlen};
      p += klen + vlen;
      fn(o, c, k, v);
    }
  }

 private:
  static constexpr size_t header = 10;

  void append(op o, cf c, std::string_view k, std::string_view v) {
    auto klen = static_cast<uint32_t>(k.size());
    auto vlen = static_cast<uint32_t>(v.size());
    auto at = ops_.size();
    ops_.resize(at + header + klen + vlen);
    char* p = ops_.data() + at;
    p[0] = static_cast<char>(o);
    p[1] = static_cast<char>(c);
    std::memcpy(p + 2, &klen, 4);
    std::memcpy(p + 6, &vlen, 4);
    // An empty view may have no data at all: memcpy must not see it.
    if (klen > 0) std::memcpy(p + header, k.data(), klen);
    if (vlen > 0) std::memcpy(p + header + klen, v.data(), vlen);
    ++count_;
  }

  std::string ops_;
  uint32_t count_ = 0;
};

} // namespace herald::storage
