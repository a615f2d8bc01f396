// The directory of enrollments at work: inputs (timers, events and their
// acknowledgements) routed to live actors, passive enrollments activated from
// storage for them, actors passivating, and what the group commit reports
// durable.

#include "actors/runtime.hpp"

#include <algorithm>

#include <caf/send.hpp>

#include "storage/codec.hpp"
#include "storage/history.hpp"
#include "storage/keys.hpp"

namespace herald::actors {

void runtime::send_input(const enrollment_actor& a, const input& in) {
  if (in.kind == input::restart) {
    caf::anon_send(a, restart_atom::value);
    return;
  }
  if (in.kind == input::fire) {
    caf::anon_send(a, fire_atom::value, static_cast<uint32_t>(in.arg));
    return;
  }
  if (in.kind == input::ack) {
    caf::anon_send(a, ack_atom::value, delivery_ack{in.countdown});
    return;
  }
  switch (in.what) {
    case lead_event::reply: caf::anon_send(a, reply_atom::value); break;
    case lead_event::bounce: caf::anon_send(a, bounce_atom::value); break;
    case lead_event::unsubscribe: caf::anon_send(a, unsub_atom::value); break;
    case lead_event::invite_accepted:
      caf::anon_send(a, accepted_atom::value);
      break;
    case lead_event::colleague_replied:
      caf::anon_send(a, colleague_atom::value);
      break;
    case lead_event::auto_reply:
      caf::anon_send(a, autoreply_atom::value, in.arg);
      break;
    case lead_event::pause: caf::anon_send(a, pause_atom::value); break;
    case lead_event::resume: caf::anon_send(a, resume_atom::value); break;
  }
}

bool runtime::route_input(
  uint64_t id, input in,
  std::vector<std::pair<uint64_t, workspace_id>>* later) {
  {
    // The common case: resident. Sending under the lock orders the message
    // before any passivation, which takes the lock exclusively.
    std::shared_lock lk{mu_};
    auto it = directory_.find(id);
    if (it == directory_.end()) return false;
    if (it->second.actor) {
      send_input(it->second.actor, in);
      return true;
    }
    if (ended(it->second, in)) {
      lk.unlock();
      return apply_ended(in);
    }
  }
  std::unique_lock lk{mu_};
  auto it = directory_.find(id);
  if (it == directory_.end()) return false;
  auto& x = it->second;
  if (x.actor) {
    send_input(x.actor, in);
  } else if (ended(x, in)) {
    lk.unlock();
    return apply_ended(in);
  } else if (in.kind == input::fire && !x.activating &&
             !timer_entry{id, 0, static_cast<uint32_t>(in.arg)}.armed_with(
               x.armed)) {
    // A timer the passive enrollment no longer has armed (it halted, or
    // re-armed): nothing to activate it for.
    stale_dropped_.fetch_add(1, std::memory_order_relaxed);
  } else if (hold_for_activation(id, x, in)) {
    auto ws = x.ws;
    lk.unlock(); // a stopping pool runs the job here, and it takes mu_
    if (later != nullptr)
      later->emplace_back(id, ws);
    else
      run_io([this, id, ws] { activate(id, ws); });
  }
  return true;
}

bool runtime::halts(const input& in) {
  return in.kind == input::event &&
         (in.what == lead_event::reply || in.what == lead_event::bounce ||
          in.what == lead_event::unsubscribe);
}

bool runtime::ended(const entry& x, const input& in) {
  // A broken one's storage disagrees with what it ended as: it counts as a
  // failed activation, as before it ended.
  // Nor before its last snapshot (the one saying it ended) is durable: a
  // confirmation would tell the caller of an ending storage may not hold.
  return x.final && !x.broken && x.settled >= x.needed &&
         (in.kind == input::event || in.kind == input::ack);
}

bool runtime::apply_ended(const input& in) {
  // What an ended enrollment's actor would do: nothing for the event (a
  // reply to a halted lead), and confirm the acknowledgement. Not under
  // mu_: a confirmation may complete a delivery, whose continuation routes
  // again.
  if (in.kind == input::ack && in.countdown) in.countdown->confirm();
  ended_inputs_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool runtime::hold_for_activation(uint64_t id, entry& x, input in) {
  if (x.broken) {
    ++failed_activations_;
    return false;
  }
  waiting_[id].push_back(in);
  if (x.activating) return false;
  x.activating = true;
  x.deferred = x.settled < x.needed;
  if (x.deferred) ++deferred_activations_;
  return !x.deferred;
}

bool runtime::deliver(enrollment_id id, lead_event event,
                      std::optional<time_point> back) {
  serving_ = true;
  return route_input(
    id.value, input{input::event, event, back ? to_ms(*back) : -1, nullptr});
}

void runtime::deliver_to_lead(workspace_id ws, lead_id lead, lead_event event,
                              std::optional<time_point> back,
                              std::function<void(size_t)> applied) {
  serving_ = true;
  run_io([this, ws, lead, event, back, applied = std::move(applied)] {
    std::vector<uint64_t> ids;
    if (auto read = storage::read_lead_enrollments(db_, ws, lead))
      for (auto id : *read)
        ids.push_back(id.value);
    deliver_to_each(ids, event, back, applied);
  });
}

void runtime::deliver_to_enrollments(std::vector<uint64_t> ids,
                                     lead_event event,
                                     std::optional<time_point> back,
                                     std::function<void(size_t)> applied) {
  serving_ = true;
  run_io(
    [this, ids = std::move(ids), event, back, applied = std::move(applied)] {
      deliver_to_each(ids, event, back, applied);
    });
}

void runtime::deliver_to_domain(workspace_id ws, std::string_view domain,
                                lead_id except, lead_event event,
                                std::function<void(size_t)> applied) {
  serving_ = true;
  run_io([this, ws, prefix = storage::key::domain_leads_prefix(ws, domain),
          except, event, applied = std::move(applied)] {
    // The company's leads by their email entries, then each one's
    // enrollments.
    std::vector<lead_id> leads;
    auto scanned = db_.scan_prefix(
      storage::cf::leads, prefix, [&](std::string_view k, std::string_view) {
        if (auto l = storage::key::parse_lead_email(k); l && *l != except)
          leads.push_back(*l);
        return true;
      });
    if (!scanned) leads.clear(); // nothing can be confirmed
    std::vector<uint64_t> ids;
    for (auto l : leads) {
      auto read = storage::read_lead_enrollments(db_, ws, l);
      if (!read) {
        ids.clear(); // nothing can be confirmed
        break;
      }
      for (auto id : *read)
        ids.push_back(id.value);
    }
    // A lead whose address changed may be listed twice.
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    deliver_to_each(ids, event, std::nullopt, applied);
  });
}

void runtime::deliver_to_each(const std::vector<uint64_t>& ids,
                              lead_event event, std::optional<time_point> back,
                              const std::function<void(size_t)>& applied) {
  auto countdown = std::make_shared<delivery_countdown>(ids.size(), applied);
  if (ids.empty() && applied) applied(0);
  input in{input::event, event, back ? to_ms(*back) : -1, nullptr};
  input ack{input::ack, event, 0, countdown};
  std::vector<std::pair<uint64_t, workspace_id>> activations;
  for (auto id : ids) {
    // The confirmation follows the event through the same route, so the
    // enrollment has applied the one when it handles the other. A passive
    // one is activated once both wait: one that halts without an actor
    // confirms in the same go, as an actor would in its first job.
    if (!route_input(id, in, &activations) ||
        !route_input(id, ack, &activations))
      countdown->confirm();
  }
  for (auto [id, ws] : activations)
    activate(id, ws);
}

// On the I/O pool: reads the snapshot and the lead back, spawns the actor and
// hands it what waited, in arrival order.
void runtime::activate(uint64_t id, workspace_id ws) {
  // Activated for a reply, a bounce or an unsubscribe, the enrollment halts
  // in its first job (if it is still active) and never calls a provider
  // again: it needs no contact, and the lead is not read back for it. The
  // first input waiting is the one that started this activation.
  bool halting = false;
  {
    std::shared_lock lk{mu_};
    if (auto w = waiting_.find(id); w != waiting_.end() && !w->second.empty())
      halting = halts(w->second.front());
  }
  std::optional<storage::enrollment_snapshot> snapshot;
  std::shared_ptr<lead> contact;
  if (auto got = db_.get(storage::cf::enrollments,
                         storage::key::enrollment(ws, enrollment_id{id}));
      got && got->has_value()) {
    if (auto decoded = storage::decode_snapshot(**got))
      snapshot = std::move(*decoded);
  }
  const enrollment* e = snapshot ? &snapshot->e : nullptr;
  if (e && halting && halt_in_place(id, *snapshot)) return;
  if (e && halting) {
    contact = std::make_shared<lead>();
    contact->id = e->lead;
    contact->workspace = e->workspace;
  } else if (e) {
    if (auto got = db_.get(storage::cf::leads, storage::key::lead(ws, e->lead));
        got && got->has_value()) {
      if (auto decoded = storage::decode_lead(**got))
        contact = std::make_shared<lead>(std::move(*decoded));
    }
  }
  std::unique_lock lk{mu_};
  auto it = directory_.find(id);
  auto waiting = std::move(waiting_[id]);
  waiting_.erase(id);
  if (it == directory_.end()) return; // stopped meanwhile
  it->second.activating = false;
  if (!e || !contact || sequences_.count(e->sequence.value) == 0) {
    ++failed_activations_;
    return;
  }
  auto a = spawn_enrollment(std::move(*snapshot), std::move(contact));
  it->second.actor = a;
  it->second.needed = it->second.settled = 0; // the new actor numbers anew
  ++resident_;
  ++activations_;
  for (const auto& in : waiting)
    send_input(a, in);
}

namespace {

// The engine's event for routed input `in` (an event).
event event_of(lead_event what, int64_t arg) {
  switch (what) {
    case lead_event::reply: return ev::reply{};
    case lead_event::bounce: return ev::bounce{};
    case lead_event::unsubscribe: return ev::unsubscribe{};
    case lead_event::invite_accepted: return ev::invite_accepted{};
    case lead_event::colleague_replied: return ev::colleague_replied{};
    case lead_event::auto_reply: {
      std::optional<time_point> back;
      if (arg >= 0) back = from_ms(arg);
      return ev::auto_reply{back};
    }
    case lead_event::pause: return ev::sequence_paused{};
    case lead_event::resume: return ev::sequence_resumed{};
  }
  return ev::reply{};
}

} // namespace

bool runtime::halt_in_place(uint64_t id,
                            const storage::enrollment_snapshot& snapshot) {
  const auto& e = snapshot.e;
  // What the actor would do in its first job, done here: the events applied
  // in arrival order (the first halts it; the ones after change nothing
  // more), the timers stale once it halted, the acknowledgements confirmed
  // once its snapshot is queued. Nothing of it needs a contact, an account
  // or a provider. Worked out without the directory's lock, which only
  // frames it: what waits is read first, and taken if nothing came since.
  std::vector<input> inputs;
  enrollment_actor_state st;
  {
    std::shared_lock lk{mu_};
    auto seq = sequences_.find(e.sequence.value);
    auto waiting = waiting_.find(id);
    if (seq == sequences_.end() || waiting == waiting_.end()) return false;
    inputs = waiting->second;
    auto stand_in = std::make_shared<lead>();
    stand_in->id = e.lead;
    stand_in->workspace = e.workspace;
    assign(st, {snapshot, seq->second.first, std::move(stand_in),
                seq->second.second, links(e)});
  }
  // Counted once it holds (a refusal half-way leaves them untouched).
  auto* counters = std::exchange(st.env.counters, nullptr);
  st.env.metrics = nullptr;
  storage::write_set w;
  std::vector<std::shared_ptr<delivery_countdown>> acks;
  for (const auto& in : inputs) {
    if (in.kind == input::restart) return false;
    if (in.kind == input::ack) {
      acks.push_back(in.countdown);
    } else if (in.kind == input::event) {
      if (!apply_idle(st, event_of(in.what, in.arg), w)) return false;
    }
    // A timer: stale once the first event halted the enrollment.
  }
  if (st.e.state == enrollment_state::active) return false;
  {
    std::unique_lock lk{mu_};
    auto it = directory_.find(id);
    auto waiting = waiting_.find(id);
    if (it == directory_.end()) return true; // stopped meanwhile
    if (waiting == waiting_.end() || waiting->second.size() != inputs.size())
      return false; // more came: the actor takes them all
    waiting_.erase(waiting);
    auto& x = it->second;
    x.activating = false;
    x.armed = 0;
    x.final = st.e.phase == enrollment_phase::done;
    // Numbered anew, as an actor would: the one write below.
    x.needed = w.empty() ? 0 : 1;
    x.settled = 0;
  }
  if (counters != nullptr) counters->moved(e, st.e);
  halted_in_place_.fetch_add(1, std::memory_order_relaxed);
  // Queued before the confirmations: whatever a confirmation lets its caller
  // write next is written after this snapshot.
  if (!w.empty())
    persister_.post(std::move(w), [this, id](const storage::status& ok) {
      written(enrollment_id{id}, 1, static_cast<bool>(ok));
    });
  for (const auto& countdown : acks)
    countdown->confirm();
  return true;
}

bool runtime::passivate(enrollment_id id,
                        const std::function<bool()>& mailbox_empty,
                        uint32_t armed, uint64_t last_write, bool final) {
  std::unique_lock lk{mu_};
  auto it = directory_.find(id.value);
  if (it == directory_.end() || !it->second.actor || !mailbox_empty())
    return false;
  it->second.actor = enrollment_actor{};
  it->second.armed = armed;
  it->second.needed = static_cast<uint32_t>(last_write);
  it->second.final = final;
  --resident_;
  ++passivations_;
  return true;
}

void runtime::written_all(const std::vector<enrollment_id>& ids, bool ok) {
  // Most have nothing waiting for them: settled here under one hold of mu_;
  // the rest one at a time.
  std::vector<enrollment_id> waited;
  {
    std::unique_lock lk{mu_};
    for (auto id : ids) {
      auto it = directory_.find(id.value);
      if (it == directory_.end()) continue;
      auto& x = it->second;
      if (!ok || x.deferred)
        waited.push_back(id);
      else
        x.settled = std::max<uint32_t>(x.settled, 1);
    }
  }
  for (auto id : waited)
    written(id, 1, ok);
}

void runtime::written(enrollment_id id, uint64_t number, bool ok) {
  std::unique_lock lk{mu_};
  auto it = directory_.find(id.value);
  if (it == directory_.end()) return;
  auto& x = it->second;
  if (!ok) {
    // The snapshot storage holds is not the one the actor left with: no
    // activation may start from it (until recovery reads the store again).
    // What waits for it is dropped and counted as failed.
    x.broken = true;
    if (x.activating) {
      ++failed_activations_;
      waiting_.erase(id.value);
      x.activating = x.deferred = false;
    }
    return;
  }
  x.settled = std::max(x.settled, static_cast<uint32_t>(number));
  if (!x.deferred || x.settled < x.needed) return;
  x.deferred = false;
  if (x.final) {
    // Ended, and now durably so (an acknowledgement following its halting
    // event waits here for that): what waited is applied as for any ended
    // enrollment, without an activation, unless something needs one.
    auto w = waiting_.find(id.value);
    if (w != waiting_.end() &&
        std::all_of(w->second.begin(), w->second.end(), [](const input& in) {
          return in.kind == input::event || in.kind == input::ack ||
                 in.kind == input::fire;
        })) {
      auto inputs = std::move(w->second);
      waiting_.erase(w);
      x.activating = false;
      lk.unlock();
      for (const auto& in : inputs)
        if (in.kind == input::fire)
          stale_dropped_.fetch_add(1, std::memory_order_relaxed);
        else
          apply_ended(in);
      return;
    }
  }
  auto ws = x.ws;
  lk.unlock(); // a stopping pool runs the job here, and it takes mu_
  io_.post([this, i = id.value, ws] { activate(i, ws); });
}

std::optional<enrollment_actor> runtime::resident(enrollment_id id) const {
  std::shared_lock lk{mu_};
  if (auto it = directory_.find(id.value);
      it != directory_.end() && it->second.actor)
    return it->second.actor;
  return std::nullopt;
}

void runtime::route(const fired_timers& fired) {
  for (const auto& e : fired.entries) {
    if ((e.id() & account_timer_bit) != 0) {
      std::shared_lock lk{mu_};
      if (auto it = accounts_.find(e.id() & ~account_timer_bit);
          it != accounts_.end())
        caf::anon_send(it->second, fired_atom::value, fired_timers{{e}});
    } else {
      route_input(e.id(), input{input::fire, lead_event::reply,
                                static_cast<int64_t>(e.generation()), nullptr});
    }
  }
}

} // namespace herald::actors
