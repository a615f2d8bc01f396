// The routes of sender accounts: /v1/accounts and its controls.

#include "actors/runtime.hpp"
#include "actors/webhook.hpp"
#include "api/handlers.hpp"
#include "api/log.hpp"
#include "engine/zones.hpp"

namespace herald::api {

namespace {

constexpr uint64_t max_count = 100'000;
constexpr uint64_t max_seconds = 86'400;

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
      if (auto e = read_window(f.value, path, out.window)) return e;
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
    {"window", window_json(l.window)},
    {"invites_per_day", l.invites_per_day},
    {"invites_per_week", l.invites_per_week},
    {"messages_per_day", l.messages_per_day}};
}

constexpr size_t max_secret_bytes = 1024;

// Reads `provider` into `out`. `smtp` says it named the SMTP provider, which
// is not built (its fields are not read).
std::optional<field_error> read_provider(simdjson::dom::element v,
                                         provider_settings& out, bool& smtp) {
  simdjson::dom::object p;
  if (v.get(p)) return field_error{"provider", "provider must be an object"};
  std::string_view type;
  if (p["type"].get(type))
    return field_error{"provider.type", "provider.type must be a string, "
                                        "\"webhook\" or \"sim\""};
  smtp = type == "smtp";
  if (smtp) return std::nullopt;
  if (type != "sim" && type != "webhook")
    return field_error{"provider.type",
                       "provider.type must be \"smtp\", \"webhook\" or "
                       "\"sim\""};
  out = provider_settings{};
  out.kind = type == "sim" ? provider_kind::sim : provider_kind::webhook;
  bool has_url = false;
  std::string why;
  for (auto g : p) {
    std::string_view k = g.key;
    auto path = "provider." + std::string{k};
    if (k == "type") continue;
    if (out.kind == provider_kind::sim)
      return field_error{path, "unknown field '" + path +
                                 "' (a sim provider takes none)"};
    if (k == "url") {
      auto text =
        string_field(g.value, actors::max_webhook_url_bytes, false, why);
      if (!text) return field_error{path, path + " " + why};
      if (!actors::parse_http_url(*text, why))
        return field_error{path, path + " " + why};
      out.url = std::move(*text);
      has_url = true;
    } else if (k == "secret") {
      auto text = string_field(g.value, max_secret_bytes, true, why);
      if (!text) return field_error{path, path + " " + why};
      out.secret = std::move(*text);
    } else {
      return field_error{path, "unknown field '" + path +
                                 "' (a webhook provider takes url and secret)"};
    }
  }
  if (out.kind == provider_kind::webhook && !has_url)
    return field_error{"provider.url", "provider.url is required for a "
                                       "webhook provider"};
  return std::nullopt;
}

// The provider without its secret.
json::object provider_json(const provider_settings& p) {
  json::object o{{"type", to_string(p.kind)}};
  if (p.kind == provider_kind::webhook) {
    o["url"] = p.url;
    o["secret_set"] = !p.secret.empty();
  }
  return o;
}

json::object
account_json(const sender_account& a,
             const std::optional<actors::runtime::account_standing>& standing) {
  json::object o{{"id", to_string(a.id)},
                 {"name", a.name},
                 {"channel", to_string(a.kind)},
                 {"timezone", a.timezone},
                 {"provider", provider_json(a.provider)},
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

} // namespace

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
      auto ch = enum_field<channel>(f.value);
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
      bool smtp = false;
      if (auto e = read_provider(f.value, a.provider, smtp))
        return invalid(c.req, e->field, e->message);
      if (smtp)
        return error(c.req, http::status::not_implemented, "not_implemented",
                     "the smtp provider is not built yet in this version of "
                     "herald: \"webhook\" and \"sim\" accounts can be "
                     "created");
      if (a.provider.kind == provider_kind::webhook && hooks_ == nullptr)
        return error(c.req, http::status::not_implemented, "not_implemented",
                     "this herald was started without webhook delivery");
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
  if (hooks_ != nullptr && providers_ != nullptr)
    providers_->set(a.id, actors::provider_of(a.provider, *hooks_));
  engine_.add_account(a, zone);
  return answer(c.req, http::status::created,
                account_json(a, engine_.standing(a.id)));
}

response service::list_accounts(const call& c) {
  return list_answer<account_id>(
    c,
    [&](account_id after, size_t n) { return senders_.list(c.ws, after, n); },
    [&](const sender_account& a) {
      return account_json(a, engine_.standing(a.id));
    });
}

response service::get_account(const call& c) {
  auto a = find_named(senders_, c);
  if (!a) return not_found(c.req, "account");
  return answer(c.req, http::status::ok,
                account_json(*a, engine_.standing(a->id)));
}

response service::patch_account(const call& c) {
  auto a = find_named(senders_, c);
  if (!a) return not_found(c.req, "account");
  auto body = json_body(c.req, options_.max_body_bytes);
  if (auto* r = std::get_if<response>(&body)) return std::move(*r);
  auto obj = std::get<simdjson::dom::object>(body);
  std::string why;
  bool limits_changed = false;
  for (auto f : obj) {
    std::string_view key = f.key;
    if (key == "name") {
      auto v = string_field(f.value, max_name_bytes, false, why);
      if (!v) return invalid(c.req, "name", "name " + why);
      a->name = std::move(*v);
    } else if (key == "limits") {
      // Only the limits named change; the budget takes them at once.
      if (auto e = read_limits(f.value, a->limits))
        return invalid(c.req, e->field, e->message);
      limits_changed = true;
    } else {
      return invalid(c.req, key,
                     "field '" + std::string{key} +
                       "' cannot be changed (name and limits can)");
    }
  }
  if (auto ok = senders_.put(*a); !ok) return storage_failed(c.req);
  if (limits_changed) engine_.set_limits(a->id, a->limits);
  return answer(c.req, http::status::ok,
                account_json(*a, engine_.standing(a->id)));
}

response service::control_account(const call& c, int event) {
  auto a = find_named(senders_, c);
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
  log::info(e == actors::account_event::pause    ? "account_paused"
            : e == actors::account_event::revoke ? "account_revoked"
                                                 : "account_resumed",
            {{"workspace", to_string(c.ws)}, {"account", to_string(a->id)}});
  return answer(c.req, http::status::ok,
                account_json(*a, engine_.standing(a->id)));
}

} // namespace herald::api
