#pragma once

// The configuration file of topup-provider-sim: where it listens, its ledger file, and the
// providers it plays, each with the secret its callers sign with and the behaviour of a
// `simulated` adapter (config/config.hpp).
//
//   {"listen": "127.0.0.1:9100", "ledger": "var/provider-ledger.db",
//    "providers": [{"name": "p-cmcc", "secret": "...", "model": {"latency": ..., ...}}]}

#include "config/config.hpp"
#include "domain/host_port.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace topup::provider_sim {

/// Where the simulator listens; port 0: any free port.
using listen_address = host_port;

struct sim_provider {
  std::string name;  ///< the first path segment of its URLs: /<name>/recharge
  std::string secret;
  simulated_adapter_config model;  ///< its ledger_path is unused: all share one ledger
};

struct sim_config {
  listen_address listen{"127.0.0.1", 9100};
  std::string ledger_path = "provider-ledger.db";
  std::vector<sim_provider> providers;
};

/// Parses "HOST:PORT" ("[::1]:9100" for IPv6; port 0: any free port). Throws
/// std::invalid_argument naming the problem.
listen_address parse_listen_address(const std::string& text);

/// Parses and checks a configuration text. Unknown keys, wrong types, missing fields and
/// impossible values throw config_error naming the field by its JSON pointer.
sim_config parse_sim_config(const std::string& json_text);

/// Reads a file and parses it; a missing or unreadable file is a config_error too.
sim_config load_sim_config(const std::string& path);

} // namespace topup::provider_sim
