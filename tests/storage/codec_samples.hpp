#pragma once

// Records with every field set, comparisons and per-record cases shared by the
// codec tests.

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "storage/codec.hpp"
#include "storage/varint.hpp"

namespace herald::storage::codec_samples {

using namespace std::chrono_literals;

inline const time_point t0 = from_ms(1'780'304'400'000); // 2026-06-01T09:00Z

constexpr int64_t min_ms = std::numeric_limits<int64_t>::min();
constexpr int64_t max_ms = std::numeric_limits<int64_t>::max();

// -- records with every field set to something other than its default

inline workspace full_workspace() {
  return workspace{workspace_id{9},
                   "Acme Outreach",
                   "Europe/Berlin",
                   {date::local_days{date::year{1969} / 7 / 20},
                    date::local_days{date::year{2026} / 12 / 25}}};
}

inline sender_account full_account() {
  sender_account a;
  a.id = account_id{4};
  a.workspace = workspace_id{9};
  a.name = "sales@acme.test";
  a.kind = channel::linkedin;
  a.timezone = "Asia/Tokyo";
  a.limits.daily_cap = 77;
  a.limits.ramp = warmup{5, 6, 70};
  a.limits.spacing = 90s;
  a.limits.jitter = 33s;
  a.limits.window = local_window{22h, 6h};
  a.limits.days = weekday_set{0x2A};
  a.limits.invites_per_day = 21;
  a.limits.invites_per_week = 101;
  a.limits.messages_per_day = 51;
  a.status = account_status::warned;
  a.paused_until = t0 + 24h;
  a.created_at = t0 - days_ms(40);
  a.provider = provider_settings{provider_kind::webhook,
                                 "http://127.0.0.1:8025/send", "s3cret"};
  return a;
}

inline sequence full_sequence() {
  sequence s;
  s.id = sequence_id{7};
  s.workspace = workspace_id{3};
  s.name = "Q4 — agencies";
  s.steps = {
    step{step_channel::linkedin_invite,
         1,
         step_condition::no_reply,
         {"unused subject", "first step body"},
         true},
    step{step_channel::email,
         3,
         step_condition::always,
         {"Re: {{company}}", "second step body"},
         true},
    step{step_channel::linkedin_message,
         -2,
         step_condition::no_reply,
         {"", "third step body, ü"},
         true},
  };
  s.status = sequence_status::paused;
  s.senders.email = {account_id{1}, account_id{2}};
  s.senders.linkedin = {account_id{300}};
  s.schedule.mode = schedule_mode::relative;
  s.schedule.calendar.window = local_window{21h, 7h};
  s.schedule.calendar.days = weekday_set{0x15};
  s.schedule.calendar.holidays = {date::local_days{date::days{-5}},
                                  date::local_days{date::year{2026} / 5 / 1}};
  s.schedule.counting = delay_counting::sending_days;
  s.schedule.day = duration{1000};
  s.new_leads_per_day = 250;
  s.stop_on_colleague_reply = true;
  return s;
}

inline lead full_lead() {
  lead l;
  l.id = lead_id{1234};
  l.workspace = workspace_id{9};
  l.external_id = "crm-77";
  l.email = "ada@example.test";
  l.linkedin_url = "https://www.linkedin.com/in/ada";
  l.first_name = "Ada";
  l.last_name = "Lovelace";
  l.company = "Engines Ltd";
  l.timezone = "Europe/London";
  l.fields = {{"industry", "computing"}, {"size", "2"}, {"", ""}};
  return l;
}

inline enrollment full_enrollment() {
  enrollment e;
  e.id = enrollment_id{123'456};
  e.workspace = workspace_id{17};
  e.sequence = sequence_id{18};
  e.lead = lead_id{99'999};
  e.position = 3;
  e.attempt = 2;
  e.state = enrollment_state::uncertain;
  e.phase = enrollment_phase::sending;
  e.generation = 41;
  e.paused = true;
  e.lead_replied = true;
  e.invite_accepted = true;
  e.has_uncertain = true;
  e.due = t0 + days_ms(3) + duration{12'345};
  e.last_sent = t0;
  e.invite_sent = t0 - days_ms(4);
  e.postponed_until = t0 + days_ms(10);
  e.email_sender = account_id{5};
  e.linkedin_sender = account_id{13};
  return e;
}

inline history_entry full_history() {
  return history_entry{
    enrollment_id{8},       1,
    history_event::skipped, history_reason::invite_not_accepted,
    account_id{2},          t0};
}

// A snapshot with history lines before and after its last send, one without
// an account.
inline enrollment_snapshot full_snapshot() {
  enrollment_snapshot x{full_enrollment(), {}};
  auto line = full_history();
  line.enrollment = x.e.id;
  x.history.push_back(line);
  line.step = 2;
  line.what = history_event::sent;
  line.why = history_reason::none;
  line.at = x.e.last_sent - days_ms(2);
  x.history.push_back(line);
  line.step = 3;
  line.what = history_event::postponed;
  line.why = history_reason::auto_reply;
  line.account = account_id{};
  line.at = from_ms(max_ms);
  x.history.push_back(line);
  return x;
}

inline inbox_entry full_inbox() {
  return inbox_entry{lead_id{5},        sequence_id{6},       2, account_id{7},
                     channel::linkedin, "Thanks, let's talk", t0};
}

inline do_not_contact full_dnc() {
  return do_not_contact{"example.test", true, t0};
}

inline usage_counters full_usage() { return usage_counters{40, 20, 10}; }

inline api_key full_key() {
  return api_key{key_id{3}, workspace_id{9}, std::string("\x00\xff\x10", 3),
                 t0};
}

// -- field-by-field comparisons (the records have no operator==)

inline void expect_same(const workspace& a, const workspace& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.timezone, b.timezone);
  EXPECT_EQ(a.holidays, b.holidays);
}

inline void expect_same(const sender_account& a, const sender_account& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.workspace, b.workspace);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.timezone, b.timezone);
  EXPECT_EQ(a.limits.daily_cap, b.limits.daily_cap);
  EXPECT_EQ(a.limits.ramp.start, b.limits.ramp.start);
  EXPECT_EQ(a.limits.ramp.increment, b.limits.ramp.increment);
  EXPECT_EQ(a.limits.ramp.ceiling, b.limits.ramp.ceiling);
  EXPECT_EQ(a.limits.spacing, b.limits.spacing);
  EXPECT_EQ(a.limits.jitter, b.limits.jitter);
  EXPECT_EQ(a.limits.window, b.limits.window);
  EXPECT_EQ(a.limits.days, b.limits.days);
  EXPECT_EQ(a.limits.invites_per_day, b.limits.invites_per_day);
  EXPECT_EQ(a.limits.invites_per_week, b.limits.invites_per_week);
  EXPECT_EQ(a.limits.messages_per_day, b.limits.messages_per_day);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.paused_until, b.paused_until);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.provider, b.provider);
}

inline void expect_same(const sequence& a, const sequence& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.workspace, b.workspace);
  EXPECT_EQ(a.name, b.name);
  ASSERT_EQ(a.steps.size(), b.steps.size());
  for (size_t i = 0; i < a.steps.size(); ++i) {
    SCOPED_TRACE("steps[" + std::to_string(i) + "]");
    EXPECT_EQ(a.steps[i].channel, b.steps[i].channel);
    EXPECT_EQ(a.steps[i].delay_days, b.steps[i].delay_days);
    EXPECT_EQ(a.steps[i].condition, b.steps[i].condition);
    EXPECT_EQ(a.steps[i].message.subject, b.steps[i].message.subject);
    EXPECT_EQ(a.steps[i].message.body, b.steps[i].message.body);
    EXPECT_EQ(a.steps[i].approved, b.steps[i].approved);
  }
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.senders.email, b.senders.email);
  EXPECT_EQ(a.senders.linkedin, b.senders.linkedin);
  EXPECT_EQ(a.schedule.mode, b.schedule.mode);
  EXPECT_EQ(a.schedule.calendar.window, b.schedule.calendar.window);
  EXPECT_EQ(a.schedule.calendar.days, b.schedule.calendar.days);
  EXPECT_EQ(a.schedule.calendar.holidays, b.schedule.calendar.holidays);
  EXPECT_EQ(a.schedule.counting, b.schedule.counting);
  EXPECT_EQ(a.schedule.day, b.schedule.day);
  EXPECT_EQ(a.new_leads_per_day, b.new_leads_per_day);
  EXPECT_EQ(a.stop_on_colleague_reply, b.stop_on_colleague_reply);
}

inline void expect_same(const lead& a, const lead& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.workspace, b.workspace);
  EXPECT_EQ(a.external_id, b.external_id);
  EXPECT_EQ(a.email, b.email);
  EXPECT_EQ(a.linkedin_url, b.linkedin_url);
  EXPECT_EQ(a.first_name, b.first_name);
  EXPECT_EQ(a.last_name, b.last_name);
  EXPECT_EQ(a.company, b.company);
  EXPECT_EQ(a.timezone, b.timezone);
  EXPECT_EQ(a.fields, b.fields);
}

inline void expect_same(const enrollment& a, const enrollment& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.workspace, b.workspace);
  EXPECT_EQ(a.sequence, b.sequence);
  EXPECT_EQ(a.lead, b.lead);
  EXPECT_EQ(a.position, b.position);
  EXPECT_EQ(a.attempt, b.attempt);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.phase, b.phase);
  EXPECT_EQ(a.generation, b.generation);
  EXPECT_EQ(a.paused, b.paused);
  EXPECT_EQ(a.lead_replied, b.lead_replied);
  EXPECT_EQ(a.invite_accepted, b.invite_accepted);
  EXPECT_EQ(a.has_uncertain, b.has_uncertain);
  EXPECT_EQ(a.due, b.due);
  EXPECT_EQ(a.last_sent, b.last_sent);
  EXPECT_EQ(a.invite_sent, b.invite_sent);
  EXPECT_EQ(a.postponed_until, b.postponed_until);
  EXPECT_EQ(a.email_sender, b.email_sender);
  EXPECT_EQ(a.linkedin_sender, b.linkedin_sender);
}

inline void expect_same(const history_entry& a, const history_entry& b) {
  EXPECT_EQ(a.enrollment, b.enrollment);
  EXPECT_EQ(a.step, b.step);
  EXPECT_EQ(a.what, b.what);
  EXPECT_EQ(a.why, b.why);
  EXPECT_EQ(a.account, b.account);
  EXPECT_EQ(a.at, b.at);
}

inline void expect_same(const enrollment_snapshot& a,
                        const enrollment_snapshot& b) {
  expect_same(a.e, b.e);
  ASSERT_EQ(a.history.size(), b.history.size());
  for (size_t i = 0; i < a.history.size(); ++i)
    expect_same(a.history[i], b.history[i]);
}

inline void expect_same(const inbox_entry& a, const inbox_entry& b) {
  EXPECT_EQ(a.lead, b.lead);
  EXPECT_EQ(a.sequence, b.sequence);
  EXPECT_EQ(a.step, b.step);
  EXPECT_EQ(a.account, b.account);
  EXPECT_EQ(a.via, b.via);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.received_at, b.received_at);
}

inline void expect_same(const do_not_contact& a, const do_not_contact& b) {
  EXPECT_EQ(a.value, b.value);
  EXPECT_EQ(a.domain, b.domain);
  EXPECT_EQ(a.added_at, b.added_at);
}

inline void expect_same(const usage_counters& a, const usage_counters& b) {
  EXPECT_EQ(a.emails, b.emails);
  EXPECT_EQ(a.invites, b.invites);
  EXPECT_EQ(a.messages, b.messages);
}

inline void expect_same(const api_key& a, const api_key& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.workspace, b.workspace);
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_EQ(a.created_at, b.created_at);
}

template<class T>
inline void expect_round_trip(const T& x,
                              decoded<T> (*decode)(std::string_view bytes)) {
  auto bytes = encode(x);
  auto d = decode(bytes);
  ASSERT_TRUE(d) << d.error().message;
  expect_same(*d, x);
  EXPECT_EQ(encode(*d), bytes);
}

// -- every record type behind one interface, for the checks that apply to all

using reencoded = result<std::string, decode_failure>;

struct record_case {
  std::string_view record; // as failure messages name it
  std::string bytes;       // a valid encoding
  // Decodes a value and encodes what it got again.
  std::function<reencoded(std::string_view)> reencode;
};

template<class T>
inline record_case make_case(std::string_view record, const T& x,
                             decoded<T> (*decode)(std::string_view bytes)) {
  return {record, encode(x), [decode](std::string_view bytes) -> reencoded {
            auto d = decode(bytes);
            if (!d) return d.error();
            return encode(*d);
          }};
}

inline std::vector<record_case> all_cases() {
  auto blank_account = full_account();
  blank_account.paused_until.reset();
  blank_account.provider = provider_settings{}; // the layout before providers
  auto uncapped = full_sequence();
  uncapped.new_leads_per_day.reset();
  uncapped.stop_on_colleague_reply = false;
  return {
    make_case("workspace", full_workspace(), decode_workspace),
    make_case("account", full_account(), decode_sender_account),
    make_case("account", blank_account, decode_sender_account),
    make_case("sequence", full_sequence(), decode_sequence),
    make_case("sequence", uncapped, decode_sequence),
    make_case("sequence", sequence{}, decode_sequence),
    make_case("lead", full_lead(), decode_lead),
    make_case("enrollment", full_enrollment(), decode_enrollment),
    make_case("enrollment", enrollment{}, decode_enrollment),
    make_case("enrollment", full_snapshot(), decode_snapshot),
    make_case("history entry", full_history(), decode_history_entry),
    make_case("inbox entry", full_inbox(), decode_inbox_entry),
    make_case("do-not-contact", full_dnc(), decode_do_not_contact),
    make_case("usage counters", full_usage(), decode_usage_counters),
    make_case("api key", full_key(), decode_api_key),
    {"processed event", encode_event_value(t0),
     [](std::string_view bytes) -> reencoded {
       auto d = decode_event_value(bytes);
       if (!d) return d.error();
       return encode_event_value(*d);
     }},
  };
}

// The offset of the first byte in which `a` and `b` differ: with two records
// that differ in one field, where that field's encoding starts.
inline size_t first_difference(const std::string& a, const std::string& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i])
    ++i;
  return i;
}

inline std::string varint(uint64_t v) {
  std::string out;
  put_varint(out, v);
  return out;
}

// `a` and `b` differ only in an enum field named `field` with `size`
// enumerators: its first invalid value and 0xff are bad values, its last valid
// one decodes.
template<class T>
inline void expect_enum_checked(const T& a, const T& b,
                                decoded<T> (*decode)(std::string_view bytes),
                                std::string_view field, size_t size) {
  SCOPED_TRACE(std::string{field});
  auto bytes = encode(a);
  auto at = first_difference(bytes, encode(b));
  ASSERT_LT(at, bytes.size());
  bytes[at] = static_cast<char>(size - 1);
  EXPECT_TRUE(decode(bytes));
  for (size_t bad : {size, size_t{0xff}}) {
    bytes[at] = static_cast<char>(bad);
    auto d = decode(bytes);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code, codec_error::bad_value);
    EXPECT_NE(d.error().message.find(std::string{field} + ": enumerator " +
                                     std::to_string(bad) + " of " +
                                     std::to_string(size)),
              std::string::npos)
      << d.error().message;
  }
}

// -- round trips

} // namespace herald::storage::codec_samples
