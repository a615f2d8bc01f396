#include "api/service.hpp"

#include <algorithm>
#include <charconv>
#include <future>
#include <limits>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "actors/runtime.hpp"
#include "api/handlers.hpp"
#include "api/log.hpp"
#include "engine/zones.hpp"

namespace herald::api {

namespace {

enum class auth_kind : uint8_t { none, admin, workspace };

// POST /v1/admin/clock moves at most ten years at once.
constexpr int64_t max_advance_s = int64_t{10} * 366 * 86400;

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

std::string_view bearer(const request& req) {
  auto h = req[http::field::authorization];
  std::string_view v{h.data(), h.size()};
  constexpr std::string_view scheme = "Bearer ";
  if (!v.starts_with(scheme)) return {};
  return v.substr(scheme.size());
}

json::object workspace_json(const workspace& w) {
  json::array holidays;
  for (auto d : w.holidays)
    holidays.emplace_back(format_day(d));
  return json::object{{"id", to_string(w.id)},
                      {"name", w.name},
                      {"timezone", w.timezone},
                      {"holidays", std::move(holidays)}};
}

} // namespace

struct service::route {
  http::verb method;
  std::string pattern;
  auth_kind auth;
  /// Empty (and no `deferred`): not built yet (501).
  std::function<response(service&, const call&)> handler;
  /// A route that answers from the engine's completion (service::reply).
  std::function<void(service&, const call&, reply)> deferred;
  std::vector<std::string> segments;
};

struct service::resolved {
  const route* found;
  call c;
};

service::service(service_options options, service_links links)
  : options_(std::move(options)), db_(links.db), registry_(links.registry),
    senders_(links.senders), campaigns_(links.campaigns), engine_(links.engine),
    time_(links.time), manual_(links.manual),
    clock_moved_(std::move(links.clock_moved)), drive_(std::move(links.drive)),
    ids_(links.db), metrics_(links.metrics), persister_(links.persister),
    providers_(links.providers), hooks_(links.hooks) {
  using v = http::verb;
  if (metrics_ != nullptr) {
    http_requests_ = &prometheus::BuildCounter()
                        .Name("herald_http_requests_total")
                        .Help("HTTP requests by route template and status")
                        .Register(*metrics_);
    http_seconds_ =
      &prometheus::BuildHistogram()
         .Name("herald_http_request_duration_seconds")
         .Help("How long herald took to answer, by route template")
         .Register(*metrics_);
    events_ = &prometheus::BuildCounter()
                 .Name("herald_events_total")
                 .Help("Events posted, by type; duplicates (a known event_id) "
                       "apart")
                 .Register(*metrics_);
    prometheus::BuildGauge()
      .Name("herald_build_info")
      .Help("herald's version, as a label; always 1")
      .Register(*metrics_)
      .Add({{"version", HERALD_VERSION}})
      .Set(1);
  }
  auto add_route = [this](route r) {
    for (auto s : split_path(r.pattern))
      r.segments.emplace_back(s);
    routes_.push_back(std::move(r));
  };
  auto add = [&](v method, std::string pattern, auth_kind auth,
                 std::function<response(service&, const call&)> handler = {}) {
    add_route({method, std::move(pattern), auth, std::move(handler), {}, {}});
  };
  auto add_deferred =
    [&](v method, std::string pattern, auth_kind auth,
        std::function<void(service&, const call&, reply)> handler) {
      add_route({method, std::move(pattern), auth, {}, std::move(handler), {}});
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
  add(v::get, "/metrics", auth_kind::none, &service::get_metrics);
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
        [event = event](service& s, const call& c) {
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
  add_deferred(v::post, "/v1/events", auth_kind::workspace,
               &service::post_event);
  add(v::get, "/v1/leads/{}", auth_kind::workspace, &service::get_lead);
  add(v::get, "/v1/sequences/{}/leads", auth_kind::workspace,
      &service::sequence_leads);
  add(v::get, "/v1/sequences/{}/preview", auth_kind::workspace,
      &service::preview_step);
  add(v::get, "/v1/inbox", auth_kind::workspace, &service::get_inbox);
  add(v::post, "/v1/sequences/{}/leads", auth_kind::workspace,
      &service::import_leads);
  add(v::post, "/v1/sequences/{}/launch", auth_kind::workspace,
      &service::launch_sequence);
  add(
    v::post, "/v1/sequences/{}/pause", auth_kind::workspace,
    [](service& s, const call& c) { return s.set_sequence_status(c, false); });
  add(v::post, "/v1/sequences/{}/resume", auth_kind::workspace,
      [](service& s, const call& c) { return s.set_sequence_status(c, true); });
  add(v::get, "/v1/unsubscribes", auth_kind::workspace,
      &service::list_unsubscribes);
  add(v::post, "/v1/unsubscribes", auth_kind::workspace,
      &service::add_unsubscribe);
  add(v::get, "/v1/sequences/{}/stats", auth_kind::workspace,
      &service::sequence_stats);
}

service::~service() = default;

std::variant<response, service::resolved>
service::resolve(const request& req) const {
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
  resolved out{found, call{req, std::move(params), query, {}}};
  if (found->auth != auth_kind::none) {
    auto token = bearer(req);
    bool ok = false;
    if (found->auth == auth_kind::admin) {
      ok = !token.empty() && same_secret(token, options_.admin_token);
    } else if (auto ws = registry_.authenticate(token)) {
      out.c.ws = *ws;
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
  return out;
}

response service::handle(const request& req) {
  auto answered = std::make_shared<std::promise<response>>();
  auto future = answered->get_future();
  handle(req,
         [answered](response res) { answered->set_value(std::move(res)); });
  if (drive_)
    while (future.wait_for(std::chrono::seconds{0}) !=
           std::future_status::ready)
      drive_();
  if (future.wait_for(answer_within_default) == std::future_status::ready) {
    try {
      return future.get();
    } catch (const std::future_error&) {
      // The route dropped its answer: the engine stopped under it.
    }
  }
  return error(req, http::status::service_unavailable, "not_acknowledged",
               not_acknowledged_message);
}

void service::handle(const request& req, reply done) {
  auto started = std::chrono::steady_clock::now();
  auto r = resolve(req);
  if (auto* refused = std::get_if<response>(&r)) {
    count_request(
      nullptr, refused->result_int(),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
        .count());
    return done(std::move(*refused));
  }
  const auto& x = std::get<resolved>(r);
  const route* found = x.found;
  auto counted = [this, found, started, done = std::move(done)](response res) {
    count_request(
      found, res.result_int(),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
        .count());
    done(std::move(res));
  };
  if (found->deferred) return found->deferred(*this, x.c, std::move(counted));
  if (!found->handler)
    return counted(error(req, http::status::not_implemented, "not_implemented",
                         std::string{http::to_string(found->method)} + " " +
                           found->pattern +
                           " is not built yet in this version of herald"));
  counted(found->handler(*this, x.c));
}

void service::count_request(const route* found, unsigned status,
                            double seconds) {
  if (http_requests_ == nullptr) return;
  prometheus::Histogram* histogram = nullptr;
  prometheus::Counter* counter = nullptr;
  {
    std::lock_guard lk{metrics_mu_};
    auto& m = route_metrics_[found];
    // Only when a series is made (the first request of a route or status).
    auto name = [&] {
      return found != nullptr ? found->pattern : std::string{"unmatched"};
    };
    if (m.seconds == nullptr)
      m.seconds = &http_seconds_->Add(
        {{"route", name()}},
        prometheus::Histogram::BucketBoundaries{0.0001, 0.0005, 0.001, 0.005,
                                                0.01, 0.05, 0.1, 0.5, 1, 5});
    for (auto [code, c] : m.by_status)
      if (code == status) counter = c;
    if (counter == nullptr) {
      counter = &http_requests_->Add(
        {{"route", name()}, {"code", std::to_string(status)}});
      m.by_status.emplace_back(status, counter);
    }
    histogram = m.seconds;
  }
  counter->Increment();
  histogram->Observe(seconds);
}

// The registry's metrics and the engine's state, in Prometheus's text
// format.
response service::get_metrics(const call& c) {
  std::vector<prometheus::MetricFamily> families;
  if (metrics_ != nullptr) families = metrics_->Collect();
  auto state = engine_.collect();
  families.insert(families.end(), std::make_move_iterator(state.begin()),
                  std::make_move_iterator(state.end()));
  auto res = answer(c.req, http::status::ok,
                    prometheus::TextSerializer{}.Serialize(families));
  res.set(http::field::content_type,
          "text/plain; version=0.0.4; charset=utf-8");
  return res;
}

service::opened_import service::open_import(const request& head) {
  if (head.method() != http::verb::post ||
      media_type(head) != "application/x-ndjson")
    return std::monostate{};
  auto target = head.target();
  auto path = split_path(
    std::string_view{target.data(), target.size()}.substr(0, target.find('?')));
  if (path.size() != 4 || path[0] != "v1" || path[1] != "sequences" ||
      path[3] != "leads")
    return std::monostate{};
  auto r = resolve(head);
  if (auto* refused = std::get_if<response>(&r)) return std::move(*refused);
  const auto& [found, c] = std::get<resolved>(r);
  if (found->pattern != "/v1/sequences/{}/leads") return std::monostate{};
  return stream_import(c);
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
      if (auto e = read_dates(field.value, "holidays", w.holidays))
        return invalid(c.req, e->field, e->message);
    } else {
      return invalid(c.req, key, "unknown field '" + std::string{key} + "'");
    }
  }
  if (!has_name) return invalid(c.req, "name", "name is required");
  if (!has_zone) return invalid(c.req, "timezone", "timezone is required");
  auto made = registry_.create(std::move(w));
  if (!made) return storage_failed(c.req);
  auto out = workspace_json(made->first);
  out["api_key"] = made->second.secret;
  out["key_id"] = to_string(made->second.id);
  log::info("workspace_created", {{"workspace", to_string(made->first.id)}});
  return answer(c.req, http::status::created, out);
}

response service::list_workspaces(const call& c) {
  return list_answer<workspace_id>(
    c, [&](workspace_id after, size_t n) { return registry_.list(after, n); },
    workspace_json);
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
  if (!key) return storage_failed(c.req);
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
  if (!gone) return storage_failed(c.req);
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

namespace {} // namespace

} // namespace herald::api
