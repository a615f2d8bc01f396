// The import of leads into a sequence: POST /v1/sequences/{id}/leads, a JSON
// array or NDJSON lines. Each valid lead is stored (once per workspace, by
// its external_id) and enrolled (once per sequence); each invalid one is
// listed with its index and why.

#include <mutex>
#include <unordered_set>

#include "actors/runtime.hpp"
#include "api/handlers.hpp"
#include "engine/hash.hpp"
#include "engine/templates.hpp"
#include "engine/zones.hpp"
#include "storage/history.hpp"

namespace herald::api {

namespace {

constexpr size_t max_external_id_bytes = 256;
constexpr size_t max_email_bytes = 254;
constexpr size_t max_url_bytes = 512;
constexpr size_t max_fields = 50;
constexpr size_t max_field_key_bytes = 64;
constexpr size_t max_field_value_bytes = 2000;
// Leads are written and enrolled in batches of this many: an import holds
// at most one batch in memory beyond its body.
constexpr size_t batch_size = 1000;

bool plausible_email(std::string_view s) {
  auto at = s.find('@');
  return at != std::string_view::npos && at > 0 && at + 1 < s.size() &&
         s.find('@', at + 1) == std::string_view::npos &&
         s.find(' ') == std::string_view::npos &&
         s.find('.', at + 1) != std::string_view::npos;
}

bool plausible_linkedin(std::string_view s) {
  return (s.starts_with("https://") || s.starts_with("http://")) &&
         s.find("linkedin.com/") != std::string_view::npos &&
         s.find(' ') == std::string_view::npos;
}

// One lead of an import, checked; the field that is wrong otherwise.
std::variant<lead, field_error> read_lead(simdjson::dom::element v) {
  simdjson::dom::object obj;
  if (v.get(obj)) return field_error{"", "a lead must be a JSON object"};
  lead l;
  std::string why;
  bool has_external = false;
  for (auto f : obj) {
    std::string_view key = f.key;
    std::string k{key};
    auto text = [&](size_t max, bool may_be_empty) {
      return string_field(f.value, max, may_be_empty, why);
    };
    if (key == "external_id") {
      auto s = text(max_external_id_bytes, false);
      if (!s) return field_error{k, k + " " + why};
      l.external_id = std::move(*s);
      has_external = true;
    } else if (key == "email") {
      auto s = text(max_email_bytes, true);
      if (!s) return field_error{k, k + " " + why};
      if (!s->empty() && !plausible_email(*s))
        return field_error{k, "email is not an address"};
      l.email = std::move(*s);
    } else if (key == "linkedin_url") {
      auto s = text(max_url_bytes, true);
      if (!s) return field_error{k, k + " " + why};
      if (!s->empty() && !plausible_linkedin(*s))
        return field_error{k, "linkedin_url is not a LinkedIn profile URL"};
      l.linkedin_url = std::move(*s);
    } else if (key == "first_name" || key == "last_name" || key == "company") {
      auto s = text(max_name_bytes, true);
      if (!s) return field_error{k, k + " " + why};
      (key == "first_name"  ? l.first_name
       : key == "last_name" ? l.last_name
                            : l.company) = std::move(*s);
    } else if (key == "timezone") {
      auto s = text(max_zone_bytes, true);
      if (!s) return field_error{k, k + " " + why};
      if (!s->empty() && find_zone(*s) == nullptr)
        return field_error{k, "unknown time zone '" + *s + "'"};
      l.timezone = std::move(*s);
    } else if (key == "fields") {
      simdjson::dom::object fields;
      if (f.value.get(fields))
        return field_error{k, "fields must be an object of strings"};
      for (auto g : fields) {
        std::string name{std::string_view{g.key}};
        auto p = "fields." + name;
        if (l.fields.size() == max_fields)
          return field_error{k, "at most " + std::to_string(max_fields) +
                                  " fields"};
        if (name.empty() || name.size() > max_field_key_bytes)
          return field_error{p, "a field's name is 1 to " +
                                  std::to_string(max_field_key_bytes) +
                                  " bytes"};
        auto value = string_field(g.value, max_field_value_bytes, true, why);
        if (!value) return field_error{p, p + " " + why};
        l.fields.emplace_back(std::move(name), std::move(*value));
      }
    } else {
      return field_error{k, "unknown field '" + k + "'"};
    }
  }
  if (!has_external)
    return field_error{"external_id", "external_id is required"};
  if (l.email.empty() && l.linkedin_url.empty())
    return field_error{"email", "a lead needs an email or a linkedin_url"};
  return l;
}

// The sender of `pool` for lead `l`: spread by a hash of the lead's id.
account_id pick_sender(const std::vector<account_id>& pool, lead_id l) {
  if (pool.empty()) return {};
  return pool[splitmix64(l.value) % pool.size()];
}

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
  std::optional<storage::storage_error> bad;
  auto read = db_.scan_prefix(
    storage::cf::leads, storage::key::lead_enrollments_prefix(c.ws, l->id),
    [&](std::string_view k, std::string_view) {
      auto id = storage::key::parse_lead_enrollment(k);
      if (!id) return true;
      auto got =
        db_.get(storage::cf::enrollments, storage::key::enrollment(c.ws, *id));
      // Indexed before its first snapshot is written: not there yet.
      if (!got || !*got) return true;
      auto snap = storage::decode_snapshot(**got);
      if (!snap) return true;
      const auto& e = snap->e;
      json::value due = nullptr;
      if (e.phase != enrollment_phase::done) due = format_time(e.due);
      enrollments.emplace_back(json::object{{"id", to_string(e.id)},
                                            {"sequence", to_string(e.sequence)},
                                            {"state", to_string(e.state)},
                                            {"phase", to_string(e.phase)},
                                            {"next_step", e.position + 1},
                                            {"due", std::move(due)}});
      return true;
    });
  if (!read) return storage_failed(c.req);
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
  auto [limit, after] = std::get<0>(page);
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

response service::import_leads(const call& c) {
  auto seq = find_named(campaigns_, c);
  if (!seq) return not_found(c.req, "sequence");
  if (seq->status == sequence_status::draft)
    return error(c.req, http::status::conflict, "sequence_not_launched",
                 "launch the sequence before enrolling leads: an enrollment "
                 "starts at once");
  auto type = c.req[http::field::content_type];
  std::string_view media{type.data(), type.size()};
  media = media.substr(0, media.find(';'));
  while (!media.empty() && media.back() == ' ')
    media.remove_suffix(1);
  bool ndjson = media == "application/x-ndjson";
  if (!ndjson && media != "application/json")
    return error(c.req, http::status::unsupported_media_type,
                 "unsupported_media_type",
                 "leads come as application/json (an array) or "
                 "application/x-ndjson (one per line)");
  if (c.req.body().size() > options_.max_body_bytes)
    return error(c.req, http::status::payload_too_large, "body_too_large",
                 "the body is larger than " +
                   std::to_string(options_.max_body_bytes) + " bytes");
  // One import at a time: two of the same external_id must not both create
  // the lead.
  std::lock_guard lk{import_mu_};
  uint64_t enrolled = 0, duplicates = 0;
  json::array rejected;
  auto reject = [&](size_t index, const field_error& e, std::string code) {
    json::object err{{"code", std::move(code)}, {"message", e.message}};
    if (!e.field.empty()) err["field"] = e.field;
    rejected.emplace_back(
      json::object{{"index", index}, {"error", std::move(err)}});
  };
  std::vector<std::pair<enrollment, std::shared_ptr<const lead>>> batch;
  // The external ids enrolled by the batch not yet written: their storage
  // entries do not exist yet, so a second occurrence is found here.
  std::unordered_set<std::string> in_batch;
  storage::write_set writes;
  std::optional<response> failed;
  // Writes the batch's leads and memberships durably, then enrolls them.
  auto flush = [&] {
    if (writes.empty()) return;
    if (auto ok = db_.write(writes, true); !ok) {
      failed = storage_failed(c.req);
      return;
    }
    writes = {};
    for (auto& [e, contact] : batch)
      if (engine_.enroll(e, std::move(contact), false)) ++enrolled;
    batch.clear();
    in_batch.clear();
  };
  auto take = [&](size_t index, simdjson::dom::element v) {
    auto read = read_lead(v);
    if (auto* e = std::get_if<field_error>(&read))
      return reject(index, *e, "invalid_field");
    auto l = std::make_shared<lead>(std::move(std::get<lead>(read)));
    l->workspace = c.ws;
    if (auto entry = blocked(c.ws, l->email))
      return reject(
        index,
        {"email", "the lead is on the do-not-contact list (" + *entry + ")"},
        "do_not_contact");
    if (in_batch.contains(l->external_id)) {
      ++duplicates;
      return;
    }
    auto ext_key = storage::key::lead_external(c.ws, l->external_id);
    auto known = db_.get(storage::cf::leads, ext_key);
    if (!known) {
      failed = storage_failed(c.req);
      return;
    }
    std::optional<lead_id> id;
    if (*known) id = parse_id<lead_id>(**known);
    if (id) {
      auto member = db_.get(storage::cf::leads,
                            storage::key::sequence_lead(c.ws, seq->id, *id));
      if (!member) {
        failed = storage_failed(c.req);
        return;
      }
      if (*member) {
        ++duplicates;
        return;
      }
      l->id = *id;
    } else {
      l->id = lead_id{random_id()};
      writes.put(storage::cf::leads, storage::key::lead(c.ws, l->id),
                 storage::encode(*l));
      writes.put(storage::cf::leads, ext_key, to_string(l->id));
      if (!l->email.empty())
        writes.put(storage::cf::leads,
                   storage::key::lead_email(c.ws, l->email, l->id), {});
    }
    enrollment e;
    e.id = enrollment_id{random_id()};
    e.workspace = c.ws;
    e.sequence = seq->id;
    e.lead = l->id;
    e.email_sender = pick_sender(seq->senders.email, l->id);
    e.linkedin_sender = pick_sender(seq->senders.linkedin, l->id);
    writes.put(storage::cf::leads,
               storage::key::sequence_lead(c.ws, seq->id, l->id),
               to_string(e.id));
    // The lead's and its company's index entries, durable before this
    // answers: an event that follows at once must find the enrollment
    // (enroll() queues the same entries behind the group commit).
    writes.put(storage::cf::leads,
               storage::key::lead_enrollment(c.ws, l->id, e.id), {});
    if (auto domain = storage::key::email_domain(l->email); !domain.empty())
      writes.put(storage::cf::leads,
                 storage::key::domain_enrollment(c.ws, domain, l->id, e.id),
                 {});
    in_batch.insert(l->external_id);
    batch.emplace_back(e, std::move(l));
    if (batch.size() >= batch_size) flush();
  };
  if (ndjson) {
    std::string_view body{c.req.body()};
    size_t index = 0;
    while (!body.empty() && !failed) {
      auto nl = body.find('\n');
      auto line = body.substr(0, nl);
      body.remove_prefix(nl == std::string_view::npos ? body.size() : nl + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") == std::string_view::npos) {
        ++index;
        continue;
      }
      simdjson::dom::element v;
      if (auto err = json_parser().parse(line.data(), line.size()).get(v))
        reject(
          index,
          {"", std::string{"not valid JSON: "} + simdjson::error_message(err)},
          "invalid_json");
      else
        take(index, v);
      ++index;
    }
  } else {
    simdjson::dom::element doc;
    simdjson::dom::array arr;
    if (auto err = json_parser().parse(c.req.body()).get(doc))
      return error(c.req, http::status::bad_request, "invalid_json",
                   std::string{"the body is not valid JSON: "} +
                     simdjson::error_message(err));
    if (doc.get(arr))
      return error(c.req, http::status::bad_request, "invalid_json",
                   "the body must be a JSON array of leads");
    size_t index = 0;
    for (auto v : arr) {
      if (failed) break;
      take(index++, v);
    }
  }
  if (!failed) flush();
  if (failed) return std::move(*failed);
  return answer(c.req, http::status::ok,
                json::object{{"enrolled", enrolled},
                             {"duplicates", duplicates},
                             {"rejected", std::move(rejected)}});
}

} // namespace herald::api
