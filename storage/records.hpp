#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/enrollment_machine.hpp"
#include "engine/ids.hpp"
#include "engine/model.hpp"
#include "engine/time.hpp"

namespace herald::storage {

/// One line of a lead's outreach history (what the state machine records).
struct history_entry {
  enrollment_id enrollment;
  uint16_t step = 0;
  history_event what = history_event::sent;
  history_reason why = history_reason::none;
  account_id account; // invalid when no account was involved
  time_point at{};
};

/// An enrollment's durable record: its state, and its history so far (oldest
/// first). The history rides in the snapshot each outcome writes anyway, so a
/// step's line costs no write of its own; lines past
/// `snapshot_history_limit` (repeated deferrals, auto-replies) go to
/// cf::history instead, and a lead's history is both (read_lead_history).
struct enrollment_snapshot {
  enrollment e;
  std::vector<history_entry> history;
};

/// The most history lines a snapshot carries.
inline constexpr size_t snapshot_history_limit = 32;

/// A reply kept for the unified inbox.
struct inbox_entry {
  lead_id lead;
  sequence_id sequence;
  uint16_t step = 0;
  account_id account;
  channel via = channel::email;
  std::string text;
  time_point received_at{};
};

/// A do-not-contact entry: an email address or a whole domain.
struct do_not_contact {
  std::string value; // lowercase email or domain
  bool domain = false;
  time_point added_at{};
};

/// An account's use of its budgets on one local day (given back grants
/// excluded).
struct usage_counters {
  uint32_t emails = 0;
  uint32_t invites = 0;
  uint32_t messages = 0;
};

/// A workspace key, stored only as its hash.
struct api_key {
  key_id id;
  workspace_id workspace;
  std::string hash; // BLAKE2b of the key, raw bytes
  time_point created_at{};
};

} // namespace herald::storage
