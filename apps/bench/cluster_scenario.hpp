#pragma once

// --postgresql (--nodes): the nodes run as one cluster on a shared PostgreSQL store. One
// configuration per node, and for W3 the lease of the watched provider (--kill-owner-of):
// whom the kill takes down, how long until a live node holds it again, and until every
// provider is back with its planned owner after the restart.

#include "apps/bench/bench_options.hpp"
#include "apps/bench/figures.hpp"
#include "apps/bench/node_fleet.hpp"
#include "config/config.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace topup {
class lease_store;
}

namespace topup::bench {

class cluster_scenario {
public:
  /// Writes one configuration per node into `run_dir`, from `base_config` (the workload's,
  /// or the simulator's variant of it): the nodes share --postgresql and know each other's
  /// ports before any starts. Throws when it cannot.
  cluster_scenario(const bench_options& options, const std::filesystem::path& base_config,
                   const std::filesystem::path& run_dir);
  ~cluster_scenario();

  /// By node: the file it is started with.
  const std::vector<std::filesystem::path>& node_config_paths() const { return node_configs_; }
  /// Opens the leases of the nodes' shared store. Throws when it cannot.
  void open_leases(const store_config& store);

  /// The nodes to SIGKILL of `node_count`: every one (WORKLOAD's W3 kills the whole engine),
  /// or with --kill-owner-only the holder of the watched provider's lease alone (a node
  /// failure: the survivors take its providers over). Notes the lease's epoch and holder.
  std::vector<size_t> nodes_to_kill(size_t node_count);
  /// After the kill of `killed` at `killed_at`: when a live node holds the watched
  /// provider's lease again (a newer epoch: a survivor, or when every node was killed a
  /// restarted one), and once `restarted`, when every provider is held by its planned owner.
  void watch_failover(steady_time now, const node_fleet& fleet, const std::vector<size_t>& killed,
                      steady_time killed_at, bool restarted);
  /// Whether the failover after a kill is still being timed.
  bool timing_failover() const;

  const std::string& watched_provider() const { return figures_.watched_provider; }
  cluster_figures& figures() { return figures_; }

private:
  bool kill_owner_only_;
  std::vector<std::filesystem::path> node_configs_;
  std::vector<std::string> provider_names_;
  std::unique_ptr<lease_store> leases_;
  int64_t killed_epoch_ = 0;  ///< of the watched provider's lease at the kill
  cluster_figures figures_;
};

} // namespace topup::bench
