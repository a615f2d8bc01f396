#pragma once

#include <cstddef>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>

#include "storage/error.hpp"

namespace herald::storage {

/// Called once a write set is durable (`ok`) or failed; runs on the writer
/// thread (or in flush_once's caller in synchronous mode), so it must be quick
/// and must not block.
///
/// Move-only, with room inline for what a completion usually holds (an actor
/// handle and a few numbers): a write's completion allocates nothing, where
/// std::function's 16 bytes sent two of every step's writes to the heap. A
/// larger callable is kept on the heap.
class completion {
 public:
  completion() noexcept = default;
  completion(std::nullptr_t) noexcept {}

  template<class F, class Fn = std::decay_t<F>,
           class = std::enable_if_t<!std::is_same_v<Fn, completion> &&
                                    std::is_invocable_v<Fn&, const status&>>>
  completion(F&& f) {
    if constexpr (std::is_same_v<Fn, std::function<void(const status&)>>)
      if (!f) return; // an empty function completes nothing
    if constexpr (fits<Fn>) {
      ::new (static_cast<void*>(room_)) Fn(std::forward<F>(f));
      ops_ = &inline_ops<Fn>;
    } else {
      ::new (static_cast<void*>(room_)) Fn*(new Fn(std::forward<F>(f)));
      ops_ = &heap_ops<Fn>;
    }
  }

  completion(completion&& other) noexcept { take(other); }

  completion& operator=(completion&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }

  completion& operator=(std::nullptr_t) noexcept {
    reset();
    return *this;
  }

  completion(const completion&) = delete;
  completion& operator=(const completion&) = delete;

  ~completion() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }

  void operator()(const status& s) { ops_->call(room_, s); }

 private:
  struct operations {
    void (*call)(void* room, const status& s);
    // Moves the callable from `from` into the empty `to`, and ends `from`'s.
    void (*move)(void* from, void* to) noexcept;
    void (*destroy)(void* room) noexcept;
  };

  static constexpr size_t room_bytes = 48;

  template<class Fn>
  static constexpr bool fits = sizeof(Fn) <= room_bytes &&
                               alignof(Fn) <= alignof(std::max_align_t) &&
                               std::is_nothrow_move_constructible_v<Fn>;

  template<class Fn>
  static constexpr operations inline_ops{
    [](void* room, const status& s) { (*static_cast<Fn*>(room))(s); },
    [](void* from, void* to) noexcept {
      auto* f = static_cast<Fn*>(from);
      ::new (to) Fn(std::move(*f));
      f->~Fn();
    },
    [](void* room) noexcept { static_cast<Fn*>(room)->~Fn(); },
  };

  template<class Fn>
  static constexpr operations heap_ops{
    [](void* room, const status& s) { (**static_cast<Fn**>(room))(s); },
    [](void* from, void* to) noexcept {
      ::new (to) Fn*(*static_cast<Fn**>(from));
    },
    [](void* room) noexcept { delete *static_cast<Fn**>(room); },
  };

  void take(completion& other) noexcept {
    if (other.ops_ == nullptr) return;
    other.ops_->move(other.room_, room_);
    ops_ = std::exchange(other.ops_, nullptr);
  }

  void reset() noexcept {
    if (ops_ != nullptr) std::exchange(ops_, nullptr)->destroy(room_);
  }

  alignas(std::max_align_t) unsigned char room_[room_bytes];
  const operations* ops_ = nullptr;
};

} // namespace herald::storage
