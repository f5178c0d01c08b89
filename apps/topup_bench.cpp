// topup-bench: the load generator of WORKLOAD (bench/README.md; see `topup-bench --help`).
// Drives a node over the remote protocol (or, with --in-process, an engine in its own actor
// system), with its providers simulated in the node or played by topup-provider-sim, then reads the
// node's store and the providers' ledgers for the figures, and prints them as one JSON line
// on stdout. SIGINT/SIGTERM stop the run: the node and simulator it started are stopped and
// the figures so far printed (exit 130).
//
// Everything lives in apps/bench/: the command line and its checks (bench_options), the run
// and its scenarios (bench_run and the files it names), and the workload logic that needs no
// actor system, unit-tested in tests/bench_tests.cpp and tests/bench_options_tests.cpp. This
// file sets the run up from the options and carries it out.

#include "apps/app_support.hpp"
#include "apps/bench/bench_options.hpp"
#include "apps/bench/bench_run.hpp"
#include "apps/bench/run_setup.hpp"
#include "apps/bench/stop_signal.hpp"
#include "config/config.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

using namespace topup;
using namespace topup::bench;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  auto command_line = parse_bench_command_line(argc, argv, std::cout, std::cerr);
  if (!command_line.options)
    return command_line.code;
  auto o = std::move(*command_line.options);
  log_to_stderr("topup-bench", o.log_level);
  // The node runs in the run directory: a relative path would be looked up there.
  for (auto* binary : {&o.node_binary, &o.provider_sim_binary, &o.merchant_sim_binary})
    if (!binary->empty())
      *binary = fs::absolute(*binary).string();
  auto load = build_workload(o);
  auto run_dir = choose_run_dir(o, load.name);
  config cfg;
  try {
    cfg = load_node_config(o.config_path, run_dir);
  } catch (const config_error& error) {
    std::cerr << "topup-bench: configuration " << o.config_path << ": " << error.what() << "\n";
    return exit_usage;
  }
  if (o.connect.empty())
    if (auto problem = prepare_store_directories(cfg, o.clustered())) {
      std::cerr << "topup-bench: " << *problem << "\n";
      return exit_usage;
    }
  spdlog::info("run directory {}", run_dir.string());

  install_stop_handlers();
  int code = exit_failed;
  auto run = std::make_unique<bench_run>(o, load, cfg, run_dir);
  try {
    code = run->run();
  } catch (const std::exception& error) {
    spdlog::error("{}", error.what());
  }
  run->kill_children();
  // The run is deliberately not destroyed: ~actor_system waits for every actor, and a
  // middleman thread of CAF 0.17 sometimes stays referenced after a remote connection (see
  // topup_node.cpp). Everything is printed by now.
  run.release();
  std::cout.flush();
  spdlog::default_logger()->flush();
  std::_Exit(code);
}
