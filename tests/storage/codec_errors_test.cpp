#include "storage/codec.hpp"

#include <gtest/gtest.h>

#include "codec_samples.hpp"

// What does not decode: versions, truncation, bad values, garbage.

namespace herald::storage {
namespace {

using namespace codec_samples;
using namespace std::chrono_literals;

TEST(Codec, AnotherVersionIsAClearErrorForEveryRecord) {
  for (const auto& c : all_cases()) {
    for (int version : {0, 2, 7, 255}) {
      auto bytes = c.bytes;
      bytes[0] = static_cast<char>(version);
      auto r = c.reencode(bytes);
      ASSERT_FALSE(r) << c.record;
      EXPECT_EQ(r.error().code, codec_error::unknown_version) << c.record;
      EXPECT_EQ(r.error().message, std::string{c.record} + " record version " +
                                     std::to_string(version) +
                                     "; this build reads version 1");
    }
  }
  auto e = encode(full_enrollment());
  e[0] = 7;
  EXPECT_EQ(decode_enrollment(e).error().message,
            "enrollment record version 7; this build reads version 1");
  EXPECT_EQ(to_string(decode_enrollment(e).error().code), "unknown_version");
}

TEST(Codec, EveryTruncationOfEveryRecordIsAnError) {
  for (const auto& c : all_cases()) {
    for (size_t n = 0; n < c.bytes.size(); ++n) {
      auto r = c.reencode(std::string_view{c.bytes}.substr(0, n));
      ASSERT_FALSE(r) << c.record << " cut to " << n << " bytes";
      EXPECT_EQ(r.error().code, codec_error::truncated)
        << c.record << " cut to " << n << " bytes: " << r.error().message;
      EXPECT_EQ(r.error().message.rfind(
                  std::string{c.record} + " record truncated in ", 0),
                0u)
        << r.error().message;
    }
  }
  EXPECT_EQ(decode_enrollment("").error().message,
            "enrollment record truncated in version");
}

TEST(Codec, TruncationNamesTheListElementAndField) {
  auto bytes = encode(full_sequence());
  auto body = bytes.find("third step body");
  ASSERT_NE(body, std::string::npos);
  auto d = decode_sequence(std::string_view{bytes}.substr(0, body + 3));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, codec_error::truncated);
  EXPECT_EQ(d.error().message,
            "sequence record truncated in steps[2].template.body");

  auto l = encode(full_lead());
  auto size = l.find("\x04size");
  ASSERT_NE(size, std::string::npos);
  auto dl = decode_lead(std::string_view{l}.substr(0, size + 2));
  ASSERT_FALSE(dl);
  EXPECT_EQ(dl.error().message, "lead record truncated in fields[1].name");
}

TEST(Codec, HugeCountsAreTruncatedBeforeAnyAllocation) {
  // version, id, workspace, an empty name, then 10^9 steps in a few bytes
  std::string seq{"\x01\x01\x01\x00", 4};
  seq += varint(1'000'000'000) + std::string(3, '\0');
  auto d = decode_sequence(seq);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, codec_error::truncated);
  EXPECT_EQ(d.error().message,
            "sequence record truncated in steps (1000000000 elements in 3 "
            "bytes)");

  // Counts a little above what the bytes could hold are refused too: six steps
  // need at least 36 bytes.
  std::string six{"\x01\x01\x01\x00\x06", 5};
  six.append(35, '\0');
  EXPECT_EQ(decode_sequence(six).error().code, codec_error::truncated);

  std::string ws{"\x01\x01\x00\x00", 4};
  ws += varint(uint64_t{1} << 60);
  EXPECT_EQ(decode_workspace(ws).error().code, codec_error::truncated);

  std::string ld{"\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00", 10};
  ld += varint(std::numeric_limits<uint64_t>::max()) + "ab";
  EXPECT_EQ(decode_lead(ld).error().code, codec_error::truncated);

  // A string length past the end.
  std::string dnc{"\x01", 1};
  dnc += varint(uint64_t{1} << 40) + "example";
  auto dd = decode_do_not_contact(dnc);
  ASSERT_FALSE(dd);
  EXPECT_EQ(dd.error().message, "do-not-contact record truncated in value");
}

TEST(Codec, TrailingBytesAreRejectedForEveryRecord) {
  for (const auto& c : all_cases()) {
    auto r = c.reencode(c.bytes + '\0');
    ASSERT_FALSE(r) << c.record;
    EXPECT_EQ(r.error().code, codec_error::trailing_bytes) << c.record;
    EXPECT_EQ(r.error().message, std::string{c.record} +
                                   " record has 1 byte after its last field");
    auto more = c.reencode(c.bytes + "xyz");
    ASSERT_FALSE(more);
    EXPECT_EQ(more.error().code, codec_error::trailing_bytes);
  }
}

TEST(Codec, OutOfRangeEnumsAreRejected) {
  auto e = full_enrollment();
  auto e2 = e;
  e2.state = enrollment_state::active;
  expect_enum_checked(e, e2, decode_enrollment, "state",
                      enum_names<enrollment_state>::values.size());
  e2 = e;
  e2.phase = enrollment_phase::waiting;
  expect_enum_checked(e, e2, decode_enrollment, "phase",
                      enum_names<enrollment_phase>::values.size());

  auto x = full_snapshot();
  auto x2 = x;
  x2.history[1].what = history_event::scheduled;
  expect_enum_checked(x, x2, decode_snapshot, "history[1].what",
                      enum_names<history_event>::values.size());
  x2 = x;
  x2.history[1].why = history_reason::lead_replied;
  expect_enum_checked(x, x2, decode_snapshot, "history[1].why",
                      enum_names<history_reason>::values.size());

  auto a = full_account();
  auto a2 = a;
  a2.kind = channel::email;
  expect_enum_checked(a, a2, decode_sender_account, "kind",
                      enum_names<channel>::values.size());
  a2 = a;
  a2.status = account_status::active;
  expect_enum_checked(a, a2, decode_sender_account, "status",
                      enum_names<account_status>::values.size());

  auto s = full_sequence();
  auto s2 = s;
  s2.steps[1].channel = step_channel::linkedin_message;
  expect_enum_checked(s, s2, decode_sequence, "steps[1].channel",
                      enum_names<step_channel>::values.size());
  s2 = s;
  s2.steps[2].condition = step_condition::always;
  expect_enum_checked(s, s2, decode_sequence, "steps[2].condition",
                      enum_names<step_condition>::values.size());
  s2 = s;
  s2.status = sequence_status::draft;
  expect_enum_checked(s, s2, decode_sequence, "status",
                      enum_names<sequence_status>::values.size());
  s2 = s;
  s2.schedule.mode = schedule_mode::calendar;
  expect_enum_checked(s, s2, decode_sequence, "schedule.mode",
                      enum_names<schedule_mode>::values.size());
  s2 = s;
  s2.schedule.counting = delay_counting::calendar_days;
  expect_enum_checked(s, s2, decode_sequence, "schedule.counting",
                      enum_names<delay_counting>::values.size());

  auto h = full_history();
  auto h2 = h;
  h2.what = history_event::sent;
  expect_enum_checked(h, h2, decode_history_entry, "what",
                      enum_names<history_event>::values.size());
  h2 = h;
  h2.why = history_reason::none;
  expect_enum_checked(h, h2, decode_history_entry, "why",
                      enum_names<history_reason>::values.size());

  auto ib = full_inbox();
  auto ib2 = ib;
  ib2.via = channel::email;
  expect_enum_checked(ib, ib2, decode_inbox_entry, "via",
                      enum_names<channel>::values.size());
}

TEST(Codec, BadBoolsFlagsAndOutOfRangeNumbersAreRejected) {
  auto expect_bad = [](const auto& d, std::string_view message) {
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code, codec_error::bad_value);
    EXPECT_EQ(d.error().message, message);
  };

  auto dnc = full_dnc();
  auto dnc_bytes = encode(dnc);
  dnc.domain = false;
  auto at = first_difference(dnc_bytes, encode(dnc));
  dnc_bytes[at] = 2;
  expect_bad(decode_do_not_contact(dnc_bytes),
             "do-not-contact record has a bad value in domain: bool 2");

  auto e = full_enrollment();
  auto e_bytes = encode(e);
  e.paused = false;
  at = first_difference(e_bytes, encode(e));
  e_bytes[at] = static_cast<char>(e_bytes[at] | 0x40);
  expect_bad(decode_enrollment(e_bytes),
             "enrollment record has a bad value in flags: unknown bits in 127");

  auto s = full_sequence();
  auto s_bytes = encode(s);
  s.stop_on_colleague_reply = false;
  at = first_difference(s_bytes, encode(s));
  s_bytes[at] = static_cast<char>(s_bytes[at] | 0x04);
  expect_bad(decode_sequence(s_bytes),
             "sequence record has a bad value in flags: unknown bits in 7");

  auto a = full_account();
  auto a_bytes = encode(a);
  a.limits.days = weekday_set::every_day();
  at = first_difference(a_bytes, encode(a));
  a_bytes[at] = static_cast<char>(0xFF);
  expect_bad(decode_sender_account(a_bytes),
             "account record has a bad value in limits.days: unknown bits in "
             "255");

  // position is a uint16: 70000 does not fit.
  e = full_enrollment();
  e_bytes = encode(e);
  e.position = 4;
  at = first_difference(e_bytes, encode(e));
  e_bytes.replace(at, 1, varint(70'000));
  expect_bad(decode_enrollment(e_bytes),
             "enrollment record has a bad value in position: 70000 out of "
             "range");

  // delay_days is an int32.
  s = full_sequence();
  s_bytes = encode(s);
  s.steps[0].delay_days = 2;
  at = first_difference(s_bytes, encode(s));
  s_bytes.replace(at, 1, varint(zigzag(int64_t{1} << 31)));
  expect_bad(decode_sequence(s_bytes),
             "sequence record has a bad value in steps[0].delay_days: "
             "2147483648 out of range");

  // A holiday beyond date's day count.
  auto w = full_workspace();
  auto w_bytes = encode(w);
  w.holidays[1] += date::days{1};
  at = first_difference(w_bytes, encode(w));
  auto old_size = varint_size(zigzag(w.holidays[1].time_since_epoch().count()));
  w_bytes.replace(at, old_size, varint(zigzag(-(int64_t{1} << 40))));
  expect_bad(decode_workspace(w_bytes),
             "workspace record has a bad value in holidays[1]: -1099511627776 "
             "out of range");

  // usage counters are uint32s.
  expect_bad(decode_usage_counters("\x01" + varint(uint64_t{1} << 32) +
                                   std::string(2, '\0')),
             "usage counters record has a bad value in emails: 4294967296 "
             "out of range");
}

TEST(Codec, OverlongVarintsAreBadValues) {
  std::string eleven{"\x01"};
  eleven.append(11, '\xff');
  auto d = decode_usage_counters(eleven);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, codec_error::bad_value);
  EXPECT_EQ(d.error().message,
            "usage counters record has a bad value in emails: varint past 64 "
            "bits");
  // Ten bytes whose last one carries more than bit 63.
  std::string past{"\x01"};
  past.append(9, '\xff');
  past.push_back('\x02');
  EXPECT_EQ(decode_event_value(past).error().code, codec_error::bad_value);
  // Ten bytes, all with the continuation bit: overlong, not truncated.
  std::string endless{"\x01"};
  endless.append(10, '\x80');
  EXPECT_EQ(decode_event_value(endless).error().code, codec_error::bad_value);
}

TEST(Codec, GarbageDecodesToErrorsOrStableValues) {
  auto cases = all_cases();
  std::mt19937_64 rng{20'260'601};
  size_t values = 0;
  size_t errors = 0;
  // Whatever a decoder accepts must encode to bytes that decode and encode
  // again to the same bytes.
  auto check = [&](const record_case& c, std::string_view bytes) {
    auto r = c.reencode(bytes);
    if (!r) {
      ++errors;
      EXPECT_FALSE(r.error().message.empty());
      return;
    }
    ++values;
    auto again = c.reencode(*r);
    ASSERT_TRUE(again) << c.record << ": " << again.error().message;
    EXPECT_EQ(*again, *r) << c.record;
  };
  for (int i = 0; i < 4000; ++i) {
    std::string bytes(rng() % 96, '\0');
    for (auto& ch : bytes)
      ch = static_cast<char>(rng());
    // Half of them past the version check, into the fields.
    if (!bytes.empty() && i % 2 == 0) bytes[0] = 1;
    for (const auto& c : cases)
      check(c, bytes);
  }
  // Valid encodings with a few bytes changed reach deeper into each decoder.
  for (int i = 0; i < 3000; ++i) {
    const auto& c = cases[rng() % cases.size()];
    auto bytes = c.bytes;
    for (int flips = 1 + static_cast<int>(rng() % 3); flips > 0; --flips)
      bytes[1 + rng() % (bytes.size() - 1)] = static_cast<char>(rng());
    check(c, bytes);
  }
  EXPECT_GT(errors, 0u);
  EXPECT_GT(values, 0u);
}

// -- the varint primitives

} // namespace
} // namespace herald::storage
