#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model.hpp"
#include "engine/time.hpp"

namespace herald {

/// A blocking finding stops the launch; a warning only says what will hurt.
enum class severity : uint8_t { blocking, warning };

template<>
struct enum_names<severity> {
  static constexpr std::array<std::string_view, 2> values{"blocking",
                                                          "warning"};
};

/// One thing that would block or hurt the launch of a sequence.
struct finding {
  severity level = severity::warning;
  /// Stable machine name ("step_not_approved", "lead_missing_email").
  std::string code;
  /// For a person, naming steps from 1.
  std::string message;
  /// How many: leads for per-lead gaps and windows_never_overlap, accounts for
  /// sender states, steps for no_active_sender, days for warmup_capacity_low,
  /// else 1.
  uint64_t count = 0;
  /// The step concerned (0-based, as in JSON paths); nullopt when the finding
  /// is about the whole sequence.
  std::optional<size_t> step_index;
};

/// The review before launch: ready when no finding is blocking.
struct readiness_report {
  bool ready = true;
  /// Blocking findings first, then warnings; within each, the steps' findings
  /// in step order, then the sequence-wide ones.
  std::vector<finding> findings;
};

/// Reviews `seq` before launch. `accounts` are the workspace's accounts (an id
/// in the sequence's pools not among them, or of the other channel, counts as
/// not active); `leads` those enrolled or about to be. Blocking: no steps, an
/// unapproved step, an empty body, a template that does not parse, an invite
/// note over 300 characters, a channel in use with no active sender, windows
/// that never overlap (calendar mode). Warnings, with counts: leads missing
/// template fields, an email or a LinkedIn URL, invite notes over the limit
/// once rendered, paused or revoked senders, a first step that takes more than
/// a day to reach every lead.
readiness_report check_readiness(const sequence& seq, const workspace& ws,
                                 const std::vector<sender_account>& accounts,
                                 const std::vector<lead>& leads,
                                 time_point now);

/// The longest warm-up estimate readiness computes: a first step that needs
/// more takes "more than" this many days, counted as this + 1.
inline constexpr uint32_t capacity_horizon_days = 3650;

} // namespace herald
