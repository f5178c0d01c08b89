#pragma once

// Which node runs each provider's recharge actor. Owners are chosen by rendezvous (highest
// random weight) hashing over the live nodes, bounded so that every node owns its share:
// every node computes the same owners from the same live set, with no coordination. The
// choice is only a plan: a node runs a provider once it holds that provider's lease in the
// database, whose epoch fences its writes.

#include "domain/order.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace topup {

/// A provider's lease as stored: who holds it, under which epoch, until when (database
/// clock, ms). Epochs only grow, so a write tagged with an old epoch is recognisably stale.
struct lease {
  std::string provider;
  std::string owner;
  int64_t epoch = 0;
  int64_t expires_at_ms = 0;

  friend bool operator==(const lease& a, const lease& b) {
    return a.provider == b.provider && a.owner == b.owner && a.epoch == b.epoch
           && a.expires_at_ms == b.expires_at_ms;
  }
};

/// FNV-1a, 64 bits: fixed arithmetic on the bytes, so the same on every machine, compiler
/// and build (std::hash promises none of that).
uint64_t stable_hash(std::string_view bytes);

/// The weight of `node` for `provider`: FNV-1a of "node\nprovider", finished with the
/// splitmix64 mixer so that names differing in one character get unrelated weights.
uint64_t rendezvous_weight(std::string_view node, std::string_view provider);

/// The owner of every provider among the live nodes (empty when none is live). Plain
/// rendezvous hashing gives each provider its highest-weight node, which with a handful of
/// providers often leaves a node with none (four providers on three nodes: 2, 2, 0). Here
/// each node owns floor(P/N) or ceil(P/N) providers: (provider, node) pairs are taken by
/// falling weight, a pair only while its provider is unowned and its node below its share;
/// the providers left over then go, again by falling weight, to nodes holding one share
/// each. Ties of weight, practically impossible, go to the smaller names. The result depends
/// only on the sets of names, never on their order.
std::map<std::string, std::string> assign_owners(std::vector<std::string> providers,
                                                 std::vector<std::string> live_nodes);

/// What one node should do with its leases after a membership or configuration change.
struct ownership_plan {
  std::vector<std::string> acquire;  ///< providers it should own but holds no lease for
  std::vector<lease> keep;           ///< held leases it should go on renewing
  std::vector<lease> release;        ///< held leases another node should own now: drain the
                                     ///< provider, then release so the new owner acquires

  bool changes_nothing() const { return acquire.empty() && release.empty(); }
};

/// Plans ownership for node `self`: for each provider, its owner among `live_nodes` by
/// assign_owners. `held` are the leases `self` holds (others' leases in it are ignored).
/// A node that is not in `live_nodes` itself (its own heartbeat is stale to the others)
/// owns nothing: it releases every lease, because the live nodes are planning without it.
/// A held lease for a provider no longer configured is released. Each list is sorted by
/// provider.
ownership_plan plan_ownership(const std::string& self, std::vector<std::string> providers,
                              const std::vector<std::string>& live_nodes,
                              const std::vector<lease>& held);

/// Whether a node taking the providers `taken` over serves the unfinished order `o` again:
/// every waiting order, and those in flight at one of `taken`. A waiting order may queue at
/// any provider serving its carrier, on any node, and the store does not say where (one
/// failed over from its carrier's provider, or one on its way to a node that died). A copy
/// another node still serves goes back to it, which drops it; the store's dispatch fence
/// lets one copy of an order start each attempt.
bool served_after_takeover(const order& o, const std::vector<std::string>& taken);

} // namespace topup
