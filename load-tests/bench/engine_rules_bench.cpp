// Google Benchmark figures for the engine's rules: one state-machine transition
// and one budget decision (load-tests/RESULTS.md has the command and the
// figures).

#include <benchmark/benchmark.h>

#include <date/tz.h>

#include "engine/budget.hpp"
#include "engine/enrollment_machine.hpp"
#include "load-tests/w1.hpp"

namespace {

using namespace herald;

const time_point t0 =
  from_ms(1'796'205'600'000); // 2026-12-01T10:00Z, a Tuesday

sequence w1_sequence(schedule_mode mode) {
  sequence seq;
  seq.steps = herald::load::w1_sequence_steps();
  seq.status = sequence_status::active;
  seq.schedule.mode = mode;
  return seq;
}

struct machine_fixture {
  explicit machine_fixture(schedule_mode mode) : seq(w1_sequence(mode)) {
    cal = seq.schedule.calendar;
    ctx.seq = &seq;
    ctx.calendar = &cal;
    ctx.lead_zone = date::locate_zone("Europe/Berlin");
    e.id = enrollment_id{42};
    e.email_sender = account_id{1};
    e.linkedin_sender = account_id{2};
    e.position = 1;
    e.generation = 3;
    e.last_sent = t0 - days_ms(3);
    e.due = t0;
  }
  sequence seq;
  sending_calendar cal;
  machine_context ctx;
  enrollment e;
};

// A due timer fires: the step is checked and a slot requested.
void BM_MachineTimerFired(benchmark::State& state) {
  machine_fixture f{schedule_mode::relative};
  ev::timer_fired fired{f.e.generation};
  for (auto _ : state)
    benchmark::DoNotOptimize(apply_event(f.e, f.ctx, fired, t0));
}

// A send succeeds: history, the next step's due time, the timer re-armed.
void BM_MachineSent(benchmark::State& state) {
  auto mode =
    state.range(0) == 0 ? schedule_mode::relative : schedule_mode::calendar;
  machine_fixture f{mode};
  f.e.phase = enrollment_phase::sending;
  f.e.attempt = 1;
  ev::send_result sent{1, 1, send_outcome::sent};
  for (auto _ : state)
    benchmark::DoNotOptimize(apply_event(f.e, f.ctx, sent, t0));
  state.SetLabel(mode == schedule_mode::relative ? "relative"
                                                 : "calendar, Berlin");
}

sender_account email_account() {
  sender_account acc;
  acc.id = account_id{7};
  acc.kind = channel::email;
  acc.limits.daily_cap = 1'000'000'000;
  acc.limits.spacing = duration{0};
  acc.limits.jitter = duration{0};
  acc.limits.window =
    local_window{std::chrono::hours{0}, std::chrono::hours{0}};
  acc.created_at = t0 - days_ms(30);
  return acc;
}

// A grant and its outcome (sent), on an open account.
void BM_BudgetGrantAndRecord(benchmark::State& state) {
  account_budget b{
    email_account(),
    date::locate_zone(state.range(0) == 0 ? "UTC" : "America/New_York")};
  auto now = t0;
  for (auto _ : state) {
    auto d = b.request(step_channel::email, now);
    b.record(d.ticket, send_outcome::sent, now);
    now += duration{1};
  }
  state.SetLabel(state.range(0) == 0 ? "UTC" : "America/New_York");
}

// A refusal: the day's cap is used up.
void BM_BudgetRefusal(benchmark::State& state) {
  auto acc = email_account();
  acc.limits.daily_cap = 1;
  account_budget b{acc, date::locate_zone("America/New_York")};
  b.request(step_channel::email, t0);
  for (auto _ : state)
    benchmark::DoNotOptimize(b.request(step_channel::email, t0));
}

BENCHMARK(BM_MachineTimerFired);
BENCHMARK(BM_MachineSent)->Arg(0)->Arg(1);
BENCHMARK(BM_BudgetGrantAndRecord)->Arg(0)->Arg(1);
BENCHMARK(BM_BudgetRefusal);

} // namespace
