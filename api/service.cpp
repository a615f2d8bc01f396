#include "api/service.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

#include <boost/json.hpp>
#include <date/date.h>
#include <simdjson.h>

#include "actors/runtime.hpp"
#include "engine/readiness.hpp"
#include "engine/templates.hpp"
#include "engine/zones.hpp"

namespace herald::api {

namespace json = boost::json;

namespace {

enum class auth_kind : uint8_t { none, admin, workspace };

constexpr size_t max_name_bytes = 200;
constexpr size_t max_zone_bytes = 64;
constexpr size_t max_holidays = 366;
constexpr size_t default_limit = 100;
constexpr size_t max_limit = 1000;
// POST /v1/admin/clock moves at most ten years at once.
constexpr int64_t max_advance_s = int64_t{10} * 366 * 86400;

response answer(const request& req, http::status status, std::string body) {
  response res{status, req.version()};
  res.set(http::field::server, "herald");
  res.keep_alive(req.keep_alive());
  if (!body.empty()) res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

response answer(const request& req, http::status status,
                const json::value& body) {
  return answer(req, status, json::serialize(body));
}

// API.md's error shape: {"error": {"code", "message", "field"?}}.
response error(const request& req, http::status status, std::string_view code,
               std::string_view message, std::string_view field = {}) {
  json::object e{{"code", code}, {"message", message}};
  if (!field.empty()) e["field"] = field;
  return answer(req, status, json::object{{"error", std::move(e)}});
}

response invalid(const request& req, std::string_view field,
                 std::string_view message) {
  return error(req, http::status::bad_request, "invalid_field", message, field);
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

// The value of `name` in a query string (nullopt when absent).
std::optional<std::string_view> query_param(std::string_view query,
                                            std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto part = query.substr(0, amp);
    auto eq = part.find('=');
    if (part.substr(0, eq) == name)
      return eq == std::string_view::npos ? std::string_view{}
                                          : part.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::string_view bearer(const request& req) {
  auto h = req[http::field::authorization];
  std::string_view v{h.data(), h.size()};
  constexpr std::string_view scheme = "Bearer ";
  if (!v.starts_with(scheme)) return {};
  return v.substr(scheme.size());
}

simdjson::dom::parser& json_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

// The body as a JSON object, or the answer saying why it is not one.
std::variant<simdjson::dom::object, response> json_body(const request& req,
                                                        size_t max_bytes) {
  auto type = req[http::field::content_type];
  std::string_view t{type.data(), type.size()};
  auto semi = t.find(';');
  auto media = t.substr(0, semi);
  while (!media.empty() && media.back() == ' ')
    media.remove_suffix(1);
  if (media != "application/json")
    return error(req, http::status::unsupported_media_type,
                 "unsupported_media_type", "the body must be application/json");
  if (req.body().size() > max_bytes)
    return error(req, http::status::payload_too_large, "body_too_large",
                 "the body is larger than " + std::to_string(max_bytes) +
                   " bytes");
  simdjson::dom::element doc;
  if (auto e = json_parser().parse(req.body()).get(doc); e)
    return error(req, http::status::bad_request, "invalid_json",
                 std::string{"the body is not valid JSON: "} +
                   simdjson::error_message(e));
  simdjson::dom::object obj;
  if (doc.get(obj))
    return error(req, http::status::bad_request, "invalid_json",
                 "the body must be a JSON object");
  return obj;
}

std::string format_day(date::local_days d) { return date::format("%F", d); }

std::string format_time(time_point t) { return date::format("%FT%TZ", t); }

json::object workspace_json(const workspace& w) {
  json::array holidays;
  for (auto d : w.holidays)
    holidays.emplace_back(format_day(d));
  return json::object{{"id", to_string(w.id)},
                      {"name", w.name},
                      {"timezone", w.timezone},
                      {"holidays", std::move(holidays)}};
}

// A string field of at most `max` bytes, not empty unless `may_be_empty`.
std::optional<std::string> string_field(simdjson::dom::element v, size_t max,
                                        bool may_be_empty, std::string& why) {
  std::string_view s;
  if (v.get(s)) {
    why = "must be a string";
    return std::nullopt;
  }
  if (s.empty() && !may_be_empty) {
    why = "must not be empty";
    return std::nullopt;
  }
  if (s.size() > max) {
    why = "must be at most " + std::to_string(max) + " bytes";
    return std::nullopt;
  }
  return std::string{s};
}

// Digits at [at, at + n) of `s` as a number; nullopt unless all are digits.
std::optional<int> digits(std::string_view s, size_t at, size_t n) {
  if (at + n > s.size()) return std::nullopt;
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// YYYY-MM-DD, a real date.
std::optional<date::local_days> parse_day(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto y = digits(s, 0, 4), m = digits(s, 5, 2), d = digits(s, 8, 2);
  if (!y || !m || !d) return std::nullopt;
  date::year_month_day ymd{date::year{*y},
                           date::month{static_cast<unsigned>(*m)},
                           date::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  return date::local_days{ymd};
}

// YYYY-MM-DDTHH:MM:SS[.fff]Z (RFC 3339 in UTC), to the millisecond.
std::optional<time_point> parse_time(std::string_view s) {
  if (s.size() < 20 || s.back() != 'Z' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':')
    return std::nullopt;
  auto day = parse_day(s.substr(0, 10));
  auto h = digits(s, 11, 2), mi = digits(s, 14, 2), sec = digits(s, 17, 2);
  if (!day || !h || !mi || !sec || *h > 23 || *mi > 59 || *sec > 59)
    return std::nullopt;
  int ms = 0;
  auto rest = s.substr(19, s.size() - 20);
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() < 2 || rest.size() > 10)
      return std::nullopt;
    auto frac = digits(rest, 1, std::min<size_t>(3, rest.size() - 1));
    if (!frac || !digits(rest, 1, rest.size() - 1)) return std::nullopt;
    ms = *frac;
    for (size_t n = rest.size() - 1; n < 3; ++n)
      ms *= 10;
  }
  return time_point{date::sys_days{day->time_since_epoch()}} +
         std::chrono::hours{*h} + std::chrono::minutes{*mi} +
         std::chrono::seconds{*sec} + std::chrono::milliseconds{ms};
}

const char* server_error_message = "storage failed; nothing was changed";

} // namespace

struct service::call {
  const request& req;
  std::vector<std::string_view> params;
  std::string_view query;
  workspace_id ws;
};

struct service::route {
  http::verb method;
  std::string pattern;
  auth_kind auth;
  /// Empty: not built yet (501).
  std::function<response(service&, const call&)> handler;
  std::vector<std::string> segments;
};

service::service(service_options options, service_links links)
  : options_(std::move(options)), registry_(links.registry),
    senders_(links.senders), campaigns_(links.campaigns), engine_(links.engine),
    time_(links.time), manual_(links.manual),
    clock_moved_(std::move(links.clock_moved)) {
  using v = http::verb;
  auto add =
    [this](v method, std::string pattern, auth_kind auth,
           std::function<response(service&, const call&)> handler = {}) {
      std::vector<std::string> segments;
      for (auto s : split_path(pattern))
        segments.emplace_back(s);
      routes_.push_back(route{method, std::move(pattern), auth,
                              std::move(handler), std::move(segments)});
    };
  // Operations.
  add(v::get, "/healthz", auth_kind::none, [](service&, const call& c) {
    return answer(c.req, http::status::ok, json::object{{"alive", true}});
  });
  add(v::get, "/readyz", auth_kind::none, [](service& s, const call& c) {
    bool ready = s.ready_.load();
    return answer(c.req,
                  ready ? http::status::ok : http::status::service_unavailable,
                  json::object{{"ready", ready}});
  });
  add(v::get, "/metrics", auth_kind::none);
  // Admin.
  add(v::post, "/v1/workspaces", auth_kind::admin, &service::create_workspace);
  add(v::get, "/v1/workspaces", auth_kind::admin, &service::list_workspaces);
  add(v::get, "/v1/workspaces/{}", auth_kind::admin, &service::get_workspace);
  add(v::post, "/v1/workspaces/{}/keys", auth_kind::admin, &service::add_key);
  add(v::delete_, "/v1/workspaces/{}/keys/{}", auth_kind::admin,
      &service::revoke_key);
  add(v::post, "/v1/admin/clock", auth_kind::admin, &service::move_clock);
  // A workspace's own.
  add(v::post, "/v1/accounts", auth_kind::workspace, &service::create_account);
  add(v::get, "/v1/accounts", auth_kind::workspace, &service::list_accounts);
  add(v::get, "/v1/accounts/{}", auth_kind::workspace, &service::get_account);
  add(v::patch, "/v1/accounts/{}", auth_kind::workspace,
      &service::patch_account);
  for (auto [name, event] :
       std::initializer_list<std::pair<const char*, actors::account_event>>{
         {"pause", actors::account_event::pause},
         {"resume", actors::account_event::resume},
         {"revoke", actors::account_event::revoke}})
    add(v::post, std::string{"/v1/accounts/{}/"} + name, auth_kind::workspace,
        [event](service& s, const call& c) {
          return s.control_account(c, static_cast<int>(event));
        });
  add(v::post, "/v1/sequences", auth_kind::workspace,
      &service::create_sequence);
  add(v::get, "/v1/sequences", auth_kind::workspace, &service::list_sequences);
  add(v::get, "/v1/sequences/{}", auth_kind::workspace, &service::get_sequence);
  add(v::patch, "/v1/sequences/{}", auth_kind::workspace,
      &service::patch_sequence);
  add(v::post, "/v1/sequences/{}/steps/{}/approve", auth_kind::workspace,
      &service::approve_step);
  add(v::get, "/v1/sequences/{}/readiness", auth_kind::workspace,
      &service::sequence_readiness);
  add(v::post, "/v1/sequences/{}/launch", auth_kind::workspace,
      &service::launch_sequence);
  add(
    v::post, "/v1/sequences/{}/pause", auth_kind::workspace,
    [](service& s, const call& c) { return s.set_sequence_status(c, false); });
  add(v::post, "/v1/sequences/{}/resume", auth_kind::workspace,
      [](service& s, const call& c) { return s.set_sequence_status(c, true); });
  // Not built yet.
  for (auto [method, pattern] :
       std::initializer_list<std::pair<v, const char*>>{
         {v::get, "/v1/sequences/{}/preview"},
         {v::post, "/v1/sequences/{}/leads"},
         {v::get, "/v1/sequences/{}/leads"},
         {v::get, "/v1/sequences/{}/stats"},
         {v::get, "/v1/leads/{}"},
         {v::post, "/v1/events"},
         {v::get, "/v1/inbox"},
         {v::get, "/v1/unsubscribes"},
         {v::post, "/v1/unsubscribes"},
       })
    add(method, pattern, auth_kind::workspace);
}

service::~service() = default;

response service::handle(const request& req) {
  auto target = req.target();
  std::string_view t{target.data(), target.size()};
  auto q = t.find('?');
  auto path = t.substr(0, q);
  auto query =
    q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
  auto segments = split_path(path);
  const route* found = nullptr;
  std::vector<std::string_view> params;
  std::string allowed;
  for (const auto& r : routes_) {
    if (r.segments.size() != segments.size()) continue;
    std::vector<std::string_view> ps;
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      if (r.segments[i] == "{}")
        ps.push_back(segments[i]);
      else
        match = r.segments[i] == segments[i];
    }
    if (!match) continue;
    if (r.method == req.method()) {
      found = &r;
      params = std::move(ps);
      break;
    }
    if (!allowed.empty()) allowed += ", ";
    allowed += std::string{http::to_string(r.method)};
  }
  if (found == nullptr) {
    if (allowed.empty())
      return error(req, http::status::not_found, "not_found",
                   "no such path: " + std::string{path});
    auto res =
      error(req, http::status::method_not_allowed, "method_not_allowed",
            std::string{req.method_string()} + " is not allowed on " +
              std::string{path} + " (allowed: " + allowed + ")");
    res.set(http::field::allow, allowed);
    return res;
  }
  call c{req, std::move(params), query, {}};
  if (found->auth != auth_kind::none) {
    auto token = bearer(req);
    bool ok = false;
    if (found->auth == auth_kind::admin) {
      ok = !token.empty() && same_secret(token, options_.admin_token);
    } else if (auto ws = registry_.authenticate(token)) {
      c.ws = *ws;
      ok = true;
    }
    if (!ok) {
      auto res = error(req, http::status::unauthorized, "unauthorized",
                       found->auth == auth_kind::admin
                         ? "this route needs the admin token as a Bearer token"
                         : "this route needs a workspace key as a Bearer "
                           "token");
      res.set(http::field::www_authenticate, "Bearer");
      return res;
    }
  }
  if (!found->handler)
    return error(req, http::status::not_implemented, "not_implemented",
                 std::string{http::to_string(found->method)} + " " +
                   found->pattern +
                   " is not built yet in this version of herald");
  return found->handler(*this, c);
}

response service::create_workspace(const call& c) {
  auto body = json_body(c.req, options_.max_body_bytes);
  if (auto* r = std::get_if<response>(&body)) return std::move(*r);
  auto obj = std::get<simdjson::dom::object>(body);
  workspace w;
  bool has_name = false, has_zone = false;
  std::string why;
  for (auto field : obj) {
    std::string_view key = field.key;
    if (key == "name") {
      auto v = string_field(field.value, max_name_bytes, false, why);
      if (!v) return invalid(c.req, "name", "name " + why);
      w.name = std::move(*v);
      has_name = true;
    } else if (key == "timezone") {
      auto v = string_field(field.value, max_zone_bytes, false, why);
      if (!v) return invalid(c.req, "timezone", "timezone " + why);
      if (find_zone(*v) == nullptr)
        return invalid(c.req, "timezone",
                       "unknown time zone '" + *v +
                         "' (an IANA name such as Europe/Berlin)");
      w.timezone = std::move(*v);
      has_zone = true;
    } else if (key == "holidays") {
      simdjson::dom::array days;
      if (field.value.get(days))
        return invalid(c.req, "holidays", "holidays must be an array");
      size_t i = 0;
      for (auto d : days) {
        auto path = "holidays[" + std::to_string(i++) + "]";
        if (i > max_holidays)
          return invalid(c.req, "holidays",
                         "at most " + std::to_string(max_holidays) +
                           " holidays");
        std::string_view s;
        std::optional<date::local_days> day;
        if (!d.get(s)) day = parse_day(s);
        if (!day)
          return invalid(c.req, path, path + " must be a date (YYYY-MM-DD)");
        w.holidays.push_back(*day);
      }
    } else {
      return invalid(c.req, key, "unknown field '" + std::string{key} + "'");
    }
  }
  if (!has_name) return invalid(c.req, "name", "name is required");
  if (!has_zone) return invalid(c.req, "timezone", "timezone is required");
  auto made = registry_.create(std::move(w));
  if (!made)
    return error(c.req, http::status::internal_server_error, "storage_error",
                 server_error_message);
  auto out = workspace_json(made->first);
  out["api_key"] = made->second.secret;
  out["key_id"] = to_string(made->second.id);
  return answer(c.req, http::status::created, out);
}

response service::list_workspaces(const call& c) {
  size_t limit = default_limit;
  if (auto l = query_param(c.query, "limit")) {
    size_t v = 0;
    auto [end, ec] = std::from_chars(l->data(), l->data() + l->size(), v);
    if (ec != std::errc{} || end != l->data() + l->size() || v < 1 ||
        v > max_limit)
      return invalid(c.req, "limit",
                     "limit must be an integer from 1 to " +
                       std::to_string(max_limit));
    limit = v;
  }
  workspace_id after;
  if (auto cur = query_param(c.query, "cursor")) {
    auto id = parse_id<workspace_id>(*cur);
    if (!id)
      return invalid(c.req, "cursor", "cursor is not one this list gave");
    after = *id;
  }
  auto page = registry_.list(after, limit + 1);
  bool more = page.size() > limit;
  if (more) page.pop_back();
  json::array items;
  for (const auto& w : page)
    items.emplace_back(workspace_json(w));
  json::value next = nullptr;
  if (more) next = to_string(page.back().id);
  return answer(c.req, http::status::ok,
                json::object{{"items", std::move(items)},
                             {"next_cursor", std::move(next)}});
}

response service::get_workspace(const call& c) {
  auto id = parse_id<workspace_id>(c.params[0]);
  std::optional<workspace> w;
  if (id) w = registry_.find(*id);
  if (!w)
    return error(c.req, http::status::not_found, "not_found",
                 "no such workspace");
  return answer(c.req, http::status::ok, workspace_json(*w));
}

response service::add_key(const call& c) {
  auto id = parse_id<workspace_id>(c.params[0]);
  if (!id)
    return error(c.req, http::status::not_found, "not_found",
                 "no such workspace");
  auto key = registry_.add_key(*id);
  if (!key)
    return error(c.req, http::status::internal_server_error, "storage_error",
                 server_error_message);
  if (!*key)
    return error(c.req, http::status::not_found, "not_found",
                 "no such workspace");
  return answer(c.req, http::status::created,
                json::object{{"id", to_string((*key)->id)},
                             {"workspace", to_string(*id)},
                             {"api_key", (*key)->secret}});
}

response service::revoke_key(const call& c) {
  auto ws = parse_id<workspace_id>(c.params[0]);
  auto key = parse_id<key_id>(c.params[1]);
  storage::expected<bool> gone = false;
  if (ws && key) gone = registry_.revoke_key(*ws, *key);
  if (!gone)
    return error(c.req, http::status::internal_server_error, "storage_error",
                 server_error_message);
  if (!*gone)
    return error(c.req, http::status::not_found, "not_found", "no such key");
  return answer(c.req, http::status::no_content, std::string{});
}

response service::move_clock(const call& c) {
  if (manual_ == nullptr)
    return error(c.req, http::status::not_found, "not_found",
                 "the clock is the system's: start herald with --clock "
                 "manual to move it");
  auto body = json_body(c.req, options_.max_body_bytes);
  if (auto* r = std::get_if<response>(&body)) return std::move(*r);
  auto obj = std::get<simdjson::dom::object>(body);
  std::optional<int64_t> advance_s;
  std::optional<time_point> to;
  for (auto field : obj) {
    std::string_view key = field.key;
    if (key == "advance_s") {
      int64_t v = 0;
      if (field.value.get(v) || v < 0 || v > max_advance_s)
        return invalid(c.req, "advance_s",
                       "advance_s must be an integer from 0 to " +
                         std::to_string(max_advance_s));
      advance_s = v;
    } else if (key == "to") {
      std::string_view s;
      if (!field.value.get(s)) to = parse_time(s);
      if (!to)
        return invalid(c.req, "to",
                       "to must be an RFC 3339 UTC time "
                       "(2026-01-05T09:00:00Z)");
    } else {
      return invalid(c.req, key, "unknown field '" + std::string{key} + "'");
    }
  }
  if (advance_s.has_value() == to.has_value())
    return invalid(c.req, advance_s ? "to" : "advance_s",
                   "give exactly one of advance_s and to");
  bool moved = advance_s ? manual_->advance(std::chrono::seconds{*advance_s})
                         : manual_->set(*to);
  if (!moved)
    return invalid(c.req, "to",
                   "to is before the clock's time (" +
                     format_time(manual_->now()) + "): time never goes back");
  if (clock_moved_) clock_moved_();
  return answer(c.req, http::status::ok,
                json::object{{"now", format_time(time_.now())}});
}

} // namespace herald::api

namespace herald::api {

namespace {

constexpr uint64_t max_count = 100'000;
constexpr uint64_t max_seconds = 86'400;

// A whole number in [lo, hi]; `why` says what is wrong otherwise.
std::optional<uint64_t> uint_field(simdjson::dom::element v, uint64_t lo,
                                   uint64_t hi, std::string& why) {
  uint64_t n = 0;
  if (v.get(n) || n < lo || n > hi) {
    why = "must be an integer from " + std::to_string(lo) + " to " +
          std::to_string(hi);
    return std::nullopt;
  }
  return n;
}

// "HH:MM", 00:00 to 23:59.
std::optional<std::chrono::minutes> parse_clock_time(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  auto h = digits(s, 0, 2), m = digits(s, 3, 2);
  if (!h || !m || *h > 23 || *m > 59) return std::nullopt;
  return std::chrono::minutes{*h * 60 + *m};
}

std::string format_clock_time(std::chrono::minutes m) {
  auto v = static_cast<unsigned>(((m.count() % 1440) + 1440) % 1440);
  std::string out = "00:00";
  out[0] = static_cast<char>('0' + v / 600);
  out[1] = static_cast<char>('0' + v / 60 % 10);
  out[3] = static_cast<char>('0' + v % 60 / 10);
  out[4] = static_cast<char>('0' + v % 10);
  return out;
}

// The error of a rejected field: its path and what is wrong.
struct field_error {
  std::string field;
  std::string message;
};

// Reads `limits` into `out`; unknown fields and bad values are errors.
std::optional<field_error> read_limits(simdjson::dom::element v,
                                       account_limits& out) {
  simdjson::dom::object obj;
  if (v.get(obj)) return field_error{"limits", "limits must be an object"};
  std::string why;
  for (auto f : obj) {
    std::string_view key = f.key;
    auto path = "limits." + std::string{key};
    auto count = [&](uint64_t hi) -> std::optional<uint32_t> {
      auto n = uint_field(f.value, 0, hi, why);
      if (!n) return std::nullopt;
      return static_cast<uint32_t>(*n);
    };
    if (key == "daily_cap" || key == "invites_per_day" ||
        key == "invites_per_week" || key == "messages_per_day") {
      auto n = count(max_count);
      if (!n) return field_error{path, path + " " + why};
      if (key == "daily_cap") out.daily_cap = *n;
      if (key == "invites_per_day") out.invites_per_day = *n;
      if (key == "invites_per_week") out.invites_per_week = *n;
      if (key == "messages_per_day") out.messages_per_day = *n;
    } else if (key == "spacing_s" || key == "jitter_s") {
      auto n = uint_field(f.value, 0, max_seconds, why);
      if (!n) return field_error{path, path + " " + why};
      (key == "spacing_s" ? out.spacing : out.jitter) =
        std::chrono::seconds{*n};
    } else if (key == "warmup") {
      simdjson::dom::object w;
      if (f.value.get(w)) return field_error{path, path + " must be an object"};
      for (auto g : w) {
        std::string_view k = g.key;
        auto p = path + "." + std::string{k};
        if (k != "start" && k != "increment" && k != "ceiling")
          return field_error{p, "unknown field '" + p + "'"};
        auto n = uint_field(g.value, 0, max_count, why);
        if (!n) return field_error{p, p + " " + why};
        auto x = static_cast<uint32_t>(*n);
        (k == "start"       ? out.ramp.start
         : k == "increment" ? out.ramp.increment
                            : out.ramp.ceiling) = x;
      }
    } else if (key == "window") {
      simdjson::dom::object w;
      if (f.value.get(w)) return field_error{path, path + " must be an object"};
      for (auto g : w) {
        std::string_view k = g.key;
        auto p = path + "." + std::string{k};
        if (k != "start" && k != "end")
          return field_error{p, "unknown field '" + p + "'"};
        std::string_view text;
        std::optional<std::chrono::minutes> at;
        if (!g.value.get(text)) at = parse_clock_time(text);
        if (!at) return field_error{p, p + " must be a time of day (HH:MM)"};
        (k == "start" ? out.window.start : out.window.end) = *at;
      }
      if (out.window.start == out.window.end)
        return field_error{path + ".end",
                           path + " is empty: start and end are equal"};
    } else {
      return field_error{path, "unknown field '" + path + "'"};
    }
  }
  return std::nullopt;
}

json::object limits_json(const account_limits& l) {
  return json::object{
    {"daily_cap", l.daily_cap},
    {"warmup", json::object{{"start", l.ramp.start},
                            {"increment", l.ramp.increment},
                            {"ceiling", l.ramp.ceiling}}},
    {"spacing_s",
     std::chrono::duration_cast<std::chrono::seconds>(l.spacing).count()},
    {"jitter_s",
     std::chrono::duration_cast<std::chrono::seconds>(l.jitter).count()},
    {"window", json::object{{"start", format_clock_time(l.window.start)},
                            {"end", format_clock_time(l.window.end)}}},
    {"invites_per_day", l.invites_per_day},
    {"invites_per_week", l.invites_per_week},
    {"messages_per_day", l.messages_per_day}};
}

json::object
account_json(const sender_account& a,
             const std::optional<actors::runtime::account_standing>& standing) {
  json::object o{{"id", to_string(a.id)},
                 {"name", a.name},
                 {"channel", to_string(a.kind)},
                 {"timezone", a.timezone},
                 {"provider", json::object{{"type", "sim"}}},
                 {"limits", limits_json(a.limits)},
                 {"created_at", format_time(a.created_at)}};
  auto status = standing ? standing->status : a.status;
  o["status"] = to_string(status);
  json::value until = nullptr;
  if (standing && standing->paused_until)
    until = format_time(*standing->paused_until);
  o["paused_until"] = until;
  if (standing) {
    const auto& u = standing->usage;
    o["usage"] = json::object{{"emails", u.emails},
                              {"email_allowance", u.email_allowance},
                              {"invites", u.invites},
                              {"invites_week", u.invites_week},
                              {"messages", u.messages}};
  }
  return o;
}

// The page a list asks for (?limit=, ?cursor= an id of type Id), or the
// answer saying what is wrong with it.
template<class Id>
std::variant<std::pair<size_t, Id>, response> page_of(const request& req,
                                                      std::string_view query) {
  size_t limit = default_limit;
  if (auto l = query_param(query, "limit")) {
    size_t v = 0;
    auto [end, ec] = std::from_chars(l->data(), l->data() + l->size(), v);
    if (ec != std::errc{} || end != l->data() + l->size() || v < 1 ||
        v > max_limit)
      return invalid(req, "limit",
                     "limit must be an integer from 1 to " +
                       std::to_string(max_limit));
    limit = v;
  }
  Id after;
  if (auto cur = query_param(query, "cursor")) {
    auto id = parse_id<Id>(*cur);
    if (!id) return invalid(req, "cursor", "cursor is not one this list gave");
    after = *id;
  }
  return std::pair{limit, after};
}

response not_found(const request& req, std::string_view what) {
  return error(req, http::status::not_found, "not_found",
               "no such " + std::string{what});
}

response storage_failed(const request& req) {
  return error(req, http::status::internal_server_error, "storage_error",
               server_error_message);
}

constexpr size_t max_steps = 50;
constexpr size_t max_senders = 100;
constexpr uint64_t max_delay_days = 365;
constexpr size_t max_subject_bytes = 998;
constexpr size_t max_body_bytes = 50'000;
constexpr size_t max_invite_note_chars = 300;
constexpr uint64_t max_day_ms = 86'400'000;
constexpr uint64_t max_new_leads_per_day = 1'000'000;

// Characters (code points) of UTF-8 text.
size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n;
}

std::optional<field_error> read_dates(simdjson::dom::element v,
                                      const std::string& path,
                                      std::vector<date::local_days>& out) {
  simdjson::dom::array days;
  if (v.get(days)) return field_error{path, path + " must be an array"};
  out.clear();
  size_t i = 0;
  for (auto d : days) {
    auto p = path + "[" + std::to_string(i++) + "]";
    if (i > max_holidays)
      return field_error{path, "at most " + std::to_string(max_holidays) +
                                 " dates in " + path};
    std::string_view text;
    std::optional<date::local_days> day;
    if (!d.get(text)) day = parse_day(text);
    if (!day) return field_error{p, p + " must be a date (YYYY-MM-DD)"};
    out.push_back(*day);
  }
  return std::nullopt;
}

std::optional<field_error> read_window(simdjson::dom::element v,
                                       const std::string& path,
                                       local_window& out) {
  simdjson::dom::object w;
  if (v.get(w)) return field_error{path, path + " must be an object"};
  for (auto g : w) {
    std::string_view k = g.key;
    auto p = path + "." + std::string{k};
    if (k != "start" && k != "end")
      return field_error{p, "unknown field '" + p + "'"};
    std::string_view text;
    std::optional<std::chrono::minutes> at;
    if (!g.value.get(text)) at = parse_clock_time(text);
    if (!at) return field_error{p, p + " must be a time of day (HH:MM)"};
    (k == "start" ? out.start : out.end) = *at;
  }
  if (out.start == out.end)
    return field_error{path + ".end",
                       path + " is empty: start and end are equal"};
  return std::nullopt;
}

std::optional<field_error> read_steps(simdjson::dom::element v,
                                      std::vector<step>& out) {
  simdjson::dom::array arr;
  if (v.get(arr)) return field_error{"steps", "steps must be an array"};
  out.clear();
  std::string why;
  size_t i = 0;
  for (auto item : arr) {
    auto path = "steps[" + std::to_string(i++) + "]";
    if (i > max_steps)
      return field_error{"steps",
                         "at most " + std::to_string(max_steps) + " steps"};
    simdjson::dom::object obj;
    if (item.get(obj)) return field_error{path, path + " must be an object"};
    step st;
    bool has_channel = false, has_template = false;
    for (auto f : obj) {
      std::string_view key = f.key;
      auto p = path + "." + std::string{key};
      if (key == "channel") {
        std::string_view t;
        std::optional<step_channel> ch;
        if (!f.value.get(t)) ch = parse_enum<step_channel>(t);
        if (!ch)
          return field_error{p, p + " must be \"email\", \"linkedin_invite\" "
                                    "or \"linkedin_message\""};
        st.channel = *ch;
        has_channel = true;
      } else if (key == "delay_days") {
        auto n = uint_field(f.value, 0, max_delay_days, why);
        if (!n) return field_error{p, p + " " + why};
        st.delay_days = static_cast<int32_t>(*n);
      } else if (key == "condition") {
        std::string_view t;
        std::optional<step_condition> cond;
        if (!f.value.get(t)) cond = parse_enum<step_condition>(t);
        if (!cond)
          return field_error{p, p + " must be \"always\" or \"no_reply\""};
        st.condition = *cond;
      } else if (key == "template") {
        simdjson::dom::object t;
        if (f.value.get(t)) return field_error{p, p + " must be an object"};
        bool has_body = false;
        for (auto g : t) {
          std::string_view k = g.key;
          auto q = p + "." + std::string{k};
          if (k == "subject") {
            auto text = string_field(g.value, max_subject_bytes, true, why);
            if (!text) return field_error{q, q + " " + why};
            st.message.subject = std::move(*text);
          } else if (k == "body") {
            auto text = string_field(g.value, max_body_bytes, false, why);
            if (!text) return field_error{q, q + " " + why};
            st.message.body = std::move(*text);
            has_body = true;
          } else {
            return field_error{q, "unknown field '" + q + "'"};
          }
        }
        if (!has_body) return field_error{p + ".body", p + ".body is required"};
        has_template = true;
      } else {
        return field_error{p, "unknown field '" + p + "'"};
      }
    }
    if (!has_channel)
      return field_error{path + ".channel", path + ".channel is required"};
    if (!has_template)
      return field_error{path + ".template", path + ".template is required"};
    if (st.channel != step_channel::email && !st.message.subject.empty())
      return field_error{path + ".template.subject",
                         path + ".template.subject is for email steps only"};
    if (st.channel == step_channel::linkedin_invite &&
        utf8_length(st.message.body) > max_invite_note_chars)
      return field_error{path + ".template.body",
                         "an invite note is at most " +
                           std::to_string(max_invite_note_chars) +
                           " characters"};
    out.push_back(std::move(st));
  }
  return std::nullopt;
}

std::optional<field_error> read_schedule(simdjson::dom::element v,
                                         schedule_settings& out) {
  simdjson::dom::object obj;
  if (v.get(obj)) return field_error{"schedule", "schedule must be an object"};
  std::string why;
  bool has_day_ms = false;
  for (auto f : obj) {
    std::string_view key = f.key;
    auto p = "schedule." + std::string{key};
    if (key == "mode") {
      std::string_view t;
      std::optional<schedule_mode> m;
      if (!f.value.get(t)) m = parse_enum<schedule_mode>(t);
      if (!m)
        return field_error{p, p + " must be \"calendar\" or \"relative\""};
      out.mode = *m;
    } else if (key == "window") {
      if (auto e = read_window(f.value, p, out.calendar.window)) return e;
    } else if (key == "weekdays_only") {
      bool only = false;
      if (f.value.get(only))
        return field_error{p, p + " must be true or false"};
      out.calendar.days =
        only ? weekday_set::monday_to_friday() : weekday_set::every_day();
    } else if (key == "holidays") {
      std::vector<date::local_days> days;
      if (auto e = read_dates(f.value, p, days)) return e;
      out.calendar.holidays.clear();
      out.calendar.add_holidays(days);
    } else if (key == "delay_counting") {
      std::string_view t;
      std::optional<delay_counting> d;
      if (!f.value.get(t)) d = parse_enum<delay_counting>(t);
      if (!d)
        return field_error{
          p, p + " must be \"calendar_days\" or \"sending_days\""};
      out.counting = *d;
    } else if (key == "day_ms") {
      auto n = uint_field(f.value, 1, max_day_ms, why);
      if (!n) return field_error{p, p + " " + why};
      out.day = duration{static_cast<int64_t>(*n)};
      has_day_ms = true;
    } else {
      return field_error{p, "unknown field '" + p + "'"};
    }
  }
  if (has_day_ms && out.mode != schedule_mode::relative)
    return field_error{"schedule.day_ms",
                       "schedule.day_ms is for the relative mode only"};
  return std::nullopt;
}

// Reads the fields of a sequence's body into `seq` (all of them for a new
// one, those given for a change); checks sender ids against `senders`.
std::optional<field_error> read_sequence(simdjson::dom::object obj,
                                         sequence& seq, bool is_new,
                                         const accounts& senders) {
  std::string why;
  bool has_name = !is_new, has_steps = !is_new;
  for (auto f : obj) {
    std::string_view key = f.key;
    std::string k{key};
    if (key == "name") {
      auto v = string_field(f.value, max_name_bytes, false, why);
      if (!v) return field_error{k, "name " + why};
      seq.name = std::move(*v);
      has_name = true;
    } else if (key == "steps") {
      if (auto e = read_steps(f.value, seq.steps)) return e;
      has_steps = true;
    } else if (key == "senders") {
      simdjson::dom::object pools;
      if (f.value.get(pools))
        return field_error{k, "senders must be an object"};
      seq.senders = {};
      for (auto g : pools) {
        std::string_view pk = g.key;
        auto p = "senders." + std::string{pk};
        auto ch = parse_enum<channel>(pk);
        if (!ch) return field_error{p, "unknown field '" + p + "'"};
        simdjson::dom::array ids;
        if (g.value.get(ids)) return field_error{p, p + " must be an array"};
        auto& pool =
          *ch == channel::email ? seq.senders.email : seq.senders.linkedin;
        size_t i = 0;
        for (auto idv : ids) {
          auto q = p + "[" + std::to_string(i++) + "]";
          if (i > max_senders)
            return field_error{p, "at most " + std::to_string(max_senders) +
                                    " senders in " + p};
          std::string_view text;
          std::optional<account_id> id;
          if (!idv.get(text)) id = parse_id<account_id>(text);
          std::optional<sender_account> a;
          if (id) a = senders.find(seq.workspace, *id);
          if (!a || a->kind != *ch)
            return field_error{q, q + " is not a " +
                                    std::string{to_string(*ch)} +
                                    " account of this workspace"};
          if (std::find(pool.begin(), pool.end(), *id) != pool.end())
            return field_error{q, q + " is listed twice"};
          pool.push_back(*id);
        }
      }
    } else if (key == "schedule") {
      if (auto e = read_schedule(f.value, seq.schedule)) return e;
    } else if (key == "new_leads_per_day") {
      if (f.value.is_null()) {
        seq.new_leads_per_day.reset();
      } else {
        auto n = uint_field(f.value, 1, max_new_leads_per_day, why);
        if (!n) return field_error{k, k + " " + why + ", or null"};
        seq.new_leads_per_day = static_cast<uint32_t>(*n);
      }
    } else if (key == "stop_on_colleague_reply") {
      bool stop = false;
      if (f.value.get(stop))
        return field_error{k, k + " must be true or false"};
      seq.stop_on_colleague_reply = stop;
    } else {
      return field_error{k, "unknown field '" + k + "'"};
    }
  }
  if (!has_name) return field_error{"name", "name is required"};
  if (!has_steps) return field_error{"steps", "steps is required"};
  return std::nullopt;
}

json::object sequence_json(const sequence& s) {
  json::array steps;
  for (size_t i = 0; i < s.steps.size(); ++i) {
    const auto& st = s.steps[i];
    json::object t{{"body", st.message.body}};
    if (st.channel == step_channel::email) t["subject"] = st.message.subject;
    steps.emplace_back(json::object{{"step", i + 1},
                                    {"channel", to_string(st.channel)},
                                    {"delay_days", st.delay_days},
                                    {"condition", to_string(st.condition)},
                                    {"template", std::move(t)},
                                    {"approved", st.approved}});
  }
  auto ids = [](const std::vector<account_id>& pool) {
    json::array out;
    for (auto id : pool)
      out.emplace_back(to_string(id));
    return out;
  };
  json::array holidays;
  for (auto d : s.schedule.calendar.holidays)
    holidays.emplace_back(format_day(d));
  json::object schedule{
    {"mode", to_string(s.schedule.mode)},
    {"window",
     json::object{
       {"start", format_clock_time(s.schedule.calendar.window.start)},
       {"end", format_clock_time(s.schedule.calendar.window.end)}}},
    {"weekdays_only",
     s.schedule.calendar.days.bits == weekday_set::monday_to_friday().bits},
    {"holidays", std::move(holidays)},
    {"delay_counting", to_string(s.schedule.counting)}};
  if (s.schedule.mode == schedule_mode::relative)
    schedule["day_ms"] = s.schedule.day.count();
  json::value per_day = nullptr;
  if (s.new_leads_per_day) per_day = *s.new_leads_per_day;
  return json::object{
    {"id", to_string(s.id)},
    {"name", s.name},
    {"status", to_string(s.status)},
    {"steps", std::move(steps)},
    {"senders", json::object{{"email", ids(s.senders.email)},
                             {"linkedin", ids(s.senders.linkedin)}}},
    {"schedule", std::move(schedule)},
    {"new_leads_per_day", std::move(per_day)},
    {"stop_on_colleague_reply", s.stop_on_colleague_reply}};
}

json::object readiness_json(const readiness_report& r) {
  json::array findings;
  for (const auto& f : r.findings) {
    json::object o{{"severity", to_string(f.level)},
                   {"code", f.code},
                   {"message", f.message},
                   {"count", f.count}};
    if (f.step_index) o["step"] = *f.step_index + 1;
    findings.emplace_back(std::move(o));
  }
  return json::object{{"ready", r.ready}, {"findings", std::move(findings)}};
}

// What the runtime runs a launched sequence with: its calendar with the
// workspace's holidays, and its messages parsed; null when one does not
// parse (readiness blocks such a launch).
std::shared_ptr<actors::sequence_env> sequence_env_of(const sequence& s,
                                                      const workspace& ws) {
  auto env = std::make_shared<actors::sequence_env>();
  env->seq = s;
  env->calendar = s.schedule.calendar;
  env->calendar.add_holidays(ws.holidays);
  for (const auto& st : s.steps) {
    auto compiled = compiled_message::compile(st.message);
    if (!compiled) return nullptr;
    env->messages.push_back(std::move(*compiled));
  }
  return env;
}

} // namespace

void register_stored(const tenants& registry, const accounts& senders,
                     const sequences& campaigns, actors::runtime& engine) {
  for (const auto& a : senders.all()) {
    auto ws = registry.find(a.workspace);
    auto zone = find_zone(!a.timezone.empty() ? a.timezone
                          : ws                ? ws->timezone
                                              : std::string{});
    engine.add_account(a, zone);
  }
  for (const auto& s : campaigns.all())
    if (s.status != sequence_status::draft)
      if (auto ws = registry.find(s.workspace))
        if (auto env = sequence_env_of(s, *ws))
          engine.add_sequence(std::move(env), find_zone(ws->timezone));
}

response service::create_account(const call& c) {
  auto body = json_body(c.req, options_.max_body_bytes);
  if (auto* r = std::get_if<response>(&body)) return std::move(*r);
  auto obj = std::get<simdjson::dom::object>(body);
  sender_account a;
  a.workspace = c.ws;
  bool has_name = false, has_channel = false, has_provider = false;
  std::string why;
  for (auto f : obj) {
    std::string_view key = f.key;
    if (key == "name") {
      auto v = string_field(f.value, max_name_bytes, false, why);
      if (!v) return invalid(c.req, "name", "name " + why);
      a.name = std::move(*v);
      has_name = true;
    } else if (key == "channel") {
      std::string_view v;
      std::optional<channel> ch;
      if (!f.value.get(v)) ch = parse_enum<channel>(v);
      if (!ch)
        return invalid(c.req, "channel",
                       "channel must be \"email\" or \"linkedin\"");
      a.kind = *ch;
      has_channel = true;
    } else if (key == "timezone") {
      auto v = string_field(f.value, max_zone_bytes, true, why);
      if (!v) return invalid(c.req, "timezone", "timezone " + why);
      if (!v->empty() && find_zone(*v) == nullptr)
        return invalid(c.req, "timezone", "unknown time zone '" + *v + "'");
      a.timezone = std::move(*v);
    } else if (key == "provider") {
      simdjson::dom::object p;
      if (f.value.get(p))
        return invalid(c.req, "provider", "provider must be an object");
      std::string_view type;
      for (auto g : p) {
        std::string_view k = g.key;
        if (k != "type")
          return invalid(c.req, "provider." + std::string{k},
                         "unknown field 'provider." + std::string{k} +
                           "' (a sim provider takes none)");
        if (g.value.get(type))
          return invalid(c.req, "provider.type",
                         "provider.type must be a string");
      }
      if (type == "smtp" || type == "webhook")
        return error(c.req, http::status::not_implemented, "not_implemented",
                     "the " + std::string{type} +
                       " provider is not built yet in this version of "
                       "herald: only \"sim\" accounts can be created");
      if (type != "sim")
        return invalid(c.req, "provider.type",
                       "provider.type must be \"smtp\", \"webhook\" or "
                       "\"sim\"");
      has_provider = true;
    } else if (key == "limits") {
      if (auto e = read_limits(f.value, a.limits))
        return invalid(c.req, e->field, e->message);
    } else {
      return invalid(c.req, key, "unknown field '" + std::string{key} + "'");
    }
  }
  if (!has_name) return invalid(c.req, "name", "name is required");
  if (!has_channel) return invalid(c.req, "channel", "channel is required");
  if (!has_provider) return invalid(c.req, "provider", "provider is required");
  auto ws = registry_.find(c.ws);
  if (!ws) return not_found(c.req, "workspace");
  a.created_at = time_.now();
  do
    a.id = account_id{random_id()};
  while (senders_.taken(a.id));
  if (auto ok = senders_.put(a); !ok) return storage_failed(c.req);
  auto zone = find_zone(a.timezone.empty() ? ws->timezone : a.timezone);
  engine_.add_account(a, zone);
  return answer(c.req, http::status::created,
                account_json(a, engine_.standing(a.id)));
}

response service::list_accounts(const call& c) {
  auto page = page_of<account_id>(c.req, c.query);
  if (auto* r = std::get_if<response>(&page)) return std::move(*r);
  auto [limit, after] = std::get<0>(page);
  auto items = senders_.list(c.ws, after, limit + 1);
  bool more = items.size() > limit;
  if (more) items.pop_back();
  json::array out;
  for (const auto& a : items)
    out.emplace_back(account_json(a, engine_.standing(a.id)));
  json::value next = nullptr;
  if (more) next = to_string(items.back().id);
  return answer(
    c.req, http::status::ok,
    json::object{{"items", std::move(out)}, {"next_cursor", std::move(next)}});
}

response service::get_account(const call& c) {
  auto id = parse_id<account_id>(c.params[0]);
  std::optional<sender_account> a;
  if (id) a = senders_.find(c.ws, *id);
  if (!a) return not_found(c.req, "account");
  return answer(c.req, http::status::ok,
                account_json(*a, engine_.standing(a->id)));
}

response service::patch_account(const call& c) {
  auto id = parse_id<account_id>(c.params[0]);
  std::optional<sender_account> a;
  if (id) a = senders_.find(c.ws, *id);
  if (!a) return not_found(c.req, "account");
  auto body = json_body(c.req, options_.max_body_bytes);
  if (auto* r = std::get_if<response>(&body)) return std::move(*r);
  auto obj = std::get<simdjson::dom::object>(body);
  std::string why;
  for (auto f : obj) {
    std::string_view key = f.key;
    if (key == "name") {
      auto v = string_field(f.value, max_name_bytes, false, why);
      if (!v) return invalid(c.req, "name", "name " + why);
      a->name = std::move(*v);
    } else if (key == "limits") {
      return error(c.req, http::status::not_implemented, "not_implemented",
                   "changing a running account's limits is not built yet in "
                   "this version of herald");
    } else {
      return invalid(c.req, key,
                     "field '" + std::string{key} +
                       "' cannot be changed (name and limits can)");
    }
  }
  if (auto ok = senders_.put(*a); !ok) return storage_failed(c.req);
  return answer(c.req, http::status::ok,
                account_json(*a, engine_.standing(a->id)));
}

response service::control_account(const call& c, int event) {
  auto id = parse_id<account_id>(c.params[0]);
  std::optional<sender_account> a;
  if (id) a = senders_.find(c.ws, *id);
  if (!a) return not_found(c.req, "account");
  auto e = static_cast<actors::account_event>(event);
  auto before = engine_.standing(a->id);
  if (e == actors::account_event::resume && before &&
      before->status == account_status::revoked)
    return error(c.req, http::status::conflict, "account_revoked",
                 "a revoked account cannot be resumed");
  engine_.control(a->id, e);
  // The status a restart starts from.
  a->status = e == actors::account_event::pause    ? account_status::paused
              : e == actors::account_event::revoke ? account_status::revoked
                                                   : account_status::active;
  if (auto ok = senders_.put(*a); !ok) return storage_failed(c.req);
  return answer(c.req, http::status::ok,
                account_json(*a, engine_.standing(a->id)));
}

response service::create_sequence(const call& c) {
  auto body = json_body(c.req, options_.max_body_bytes);
  if (auto* r = std::get_if<response>(&body)) return std::move(*r);
  sequence seq;
  seq.workspace = c.ws;
  if (auto e = read_sequence(std::get<simdjson::dom::object>(body), seq, true,
                             senders_))
    return invalid(c.req, e->field, e->message);
  seq.status = sequence_status::draft;
  do
    seq.id = sequence_id{random_id()};
  while (campaigns_.taken(seq.id));
  if (auto ok = campaigns_.put(seq); !ok) return storage_failed(c.req);
  return answer(c.req, http::status::created, sequence_json(seq));
}

response service::list_sequences(const call& c) {
  auto page = page_of<sequence_id>(c.req, c.query);
  if (auto* r = std::get_if<response>(&page)) return std::move(*r);
  auto [limit, after] = std::get<0>(page);
  auto items = campaigns_.list(c.ws, after, limit + 1);
  bool more = items.size() > limit;
  if (more) items.pop_back();
  json::array out;
  for (const auto& x : items)
    out.emplace_back(sequence_json(x));
  json::value next = nullptr;
  if (more) next = to_string(items.back().id);
  return answer(
    c.req, http::status::ok,
    json::object{{"items", std::move(out)}, {"next_cursor", std::move(next)}});
}

response service::get_sequence(const call& c) {
  auto id = parse_id<sequence_id>(c.params[0]);
  std::optional<sequence> seq;
  if (id) seq = campaigns_.find(c.ws, *id);
  if (!seq) return not_found(c.req, "sequence");
  return answer(c.req, http::status::ok, sequence_json(*seq));
}

response service::patch_sequence(const call& c) {
  auto id = parse_id<sequence_id>(c.params[0]);
  std::optional<sequence> seq;
  if (id) seq = campaigns_.find(c.ws, *id);
  if (!seq) return not_found(c.req, "sequence");
  if (seq->status != sequence_status::draft)
    return error(c.req, http::status::conflict, "sequence_not_draft",
                 "a sequence can be changed only while it is a draft (it is " +
                   std::string{to_string(seq->status)} + ")");
  auto body = json_body(c.req, options_.max_body_bytes);
  if (auto* r = std::get_if<response>(&body)) return std::move(*r);
  auto changed = *seq;
  if (auto e = read_sequence(std::get<simdjson::dom::object>(body), changed,
                             false, senders_))
    return invalid(c.req, e->field, e->message);
  // A step whose message changed needs approving again.
  for (size_t i = 0; i < changed.steps.size(); ++i) {
    bool same =
      i < seq->steps.size() &&
      seq->steps[i].channel == changed.steps[i].channel &&
      seq->steps[i].message.subject == changed.steps[i].message.subject &&
      seq->steps[i].message.body == changed.steps[i].message.body;
    changed.steps[i].approved = same && seq->steps[i].approved;
  }
  if (auto ok = campaigns_.put(changed); !ok) return storage_failed(c.req);
  return answer(c.req, http::status::ok, sequence_json(changed));
}

response service::approve_step(const call& c) {
  auto id = parse_id<sequence_id>(c.params[0]);
  std::optional<sequence> seq;
  if (id) seq = campaigns_.find(c.ws, *id);
  if (!seq) return not_found(c.req, "sequence");
  size_t n = 0;
  auto text = c.params[1];
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || n < 1 ||
      n > seq->steps.size())
    return not_found(c.req, "step");
  seq->steps[n - 1].approved = true;
  if (auto ok = campaigns_.put(*seq); !ok) return storage_failed(c.req);
  return answer(c.req, http::status::ok, sequence_json(*seq));
}

readiness_report service::readiness_of(const sequence& seq) const {
  auto ws = registry_.find(seq.workspace);
  auto all = senders_.list(seq.workspace, account_id{},
                           std::numeric_limits<size_t>::max());
  return check_readiness(seq, ws ? *ws : workspace{}, all, {}, time_.now());
}

response service::sequence_readiness(const call& c) {
  auto id = parse_id<sequence_id>(c.params[0]);
  std::optional<sequence> seq;
  if (id) seq = campaigns_.find(c.ws, *id);
  if (!seq) return not_found(c.req, "sequence");
  return answer(c.req, http::status::ok, readiness_json(readiness_of(*seq)));
}

response service::launch_sequence(const call& c) {
  auto id = parse_id<sequence_id>(c.params[0]);
  std::optional<sequence> seq;
  if (id) seq = campaigns_.find(c.ws, *id);
  if (!seq) return not_found(c.req, "sequence");
  if (seq->status != sequence_status::draft)
    return error(c.req, http::status::conflict, "sequence_not_draft",
                 "the sequence is " + std::string{to_string(seq->status)} +
                   " already");
  auto report = readiness_of(*seq);
  auto ws = registry_.find(seq->workspace);
  std::shared_ptr<actors::sequence_env> env;
  if (report.ready && ws) env = sequence_env_of(*seq, *ws);
  if (!env) {
    auto r = readiness_json(report);
    json::object e{{"code", "not_ready"},
                   {"message", "the sequence has blocking findings; see "
                               "findings (GET .../readiness)"},
                   {"findings", r.at("findings")}};
    return answer(c.req, http::status::conflict,
                  json::object{{"error", std::move(e)}});
  }
  seq->status = sequence_status::active;
  env->seq.status = sequence_status::active;
  if (auto ok = campaigns_.put(*seq); !ok) return storage_failed(c.req);
  engine_.add_sequence(std::move(env), find_zone(ws->timezone));
  return answer(c.req, http::status::ok, sequence_json(*seq));
}

response service::set_sequence_status(const call& c, bool active) {
  auto id = parse_id<sequence_id>(c.params[0]);
  std::optional<sequence> seq;
  if (id) seq = campaigns_.find(c.ws, *id);
  if (!seq) return not_found(c.req, "sequence");
  if (seq->status == sequence_status::draft)
    return error(c.req, http::status::conflict, "sequence_not_launched",
                 "a draft is launched, not paused or resumed");
  seq->status = active ? sequence_status::active : sequence_status::paused;
  if (auto ok = campaigns_.put(*seq); !ok) return storage_failed(c.req);
  auto ws = registry_.find(seq->workspace);
  if (auto env = ws ? sequence_env_of(*seq, *ws) : nullptr)
    engine_.add_sequence(std::move(env), find_zone(ws->timezone));
  return answer(c.req, http::status::ok, sequence_json(*seq));
}

} // namespace herald::api
