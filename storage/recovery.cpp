#include "storage/recovery.hpp"

#include "storage/codec.hpp"
#include "storage/keys.hpp"

namespace herald::storage {

namespace {

storage_error bad_value(std::string_view what, std::string_view k) {
  return storage_error{errc::bad_value, std::string{what}, printable(k)};
}

// Runs a scan whose visitor may fail: the first failure stops it and is
// returned.
template<class Visit>
status scan_checked(const store& db, cf c, std::string_view begin,
                    Visit&& visit) {
  std::optional<storage_error> failure;
  auto st = db.scan(c, begin, {}, [&](std::string_view k, std::string_view v) {
    failure = visit(k, v);
    return !failure;
  });
  if (!st) return st;
  if (failure) return *failure;
  return done{};
}

} // namespace

void put_processed_event(write_set& w, workspace_id ws,
                         std::string_view event_id, time_point at) {
  w.put(cf::events, key::event(ws, event_id), encode_event_value(at));
}

status scan_enrollments(const store& db,
                        const std::function<void(const enrollment&)>& fn) {
  return scan_checked(db, cf::enrollments, {},
                      [&](std::string_view k,
                          std::string_view v) -> std::optional<storage_error> {
                        auto e = decode_enrollment(v);
                        if (!e) return bad_value(e.error().message, k);
                        fn(*e);
                        return std::nullopt;
                      });
}

status
scan_snapshots(const store& db,
               const std::function<void(const enrollment_snapshot&)>& fn) {
  return scan_checked(db, cf::enrollments, {},
                      [&](std::string_view k,
                          std::string_view v) -> std::optional<storage_error> {
                        auto s = decode_snapshot(v);
                        if (!s) return bad_value(s.error().message, k);
                        fn(*s);
                        return std::nullopt;
                      });
}

status scan_usage(const store& db, date::local_days since,
                  const std::function<void(const day_usage&)>& fn) {
  return scan_checked(
    db, cf::usage, {},
    [&](std::string_view k,
        std::string_view v) -> std::optional<storage_error> {
      auto parsed = key::parse_usage(k);
      if (!parsed) return bad_value("usage key of the wrong size", k);
      if (parsed->day < since) return std::nullopt;
      auto counters = decode_usage_counters(v);
      if (!counters) return bad_value(counters.error().message, k);
      fn(day_usage{parsed->ws, parsed->account, parsed->day, *counters});
      return std::nullopt;
    });
}

status
scan_processed_events(const store& db, time_point since,
                      const std::function<void(const processed_event&)>& fn) {
  return scan_checked(
    db, cf::events, {},
    [&](std::string_view k,
        std::string_view v) -> std::optional<storage_error> {
      auto parsed = key::parse_event(k);
      auto at = decode_event_value(v);
      if (!parsed || !at)
        return bad_value(at ? "event key too short" : at.error().message, k);
      if (*at >= since)
        fn(processed_event{parsed->ws, std::string{parsed->event_id}, *at});
      return std::nullopt;
    });
}

expected<uint64_t> purge_processed_events(store& db, time_point before) {
  write_set w;
  uint64_t purged = 0;
  auto st =
    scan_checked(db, cf::events, {},
                 [&](std::string_view k,
                     std::string_view v) -> std::optional<storage_error> {
                   auto at = decode_event_value(v);
                   if (!at) return bad_value(at.error().message, k);
                   if (*at < before) {
                     w.erase(cf::events, k);
                     ++purged;
                   }
                   return std::nullopt;
                 });
  if (!st) return st.error();
  if (!w.empty())
    if (auto ok = db.write(w, false); !ok) return ok.error();
  return purged;
}

} // namespace herald::storage
