#include "actors/enrollment.hpp"

#include <caf/send.hpp>

#include "storage/codec.hpp"
#include "storage/keys.hpp"
#include "storage/recovery.hpp"

namespace herald::actors {

namespace {

using self_pointer = enrollment_actor::stateful_pointer<enrollment_actor_state>;

// The clock, read once per job: every event a job applies happens at the time
// it first asked for (one reading instead of up to eight per step).
class job_clock {
 public:
  explicit job_clock(enrollment_actor_state& st)
    : st_(st), owner_(!st.job_now) {
    if (owner_) st_.job_now = st_.env.time->now();
  }
  ~job_clock() {
    if (owner_) st_.job_now.reset();
  }
  job_clock(const job_clock&) = delete;
  job_clock& operator=(const job_clock&) = delete;

 private:
  enrollment_actor_state& st_;
  bool owner_;
};

time_point now_of(const enrollment_actor_state& st) {
  return st.job_now ? *st.job_now : st.env.time->now();
}

const account_actor& account_for(const enrollment_actor_state& st,
                                 step_channel kind) {
  return account_channel(kind) == channel::email ? st.env.email_account
                                                 : st.env.linkedin_account;
}

account_state* slots_for(const enrollment_actor_state& st, step_channel kind) {
  return account_channel(kind) == channel::email ? st.env.email_slots
                                                 : st.env.linkedin_slots;
}

// Settles this enrollment's slot of `kind` with `outcome` (a slot not used is
// settled as deferred: given back): directly when the account's state is at
// hand, else by message.
void settle(self_pointer self, step_channel kind, send_outcome outcome) {
  auto& st = self->state;
  if (auto* slots = slots_for(st, kind))
    settle_slot(*slots, account_for(st, kind), st.e.id.value, outcome,
                now_of(st));
  else
    self->send(account_for(st, kind), outcome_atom::value, st.e.id.value,
               outcome);
}

provider* provider_for(const enrollment_actor_state& st, step_channel kind) {
  return account_channel(kind) == channel::email ? st.env.email_provider
                                                 : st.env.linkedin_provider;
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
  r.lead = st.e.lead;
  r.step = s.step;
  r.attempt = s.attempt;
  r.account = s.account;
  r.kind = s.kind;
  r.due = st.e.due;
  r.to = s.kind == step_channel::email ? st.contact->email
                                       : st.contact->linkedin_url;
  auto message = st.sequence->messages[s.step].render(*st.contact);
  r.subject = std::move(message.subject);
  r.body = std::move(message.body);
  return r;
}

// Whether a history line of `what` names the account that made (or was to
// make) the call.
bool involves_account(history_event what) {
  switch (what) {
    case history_event::sent:
    case history_event::deferred:
    case history_event::bounced:
    case history_event::failed:
    case history_event::uncertain:
    case history_event::cancelled: return true;
    default: return false;
  }
}

// True when nothing is under way for `e` and its next timer, if any, is far
// enough away to leave memory until then.
bool idle(const enrollment& e, duration passivate_after, time_point now) {
  switch (e.phase) {
    case enrollment_phase::done: return true;
    case enrollment_phase::waiting:
    case enrollment_phase::waiting_invite:
      return e.paused || e.due - now >= passivate_after;
    default: return false;
  }
}

bool idle(const enrollment_actor_state& st, time_point now) {
  return idle(st.e, st.env.passivate_after, now);
}

// Leaves memory if idle: the directory activates a new actor from the snapshot
// when a timer or an event comes.
void maybe_passivate(self_pointer self) {
  auto& st = self->state;
  if (st.env.directory == nullptr || st.writes != st.reported ||
      !idle(st, now_of(st)))
    return;
  auto armed = storage::is_armed(st.e) ? st.e.generation : 0;
  auto* directory = st.env.directory;
  const bool final = st.e.phase == enrollment_phase::done &&
                     st.e.state != enrollment_state::active;
  if (!directory->passivate(
        st.e.id, [self] { return self->mailbox().empty(); }, armed, st.writes,
        final))
    return;
  // Kept: it ignores everything until assign_atom gives it its next
  // enrollment (in its own job; reassign() only leaves it in `incoming`).
  st.parked = true;
  st.sequence.reset();
  st.contact.reset();
  st.history = {};
  st.env = enrollment_env{};
  if (!directory->park(st.e.id, caf::actor_cast<enrollment_actor>(self)))
    self->quit();
}

void call_provider(self_pointer self, const fx::send& s);
void on_outcome(self_pointer self, uint16_t step, uint16_t attempt,
                send_outcome outcome);

// Carries out what an enrollment needs no actor for: a timer armed in its
// shard's wheel, a history line (kept in the snapshot, or written apart past
// its limit), the counters and metrics. False for any other effect, and for a
// timer when the shard's state is not at hand: the caller's to carry out.
// Sets `snapshot` when the effect is a durable point.
bool carry_out(enrollment_actor_state& st, const transition& t,
               const effect& effect, storage::write_set& w, bool& snapshot) {
  const auto ws = st.e.workspace;
  const auto id = st.e.id;
  if (const auto* x = std::get_if<fx::arm_timer>(&effect)) {
    if (st.env.shard_state == nullptr) return false;
    arm_timer(*st.env.shard_state,
              timer_entry{id.value, to_ms(x->due), x->generation});
    snapshot = true;
    return true;
  }
  if (const auto* x = std::get_if<fx::record>(&effect)) {
    if (st.env.counters != nullptr) st.env.counters->recorded(x->step, x->what);
    if (st.env.metrics != nullptr && x->what == history_event::skipped)
      st.env.metrics->skipped(x->why);
    storage::history_entry line{id, x->step, x->what, x->why, {}, x->at};
    if (involves_account(x->what) && x->step < st.sequence->seq.steps.size())
      line.account =
        t.next.sender(account_channel(st.sequence->seq.steps[x->step].channel));
    if (st.history.size() < storage::snapshot_history_limit)
      st.history.push_back(line);
    else
      w.put(storage::cf::history,
            storage::key::history(ws, st.e.lead, x->at, id, x->step, x->what),
            storage::encode(line));
    snapshot = true;
    return true;
  }
  if (std::holds_alternative<fx::halt>(effect)) {
    snapshot = true;
    return true;
  }
  return false;
}

// Takes the transition's new state, and writes it as the snapshot when
// `snapshot` says the transition was a durable point.
void take(enrollment_actor_state& st, const transition& t, bool snapshot,
          storage::write_set& w) {
  if (st.env.counters != nullptr) st.env.counters->moved(st.e, t.next);
  st.e = t.next;
  if (!snapshot) return;
  st.snapshot_owed = false;
  // Reused: the write set copies it (no allocation per durable point).
  thread_local std::string value;
  value.clear();
  storage::encode_to(value, st.e, st.history);
  w.put(storage::cf::enrollments,
        storage::key::enrollment_fixed(st.e.workspace, st.e.id).view(), value);
}

void post(self_pointer self, storage::write_set& w,
          std::optional<std::pair<uint16_t, uint16_t>> intent, time_point now);

// Runs one event through the machine and carries out its effects.
void apply(self_pointer self, const event& ev) {
  auto& st = self->state;
  auto now = now_of(st);
  auto t = apply_event(st.e, st.ctx, ev, now);
  // A change without effects (a pause, an acceptance) is a durable point too.
  bool snapshot = t.effects.empty() && !(t.next == st.e);
  if (t.effects.empty() && !snapshot) return;
  const auto id = st.e.id;
  storage::write_set w;
  std::optional<std::pair<uint16_t, uint16_t>> intent;
  std::optional<uint16_t> granted_now;
  std::optional<fx::send> to_send;
  // One compact record per durable point: the snapshot (with the due time the
  // wheels are rebuilt from), written when a timer is armed, a slot is granted
  // (the snapshot in the granted phase is the send intent), an outcome is
  // recorded (with its history entry) or the enrollment halts. Asking for a
  // slot and the provider call itself are not durable points: after a crash
  // the step fires again, or the intent says a call may be under way.
  std::optional<uint32_t> fire_now;
  // Only an enrollment's first step, due at once, fires in this job: the
  // wheel would hand it back on its next tick, through a job of its own.
  // Any later transition may follow a slot given back by message (a pause,
  // an auto-reply), whose account must see that first.
  const bool may_fire_now =
    st.env.fire_due_at_once && std::holds_alternative<ev::enrolled>(ev);
  for (const auto& effect : t.effects) {
    if (const auto* x = std::get_if<fx::arm_timer>(&effect);
        x != nullptr && may_fire_now && x->due <= now) {
      fire_now = x->generation;
      snapshot = true;
      continue;
    }
    if (carry_out(st, t, effect, w, snapshot)) continue;
    std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, fx::arm_timer>) {
          self->send(st.env.shard, arm_atom::value, id.value, to_ms(x.due),
                     x.generation);
          snapshot = true;
        } else if constexpr (std::is_same_v<T, fx::request_slot>) {
          // A slot free now and nobody queued before us: taken in this job,
          // without the round trip to the account.
          if (auto* slots = slots_for(st, x.kind);
              slots != nullptr && take_slot(*slots, id.value, x.kind, now))
            granted_now = t.next.position;
          else
            self->send(account_for(st, x.kind), request_atom::value,
                       slot_request{id.value, x.kind, x.follow_up, x.due},
                       t.next.position,
                       caf::actor_cast<slot_client_actor>(self));
        } else if constexpr (std::is_same_v<T, fx::withdraw_slot>) {
          self->send(account_for(st, x.kind), withdraw_atom::value, id.value,
                     x.kind);
          // No longer asking (a pause): a restart must not ask again.
          snapshot = true;
        } else if constexpr (std::is_same_v<T, fx::release_slot>) {
          settle(self, x.kind, send_outcome::deferred);
        } else if constexpr (std::is_same_v<T, fx::write_intent>) {
          // The snapshot in the granted phase is the intent: its step, attempt
          // and bound account say which call may be under way.
          intent = std::pair{x.step, x.attempt};
          snapshot = true;
        } else if constexpr (std::is_same_v<T, fx::send>) {
          to_send = x;
        }
      },
      effect);
  }
  // A step fired at once mostly writes a snapshot of its own (its intent)
  // in this job: this one is owed until then, and written only if not.
  bool owe = fire_now && w.empty();
  take(st, t, snapshot && !owe, w);
  if (owe) st.snapshot_owed = true;
  post(self, w, intent, now);
  if (granted_now) apply(self, ev::slot_granted{*granted_now});
  if (to_send) call_provider(self, *to_send);
  if (fire_now) {
    apply(self, ev::timer_fired{*fire_now});
    if (std::exchange(st.snapshot_owed, false)) {
      storage::write_set owed;
      take(st, transition{st.e, {}}, true, owed);
      post(self, owed, std::nullopt, now);
    }
  }
}

// Posts what a transition writes (if anything), with what its durability
// tells: the intent's step and attempt to the actor, an idle snapshot's to
// the directory.
void post(self_pointer self, storage::write_set& w,
          std::optional<std::pair<uint16_t, uint16_t>> intent, time_point now) {
  auto& st = self->state;
  const auto id = st.e.id;
  if (!w.empty()) {
    auto number = ++st.writes;
    storage::completion done;
    auto me = caf::actor_cast<enrollment_actor>(self);
    if (intent) {
      // The provider is called only once this write is durable.
      done = [me, id = id.value, step = intent->first,
              attempt = intent->second](const storage::status& ok) {
        if (ok) caf::anon_send(me, durable_atom::value, id, step, attempt);
      };
    } else if (st.env.directory != nullptr && idle(st, now)) {
      // The actor may leave memory at once; the directory holds activations
      // back until this snapshot, which they read, is durable.
      st.reported = number;
      done = [dir = st.env.directory, id, number](const storage::status& ok) {
        dir->written(id, number, static_cast<bool>(ok));
      };
    }
    st.env.persister->post(std::move(w), std::move(done));
  }
}

// Hands step `s` to its provider. An outcome answered during the call is
// applied in this job; one answered later comes back as a message.
void call_provider(self_pointer self, const fx::send& s) {
  auto& st = self->state;
  if (st.env.metrics != nullptr) st.env.metrics->late(now_of(st) - st.e.due);
  auto* p = provider_for(st, s.kind);
  if (p == nullptr) {
    self->send(channel_for(st, s.kind), send_atom::value, make_request(st, s),
               caf::actor_cast<send_client_actor>(self));
    return;
  }
  struct handoff {
    std::atomic<int> phase{0}; // 0: calling, 1: returned, 2: answered
    send_outcome outcome = send_outcome::sent;
  };
  auto h = std::make_shared<handoff>();
  auto me = caf::actor_cast<enrollment_actor>(self);
  auto id = st.e.id.value;
  p->send(make_request(st, s), [h, me, id, step = s.step,
                                attempt = s.attempt](send_report report) {
    h->outcome = report.outcome;
    if (h->phase.exchange(2) == 1)
      caf::anon_send(me, sent_atom::value, id, step, attempt, h->outcome);
  });
  if (h->phase.exchange(1) == 2)
    on_outcome(self, s.step, s.attempt, h->outcome);
}

void on_outcome(self_pointer self, uint16_t step, uint16_t attempt,
                send_outcome outcome) {
  auto& st = self->state;
  // Only the outcome of the call in flight counts: a late or repeated one
  // (an earlier attempt's deferral) must not settle the current grant.
  if (st.e.phase != enrollment_phase::sending || st.e.position != step ||
      st.e.attempt != attempt)
    return;
  // The account counts what was delivered; the new snapshot settles the
  // intent.
  auto kind = st.sequence->seq.steps[step].channel;
  if (st.env.metrics != nullptr) st.env.metrics->sent(kind, outcome);
  settle(self, kind, outcome);
  apply(self, ev::send_result{step, attempt, outcome});
}

// Whether a message naming enrollment `id` is for another enrollment than the
// one this actor has (a kept actor's last one), or it has none. Its arrival
// may have kept the actor from passivating: it tries again.
bool stale(self_pointer self, uint64_t id) {
  if (self->state.parked) return true;
  if (id == self->state.e.id.value) return false;
  maybe_passivate(self);
  return true;
}

// Applies `ev`, then leaves memory if that left the enrollment idle (also when
// it changed nothing: an activation for a stale timer).
void handle(self_pointer self, const event& ev) {
  if (self->state.parked) return;
  job_clock clock{self->state};
  apply(self, ev);
  maybe_passivate(self);
}

} // namespace

// Gives the actor's state its enrollment, and its write numbers anew. Run in
// the actor's own job (at spawn, or on assign_atom).
void assign(enrollment_actor_state& st, enrollment_assignment a) {
  st.parked = false;
  st.e = a.snapshot.e;
  st.history = std::move(a.snapshot.history);
  // Room for a sequence's usual lines at once, not regrown line by line.
  st.history.reserve(8);
  st.sequence = std::move(a.sequence);
  st.contact = std::move(a.contact);
  st.env = std::move(a.env);
  st.ctx = machine_context{};
  st.ctx.seq = &st.sequence->seq;
  st.ctx.calendar = &st.sequence->calendar;
  st.ctx.lead_zone = a.lead_zone;
  st.ctx.lead_has_email = !is_blank(st.contact->email);
  st.ctx.lead_has_linkedin = !is_blank(st.contact->linkedin_url);
  st.writes = st.reported = 0;
}

bool apply_idle(enrollment_actor_state& st, const event& ev,
                storage::write_set& w) {
  if (st.env.shard_state == nullptr) return false;
  job_clock clock{st};
  auto now = now_of(st);
  auto t = apply_event(st.e, st.ctx, ev, now);
  for (const auto& effect : t.effects)
    if (!std::holds_alternative<fx::record>(effect) &&
        !std::holds_alternative<fx::halt>(effect) &&
        !std::holds_alternative<fx::arm_timer>(effect))
      return false;
  if (!idle(t.next, st.env.passivate_after, now)) return false;
  bool snapshot = t.effects.empty() && !(t.next == st.e);
  for (const auto& effect : t.effects)
    carry_out(st, t, effect, w, snapshot);
  take(st, t, snapshot, w);
  return true;
}

void reassign(const enrollment_actor& a, enrollment_assignment next) {
  auto& st =
    dynamic_cast<enrollment_actor::stateful_base<enrollment_actor_state>&>(
      *caf::actor_cast<caf::abstract_actor*>(a))
      .state;
  delete st.incoming.exchange(new enrollment_assignment(std::move(next)),
                              std::memory_order_release);
  caf::anon_send(a, assign_atom::value);
}

enrollment_actor::behavior_type enrollment_behavior(
  enrollment_actor::stateful_pointer<enrollment_actor_state> self,
  storage::enrollment_snapshot snapshot,
  std::shared_ptr<const sequence_env> sequence,
  std::shared_ptr<const lead> contact, const date::time_zone* lead_zone,
  enrollment_env env) {
  assign(self->state, {std::move(snapshot), std::move(sequence),
                       std::move(contact), lead_zone, std::move(env)});
  // A kept actor ignores what reaches it until it is assigned again (handle()
  // and stale() check; a released state has no directory to passivate in, nor
  // an intake count): only a late message for the enrollment it had can.
  return {
    [self](enroll_atom, bool lead_replied) {
      const auto& env = self->state.env;
      if (env.pending_enrolls != nullptr &&
          env.pending_enrolls->fetch_sub(1) == env.pending_low + 1)
        env.pending_enrolls->notify_all();
      handle(self, ev::enrolled{lead_replied});
    },
    [self](fire_atom, uint32_t generation) {
      // The wheel keeps the low bits of a generation: widen a match to the full
      // one.
      auto current = self->state.e.generation;
      if ((current & timer_entry::generation_mask) == generation)
        generation = current;
      handle(self, ev::timer_fired{generation});
    },
    [self](granted_atom, uint64_t id, uint16_t step) {
      // A grant for an enrollment this actor had before it was kept: the
      // account gave it back itself when the request was withdrawn.
      if (stale(self, id)) return;
      handle(self, ev::slot_granted{step});
    },
    [self](durable_atom, uint64_t id, uint16_t step, uint16_t attempt) {
      // An intent of the enrollment this actor had (it may leave memory
      // halted before its cancelled intent is durable).
      if (stale(self, id)) return;
      handle(self, ev::intent_durable{step, attempt});
    },
    [self](sent_atom, uint64_t id, uint16_t step, uint16_t attempt,
           send_outcome outcome) {
      if (stale(self, id)) return;
      job_clock clock{self->state};
      on_outcome(self, step, attempt, outcome);
      maybe_passivate(self);
    },
    [self](reply_atom) { handle(self, ev::reply{}); },
    [self](bounce_atom) { handle(self, ev::bounce{}); },
    [self](unsub_atom) { handle(self, ev::unsubscribe{}); },
    [self](accepted_atom) { handle(self, ev::invite_accepted{}); },
    [self](colleague_atom) { handle(self, ev::colleague_replied{}); },
    [self](autoreply_atom, int64_t return_ms) {
      std::optional<time_point> back;
      if (return_ms >= 0) back = from_ms(return_ms);
      handle(self, ev::auto_reply{back});
    },
    [self](pause_atom) { handle(self, ev::sequence_paused{}); },
    [self](resume_atom) { handle(self, ev::sequence_resumed{}); },
    [self](restart_atom) { handle(self, ev::restarted{}); },
    [self](ack_atom, const delivery_ack& ack) {
      ack.countdown->confirm();
      maybe_passivate(self);
    },
    [self](assign_atom) {
      auto& st = self->state;
      std::unique_ptr<enrollment_assignment> next{
        st.incoming.exchange(nullptr, std::memory_order_acquire)};
      if (next) assign(st, std::move(*next));
    },
    [self](get_atom) { return self->state.e; },
  };
}

} // namespace herald::actors
