#include "domain/ownership.hpp"

#include <algorithm>

namespace topup {

uint64_t stable_hash(std::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a 64 offset basis
  for (unsigned char byte : bytes) {
    hash ^= byte;
    hash *= 0x100000001b3ULL;  // FNV-1a 64 prime
  }
  return hash;
}

namespace {

/// splitmix64's finaliser: FNV-1a alone leaves the weights of "node-1" and "node-2" for
/// one provider correlated, which skews which node wins.
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

/// Names sorted, without repeats: the assignment must not depend on how the caller listed them.
std::vector<std::string> sorted_set(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

} // namespace

uint64_t rendezvous_weight(std::string_view node, std::string_view provider) {
  // The separator keeps ("ab", "c") and ("a", "bc") apart; names never contain newlines.
  std::string key;
  key.reserve(node.size() + 1 + provider.size());
  key.append(node).append(1, '\n').append(provider);
  return mix(stable_hash(key));
}

std::map<std::string, std::string> assign_owners(std::vector<std::string> providers,
                                                 std::vector<std::string> live_nodes) {
  providers = sorted_set(std::move(providers));
  live_nodes = sorted_set(std::move(live_nodes));
  std::map<std::string, std::string> owner_of;
  if (live_nodes.empty())
    return owner_of;

  struct candidate {
    uint64_t weight;
    size_t provider;
    size_t node;
  };
  std::vector<candidate> by_weight;
  by_weight.reserve(providers.size() * live_nodes.size());
  for (size_t p = 0; p < providers.size(); ++p)
    for (size_t n = 0; n < live_nodes.size(); ++n)
      by_weight.push_back({rendezvous_weight(live_nodes[n], providers[p]), p, n});
  std::sort(by_weight.begin(), by_weight.end(), [](const candidate& a, const candidate& b) {
    if (a.weight != b.weight)
      return a.weight > b.weight;
    return a.provider != b.provider ? a.provider < b.provider : a.node < b.node;
  });

  auto share = providers.size() / live_nodes.size();
  std::vector<size_t> owned(live_nodes.size(), 0);
  std::vector<bool> assigned(providers.size(), false);
  // First every node fills its share; then each of the providers left over (fewer than the
  // nodes) goes to a node holding exactly its share, so no node gets two of them.
  for (auto limit : {share, share + 1})
    for (const auto& c : by_weight)
      if (!assigned[c.provider] && owned[c.node] < limit) {
        assigned[c.provider] = true;
        ++owned[c.node];
        owner_of[providers[c.provider]] = live_nodes[c.node];
      }
  return owner_of;
}

ownership_plan plan_ownership(const std::string& self, std::vector<std::string> providers,
                              const std::vector<std::string>& live_nodes,
                              const std::vector<lease>& held) {
  providers = sorted_set(std::move(providers));
  bool self_live = std::find(live_nodes.begin(), live_nodes.end(), self) != live_nodes.end();
  auto owner_of = assign_owners(providers, live_nodes);
  auto mine = [&](const std::string& provider) {
    return self_live && owner_of[provider] == self;
  };

  std::vector<lease> own_leases;
  for (const auto& l : held)
    if (l.owner == self)
      own_leases.push_back(l);
  std::sort(own_leases.begin(), own_leases.end(),
            [](const lease& a, const lease& b) { return a.provider < b.provider; });

  ownership_plan plan;
  for (const auto& l : own_leases) {
    bool configured = std::binary_search(providers.begin(), providers.end(), l.provider);
    (configured && mine(l.provider) ? plan.keep : plan.release).push_back(l);
  }
  for (const auto& provider : providers) {
    bool holding = std::any_of(own_leases.begin(), own_leases.end(),
                               [&](const lease& l) { return l.provider == provider; });
    if (!holding && mine(provider))
      plan.acquire.push_back(provider);
  }
  return plan;
}

bool served_after_takeover(const order& o, const std::vector<std::string>& taken) {
  return o.status == order_status::accepted
         || std::find(taken.begin(), taken.end(), o.provider) != taken.end();
}

} // namespace topup
