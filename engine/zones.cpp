#include "engine/zones.hpp"

#include <array>
#include <cstdint>
#include <exception>
#include <limits>

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

namespace {

/// A span of time over which a zone keeps one offset from UTC, as the zone
/// database gave it: a thread's last few, by zone. Every enrollment's
/// schedule asks for its zone's offset several times, and the database
/// searches the zone's transitions each time (4% of an import's CPU).
struct zone_span {
  const date::time_zone* zone = nullptr;
  time_point begin;
  time_point end;
  duration offset{};
};

constexpr size_t cached_spans = 16;
thread_local std::array<zone_span, cached_spans> spans;

zone_span& slot_of(const date::time_zone* zone) noexcept {
  return spans[(reinterpret_cast<uintptr_t>(zone) >> 4) % cached_spans];
}

// The span of `zone` that holds instant `t`, kept in its slot.
const zone_span& span_at(const date::time_zone* zone, time_point t) {
  auto& slot = slot_of(zone);
  if (slot.zone == zone && slot.begin <= t && t < slot.end) return slot;
  auto info = zone->get_info(t);
  // The database's first and last spans reach to the ends of its range of
  // times, which durations in milliseconds cannot all hold.
  constexpr auto lowest =
    time_point{duration{std::numeric_limits<int64_t>::min() / 2}};
  constexpr auto highest =
    time_point{duration{std::numeric_limits<int64_t>::max() / 2}};
  auto clamp = [&](date::sys_seconds x) {
    if (x <= date::floor<std::chrono::seconds>(lowest)) return lowest;
    if (x >= date::floor<std::chrono::seconds>(highest)) return highest;
    return time_point{x};
  };
  slot = {zone, clamp(info.begin), clamp(info.end), info.offset};
  return slot;
}

} // namespace

local_time to_local(time_point t, const date::time_zone* zone) {
  return local_time{t.time_since_epoch() + span_at(zone, t).offset};
}

time_point to_utc(local_time t, const date::time_zone* zone) {
  // A wall time a day or more inside a span's wall times is unique: no offset
  // change is a day long.
  const auto& slot = slot_of(zone);
  constexpr auto day = std::chrono::hours{24};
  if (slot.zone == zone) {
    auto at = time_point{t.time_since_epoch() - slot.offset};
    if (slot.begin + day <= at && at + day < slot.end) return at;
  }
  // `first` is the offset in force before the instant: for a unique wall time
  // the only one, for a repeated one the earlier occurrence's, and for one
  // skipped by a gap the offset before the gap, which lands as far past the gap
  // as the wall time was into it.
  auto info = zone->get_info(t);
  auto at = time_point{t.time_since_epoch() - info.first.offset};
  span_at(zone, at); // the next wall time near this one takes the fast way
  return at;
}

} // namespace herald
