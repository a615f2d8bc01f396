#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/account.hpp"
#include "actors/channel.hpp"
#include "actors/enrollment.hpp"
#include "actors/timer_shard.hpp"
#include "engine/clock.hpp"
#include "storage/group_commit.hpp"

namespace herald::actors {

/// The runtime's settings (config/ fills them).
struct runtime_options {
  /// CAF scheduler threads; 0: one per core.
  size_t threads = 0;
  /// Timer shards, enrollments spread over them by id; 0: one per thread.
  size_t shards = 0;
  /// CAF's testing scheduler: nothing runs until the caller runs it.
  bool deterministic = false;
};

/// The assembled engine: the actor system, the timer shards (their time is the
/// clock's, moved by tick()), the directory that routes fired timers to
/// enrollments and accounts, and the handles to everything spawned, so that
/// stopping ends them all. Set-up calls (add_account, add_channel, enroll) are
/// thread-safe.
class runtime {
 public:
  runtime(const runtime_options& options, const clock& time,
          storage::group_commit& persister);
  /// Stops the ticker and every actor.
  ~runtime();

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  caf::actor_system& system() noexcept { return *sys_; }

  account_actor add_account(const sender_account& acc,
                            const date::time_zone* zone,
                            budget_policy policy = {});
  channel_actor add_channel(provider* delivery);

  /// Spawns the actor of `e` (resident: passivation comes with virtual
  /// activation) and enrolls it.
  enrollment_actor enroll(const enrollment& e,
                          std::shared_ptr<const sequence_env> sequence,
                          std::shared_ptr<const lead> contact,
                          const date::time_zone* lead_zone,
                          enrollment_env links, bool lead_replied);

  std::optional<enrollment_actor> find(enrollment_id id) const;

  /// Moves every shard to the clock's now, by message.
  void tick();
  /// Ticks from a thread every `period` until stop() (the system clock's
  /// driver).
  void start_ticker(duration period);
  /// Stops the ticker and ends every actor spawned. Idempotent.
  void stop();

  /// The shard an id belongs to.
  const timer_shard_actor& shard_for(uint64_t id) const {
    return shards_[id % shards_.size()];
  }

 private:
  void route(const fired_timers& fired) const;

  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  const clock& time_;
  storage::group_commit& persister_;
  std::vector<timer_shard_actor> shards_;

  mutable std::shared_mutex mu_;
  std::unordered_map<uint64_t, enrollment_actor> enrollments_;
  std::unordered_map<uint64_t, account_actor> accounts_;
  std::vector<caf::actor_addr> others_; // shards, routers, channels

  std::mutex ticker_mu_;
  std::condition_variable ticker_cv_;
  bool ticker_stop_ = false;
  std::thread ticker_;
  std::atomic<bool> stopped_{false};
};

} // namespace herald::actors
