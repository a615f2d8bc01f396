#include "engine/enrollment_machine.hpp"

#include <algorithm>

#include "engine/schedule.hpp"

namespace herald {

namespace {

// The transition being built: the new enrollment and its effects.
class builder {
 public:
  builder(const enrollment& e, const machine_context& ctx, time_point now)
    : ctx_(ctx), now_(now) {
    t_.next = e;
  }

  transition done() { return std::move(t_); }

  enrollment& e() { return t_.next; }

  const step& current() const { return ctx_.seq->steps[t_.next.position]; }

  account_id current_sender() const {
    return t_.next.sender(account_channel(current().channel));
  }

  void record(history_event what, history_reason why = history_reason::none) {
    t_.effects.push(fx::record{t_.next.position, what, why, now_});
  }

  void arm(time_point due) {
    auto& n = t_.next;
    n.due = due;
    ++n.generation;
    if (!n.paused) t_.effects.push(fx::arm_timer{due, n.generation});
  }

  // Ends the enrollment in `state` from whatever phase it is in.
  void halt(enrollment_state state, history_reason why) {
    auto& n = t_.next;
    if (n.state != enrollment_state::active) return;
    if (n.position < ctx_.seq->steps.size())
      give_back_slot(history_reason::none);
    n.state = state;
    // A send in flight keeps its phase: its outcome still arrives and is
    // recorded.
    if (n.phase != enrollment_phase::sending) n.phase = enrollment_phase::done;
    ++n.generation; // any armed timer is now stale
    record(history_event::halted, why);
    t_.effects.push(fx::halt{state});
  }

  // Takes back a queued request or a granted slot of the current step, if any.
  void give_back_slot(history_reason why) {
    auto& n = t_.next;
    auto kind = current().channel;
    if (n.phase == enrollment_phase::awaiting_slot) {
      t_.effects.push(fx::withdraw_slot{current_sender(), kind});
    } else if (n.phase == enrollment_phase::granted) {
      t_.effects.push(fx::release_slot{current_sender(), kind});
      record(history_event::cancelled, why);
    }
  }

  // Schedules the step at `position`, `base` being when the previous one went
  // (or was due, when it was skipped); completes the enrollment after the last
  // step.
  void schedule_current(time_point base) {
    auto& n = t_.next;
    if (n.position >= ctx_.seq->steps.size()) {
      n.state = enrollment_state::completed;
      n.phase = enrollment_phase::done;
      ++n.generation;
      t_.effects.push(fx::record{n.position, history_event::completed,
                                 history_reason::none, now_});
      t_.effects.push(fx::halt{enrollment_state::completed});
      return;
    }
    n.phase = enrollment_phase::waiting;
    arm_or_fail(due_of_current(base, current().delay_days));
  }

  // Arms the current step at `due`; with none (the windows never open), the
  // enrollment cannot go on and fails with that reason.
  void arm_or_fail(std::optional<time_point> due) {
    if (due) {
      arm(*due);
      return;
    }
    record(history_event::failed, history_reason::no_open_window);
    halt(enrollment_state::failed, history_reason::no_open_window);
  }

  // The current step is due: skip it, wait for the invite, or ask for a slot.
  void fire_current() {
    auto& n = t_.next;
    const auto& s = current();
    auto ch = account_channel(s.channel);
    if (s.condition == step_condition::no_reply && n.lead_replied)
      return skip(history_reason::lead_replied);
    if (ch == channel::email && !ctx_.lead_has_email)
      return skip(history_reason::no_email);
    if (ch == channel::linkedin && !ctx_.lead_has_linkedin)
      return skip(history_reason::no_linkedin_url);
    if (!current_sender().valid()) return skip(history_reason::no_sender);
    if (s.channel == step_channel::linkedin_message && !n.invite_accepted) {
      auto since = n.invite_sent != time_point{} ? n.invite_sent : n.last_sent;
      auto deadline = since + ctx_.invite_grace;
      if (now_ >= deadline) return skip(history_reason::invite_not_accepted);
      n.phase = enrollment_phase::waiting_invite;
      record(history_event::waiting_invite);
      arm(deadline);
      return;
    }
    request_current();
  }

  void write_intent() {
    t_.effects.push(fx::write_intent{t_.next.position, t_.next.attempt,
                                     current_sender(), current().channel});
  }

  void call_provider() {
    t_.effects.push(fx::send{t_.next.position, t_.next.attempt,
                             current_sender(), current().channel});
  }

  // Gives back a grant for `granted_step` that nothing waits for (halted,
  // paused, done, a duplicate).
  void release_unwanted_grant(uint16_t granted_step) {
    auto& n = t_.next;
    const auto& steps = ctx_.seq->steps;
    const auto& s = steps[std::min<size_t>(granted_step, steps.size() - 1)];
    t_.effects.push(
      fx::release_slot{n.sender(account_channel(s.channel)), s.channel});
  }

  void request_current() {
    auto& n = t_.next;
    n.phase = enrollment_phase::awaiting_slot;
    t_.effects.push(fx::request_slot{current_sender(), current().channel,
                                     n.position > 0, n.due});
  }

  void skip(history_reason why) {
    auto& n = t_.next;
    record(history_event::skipped, why);
    auto base = n.due;
    ++n.position;
    n.attempt = 0;
    schedule_current(base);
  }

  // The current step went out (or may have: `uncertain`), at now.
  void sent(history_event what) {
    auto& n = t_.next;
    record(what);
    if (what == history_event::uncertain) n.has_uncertain = true;
    if (current().channel == step_channel::linkedin_invite)
      n.invite_sent = now_;
    n.last_sent = now_;
    ++n.position;
    n.attempt = 0;
    schedule_current(now_);
  }

  std::optional<time_point> due_of_current(time_point base,
                                           int32_t delay) const {
    const auto& n = t_.next;
    const auto& sched = ctx_.seq->schedule;
    auto c = constraints();
    auto due = step_due(sched, c, base, delay, n.id.value, now_);
    if (!due) return std::nullopt;
    if (n.postponed_until > *due) {
      if (sched.mode == schedule_mode::relative) return n.postponed_until;
      auto later = step_due(sched, c, n.postponed_until, 0, n.id.value, now_);
      return later ? std::optional{*later} : std::nullopt;
    }
    return *due;
  }

  // A due time passed while the step could not go: place it spread, not in a
  // burst.
  std::optional<time_point> overdue_place() const {
    auto due =
      overdue_slot(ctx_.seq->schedule, constraints(), t_.next.id.value, now_);
    return due ? std::optional{*due} : std::nullopt;
  }

 private:
  send_constraints constraints() const {
    send_constraints c{ctx_.calendar, ctx_.lead_zone};
    if (account_channel(current().channel) == channel::email) {
      c.account = ctx_.email_calendar;
      c.account_zone = ctx_.email_zone;
    } else {
      c.account = ctx_.linkedin_calendar;
      c.account_zone = ctx_.linkedin_zone;
    }
    if (c.account_zone == nullptr) c.account = nullptr;
    return c;
  }

  const machine_context& ctx_;
  time_point now_;
  transition t_;
};

history_event outcome_event(send_outcome o) {
  switch (o) {
    case send_outcome::sent: return history_event::sent;
    case send_outcome::bounced: return history_event::bounced;
    case send_outcome::unknown: return history_event::uncertain;
    case send_outcome::deferred: return history_event::deferred;
    case send_outcome::failed: break;
  }
  return history_event::failed;
}

bool active(const enrollment& e) { return e.state == enrollment_state::active; }

} // namespace

transition apply_event(const enrollment& e, const machine_context& ctx,
                       const event& event, time_point now) {
  builder b{e, ctx, now};
  auto& n = b.e();
  std::visit(
    [&](const auto& x) {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, ev::enrolled>) {
        if (n.position != 0 || n.phase != enrollment_phase::waiting ||
            n.generation != 0 || !active(n))
          return; // already enrolled: a duplicate
        n.lead_replied = x.lead_replied;
        n.paused = ctx.seq->status == sequence_status::paused;
        n.last_sent = now;
        b.schedule_current(now);
      } else if constexpr (std::is_same_v<T, ev::timer_fired>) {
        if (!active(n) || n.paused || x.generation != n.generation)
          return; // stale
        if (n.phase == enrollment_phase::waiting) {
          b.fire_current();
        } else if (n.phase == enrollment_phase::waiting_invite) {
          if (n.invite_accepted)
            b.request_current();
          else
            b.skip(history_reason::invite_not_accepted);
        }
      } else if constexpr (std::is_same_v<T, ev::slot_granted>) {
        if (n.phase == enrollment_phase::awaiting_slot && active(n) &&
            !n.paused && x.step == n.position) {
          n.phase = enrollment_phase::granted;
          ++n.attempt;
          b.write_intent();
        } else {
          b.release_unwanted_grant(x.step);
        }
      } else if constexpr (std::is_same_v<T, ev::intent_durable>) {
        if (n.phase != enrollment_phase::granted || !active(n) || n.paused ||
            x.step != n.position || x.attempt != n.attempt)
          return; // cancelled meanwhile (recorded then), or not this step's
        n.phase = enrollment_phase::sending;
        b.call_provider();
      } else if constexpr (std::is_same_v<T, ev::send_result>) {
        if (n.phase != enrollment_phase::sending || x.step != n.position ||
            x.attempt != n.attempt)
          return; // duplicate or stale
        if (!active(n)) {
          // Halted while the provider was being called: keep the truth.
          n.phase = enrollment_phase::done;
          b.record(outcome_event(x.outcome));
          return;
        }
        switch (x.outcome) {
          case send_outcome::sent:
          case send_outcome::unknown: b.sent(outcome_event(x.outcome)); break;
          case send_outcome::deferred:
            b.record(history_event::deferred);
            if (n.paused)
              n.phase = enrollment_phase::waiting; // placed again on resume
            else
              b.request_current();
            break;
          case send_outcome::bounced:
          case send_outcome::failed:
            b.record(outcome_event(x.outcome));
            n.phase = enrollment_phase::done; // the slot was used
            b.halt(x.outcome == send_outcome::bounced
                     ? enrollment_state::bounced
                     : enrollment_state::failed,
                   x.outcome == send_outcome::bounced ? history_reason::bounce
                                                      : history_reason::none);
            break;
        }
      } else if constexpr (std::is_same_v<T, ev::reply>) {
        n.lead_replied = true;
        b.halt(enrollment_state::replied, history_reason::reply);
      } else if constexpr (std::is_same_v<T, ev::bounce>) {
        b.halt(enrollment_state::bounced, history_reason::bounce);
      } else if constexpr (std::is_same_v<T, ev::unsubscribe>) {
        b.halt(enrollment_state::unsubscribed, history_reason::unsubscribe);
      } else if constexpr (std::is_same_v<T, ev::colleague_replied>) {
        if (ctx.seq->stop_on_colleague_reply)
          b.halt(enrollment_state::colleague_replied,
                 history_reason::colleague_replied);
      } else if constexpr (std::is_same_v<T, ev::invite_accepted>) {
        n.invite_accepted = true;
        if (active(n) && !n.paused &&
            n.phase == enrollment_phase::waiting_invite) {
          ++n.generation; // the deadline timer is stale
          b.request_current();
        }
      } else if constexpr (std::is_same_v<T, ev::auto_reply>) {
        if (!active(n)) return;
        auto until = x.return_date.value_or(now + ctx.auto_reply_default);
        n.postponed_until = std::max(n.postponed_until, until);
        b.record(history_event::postponed, history_reason::auto_reply);
        bool rearm = false;
        switch (n.phase) {
          case enrollment_phase::awaiting_slot:
            b.give_back_slot(history_reason::auto_reply);
            [[fallthrough]];
          case enrollment_phase::waiting_invite:
            n.phase = enrollment_phase::waiting;
            rearm = true;
            break;
          case enrollment_phase::waiting:
            rearm = n.due < n.postponed_until;
            break;
          case enrollment_phase::granted: // already going: the next step waits
          case enrollment_phase::sending:
          case enrollment_phase::done: break;
        }
        if (rearm) b.arm_or_fail(b.due_of_current(n.postponed_until, 0));
      } else if constexpr (std::is_same_v<T, ev::sequence_paused>) {
        if (!active(n) || n.paused) return;
        n.paused = true;
        switch (n.phase) {
          case enrollment_phase::waiting:
          case enrollment_phase::waiting_invite:
            ++n.generation; // the armed timer is stale; the place is kept
            break;
          case enrollment_phase::awaiting_slot:
          case enrollment_phase::granted:
            b.give_back_slot(history_reason::sequence_paused);
            n.phase = enrollment_phase::waiting;
            break;
          case enrollment_phase::sending:
          case enrollment_phase::done: break;
        }
      } else if constexpr (std::is_same_v<T, ev::sequence_resumed>) {
        if (!active(n) || !n.paused) return;
        n.paused = false;
        if (n.phase == enrollment_phase::waiting)
          b.arm_or_fail(n.due > now ? std::optional{n.due} : b.overdue_place());
        else if (n.phase == enrollment_phase::waiting_invite)
          b.fire_current(); // accepted meanwhile, still waiting, or past grace
      } else if constexpr (std::is_same_v<T, ev::restarted>) {
        if (n.phase == enrollment_phase::granted ||
            n.phase == enrollment_phase::sending) {
          // The intent was durable, so the provider may have been called:
          // never again, whatever the state.
          n.has_uncertain = true;
          if (active(n)) {
            b.sent(history_event::uncertain);
          } else {
            n.phase = enrollment_phase::done;
            b.record(history_event::uncertain);
          }
        } else if (n.phase == enrollment_phase::awaiting_slot && active(n) &&
                   !n.paused) {
          b.request_current(); // the account's queue did not survive
        }
      }
    },
    event);
  return b.done();
}

} // namespace herald
