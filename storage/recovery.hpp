#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <date/date.h>

#include "storage/error.hpp"
#include "storage/records.hpp"
#include "storage/store.hpp"
#include "storage/write_set.hpp"

namespace herald::storage {

// -- writing what recovery reads
// ----------------------------------------------------------

/// Records `event_id` as processed at `at`, for de-duplication.
void put_processed_event(write_set& w, workspace_id ws,
                         std::string_view event_id, time_point at);

// -- the scans a restart rebuilds from
// ------------------------------------------------------ Each calls `fn` in key
// order and fails, naming the key, on a value that does not decode or a broken
// iteration: a corrupt value is reported, never a crash.

/// Every enrollment snapshot (by workspace, then id). A snapshot is an
/// enrollment's one durable record: the timing wheels are rebuilt from the
/// snapshots' due times (those is_armed says are armed), and the open send
/// intents are the snapshots has_open_intent says hold one.
status scan_enrollments(const store& db,
                        const std::function<void(const enrollment&)>& fn);
/// As scan_enrollments, with the history lines each snapshot carries.
status
scan_snapshots(const store& db,
               const std::function<void(const enrollment_snapshot&)>& fn);

/// Whether the snapshot is an open send intent: granted a slot (the provider
/// may be about to be called) or sending (it may have been). Its position,
/// attempt and bound sender for that step's channel say which call. Recovery
/// resolves it through the provider's idempotency or marks the step uncertain,
/// never resends blindly.
inline bool has_open_intent(const enrollment& e) {
  return e.phase == enrollment_phase::granted ||
         e.phase == enrollment_phase::sending;
}

/// Whether the snapshot has a timer to re-arm at `due` with `generation`:
/// waiting for its step or for an invite's acceptance, active and not paused
/// (a paused enrollment is re-armed on resume). Generation 0 was never armed:
/// the engine bumps the generation with every timer, and leaves `due` unset
/// until the first.
inline bool is_armed(const enrollment& e) {
  return (e.phase == enrollment_phase::waiting ||
          e.phase == enrollment_phase::waiting_invite) &&
         !e.paused && e.state == enrollment_state::active && e.generation != 0;
}

struct day_usage {
  workspace_id ws;
  account_id account;
  date::local_days day;
  usage_counters counters;
};

/// Usage counters of local days `since` and later (a week back covers the
/// rolling invite cap).
status scan_usage(const store& db, date::local_days since,
                  const std::function<void(const day_usage&)>& fn);

struct processed_event {
  workspace_id ws;
  std::string event_id;
  time_point received_at;
};

/// Event ids processed at `since` or later (the de-duplication window).
status
scan_processed_events(const store& db, time_point since,
                      const std::function<void(const processed_event&)>& fn);

/// Removes processed event ids received before `before`; returns how many went.
expected<uint64_t> purge_processed_events(store& db, time_point before);

} // namespace herald::storage
