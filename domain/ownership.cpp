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

} // namespace

uint64_t rendezvous_weight(std::string_view node, std::string_view provider) {
  // The separator keeps ("ab", "c") and ("a", "bc") apart; names never contain newlines.
  std::string key;
  key.reserve(node.size() + 1 + provider.size());
  key.append(node).append(1, '\n').append(provider);
  return mix(stable_hash(key));
}

std::optional<std::string> rendezvous_owner(std::string_view provider,
                                            const std::vector<std::string>& live_nodes) {
  const std::string* best = nullptr;
  uint64_t best_weight = 0;
  for (const auto& node : live_nodes) {
    auto weight = rendezvous_weight(node, provider);
    if (!best || weight > best_weight || (weight == best_weight && node < *best)) {
      best = &node;
      best_weight = weight;
    }
  }
  if (!best)
    return std::nullopt;
  return *best;
}

ownership_plan plan_ownership(const std::string& self, std::vector<std::string> providers,
                              const std::vector<std::string>& live_nodes,
                              const std::vector<lease>& held) {
  std::sort(providers.begin(), providers.end());
  providers.erase(std::unique(providers.begin(), providers.end()), providers.end());
  bool self_live = std::find(live_nodes.begin(), live_nodes.end(), self) != live_nodes.end();
  auto mine = [&](const std::string& provider) {
    return self_live && rendezvous_owner(provider, live_nodes) == self;
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

} // namespace topup
