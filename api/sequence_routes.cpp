// The routes of sequences: /v1/sequences, the review before launch, and the
// registration of launched sequences with the runtime.

#include <algorithm>
#include <charconv>
#include <limits>
#include <variant>

#include "actors/runtime.hpp"
#include "actors/webhook.hpp"
#include "api/handlers.hpp"
#include "api/log.hpp"
#include "engine/readiness.hpp"
#include "engine/templates.hpp"
#include "engine/zones.hpp"
#include "storage/keys.hpp"

namespace herald::api {

namespace {

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

// The step at `path` of a sequence's steps.
std::variant<step, field_error> read_step(simdjson::dom::element item,
                                          const std::string& path) {
  std::string why;
  simdjson::dom::object obj;
  if (item.get(obj)) return field_error{path, path + " must be an object"};
  step st;
  bool has_channel = false, has_template = false;
  for (auto f : obj) {
    std::string_view key = f.key;
    auto p = path + "." + std::string{key};
    if (key == "channel") {
      auto ch = enum_field<step_channel>(f.value);
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
      auto cond = enum_field<step_condition>(f.value);
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
                         std::to_string(max_invite_note_chars) + " characters"};
  return st;
}

std::optional<field_error> read_steps(simdjson::dom::element v,
                                      std::vector<step>& out) {
  out.clear();
  return each_item(v, "steps", max_steps,
                   "at most " + std::to_string(max_steps) + " steps",
                   [&](simdjson::dom::element item,
                       const std::string& path) -> std::optional<field_error> {
                     auto st = read_step(item, path);
                     if (auto* e = std::get_if<field_error>(&st)) return *e;
                     out.push_back(std::move(std::get<step>(st)));
                     return std::nullopt;
                   });
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
      auto m = enum_field<schedule_mode>(f.value);
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
      auto d = enum_field<delay_counting>(f.value);
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
        auto& pool =
          *ch == channel::email ? seq.senders.email : seq.senders.linkedin;
        auto listed = each_item(
          g.value, p, max_senders,
          "at most " + std::to_string(max_senders) + " senders in " + p,
          [&](simdjson::dom::element idv,
              const std::string& q) -> std::optional<field_error> {
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
            return std::nullopt;
          });
        if (listed) return listed;
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
    {"window", window_json(s.schedule.calendar.window)},
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
                     const sequences& campaigns, actors::runtime& engine,
                     actors::account_providers* providers,
                     actors::webhook_client* hooks) {
  for (const auto& a : senders.all()) {
    auto ws = registry.find(a.workspace);
    auto zone = find_zone(!a.timezone.empty() ? a.timezone
                          : ws                ? ws->timezone
                                              : std::string{});
    if (providers != nullptr && hooks != nullptr)
      providers->set(a.id, actors::provider_of(a.provider, *hooks));
    engine.add_account(a, zone);
  }
  for (const auto& s : campaigns.all())
    if (s.status != sequence_status::draft)
      if (auto ws = registry.find(s.workspace))
        if (auto env = sequence_env_of(s, *ws))
          engine.add_sequence(std::move(env), find_zone(ws->timezone));
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
  return list_answer<sequence_id>(
    c,
    [&](sequence_id after, size_t n) {
      return campaigns_.list(c.ws, after, n);
    },
    sequence_json);
}

response service::get_sequence(const call& c) {
  auto seq = find_named(campaigns_, c);
  if (!seq) return not_found(c.req, "sequence");
  return answer(c.req, http::status::ok, sequence_json(*seq));
}

response service::patch_sequence(const call& c) {
  auto seq = find_named(campaigns_, c);
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
  auto seq = find_named(campaigns_, c);
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
  auto seq = find_named(campaigns_, c);
  if (!seq) return not_found(c.req, "sequence");
  return answer(c.req, http::status::ok, readiness_json(readiness_of(*seq)));
}

// From the counters the runtime keeps as enrollments move: no scan. A draft
// has no enrollments (imports wait for the launch).
response service::sequence_stats(const call& c) {
  auto seq = find_named(campaigns_, c);
  if (!seq) return not_found(c.req, "sequence");
  auto f =
    engine_.figures(seq->id).value_or(actors::sequence_counters::figures{});
  json::array steps;
  for (size_t i = 0; i < seq->steps.size(); ++i) {
    auto s = i < f.steps.size() ? f.steps[i]
                                : actors::sequence_counters::step_figures{};
    steps.push_back(json::object{{"step", i + 1},
                                 {"waiting", s.waiting},
                                 {"sent", s.sent},
                                 {"skipped", s.skipped}});
  }
  json::object states;
  for (size_t i = 0; i < f.states.size(); ++i)
    states[to_string(static_cast<enrollment_state>(i))] = f.states[i];
  return answer(
    c.req, http::status::ok,
    json::object{{"steps", std::move(steps)}, {"states", std::move(states)}});
}

response service::launch_sequence(const call& c) {
  auto seq = find_named(campaigns_, c);
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
  log::info("sequence_launched",
            {{"workspace", to_string(c.ws)},
             {"sequence", to_string(seq->id)},
             {"steps", std::to_string(seq->steps.size())}});
  return answer(c.req, http::status::ok, sequence_json(*seq));
}

response service::set_sequence_status(const call& c, bool active) {
  auto seq = find_named(campaigns_, c);
  if (!seq) return not_found(c.req, "sequence");
  if (seq->status == sequence_status::draft)
    return error(c.req, http::status::conflict, "sequence_not_launched",
                 "a draft is launched, not paused or resumed");
  seq->status = active ? sequence_status::active : sequence_status::paused;
  if (auto ok = campaigns_.put(*seq); !ok) return storage_failed(c.req);
  auto ws = registry_.find(seq->workspace);
  if (auto env = ws ? sequence_env_of(*seq, *ws) : nullptr)
    engine_.add_sequence(std::move(env), find_zone(ws->timezone));
  // Every enrollment of the sequence keeps its place while paused.
  auto event = active ? actors::lead_event::resume : actors::lead_event::pause;
  auto read = db_.scan_prefix(
    storage::cf::leads, storage::key::sequence_leads_prefix(c.ws, seq->id),
    [&](std::string_view, std::string_view v) {
      if (auto e = parse_id<enrollment_id>(v)) engine_.deliver(*e, event);
      return true;
    });
  if (!read) return storage_failed(c.req);
  log::info(active ? "sequence_resumed" : "sequence_paused",
            {{"workspace", to_string(c.ws)}, {"sequence", to_string(seq->id)}});
  return answer(c.req, http::status::ok, sequence_json(*seq));
}

} // namespace herald::api
