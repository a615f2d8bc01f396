#include "actors/channel.hpp"

#include <caf/send.hpp>

namespace herald::actors {

channel_actor::behavior_type
channel_behavior(channel_actor::stateful_pointer<channel_state> self,
                 provider* delivery) {
  self->state.delivery = delivery;
  return {
    [self](send_atom, send_request& r, const send_client_actor& client) {
      auto e = r.enrollment.value;
      auto step = r.step;
      auto attempt = r.attempt;
      // The provider may answer on another thread: anon_send is safe from
      // anywhere.
      self->state.delivery->send(
        std::move(r), [client, e, step, attempt](send_report report) {
          caf::anon_send(client, sent_atom::value, e, step, attempt,
                         report.outcome);
        });
    },
  };
}

} // namespace herald::actors
