#include "actors/timer_shard.hpp"

#include <caf/send.hpp>

namespace herald::actors {

void arm_timer(timer_shard_state& st, const timer_entry& e) {
  {
    std::lock_guard lk{st.mu};
    st.wheel->insert(e);
  }
  if (st.hooks.armed) st.hooks.armed(e.due_ms());
}

timer_shard_state& state_of(const timer_shard_actor& a) {
  return dynamic_cast<timer_shard_actor::stateful_base<timer_shard_state>&>(
           *caf::actor_cast<caf::abstract_actor*>(a))
    .state;
}

timer_shard_actor::behavior_type
timer_shard(timer_shard_actor::stateful_pointer<timer_shard_state> self,
            time_point start, timer_sink_actor sink, shard_hooks hooks) {
  self->state.wheel.emplace(start);
  self->state.sink = std::move(sink);
  self->state.hooks = std::move(hooks);
  return {
    [self](arm_atom, uint64_t id, int64_t due_ms, uint32_t generation) {
      arm_timer(self->state, timer_entry{id, due_ms, generation});
    },
    [self](advance_atom, int64_t now_ms) -> caf::result<int64_t, uint64_t> {
      auto& st = self->state;
      if (st.hooks.may_fire && !st.hooks.may_fire()) {
        std::lock_guard lk{st.mu};
        auto next = st.wheel->next_due();
        if (!next) return {int64_t{-1}, uint64_t{0}};
        return {std::min(to_ms(*next), now_ms), uint64_t{0}};
      }
      fired_timers batch;
      std::optional<time_point> next;
      size_t n = 0;
      {
        std::lock_guard lk{st.mu};
        n = st.wheel->pop_due(from_ms(now_ms), [&batch](const timer_entry& e) {
          batch.entries.push_back(e);
        });
        next = st.wheel->next_due();
      }
      if (n > 0) self->send(st.sink, fired_atom::value, std::move(batch));
      st.fired += n;
      return {next ? to_ms(*next) : int64_t{-1}, static_cast<uint64_t>(n)};
    },
  };
}

} // namespace herald::actors
