// A randomized property test of the enrollment state machine and the account
// budgets together: a small simulated world (random sequences, shared accounts
// with real budgets, a provider with random outcomes and latencies, random
// replies, bounces, unsubscribes, auto-replies, acceptances, pauses, warnings,
// stale timers and repeated deliveries) runs thousands of enrollments through
// random event orders and checks the invariants.

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <queue>
#include <random>
#include <set>
#include <sstream>

#include "engine/budget.hpp"
#include "engine/enrollment_machine.hpp"
#include "engine/slot_queue.hpp"
#include "engine/warmup.hpp"
#include "time_helpers.hpp"

namespace herald {
namespace {

using namespace test;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;

constexpr int email_accounts = 2;
constexpr int linkedin_accounts = 2;
constexpr int enrollments = 30;
constexpr size_t max_events = 2'000'000;

class world {
 public:
  explicit world(uint64_t seed) : rng_(seed) { build(); }

  void run() {
    while (!queue_.empty()) {
      auto it = queue_.top();
      queue_.pop();
      now_ = it.at;
      it.fn();
      if (++events_ > max_events) {
        fail("did not settle");
        return;
      }
    }
    check_final_states();
  }

  const std::vector<std::string>& violations() const { return violations_; }
  size_t sends() const { return delivered_total_; }

 private:
  struct item {
    time_point at;
    uint64_t order;
    std::function<void()> fn;
  };
  struct later {
    bool operator()(const item& a, const item& b) const {
      return std::tie(a.at, a.order) > std::tie(b.at, b.order);
    }
  };

  // -- set-up
  // ------------------------------------------------------------------------------

  bool chance(double p) {
    return std::uniform_real_distribution<double>{0, 1}(rng_) < p;
  }
  int uniform(int lo, int hi) {
    return std::uniform_int_distribution<int>{lo, hi}(rng_);
  }
  duration random_offset(duration max) {
    return duration{
      std::uniform_int_distribution<int64_t>{0, max.count()}(rng_)};
  }

  void build() {
    t0_ = utc(2026, 11, 30);
    now_ = t0_;
    int steps = uniform(1, 5);
    for (int s = 0; s < steps; ++s) {
      int c = uniform(0, 3);
      auto kind = c < 2   ? step_channel::email
                  : c < 3 ? step_channel::linkedin_invite
                          : step_channel::linkedin_message;
      seq_.steps.push_back(
        step{kind,
             s == 0 ? uniform(0, 1) : uniform(0, 3),
             chance(0.7) ? step_condition::no_reply : step_condition::always,
             {"S", "B"},
             true});
    }
    seq_.status = sequence_status::active;
    seq_.stop_on_colleague_reply = chance(0.5);
    if (chance(0.7)) {
      seq_.schedule.mode = schedule_mode::relative;
      seq_.schedule.day = days_ms(1);
    } else {
      seq_.schedule.calendar = sending_calendar{
        local_window{hm(9), hm(17)}, weekday_set::monday_to_friday(), {}};
    }
    cal_ = seq_.schedule.calendar;
    utc_ = zone("UTC");
    for (int a = 0; a < email_accounts + linkedin_accounts; ++a) {
      sender_account acc;
      acc.id = account_id{static_cast<uint64_t>(a + 1)};
      acc.kind = a < email_accounts ? channel::email : channel::linkedin;
      acc.created_at = t0_;
      auto& l = acc.limits;
      l.window =
        chance(0.5) ? local_window{hm(0), hm(0)} : local_window{hm(8), hm(18)};
      l.daily_cap = static_cast<uint32_t>(uniform(3, 10));
      if (chance(0.5)) l.ramp = warmup{2, 2, 8};
      l.spacing = minutes{uniform(0, 10)};
      l.jitter = minutes{uniform(0, 3)};
      l.invites_per_day = static_cast<uint32_t>(uniform(2, 4));
      l.invites_per_week = static_cast<uint32_t>(uniform(5, 10));
      l.messages_per_day = static_cast<uint32_t>(uniform(2, 4));
      accounts_.push_back(acc);
      budgets_.emplace_back(acc, utc_);
    }
    es_.resize(enrollments);
    ctx_.resize(enrollments);
    tickets_.resize(enrollments);
    requested_.resize(enrollments);
    acknowledged_.assign(enrollments, false);
    for (int i = 0; i < enrollments; ++i) {
      auto& e = es_[i];
      e.id = enrollment_id{static_cast<uint64_t>(i + 1)};
      e.email_sender =
        account_id{static_cast<uint64_t>(1 + i % email_accounts)};
      e.linkedin_sender = account_id{
        static_cast<uint64_t>(1 + email_accounts + i % linkedin_accounts)};
      auto& c = ctx_[i];
      c.seq = &seq_;
      c.calendar = &cal_;
      c.lead_zone = utc_;
      c.lead_has_email = chance(0.9);
      c.lead_has_linkedin = chance(0.85);
      at(t0_ + random_offset(days_ms(2)), [this, i, replied = chance(0.05)] {
        deliver(i, ev::enrolled{replied});
      });
      schedule_lead_events(i);
    }
    schedule_world_events();
  }

  void schedule_lead_events(int i) {
    auto when = [this] { return t0_ + random_offset(days_ms(20)); };
    if (chance(0.15)) at(when(), [this, i] { deliver(i, ev::reply{}); });
    if (chance(0.03)) at(when(), [this, i] { deliver(i, ev::bounce{}); });
    if (chance(0.02)) at(when(), [this, i] { deliver(i, ev::unsubscribe{}); });
    if (chance(0.05)) {
      std::optional<time_point> back;
      auto t = when();
      if (chance(0.5)) back = t + days_ms(uniform(1, 10));
      at(t, [this, i, back] { deliver(i, ev::auto_reply{back}); });
    }
    if (chance(0.6))
      at(when(), [this, i] { deliver(i, ev::invite_accepted{}); });
    if (chance(0.03))
      at(when(), [this, i] { deliver(i, ev::colleague_replied{}); });
    for (int k = uniform(0, 3); k > 0; --k)
      at(when(), [this, i, back = uniform(1, 3)] {
        if (es_[i].generation >= static_cast<uint32_t>(back))
          deliver(i, ev::timer_fired{es_[i].generation - back}); // stale
      });
  }

  void schedule_world_events() {
    if (chance(0.3)) {
      auto p = t0_ + random_offset(days_ms(15));
      at(p, [this] {
        seq_.status = sequence_status::paused;
        for (int i = 0; i < enrollments; ++i)
          deliver(i, ev::sequence_paused{});
      });
      if (chance(0.85))
        at(p + random_offset(days_ms(5)), [this] {
          seq_.status = sequence_status::active;
          for (int i = 0; i < enrollments; ++i)
            deliver(i, ev::sequence_resumed{});
        });
    }
    for (int a = 0; a < email_accounts + linkedin_accounts; ++a) {
      if (accounts_[a].kind == channel::linkedin && chance(0.3))
        at(t0_ + random_offset(days_ms(15)), [this, a] {
          budgets_[a].warn(now_);
          tick_all(a);
        });
      if (chance(0.1)) {
        auto p = t0_ + random_offset(days_ms(15));
        at(p, [this, a] { budgets_[a].pause(); });
        if (chance(0.8))
          at(p + days_ms(uniform(1, 3)), [this, a] {
            budgets_[a].resume();
            tick_all(a);
          });
      }
      if (chance(0.03))
        at(t0_ + random_offset(days_ms(15)),
           [this, a] { budgets_[a].revoke(); });
    }
  }

  // -- the world turning
  // ---------------------------------------------------------------

  void at(time_point t, std::function<void()> fn) {
    queue_.push(item{std::max(t, now_), order_++, std::move(fn)});
  }

  void fail(const std::string& what, int i = -1) {
    std::ostringstream out;
    out << what;
    if (i >= 0)
      out << " (enrollment " << i << ", step " << es_[i].position << ")";
    violations_.push_back(out.str());
  }

  int account_index(account_id id) const {
    return static_cast<int>(id.value) - 1;
  }

  slot_queue& slots(int a, step_channel kind) { return slots_[{a, kind}]; }

  void deliver(int i, const event& ev) {
    bool halting = std::holds_alternative<ev::reply>(ev) ||
                   std::holds_alternative<ev::bounce>(ev) ||
                   std::holds_alternative<ev::unsubscribe>(ev) ||
                   (std::holds_alternative<ev::colleague_replied>(ev) &&
                    seq_.stop_on_colleague_reply);
    auto t = apply_event(es_[i], ctx_[i], ev, now_);
    es_[i] = t.next;
    for (const auto& fx : t.effects)
      std::visit([&](const auto& x) { handle(i, x); }, fx);
    if (halting) {
      acknowledged_[i] = true;
      if (es_[i].state == enrollment_state::active)
        fail("active after a halting event", i);
    }
  }

  void handle(int i, const fx::arm_timer& a) {
    at(a.due, [this, i, g = a.generation] { deliver(i, ev::timer_fired{g}); });
  }

  // With probability p, an event that races the moment just reached: a reply, a
  // bounce, an unsubscribe or an auto-reply within `within`.
  void race(int i, double p, duration within) {
    if (!chance(p)) return;
    auto t = now_ + random_offset(within);
    switch (uniform(0, 3)) {
      case 0: at(t, [this, i] { deliver(i, ev::reply{}); }); break;
      case 1: at(t, [this, i] { deliver(i, ev::bounce{}); }); break;
      case 2: at(t, [this, i] { deliver(i, ev::unsubscribe{}); }); break;
      default: at(t, [this, i] { deliver(i, ev::auto_reply{}); }); break;
    }
  }

  void handle(int i, const fx::request_slot& r) {
    race(i, 0.03, minutes{30});
    requested_[i] = es_[i].position;
    slots(account_index(r.account), r.kind)
      .push(slot_request{static_cast<uint64_t>(i), r.kind, r.follow_up, r.due});
    schedule_tick(account_index(r.account), r.kind, now_);
  }

  void handle(int i, const fx::withdraw_slot& w) {
    slots(account_index(w.account), w.kind).remove(static_cast<uint64_t>(i));
  }

  void handle(int i, const fx::release_slot& r) {
    if (!tickets_[i]) {
      fail("released a slot never granted", i);
      return;
    }
    budgets_[account_index(r.account)].record(*tickets_[i],
                                              send_outcome::deferred, now_);
    tickets_[i].reset();
    schedule_tick(account_index(r.account), r.kind, now_);
  }

  void handle(int i, const fx::write_intent& w) {
    race(i, 0.03, milliseconds{5}); // between the grant and the durable intent
    auto durable = ev::intent_durable{w.step, w.attempt};
    at(now_ + random_offset(milliseconds{5}),
       [this, i, durable] { deliver(i, durable); });
    if (chance(0.1)) // a repeated callback
      at(now_ + random_offset(milliseconds{50}),
         [this, i, durable] { deliver(i, durable); });
  }

  void handle(int i, const fx::send& s) {
    if (acknowledged_[i])
      fail("send after an acknowledged reply, bounce or unsubscribe", i);
    if (!tickets_[i]) {
      fail("send without a granted slot", i);
      return;
    }
    auto key = std::pair{i, int{s.step}};
    if (++calls_[key] > 1 + deferrals_[key])
      fail("provider called twice for one step", i);
    race(i, 0.03, milliseconds{200}); // while the provider is being called
    auto ticket = *tickets_[i];
    int roll = uniform(0, 99);
    auto outcome = roll < 80   ? send_outcome::sent
                   : roll < 87 ? send_outcome::deferred
                   : roll < 91 ? send_outcome::bounced
                   : roll < 94 ? send_outcome::failed
                               : send_outcome::unknown;
    auto a = account_index(s.account);
    at(now_ + random_offset(milliseconds{200}),
       [this, i, a, ticket, outcome, step = s.step, attempt = s.attempt] {
         budgets_[a].record(ticket, outcome, now_);
         tickets_[i].reset();
         count_delivery(i, a, ticket, outcome, step);
         deliver(i, ev::send_result{step, attempt, outcome});
         if (chance(0.1))
           at(now_ + random_offset(hours{2}),
              [this, i, step, attempt, outcome] {
                // A repeated outcome, possibly after later attempts.
                deliver(i, ev::send_result{step, attempt, outcome});
              });
         schedule_tick(a, ticket.kind, now_);
       });
  }

  void handle(int, const fx::record&) {}
  void handle(int, const fx::halt&) {}

  void count_delivery(int i, int a, const grant_ticket& t, send_outcome o,
                      uint16_t step) {
    auto key = std::pair{i, int{step}};
    if (o == send_outcome::deferred) {
      ++deferrals_[key];
      return;
    }
    if (o == send_outcome::failed) return;
    ++delivered_total_;
    if (++delivered_[key] > 1) fail("step delivered twice", i);
    // Caps, checked from the deliveries alone (accounts open every day, zone
    // UTC).
    const auto& l = accounts_[a].limits;
    auto& day = per_day_[{a, t.kind, t.day}];
    ++day;
    uint32_t cap = 0;
    switch (t.kind) {
      case step_channel::email: {
        auto index = static_cast<uint32_t>(
          (t.day - date::floor<date::days>(to_local(t0_, utc_))).count());
        cap = email_daily_allowance(l, index);
        break;
      }
      case step_channel::linkedin_invite: {
        cap = l.invites_per_day;
        auto& times = invites_[a];
        times.insert(t.at);
        auto in_week = std::distance(times.upper_bound(t.at - days_ms(7)),
                                     times.upper_bound(t.at));
        if (in_week > static_cast<long>(l.invites_per_week))
          fail("weekly invite cap passed", i);
        break;
      }
      case step_channel::linkedin_message: cap = l.messages_per_day; break;
    }
    if (day > cap) fail("daily cap passed", i);
  }

  void tick_all(int a) {
    for (auto k : {step_channel::email, step_channel::linkedin_invite,
                   step_channel::linkedin_message})
      schedule_tick(a, k, now_);
  }

  void schedule_tick(int a, step_channel kind, time_point t) {
    auto& pending = pending_ticks_[{a, kind}];
    if (pending && *pending <= t) return;
    pending = t;
    at(t, [this, a, kind, t] {
      auto& p = pending_ticks_[{a, kind}];
      if (p != t) return;
      p.reset();
      tick(a, kind);
    });
  }

  void tick(int a, step_channel kind) {
    auto& q = slots(a, kind);
    while (!q.empty()) {
      auto d = budgets_[a].request(kind, now_);
      if (!d.granted) {
        if (d.retry_at != never) schedule_tick(a, kind, d.retry_at);
        return;
      }
      auto i = static_cast<int>(q.pop()->enrollment);
      if (tickets_[i]) fail("a second grant while one is outstanding", i);
      tickets_[i] = d.ticket;
      deliver(i, ev::slot_granted{requested_[i]});
    }
  }

  void check_final_states() {
    for (int i = 0; i < enrollments; ++i) {
      const auto& e = es_[i];
      if (e.state != enrollment_state::active) continue;
      if (e.paused)
        continue; // the sequence stayed paused: legitimately waiting
      if (e.phase == enrollment_phase::awaiting_slot) {
        auto a = account_index(
          e.sender(account_channel(seq_.steps[e.position].channel)));
        auto st = budgets_[a].status(now_);
        if (st == account_status::paused || st == account_status::revoked)
          continue; // waits for its account, as it should
      }
      fail("stuck in phase " + std::string{to_string(e.phase)}, i);
    }
  }

  std::mt19937_64 rng_;
  time_point t0_{};
  time_point now_{};
  const date::time_zone* utc_ = nullptr;
  sequence seq_;
  sending_calendar cal_;
  std::vector<sender_account> accounts_;
  std::vector<account_budget> budgets_;
  std::vector<enrollment> es_;
  std::vector<machine_context> ctx_;
  std::vector<std::optional<grant_ticket>> tickets_;
  std::vector<uint16_t> requested_;
  std::vector<bool> acknowledged_;
  std::map<std::pair<int, step_channel>, slot_queue> slots_;
  std::map<std::pair<int, step_channel>, std::optional<time_point>>
    pending_ticks_;
  std::map<std::pair<int, int>, int> calls_, deferrals_, delivered_;
  std::map<std::tuple<int, step_channel, date::local_days>, uint32_t> per_day_;
  std::map<int, std::multiset<time_point>> invites_;
  std::priority_queue<item, std::vector<item>, later> queue_;
  uint64_t order_ = 0;
  size_t events_ = 0;
  size_t delivered_total_ = 0;
  std::vector<std::string> violations_;
};

TEST(EnrollmentProperties, InvariantsHoldUnderRandomEventOrders) {
  constexpr uint64_t worlds = 5000; // 150,000 enrollments
  size_t sends = 0;
  for (uint64_t seed = 1; seed <= worlds; ++seed) {
    world w{seed};
    w.run();
    sends += w.sends();
    ASSERT_TRUE(w.violations().empty())
      << "seed " << seed << ": " << w.violations().front();
  }
  // The worlds did real work: most enrollments got steps out.
  EXPECT_GT(sends, worlds * enrollments);
}

} // namespace
} // namespace herald
