#include "actors/account.hpp"

#include <caf/send.hpp>

namespace herald::actors {

namespace {

using self_pointer = account_actor::stateful_pointer<account_state>;

size_t index_of(step_channel kind) { return static_cast<size_t>(kind); }

// Arms a wake-up at `at` unless an earlier one is armed already.
void wake_at(self_pointer self, time_point at) {
  auto& st = self->state;
  if (st.wake_at && *st.wake_at <= at) return;
  st.wake_at = at;
  ++st.wake_generation;
  self->send(st.shard, arm_atom::value, st.wake_id, to_ms(at),
             st.wake_generation);
}

// Grants queued requests of `kind` while the budget allows.
void serve(self_pointer self, step_channel kind) {
  auto& st = self->state;
  auto& queue = st.queues[index_of(kind)];
  while (!queue.empty()) {
    auto d = st.budget->request(kind, st.time->now());
    if (!d.granted) {
      if (d.retry_at != never) wake_at(self, d.retry_at);
      return;
    }
    auto r = *queue.pop();
    auto it = st.waiting.find(r.enrollment);
    st.granted[r.enrollment] = d.ticket;
    self->send(it->second.client, granted_atom::value, r.enrollment,
               it->second.step);
    st.waiting.erase(it);
  }
}

void serve_all(self_pointer self) {
  for (auto kind : {step_channel::email, step_channel::linkedin_invite,
                    step_channel::linkedin_message})
    serve(self, kind);
}

// Hands a grant's outcome to the budget and serves that queue again (a
// given-back grant frees a slot).
// Hands `enrollment`'s grant and its outcome to the budget; returns the grant's
// channel, none when there was no grant. st.mu held.
std::optional<step_channel> settle_ticket(account_state& st,
                                          uint64_t enrollment,
                                          send_outcome outcome,
                                          time_point now) {
  auto it = st.granted.find(enrollment);
  if (it == st.granted.end()) return std::nullopt;
  auto ticket = it->second;
  st.granted.erase(it);
  st.budget->record(ticket, outcome, now);
  return ticket.kind;
}

void settle_grant(self_pointer self, uint64_t enrollment,
                  send_outcome outcome) {
  if (auto kind = settle_ticket(self->state, enrollment, outcome,
                                self->state.time->now()))
    serve(self, *kind);
}

} // namespace

bool take_slot(account_state& st, uint64_t enrollment, step_channel kind,
               time_point now) {
  std::lock_guard lk{st.mu};
  if (!st.queues[index_of(kind)].empty()) return false;
  auto d = st.budget->request(kind, now);
  if (!d.granted) return false;
  st.granted[enrollment] = d.ticket;
  return true;
}

void settle_slot(account_state& st, const account_actor& account,
                 uint64_t enrollment, send_outcome outcome, time_point now) {
  std::lock_guard lk{st.mu};
  auto kind = settle_ticket(st, enrollment, outcome, now);
  if (kind && !st.queues[index_of(*kind)].empty())
    caf::anon_send(account, serve_atom::value);
}

void init_account_state(account_state& st, const sender_account& acc,
                        const date::time_zone* zone, budget_policy policy,
                        const clock* time, const timer_shard_actor& shard) {
  std::lock_guard lk{st.mu};
  if (st.budget) return;
  st.wake_id = account_timer_bit | acc.id.value;
  st.budget.emplace(acc, zone, policy);
  st.time = time;
  st.shard = shard;
}

account_state& state_of(const account_actor& a) {
  return dynamic_cast<account_actor::stateful_base<account_state>&>(
           *caf::actor_cast<caf::abstract_actor*>(a))
    .state;
}

account_actor::behavior_type
account(account_actor::stateful_pointer<account_state> self, sender_account acc,
        const date::time_zone* zone, budget_policy policy, const clock* time,
        timer_shard_actor shard) {
  init_account_state(self->state, acc, zone, policy, time, shard);
  return {
    [self](request_atom, const slot_request& r, uint16_t step,
           slot_client_actor client) {
      auto& st = self->state;
      std::lock_guard lk{st.mu};
      st.waiting[r.enrollment] = account_state::waiter{std::move(client), step};
      st.queues[index_of(r.kind)].push(r);
      serve(self, r.kind);
    },
    [self](withdraw_atom, uint64_t enrollment, step_channel kind) {
      auto& st = self->state;
      std::lock_guard lk{st.mu};
      if (st.waiting.erase(enrollment) > 0) {
        st.queues[index_of(kind)].remove(enrollment);
        return;
      }
      // Granted already, the grant still on its way: the enrollment will not
      // use it (and may have left memory), so it is given back here.
      settle_grant(self, enrollment, send_outcome::deferred);
    },
    [self](outcome_atom, uint64_t enrollment, send_outcome outcome) {
      std::lock_guard lk{self->state.mu};
      settle_grant(self, enrollment, outcome);
    },
    [self](fired_atom, const fired_timers& fired) {
      auto& st = self->state;
      std::lock_guard lk{st.mu};
      for (const auto& e : fired.entries)
        if (e.id() == st.wake_id && e.armed_with(st.wake_generation)) {
          st.wake_at.reset();
          serve_all(self);
        }
    },
    [self](pause_atom) {
      std::lock_guard lk{self->state.mu};
      self->state.budget->pause();
    },
    [self](resume_atom) {
      std::lock_guard lk{self->state.mu};
      if (self->state.budget->resume()) serve_all(self);
    },
    [self](revoke_atom) {
      std::lock_guard lk{self->state.mu};
      self->state.budget->revoke();
    },
    [self](warn_atom) {
      std::lock_guard lk{self->state.mu};
      self->state.budget->warn(self->state.time->now());
    },
    [self](serve_atom) {
      std::lock_guard lk{self->state.mu};
      serve_all(self);
    },
  };
}

} // namespace herald::actors
