#include "storage/codec.hpp"

#include <gtest/gtest.h>

#include <random>

#include "storage/varint.hpp"

namespace herald::storage {
namespace {

const time_point t0 = from_ms(1'796'205'600'000); // 2026-12-01T10:00Z

enrollment full_enrollment() {
  enrollment e;
  e.id = enrollment_id{123'456};
  e.workspace = workspace_id{17};
  e.sequence = sequence_id{18};
  e.lead = lead_id{99'999};
  e.position = 3;
  e.attempt = 2;
  e.state = enrollment_state::active;
  e.phase = enrollment_phase::awaiting_slot;
  e.generation = 41;
  e.paused = true;
  e.lead_replied = true;
  e.invite_accepted = true;
  e.has_uncertain = true;
  e.last_sent = t0;
  e.due = t0 + days_ms(3) + duration{12'345};
  e.invite_sent = t0 - days_ms(4);
  e.postponed_until = t0 + days_ms(10);
  e.email_sender = account_id{5};
  e.linkedin_sender = account_id{13};
  return e;
}

void expect_same(const enrollment& a, const enrollment& b) {
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

sequence full_sequence() {
  sequence s;
  s.id = sequence_id{7};
  s.workspace = workspace_id{3};
  s.name = "Q4 — agencies";
  s.steps = {
    step{step_channel::linkedin_invite,
         0,
         step_condition::always,
         {"", "Hi {{first_name}}"},
         true},
    step{step_channel::email,
         3,
         step_condition::no_reply,
         {"Re: {{company}}", "Body"},
         false},
    step{step_channel::linkedin_message,
         -2,
         step_condition::no_reply,
         {"", "ü"},
         true},
  };
  s.status = sequence_status::paused;
  s.senders.email = {account_id{1}, account_id{2}};
  s.senders.linkedin = {account_id{300}};
  s.schedule.mode = schedule_mode::relative;
  s.schedule.calendar.window =
    local_window{std::chrono::minutes{22 * 60}, std::chrono::minutes{6 * 60}};
  s.schedule.calendar.days = weekday_set{0x15};
  s.schedule.calendar.holidays = {date::local_days{date::days{20'811}},
                                  date::local_days{date::days{-5}}};
  s.schedule.counting = delay_counting::sending_days;
  s.schedule.day = duration{1000};
  s.new_leads_per_day = 250;
  s.stop_on_colleague_reply = true;
  return s;
}

TEST(Codec, EnrollmentRoundTripsEveryField) {
  auto e = full_enrollment();
  auto d = decode_enrollment(encode(e));
  ASSERT_TRUE(d) << d.error().message;
  expect_same(*d, e);
  enrollment blank; // epoch times and no flags
  auto b = decode_enrollment(encode(blank));
  ASSERT_TRUE(b);
  expect_same(*b, blank);
}

TEST(Codec, EnrollmentTimesRoundTripAtAnyDistanceAndSign) {
  auto e = full_enrollment();
  e.last_sent = from_ms(-86'400'000);
  e.due = from_ms(std::numeric_limits<int64_t>::max());
  e.invite_sent = from_ms(std::numeric_limits<int64_t>::min() + 1);
  e.postponed_until = e.last_sent - duration{1};
  auto d = decode_enrollment(encode(e));
  ASSERT_TRUE(d);
  expect_same(*d, e);
}

TEST(Codec, AW1EnrollmentIsCompact) {
  auto e = full_enrollment();
  e.position = 1;
  e.attempt = 1;
  e.generation = 3;
  e.paused = e.lead_replied = e.has_uncertain = false;
  e.postponed_until = {};
  auto bytes = encode(e).size();
  EXPECT_LE(bytes, 40u) << "bytes: " << bytes; // the goal is about 100
}

TEST(Codec, SequenceRoundTripsEveryField) {
  auto s = full_sequence();
  auto d = decode_sequence(encode(s));
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->id, s.id);
  EXPECT_EQ(d->workspace, s.workspace);
  EXPECT_EQ(d->name, s.name);
  ASSERT_EQ(d->steps.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(d->steps[i].channel, s.steps[i].channel);
    EXPECT_EQ(d->steps[i].delay_days, s.steps[i].delay_days);
    EXPECT_EQ(d->steps[i].condition, s.steps[i].condition);
    EXPECT_EQ(d->steps[i].message.subject, s.steps[i].message.subject);
    EXPECT_EQ(d->steps[i].message.body, s.steps[i].message.body);
    EXPECT_EQ(d->steps[i].approved, s.steps[i].approved);
  }
  EXPECT_EQ(d->status, s.status);
  EXPECT_EQ(d->senders.email, s.senders.email);
  EXPECT_EQ(d->senders.linkedin, s.senders.linkedin);
  EXPECT_EQ(d->schedule.mode, s.schedule.mode);
  EXPECT_EQ(d->schedule.calendar, s.schedule.calendar);
  EXPECT_EQ(d->schedule.counting, s.schedule.counting);
  EXPECT_EQ(d->schedule.day, s.schedule.day);
  EXPECT_EQ(d->new_leads_per_day, s.new_leads_per_day);
  EXPECT_EQ(d->stop_on_colleague_reply, s.stop_on_colleague_reply);
}

TEST(Codec, WorkspaceAccountAndLeadRoundTrip) {
  workspace ws{workspace_id{9},
               "Acme",
               "Europe/Berlin",
               {date::local_days{date::days{20'800}}}};
  auto w = decode_workspace(encode(ws));
  ASSERT_TRUE(w);
  EXPECT_EQ(w->name, "Acme");
  EXPECT_EQ(w->timezone, "Europe/Berlin");
  EXPECT_EQ(w->holidays, ws.holidays);

  sender_account acc;
  acc.id = account_id{4};
  acc.workspace = workspace_id{9};
  acc.name = "sales@acme.test";
  acc.kind = channel::linkedin;
  acc.timezone = "Asia/Tokyo";
  acc.limits.daily_cap = 77;
  acc.limits.ramp = warmup{5, 6, 70};
  acc.limits.spacing = std::chrono::seconds{90};
  acc.limits.jitter = std::chrono::seconds{33};
  acc.limits.window =
    local_window{std::chrono::minutes{480}, std::chrono::minutes{1080}};
  acc.limits.days = weekday_set::monday_to_friday();
  acc.limits.invites_per_day = 21;
  acc.limits.invites_per_week = 101;
  acc.limits.messages_per_day = 51;
  acc.status = account_status::warned;
  acc.paused_until = t0 + std::chrono::hours{24};
  acc.created_at = t0 - days_ms(40);
  auto a = decode_account(encode(acc));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->name, acc.name);
  EXPECT_EQ(a->kind, acc.kind);
  EXPECT_EQ(a->timezone, acc.timezone);
  EXPECT_EQ(a->limits.daily_cap, 77u);
  EXPECT_EQ(a->limits.ramp.increment, 6u);
  EXPECT_EQ(a->limits.ramp.ceiling, 70u);
  EXPECT_EQ(a->limits.spacing, acc.limits.spacing);
  EXPECT_EQ(a->limits.jitter, acc.limits.jitter);
  EXPECT_EQ(a->limits.window, acc.limits.window);
  EXPECT_EQ(a->limits.days, acc.limits.days);
  EXPECT_EQ(a->limits.invites_per_week, 101u);
  EXPECT_EQ(a->limits.messages_per_day, 51u);
  EXPECT_EQ(a->status, account_status::warned);
  EXPECT_EQ(a->paused_until, acc.paused_until);
  EXPECT_EQ(a->created_at, acc.created_at);

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
  l.fields = {{"industry", "computing"}, {"size", "2"}};
  auto d = decode_lead(encode(l));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->external_id, "crm-77");
  EXPECT_EQ(d->linkedin_url, l.linkedin_url);
  EXPECT_EQ(d->company, "Engines Ltd");
  EXPECT_EQ(d->fields, l.fields);
}

TEST(Codec, SmallRecordsRoundTrip) {
  send_intent in{
    enrollment_id{8}, 2, 3, account_id{4}, step_channel::linkedin_message, t0};
  auto i = decode_send_intent(encode(in));
  ASSERT_TRUE(i);
  EXPECT_EQ(i->enrollment, in.enrollment);
  EXPECT_EQ(i->attempt, 3);
  EXPECT_EQ(i->kind, step_channel::linkedin_message);
  EXPECT_EQ(i->created_at, t0);

  history_entry h{enrollment_id{8},       1,
                  history_event::skipped, history_reason::invite_not_accepted,
                  account_id{2},          t0};
  auto hd = decode_history_entry(encode(h));
  ASSERT_TRUE(hd);
  EXPECT_EQ(hd->what, history_event::skipped);
  EXPECT_EQ(hd->why, history_reason::invite_not_accepted);

  inbox_entry ib{lead_id{5},        sequence_id{6},       2, account_id{7},
                 channel::linkedin, "Thanks, let's talk", t0};
  auto id = decode_inbox_entry(encode(ib));
  ASSERT_TRUE(id);
  EXPECT_EQ(id->text, ib.text);
  EXPECT_EQ(id->via, channel::linkedin);

  do_not_contact dnc{"example.test", true, t0};
  auto dd = decode_do_not_contact(encode(dnc));
  ASSERT_TRUE(dd);
  EXPECT_TRUE(dd->domain);
  EXPECT_EQ(dd->value, "example.test");

  auto u = decode_usage_counters(encode(usage_counters{40, 20, 10}));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->invites, 20u);

  api_key k{key_id{3}, workspace_id{9}, std::string("\x00\xff\x10", 3), t0};
  auto kd = decode_api_key(encode(k));
  ASSERT_TRUE(kd);
  EXPECT_EQ(kd->hash, k.hash);

  EXPECT_EQ(*decode_due_value(encode_due_value(4'000'000'000u)),
            4'000'000'000u);
  EXPECT_EQ(*decode_event_value(encode_event_value(t0)), t0);
}

TEST(Codec, AnotherVersionIsAClearError) {
  auto bytes = encode(full_enrollment());
  bytes[0] = 7;
  auto d = decode_enrollment(bytes);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, codec_error::unknown_version);
  EXPECT_EQ(d.error().message,
            "enrollment record version 7; this build reads version 1");
  auto s = encode(full_sequence());
  s[0] = 2;
  EXPECT_EQ(decode_sequence(s).error().code, codec_error::unknown_version);
  EXPECT_EQ(
    decode_usage_counters(std::string{"\x09\x01\x01\x01", 4}).error().code,
    codec_error::unknown_version);
}

TEST(Codec, EveryTruncationIsAnError) {
  for (const auto& bytes :
       {encode(full_enrollment()), encode(full_sequence())}) {
    bool is_enrollment = bytes == encode(full_enrollment());
    for (size_t n = 0; n < bytes.size(); ++n) {
      auto prefix = std::string_view{bytes}.substr(0, n);
      if (is_enrollment)
        EXPECT_FALSE(decode_enrollment(prefix)) << n;
      else
        EXPECT_FALSE(decode_sequence(prefix)) << n;
    }
  }
  auto e = decode_enrollment(
    std::string_view{encode(full_enrollment())}.substr(0, 20));
  EXPECT_EQ(e.error().code, codec_error::truncated);
  EXPECT_NE(e.error().message.find("enrollment record truncated in"),
            std::string::npos);
}

TEST(Codec, TrailingBytesAndBadEnumsAreRejected) {
  auto bytes = encode(full_enrollment()) + "x";
  EXPECT_EQ(decode_enrollment(bytes).error().code, codec_error::trailing_bytes);
  send_intent in{enrollment_id{8},    2, 3, account_id{4},
                 step_channel::email, t0};
  auto raw = encode(in);
  // version, enrollment, step, attempt, account, then the channel byte
  raw[5] = 9;
  auto d = decode_send_intent(raw);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, codec_error::bad_value);
  EXPECT_NE(d.error().message.find("channel"), std::string::npos);
}

TEST(Codec, OverlongVarintsAreBadValues) {
  std::string bytes{"\x01"};
  bytes.append(11, '\xff');
  EXPECT_EQ(decode_usage_counters(bytes).error().code, codec_error::bad_value);
  std::string_view big{"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10};
  uint64_t v = 0;
  EXPECT_EQ(get_varint(big, v), varint_status::ok);
  EXPECT_EQ(v, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(
    decode_due_value(std::string{"\x01\xff\xff\xff\xff\x1f", 6}).error().code,
    codec_error::bad_value); // past 32 bits
}

TEST(Codec, GarbageNeverCrashesNorAllocatesWildly) {
  std::mt19937_64 rng{7};
  size_t decoded_ok = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string bytes(rng() % 64, '\0');
    for (auto& c : bytes)
      c = static_cast<char>(rng());
    if (!bytes.empty() && i % 2 == 0)
      bytes[0] = 1; // past the version check, into the fields
    decoded_ok += decode_enrollment(bytes).has_value();
    decoded_ok += decode_sequence(bytes).has_value();
    decoded_ok += decode_lead(bytes).has_value();
    decoded_ok += decode_account(bytes).has_value();
    decoded_ok += decode_workspace(bytes).has_value();
    decoded_ok += decode_inbox_entry(bytes).has_value();
  }
  // A count of 10^18 steps in a 64-byte value is refused before any allocation.
  std::string huge{"\x01\x01\x01\x00"};
  put_varint(huge, uint64_t{1} << 60);
  EXPECT_EQ(decode_sequence(huge).error().code, codec_error::truncated);
  EXPECT_LT(decoded_ok, 5000u);
}

} // namespace
} // namespace herald::storage
