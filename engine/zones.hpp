#pragma once

#include <string>
#include <string_view>

#include <date/tz.h>

#include "engine/time.hpp"

namespace herald {

using local_time = date::local_time<duration>;

/// The zone a lead's steps are scheduled in.
struct zone_choice {
  /// Never null.
  const date::time_zone* zone;
  /// Empty when the requested zone was used; otherwise why it was not.
  std::string fallback_reason;
};

/// Looks up an IANA zone name in the system database. Returns nullptr when the
/// name is empty or unknown (or the database is missing); never throws.
const date::time_zone* find_zone(std::string_view name) noexcept;

/// The lead's zone when it names a known zone, else the workspace's, else UTC,
/// with the reason for any fallback ("unknown time zone 'Mars/Olympus'; using
/// the workspace's").
zone_choice resolve_zone(std::string_view lead_zone,
                         std::string_view workspace_zone);

/// Wall-clock time in `zone` at instant `t`.
local_time to_local(time_point t, const date::time_zone* zone);

/// The instant of wall-clock time `t` in `zone`. DST rules: a wall time skipped
/// by a spring-forward gap maps to the same distance past the gap (02:30 in a
/// 02:00->03:00 gap is 03:30 after the change); a wall time repeated by a
/// fall-back maps to its first occurrence.
time_point to_utc(local_time t, const date::time_zone* zone);

} // namespace herald
