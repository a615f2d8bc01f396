#include "actors/channel.hpp"

#include <gtest/gtest.h>

#include <caf/send.hpp>

#include "testing.hpp"

namespace herald::actors {
namespace {

send_request request_for(uint64_t e, uint16_t step, uint16_t attempt) {
  send_request r;
  r.enrollment = enrollment_id{e};
  r.step = step;
  r.attempt = attempt;
  r.account = account_id{3};
  r.kind = step_channel::email;
  r.to = "lead" + std::to_string(e) + "@example.test";
  r.body = "Hello";
  return r;
}

TEST(SimProvider, DrawsOutcomesFromSeededRates) {
  sim_provider::options o;
  o.deferred = 0.10;
  o.bounced = 0.05;
  o.unknown = 0.02;
  sim_provider a{o};
  sim_provider b{o};
  std::map<send_outcome, int> counts;
  for (uint64_t i = 1; i <= 20'000; ++i) {
    send_outcome first{};
    a.send(request_for(i, 0, 1), [&](send_report r) { first = r.outcome; });
    b.send(request_for(i, 0, 1), [&](send_report r) {
      EXPECT_EQ(r.outcome, first); // same seed, same draws
    });
    ++counts[first];
  }
  EXPECT_NEAR(counts[send_outcome::deferred], 2000, 200);
  EXPECT_NEAR(counts[send_outcome::bounced], 1000, 150);
  EXPECT_NEAR(counts[send_outcome::unknown], 400, 100);
  EXPECT_EQ(counts[send_outcome::failed], 0);
  EXPECT_EQ(a.count(), 20'000u);
  EXPECT_EQ(a.sent()[4].request.idempotency_key(), "enr_0000000000000005:0:1");
}

class Channel : public ::testing::Test, public test::deterministic_system {
 protected:
  Channel() {
    client = sys.spawn(
      [this](send_client_actor::pointer) -> send_client_actor::behavior_type {
        return {[this](sent_atom, uint64_t e, uint16_t step, uint16_t attempt,
                       send_outcome o) {
          reports.push_back({e, step, attempt, o});
        }};
      });
    ch = sys.spawn(channel_behavior, &delivery);
    sched.run();
  }

  struct report {
    uint64_t enrollment;
    uint16_t step;
    uint16_t attempt;
    send_outcome outcome;
  };

  sim_provider delivery;
  send_client_actor client;
  channel_actor ch;
  std::vector<report> reports;
};

TEST_F(Channel, ReportsEachOutcomeKeyedByTheCall) {
  caf::anon_send(ch, send_atom::value, request_for(7, 1, 1), client);
  caf::anon_send(ch, send_atom::value, request_for(7, 1, 2), client);
  caf::anon_send(ch, send_atom::value, request_for(8, 3, 1), client);
  sched.run();
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_EQ(reports[1].enrollment, 7u);
  EXPECT_EQ(reports[1].attempt, 2);
  EXPECT_EQ(reports[2].step, 3);
  EXPECT_EQ(reports[2].outcome, send_outcome::sent);
  auto sent = delivery.sent();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[2].request.to, "lead8@example.test");
}

} // namespace
} // namespace herald::actors
