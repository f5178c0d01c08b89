#pragma once

// The cluster actor's connections to the other members' gateways (actors/cluster), and the
// orders it forwards through them to the holder of their provider's lease. A connection is
// made in a thread of its own and monitored; a lost one is made again while its member is
// live.

#include "domain/forward_backlog.hpp"
#include "domain/order.hpp"
#include "messages/interfaces.hpp"

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace topup {

struct cluster_state;
using cluster_pointer = cluster_actor::stateful_pointer<cluster_state>;

struct peer_connections {
  /// Bounds the memory of orders waiting for a holder (about 100 MB); beyond it they wait in
  /// the store only, for the next owner's read or their re-send point (router).
  static constexpr size_t max_parked_forwards = 200'000;

  /// Gateways of the other members by address, connected and monitored.
  std::map<std::string, gateway_actor> gateways;
  /// Addresses being connected to.
  std::set<std::string> connecting;
  /// Orders to forward once their provider's holder is known and connected.
  forward_backlog parked{max_parked_forwards};
  /// Batches lost so far of cluster_options::test_lost_forwards.
  uint32_t lost_forwards = 0;
};

/// Connects to the gateway at `address` ("host:port") unless it is this node's, connected
/// or being connected already.
void connect_peer(cluster_pointer self, const std::string& address);

/// Connects to every live member not connected yet.
void connect_members(cluster_pointer self);

/// A monitored gateway went down: forgets its connection (whether its member is down is for
/// its heartbeat to tell).
void peer_down(cluster_pointer self, const caf::down_msg& down);

/// Orders for a provider this node does not serve go to its holder's gateway. While no live
/// holder is known, or its gateway is not connected yet, they wait for the next tick.
void forward_orders(cluster_pointer self, std::vector<order>& orders,
                    const std::string& provider);

/// Forwards what waited, now that holders and connections may be known.
void forward_parked(cluster_pointer self);

/// The other live members; the gateway of each that is connected.
std::vector<peer_gateway> describe_peers(const cluster_state& st);

} // namespace topup
