#pragma once

#include "messages/interfaces.hpp"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace topup {

/// How engine actors publish state changes without knowing who watches. While nobody
/// watches, publishing costs one atomic load and no message.
class event_feed {
public:
  void attach(watch_hub_actor hub);
  bool watched() const { return watchers_.load(std::memory_order_relaxed) > 0; }
  void publish(std::vector<order_update> updates);
  /// Kept by the hub: how many clients watch.
  void set_watchers(size_t count) { watchers_.store(count, std::memory_order_relaxed); }

private:
  std::atomic<size_t> watchers_{0};
  std::mutex guard_;
  watch_hub_actor hub_;
};

struct watch_hub_state {
  static constexpr const char* name = "watch_hub";
  struct subscriber {
    caf::actor handle;
    bool everything = false;
    std::set<std::string> orders;
  };
  std::shared_ptr<event_feed> feed;
  std::map<caf::actor_addr, subscriber> subscribers;
  std::unordered_map<std::string, std::set<caf::actor_addr>> by_order;
};

/// Forwards every published state change to the clients watching it. Subscribers are
/// monitored: a client that goes away, or whose node does, is dropped.
watch_hub_actor::behavior_type watch_hub(watch_hub_actor::stateful_pointer<watch_hub_state> self,
                                         std::shared_ptr<event_feed> feed);

} // namespace topup
