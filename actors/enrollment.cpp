#include "actors/enrollment.hpp"

#include <caf/send.hpp>

#include "storage/codec.hpp"
#include "storage/keys.hpp"
#include "storage/recovery.hpp"

namespace herald::actors {

namespace {

using self_pointer = enrollment_actor::stateful_pointer<enrollment_actor_state>;

const account_actor& account_for(const enrollment_actor_state& st,
                                 step_channel kind) {
  return account_channel(kind) == channel::email ? st.env.email_account
                                                 : st.env.linkedin_account;
}

const channel_actor& channel_for(const enrollment_actor_state& st,
                                 step_channel kind) {
  return account_channel(kind) == channel::email ? st.env.email_channel
                                                 : st.env.linkedin_channel;
}

// The provider call for step `s`: its address and its message rendered for the
// lead.
send_request make_request(const enrollment_actor_state& st, const fx::send& s) {
  send_request r;
  r.enrollment = st.e.id;
  r.step = s.step;
  r.attempt = s.attempt;
  r.account = s.account;
  r.kind = s.kind;
  r.idempotency_key = idempotency_key(st.e.id, s.step, s.attempt);
  r.due = st.e.due;
  r.to = s.kind == step_channel::email ? st.contact->email
                                       : st.contact->linkedin_url;
  auto message = st.sequence->messages[s.step].render(*st.contact);
  r.subject = std::move(message.subject);
  r.body = std::move(message.body);
  return r;
}

// Runs one event through the machine and carries out its effects.
void apply(self_pointer self, const event& ev,
           storage::write_set w = storage::write_set{}) {
  auto& st = self->state;
  auto now = st.env.time->now();
  auto t = apply_event(st.e, st.ctx, ev, now);
  if (t.effects.empty() && w.empty()) {
    st.e =
      t.next; // a change without effects (a pause, an acceptance) still counts
    return;
  }
  const auto ws = st.e.workspace;
  const auto id = st.e.id;
  std::optional<std::pair<uint16_t, uint16_t>> intent;
  // The snapshot is written at durable points only: a new due time, a history
  // record or a halt. Transient phases (asking for a slot, granted, with the
  // provider) are not: after a crash the step fires again or its open intent
  // says where it was.
  bool snapshot = false;
  for (const auto& effect : t.effects) {
    std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, fx::arm_timer>) {
          self->send(st.env.shard, arm_atom::value, id.value, to_ms(x.due),
                     x.generation);
          if (st.indexed_due) storage::erase_due(w, ws, *st.indexed_due, id);
          storage::put_due(w, storage::due_entry{ws, id, x.due, x.generation});
          st.indexed_due = x.due;
          snapshot = true;
        } else if constexpr (std::is_same_v<T, fx::request_slot>) {
          self->send(account_for(st, x.kind), request_atom::value,
                     slot_request{id.value, x.kind, x.follow_up, x.due},
                     t.next.position, caf::actor_cast<slot_client_actor>(self));
        } else if constexpr (std::is_same_v<T, fx::withdraw_slot>) {
          self->send(account_for(st, x.kind), withdraw_atom::value, id.value,
                     x.kind);
        } else if constexpr (std::is_same_v<T, fx::release_slot>) {
          self->send(account_for(st, x.kind), release_atom::value, id.value);
        } else if constexpr (std::is_same_v<T, fx::write_intent>) {
          w.put(storage::cf::intents,
                storage::key::intent(ws, id, x.step, x.attempt),
                storage::encode(storage::send_intent{id, x.step, x.attempt,
                                                     x.account, x.kind, now}));
          intent = std::pair{x.step, x.attempt};
        } else if constexpr (std::is_same_v<T, fx::send>) {
          self->send(channel_for(st, x.kind), send_atom::value,
                     make_request(st, x),
                     caf::actor_cast<send_client_actor>(self));
        } else if constexpr (std::is_same_v<T, fx::record>) {
          w.put(storage::cf::history,
                storage::key::history(ws, st.e.lead, x.at, id, x.step, x.what),
                storage::encode(storage::history_entry{
                  id, x.step, x.what, x.why, account_id{}, x.at}));
          snapshot = true;
        } else if constexpr (std::is_same_v<T, fx::halt>) {
          snapshot = true;
          if (st.indexed_due) {
            storage::erase_due(w, ws, *st.indexed_due, id);
            st.indexed_due.reset();
          }
        }
      },
      effect);
  }
  st.e = t.next;
  if (snapshot)
    w.put(storage::cf::enrollments, storage::key::enrollment(ws, id),
          storage::encode(st.e));
  if (w.empty()) return;
  storage::completion done;
  if (intent) {
    // The provider is called only once this write is durable.
    auto me = caf::actor_cast<enrollment_actor>(self);
    done = [me, step = intent->first,
            attempt = intent->second](const storage::status& ok) {
      if (ok) caf::anon_send(me, durable_atom::value, step, attempt);
    };
  }
  st.env.persister->submit(std::move(w), std::move(done));
}

} // namespace

enrollment_actor::behavior_type enrollment_behavior(
  enrollment_actor::stateful_pointer<enrollment_actor_state> self, enrollment e,
  std::shared_ptr<const sequence_env> sequence,
  std::shared_ptr<const lead> contact, const date::time_zone* lead_zone,
  enrollment_env env) {
  auto& st = self->state;
  st.e = e;
  st.sequence = std::move(sequence);
  st.contact = std::move(contact);
  st.env = std::move(env);
  st.ctx.seq = &st.sequence->seq;
  st.ctx.calendar = &st.sequence->calendar;
  st.ctx.lead_zone = lead_zone;
  st.ctx.lead_has_email = !is_blank(st.contact->email);
  st.ctx.lead_has_linkedin = !is_blank(st.contact->linkedin_url);
  return {
    [self](enroll_atom, bool lead_replied) {
      apply(self, ev::enrolled{lead_replied});
    },
    [self](fire_atom, uint32_t generation) {
      // The wheel keeps the low bits of a generation: widen a match to the full
      // one.
      auto current = self->state.e.generation;
      if ((current & timer_entry::generation_mask) == generation)
        generation = current;
      apply(self, ev::timer_fired{generation});
    },
    [self](granted_atom, uint64_t, uint16_t step) {
      apply(self, ev::slot_granted{step});
    },
    [self](durable_atom, uint16_t step, uint16_t attempt) {
      apply(self, ev::intent_durable{step, attempt});
    },
    [self](sent_atom, uint64_t, uint16_t step, uint16_t attempt,
           send_outcome outcome) {
      auto& st = self->state;
      // Only the outcome of the call in flight counts: a late or repeated one
      // (an earlier attempt's deferral) must not settle the current grant.
      if (st.e.phase != enrollment_phase::sending || st.e.position != step ||
          st.e.attempt != attempt)
        return;
      // The account counts what was delivered; the intent is settled with the
      // outcome.
      auto kind = st.sequence->seq.steps[step].channel;
      self->send(account_for(st, kind), outcome_atom::value, st.e.id.value,
                 outcome);
      storage::write_set w;
      w.erase(storage::cf::intents,
              storage::key::intent(st.e.workspace, st.e.id, step, attempt));
      apply(self, ev::send_result{step, attempt, outcome}, std::move(w));
    },
    [self](reply_atom) { apply(self, ev::reply{}); },
    [self](bounce_atom) { apply(self, ev::bounce{}); },
    [self](unsub_atom) { apply(self, ev::unsubscribe{}); },
    [self](accepted_atom) { apply(self, ev::invite_accepted{}); },
    [self](colleague_atom) { apply(self, ev::colleague_replied{}); },
    [self](autoreply_atom, int64_t return_ms) {
      std::optional<time_point> back;
      if (return_ms >= 0) back = from_ms(return_ms);
      apply(self, ev::auto_reply{back});
    },
    [self](pause_atom) { apply(self, ev::sequence_paused{}); },
    [self](resume_atom) { apply(self, ev::sequence_resumed{}); },
    [self](get_atom) { return self->state.e; },
  };
}

} // namespace herald::actors
