#pragma once

// --provider-sim-binary: the providers the node's configuration simulates, played out of
// process by topup-provider-sim instead. It starts before the node, so that its ledger
// survives a node's SIGKILL (W3) and the providers' outage windows count from its start;
// the node gets http adapters to it.

#include "apps/bench/pacing.hpp"
#include "apps/bench/provider_setup.hpp"
#include "apps/bench/server_process.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace topup::bench {

class provider_simulator {
public:
  /// Starts topup-provider-sim (`binary`) on the providers `node_config` simulates, its
  /// configuration, ledger and log in `run_dir`, and writes the node's configuration with
  /// http adapters to it there. Throws when either fails (a started simulator is killed).
  provider_simulator(const std::string& binary, const std::filesystem::path& node_config,
                     const std::filesystem::path& run_dir);

  /// The configuration to start the node with: its providers are the simulator's.
  const std::filesystem::path& node_config_path() const { return node_config_path_; }
  /// The simulator's one ledger file, every provider's recharges.
  const std::string& ledger_path() const { return ledger_path_; }
  steady_time ready_at() const { return process_->ready_at(); }

  /// Reads the simulator's counts (GET /ledger) and stops it with SIGTERM.
  void stop();
  void kill() { process_->kill(); }
  /// The counts read by stop(); nothing when they could not be read.
  const std::optional<ledger_summary>& ledger() const { return ledger_; }

private:
  std::filesystem::path run_dir_;
  std::string ledger_path_;
  std::filesystem::path node_config_path_;
  std::unique_ptr<server_process> process_;
  std::optional<ledger_summary> ledger_;
};

} // namespace topup::bench
