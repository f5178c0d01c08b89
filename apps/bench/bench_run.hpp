#pragma once

// One run of topup-bench, from the nodes' start to the printed figures: the scenarios the
// options ask for (providers in topup-provider-sim, a cluster, the HTTP API, the engine in
// process, W3's kill and restart, hold) set up and carried out on one timeline, the orders
// sent by the CAF driver or the HTTP submitter, then the store and ledgers read for the
// figures and the verdict.

#include "apps/bench/bench_options.hpp"
#include "apps/bench/figures.hpp"
#include "apps/bench/order_generator.hpp"
#include "apps/bench/pacing.hpp"
#include "apps/bench/submission_feed.hpp"
#include "apps/bench/workload.hpp"
#include "config/config.hpp"
#include "messages/interfaces.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

namespace topup::bench {

class cluster_scenario;
class crash_scenario;
class http_route;
struct in_process_engine;
class node_fleet;
class provider_simulator;
class run_progress;

class bench_run {
public:
  /// `cfg`: the workload's configuration, its paths anchored under `run_dir`.
  bench_run(bench_options options, workload load, config cfg, std::filesystem::path run_dir);
  ~bench_run();

  /// Carries the run out and prints its figures; the exit code.
  int run();
  /// Kills the nodes and simulators this run started and that still run (after a failure).
  void kill_children();

private:
  /// The provider simulator, the cluster's and the HTTP API's node configurations; false,
  /// logged, when one cannot be set up.
  bool prepare_scenarios();
  /// The nodes start with `paths`; the first one's configuration tells where the store and
  /// the ledgers are.
  void use_node_configs(std::vector<std::filesystem::path> paths);
  /// The engine in process, or the nodes started or connected to: their gateways, and when
  /// they were ready in `node_ready`; nothing, logged, when a node did not come up.
  std::optional<std::vector<gateway_actor>> start_nodes(steady_time& node_ready);
  /// The submitters: the CAF driver on the gateways, or the HTTP connections.
  void start_submitting(const std::vector<gateway_actor>& gateways);
  /// The load: progress, the W3 timeline, reconnects.
  void run_load();
  void wait_for_completion();
  void stop_everything();
  int report();
  int report_hold();
  /// The orders acknowledged by the store, for the figures, and every order of the run it
  /// holds, for the audit; and the figures read from its attempt rows.
  void read_store(run_report& r, std::vector<stored_order>& acknowledged_rows,
                  std::optional<std::vector<audited_order>>& run_orders);
  /// Copies what the order book knows (offers, acks, retries, ack latency) into a report.
  template <class Report>
  void take_intake_figures(Report& r);

  bench_options o_;
  workload load_;
  config cfg_;  ///< the first node's configuration: where the store and ledgers are
  std::filesystem::path run_dir_;
  std::vector<std::filesystem::path> node_config_paths_;  ///< by node: the file it starts with
  std::shared_ptr<order_generator> orders_;

  std::unique_ptr<caf::actor_system_config> caf_cfg_;
  std::unique_ptr<caf::actor_system> system_;
  std::unique_ptr<provider_simulator> sim_;
  std::unique_ptr<cluster_scenario> cluster_;
  std::unique_ptr<http_route> http_;
  std::unique_ptr<in_process_engine> engine_;
  std::unique_ptr<node_fleet> fleet_;
  std::unique_ptr<crash_scenario> crash_;
  std::unique_ptr<run_progress> progress_;
  hold_report hold_;

  std::shared_ptr<shared_book> shared_;
  caf::actor driver_;
  steady_time start_;
  int64_t start_wall_ms_ = 0;
  double node_start_to_load_ms_ = 0;
  bool wait_timed_out_ = false;
  bool interrupted_ = false;
};

} // namespace topup::bench
