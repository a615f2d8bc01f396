#pragma once

#include <cstdint>

#include <caf/replies_to.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/messages.hpp"
#include "actors/provider.hpp"

namespace herald::actors {

/// Call the provider: (send_atom, send_request, send_client_actor).
using send_atom = caf::atom_constant<caf::atom("send")>;
/// A call's outcome: (sent_atom, enrollment id, step, attempt, send_outcome).
using sent_atom = caf::atom_constant<caf::atom("sent")>;

/// Who learns a send's outcome: the enrollment that asked.
using send_client_actor = caf::typed_actor<
  caf::reacts_to<sent_atom, uint64_t, uint16_t, uint16_t, send_outcome>>;

using channel_actor =
  caf::typed_actor<caf::reacts_to<send_atom, send_request, send_client_actor>>;

struct channel_state {
  provider* delivery = nullptr;

  static inline const char* name = "herald.channel";
};

/// Owns a provider for one channel: hands it each send and reports the outcome
/// to the client, keyed by enrollment, step and attempt. The provider is not
/// owned (the runtime keeps it alive longer than the actor).
channel_actor::behavior_type
channel_behavior(channel_actor::stateful_pointer<channel_state> self,
                 provider* delivery);

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, send_request& x) {
  return f(caf::meta::type_name("send_request"), x.enrollment, x.lead, x.step,
           x.attempt, x.account, x.kind, x.to, x.subject, x.body, x.due);
}

} // namespace herald::actors
