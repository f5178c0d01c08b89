#include "actors/watch_hub.hpp"

#include "actors/supervisor.hpp"
#include "messages/errors.hpp"

#include <spdlog/spdlog.h>

#include <functional>
#include <optional>
#include <set>

namespace topup {

namespace {

using self_pointer = watch_hub_actor::stateful_pointer<watch_hub_state>;

/// How long another member (or the cluster actor) may take to answer: a paused member must
/// not hold up a client's watch for long.
constexpr auto peer_timeout = std::chrono::seconds(3);
/// How often a hub with clients looks for members that joined or reconnected.
constexpr auto relay_refresh = std::chrono::seconds(1);

caf::actor as_actor(self_pointer self) {
  return caf::actor_cast<caf::actor>(self);
}

void count_watchers(self_pointer self) {
  self->state.feed->set_watchers(self->state.registry.size());
}

/// Subscribes `who`; the keys the node's interest gained.
std::vector<std::string> subscribe(self_pointer self, const caf::actor& who, watch_role role,
                                   const std::vector<std::string>& keys) {
  auto& st = self->state;
  auto address = who.address();
  if (st.handles.emplace(address, who).second)
    self->monitor(who);
  auto gained = st.registry.add(address, role, keys);
  if (!st.registry.contains(address)) {
    self->demonitor(who);
    st.handles.erase(address);
  }
  count_watchers(self);
  return gained;
}

/// The members relaying to this hub stop passing on what its clients no longer watch.
void withdraw(self_pointer self, const std::vector<std::string>& lost) {
  if (lost.empty())
    return;
  for (const auto& [address, gateway] : self->state.relaying)
    self->send(gateway, unwatch_atom::value, local_atom::value, as_actor(self), lost);
}

/// Drops `keys` of `who` (all of them when `keys` is null).
void unsubscribe(self_pointer self, const caf::actor_addr& who,
                 const std::vector<std::string>* keys = nullptr) {
  auto& st = self->state;
  auto lost = keys ? st.registry.remove(who, *keys) : st.registry.remove(who);
  if (!st.registry.contains(who)) {
    if (auto handle = st.handles.find(who); handle != st.handles.end()) {
      self->demonitor(handle->second);
      st.handles.erase(handle);
    }
  }
  count_watchers(self);
  withdraw(self, lost);
}

void deliver(self_pointer self, const order_update& update, bool made_here) {
  auto& st = self->state;
  for (const auto& address : st.registry.recipients(update.snapshot.id, made_here))
    if (auto handle = st.handles.find(address); handle != st.handles.end())
      caf::anon_send(handle->second, event_atom::value, update);
}

using peers_done = std::function<void(std::optional<std::vector<peer_gateway>>)>;

/// The other live members, from the cluster actor the supervisor names: none on a single
/// node, nothing when it cannot be told now.
void with_peers(self_pointer self, peers_done done) {
  auto& st = self->state;
  if (!st.supervisor || st.single_node) {
    done(std::vector<peer_gateway>{});
    return;
  }
  self->request(st.supervisor, peer_timeout, caf::get_atom::value)
    .then(
      [=](node_handles& handles) {
        if (!handles.cluster) {
          self->state.single_node = true;
          done(std::vector<peer_gateway>{});
          return;
        }
        self->request(handles.cluster, peer_timeout, peers_atom::value)
          .then([=](std::vector<peer_gateway>& peers) { done(std::move(peers)); },
                [=](caf::error& error) {
                  spdlog::debug("watch hub: no member list: {}", describe(error));
                  done(std::nullopt);
                });
      },
      [=](caf::error& error) {
        spdlog::debug("watch hub: no node handles: {}", describe(error));
        done(std::nullopt);
      });
}

/// Asks `peer` to pass on its changes of `keys`; `done` runs on its answer or silence.
void subscribe_at(self_pointer self, const peer_gateway& peer, std::vector<std::string> keys,
                  std::function<void()> done) {
  auto gateway = peer.gateway;
  auto node = peer.node;
  self->request(gateway, peer_timeout, watch_atom::value, local_atom::value, as_actor(self), keys)
    .then(
      [=](ack_atom) {
        auto& st = self->state;
        if (st.relaying.emplace(gateway.address(), gateway).second)
          self->monitor(gateway);
        // What the clients stopped watching while the subscription travelled is taken back.
        auto stale = no_longer_wanted(keys, st.registry.interest());
        if (!stale.empty())
          self->send(gateway, unwatch_atom::value, local_atom::value, as_actor(self), stale);
        done();
      },
      [=](caf::error& error) {
        // The next refresh asks again.
        spdlog::debug("watch hub: {} does not relay its changes: {}", node, describe(error));
        done();
      });
}

/// Brings the other members in line with what the clients watch: a member not relaying yet
/// is sent everything they watch, one relaying already `added` (what the watch that called
/// this added, unless it was dropped again meanwhile); members gone are forgotten. `done`
/// runs once every member answered or timed out.
void sync_relays(self_pointer self, std::vector<std::string> added, std::function<void()> done) {
  with_peers(self, [=](std::optional<std::vector<peer_gateway>> peers) {
    auto& st = self->state;
    if (!peers) {
      done();
      return;
    }
    std::set<caf::actor_addr> listed;
    for (const auto& peer : *peers)
      if (peer.gateway)
        listed.insert(peer.gateway.address());
    for (auto it = st.relaying.begin(); it != st.relaying.end();) {
      if (listed.count(it->first) > 0) {
        ++it;
        continue;
      }
      self->demonitor(it->second.address());
      it = st.relaying.erase(it);
    }
    auto interest = st.registry.interest();
    // One more than the members asked: the loop must not finish early.
    auto waiting = std::make_shared<size_t>(1);
    auto one_done = [=] {
      if (--*waiting == 0)
        done();
    };
    for (const auto& peer : *peers) {
      if (!peer.gateway)
        continue;
      auto keys = st.relaying.count(peer.gateway.address()) > 0 ? still_wanted(added, interest)
                                                                  : interest;
      if (keys.empty())
        continue;
      ++*waiting;
      subscribe_at(self, peer, std::move(keys), one_done);
    }
    one_done();
  });
}

bool may_relay(self_pointer self) {
  return self->state.supervisor && !self->state.single_node;
}

void keep_refreshing(self_pointer self) {
  auto& st = self->state;
  if (st.ticking || !may_relay(self))
    return;
  st.ticking = true;
  self->delayed_send(self, relay_refresh, tick_atom::value);
}

} // namespace

watch_hub_actor::behavior_type watch_hub(self_pointer self, std::shared_ptr<event_feed> feed) {
  self->state.feed = std::move(feed);
  self->set_down_handler([=](caf::down_msg& down) {
    auto& st = self->state;
    if (st.handles.count(down.source) > 0)
      unsubscribe(self, down.source);
    else
      st.relaying.erase(down.source);  // subscribed again at the next refresh
  });
  return {
    [=](notify_atom, const std::vector<order_update>& updates) {
      for (const auto& update : updates)
        deliver(self, update, true);
    },
    [=](event_atom, const order_update& update) { deliver(self, update, false); },
    [=](watch_atom, caf::actor& client, const std::string& order_id) -> caf::result<ack_atom> {
      auto gained = subscribe(self, client, watch_role::client, {order_id});
      if (!may_relay(self))
        return ack_atom::value;
      keep_refreshing(self);
      auto promise = self->make_response_promise<ack_atom>();
      sync_relays(self, std::move(gained), [=]() mutable { promise.deliver(ack_atom::value); });
      return promise;
    },
    [=](unwatch_atom, const caf::actor& client) { unsubscribe(self, client.address()); },
    [=](watch_atom, local_atom, caf::actor& relay, const std::vector<std::string>& order_ids) {
      subscribe(self, relay, watch_role::relay, order_ids);
      return ack_atom::value;
    },
    [=](unwatch_atom, local_atom, const caf::actor& relay,
        const std::vector<std::string>& order_ids) {
      unsubscribe(self, relay.address(), &order_ids);
    },
    [=](caf::update_atom, supervisor_actor& supervisor) {
      self->state.supervisor = std::move(supervisor);
      if (self->state.registry.has_clients())
        keep_refreshing(self);
    },
    [=](tick_atom) {
      auto& st = self->state;
      st.ticking = false;
      if (!st.registry.has_clients())
        return;
      keep_refreshing(self);
      sync_relays(self, {}, [] {});
    },
  };
}

} // namespace topup
