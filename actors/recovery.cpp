// runtime::recover(): what a restart lost, rebuilt from the enrollment
// snapshots.

#include "actors/runtime.hpp"

#include <chrono>

#include <prometheus/gauge.h>

#include "storage/history.hpp"
#include "storage/recovery.hpp"

namespace herald::actors {

namespace {

// Whether a history line says a send went out (or may have): what a budget
// keeps counted.
bool counts_as_sent(history_event what) {
  return what == history_event::sent || what == history_event::bounced ||
         what == history_event::uncertain;
}

} // namespace

storage::expected<runtime::recovery_totals> runtime::recover() {
  // Nothing may reach an enrollment before its restart does, and no slot be
  // taken before the budgets count what storage says was sent.
  if (serving_)
    return storage::storage_error{
      storage::errc::invalid_argument,
      "recover() must come once, before enroll(), any event, control or tick",
      {}};
  serving_ = true;
  auto started = std::chrono::steady_clock::now();
  recovery_totals t;
  std::vector<uint64_t> in_flight;
  // The sends of the last week, by account, from the history lines the
  // snapshots carry: the budgets count them again.
  struct past_send {
    step_channel kind;
    time_point at;
  };
  std::unordered_map<uint64_t, std::vector<past_send>> sends;
  const auto now = time_.now();
  const auto since = now - days_ms(8);
  std::optional<storage::storage_error> spill_failure;
  auto scanned = storage::scan_snapshots(db_, [&](const auto& snapshot) {
    const auto& e = snapshot.e;
    std::shared_ptr<const sequence_env> sequence;
    {
      std::shared_lock lk{mu_};
      if (auto it = sequences_.find(e.sequence.value); it != sequences_.end())
        sequence = it->second.first;
    }
    if (!sequence) {
      ++t.unknown_sequence;
      return;
    }
    const auto& steps = sequence->seq.steps;
    sequence_counters* figures = nullptr;
    {
      std::shared_lock lk{mu_};
      figures = counters_of(e.sequence);
    }
    auto count = [&](const storage::history_entry& line) {
      if (figures != nullptr) figures->recorded(line.step, line.what);
      if (counts_as_sent(line.what) && line.account.valid() &&
          line.at > since && line.step < steps.size())
        sends[line.account.value].push_back(
          {steps[line.step].channel, line.at});
    };
    for (const auto& line : snapshot.history)
      count(line);
    if (snapshot.history.size() >= storage::snapshot_history_limit) {
      // Later lines went to cf::history: rare (repeated deferrals).
      auto spilled =
        storage::read_spilled_history(db_, e.workspace, e.lead, e.id);
      if (!spilled)
        spill_failure = spilled.error();
      else
        for (const auto& line : *spilled)
          count(line);
    }
    // An open intent's call may have been made: its slot stays spent.
    if (storage::has_open_intent(e) && e.position < steps.size()) {
      auto kind = steps[e.position].channel;
      if (auto account = e.sender(account_channel(kind)); account.valid())
        sends[account.value].push_back({kind, now});
    }
    bool armed = storage::is_armed(e);
    {
      std::unique_lock lk{mu_};
      entry x;
      x.ws = e.workspace;
      if (armed) x.armed = e.generation;
      x.final = e.phase == enrollment_phase::done &&
                e.state != enrollment_state::active;
      if (!directory_.emplace(e.id.value, x).second) return;
    }
    ++t.enrollments;
    if (figures != nullptr) figures->entered(e);
    if (armed) {
      arm_timer(*shard_states_[shard_index(e.id.value, shard_states_.size())],
                timer_entry{e.id.value, to_ms(e.due), e.generation});
      ++t.armed;
    }
    bool asking = e.phase == enrollment_phase::awaiting_slot &&
                  e.state == enrollment_state::active && !e.paused;
    if (asking || storage::has_open_intent(e)) in_flight.push_back(e.id.value);
  });
  if (spill_failure) return *spill_failure;
  if (!scanned) return scanned.error();
  for (const auto& [account, made] : sends) {
    std::shared_lock lk{mu_};
    auto it = account_states_.find(account);
    if (it == account_states_.end()) continue;
    auto& st = *it->second;
    std::lock_guard budget_lock{st.mu};
    for (const auto& s : made)
      st.budget->restore(s.kind, s.at, now);
    t.sends_counted += made.size();
  }
  for (auto id : in_flight)
    if (route_input(id, input{input::restart, lead_event::reply, 0, nullptr}))
      ++t.resolved;
  t.took = std::chrono::duration_cast<duration>(
    std::chrono::steady_clock::now() - started);
  if (recovery_seconds_ != nullptr)
    recovery_seconds_->Set(std::chrono::duration<double>(t.took).count());
  return t;
}

} // namespace herald::actors
