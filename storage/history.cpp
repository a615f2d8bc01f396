#include "storage/history.hpp"

#include <algorithm>
#include <functional>
#include <optional>
#include <tuple>

#include "storage/codec.hpp"
#include "storage/keys.hpp"

namespace herald::storage {

namespace {

// Calls fn for each line of `lead` in cf::history, oldest first; fails on one
// that does not decode.
status scan_spilled(const store& db, workspace_id ws, lead_id lead,
                    const std::function<void(const history_entry&)>& fn) {
  std::optional<storage_error> failure;
  auto scanned =
    db.scan_prefix(cf::history, key::history_prefix(ws, lead),
                   [&](std::string_view k, std::string_view v) {
                     auto line = decode_history_entry(v);
                     if (!line) {
                       failure = storage_error{
                         errc::bad_value, line.error().message, printable(k)};
                       return false;
                     }
                     fn(*line);
                     return true;
                   });
  if (!scanned) return scanned.error();
  if (failure) return *failure;
  return done{};
}

} // namespace

expected<std::vector<history_entry>> read_spilled_history(const store& db,
                                                          workspace_id ws,
                                                          lead_id lead,
                                                          enrollment_id id) {
  std::vector<history_entry> lines;
  auto scanned = scan_spilled(db, ws, lead, [&](const history_entry& line) {
    if (line.enrollment == id) lines.push_back(line);
  });
  if (!scanned) return scanned.error();
  return lines;
}

expected<std::vector<enrollment_id>>
read_lead_enrollments(const store& db, workspace_id ws, lead_id lead) {
  auto k = key::lead_enrollments(ws, lead);
  auto got = db.get(cf::leads, k);
  if (!got) return got.error();
  if (!got->has_value()) return std::vector<enrollment_id>{};
  auto ids = key::parse_lead_enrollments(**got);
  if (!ids)
    return storage_error{errc::bad_value, "not a lead's enrollment ids",
                         printable(k)};
  return std::move(*ids);
}

expected<std::vector<history_entry>>
read_lead_history(const store& db, workspace_id ws, lead_id lead) {
  std::vector<history_entry> lines;
  std::optional<storage_error> failure;
  auto fail = [&](std::string_view what, std::string_view k) {
    failure = storage_error{errc::bad_value, std::string{what}, printable(k)};
    return false;
  };
  auto ids = read_lead_enrollments(db, ws, lead);
  if (!ids) return ids.error();
  for (auto id : *ids) {
    auto k = key::enrollment(ws, id);
    auto got = db.get(cf::enrollments, k);
    if (!got) return got.error();
    if (!got->has_value()) continue; // indexed before its first snapshot
    auto snapshot = decode_snapshot(**got);
    if (!snapshot) {
      fail(snapshot.error().message, k);
      return *failure;
    }
    lines.insert(lines.end(), snapshot->history.begin(),
                 snapshot->history.end());
  }
  auto scanned = scan_spilled(
    db, ws, lead, [&](const history_entry& line) { lines.push_back(line); });
  if (!scanned) return scanned.error();
  std::stable_sort(lines.begin(), lines.end(),
                   [](const history_entry& a, const history_entry& b) {
                     return std::tie(a.at, a.enrollment.value, a.step) <
                            std::tie(b.at, b.enrollment.value, b.step);
                   });
  return lines;
}

} // namespace herald::storage
