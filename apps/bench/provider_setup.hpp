#pragma once

// Providers out of the node's process (W3 by default, W2 on request): the bench runs
// topup-provider-sim with the providers a bench configuration describes as "simulated"
// adapters, and the node reaches them through "http" adapters. The provider ledger then
// lives in the simulator and survives the node's SIGKILL, and p-cucc's outage window counts
// from the simulator's start, just before the load's, not from each start of the node.
//
// Pure JSON transformations and the parsing of the simulator's GET /ledger answer; the
// processes and the HTTP request are topup-bench's.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace topup::bench {

/// The secret provider `name` and the node's adapter for it share.
std::string sim_secret(const std::string& provider);

/// topup-provider-sim's configuration playing every provider of `node_config` (a parsed
/// topup-node configuration) whose adapter is "simulated", with that adapter's latency,
/// outcomes, outages and seed (seed i+1 for the i-th provider when it has none), listening
/// on 127.0.0.1 on any free port, its one ledger at `ledger_path`. Throws
/// std::invalid_argument when no provider is simulated.
nlohmann::json sim_config_for(const nlohmann::json& node_config, const std::string& ledger_path);

/// `node_config` with each "simulated" adapter replaced by an "http" adapter to
/// `base_url`/<provider name> ("http://127.0.0.1:PORT"), signed with sim_secret.
nlohmann::json with_http_providers(nlohmann::json node_config, const std::string& base_url);

/// What one provider of the simulator saw since it started.
struct provider_ledger {
  std::string name;
  uint64_t calls = 0;     ///< recharge calls
  uint64_t queries = 0;   ///< status queries
  uint64_t recharges = 0;
  uint64_t deduplicated = 0;  ///< calls for a request already performed
  uint64_t refused_outage = 0;
  uint64_t max_calls_in_1s_window = 0;  ///< calls and queries together
};

/// The simulator's GET /ledger answer.
struct ledger_summary {
  uint64_t total_recharges = 0;
  uint64_t orders = 0;
  uint64_t duplicates = 0;  ///< orders recharged more than once
  std::vector<provider_ledger> providers;

  /// The most calls (recharges and queries) any provider saw in one second.
  uint64_t max_calls_in_1s_window() const;
};

/// Parses GET /ledger's body; throws std::runtime_error naming what is missing.
ledger_summary parse_ledger_summary(const std::string& body);

/// Per provider: calls, queries, recharges, deduplicated, refused_outage,
/// max_calls_in_1s_window (for the bench's JSON line).
nlohmann::json to_json(const ledger_summary& summary);

} // namespace topup::bench
