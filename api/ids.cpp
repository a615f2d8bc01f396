#include "api/ids.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <stdexcept>
#include <string>

#include "storage/keys.hpp"
#include "storage/store.hpp"

namespace herald::api {

namespace {

constexpr std::string_view lease_key = "id_lease";

int64_t system_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace

id_source::id_source(storage::store& db, clock now)
  : db_(db), now_(now ? std::move(now) : clock{system_ms}) {}

uint64_t id_source::next() {
  if (!read_) extend(0);
  auto ms = static_cast<uint64_t>(std::max<int64_t>(0, now_() - epoch_ms));
  auto at = ms << count_bits;
  auto prev = last_.load(std::memory_order_relaxed);
  uint64_t id = 0;
  do {
    id = std::max(prev + 1, at);
  } while (!last_.compare_exchange_weak(prev, id, std::memory_order_relaxed));
  // Not given before the lease covers it.
  if ((id >> count_bits) >= lease_.load()) extend(id >> count_bits);
  return id;
}

void id_source::extend(uint64_t reached_ms) {
  std::lock_guard lk{mu_};
  if (!read_) {
    // A new run: past every id the one before could have given.
    auto got = db_.get(storage::cf::meta, lease_key);
    if (!got) throw std::runtime_error{"id lease: " + got.error().message};
    uint64_t stored = 0;
    if (*got) {
      const auto& v = **got;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), stored);
      if (ec != std::errc{} || end != v.data() + v.size())
        throw std::runtime_error{"id lease: the stored lease is not a number"};
    }
    auto floor = std::max<uint64_t>(stored, last_.load() >> count_bits);
    uint64_t prev = last_.load();
    while (!last_.compare_exchange_weak(prev,
                                        std::max(prev, floor << count_bits))) {}
    lease_ = floor;
    reached_ms = std::max(reached_ms, floor);
    read_ = true;
  }
  if (reached_ms < lease_.load()) return; // another call extended it
  auto until = reached_ms + static_cast<uint64_t>(lease_ms);
  storage::write_set w;
  w.put(storage::cf::meta, lease_key, std::to_string(until));
  if (auto ok = db_.write(w, true); !ok)
    throw std::runtime_error{"id lease: " + ok.error().message};
  lease_ = until;
}

} // namespace herald::api
