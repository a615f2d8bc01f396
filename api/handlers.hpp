#pragma once

// What the service's handlers share: answers in API.md's shapes, the checks
// of JSON fields, times and dates in the API's formats, pages of lists, and
// the call a handler answers.

#include <charconv>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <boost/json.hpp>
#include <date/date.h>
#include <simdjson.h>

#include "api/service.hpp"
#include "engine/calendar.hpp"
#include "engine/ids.hpp"
#include "engine/time.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"

namespace herald::api {

namespace json = boost::json;

inline constexpr size_t max_name_bytes = 200;
inline constexpr size_t max_zone_bytes = 64;
inline constexpr size_t max_holidays = 366;
inline constexpr size_t default_limit = 100;
inline constexpr size_t max_limit = 1000;

struct service::call {
  const request& req;
  std::vector<std::string_view> params;
  std::string_view query;
  workspace_id ws;
};

// The error of a rejected field: its path and what is wrong.
struct field_error {
  std::string field;
  std::string message;
};

response answer(const request& req, http::status status, std::string body);

response answer(const request& req, http::status status,
                const json::value& body);

/// API.md's error shape: {"error": {"code", "message", "field"?}}.
response error(const request& req, http::status status, std::string_view code,
               std::string_view message, std::string_view field = {});

response invalid(const request& req, std::string_view field,
                 std::string_view message);

/// The value of `name` in a query string (nullopt when absent).
std::optional<std::string_view> query_param(std::string_view query,
                                            std::string_view name);

/// The body as a JSON object, or the answer saying why it is not one.
/// The Content-Type without its parameters ("application/json").
std::string_view media_type(const request& req);
std::variant<simdjson::dom::object, response> json_body(const request& req,
                                                        size_t max_bytes);

std::string format_day(date::local_days d);

std::string format_time(time_point t);

/// A string field of at most `max` bytes, not empty unless `may_be_empty`.
std::optional<std::string> string_field(simdjson::dom::element v, size_t max,
                                        bool may_be_empty, std::string& why);

/// Digits at [at, at + n) of `s` as a number; nullopt unless all are digits.
std::optional<int> digits(std::string_view s, size_t at, size_t n);

/// YYYY-MM-DD, a real date.
std::optional<date::local_days> parse_day(std::string_view s);

/// YYYY-MM-DDTHH:MM:SS[.fff]Z (RFC 3339 in UTC), to the millisecond.
std::optional<time_point> parse_time(std::string_view s);

/// A whole number in [lo, hi]; `why` says what is wrong otherwise.
std::optional<uint64_t> uint_field(simdjson::dom::element v, uint64_t lo,
                                   uint64_t hi, std::string& why);

/// "HH:MM", 00:00 to 23:59.
std::optional<std::chrono::minutes> parse_clock_time(std::string_view s);

std::string format_clock_time(std::chrono::minutes m);

response not_found(const request& req, std::string_view what);

response storage_failed(const request& req);

/// What an answer needs of `req` (its version and keep-alive), for answers
/// made after the request is gone.
request shell_of(const request& req);

/// Calls `item` with each element of the JSON array `v` (at `path`) and that
/// element's path (`path[i]`), stopping at the first error; more than `max`
/// elements is the error `too_many`, on `path`.
std::optional<field_error> each_item(
  simdjson::dom::element v, const std::string& path, size_t max,
  const std::string& too_many,
  const std::function<std::optional<field_error>(simdjson::dom::element,
                                                 const std::string&)>& item);

std::optional<field_error> read_dates(simdjson::dom::element v,
                                      const std::string& path,
                                      std::vector<date::local_days>& out);

/// A sending window {start, end}: "HH:MM" each, end also "24:00" (the end of
/// the day; 00:00-24:00 is open all day). Start and end may not be equal.
std::optional<field_error> read_window(simdjson::dom::element v,
                                       const std::string& path,
                                       local_window& out);

/// The window as read_window() reads it (all day: 00:00-24:00).
json::object window_json(const local_window& w);

/// The ?limit= of a list (default 100, at most 1000), or the answer saying
/// what is wrong with it.
std::variant<size_t, response> limit_of(const request& req,
                                        std::string_view query);

/// The page a list asks for (?limit=, ?cursor= an id of type Id), or the
/// answer saying what is wrong with it.
template<class Id>
std::variant<std::pair<size_t, Id>, response> page_of(const request& req,
                                                      std::string_view query) {
  auto limit = limit_of(req, query);
  if (auto* r = std::get_if<response>(&limit)) return std::move(*r);
  Id after;
  if (auto cur = query_param(query, "cursor")) {
    auto id = parse_id<Id>(*cur);
    if (!id) return invalid(req, "cursor", "cursor is not one this list gave");
    after = *id;
  }
  return std::pair{std::get<size_t>(limit), after};
}

/// Bytes as lowercase hex, and back (nullopt for text that is not hex).
std::string hex(std::string_view bytes);
std::optional<std::string> unhex(std::string_view text);

/// This thread's parser (a parsed document lives until its next parse).
simdjson::dom::parser& json_parser();

/// The enumerator a JSON string names; nullopt for anything else.
template<class E>
std::optional<E> enum_field(simdjson::dom::element v) {
  std::string_view text;
  if (v.get(text)) return std::nullopt;
  return parse_enum<E>(text);
}

/// A page of a list, {"items": [...], "next_cursor": id or null}:
/// `fetch(after, n)` gives up to n items with ids above `after`, `to_json`
/// writes one.
template<class Id, class Fetch, class ToJson>
response list_answer(const service::call& c, Fetch fetch, ToJson to_json) {
  auto page = page_of<Id>(c.req, c.query);
  if (auto* r = std::get_if<response>(&page)) return std::move(*r);
  auto [limit, after] = std::get<0>(page);
  auto items = fetch(after, limit + 1);
  bool more = items.size() > limit;
  if (more) items.pop_back();
  json::array out;
  for (const auto& x : items)
    out.emplace_back(to_json(x));
  json::value next = nullptr;
  if (more) next = to_string(items.back().id);
  return answer(
    c.req, http::status::ok,
    json::object{{"items", std::move(out)}, {"next_cursor", std::move(next)}});
}

/// The record of the caller's workspace that path parameter `i` names;
/// nullopt for text that is no such id, another workspace's, or none.
template<class T>
std::optional<T> find_named(const records<T>& r, const service::call& c,
                            size_t i = 0) {
  auto id = parse_id<typename records<T>::id_type>(c.params[i]);
  if (!id) return std::nullopt;
  return r.find(c.ws, *id);
}

/// A page of a workspace's records in one column family, in key order:
/// {"items", "next_cursor"}, the cursor being the last key in hex. `to_json`
/// writes a stored value, or nothing (nullopt) for one that does not decode.
template<class ToJson>
response key_list(const service::call& c, const storage::store& db,
                  storage::cf family, ToJson to_json) {
  auto limit = limit_of(c.req, c.query);
  if (auto* r = std::get_if<response>(&limit)) return std::move(*r);
  auto n = std::get<size_t>(limit);
  std::string begin = storage::key::workspace_prefix(c.ws);
  if (auto cur = query_param(c.query, "cursor")) {
    auto key = unhex(*cur);
    if (!key || !key->starts_with(begin))
      return invalid(c.req, "cursor", "cursor is not one this list gave");
    begin = *key + '\0';
  }
  json::array items;
  std::string last;
  bool more = false;
  auto read = db.scan(family, begin, storage::key::workspace_end(c.ws),
                      [&](std::string_view k, std::string_view v) {
                        if (items.size() == n) {
                          more = true;
                          return false;
                        }
                        if (std::optional<json::object> x = to_json(v)) {
                          items.emplace_back(std::move(*x));
                          last = std::string{k};
                        }
                        return true;
                      });
  if (!read) return storage_failed(c.req);
  json::value next = nullptr;
  if (more) next = hex(last);
  return answer(c.req, http::status::ok,
                json::object{{"items", std::move(items)},
                             {"next_cursor", std::move(next)}});
}

} // namespace herald::api
