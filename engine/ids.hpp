#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace herald {

/// A typed 64-bit id. On the wire it is an opaque string: the type's prefix
/// followed by 16 lowercase hex digits (`ws_00000000000003e8`). Zero is never a
/// valid id.
template<class Tag>
struct id {
  uint64_t value = 0;

  constexpr bool valid() const noexcept { return value != 0; }
  friend constexpr auto operator<=>(id, id) = default;

  static constexpr std::string_view prefix = Tag::prefix;
};

struct workspace_tag {
  static constexpr std::string_view prefix = "ws_";
};
struct account_tag {
  static constexpr std::string_view prefix = "acc_";
};
struct sequence_tag {
  static constexpr std::string_view prefix = "seq_";
};
struct lead_tag {
  static constexpr std::string_view prefix = "lead_";
};
struct enrollment_tag {
  static constexpr std::string_view prefix = "enr_";
};
struct key_tag {
  static constexpr std::string_view prefix = "key_";
};

using workspace_id = id<workspace_tag>;
using account_id = id<account_tag>;
using sequence_id = id<sequence_tag>;
using lead_id = id<lead_tag>;
using enrollment_id = id<enrollment_tag>;
using key_id = id<key_tag>;

namespace detail {

std::string format_id(std::string_view prefix, uint64_t value);
std::optional<uint64_t> parse_id(std::string_view prefix,
                                 std::string_view text);

} // namespace detail

template<class Tag>
std::string to_string(id<Tag> x) {
  return detail::format_id(Tag::prefix, x.value);
}

/// Parses the wire form of an id of type `Id`; nullopt when the prefix is
/// wrong, the digits are not 16 lowercase hex digits, or the value is zero.
template<class Id>
std::optional<Id> parse_id(std::string_view text) {
  if (auto v = detail::parse_id(Id::prefix, text)) return Id{*v};
  return std::nullopt;
}

} // namespace herald

template<class Tag>
struct std::hash<herald::id<Tag>> {
  size_t operator()(herald::id<Tag> x) const noexcept {
    return std::hash<uint64_t>{}(x.value);
  }
};
