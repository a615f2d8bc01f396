#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>

#include "engine/model.hpp"
#include "engine/time.hpp"

namespace herald {

/// An enrollment waiting for a slot from an account.
struct slot_request {
  uint64_t enrollment = 0;
  step_channel kind = step_channel::email;
  /// A step after the first: goes before every first step.
  bool follow_up = false;
  time_point due{};

  friend bool operator==(const slot_request&, const slot_request&) = default;
};

/// The requests waiting for one of an account's budgets (one queue per step
/// channel, so a capped invite budget never holds up messages). Served
/// follow-ups first (a lead already in conversation before a new one, when a
/// day's budget is short), then by due time, then by enrollment id; at most one
/// request per enrollment. O(log n) per operation.
class slot_queue {
 public:
  /// Queues `r`, replacing the enrollment's earlier request if any.
  void push(const slot_request& r) {
    remove(r.enrollment);
    auto k = key_of(r);
    ordered_.insert(k);
    by_enrollment_.emplace(r.enrollment, r);
  }

  /// Drops the enrollment's request; false when it had none.
  bool remove(uint64_t enrollment) {
    auto it = by_enrollment_.find(enrollment);
    if (it == by_enrollment_.end()) return false;
    ordered_.erase(key_of(it->second));
    by_enrollment_.erase(it);
    return true;
  }

  /// The request to serve next, or nullptr when empty.
  const slot_request* front() const {
    if (ordered_.empty()) return nullptr;
    return &by_enrollment_.at(std::get<2>(*ordered_.begin()));
  }

  std::optional<slot_request> pop() {
    if (ordered_.empty()) return std::nullopt;
    auto r = by_enrollment_.at(std::get<2>(*ordered_.begin()));
    remove(r.enrollment);
    return r;
  }

  size_t size() const noexcept { return ordered_.size(); }
  bool empty() const noexcept { return ordered_.empty(); }

 private:
  // (first step?, due, enrollment): follow-ups sort first.
  using key = std::tuple<bool, time_point, uint64_t>;

  static key key_of(const slot_request& r) {
    return {!r.follow_up, r.due, r.enrollment};
  }

  std::set<key> ordered_;
  std::unordered_map<uint64_t, slot_request> by_enrollment_;
};

} // namespace herald
