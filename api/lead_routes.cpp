// A lead's view (its enrollments and history), a sequence's leads by state
// and step, and the preview of a step for a lead. Imports are in
// import_routes.cpp.

#include "actors/runtime.hpp"
#include "api/handlers.hpp"
#include "engine/templates.hpp"
#include "storage/history.hpp"

namespace herald::api {

namespace {

json::object lead_json(const lead& l) {
  json::object fields;
  for (const auto& [k, v] : l.fields)
    fields[k] = v;
  return json::object{
    {"id", to_string(l.id)},      {"external_id", l.external_id},
    {"email", l.email},           {"linkedin_url", l.linkedin_url},
    {"first_name", l.first_name}, {"last_name", l.last_name},
    {"company", l.company},       {"timezone", l.timezone},
    {"fields", std::move(fields)}};
}

// A stored lead of `ws` by its wire id; nullopt for none (or storage failing,
// which `failed` then says).
std::optional<lead> stored_lead(const storage::store& db, workspace_id ws,
                                std::string_view wire, bool& failed) {
  auto id = parse_id<lead_id>(wire);
  if (!id) return std::nullopt;
  auto got = db.get(storage::cf::leads, storage::key::lead(ws, *id));
  if (!got) {
    failed = true;
    return std::nullopt;
  }
  if (!*got) return std::nullopt;
  auto l = storage::decode_lead(**got);
  if (!l) {
    failed = true;
    return std::nullopt;
  }
  return std::move(*l);
}

} // namespace

response service::get_lead(const call& c) {
  bool failed = false;
  auto l = stored_lead(db_, c.ws, c.params[0], failed);
  if (failed) return storage_failed(c.req);
  if (!l) return not_found(c.req, "lead");
  json::array enrollments;
  auto ids = storage::read_lead_enrollments(db_, c.ws, l->id);
  if (!ids) return storage_failed(c.req);
  for (auto id : *ids) {
    auto got =
      db_.get(storage::cf::enrollments, storage::key::enrollment(c.ws, id));
    // Indexed before its first snapshot is written: not there yet.
    if (!got || !*got) continue;
    auto snap = storage::decode_snapshot(**got);
    if (!snap) continue;
    const auto& e = snap->e;
    json::value due = nullptr;
    if (e.phase != enrollment_phase::done) due = format_time(e.due);
    enrollments.emplace_back(json::object{{"id", to_string(e.id)},
                                          {"sequence", to_string(e.sequence)},
                                          {"state", to_string(e.state)},
                                          {"phase", to_string(e.phase)},
                                          {"next_step", e.position + 1},
                                          {"due", std::move(due)}});
  }
  auto lines = storage::read_lead_history(db_, c.ws, l->id);
  if (!lines) return storage_failed(c.req);
  json::array history;
  for (const auto& h : *lines) {
    json::object o{{"enrollment", to_string(h.enrollment)},
                   {"step", h.step + 1},
                   {"event", to_string(h.what)},
                   {"at", format_time(h.at)}};
    if (h.why != history_reason::none) o["reason"] = to_string(h.why);
    if (h.account.valid()) o["account"] = to_string(h.account);
    history.emplace_back(std::move(o));
  }
  auto out = lead_json(*l);
  out["enrollments"] = std::move(enrollments);
  out["history"] = std::move(history);
  return answer(c.req, http::status::ok, out);
}

response service::sequence_leads(const call& c) {
  auto seq = find_named(campaigns_, c);
  if (!seq) return not_found(c.req, "sequence");
  auto page = page_of<lead_id>(c.req, c.query);
  if (auto* r = std::get_if<response>(&page)) return std::move(*r);
  // Not a structured binding: clang 14 (the fuzz build) cannot capture one.
  const auto limit = std::get<0>(page).first;
  const auto after = std::get<0>(page).second;
  std::optional<enrollment_state> state;
  if (auto s = query_param(c.query, "state")) {
    state = parse_enum<enrollment_state>(*s);
    if (!state)
      return invalid(c.req, "state",
                     "state must be an enrollment state "
                     "(active, replied, completed, ...)");
  }
  std::optional<size_t> step;
  if (auto s = query_param(c.query, "step")) {
    size_t n = 0;
    auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), n);
    if (ec != std::errc{} || end != s->data() + s->size() || n < 1 ||
        n > seq->steps.size() + 1)
      return invalid(c.req, "step",
                     "step must be a step number from 1 to " +
                       std::to_string(seq->steps.size() + 1) +
                       " (the last: done)");
    step = n;
  }
  // In lead id order, from after the cursor.
  auto prefix = storage::key::sequence_leads_prefix(c.ws, seq->id);
  auto begin = after.valid()
                 ? storage::key::sequence_lead(c.ws, seq->id, after) + '\0'
                 : prefix;
  auto end = storage::key::sequence_lead(c.ws, seq->id, lead_id{~uint64_t{0}});
  json::array items;
  lead_id last;
  bool more = false;
  auto read =
    db_.scan(storage::cf::leads, begin, end + '\0',
             [&](std::string_view k, std::string_view v) {
               auto l = storage::key::parse_sequence_lead(k);
               auto e = parse_id<enrollment_id>(v);
               if (!l || !e) return true;
               auto got = db_.get(storage::cf::enrollments,
                                  storage::key::enrollment(c.ws, *e));
               if (!got || !*got) return true;
               auto snap = storage::decode_snapshot(**got);
               if (!snap) return true;
               const auto& x = snap->e;
               if (state && x.state != *state) return true;
               if (step && x.position + 1u != *step) return true;
               if (items.size() == limit) {
                 more = true;
                 return false;
               }
               json::value due = nullptr;
               if (x.phase != enrollment_phase::done) due = format_time(x.due);
               items.emplace_back(json::object{{"lead", to_string(*l)},
                                               {"enrollment", to_string(x.id)},
                                               {"state", to_string(x.state)},
                                               {"phase", to_string(x.phase)},
                                               {"next_step", x.position + 1},
                                               {"due", std::move(due)}});
               last = *l;
               return true;
             });
  if (!read) return storage_failed(c.req);
  json::value next = nullptr;
  if (more) next = to_string(last);
  return answer(c.req, http::status::ok,
                json::object{{"items", std::move(items)},
                             {"next_cursor", std::move(next)}});
}

response service::preview_step(const call& c) {
  auto seq = find_named(campaigns_, c);
  if (!seq) return not_found(c.req, "sequence");
  auto lead_param = query_param(c.query, "lead");
  if (!lead_param) return invalid(c.req, "lead", "lead is required");
  size_t n = 0;
  auto step_param = query_param(c.query, "step");
  if (step_param) {
    auto [end, ec] = std::from_chars(
      step_param->data(), step_param->data() + step_param->size(), n);
    if (ec != std::errc{} || end != step_param->data() + step_param->size())
      n = 0;
  }
  if (n < 1 || n > seq->steps.size())
    return invalid(c.req, "step",
                   "step must be a step number from 1 to " +
                     std::to_string(seq->steps.size()));
  bool failed = false;
  auto l = stored_lead(db_, c.ws, *lead_param, failed);
  if (failed) return storage_failed(c.req);
  if (!l) return not_found(c.req, "lead");
  const auto& st = seq->steps[n - 1];
  auto compiled = compiled_message::compile(st.message);
  if (!compiled)
    return invalid(c.req, "steps[" + std::to_string(n - 1) + "].template",
                   "the template does not parse: " + compiled.error().message);
  auto shown = compiled->render(*l);
  json::array missing;
  for (const auto& m : shown.missing_fields)
    missing.emplace_back(m);
  json::object out{{"step", n},
                   {"channel", to_string(st.channel)},
                   {"body", shown.body},
                   {"missing_fields", std::move(missing)},
                   {"approved", st.approved}};
  if (st.channel == step_channel::email) out["subject"] = shown.subject;
  return answer(c.req, http::status::ok, out);
}

} // namespace herald::api
