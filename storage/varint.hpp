#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace herald::storage {

/// The most bytes a varint of 64 bits takes.
inline constexpr size_t max_varint_bytes = 10;

/// Appends `v` as an LEB128 varint: 7 bits per byte, low bits first, the high
/// bit set on every byte but the last (1 to 10 bytes).
inline void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

/// How many bytes put_varint appends for `v`.
constexpr size_t varint_size(uint64_t v) noexcept {
  size_t n = 1;
  for (; v >= 0x80; v >>= 7)
    ++n;
  return n;
}

enum class varint_status : uint8_t {
  ok,
  /// The input ended inside the varint.
  truncated,
  /// More than 10 bytes, or a value past 64 bits.
  overlong,
};

struct varint_read {
  varint_status status = varint_status::ok;
  /// The value when `status` is ok, else 0.
  uint64_t value = 0;
};

/// Reads a varint from the front of `in` and, when it is ok, advances `in`
/// past it; on truncated or overlong `in` is left as it was.
inline varint_read get_varint(std::string_view& in) noexcept {
  uint64_t v = 0;
  for (size_t i = 0; i < max_varint_bytes; ++i) {
    if (i == in.size()) return {varint_status::truncated, 0};
    auto byte = static_cast<uint8_t>(in[i]);
    // The tenth byte holds bit 63 only: anything more overflows 64 bits.
    if (i == max_varint_bytes - 1 && byte > 1)
      return {varint_status::overlong, 0};
    v |= static_cast<uint64_t>(byte & 0x7F) << (7 * i);
    if ((byte & 0x80) == 0) {
      in.remove_prefix(i + 1);
      return {varint_status::ok, v};
    }
  }
  return {varint_status::overlong, 0};
}

/// Maps signed values to unsigned ones with small magnitudes staying small
/// (0, -1, 1, -2 -> 0, 1, 2, 3), so a negative value costs no 10-byte varint.
constexpr uint64_t zigzag(int64_t v) noexcept {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

/// The inverse of zigzag, for every 64-bit value.
constexpr int64_t unzigzag(uint64_t v) noexcept {
  return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

/// Appends `v` zigzag-encoded as a varint.
inline void put_signed_varint(std::string& out, int64_t v) {
  put_varint(out, zigzag(v));
}

} // namespace herald::storage
