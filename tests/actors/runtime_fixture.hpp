#pragma once

// The deterministic runtime fixture the runtime's tests share, and a provider
// that answers when the test says so.

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include <caf/scheduler/test_coordinator.hpp>
#include <date/tz.h>

#include "../storage/temp_dir.hpp"
#include "actors/runtime.hpp"
#include "storage/codec.hpp"
#include "storage/keys.hpp"
#include "testing.hpp"

namespace herald::actors::test {

// The assembled runtime, deterministic: CAF's testing scheduler, the group
// commit in synchronous mode, no I/O threads, a manual clock. settle() runs
// everything in flight; advance() fires what is due. A real RocksDB in a temp
// dir, simulated providers. The sequence is W1's shape: a LinkedIn invite,
// then three no_reply emails 3, 2 and 2 days apart.
class Runtime : public ::testing::Test {
 protected:
  ~Runtime() override {
    if (rt) rt->stop();
    if (gc) gc->stop();
  }

  // `invites`: the LinkedIn channel's provider, if not the simulated one.
  void start(int first_delay_days, runtime_options o = {},
             provider* invites = nullptr) {
    storage::storage_options so;
    so.path = dir.str();
    so.synchronous = true;
    auto opened = storage::store::open(so);
    ASSERT_TRUE(opened);
    db = std::move(*opened);
    gc.emplace(*db);
    o.deterministic = true;
    rt.emplace(o, clock, *db, *gc);
    rt->add_channel(channel::email, &email);
    rt->add_channel(channel::linkedin,
                    invites != nullptr ? invites : &linkedin);
    email_account = rt->add_account(sender(1, channel::email), utc());
    linkedin_account = rt->add_account(sender(2, channel::linkedin), utc());
    rt->add_sequence(test::w1_shaped_sequence(first_delay_days), utc());
  }

  // A restart: the runtime, the group commit and the store go, as in a crash
  // once the last round is written; the store is opened again and the runtime
  // recovers from it.
  runtime::recovery_totals restart(int first_delay_days,
                                   provider* invites = nullptr) {
    rt->stop();
    rt.reset();
    gc->stop();
    gc.reset();
    db.reset();
    start(first_delay_days, {}, invites);
    auto recovered = rt->recover();
    EXPECT_TRUE(recovered) << (recovered ? "" : recovered.error().message);
    rt->settle();
    return recovered ? *recovered : runtime::recovery_totals{};
  }

  // Enrollments leave memory when their next step is an hour or more away.
  // `in_place` false: every enrollment starts with an actor (for the
  // tests of actors leaving memory and being reused).
  void start_passivating(int first_delay_days, size_t max_parked = 4096,
                         bool in_place = true) {
    runtime_options o;
    o.passivate_after = std::chrono::hours{1};
    o.max_parked = max_parked;
    o.in_place = in_place;
    start(first_delay_days, o);
  }

  static const date::time_zone* utc() { return date::locate_zone("UTC"); }

  sender_account sender(uint64_t id, channel kind) {
    sender_account a;
    a.id = account_id{id};
    a.workspace = workspace_id{1};
    a.kind = kind;
    a.limits.daily_cap = 1000;
    a.limits.invites_per_week = a.limits.messages_per_day = 1000;
    a.limits.invites_per_day = invites_per_day;
    a.limits.spacing = duration{0};
    a.limits.jitter = duration{0};
    a.limits.window =
      local_window{std::chrono::hours{0}, std::chrono::hours{0}};
    a.created_at = clock.now() - days_ms(365);
    return a;
  }

  // The two accounts start() adds (as invites_per_day is now).
  std::array<sender_account, 2> senders() {
    return {sender(1, channel::email), sender(2, channel::linkedin)};
  }

  // Enrollment `id` of `lead` in `sequence`, bound to accounts 1 and 2.
  static enrollment enrollment_of(uint64_t id, uint64_t lead,
                                  uint64_t sequence = 1) {
    enrollment e;
    e.id = enrollment_id{id};
    e.workspace = workspace_id{1};
    e.sequence = sequence_id{sequence};
    e.lead = lead_id{lead};
    e.email_sender = account_id{1};
    e.linkedin_sender = account_id{2};
    return e;
  }

  static std::shared_ptr<lead> make_lead(uint64_t i) {
    auto l = std::make_shared<lead>();
    l->id = lead_id{i};
    l->workspace = workspace_id{1};
    l->first_name = "Lead" + std::to_string(i);
    l->email = "lead" + std::to_string(i) + "@example.test";
    l->linkedin_url = "https://www.linkedin.com/in/lead" + std::to_string(i);
    return l;
  }

  // Stores leads first..last as an import would (durable when it returns).
  std::vector<std::shared_ptr<lead>> store_leads(uint64_t first,
                                                 uint64_t last) {
    storage::write_set w;
    std::vector<std::shared_ptr<lead>> leads;
    for (uint64_t i = first; i <= last; ++i) {
      auto l = make_lead(i);
      w.put(storage::cf::leads, storage::key::lead(l->workspace, l->id),
            storage::encode(*l));
      leads.push_back(std::move(l));
    }
    gc->post(std::move(w), nullptr);
    gc->flush_once();
    return leads;
  }

  // Stores leads 1..n and enrolls each.
  void enroll(uint64_t n) {
    auto leads = store_leads(1, n);
    for (auto& l : leads) {
      auto e = enrollment_of(l->id.value, l->id.value);
      EXPECT_TRUE(rt->enroll(e, std::move(l), false));
    }
    rt->settle();
  }

  // Moves the clock from due time to due time until nothing is armed or the
  // next due time is past `until`.
  void run_until(time_point until) {
    while (auto next = rt->advance()) {
      if (*next > until) break;
      ASSERT_TRUE(clock.set(std::max(*next, clock.now())));
    }
  }
  void run_to_the_end() { run_until(time_point::max()); }

  enrollment stored(uint64_t id) {
    auto got =
      db->get(storage::cf::enrollments,
              storage::key::enrollment(workspace_id{1}, enrollment_id{id}));
    EXPECT_TRUE(got && got->has_value());
    return *storage::decode_enrollment(**got);
  }

  // Every (enrollment, step) sent, with how many times.
  std::map<std::pair<uint64_t, uint16_t>, int> sends() const {
    std::map<std::pair<uint64_t, uint16_t>, int> out;
    for (const auto& r : linkedin.sent())
      ++out[{r.request.enrollment.value, r.request.step}];
    for (const auto& r : email.sent())
      ++out[{r.request.enrollment.value, r.request.step}];
    return out;
  }

  // Every one of 1..n enrolled at `t0` ran W1's four steps once each and
  // completed, seven days on.
  void expect_each_step_once_to_the_end(time_point t0, uint64_t n) {
    auto sent = sends();
    EXPECT_EQ(sent.size(), 4 * n);
    for (const auto& [key, times] : sent)
      EXPECT_EQ(times, 1) << "enrollment " << key.first << " step "
                          << key.second;
    EXPECT_EQ(clock.now(), t0 + days_ms(7));
    for (uint64_t i = 1; i <= n; ++i)
      EXPECT_EQ(stored(i).state, enrollment_state::completed);
  }

  caf::scheduler::test_coordinator& sched() {
    return dynamic_cast<caf::scheduler::test_coordinator&>(
      rt->system().scheduler());
  }

  uint32_t invites_per_day = 1000;
  herald::test::temp_dir dir;
  manual_clock clock{from_ms(1'796'205'600'000)};
  sim_provider email;
  sim_provider linkedin;
  std::unique_ptr<storage::store> db;
  std::optional<storage::group_commit> gc;
  std::optional<runtime> rt;
  account_actor email_account;
  account_actor linkedin_account;
};

// A direct provider that answers after its call has returned, when the test
// says so.
class answering_later final : public provider {
 public:
  void send(send_request r, std::function<void(send_report)> done) override {
    requests.push_back(std::move(r));
    answers.push_back(std::move(done));
  }
  bool direct() const override { return true; }

  std::vector<send_request> requests;
  std::vector<std::function<void(send_report)>> answers;
};

} // namespace herald::actors::test
