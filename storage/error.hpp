#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/model.hpp"
#include "engine/result.hpp"

namespace herald::storage {

/// What went wrong at the storage boundary (every rocksdb::Status is translated
/// into one).
enum class errc : uint8_t {
  io_error,
  corruption,
  /// A stored value that does not decode (its key says which).
  bad_value,
  invalid_argument,
  busy,
  shutting_down,
  /// The group-commit queue is full (try_submit only).
  queue_full,
  other,
};

struct storage_error {
  errc code = errc::other;
  std::string message;
  /// The key concerned, when there is one (printable: hex for binary keys).
  std::string key;
};

/// Success carries nothing.
struct done {};

using status = result<done, storage_error>;

template<class T>
using expected = result<T, storage_error>;

} // namespace herald::storage

namespace herald {

template<>
struct enum_names<storage::errc> {
  static constexpr std::array<std::string_view, 8> values{
    "io_error", "corruption",    "bad_value",  "invalid_argument",
    "busy",     "shutting_down", "queue_full", "other"};
};

} // namespace herald
