#include "actors/cluster_peers.hpp"

#include "actors/cluster.hpp"
#include "domain/forward_route.hpp"
#include "domain/host_port.hpp"
#include "messages/errors.hpp"

#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include <utility>

namespace topup {

/// Connects in a thread of its own: a connect to a paused peer blocks until the middleman's
/// connection timeout, and heartbeats must not wait for it.
void connect_peer(cluster_pointer self, const std::string& address) {
  auto& st = self->state;
  auto& peers = st.peers;
  if (address == st.options.address || peers.gateways.count(address)
      || peers.connecting.count(address))
    return;
  auto endpoint = parse_host_port(address);
  if (!endpoint) {
    spdlog::warn("cluster: cannot connect to a member: {}", endpoint.error);
    return;
  }
  peers.connecting.insert(address);
  auto connector = self->system().spawn<caf::detached>([](caf::event_based_actor* worker) {
    return caf::behavior{
      [worker](caf::connect_atom, const std::string& host,
               uint16_t port) -> caf::result<caf::actor> {
        worker->quit();
        auto gateway = worker->system().middleman().remote_actor<gateway_actor>(host, port);
        if (!gateway)
          return gateway.error();
        return caf::actor_cast<caf::actor>(*gateway);
      },
    };
  });
  self->request(connector, st.options.connect_timeout, caf::connect_atom::value,
                endpoint.address->host, endpoint.address->port)
    .then(
      [=](caf::actor& peer) {
        auto& connections = self->state.peers;
        connections.connecting.erase(address);
        if (connections.gateways.count(address))
          return;
        self->monitor(peer);
        connections.gateways.emplace(address, caf::actor_cast<gateway_actor>(peer));
        spdlog::debug("cluster: connected to member at {}", address);
      },
      [=](caf::error& error) {
        self->state.peers.connecting.erase(address);
        spdlog::debug("cluster: cannot connect to member at {}: {}", address, describe(error));
      });
}

void connect_members(cluster_pointer self) {
  for (const auto& member : self->state.membership.live().members())
    if (member.node != self->state.options.node_name)
      connect_peer(self, member.address);
}

void peer_down(cluster_pointer self, const caf::down_msg& down) {
  auto& gateways = self->state.peers.gateways;
  for (auto it = gateways.begin(); it != gateways.end(); ++it)
    if (it->second.address() == down.source) {
      // It is connected again while its member is live.
      spdlog::debug("cluster: connection to member at {} lost", it->first);
      gateways.erase(it);
      return;
    }
}

/// How long a member may take to say which forwarded orders it holds.
constexpr std::chrono::seconds forward_answer_timeout{30};

void forward_orders(cluster_pointer self, std::vector<order>& orders,
                    const std::string& provider) {
  auto& st = self->state;
  auto& gateways = st.peers.gateways;
  auto route = route_forward(
    st.options.node_name, provider, st.membership.holders(), st.membership.live(),
    st.leases.serves(provider) && st.router,
    [&](const std::string& address) { return gateways.count(address) > 0; });
  switch (route.to) {
    case forward_route::destination::this_router:
      self->send(st.router, forward_atom::value, std::move(orders), provider);
      return;
    case forward_route::destination::member:
      if (st.peers.lost_forwards < st.options.test_lost_forwards) {
        ++st.peers.lost_forwards;
        spdlog::warn("cluster: {} orders for provider {} lost on their way to {} (tests only)",
                     orders.size(), provider, route.address);
        return;
      }
      // Answered with what the member holds now: this node's router stops watching those. A
      // forward lost with its connection is never answered; its orders are read again at
      // their re-send point.
      self->request(gateways.at(route.address), forward_answer_timeout, forward_atom::value,
                    std::move(orders), provider)
        .then(
          [=](std::vector<std::string>& held) {
            if (!held.empty() && self->state.router)
              self->send(self->state.router, take_atom::value, std::move(held));
          },
          [=](caf::error& error) {
            spdlog::debug("cluster: a forward to {} unanswered: {}", route.address,
                          describe(error));
          });
      return;
    case forward_route::destination::wait:
      break;
  }
  spdlog::debug("cluster: {} orders for provider {} wait: {}", orders.size(), provider,
                route.why);
  if (auto dropped = st.peers.parked.park(provider, std::move(orders)))
    spdlog::warn("cluster: {} orders for provider {} not kept for forwarding (backlog "
                 "full); they wait in the store for its next owner",
                 dropped, provider);
}

void forward_parked(cluster_pointer self) {
  for (auto& [provider, orders] : self->state.peers.parked.take_all())
    forward_orders(self, orders, provider);
}

std::vector<peer_gateway> describe_peers(const cluster_state& st) {
  std::vector<peer_gateway> peers;
  for (const auto& member : st.membership.live().members()) {
    if (member.node == st.options.node_name)
      continue;
    peer_gateway peer{member.node, member.address, {}};
    if (auto connected = st.peers.gateways.find(member.address);
        connected != st.peers.gateways.end())
      peer.gateway = connected->second;
    peers.push_back(std::move(peer));
  }
  return peers;
}

} // namespace topup
