#pragma once

#include <vector>

#include "storage/error.hpp"
#include "storage/records.hpp"
#include "storage/store.hpp"

namespace herald::storage {

/// The ids of a lead's enrollments, in the order it was enrolled (its
/// key::lead_enrollments entry; none when it has none). Fails, naming the key,
/// on an entry that does not decode.
expected<std::vector<enrollment_id>>
read_lead_enrollments(const store& db, workspace_id ws, lead_id lead);

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
