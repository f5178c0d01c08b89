#pragma once

#include "messages/interfaces.hpp"

#include <atomic>
#include <mutex>
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

} // namespace topup
