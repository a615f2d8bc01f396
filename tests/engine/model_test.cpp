#include "engine/model.hpp"

#include <gtest/gtest.h>

namespace herald {
namespace {

template<class E>
void expect_round_trip() {
  for (size_t i = 0; i < enum_names<E>::values.size(); ++i) {
    auto e = static_cast<E>(i);
    EXPECT_EQ(parse_enum<E>(to_string(e)), e);
  }
}

TEST(Model, EnumNamesRoundTrip) {
  expect_round_trip<channel>();
  expect_round_trip<step_channel>();
  expect_round_trip<step_condition>();
  expect_round_trip<sequence_status>();
  expect_round_trip<account_status>();
  expect_round_trip<enrollment_state>();
  expect_round_trip<enrollment_phase>();
  expect_round_trip<send_outcome>();
  expect_round_trip<schedule_mode>();
  expect_round_trip<delay_counting>();
}

TEST(Model, EnumNamesMatchTheApi) {
  EXPECT_EQ(to_string(step_channel::linkedin_invite), "linkedin_invite");
  EXPECT_EQ(to_string(enrollment_state::unsubscribed), "unsubscribed");
  EXPECT_EQ(to_string(delay_counting::sending_days), "sending_days");
  EXPECT_FALSE(parse_enum<channel>("Email"));
  EXPECT_FALSE(parse_enum<channel>(""));
  EXPECT_FALSE(parse_enum<step_condition>("sometimes"));
}

TEST(Model, StepsGoThroughTheirAccountsChannel) {
  EXPECT_EQ(account_channel(step_channel::email), channel::email);
  EXPECT_EQ(account_channel(step_channel::linkedin_invite), channel::linkedin);
  EXPECT_EQ(account_channel(step_channel::linkedin_message), channel::linkedin);
}

TEST(Model, EnrollmentKeepsOneSenderPerChannel) {
  enrollment e;
  e.email_sender = account_id{3};
  e.linkedin_sender = account_id{9};
  EXPECT_EQ(e.sender(channel::email), account_id{3});
  EXPECT_EQ(e.sender(channel::linkedin), account_id{9});
  sender_pools pools{{account_id{1}}, {account_id{2}, account_id{3}}};
  EXPECT_EQ(pools.of(channel::linkedin).size(), 2u);
}

TEST(Model, DefaultsAreTheDocumentedOnes) {
  schedule_settings s;
  EXPECT_EQ(s.mode, schedule_mode::calendar);
  EXPECT_EQ(s.counting, delay_counting::calendar_days);
  EXPECT_EQ(s.calendar.window.start, std::chrono::hours{9});
  EXPECT_EQ(s.calendar.days, weekday_set::monday_to_friday());
  sender_account acc;
  EXPECT_EQ(acc.calendar().days, weekday_set::every_day());
  EXPECT_FALSE(acc.limits.ramp.enabled());
}

} // namespace
} // namespace herald
