#include "storage/codec.hpp"

#include <limits>
#include <utility>
#include <vector>

#include "storage/record_io.hpp"
#include "storage/varint.hpp"

namespace herald::storage {

namespace {

using detail::reader;
using detail::writer;

template<class T>
std::string encoded(const T& x) {
  std::string out;
  encode_to(out, x);
  return out;
}

constexpr uint8_t all_weekdays = 0x7F;

// Elements take at least this many bytes (the smallest encoding of each).
constexpr size_t min_id_bytes = 1;
constexpr size_t min_day_bytes = 1;
constexpr size_t min_field_bytes = 2; // two empty strings
// channel, delay, condition, two empty strings, approved
constexpr size_t min_step_bytes = 6;

} // namespace

// -- workspace
// -------------------------------------------------------------------------------

void encode_to(std::string& out, const workspace& x) {
  writer w{out};
  w.id(x.id).str(x.name).str(x.timezone);
  w.list(x.holidays, [&](date::local_days d) { w.day(d); });
}

decoded<workspace> decode_workspace(std::string_view bytes) {
  reader r{bytes, "workspace"};
  workspace x;
  x.id = r.id<workspace_id>("id");
  x.name = r.str("name");
  x.timezone = r.str("timezone");
  x.holidays = r.list<date::local_days>("holidays", min_day_bytes,
                                        [&] { return r.day(""); });
  return r.finish(std::move(x));
}

// -- sender account
// --------------------------------------------------------------------------

namespace {

enum account_flags : uint8_t {
  flag_paused_until = 1,
  // A provider other than the simulated one: its kind, URL and secret follow
  // the creation time (records written before it have none).
  flag_provider = 2,
};

} // namespace

void encode_to(std::string& out, const sender_account& x) {
  writer w{out};
  const auto& l = x.limits;
  w.id(x.id).id(x.workspace).str(x.name).e(x.kind).str(x.timezone);
  w.u(l.daily_cap).u(l.ramp.start).u(l.ramp.increment).u(l.ramp.ceiling);
  w.d(l.spacing).d(l.jitter);
  w.s(l.window.start.count()).s(l.window.end.count()).byte(l.days.bits);
  w.u(l.invites_per_day).u(l.invites_per_week).u(l.messages_per_day);
  bool provider = x.provider.kind != provider_kind::sim;
  w.e(x.status).byte((x.paused_until ? flag_paused_until : 0) |
                     (provider ? flag_provider : 0));
  if (x.paused_until) w.t(*x.paused_until);
  w.t(x.created_at);
  if (provider) w.e(x.provider.kind).str(x.provider.url).str(x.provider.secret);
}

decoded<sender_account> decode_sender_account(std::string_view bytes) {
  reader r{bytes, "account"};
  sender_account x;
  auto& l = x.limits;
  x.id = r.id<account_id>("id");
  x.workspace = r.id<workspace_id>("workspace");
  x.name = r.str("name");
  x.kind = r.e<channel>("kind");
  x.timezone = r.str("timezone");
  l.daily_cap = r.unsigned_as<uint32_t>("limits.daily_cap");
  l.ramp.start = r.unsigned_as<uint32_t>("limits.ramp.start");
  l.ramp.increment = r.unsigned_as<uint32_t>("limits.ramp.increment");
  l.ramp.ceiling = r.unsigned_as<uint32_t>("limits.ramp.ceiling");
  l.spacing = r.d("limits.spacing");
  l.jitter = r.d("limits.jitter");
  l.window.start = std::chrono::minutes{r.s("limits.window.start")};
  l.window.end = std::chrono::minutes{r.s("limits.window.end")};
  l.days = weekday_set{r.flags("limits.days", all_weekdays)};
  l.invites_per_day = r.unsigned_as<uint32_t>("limits.invites_per_day");
  l.invites_per_week = r.unsigned_as<uint32_t>("limits.invites_per_week");
  l.messages_per_day = r.unsigned_as<uint32_t>("limits.messages_per_day");
  x.status = r.e<account_status>("status");
  auto flags = r.flags("flags", flag_paused_until | flag_provider);
  if (flags & flag_paused_until) x.paused_until = r.t("paused_until");
  x.created_at = r.t("created_at");
  if (flags & flag_provider) {
    x.provider.kind = r.e<provider_kind>("provider.kind");
    x.provider.url = r.str("provider.url");
    x.provider.secret = r.str("provider.secret");
  }
  return r.finish(std::move(x));
}

// -- sequence
// --------------------------------------------------------------------------------

namespace {

enum sequence_flags : uint8_t {
  flag_new_leads_cap = 1,
  flag_stop_on_colleague_reply = 2,
};

} // namespace

void encode_to(std::string& out, const sequence& x) {
  writer w{out};
  w.id(x.id).id(x.workspace).str(x.name);
  w.list(x.steps, [&](const step& st) {
    w.e(st.channel).s(st.delay_days).e(st.condition);
    w.str(st.message.subject).str(st.message.body).b(st.approved);
  });
  w.e(x.status);
  auto write_id = [&](account_id id) { w.id(id); };
  w.list(x.senders.email, write_id).list(x.senders.linkedin, write_id);
  const auto& sc = x.schedule;
  const auto& cal = sc.calendar;
  w.e(sc.mode).s(cal.window.start.count()).s(cal.window.end.count());
  w.byte(cal.days.bits);
  w.list(cal.holidays, [&](date::local_days d) { w.day(d); });
  w.e(sc.counting).d(sc.day);
  w.byte((x.new_leads_per_day ? flag_new_leads_cap : 0) |
         (x.stop_on_colleague_reply ? flag_stop_on_colleague_reply : 0));
  if (x.new_leads_per_day) w.u(*x.new_leads_per_day);
}

decoded<sequence> decode_sequence(std::string_view bytes) {
  reader r{bytes, "sequence"};
  sequence x;
  x.id = r.id<sequence_id>("id");
  x.workspace = r.id<workspace_id>("workspace");
  x.name = r.str("name");
  x.steps = r.list<step>("steps", min_step_bytes, [&] {
    step st;
    st.channel = r.e<step_channel>("channel");
    st.delay_days = r.signed_as<int32_t>("delay_days");
    st.condition = r.e<step_condition>("condition");
    st.message.subject = r.str("template.subject");
    st.message.body = r.str("template.body");
    st.approved = r.b("approved");
    return st;
  });
  x.status = r.e<sequence_status>("status");
  auto read_id = [&] { return r.id<account_id>(""); };
  x.senders.email = r.list<account_id>("senders.email", min_id_bytes, read_id);
  x.senders.linkedin =
    r.list<account_id>("senders.linkedin", min_id_bytes, read_id);
  auto& sc = x.schedule;
  auto& cal = sc.calendar;
  sc.mode = r.e<schedule_mode>("schedule.mode");
  cal.window.start =
    std::chrono::minutes{r.s("schedule.calendar.window.start")};
  cal.window.end = std::chrono::minutes{r.s("schedule.calendar.window.end")};
  cal.days = weekday_set{r.flags("schedule.calendar.days", all_weekdays)};
  cal.holidays = r.list<date::local_days>(
    "schedule.calendar.holidays", min_day_bytes, [&] { return r.day(""); });
  sc.counting = r.e<delay_counting>("schedule.counting");
  sc.day = r.d("schedule.day");
  auto flags =
    r.flags("flags", flag_new_leads_cap | flag_stop_on_colleague_reply);
  x.stop_on_colleague_reply = flags & flag_stop_on_colleague_reply;
  if (flags & flag_new_leads_cap)
    x.new_leads_per_day = r.unsigned_as<uint32_t>("new_leads_per_day");
  return r.finish(std::move(x));
}

// -- lead
// ------------------------------------------------------------------------------------

void encode_to(std::string& out, const lead& x) {
  writer w{out};
  w.id(x.id).id(x.workspace).str(x.external_id).str(x.email);
  w.str(x.linkedin_url).str(x.first_name).str(x.last_name).str(x.company);
  w.str(x.timezone);
  w.list(x.fields, [&](const std::pair<std::string, std::string>& f) {
    w.str(f.first).str(f.second);
  });
}

decoded<lead> decode_lead(std::string_view bytes) {
  reader r{bytes, "lead"};
  lead x;
  x.id = r.id<lead_id>("id");
  x.workspace = r.id<workspace_id>("workspace");
  x.external_id = r.str("external_id");
  x.email = r.str("email");
  x.linkedin_url = r.str("linkedin_url");
  x.first_name = r.str("first_name");
  x.last_name = r.str("last_name");
  x.company = r.str("company");
  x.timezone = r.str("timezone");
  x.fields =
    r.list<std::pair<std::string, std::string>>("fields", min_field_bytes, [&] {
      auto name = r.str("name");
      auto value = r.str("value");
      return std::pair{std::move(name), std::move(value)};
    });
  return r.finish(std::move(x));
}

// -- storage records
// -------------------------------------------------------------------------

void encode_to(std::string& out, const history_entry& x) {
  writer w{out};
  w.id(x.enrollment).u(x.step).e(x.what).e(x.why).id(x.account).t(x.at);
}

decoded<history_entry> decode_history_entry(std::string_view bytes) {
  reader r{bytes, "history entry"};
  history_entry x;
  x.enrollment = r.id<enrollment_id>("enrollment");
  x.step = r.unsigned_as<uint16_t>("step");
  x.what = r.e<history_event>("what");
  x.why = r.e<history_reason>("why");
  x.account = r.id<account_id>("account");
  x.at = r.t("at");
  return r.finish(x);
}

void encode_to(std::string& out, const inbox_entry& x) {
  writer w{out};
  w.id(x.lead).id(x.sequence).u(x.step).id(x.account).e(x.via);
  w.str(x.text).t(x.received_at);
}

decoded<inbox_entry> decode_inbox_entry(std::string_view bytes) {
  reader r{bytes, "inbox entry"};
  inbox_entry x;
  x.lead = r.id<lead_id>("lead");
  x.sequence = r.id<sequence_id>("sequence");
  x.step = r.unsigned_as<uint16_t>("step");
  x.account = r.id<account_id>("account");
  x.via = r.e<channel>("via");
  x.text = r.str("text");
  x.received_at = r.t("received_at");
  return r.finish(std::move(x));
}

void encode_to(std::string& out, const do_not_contact& x) {
  writer{out}.str(x.value).b(x.domain).t(x.added_at);
}

decoded<do_not_contact> decode_do_not_contact(std::string_view bytes) {
  reader r{bytes, "do-not-contact"};
  do_not_contact x;
  x.value = r.str("value");
  x.domain = r.b("domain");
  x.added_at = r.t("added_at");
  return r.finish(std::move(x));
}

void encode_to(std::string& out, const usage_counters& x) {
  writer{out}.u(x.emails).u(x.invites).u(x.messages);
}

decoded<usage_counters> decode_usage_counters(std::string_view bytes) {
  reader r{bytes, "usage counters"};
  usage_counters x;
  x.emails = r.unsigned_as<uint32_t>("emails");
  x.invites = r.unsigned_as<uint32_t>("invites");
  x.messages = r.unsigned_as<uint32_t>("messages");
  return r.finish(x);
}

void encode_to(std::string& out, const api_key& x) {
  writer{out}.id(x.id).id(x.workspace).str(x.hash).t(x.created_at);
}

decoded<api_key> decode_api_key(std::string_view bytes) {
  reader r{bytes, "api key"};
  api_key x;
  x.id = r.id<key_id>("id");
  x.workspace = r.id<workspace_id>("workspace");
  x.hash = r.str("hash");
  x.created_at = r.t("created_at");
  return r.finish(std::move(x));
}

// -- encode
// ----------------------------------------------------------------------------------

std::string encode(const workspace& x) { return encoded(x); }
std::string encode(const sender_account& x) { return encoded(x); }
std::string encode(const sequence& x) { return encoded(x); }
std::string encode(const lead& x) { return encoded(x); }
std::string encode(const history_entry& x) { return encoded(x); }
std::string encode(const inbox_entry& x) { return encoded(x); }
std::string encode(const do_not_contact& x) { return encoded(x); }
std::string encode(const usage_counters& x) { return encoded(x); }
std::string encode(const api_key& x) { return encoded(x); }

// -- index values
// ----------------------------------------------------------------------------

std::string encode_event_value(time_point received_at) {
  std::string out;
  writer{out}.t(received_at);
  return out;
}

decoded<time_point> decode_event_value(std::string_view bytes) {
  reader r{bytes, "processed event"};
  auto at = r.t("received_at");
  return r.finish(at);
}

} // namespace herald::storage
