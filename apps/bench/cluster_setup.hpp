#pragma once

// Several topup-node processes on this machine as one cluster (topup-bench --nodes): one
// configuration per node, derived from the workload's configuration, all sharing one
// PostgreSQL database. Pure JSON; the processes are topup-bench's.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace topup::bench {

/// How fast the bench's cluster notices a dead node and moves its providers: a lease
/// expires lease_ttl_ms after its last renewal, and a node silent for down_after_ms is
/// planned without. Shorter than the example configuration's 5 s so that W3's 5 s between
/// the kill and the restart show a failover.
struct cluster_timing {
  int64_t heartbeat_interval_ms = 500;
  int64_t down_after_ms = 2000;
  int64_t lease_ttl_ms = 2000;
};

/// The name of the i-th node (from 0): "bench-node-1", ...
std::string bench_node_name(size_t index);

/// The configuration of node `index` of a cluster whose gateways listen on 127.0.0.1 at
/// `ports` (one per node): `base` (a topup-node configuration) with its own name and port,
/// the store on PostgreSQL at `postgresql_connection`, the other nodes as seeds, and
/// `timing`. Providers and their ledgers stay as in `base`: relative ledger paths resolve in
/// the shared run directory, so every owner of a simulated provider writes the same ledger.
/// Throws std::invalid_argument when `index` is not below ports.size().
nlohmann::json cluster_node_config(nlohmann::json base, size_t index,
                                   const std::vector<uint16_t>& ports,
                                   const std::string& postgresql_connection,
                                   const cluster_timing& timing);

/// The provider names of a topup-node configuration, in its order.
std::vector<std::string> provider_names(const nlohmann::json& node_config);

} // namespace topup::bench
