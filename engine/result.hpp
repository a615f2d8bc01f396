#pragma once

#include <cassert>
#include <utility>
#include <variant>

namespace herald {

/// A value or an error (g++ 12 has no std::expected in C++20). Expected
/// outcomes of the engine ("no open slot", "unknown id") travel as `E`, never
/// as exceptions.
template<class T, class E>
class result {
 public:
  result(T value) : data_(std::in_place_index<0>, std::move(value)) {}
  result(E error) : data_(std::in_place_index<1>, std::move(error)) {}

  explicit operator bool() const noexcept { return data_.index() == 0; }
  bool has_value() const noexcept { return data_.index() == 0; }

  T& value() & {
    assert(has_value());
    return std::get<0>(data_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(data_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(data_));
  }
  const E& error() const {
    assert(!has_value());
    return std::get<1>(data_);
  }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, E> data_;
};

} // namespace herald
