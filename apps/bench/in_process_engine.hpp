#pragma once

// --in-process: the engine inside the bench's own actor system (supervisor, watch hub,
// gateway, as topup-node spawns them), to compare W1 without the network hop.

#include "config/config.hpp"
#include "messages/interfaces.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

namespace topup::bench {

struct in_process_engine {
  in_process_engine(caf::actor_system& system, const config& cfg);
  /// Asks the gateway, the watch hub and the supervisor (with its children) to exit.
  void stop();

  caf::scoped_actor self;
  supervisor_actor node_supervisor;
  watch_hub_actor hub;
  gateway_actor entry;
};

} // namespace topup::bench
