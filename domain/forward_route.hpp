#pragma once

// Where a cluster node sends orders for a provider its router does not serve: to the
// provider's holder, as the node last read the leases and the members. Orders whose holder
// is unknown, not connected yet, or this node before its router serves the provider, wait
// (domain/forward_backlog) for the next tick.

#include "domain/membership.hpp"
#include "domain/ownership.hpp"

#include <functional>
#include <map>
#include <string>

namespace topup {

struct forward_route {
  enum class destination {
    this_router,  ///< this node holds the lease and its router serves the provider
    member,       ///< another live member holds it: its connected gateway at `address`
    wait,         ///< nobody to take them now: `why`
  };
  destination to = destination::wait;
  std::string address;
  const char* why = "";
};

/// The route of orders for `provider` from node `self`: `holders` are the live leases by
/// provider as last read, `live` the members, `router_serving` whether this node's router
/// serves the provider now, `connected` whether the gateway at an address is connected.
forward_route route_forward(const std::string& self, const std::string& provider,
                            const std::map<std::string, lease>& holders,
                            const membership_view& live, bool router_serving,
                            const std::function<bool(const std::string&)>& connected);

} // namespace topup
