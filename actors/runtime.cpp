#include "actors/runtime.hpp"

#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <date/tz.h>

namespace herald::actors {

runtime::runtime(const runtime_options& o, const clock& time,
                 storage::group_commit& persister)
  : cfg_(std::make_unique<caf::actor_system_config>()), time_(time),
    persister_(persister) {
  auto threads = o.threads > 0
                   ? o.threads
                   : std::max<size_t>(1, std::thread::hardware_concurrency());
  if (o.deterministic)
    cfg_->set("scheduler.policy", caf::atom("testing"));
  else
    cfg_->set("scheduler.max-threads",
              static_cast<caf::config_value::integer>(threads));
  sys_ = std::make_unique<caf::actor_system>(*cfg_);
  auto n = o.shards > 0 ? o.shards : threads;
  for (size_t i = 0; i < n; ++i) {
    auto router = sys_->spawn(
      [this](timer_sink_actor::pointer) -> timer_sink_actor::behavior_type {
        return {[this](fired_atom, const fired_timers& f) { route(f); }};
      });
    auto shard = sys_->spawn(timer_shard, time_.now(), router);
    shards_.push_back(shard);
    others_.push_back(router.address());
    others_.push_back(shard.address());
  }
}

runtime::~runtime() { stop(); }

void runtime::route(const fired_timers& fired) const {
  std::shared_lock lk{mu_};
  for (const auto& e : fired.entries) {
    if ((e.id() & account_timer_bit) != 0) {
      if (auto it = accounts_.find(e.id() & ~account_timer_bit);
          it != accounts_.end())
        caf::anon_send(it->second, fired_atom::value, fired_timers{{e}});
    } else if (auto it = enrollments_.find(e.id()); it != enrollments_.end()) {
      caf::anon_send(it->second, fire_atom::value, e.generation());
    }
  }
}

account_actor runtime::add_account(const sender_account& acc,
                                   const date::time_zone* zone,
                                   budget_policy policy) {
  auto a =
    sys_->spawn(account, acc, zone, policy, &time_, shard_for(acc.id.value));
  std::unique_lock lk{mu_};
  accounts_[acc.id.value] = a;
  return a;
}

channel_actor runtime::add_channel(provider* delivery) {
  auto c = sys_->spawn(channel_behavior, delivery);
  std::unique_lock lk{mu_};
  others_.push_back(c.address());
  return c;
}

enrollment_actor runtime::enroll(const enrollment& e,
                                 std::shared_ptr<const sequence_env> sequence,
                                 std::shared_ptr<const lead> contact,
                                 const date::time_zone* lead_zone,
                                 enrollment_env links, bool lead_replied) {
  links.time = &time_;
  links.persister = &persister_;
  links.shard = shard_for(e.id.value);
  auto a = sys_->spawn(enrollment_behavior, e, std::move(sequence),
                       std::move(contact), lead_zone, std::move(links));
  {
    std::unique_lock lk{mu_};
    enrollments_[e.id.value] = a;
  }
  caf::anon_send(a, enroll_atom::value, lead_replied);
  return a;
}

std::optional<enrollment_actor> runtime::find(enrollment_id id) const {
  std::shared_lock lk{mu_};
  if (auto it = enrollments_.find(id.value); it != enrollments_.end())
    return it->second;
  return std::nullopt;
}

void runtime::tick() {
  auto now = to_ms(time_.now());
  for (const auto& s : shards_)
    caf::anon_send(s, advance_atom::value, now);
}

void runtime::start_ticker(duration period) {
  ticker_ = std::thread{[this, period] {
    std::unique_lock lk{ticker_mu_};
    while (!ticker_cv_.wait_for(lk, period, [this] { return ticker_stop_; }))
      tick();
  }};
}

void runtime::stop() {
  if (stopped_.exchange(true)) return;
  {
    std::lock_guard lk{ticker_mu_};
    ticker_stop_ = true;
  }
  ticker_cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  std::vector<caf::actor_addr> all;
  {
    std::unique_lock lk{mu_};
    for (auto& [id, a] : enrollments_)
      all.push_back(a.address());
    for (auto& [id, a] : accounts_)
      all.push_back(a.address());
    all.insert(all.end(), others_.begin(), others_.end());
    enrollments_.clear();
    accounts_.clear();
    others_.clear();
  }
  for (const auto& addr : all)
    caf::anon_send_exit(addr, caf::exit_reason::user_shutdown);
  if (auto* sched =
        dynamic_cast<caf::scheduler::test_coordinator*>(&sys_->scheduler()))
    sched->run();
  shards_.clear();
  sys_.reset();
}

} // namespace herald::actors
