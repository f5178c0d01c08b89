#include "actors/watch_hub.hpp"

namespace topup {

void event_feed::attach(watch_hub_actor hub) {
  std::lock_guard<std::mutex> lock{guard_};
  hub_ = std::move(hub);
}

void event_feed::publish(std::vector<order_update> updates) {
  if (!watched() || updates.empty())
    return;
  std::lock_guard<std::mutex> lock{guard_};
  if (hub_)
    caf::anon_send(hub_, notify_atom::value, std::move(updates));
}

namespace {

using self_pointer = watch_hub_actor::stateful_pointer<watch_hub_state>;

void forget(self_pointer self, const caf::actor_addr& who) {
  auto& st = self->state;
  auto found = st.subscribers.find(who);
  if (found == st.subscribers.end())
    return;
  for (const auto& id : found->second.orders) {
    auto watching = st.by_order.find(id);
    if (watching == st.by_order.end())
      continue;
    watching->second.erase(who);
    if (watching->second.empty())
      st.by_order.erase(watching);
  }
  st.subscribers.erase(found);
  st.feed->set_watchers(st.subscribers.size());
}

} // namespace

watch_hub_actor::behavior_type watch_hub(self_pointer self, std::shared_ptr<event_feed> feed) {
  self->state.feed = std::move(feed);
  self->set_down_handler([=](caf::down_msg& down) { forget(self, down.source); });
  return {
    [=](notify_atom, const std::vector<order_update>& updates) {
      auto& st = self->state;
      for (const auto& update : updates) {
        std::set<caf::actor_addr> recipients;
        for (const auto& [address, subscriber] : st.subscribers)
          if (subscriber.everything)
            recipients.insert(address);
        if (auto watching = st.by_order.find(update.snapshot.id); watching != st.by_order.end())
          recipients.insert(watching->second.begin(), watching->second.end());
        for (const auto& address : recipients)
          caf::anon_send(st.subscribers[address].handle, event_atom::value, update);
      }
    },
    [=](watch_atom, caf::actor& client, const std::string& order_id) {
      auto& st = self->state;
      auto address = client.address();
      auto [entry, fresh] = st.subscribers.try_emplace(address);
      if (fresh) {
        entry->second.handle = client;
        self->monitor(client);
      }
      if (order_id.empty()) {
        entry->second.everything = true;
      } else {
        entry->second.orders.insert(order_id);
        st.by_order[order_id].insert(address);
      }
      st.feed->set_watchers(st.subscribers.size());
      return true;
    },
    [=](unwatch_atom, const caf::actor& client) {
      self->demonitor(client);
      forget(self, client.address());
    },
  };
}

} // namespace topup
