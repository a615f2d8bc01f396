#include "engine/zones.hpp"

#include <exception>

namespace herald {

const date::time_zone* find_zone(std::string_view name) noexcept {
  if (name.empty()) return nullptr;
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

zone_choice resolve_zone(std::string_view lead_zone,
                         std::string_view workspace_zone) {
  if (auto z = find_zone(lead_zone)) return {z, {}};
  std::string reason;
  if (lead_zone.empty())
    reason = "lead has no time zone";
  else
    reason = "unknown time zone '" + std::string{lead_zone} + "'";
  if (auto z = find_zone(workspace_zone))
    return {z, reason + "; using the workspace's (" +
                 std::string{workspace_zone} + ")"};
  reason += "; workspace time zone '" + std::string{workspace_zone} +
            "' unknown too; using UTC";
  // The zone database itself missing is a broken installation, not an expected
  // outcome: locate_zone throws then.
  return {date::locate_zone("UTC"), reason};
}

local_time to_local(time_point t, const date::time_zone* zone) {
  return zone->to_local(t);
}

time_point to_utc(local_time t, const date::time_zone* zone) {
  // `first` is the offset in force before the instant: for a unique wall time
  // the only one, for a repeated one the earlier occurrence's, and for one
  // skipped by a gap the offset before the gap, which lands as far past the gap
  // as the wall time was into it.
  auto info = zone->get_info(t);
  return time_point{t.time_since_epoch() - info.first.offset};
}

} // namespace herald
