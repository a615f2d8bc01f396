#include "api/handlers.hpp"

#include <charconv>

namespace herald::api {

namespace {

constexpr const char* server_error_message =
  "storage failed; nothing was changed";

} // namespace

simdjson::dom::parser& json_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

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
               std::string_view message, std::string_view field) {
  json::object e{{"code", code}, {"message", message}};
  if (!field.empty()) e["field"] = field;
  return answer(req, status, json::object{{"error", std::move(e)}});
}

response invalid(const request& req, std::string_view field,
                 std::string_view message) {
  return error(req, http::status::bad_request, "invalid_field", message, field);
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

std::string_view media_type(const request& req) {
  auto type = req[http::field::content_type];
  std::string_view media{type.data(), type.size()};
  media = media.substr(0, media.find(';'));
  while (!media.empty() && media.back() == ' ')
    media.remove_suffix(1);
  return media;
}

// The body as a JSON object, or the answer saying why it is not one.
std::variant<simdjson::dom::object, response> json_body(const request& req,
                                                        size_t max_bytes) {
  if (media_type(req) != "application/json")
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

response not_found(const request& req, std::string_view what) {
  return error(req, http::status::not_found, "not_found",
               "no such " + std::string{what});
}

response storage_failed(const request& req) {
  return error(req, http::status::internal_server_error, "storage_error",
               server_error_message);
}

request shell_of(const request& req) {
  request head;
  head.version(req.version());
  head.keep_alive(req.keep_alive());
  return head;
}

std::optional<field_error> each_item(
  simdjson::dom::element v, const std::string& path, size_t max,
  const std::string& too_many,
  const std::function<std::optional<field_error>(simdjson::dom::element,
                                                 const std::string&)>& item) {
  simdjson::dom::array arr;
  if (v.get(arr)) return field_error{path, path + " must be an array"};
  size_t i = 0;
  for (auto x : arr) {
    auto p = path + "[" + std::to_string(i++) + "]";
    if (i > max) return field_error{path, too_many};
    if (auto e = item(x, p)) return e;
  }
  return std::nullopt;
}

std::optional<field_error> read_dates(simdjson::dom::element v,
                                      const std::string& path,
                                      std::vector<date::local_days>& out) {
  out.clear();
  return each_item(
    v, path, max_holidays,
    "at most " + std::to_string(max_holidays) + " dates in " + path,
    [&](simdjson::dom::element d,
        const std::string& p) -> std::optional<field_error> {
      std::string_view text;
      std::optional<date::local_days> day;
      if (!d.get(text)) day = parse_day(text);
      if (!day) return field_error{p, p + " must be a date (YYYY-MM-DD)"};
      out.push_back(*day);
      return std::nullopt;
    });
}

std::optional<field_error> read_window(simdjson::dom::element v,
                                       const std::string& path,
                                       local_window& out) {
  simdjson::dom::object w;
  if (v.get(w)) return field_error{path, path + " must be an object"};
  bool end_of_day = false;
  for (auto g : w) {
    std::string_view k = g.key;
    auto p = path + "." + std::string{k};
    if (k != "start" && k != "end")
      return field_error{p, "unknown field '" + p + "'"};
    std::string_view text;
    std::optional<std::chrono::minutes> at;
    if (!g.value.get(text)) at = parse_clock_time(text);
    if (k == "end" && text == "24:00") {
      at = std::chrono::minutes{0}; // midnight, which ends the day
      end_of_day = true;
    } else if (k == "end") {
      end_of_day = false;
    }
    if (!at) return field_error{p, p + " must be a time of day (HH:MM)"};
    (k == "start" ? out.start : out.end) = *at;
  }
  if (out.start == out.end && !end_of_day)
    return field_error{path + ".end",
                       path + " is empty: start and end are equal"};
  return std::nullopt;
}

json::object window_json(const local_window& w) {
  bool all_day = w.start == w.end && w.start.count() == 0;
  return json::object{
    {"start", format_clock_time(w.start)},
    {"end", all_day ? std::string{"24:00"} : format_clock_time(w.end)}};
}

std::variant<size_t, response> limit_of(const request& req,
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
  return limit;
}

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0xf]);
  }
  return out;
}

std::optional<std::string> unhex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    int hi = value(text[i]), lo = value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

} // namespace herald::api
