#pragma once

#include <vector>

#include "storage/error.hpp"
#include "storage/records.hpp"
#include "storage/store.hpp"

namespace herald::storage {

/// A lead's whole outreach history, ordered by time (then enrollment, step):
/// the lines its enrollments' snapshots carry, found through the lead's index
/// entries, and those that went to cf::history past a snapshot's limit. Fails,
/// naming the key, on a record that does not decode.
expected<std::vector<history_entry>>
read_lead_history(const store& db, workspace_id ws, lead_id lead);

/// The lines of enrollment `id` (of `lead`) that went to cf::history past its
/// snapshot's limit, oldest first.
expected<std::vector<history_entry>> read_spilled_history(const store& db,
                                                          workspace_id ws,
                                                          lead_id lead,
                                                          enrollment_id id);

} // namespace herald::storage
