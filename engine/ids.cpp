#include "engine/ids.hpp"

namespace herald::detail {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";
constexpr size_t id_digits = 16;

} // namespace

std::string format_id(std::string_view prefix, uint64_t value) {
  std::string out;
  out.reserve(prefix.size() + id_digits);
  out.append(prefix);
  for (int shift = 60; shift >= 0; shift -= 4)
    out.push_back(hex_digits[(value >> shift) & 0xF]);
  return out;
}

std::optional<uint64_t> parse_id(std::string_view prefix,
                                 std::string_view text) {
  if (text.size() != prefix.size() + id_digits || !text.starts_with(prefix))
    return std::nullopt;
  uint64_t value = 0;
  for (char c : text.substr(prefix.size())) {
    uint64_t digit;
    if (c >= '0' && c <= '9')
      digit = static_cast<uint64_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      digit = static_cast<uint64_t>(c - 'a' + 10);
    else
      return std::nullopt;
    value = (value << 4) | digit;
  }
  if (value == 0) return std::nullopt;
  return value;
}

} // namespace herald::detail
