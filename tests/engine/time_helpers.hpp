#pragma once

#include <string_view>

#include <date/date.h>
#include <date/tz.h>

#include "engine/time.hpp"
#include "engine/zones.hpp"

namespace herald::test {

/// The UTC instant y-m-d h:mi.
inline time_point utc(int y, unsigned m, unsigned d, int h = 0, int mi = 0) {
  return time_point{
           date::sys_days{date::year{y} / date::month{m} / date::day{d}}} +
         std::chrono::hours{h} + std::chrono::minutes{mi};
}

inline date::local_days day(int y, unsigned m, unsigned d) {
  return date::local_days{date::year{y} / date::month{m} / date::day{d}};
}

/// Wall-clock time y-m-d h:mi (in no zone yet).
inline local_time wall(int y, unsigned m, unsigned d, int h = 0, int mi = 0) {
  return local_time{day(y, m, d)} + std::chrono::hours{h} +
         std::chrono::minutes{mi};
}

/// A zone that must exist (tzdata is a dependency).
inline const date::time_zone* zone(std::string_view name) {
  return date::locate_zone(name);
}

inline std::chrono::minutes hm(int h, int mi = 0) {
  return std::chrono::hours{h} + std::chrono::minutes{mi};
}

} // namespace herald::test
