#pragma once

#include "actors/supervisor.hpp"
#include "actors/event_feed.hpp"
#include "messages/interfaces.hpp"

#include <atomic>
#include <memory>
#include <optional>
#include <string>

namespace topup {

struct gateway_state {
  static constexpr const char* name = "gateway";
  std::string node_name;
  std::string address;  ///< "host:port" clients reach this gateway at
  supervisor_actor supervisor;
  watch_hub_actor hub;
  std::optional<node_handles> handles;  ///< cached; dropped when one of them goes down
  /// Cleared when the node starts shutting down: new orders are refused from then on.
  std::shared_ptr<std::atomic<bool>> accepting;
};

/// The node's published entry actor: the remote protocol (messages/interfaces.hpp,
/// gateway_actor). It forwards each request to the actor that answers it (intake, store,
/// router, watch hub), which replies to the client directly; the handles come from the
/// supervisor and are fetched again after a restart. In cluster mode, `members` is the
/// cluster actor's view and orders forwarded by other members go to the current router;
/// `stats` adds every other live member's node-local counters (asked with a bound, a silent
/// member is reported unreachable), and `cancel` of an order the local router does not hold
/// is tried at the other members' routers. The hub relays watched changes made elsewhere.
gateway_actor::behavior_type gateway(gateway_actor::stateful_pointer<gateway_state> self,
                                     std::string node_name, std::string address,
                                     supervisor_actor supervisor,
                                     watch_hub_actor hub,
                                     std::shared_ptr<std::atomic<bool>> accepting);

} // namespace topup
