#include "actors/runtime.hpp"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <limits>
#include <stdexcept>

#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <date/tz.h>

#include "actors/scheduler.hpp"
#include "storage/codec.hpp"
#include "storage/keys.hpp"
#include "storage/recovery.hpp"

namespace herald::actors {

namespace {

caf::scheduler::test_coordinator* coordinator(caf::actor_system& sys) {
  return dynamic_cast<caf::scheduler::test_coordinator*>(&sys.scheduler());
}

// The lead's own zone, else the workspace's (an unknown name falls back too:
// the API validates zones on the way in).
const date::time_zone* zone_of(const lead& l, const date::time_zone* fallback) {
  if (l.timezone.empty()) return fallback;
  try {
    return date::locate_zone(l.timezone);
  } catch (const std::exception&) {
    return fallback;
  }
}

} // namespace

runtime::runtime(const runtime_options& o, const clock& time,
                 storage::store& db, storage::group_commit& persister,
                 prometheus::Registry* metrics)
  : options_(o), cfg_(std::make_unique<caf::actor_system_config>()),
    time_(time), db_(db), persister_(persister),
    io_(o.deterministic ? 0 : std::max<size_t>(1, o.io_threads)) {
  if (o.deterministic && !db.options().synchronous)
    throw std::invalid_argument{
      "a deterministic runtime needs the group commit in synchronous mode"};
  if (metrics != nullptr) {
    metrics_ = register_step_metrics(*metrics);
    recovery_seconds_ = &prometheus::BuildGauge()
                           .Name("herald_recovery_duration_seconds")
                           .Help("How long the last start's recovery took")
                           .Register(*metrics)
                           .Add({});
  }
  auto cores = std::max<size_t>(1, std::thread::hardware_concurrency());
  auto threads = o.threads > 0 ? o.threads : std::max<size_t>(1, cores - 1);
  if (o.deterministic) {
    cfg_->set("scheduler.policy", caf::atom("testing"));
  } else {
    cfg_->set("scheduler.max-threads",
              static_cast<caf::config_value::integer>(threads));
    if (o.caf_work_stealing) {
      // An idle worker polls briefly, then sleeps on its condition variable
      // (woken by the next enqueue) instead of CAF's 500 polls 50 µs apart:
      // under light load (a step every millisecond) those polls cost 4x the
      // CPU of the work itself, and at full load they change nothing.
      cfg_->set("work-stealing.aggressive-poll-attempts",
                caf::config_value::integer{20});
      cfg_->set("work-stealing.moderate-poll-attempts",
                caf::config_value::integer{0});
    } else {
      use_lean_scheduler(*cfg_);
    }
  }
  sys_ = std::make_unique<caf::actor_system>(*cfg_);
  auto n = o.shards > 0 ? o.shards : threads;
  next_due_ = std::make_unique<std::atomic<int64_t>[]>(n);
  shard_hooks hooks;
  hooks.may_fire = [this] {
    return persister_.backlog_bytes() < options_.max_persist_backlog &&
           io_.pending() < options_.max_activations;
  };
  hooks.armed = [this](int64_t due) { armed(due); };
  for (size_t i = 0; i < n; ++i) {
    next_due_[i].store(-1);
    auto router = sys_->spawn(
      [this](timer_sink_actor::pointer) -> timer_sink_actor::behavior_type {
        return {[this](fired_atom, const fired_timers& f) { route(f); }};
      });
    auto shard = sys_->spawn(timer_shard, time_.now(), router, hooks);
    shards_.push_back(shard);
    // Enrollments arm their timers in it directly (under its mutex).
    shard_states_.push_back(&state_of(shard));
    others_.push_back(router.address());
    others_.push_back(shard.address());
  }
  // Moves the shards' time and keeps what they answer: the next due times
  // (the manual clock's driver reads them) and how many timers fired.
  driver_ = sys_->spawn([this](caf::event_based_actor* self) -> caf::behavior {
    return {[this, self](advance_atom, int64_t now) {
      for (size_t i = 0; i < shards_.size(); ++i)
        self->request(shards_[i], caf::infinite, advance_atom::value, now)
          .then([this, i](int64_t next, uint64_t fired) {
            next_due_[i].store(next, std::memory_order_relaxed);
            fired_.fetch_add(fired, std::memory_order_relaxed);
            answers_.fetch_add(1);
            { std::lock_guard lk{ticker_mu_}; } // the ticker may be waiting
            ticker_cv_.notify_all();
          });
    }};
  });
  others_.push_back(driver_.address());
  // A shard builds its wheel in its first job, and recover() and the
  // enrollments arm timers in it directly: that job runs before anyone can.
  if (o.deterministic) {
    settle();
  } else {
    caf::scoped_actor waiter{*sys_};
    for (const auto& shard : shards_)
      waiter
        ->request(shard, caf::infinite, advance_atom::value, to_ms(time_.now()))
        .receive([](int64_t, uint64_t) {}, [](const caf::error&) {});
  }
}

runtime::~runtime() { stop(); }

// -- set-up -------------------------------------------------------------------

account_actor runtime::add_account(const sender_account& acc,
                                   const date::time_zone* zone,
                                   budget_policy policy) {
  if ((acc.id.value & account_timer_bit) != 0)
    throw std::invalid_argument{
      "account ids are below 2^63: the timer shards keep the top bit"};
  const auto& shard = shard_for(acc.id.value);
  auto a = sys_->spawn(account, acc, zone, policy, &time_, shard);
  // Enrollments take and settle their slots in it directly (under its mutex),
  // maybe before its first job.
  auto& st = state_of(a);
  init_account_state(st, acc, zone, policy, &time_, shard);
  std::unique_lock lk{mu_};
  accounts_[acc.id.value] = a;
  account_states_[acc.id.value] = &st;
  return a;
}

channel_actor runtime::add_channel(channel kind, provider* delivery) {
  auto c = sys_->spawn(channel_behavior, delivery);
  std::unique_lock lk{mu_};
  (kind == channel::email ? email_channel_ : linkedin_channel_) = c;
  (kind == channel::email ? email_provider_ : linkedin_provider_) =
    delivery->direct() ? delivery : nullptr;
  others_.push_back(c.address());
  return c;
}

void runtime::add_sequence(std::shared_ptr<const sequence_env> sequence,
                           const date::time_zone* zone) {
  std::unique_lock lk{mu_};
  auto id = sequence->seq.id.value;
  auto steps = sequence->seq.steps.size();
  if (auto& c = counters_[id]; !c || c->steps() != steps)
    c = std::make_unique<sequence_counters>(steps);
  sequences_[id] = {std::move(sequence), zone};
}

// -- enrollments --------------------------------------------------------------

enrollment_env runtime::links(const enrollment& e) {
  enrollment_env env;
  env.time = &time_;
  env.persister = &persister_;
  env.shard = shard_for(e.id.value);
  env.shard_state =
    shard_states_[shard_index(e.id.value, shard_states_.size())];
  if (auto it = accounts_.find(e.email_sender.value); it != accounts_.end())
    env.email_account = it->second;
  if (auto it = accounts_.find(e.linkedin_sender.value); it != accounts_.end())
    env.linkedin_account = it->second;
  if (auto it = account_states_.find(e.email_sender.value);
      it != account_states_.end())
    env.email_slots = it->second;
  if (auto it = account_states_.find(e.linkedin_sender.value);
      it != account_states_.end())
    env.linkedin_slots = it->second;
  env.email_channel = email_channel_;
  env.linkedin_channel = linkedin_channel_;
  env.email_provider = email_provider_;
  env.linkedin_provider = linkedin_provider_;
  env.directory = this;
  env.counters = counters_of(e.sequence);
  env.metrics = metrics_.get();
  env.passivate_after = options_.passivate_after;
  env.fire_due_at_once = !options_.deterministic;
  return env;
}

// mu_ held (shared at least).
enrollment_actor
runtime::spawn_enrollment(storage::enrollment_snapshot snapshot,
                          std::shared_ptr<const lead> contact, bool counted) {
  const auto& e = snapshot.e;
  auto it = sequences_.find(e.sequence.value);
  if (it == sequences_.end())
    throw std::invalid_argument{"enrollment of an unknown sequence"};
  auto zone = zone_of(*contact, it->second.second);
  auto env = links(e);
  if (counted) {
    env.pending_enrolls = &pending_enrolls_;
    // A quarter of them had their first job (below the bound for any bound).
    env.pending_low =
      static_cast<int64_t>(options_.max_pending_enrolls * 3 / 4);
  }
  enrollment_actor kept;
  {
    // Not the actor this enrollment had last: messages of its earlier life
    // could pass for this one's.
    std::lock_guard pool{pool_mu_};
    for (size_t i = parked_.size(); i-- > 0 && !kept;)
      if (parked_[i].last != e.id.value) {
        kept = std::move(parked_[i].actor);
        parked_.erase(parked_.begin() + static_cast<std::ptrdiff_t>(i));
      }
  }
  if (kept) {
    // The actor takes it up in its own job, before the caller's first
    // message.
    reassign(kept, {std::move(snapshot), it->second.first, std::move(contact),
                    zone, std::move(env)});
    reused_.fetch_add(1, std::memory_order_relaxed);
    return kept;
  }
  return sys_->spawn(enrollment_behavior, std::move(snapshot), it->second.first,
                     std::move(contact), zone, std::move(env));
}

size_t runtime::parked_count() const {
  std::lock_guard pool{pool_mu_};
  return parked_.size();
}

size_t runtime::trim_parked(size_t n) {
  std::vector<enrollment_actor> leaving;
  size_t excess = 0;
  {
    std::lock_guard pool{pool_mu_};
    while (parked_.size() > options_.keep_parked && leaving.size() < n) {
      leaving.push_back(std::move(parked_.back().actor));
      parked_.pop_back();
    }
    excess = parked_.size() - std::min(parked_.size(), options_.keep_parked);
  }
  for (const auto& a : leaving)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  return excess;
}

bool runtime::park(enrollment_id id, const enrollment_actor& self) {
  std::lock_guard pool{pool_mu_};
  // stop() sets stopped_ before it collects the pool under this lock: an
  // actor parked later would never be told to exit.
  if (stopped_ || parked_.size() >= options_.max_parked) return false;
  parked_.push_back({self, id.value});
  return true;
}

bool runtime::await_pending_enrolls() {
  const auto bound = static_cast<int64_t>(options_.max_pending_enrolls);
  const bool counted = bound > 0 && !options_.deterministic;
  if (counted)
    for (auto n = pending_enrolls_.load(); n >= bound && !stopped_;
         n = pending_enrolls_.load())
      pending_enrolls_.wait(n);
  return counted;
}

bool runtime::admissible(const enrollment& e) const {
  if (stopped_ || directory_.count(e.id.value) > 0 ||
      (e.id.value & account_timer_bit) != 0)
    return false;
  if (sequences_.count(e.sequence.value) == 0)
    throw std::invalid_argument{"enrollment of an unknown sequence"};
  return true;
}

bool runtime::enroll(const enrollment& e, std::shared_ptr<const lead> contact,
                     bool lead_replied, bool indexed) {
  const bool counted = await_pending_enrolls();
  serving_ = true;
  // The lead's index entries, for events addressed to the lead or to its
  // company: queued (under the lock) before the enrollment's first snapshot
  // can be, since the group commit writes in order, so a recovered enrollment
  // is always indexed. Built before the lock, which every route takes.
  storage::write_set w;
  if (!indexed)
    w.merge(storage::cf::leads,
            storage::key::lead_enrollments(e.workspace, e.lead),
            storage::key::lead_enrollments_entry(e.id));
  if (contact && !indexed && !contact->email.empty())
    w.put(storage::cf::leads,
          storage::key::lead_email(e.workspace, contact->email, e.lead), {});
  std::unique_lock lk{mu_};
  if (!admissible(e)) return false;
  // Before its first transition, which moves it from here.
  if (auto* c = counters_of(e.sequence)) c->entered(e);
  entry x;
  x.ws = e.workspace;
  storage::write_set first;
  if (options_.in_place && contact &&
      enroll_in_place(e, contact, lead_replied, x, first)) {
    // Passive from the start: activations wait until its first snapshot,
    // queued after its index entries, is durable. Queued once mu_ is let go
    // (a refused write completes at once, and written() takes mu_).
    directory_.emplace(e.id.value, x);
    enrolled_in_place_.fetch_add(1, std::memory_order_relaxed);
    lk.unlock();
    // submit(): the caller waits while the group commit's queue is full, as
    // it waits for pending first jobs on the actors' way.
    if (!w.empty()) persister_.submit(std::move(w), nullptr);
    if (!first.empty())
      persister_.submit(std::move(first),
                        [this, id = e.id](const storage::status& ok) {
                          written(id, 1, static_cast<bool>(ok));
                        });
    return true;
  }
  enroll_resident(e, std::move(contact), lead_replied, counted, x,
                  std::move(w));
  return true;
}

void runtime::enroll_resident(const enrollment& e,
                              std::shared_ptr<const lead> contact,
                              bool lead_replied, bool counted, entry x,
                              storage::write_set index) {
  auto a = spawn_enrollment({e, {}}, std::move(contact), counted);
  if (!index.empty()) persister_.post(std::move(index), nullptr);
  // Counted once the actor exists; it counts itself off in its first job,
  // which cannot run before the message below.
  if (counted) pending_enrolls_.fetch_add(1);
  x.actor = a;
  directory_.emplace(e.id.value, x);
  ++resident_;
  // Sent under the lock, like every routed input: the enrollment comes first
  // in its mailbox, before any event routed to it.
  caf::anon_send(a, enroll_atom::value, lead_replied);
}

size_t runtime::enroll_all(
  std::vector<std::pair<enrollment, std::shared_ptr<const lead>>>& batch,
  storage::write_set index, storage::completion written) {
  const bool counted = await_pending_enrolls();
  serving_ = true;
  size_t n = 0, in_place = 0;
  storage::write_set first;
  std::vector<enrollment_id> placed;
  {
    std::unique_lock lk{mu_};
    for (const auto& [e, contact] : batch)
      if (sequences_.count(e.sequence.value) == 0)
        throw std::invalid_argument{"enrollment of an unknown sequence"};
    // Queued first, so the group commit writes it before any first snapshot
    // or step of the batch; an event finds its entries only once they are
    // durable, and routes under this lock, once every enrollment below is in
    // the directory. A refused write completes at once: `written` must not
    // take mu_.
    if (!index.empty()) persister_.post(std::move(index), std::move(written));
    for (auto& [e, contact] : batch) {
      if (!admissible(e)) continue;
      // Before its first transition, which moves it from here.
      if (auto* c = counters_of(e.sequence)) c->entered(e);
      entry x;
      x.ws = e.workspace;
      ++n;
      if (options_.in_place && contact &&
          enroll_in_place(e, contact, false, x, first)) {
        directory_.emplace(e.id.value, x);
        if (x.needed != 0) placed.push_back(e.id);
        ++in_place;
      } else {
        enroll_resident(e, std::move(contact), false, counted, x, {});
      }
    }
  }
  if (written) written(storage::done{}); // nothing to write: durable
  enrolled_in_place_.fetch_add(in_place, std::memory_order_relaxed);
  // As in enroll(): queued once mu_ is let go; the caller waits while the
  // group commit's queue is full.
  if (!first.empty())
    persister_.submit(std::move(first), [this, ids = std::move(placed)](
                                          const storage::status& ok) {
      written_all(ids, static_cast<bool>(ok));
    });
  return n;
}

// mu_ held. An enrollment whose first step is far off needs no actor: its
// first transition (a timer armed, a snapshot) is made here, and `x` and
// `first` say what the directory and storage get. False (nothing changed)
// when it needs an actor from the start.
bool runtime::enroll_in_place(const enrollment& e,
                              const std::shared_ptr<const lead>& contact,
                              bool lead_replied, entry& x,
                              storage::write_set& first) {
  auto seq = sequences_.find(e.sequence.value);
  // On the relative schedule the first step is due its delay after now: when
  // that is sooner than passivate_after, an actor takes it, and nothing is
  // built here for nothing (W1's enrollments, due at once).
  const auto& s = seq->second.first->seq;
  if (!lead_replied && s.schedule.mode == schedule_mode::relative &&
      !s.steps.empty() &&
      s.schedule.day * s.steps.front().delay_days < options_.passivate_after)
    return false;
  enrollment_actor_state st;
  assign(st, {{e, {}},
              seq->second.first,
              contact,
              zone_of(*contact, seq->second.second),
              links(e)});
  const auto before = first.count();
  if (!apply_idle(st, ev::enrolled{lead_replied}, first)) return false;
  x.armed = storage::is_armed(st.e) ? st.e.generation : 0;
  x.needed = first.count() == before ? 0 : 1;
  return true;
}

runtime::totals runtime::stats() const {
  std::shared_lock lk{mu_};
  totals t;
  t.enrolled = directory_.size();
  t.resident = resident_;
  t.activations = activations_;
  t.passivations = passivations_;
  t.failed_activations = failed_activations_;
  t.stale_dropped = stale_dropped_.load();
  t.ended_inputs = ended_inputs_.load();
  t.deferred_activations = deferred_activations_;
  t.reused = reused_.load();
  t.parked = parked_count();
  t.enrolled_in_place = enrolled_in_place_.load();
  t.halted_in_place = halted_in_place_.load();
  return t;
}

// -- deterministic mode ------------------------------------------------------

size_t runtime::settle() {
  auto* sched = coordinator(*sys_);
  if (sched == nullptr)
    throw std::logic_error{"settle() needs the deterministic runtime"};
  size_t total = 0;
  for (;;) {
    auto n = sched->run() + persister_.flush_once() + io_.run_pending();
    if (n == 0) return total;
    total += n;
  }
}

std::optional<time_point> runtime::advance() {
  for (;;) {
    auto before = fired_.load();
    tick();
    settle();
    if (fired_.load() == before) break;
  }
  int64_t next = -1;
  for (size_t i = 0; i < shards_.size(); ++i) {
    auto n = next_due_[i].load();
    if (n >= 0 && (next < 0 || n < next)) next = n;
  }
  if (next < 0) return std::nullopt;
  return from_ms(next);
}

void runtime::stop() {
  if (stopped_.exchange(true)) return;
  // enroll() calls waiting for the pending count see stopped_: a value no
  // count comes back to.
  pending_enrolls_.store(std::numeric_limits<int64_t>::min() / 2);
  pending_enrolls_.notify_all();
  {
    std::lock_guard lk{ticker_mu_};
    ticker_stop_ = true;
  }
  ticker_cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  // The directory goes first: activations and deliveries still queued in the
  // pool (run by its stop) and writes completing meanwhile find nothing.
  std::vector<caf::actor_addr> all;
  {
    std::unique_lock lk{mu_};
    for (auto& [id, x] : directory_)
      if (x.actor) all.push_back(x.actor.address());
    for (auto& [id, a] : accounts_)
      all.push_back(a.address());
    std::lock_guard pool{pool_mu_};
    for (auto& k : parked_)
      all.push_back(k.actor.address());
    parked_.clear();
    all.insert(all.end(), others_.begin(), others_.end());
    directory_.clear();
    waiting_.clear();
    accounts_.clear();
    account_states_.clear();
    others_.clear();
  }
  io_.stop();
  for (const auto& addr : all)
    caf::anon_send_exit(addr, caf::exit_reason::user_shutdown);
  if (auto* sched = coordinator(*sys_)) sched->run();
  driver_ = nullptr;
  email_channel_ = channel_actor{};
  linkedin_channel_ = channel_actor{};
  shards_.clear();
  sys_.reset();
  // The actors' last writes report to this object: they are done before it
  // goes.
  persister_.flush_once();
}

} // namespace herald::actors
