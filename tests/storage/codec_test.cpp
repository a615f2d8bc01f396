#include "storage/codec.hpp"

#include <gtest/gtest.h>

#include "codec_samples.hpp"

// Round trips and sizes.

namespace herald::storage {
namespace {

using namespace codec_samples;
using namespace std::chrono_literals;

TEST(Codec, WorkspaceRoundTripsEveryField) {
  expect_round_trip(full_workspace(), decode_workspace);
  expect_round_trip(workspace{}, decode_workspace);
}

TEST(Codec, AccountRoundTripsEveryField) {
  auto a = full_account();
  expect_round_trip(a, decode_sender_account);
  a.paused_until.reset();
  expect_round_trip(a, decode_sender_account);
  a.paused_until = time_point{}; // set, though to the epoch
  expect_round_trip(a, decode_sender_account);
  expect_round_trip(sender_account{}, decode_sender_account);
  a.provider = provider_settings{}; // simulated: nothing written for it
  auto hooked = a;
  hooked.provider = full_account().provider;
  // The kind, then the URL and the secret, each with its length.
  EXPECT_EQ(encode(a).size() + 1 + (1 + hooked.provider.url.size()) +
              (1 + hooked.provider.secret.size()),
            encode(hooked).size());
  expect_round_trip(a, decode_sender_account);
}

TEST(Codec, SequenceRoundTripsEveryField) {
  auto s = full_sequence();
  expect_round_trip(s, decode_sequence);
  s.new_leads_per_day = 0; // a cap of zero is not "no cap"
  s.stop_on_colleague_reply = false;
  expect_round_trip(s, decode_sequence);
  s.new_leads_per_day.reset();
  expect_round_trip(s, decode_sequence);
  expect_round_trip(sequence{}, decode_sequence);
}

TEST(Codec, LeadRoundTripsEveryFieldWithCustomFieldsInOrder) {
  expect_round_trip(full_lead(), decode_lead);
  expect_round_trip(lead{}, decode_lead);
}

TEST(Codec, EnrollmentRoundTripsEveryField) {
  expect_round_trip(full_enrollment(), decode_enrollment);
  expect_round_trip(enrollment{}, decode_enrollment);
  auto e = full_enrollment();
  e.paused = e.has_uncertain = false; // flags one at a time
  expect_round_trip(e, decode_enrollment);
  e.invite_sent = {};
  expect_round_trip(e, decode_enrollment);
  e.postponed_until = {};
  e.due = {};
  expect_round_trip(e, decode_enrollment);
}

TEST(Codec, SnapshotRoundTripsItsHistory) {
  expect_round_trip(full_snapshot(), decode_snapshot);
  expect_round_trip(enrollment_snapshot{}, decode_snapshot);
  // The state alone reads the same from it, and a snapshot without lines is
  // the enrollment's own encoding.
  auto e = decode_enrollment(encode(full_snapshot()));
  ASSERT_TRUE(e);
  expect_same(*e, full_enrollment());
  EXPECT_EQ(encode(enrollment_snapshot{full_enrollment(), {}}),
            encode(full_enrollment()));
  // Each line takes a few bytes: times are offsets from the last send.
  auto x = full_snapshot();
  x.history.pop_back();
  EXPECT_LE(encode(x).size(), encode(full_enrollment()).size() + 2 * 12);
}

TEST(Codec, StorageRecordsRoundTripEveryField) {
  expect_round_trip(full_history(), decode_history_entry);
  expect_round_trip(full_inbox(), decode_inbox_entry);
  expect_round_trip(full_dnc(), decode_do_not_contact);
  expect_round_trip(full_usage(), decode_usage_counters);
  expect_round_trip(full_key(), decode_api_key);
  expect_round_trip(usage_counters{UINT32_MAX, 0, 1}, decode_usage_counters);
  EXPECT_EQ(*decode_event_value(encode_event_value(t0)), t0);
}

TEST(Codec, EveryCaseReencodesToTheSameBytes) {
  for (const auto& c : all_cases()) {
    auto r = c.reencode(c.bytes);
    ASSERT_TRUE(r) << c.record << ": " << r.error().message;
    EXPECT_EQ(*r, c.bytes) << c.record;
  }
}

TEST(Codec, EncodeToAppendsToTheBuffer) {
  auto e = full_enrollment();
  std::string buffer = "prefix";
  encode_to(buffer, e);
  EXPECT_EQ(buffer, "prefix" + encode(e));
  buffer.clear();
  encode_to(buffer, full_history());
  encode_to(buffer, e);
  auto history_size = encode(full_history()).size();
  auto history =
    decode_history_entry(std::string_view{buffer}.substr(0, history_size));
  ASSERT_TRUE(history);
  expect_same(*history, full_history());
  auto back = decode_enrollment(std::string_view{buffer}.substr(history_size));
  ASSERT_TRUE(back);
  expect_same(*back, e);
}

TEST(Codec, NegativeAndExtremeTimesRoundTrip) {
  auto e = full_enrollment();
  e.last_sent = from_ms(-86'400'000);
  e.due = from_ms(max_ms);
  e.invite_sent = from_ms(min_ms);
  e.postponed_until = e.last_sent - duration{1};
  expect_round_trip(e, decode_enrollment);
  e.last_sent = from_ms(min_ms);
  e.due = from_ms(max_ms);
  e.invite_sent = from_ms(-1);
  e.postponed_until = from_ms(max_ms);
  expect_round_trip(e, decode_enrollment);

  auto a = full_account();
  a.paused_until = from_ms(-1);
  a.created_at = from_ms(min_ms);
  a.limits.spacing = duration{-5};
  a.limits.window = local_window{-30min, -1440min};
  expect_round_trip(a, decode_sender_account);

  auto s = full_sequence();
  s.schedule.day = duration{min_ms};
  expect_round_trip(s, decode_sequence);

  auto h = full_history();
  h.at = from_ms(min_ms);
  expect_round_trip(h, decode_history_entry);
  auto ib = full_inbox();
  ib.received_at = from_ms(-123'456'789);
  expect_round_trip(ib, decode_inbox_entry);
  auto dnc = full_dnc();
  dnc.added_at = from_ms(max_ms);
  expect_round_trip(dnc, decode_do_not_contact);
  auto k = full_key();
  k.created_at = from_ms(-2);
  expect_round_trip(k, decode_api_key);
  for (auto ms : {min_ms, int64_t{-1}, int64_t{0}, max_ms})
    EXPECT_EQ(*decode_event_value(encode_event_value(from_ms(ms))),
              from_ms(ms));
  // The epoch costs one byte after the version.
  EXPECT_EQ(encode_event_value(time_point{}).size(), 2u);
}

// -- compactness

TEST(Codec, RealisticW1EnrollmentFitsIn64Bytes) {
  // W1: position <= 4, a small generation, ids below 2^32 (here near the top,
  // the costliest), two senders, every time field set around 2026.
  enrollment e;
  e.id = enrollment_id{4'000'000'000};
  e.workspace = workspace_id{20};
  e.sequence = sequence_id{400};
  e.lead = lead_id{3'999'999'999};
  e.position = 4;
  e.attempt = 1;
  e.phase = enrollment_phase::waiting;
  e.generation = 12;
  e.invite_accepted = true;
  e.last_sent = t0 + 3h + 17min + 5'432ms;
  e.due = e.last_sent + days_ms(2) + 4h + 1'234ms;
  e.invite_sent = t0 - days_ms(7) + 2h;
  e.postponed_until = t0 + days_ms(1) + 9h;
  e.email_sender = account_id{4'000'000'123};
  e.linkedin_sender = account_id{4'000'000'456};
  auto size = encode(e).size();
  RecordProperty("w1_enrollment_bytes", static_cast<int>(size));
  EXPECT_LE(size, 64u) << "bytes: " << size;
  expect_round_trip(e, decode_enrollment);

  // The common case: small ids and no out-of-office postponement.
  e.id = enrollment_id{123'456};
  e.lead = lead_id{123'456};
  e.email_sender = account_id{7};
  e.linkedin_sender = account_id{12};
  e.postponed_until = {};
  EXPECT_LE(encode(e).size(), 40u) << "bytes: " << encode(e).size();
}

// -- failures

} // namespace
} // namespace herald::storage
