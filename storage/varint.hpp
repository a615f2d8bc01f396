#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace herald::storage {

/// Appends `v` as an LEB128 varint (1 to 10 bytes).
inline void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

enum class varint_status : uint8_t { ok, truncated, overlong };

/// Reads a varint from the front of `in`, advancing it; `overlong` for more
/// than 10 bytes or a value past 64 bits.
inline varint_status get_varint(std::string_view& in, uint64_t& v) {
  v = 0;
  for (int shift = 0, i = 0;; shift += 7, ++i) {
    if (i == static_cast<int>(in.size())) return varint_status::truncated;
    auto byte = static_cast<uint8_t>(in[static_cast<size_t>(i)]);
    if (i == 9 && byte > 1) return varint_status::overlong;
    v |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      in.remove_prefix(static_cast<size_t>(i) + 1);
      return varint_status::ok;
    }
    if (i == 9) return varint_status::overlong;
  }
}

/// Signed values as unsigned, small magnitudes small: 0, -1, 1, -2 -> 0, 1,
/// 2, 3.
constexpr uint64_t zigzag(int64_t v) noexcept {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

constexpr int64_t unzigzag(uint64_t v) noexcept {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

} // namespace herald::storage
