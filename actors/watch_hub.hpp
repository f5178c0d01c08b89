#pragma once

#include "actors/event_feed.hpp"
#include "domain/watch_registry.hpp"
#include "messages/interfaces.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace topup {

struct watch_hub_state {
  static constexpr const char* name = "watch_hub";
  std::shared_ptr<event_feed> feed;
  /// Clients, and the hubs of other members relaying this node's changes.
  watch_registry<caf::actor_addr> registry;
  std::map<caf::actor_addr, caf::actor> handles;  ///< of every subscriber
  /// Where the cluster actor is found (the gateway says); null: nothing to relay.
  supervisor_actor supervisor;
  bool single_node = false;  ///< the supervisor runs no cluster actor
  /// Other members' gateways that pass this hub the changes made there (whatever its
  /// clients watch), monitored: a lost connection loses the subscription too.
  std::map<caf::actor_addr, gateway_actor> relaying;
  bool ticking = false;  ///< a timer looks for members joined since
};

/// Forwards every published state change to the clients watching it. Subscribers are
/// monitored: a client that goes away, or whose node does, is dropped. In a cluster, while
/// clients watch, it keeps the other members relaying what they watch (every second it
/// subscribes to members that joined or reconnected since).
watch_hub_actor::behavior_type watch_hub(watch_hub_actor::stateful_pointer<watch_hub_state> self,
                                         std::shared_ptr<event_feed> feed);

} // namespace topup
