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

/// An armed timer as the due index keeps it.
struct due_entry {
  workspace_id ws;
  enrollment_id id;
  time_point due;
  uint32_t generation = 0;
};

/// Adds the due index entry `e` to `w` (written with the enrollment's
/// snapshot).
void put_due(write_set& w, const due_entry& e);
/// Removes the due index entry of `id` armed at `due` (superseded or fired).
void erase_due(write_set& w, workspace_id ws, time_point due, enrollment_id id);

/// Records `event_id` as processed at `at`, for de-duplication.
void put_processed_event(write_set& w, workspace_id ws,
                         std::string_view event_id, time_point at);

// -- the scans a restart rebuilds from
// ------------------------------------------------------ Each calls `fn` in key
// order and fails, naming the key, on a value that does not decode or a broken
// iteration: a corrupt value is reported, never a crash.

/// Every armed timer (by workspace, then due time): the timing wheels are
/// rebuilt from these.
status scan_due(const store& db,
                const std::function<void(const due_entry&)>& fn);

struct open_intent {
  workspace_id ws;
  send_intent intent;
};

/// Every send intent without an outcome (recording an outcome removes its
/// intent): each must be resolved through the provider's idempotency or marked
/// uncertain, never resent blindly.
status scan_open_intents(const store& db,
                         const std::function<void(const open_intent&)>& fn);

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
