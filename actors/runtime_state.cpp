// What the API reads and changes of the running engine, beside the
// enrollments: accounts' standing and limits, a sequence's dashboard figures,
// and the state /metrics shows.

#include "actors/runtime.hpp"

#include <algorithm>

#include <caf/send.hpp>

namespace herald::actors {

std::optional<sequence_counters::figures>
runtime::figures(sequence_id id) const {
  std::shared_lock lk{mu_};
  auto* c = counters_of(id);
  if (c == nullptr) return std::nullopt;
  return c->read();
}

bool runtime::control(account_id id, account_event event) {
  serving_ = true;
  std::shared_lock lk{mu_};
  auto it = accounts_.find(id.value);
  if (it == accounts_.end()) return false;
  // Applied at once under the account's mutex, so that the caller (the API)
  // reads the new status back; after a resume the actor serves what it holds.
  auto* st = account_states_.at(id.value);
  bool serve = false;
  {
    std::lock_guard alk{st->mu};
    switch (event) {
      case account_event::pause: st->budget->pause(); break;
      case account_event::resume: serve = st->budget->resume(); break;
      case account_event::revoke: st->budget->revoke(); break;
      case account_event::linkedin_warning:
        st->budget->warn(time_.now());
        break;
    }
  }
  if (serve) caf::anon_send(it->second, serve_atom::value);
  return true;
}

bool runtime::set_limits(account_id id, const account_limits& limits) {
  std::shared_lock lk{mu_};
  auto it = accounts_.find(id.value);
  if (it == accounts_.end()) return false;
  auto* st = account_states_.at(id.value);
  {
    std::lock_guard alk{st->mu};
    st->budget->update_limits(limits);
  }
  caf::anon_send(it->second, serve_atom::value);
  return true;
}

std::optional<runtime::account_standing>
runtime::standing(account_id id) const {
  std::shared_lock lk{mu_};
  auto it = account_states_.find(id.value);
  if (it == account_states_.end()) return std::nullopt;
  auto now = time_.now();
  std::lock_guard alk{it->second->mu};
  const auto& b = *it->second->budget;
  return account_standing{b.status(now), b.paused_until(now), b.usage(now)};
}

std::vector<prometheus::MetricFamily> runtime::collect() const {
  using prometheus::ClientMetric;
  using prometheus::MetricFamily;
  auto gauge = [](std::string name, std::string help) {
    return MetricFamily{
      std::move(name), std::move(help), prometheus::MetricType::Gauge, {}};
  };
  auto add = [](MetricFamily& f, double value,
                std::vector<ClientMetric::Label> labels = {}) {
    ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = value;
    f.metric.push_back(std::move(m));
  };
  std::array<uint64_t, sequence_counters::state_count> states{};
  uint64_t backlog = 0;
  std::vector<uint64_t> accounts;
  {
    std::shared_lock lk{mu_};
    for (const auto& [id, c] : counters_) {
      auto f = c->read();
      for (size_t i = 0; i < states.size(); ++i)
        states[i] += f.states[i];
      for (auto p : {enrollment_phase::awaiting_slot, enrollment_phase::granted,
                     enrollment_phase::sending})
        backlog += f.phases[static_cast<size_t>(p)];
    }
    accounts.reserve(account_states_.size());
    for (const auto& [id, st] : account_states_)
      accounts.push_back(id);
  }
  std::vector<MetricFamily> out;
  auto by_state = gauge("herald_enrollments",
                        "Enrollments of the launched sequences, by state");
  for (size_t i = 0; i < states.size(); ++i)
    add(by_state, static_cast<double>(states[i]),
        {{"state", std::string{enum_names<enrollment_state>::values[i]}}});
  out.push_back(std::move(by_state));
  auto due = gauge("herald_due_backlog",
                   "Active enrollments whose step is due and not sent yet: "
                   "waiting for a slot, granted one, or sending");
  add(due, static_cast<double>(backlog));
  out.push_back(std::move(due));
  auto t = stats();
  auto resident =
    gauge("herald_enrollments_resident",
          "Enrollments in memory as actors (busy or about to be)");
  add(resident, static_cast<double>(t.resident));
  out.push_back(std::move(resident));
  auto passive = gauge("herald_enrollments_passive",
                       "Enrollments held only in storage and a timer");
  add(passive,
      static_cast<double>(t.enrolled - std::min(t.enrolled, t.resident)));
  out.push_back(std::move(passive));
  auto status = gauge("herald_account_status",
                      "1 for each account's current status, else 0");
  auto used = gauge("herald_account_budget_used",
                    "Today's use of each account's budgets (invites_week: the "
                    "last seven days)");
  auto allowance =
    gauge("herald_account_email_allowance",
          "Emails each account may send today (its cap or warm-up figure)");
  std::sort(accounts.begin(), accounts.end());
  for (auto id : accounts) {
    auto s = standing(account_id{id});
    if (!s) continue;
    auto name = to_string(account_id{id});
    for (size_t i = 0; i < enum_names<account_status>::values.size(); ++i)
      add(status, static_cast<size_t>(s->status) == i ? 1.0 : 0.0,
          {{"account", name},
           {"status", std::string{enum_names<account_status>::values[i]}}});
    const auto& u = s->usage;
    for (auto [budget, n] :
         {std::pair{"emails", u.emails}, std::pair{"invites", u.invites},
          std::pair{"invites_week", u.invites_week},
          std::pair{"messages", u.messages}})
      add(used, n, {{"account", name}, {"budget", budget}});
    add(allowance, u.email_allowance, {{"account", name}});
  }
  out.push_back(std::move(status));
  out.push_back(std::move(used));
  out.push_back(std::move(allowance));
  return out;
}

} // namespace herald::actors
