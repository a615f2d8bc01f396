// Events from mailboxes and LinkedIn: POST /v1/events (idempotent by
// event_id), and the inbox of replies, GET /v1/inbox.

#include <array>
#include <chrono>
#include <future>

#include <prometheus/counter.h>
#include <prometheus/family.h>

#include "actors/runtime.hpp"
#include "api/handlers.hpp"
#include "api/log.hpp"
#include "storage/codec.hpp"
#include "storage/keys.hpp"

namespace herald::api {

namespace {

constexpr size_t max_event_id_bytes = 256;
constexpr size_t max_text_bytes = 20'000;
/// An event naming an email alone reaches at most this many of the
/// workspace's leads with that address.
constexpr size_t max_leads_per_email = 100;

enum class event_type : uint8_t {
  reply,
  auto_reply,
  bounce,
  unsubscribe,
  invite_accepted,
  linkedin_warning,
};

} // namespace

} // namespace herald::api

template<>
struct herald::enum_names<herald::api::event_type> {
  static constexpr std::array<std::string_view, 6> values{
    "reply",       "auto_reply",      "bounce",
    "unsubscribe", "invite_accepted", "linkedin_warning"};
};

namespace herald::api {

namespace {

// Mail providers whose domain is no company: a reply from one says nothing
// of the replier's colleagues.
bool free_mail(std::string_view domain) {
  static constexpr std::array<std::string_view, 14> list{
    "gmail.com",   "googlemail.com", "yahoo.com",      "outlook.com",
    "hotmail.com", "live.com",       "icloud.com",     "me.com",
    "aol.com",     "proton.me",      "protonmail.com", "gmx.de",
    "web.de",      "mail.ru"};
  for (auto d : list)
    if (d == domain) return true;
  return false;
}

struct event_body {
  std::string id;
  event_type type = event_type::reply;
  std::optional<lead_id> lead;
  std::string external_id;
  std::string email;
  std::optional<account_id> account;
  channel via = channel::email;
  std::string text;
  std::optional<time_point> return_date;
  std::optional<time_point> received_at;
};

std::variant<event_body, field_error> read_event(simdjson::dom::object obj) {
  event_body e;
  bool has_id = false, has_type = false;
  std::string why;
  for (auto f : obj) {
    std::string_view key = f.key;
    std::string k{key};
    if (key == "event_id") {
      auto s = string_field(f.value, max_event_id_bytes, false, why);
      if (!s) return field_error{k, k + " " + why};
      e.id = std::move(*s);
      has_id = true;
    } else if (key == "type") {
      auto t = enum_field<event_type>(f.value);
      if (!t)
        return field_error{k, "type must be one of reply, auto_reply, bounce, "
                              "unsubscribe, invite_accepted, "
                              "linkedin_warning"};
      e.type = *t;
      has_type = true;
    } else if (key == "lead") {
      std::string_view s;
      if (!f.value.get(s)) e.lead = parse_id<lead_id>(s);
      if (!e.lead) return field_error{k, "lead must be a lead id"};
    } else if (key == "external_id" || key == "email") {
      auto s = string_field(f.value, max_event_id_bytes, false, why);
      if (!s) return field_error{k, k + " " + why};
      (key == "email" ? e.email : e.external_id) = std::move(*s);
    } else if (key == "account") {
      std::string_view s;
      if (!f.value.get(s)) e.account = parse_id<account_id>(s);
      if (!e.account) return field_error{k, "account must be an account id"};
    } else if (key == "channel") {
      auto ch = enum_field<channel>(f.value);
      if (!ch) return field_error{k, "channel must be email or linkedin"};
      e.via = *ch;
    } else if (key == "text") {
      auto s = string_field(f.value, max_text_bytes, true, why);
      if (!s) return field_error{k, k + " " + why};
      e.text = std::move(*s);
    } else if (key == "return_date" || key == "received_at") {
      std::string_view s;
      std::optional<time_point> t;
      if (!f.value.get(s)) {
        t = parse_time(s);
        if (!t)
          if (auto d = parse_day(s))
            t = time_point{date::sys_days{d->time_since_epoch()}};
      }
      if (!t)
        return field_error{k, k + " must be an RFC 3339 UTC time or a date"};
      (key == "return_date" ? e.return_date : e.received_at) = t;
    } else {
      return field_error{k, "unknown field '" + k + "'"};
    }
  }
  if (!has_id) return field_error{"event_id", "event_id is required"};
  if (!has_type) return field_error{"type", "type is required"};
  return e;
}

json::object inbox_json(const storage::inbox_entry& x) {
  json::value seq = nullptr, account = nullptr, step = nullptr;
  if (x.sequence.valid()) seq = to_string(x.sequence);
  if (x.account.valid()) account = to_string(x.account);
  if (x.step > 0) step = x.step;
  return json::object{{"lead", to_string(x.lead)},
                      {"sequence", std::move(seq)},
                      {"step", std::move(step)},
                      {"account", std::move(account)},
                      {"channel", to_string(x.via)},
                      {"text", x.text},
                      {"received_at", format_time(x.received_at)}};
}

} // namespace

void service::write_then(storage::write_set record,
                         std::function<void(bool)> then) {
  if (record.empty()) return then(true);
  if (persister_ != nullptr)
    // post(), not submit(): this may run on the engine's threads, which
    // never wait for the queue's room.
    return persister_->post(
      std::move(record), [then = std::move(then)](const storage::status& ok) {
        then(static_cast<bool>(ok));
      });
  then(static_cast<bool>(db_.write(record, true)));
}

void service::deliver(workspace_id ws, lead_id lead, actors::lead_event e,
                      std::optional<time_point> back,
                      std::function<void(size_t)> then) {
  // The lead's index and its enrollments' snapshots are read on this thread,
  // not on the I/O pool: the request is this thread's work.
  actors::runtime::blocking_scope here;
  engine_.deliver_to_lead(ws, lead, e, back, std::move(then));
}

std::optional<size_t>
service::deliver_and_wait(workspace_id ws, lead_id lead, actors::lead_event e,
                          std::optional<time_point> back) {
  auto done = std::make_shared<std::promise<size_t>>();
  auto reached = done->get_future();
  deliver(ws, lead, e, back, [done](size_t n) { done->set_value(n); });
  if (drive_)
    while (reached.wait_for(std::chrono::seconds{0}) !=
           std::future_status::ready)
      drive_();
  if (reached.wait_for(answer_within_default) != std::future_status::ready)
    return std::nullopt;
  try {
    return reached.get();
  } catch (const std::future_error&) {
    return std::nullopt; // dropped: the engine stopped under it
  }
}

void service::post_event(const call& c, reply done) {
  auto body = json_body(c.req, options_.max_body_bytes);
  if (auto* r = std::get_if<response>(&body)) return done(std::move(*r));
  auto read = read_event(std::get<simdjson::dom::object>(body));
  if (auto* e = std::get_if<field_error>(&read))
    return done(invalid(c.req, e->field, e->message));
  auto ev = std::move(std::get<event_body>(read));
  // Answers may be made after the request is gone: from its version and
  // keep-alive alone.
  const auto head = shell_of(c.req);
  auto accepted = [head, id = ev.id](bool duplicate, size_t reached) {
    return answer(head, http::status::accepted,
                  json::object{{"event_id", id},
                               {"duplicate", duplicate},
                               {"enrollments", reached}});
  };
  auto event_key = storage::key::event(c.ws, ev.id);
  auto seen = db_.get(storage::cf::events, event_key);
  if (!seen) return done(storage_failed(c.req));
  if (events_ != nullptr) {
    static_assert(enum_names<event_type>::values.size() * 2 <=
                  std::tuple_size_v<decltype(event_series_)>);
    const bool duplicate = seen->has_value();
    auto& series =
      event_series_[static_cast<size_t>(ev.type) * 2 + (duplicate ? 1 : 0)];
    auto* counter = series.load(std::memory_order_acquire);
    if (counter == nullptr) {
      // Another thread may add it too: the family hands both the same one.
      counter = &events_->Add({{"type", std::string{to_string(ev.type)}},
                               {"duplicate", duplicate ? "true" : "false"}});
      series.store(counter, std::memory_order_release);
    }
    counter->Increment();
  }
  if (*seen) return done(accepted(true, 0));
  auto now = time_.now();
  auto received = ev.received_at.value_or(now);
  storage::write_set record;
  record.put(storage::cf::events, event_key,
             storage::encode_event_value(received));
  if (ev.account && !senders_.find(c.ws, *ev.account))
    return done(invalid(c.req, "account", "no such account in this workspace"));
  if (ev.type == event_type::linkedin_warning) {
    if (!ev.account)
      return done(
        invalid(c.req, "account", "a linkedin_warning names its account"));
    engine_.control(*ev.account, actors::account_event::linkedin_warning);
    log::info("account_warned", {{"workspace", to_string(c.ws)},
                                 {"account", to_string(*ev.account)}});
    return write_then(std::move(record),
                      [head, accepted, done = std::move(done)](bool ok) {
                        done(ok ? accepted(false, 0) : storage_failed(head));
                      });
  }
  // The lead: by id, else by external_id, else every lead of the workspace
  // with that email address.
  std::vector<lead_id> ids;
  // A lead named by external_id: its enrollments, read with its id.
  std::optional<std::vector<uint64_t>> enrollments;
  if (ev.lead) {
    ids.push_back(*ev.lead);
  } else if (!ev.external_id.empty()) {
    auto got = db_.get(storage::cf::leads,
                       storage::key::lead_external(c.ws, ev.external_id));
    if (!got) return done(storage_failed(c.req));
    if (*got) {
      auto x = storage::key::parse_lead_external(**got);
      if (!x) return done(storage_failed(c.req));
      ids.push_back(x->lead);
      enrollments.emplace();
      for (auto e : x->enrollments)
        enrollments->push_back(e.value);
    }
  } else if (!ev.email.empty()) {
    auto read = db_.scan_prefix(
      storage::cf::leads, storage::key::lead_emails_prefix(c.ws, ev.email),
      [&](std::string_view k, std::string_view) {
        if (auto x = storage::key::parse_lead_email(k)) ids.push_back(*x);
        return ids.size() < max_leads_per_email;
      });
    if (!read) return done(storage_failed(c.req));
  }
  const bool colleagues_matter =
    ev.type == event_type::reply && campaigns_.any(c.ws, [](const sequence& s) {
      return s.stop_on_colleague_reply && s.status != sequence_status::draft;
    });
  // The lead's record is read when its id came with the event (it must be
  // this workspace's) or its email is needed (its colleagues); an id from
  // the workspace's own index names one of its leads.
  const bool read_records = ev.lead.has_value() || colleagues_matter;
  std::vector<lead> who;
  for (auto id : ids) {
    if (!read_records) {
      lead known;
      known.id = id;
      who.push_back(std::move(known));
      continue;
    }
    auto stored = db_.get(storage::cf::leads, storage::key::lead(c.ws, id));
    if (!stored) return done(storage_failed(c.req));
    if (*stored)
      if (auto l = storage::decode_lead(**stored)) who.push_back(std::move(*l));
  }
  if (who.empty()) {
    const char* named = ev.lead                   ? "lead"
                        : !ev.external_id.empty() ? "external_id"
                        : !ev.email.empty()       ? "email"
                                                  : "lead";
    return done(invalid(c.req, named,
                        "no such lead in this workspace (name it by lead, "
                        "external_id or email)"));
  }
  auto kind =
    ev.type == event_type::reply         ? actors::lead_event::reply
    : ev.type == event_type::auto_reply  ? actors::lead_event::auto_reply
    : ev.type == event_type::bounce      ? actors::lead_event::bounce
    : ev.type == event_type::unsubscribe ? actors::lead_event::unsubscribe
                                         : actors::lead_event::invite_accepted;
  if (ev.type == event_type::reply || ev.type == event_type::auto_reply)
    for (const auto& l : who) {
      storage::inbox_entry entry;
      entry.lead = l.id;
      if (ev.account) entry.account = *ev.account;
      entry.via = ev.via;
      entry.text = ev.text;
      entry.received_at = received;
      record.put(storage::cf::inbox, storage::key::inbox(c.ws, received, l.id),
                 storage::encode(entry));
    }
  // Answered once every enrollment of every lead named applied the event: a
  // reply has halted the lead everywhere when this answers. The record
  // follows the last acknowledgement: it exists only once all of them
  // applied the event. A colleague's enrollments are reached (each activated
  // from storage) only when a launched sequence of the workspace stops on
  // such a reply.
  struct joined {
    std::atomic<size_t> left;
    std::atomic<size_t> reached{0};
    storage::write_set record;
    std::vector<std::pair<lead_id, std::string>> colleagues; // lead, domain
  };
  auto join = std::make_shared<joined>();
  join->left = who.size();
  join->record = std::move(record);
  if (ev.type == event_type::reply && colleagues_matter)
    for (const auto& l : who)
      if (auto domain = storage::key::email_domain(l.email);
          !domain.empty() && !free_mail(domain))
        join->colleagues.emplace_back(l.id, std::string{domain});
  auto ws = c.ws;
  auto each = [this, join, ws, head, accepted,
               done = std::move(done)](size_t n) {
    join->reached += n;
    if (join->left.fetch_sub(1) != 1) return;
    // Nobody waits for the colleagues: their reads go to the I/O pool, even
    // when the last acknowledgement came inline on the HTTP thread.
    actors::runtime::blocking_scope pool{false};
    for (const auto& [lead, domain] : join->colleagues)
      engine_.deliver_to_domain(ws, domain, lead,
                                actors::lead_event::colleague_replied, nullptr);
    write_then(std::move(join->record), [join, head, accepted, done](bool ok) {
      done(ok ? accepted(false, join->reached.load()) : storage_failed(head));
    });
  };
  if (enrollments) {
    // Read on this thread, like deliver()'s.
    actors::runtime::blocking_scope here;
    return engine_.deliver_to_enrollments(std::move(*enrollments), kind,
                                          ev.return_date, std::move(each));
  }
  for (const auto& l : who)
    deliver(c.ws, l.id, kind, ev.return_date, each);
}

response service::get_inbox(const call& c) {
  // Newest first: the keys say so.
  return key_list(c, db_, storage::cf::inbox,
                  [](std::string_view v) -> std::optional<json::object> {
                    auto x = storage::decode_inbox_entry(v);
                    if (!x) return std::nullopt;
                    return inbox_json(*x);
                  });
}

} // namespace herald::api
