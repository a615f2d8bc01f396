#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <prometheus/metric_family.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/account.hpp"
#include "actors/channel.hpp"
#include "actors/enrollment.hpp"
#include "actors/io_pool.hpp"
#include "actors/metrics.hpp"
#include "actors/runtime_options.hpp"
#include "actors/sequence_counters.hpp"
#include "actors/timer_shard.hpp"
#include "engine/clock.hpp"
#include "engine/hash.hpp"
#include "storage/group_commit.hpp"
#include "storage/store.hpp"

namespace herald::actors {

/// What reaches an enrollment from outside (the API, the inbox): routed by id
/// through the directory, activating the enrollment if it is passive.
enum class lead_event : uint8_t {
  reply,
  bounce,
  unsubscribe,
  invite_accepted,
  colleague_replied,
  auto_reply, // with the return date, if any
  pause,
  resume,
};

/// What reaches a sender account from outside: an operator's pause, resume or
/// revoke, and LinkedIn's warning (a cool-down pause).
enum class account_event : uint8_t { pause, resume, revoke, linkedin_warning };

/// The assembled engine: the actor system, the timer shards (their time is the
/// clock's, moved by tick()), the accounts and channels, and the directory of
/// enrollments (virtual activation: an enrollment is an actor only while busy
/// or about to be; otherwise it is its snapshot in storage and its timer in a
/// wheel). Set-up calls and deliver() are thread-safe, except in deterministic
/// mode, where one thread does everything.
class runtime final : public enrollment_directory {
 public:
  /// `metrics` (may be none): where the runtime registers what it counts
  /// (sends, skips, lateness, recovery); it must outlive the runtime.
  runtime(const runtime_options& options, const clock& time, storage::store& db,
          storage::group_commit& persister,
          prometheus::Registry* metrics = nullptr);
  /// Stops the ticker and every actor.
  ~runtime() override;

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  caf::actor_system& system() noexcept { return *sys_; }

  account_actor add_account(const sender_account& acc,
                            const date::time_zone* zone,
                            budget_policy policy = {});
  /// The channel of `kind`, delivering through `delivery` (not owned). A
  /// direct provider is called by the enrollments themselves.
  channel_actor add_channel(channel kind, provider* delivery);
  /// A sequence enrollments run; `zone` is the workspace's, for leads without
  /// one of their own.
  void add_sequence(std::shared_ptr<const sequence_env> sequence,
                    const date::time_zone* zone);

  /// What recover() found.
  struct recovery_totals {
    /// Enrollments registered from their snapshots.
    uint64_t enrollments = 0;
    /// Their timers armed again.
    uint64_t armed = 0;
    /// Activated to redo what was in flight: a slot request made again, or a
    /// send intent without an outcome marked uncertain (never sent again).
    uint64_t resolved = 0;
    /// Snapshots of sequences not added, left alone.
    uint64_t unknown_sequence = 0;
    /// Sends of the last week counted again in their accounts' budgets (from
    /// the history lines the snapshots carry).
    uint64_t sends_counted = 0;
    duration took{};
  };
  /// Rebuilds from the enrollment snapshots what a restart lost: every
  /// enrollment is registered passive, the timers of those waiting are armed
  /// again (one past due fires at the next tick), the accounts' budgets count
  /// the last week's sends again, and those with a slot request or an open
  /// send intent are activated to redo or resolve it (ev::restarted). Call
  /// once, after the accounts, channels and sequences are added and before
  /// enroll(), any event, control, tick() or the ticker: it is refused after
  /// them. Fails on a snapshot that does not decode or a broken scan, naming
  /// the key: do not serve then.
  storage::expected<recovery_totals> recover();

  /// Starts `e` (new, with its senders bound) for `contact`. The lead must be
  /// stored already: a later activation reads it back. False, changing
  /// nothing, when the id is enrolled already, is not below 2^63 (the timer
  /// shards keep the top bit for accounts) or the runtime has stopped.
  /// Waits while max_pending_enrolls enrollments wait for their first job.
  /// `indexed`: the caller wrote the lead's index entries
  /// (storage::key::lead_enrollments, lead_email) durably already; else they
  /// are queued here, before the first snapshot. Not for a lead stored under
  /// an external id (storage::key::lead_external), whose entry lists its
  /// enrollments too: imports enroll those through enroll_all().
  bool enroll(const enrollment& e, std::shared_ptr<const lead> contact,
              bool lead_replied, bool indexed = false);

  /// Enrolls each of `batch` in order, as enroll(e, contact, false, true)
  /// would, behind `index`, the batch's lead entries and index entries
  /// (`written` is called once it is durable, or failed). All of them enter
  /// the directory under the one hold of its lock that queues `index`: an
  /// event that finds an index entry finds its enrollment. Their first
  /// snapshots queue after `index`, as one write. Waits once, before, while
  /// max_pending_enrolls enrollments wait for their first job: a batch's
  /// actors may go past that bound by its size. Throws, changing nothing and
  /// writing nothing, when an enrollment's sequence is unknown. The number
  /// enrolled.
  size_t enroll_all(
    std::vector<std::pair<enrollment, std::shared_ptr<const lead>>>& batch,
    storage::write_set index, storage::completion written);

  /// Routes `event` (`back`: an auto-reply's return date) to enrollment `id`,
  /// activating it if passive. False when the id is unknown.
  bool deliver(enrollment_id id, lead_event event,
               std::optional<time_point> back = std::nullopt);

  /// Applies `event` to account `id` at once (its status reads back changed).
  /// False when the id is unknown.
  bool control(account_id id, account_event event);

  /// Gives account `id`'s budget new limits at once (today's counts stay),
  /// and lets it serve what waits, which a higher cap may now allow. False
  /// when the id is unknown.
  bool set_limits(account_id id, const account_limits& limits);

  /// An account's status and today's use of its budgets.
  struct account_standing {
    account_status status = account_status::active;
    std::optional<time_point> paused_until;
    budget_usage usage;
  };
  /// Account `id`'s standing now; nullopt when the id is unknown.
  std::optional<account_standing> standing(account_id id) const;

  /// Routes `event` to every enrollment of `lead` (every sequence of the
  /// workspace), activating passive ones, and calls `applied` with how many
  /// there were once each has applied it: for a reply, the lead is halted
  /// everywhere when it is called (a send already with a provider keeps its
  /// outcome). The lead's enrollments are read from the index enroll() writes,
  /// on the I/O pool. `applied` runs on an actor's or the pool's thread: it
  /// must be quick and must not block.
  void deliver_to_lead(workspace_id ws, lead_id lead, lead_event event,
                       std::optional<time_point> back,
                       std::function<void(size_t)> applied);
  /// As deliver_to_lead, to a lead's enrollments `ids` the caller read (from
  /// its storage::key::lead_external entry).
  void deliver_to_enrollments(std::vector<uint64_t> ids, lead_event event,
                              std::optional<time_point> back,
                              std::function<void(size_t)> applied);

  /// While one lives on a thread (not in deterministic mode), deliveries
  /// made from that thread do their storage reads (the index scan, the
  /// activations) on it instead of handing them to the I/O pool: for callers
  /// that wait for the delivery anyway, such as an HTTP handler, it saves two
  /// thread hops per event.
  class blocking_scope {
   public:
    /// `blocking` false: deliveries from here go to the I/O pool again (work
    /// a handler does not wait for, started inside a scope).
    explicit blocking_scope(bool blocking = true) noexcept
      : was_(blocking_here) {
      blocking_here = blocking;
    }
    ~blocking_scope() { blocking_here = was_; }
    blocking_scope(const blocking_scope&) = delete;
    blocking_scope& operator=(const blocking_scope&) = delete;

   private:
    bool was_;
  };

  /// As deliver_to_lead, to every enrollment of the workspace's leads whose
  /// email is at `domain` (storage::key::email_domain), but `except`'s: a
  /// colleague's reply (the sequences that stop on one halt), or a domain-wide
  /// do-not-contact entry. Which domains count as a company (not a free-mail
  /// provider's) is the caller's choice.
  void deliver_to_domain(workspace_id ws, std::string_view domain,
                         lead_id except, lead_event event,
                         std::function<void(size_t)> applied);

  /// Sequence `id`'s dashboard figures as its enrollments keep them; nullopt
  /// when the sequence was not added.
  std::optional<sequence_counters::figures> figures(sequence_id id) const;

  /// The state behind /metrics, read now: enrollments by state, the due
  /// backlog, resident and passive enrollments, each account's status and
  /// budget use (a series per account: bounded by the accounts).
  std::vector<prometheus::MetricFamily> collect() const;

  /// The live actor of `id`, if it is resident.
  std::optional<enrollment_actor> resident(enrollment_id id) const;

  struct totals {
    size_t enrolled = 0;
    size_t resident = 0;
    uint64_t activations = 0;
    uint64_t passivations = 0;
    /// Activations that could not happen, their events dropped: the snapshot
    /// or the lead could not be read back, or the last write had failed.
    uint64_t failed_activations = 0;
    /// Timers of passive enrollments dropped as stale, without activating.
    uint64_t stale_dropped = 0;
    /// Events and acknowledgements for ended enrollments, applied (as the
    /// no-ops they are) without activating.
    uint64_t ended_inputs = 0;
    /// Activations that waited for the last snapshot to become durable.
    uint64_t deferred_activations = 0;
    /// Enrollments and activations given a kept actor instead of a new one.
    uint64_t reused = 0;
    /// Actors kept for reuse now.
    size_t parked = 0;
    /// Enrollments passive from the start: their first step was far off.
    uint64_t enrolled_in_place = 0;
    /// Passive enrollments halted by a reply, a bounce or an unsubscribe
    /// without an actor (counted apart from activations).
    uint64_t halted_in_place = 0;
  };
  totals stats() const;

  /// Lets up to `n` kept actors beyond keep_parked quit; returns how many stay
  /// beyond it. The ticker calls it (for 4,096) after a tick that fired
  /// nothing.
  size_t trim_parked(size_t n);

  /// Moves every shard to the clock's now, by message.
  void tick();
  /// Ticks from a thread until stop() (the system clock's driver): `period`
  /// apart while timers are due, else at the next due time as the shards
  /// answered it, woken sooner when an earlier timer is armed.
  void start_ticker(duration period);

  /// Deterministic mode: runs actors, group-commit rounds and activations
  /// until none has anything left to do; returns how many jobs ran.
  size_t settle();
  /// Deterministic mode: ticks and settles until a tick fires nothing, then
  /// answers the next due time (none: nothing armed). The manual clock's
  /// driver: set the clock to it and advance again.
  std::optional<time_point> advance();

  /// Stops the ticker and ends every actor. Idempotent.
  void stop();

  bool passivate(enrollment_id id, const std::function<bool()>& mailbox_empty,
                 uint32_t armed, uint64_t last_write, bool final) override;
  void written(enrollment_id id, uint64_t number, bool ok) override;
  bool park(enrollment_id id, const enrollment_actor& self) override;

 private:
  struct entry {
    enrollment_actor actor; // none while passive or activating
    workspace_id ws;
    /// While passive: the generation its timer is armed with (0: none).
    uint32_t armed = 0;
    /// The last actor's write an activation must wait for, and the latest of
    /// its writes reported durable (numbered by that actor).
    uint32_t needed = 0;
    uint32_t settled = 0;
    /// Inputs wait in waiting_ for an activation; `deferred`: it is not
    /// started yet, as the last write is not durable yet.
    bool activating = false;
    bool deferred = false;
    /// The last write failed: storage does not hold the state the actor left
    /// with, so it is not activated again (until recovery).
    bool broken = false;
    /// Passive and ended (done, not active): an event or its acknowledgement
    /// would change nothing, so it is confirmed without an activation.
    bool final = false;
  };
  struct input {
    enum kind_t : uint8_t { fire, event, ack, restart } kind;
    lead_event what;
    int64_t arg; // the generation fired, or the return date in ms (-1: none)
    std::shared_ptr<delivery_countdown> countdown; // ack only
  };

  // Routes `event` to enrollments `ids`, read from an index (none when the
  // read failed: nothing can be confirmed); on the I/O pool's thread.
  void deliver_to_each(const std::vector<uint64_t>& ids, lead_event event,
                       std::optional<time_point> back,
                       const std::function<void(size_t)>& applied);
  void route(const fired_timers& fired);
  bool enroll_in_place(const enrollment& e,
                       const std::shared_ptr<const lead>& contact,
                       bool lead_replied, entry& x, storage::write_set& first);
  // mu_ held: whether `e` may be enrolled; throws for an unknown sequence.
  bool admissible(const enrollment& e) const;
  // mu_ held: `e` (entered in its counters) started by an actor of its own.
  void enroll_resident(const enrollment& e, std::shared_ptr<const lead> contact,
                       bool lead_replied, bool counted, entry x,
                       storage::write_set index);
  // Waits while max_pending_enrolls enrollments wait for their first job;
  // whether they are counted.
  bool await_pending_enrolls();
  // written(id, 1, ok) for each of `ids`, under one hold of mu_ for those
  // nothing waits for.
  void written_all(const std::vector<enrollment_id>& ids, bool ok);
  // Runs `job` on the I/O pool, or here inside a blocking_scope.
  template<class F>
  void run_io(F&& job) {
    if (blocking_here && !options_.deterministic)
      job();
    else
      io_.post(std::forward<F>(job));
  }
  static inline thread_local bool blocking_here = false;
  // A shard armed a timer due at `due` (ms): wakes the ticker if it would
  // sleep past it.
  void armed(int64_t due);
  // Routes `in` to enrollment `id`: false if there is none. An activation it
  // starts runs on the I/O pool, or goes to `later` for the caller to run.
  bool
  route_input(uint64_t id, input in,
              std::vector<std::pair<uint64_t, workspace_id>>* later = nullptr);
  static void send_input(const enrollment_actor& a, const input& in);
  void activate(uint64_t id, workspace_id ws);
  // For activate(): halts passive enrollment `id` from `snapshot` without an
  // actor, when what waits for it is a halting event and then only events,
  // their acknowledgements and timers. False (nothing changed) otherwise.
  bool halt_in_place(uint64_t id, const storage::enrollment_snapshot& snapshot);
  // Queues `in` for a passive `x`; true when the caller is to start its
  // activation now (after releasing mu_), false when one is under way or
  // waits for the last write to be durable. mu_ held exclusively.
  // Whether `in` is for an ended enrollment (entry::final), which applies it
  // without an activation: apply_ended() does, with mu_ let go.
  static bool ended(const entry& x, const input& in);
  // Whether `in` halts an active enrollment whatever its phase.
  static bool halts(const input& in);
  bool apply_ended(const input& in);
  bool hold_for_activation(uint64_t id, entry& x, input in);
  enrollment_env links(const enrollment& e);
  // `counted`: the actor counts itself off pending_enrolls_ in its first job.
  enrollment_actor spawn_enrollment(storage::enrollment_snapshot snapshot,
                                    std::shared_ptr<const lead> contact,
                                    bool counted = false);
  // Ids that grow with time (api/ids.hpp) are far from uniform modulo a
  // small number (a lead's id and its enrollment's differ by one): shards go
  // by a hash of the id.
  static size_t shard_index(uint64_t id, size_t shards) {
    return static_cast<size_t>(splitmix64(id) % shards);
  }
  const timer_shard_actor& shard_for(uint64_t id) const {
    return shards_[shard_index(id, shards_.size())];
  }

  runtime_options options_;
  std::unique_ptr<step_metrics> metrics_;
  prometheus::Gauge* recovery_seconds_ = nullptr;
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  const clock& time_;
  storage::store& db_;
  storage::group_commit& persister_;
  io_pool io_;
  std::vector<timer_shard_actor> shards_;
  std::vector<timer_shard_state*> shard_states_; // for arming directly
  /// Per shard: its next due time in ms as its last advance answered (-1:
  /// none).
  std::unique_ptr<std::atomic<int64_t>[]> next_due_;
  std::atomic<uint64_t> fired_{0};
  /// Enrollments enrolled whose actor has not had its first job yet.
  std::atomic<int64_t> pending_enrolls_{0};
  /// Answers to advances, counted, for the ticker to wait on.
  std::atomic<uint64_t> answers_{0};
  /// The earliest due time armed since the ticker last woke, and when it
  /// plans to wake (the lowest value while it is awake).
  std::atomic<int64_t> earliest_armed_{std::numeric_limits<int64_t>::max()};
  std::atomic<int64_t> planned_wake_{std::numeric_limits<int64_t>::min()};
  caf::actor driver_;

  mutable std::shared_mutex mu_;
  std::unordered_map<uint64_t, entry> directory_;
  std::unordered_map<uint64_t, std::vector<input>> waiting_; // activating
  std::unordered_map<uint64_t, account_actor> accounts_;
  std::unordered_map<uint64_t, account_state*> account_states_;
  std::unordered_map<uint64_t, std::pair<std::shared_ptr<const sequence_env>,
                                         const date::time_zone*>>
    sequences_;
  /// Per sequence, kept across add_sequence() calls with the same steps.
  std::unordered_map<uint64_t, std::unique_ptr<sequence_counters>> counters_;
  sequence_counters* counters_of(sequence_id id) const {
    auto it = counters_.find(id.value);
    return it == counters_.end() ? nullptr : it->second.get();
  }
  channel_actor email_channel_;
  channel_actor linkedin_channel_;
  provider* email_provider_ = nullptr;
  provider* linkedin_provider_ = nullptr;
  std::vector<caf::actor_addr> others_; // shards, router, channels, driver
  size_t resident_ = 0;
  uint64_t activations_ = 0;
  uint64_t passivations_ = 0;
  uint64_t failed_activations_ = 0;
  std::atomic<uint64_t> stale_dropped_{0};
  std::atomic<uint64_t> ended_inputs_{0};
  // Kept actors (park(), spawn_enrollment()).
  mutable std::mutex pool_mu_;
  struct kept_actor {
    enrollment_actor actor;
    uint64_t last = 0; // the enrollment it had: not given it again
  };
  std::vector<kept_actor> parked_;
  size_t parked_count() const;
  std::atomic<uint64_t> reused_{0};
  std::atomic<uint64_t> enrolled_in_place_{0};
  std::atomic<uint64_t> halted_in_place_{0};
  uint64_t deferred_activations_ = 0;

  std::mutex ticker_mu_;
  std::condition_variable ticker_cv_;
  bool ticker_stop_ = false;
  bool ticker_poke_ = false;
  std::thread ticker_;
  std::atomic<bool> stopped_{false};
  /// Set by the first enroll(), event, control or tick: recover() refuses to
  /// run after it.
  std::atomic<bool> serving_{false};
};

} // namespace herald::actors
