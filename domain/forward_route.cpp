#include "domain/forward_route.hpp"

namespace topup {

forward_route route_forward(const std::string& self, const std::string& provider,
                            const std::map<std::string, lease>& holders,
                            const membership_view& live, bool router_serving,
                            const std::function<bool(const std::string&)>& connected) {
  using destination = forward_route::destination;
  auto holder = holders.find(provider);
  if (holder == holders.end())
    return {destination::wait, {}, "no live node holds it"};
  if (holder->second.owner == self) {
    if (!router_serving)
      return {destination::wait, {}, "this node is taking it over"};
    return {destination::this_router, {}, ""};
  }
  auto member = live.find(holder->second.owner);
  if (!member || !connected(member->address))
    return {destination::wait, {}, "its holder is not connected yet"};
  return {destination::member, member->address, ""};
}

} // namespace topup
