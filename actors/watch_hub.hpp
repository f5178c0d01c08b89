#pragma once

#include "domain/watch_registry.hpp"
#include "messages/interfaces.hpp"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace topup {

/// How engine actors publish state changes without knowing who watches. While nobody
/// watches and no listener is added, publishing costs one atomic load and no message.
class event_feed {
public:
  void attach(watch_hub_actor hub);
  /// A local actor that receives every change from now on, whoever watches (a result
  /// writer). Listeners are added at start and stay for the life of the node.
  void add_listener(update_listener_actor listener);
  /// True when a change would reach anyone: build updates only then.
  bool wanted() const {
    return watchers_.load(std::memory_order_relaxed) > 0
           || listeners_.load(std::memory_order_relaxed) > 0;
  }
  void publish(std::vector<order_update> updates);
  /// Kept by the hub: how many clients watch.
  void set_watchers(size_t count) { watchers_.store(count, std::memory_order_relaxed); }

private:
  std::atomic<size_t> watchers_{0};
  std::atomic<size_t> listeners_{0};
  std::mutex guard_;
  watch_hub_actor hub_;
  std::vector<update_listener_actor> listener_handles_;
};

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
