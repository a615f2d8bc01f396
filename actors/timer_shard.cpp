#include "actors/timer_shard.hpp"

#include <caf/send.hpp>

namespace herald::actors {

timer_shard_actor::behavior_type
timer_shard(timer_shard_actor::stateful_pointer<timer_shard_state> self,
            time_point start, timer_sink_actor sink, shard_hooks hooks) {
  self->state.wheel.emplace(start);
  self->state.sink = std::move(sink);
  self->state.hooks = std::move(hooks);
  return {
    [self](arm_atom, uint64_t id, int64_t due_ms, uint32_t generation) {
      auto& st = self->state;
      st.wheel->insert(timer_entry{id, due_ms, generation});
      if (st.hooks.armed) st.hooks.armed(due_ms);
    },
    [self](advance_atom, int64_t now_ms) -> caf::result<int64_t, uint64_t> {
      auto& st = self->state;
      if (st.hooks.may_fire && !st.hooks.may_fire()) {
        auto next = st.wheel->next_due();
        if (!next) return {int64_t{-1}, uint64_t{0}};
        return {std::min(to_ms(*next), now_ms), uint64_t{0}};
      }
      fired_timers batch;
      auto n =
        st.wheel->pop_due(from_ms(now_ms), [&batch](const timer_entry& e) {
          batch.entries.push_back(e);
        });
      if (n > 0) self->send(st.sink, fired_atom::value, std::move(batch));
      st.fired += n;
      auto next = st.wheel->next_due();
      return {next ? to_ms(*next) : int64_t{-1}, static_cast<uint64_t>(n)};
    },
  };
}

} // namespace herald::actors
