#pragma once

// Private to storage/: the record writer and reader the codecs share.

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/codec.hpp"
#include "storage/varint.hpp"

namespace herald::storage::detail {

// Appends one record: the version byte, then the fields in the order called.
class writer {
 public:
  explicit writer(std::string& out) : out_(out) {
    out_.push_back(static_cast<char>(record_version));
  }

  writer& u(uint64_t v) {
    put_varint(out_, v);
    return *this;
  }
  writer& s(int64_t v) { return u(zigzag(v)); }
  writer& t(time_point v) { return s(to_ms(v)); }
  writer& d(duration v) { return s(v.count()); }
  writer& day(date::local_days v) { return s(v.time_since_epoch().count()); }
  writer& byte(uint8_t v) {
    out_.push_back(static_cast<char>(v));
    return *this;
  }
  writer& b(bool v) { return byte(v ? 1 : 0); }
  template<class E>
  writer& e(E v) {
    return byte(static_cast<uint8_t>(v));
  }
  writer& str(std::string_view v) {
    u(v.size());
    out_.append(v);
    return *this;
  }
  template<class Tag>
  writer& id(herald::id<Tag> v) {
    return u(v.value);
  }
  // The count, then each element as `write_one` writes it.
  template<class T, class F>
  writer& list(const std::vector<T>& xs, F write_one) {
    u(xs.size());
    for (const auto& x : xs)
      write_one(x);
    return *this;
  }

 private:
  std::string& out_;
};

// Reads one record. The first failure is kept and every later read returns a
// default without consuming anything, so decoders read straight through and
// ask finish() at the end. Field names are only turned into text on failure.
class reader {
 public:
  reader(std::string_view in, std::string_view record)
    : in_(in), record_(record) {
    if (in_.empty()) {
      fail(codec_error::truncated, "version");
      return;
    }
    auto version = static_cast<uint8_t>(in_.front());
    in_.remove_prefix(1);
    if (version != record_version) {
      failed_ = true;
      failure_ = {codec_error::unknown_version,
                  std::string{record_} + " record version " +
                    std::to_string(version) + "; this build reads version " +
                    std::to_string(record_version)};
    }
  }

  uint64_t u(std::string_view field) {
    if (failed_) return 0;
    auto [status, v] = get_varint(in_);
    switch (status) {
      case varint_status::ok: return v;
      case varint_status::truncated: fail(codec_error::truncated, field); break;
      case varint_status::overlong:
        fail(codec_error::bad_value, field, "varint past 64 bits");
        break;
    }
    return 0;
  }
  template<class Int>
  Int unsigned_as(std::string_view field) {
    auto v = u(field);
    if (v > std::numeric_limits<Int>::max()) {
      fail(codec_error::bad_value, field, std::to_string(v) + " out of range");
      return 0;
    }
    return static_cast<Int>(v);
  }
  int64_t s(std::string_view field) { return unzigzag(u(field)); }
  template<class Int>
  Int signed_as(std::string_view field) {
    auto v = s(field);
    if (v < std::numeric_limits<Int>::min() ||
        v > std::numeric_limits<Int>::max()) {
      fail(codec_error::bad_value, field, std::to_string(v) + " out of range");
      return 0;
    }
    return static_cast<Int>(v);
  }
  time_point t(std::string_view field) { return from_ms(s(field)); }
  duration d(std::string_view field) { return duration{s(field)}; }
  date::local_days day(std::string_view field) {
    return date::local_days{date::days{signed_as<date::days::rep>(field)}};
  }
  uint8_t byte(std::string_view field) {
    if (failed_) return 0;
    if (in_.empty()) {
      fail(codec_error::truncated, field);
      return 0;
    }
    auto v = static_cast<uint8_t>(in_.front());
    in_.remove_prefix(1);
    return v;
  }
  bool b(std::string_view field) {
    auto v = byte(field);
    if (v > 1) fail(codec_error::bad_value, field, "bool " + std::to_string(v));
    return v == 1;
  }
  // A flags byte in which only the bits of `known` may be set.
  uint8_t flags(std::string_view field, uint8_t known) {
    auto v = byte(field);
    if ((v & ~known) != 0) {
      fail(codec_error::bad_value, field,
           "unknown bits in " + std::to_string(v));
      return 0;
    }
    return v;
  }
  template<class E>
  E e(std::string_view field) {
    constexpr auto size = enum_names<E>::values.size();
    auto v = byte(field);
    if (v >= size) {
      fail(codec_error::bad_value, field,
           "enumerator " + std::to_string(v) + " of " + std::to_string(size));
      return E{};
    }
    return static_cast<E>(v);
  }
  std::string str(std::string_view field) {
    auto n = u(field);
    if (failed_) return {};
    if (n > in_.size()) {
      fail(codec_error::truncated, field);
      return {};
    }
    std::string out{in_.substr(0, n)};
    in_.remove_prefix(n);
    return out;
  }
  template<class Id>
  Id id(std::string_view field) {
    return Id{u(field)};
  }
  // A count, then each element as `read_one` reads it; failures inside name
  // the element (`name[i].field`). Every element takes at least `min_bytes`,
  // so a count the bytes left cannot hold is refused before any allocation.
  template<class T, class F>
  std::vector<T> list(std::string_view name, size_t min_bytes, F read_one) {
    auto n = u(name);
    if (failed_) return {};
    if (n > in_.size() / min_bytes) {
      fail(codec_error::truncated, name,
           std::to_string(n) + " elements in " + std::to_string(in_.size()) +
             " bytes");
      return {};
    }
    std::vector<T> out;
    out.reserve(static_cast<size_t>(n));
    auto outer = std::exchange(list_, name);
    for (size_t i = 0; i < n && !failed_; ++i) {
      index_ = i;
      out.push_back(read_one());
    }
    list_ = outer;
    return out;
  }

  // The value, or the first failure; trailing_bytes when bytes are left.
  template<class T>
  decoded<T> finish(T value) {
    if (!failed_ && !in_.empty()) {
      failed_ = true;
      failure_ = {
        codec_error::trailing_bytes,
        std::string{record_} + " record has " + std::to_string(in_.size()) +
          (in_.size() == 1 ? " byte" : " bytes") + " after its last field"};
    }
    if (failed_) return std::move(failure_);
    return value;
  }

 private:
  void fail(codec_error code, std::string_view field,
            std::string_view detail = {}) {
    if (failed_) return;
    failed_ = true;
    std::string where;
    if (!list_.empty()) {
      where.append(list_).append("[").append(std::to_string(index_));
      where.append("]");
      if (!field.empty()) where.append(".");
    }
    where.append(field);
    std::string text{record_};
    if (code == codec_error::truncated) {
      text.append(" record truncated in ").append(where);
      if (!detail.empty()) text.append(" (").append(detail).append(")");
    } else {
      text.append(" record has a bad value in ").append(where);
      if (!detail.empty()) text.append(": ").append(detail);
    }
    failure_ = {code, std::move(text)};
  }

  std::string_view in_;
  std::string_view record_;
  // The list being read and the element's index, for failure messages.
  std::string_view list_;
  size_t index_ = 0;
  bool failed_ = false;
  decode_failure failure_;
};

// Differences and sums of milliseconds wrap (mod 2^64) instead of overflowing:
// exactly reversible for any two times, and garbage input cannot cause
// undefined behaviour.
inline int64_t offset(int64_t t, int64_t base) {
  return static_cast<int64_t>(static_cast<uint64_t>(t) -
                              static_cast<uint64_t>(base));
}

inline int64_t plus(int64_t base, int64_t off) {
  return static_cast<int64_t>(static_cast<uint64_t>(base) +
                              static_cast<uint64_t>(off));
}

} // namespace herald::storage::detail
