#include "actors/event_feed.hpp"

namespace topup {

void event_feed::attach(watch_hub_actor hub) {
  std::lock_guard<std::mutex> lock{guard_};
  hub_ = std::move(hub);
}

void event_feed::add_listener(update_listener_actor listener) {
  std::lock_guard<std::mutex> lock{guard_};
  listener_handles_.push_back(std::move(listener));
  listeners_.store(listener_handles_.size(), std::memory_order_relaxed);
}

void event_feed::publish(std::vector<order_update> updates) {
  if (!wanted() || updates.empty())
    return;
  bool to_hub = watchers_.load(std::memory_order_relaxed) > 0;
  std::lock_guard<std::mutex> lock{guard_};
  for (const auto& listener : listener_handles_)
    caf::anon_send(listener, notify_atom::value, updates);
  if (hub_ && to_hub)
    caf::anon_send(hub_, notify_atom::value, std::move(updates));
}

} // namespace topup
