#pragma once

// The command line of topup-bench: every option read into one plain struct, and the checks
// between options that CLI11 cannot express. Pure: nothing here exits the process or
// touches the run directory, so that each refusal is unit-tested (tests/bench_options_tests).

#include "apps/bench/cluster_setup.hpp"
#include "apps/bench/workload.hpp"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

namespace topup::bench {

/// topup-bench's exit codes (its --help, "Exit codes").
constexpr int exit_ok = 0;
constexpr int exit_failed = 1;  ///< the run could not be carried out, or its verdict is fail
constexpr int exit_usage = 2;
constexpr int exit_interrupted = 130;  ///< stopped by SIGINT/SIGTERM, as shells report Ctrl-C

struct bench_options {
  std::string workload_name;
  std::optional<uint64_t> orders, outstanding, batch;
  std::optional<double> rate, duration_s, kill_at_s, restart_at_s;
  std::optional<int64_t> deadline_ms;
  std::string node_binary, config_path, connect, run_dir, svg_path;
  std::string provider_sim_binary;
  bool in_node_providers = false;
  uint64_t nodes = 1;
  std::string postgresql;     ///< the cluster's shared store; empty: a single SQLite node
  std::string kill_owner_of = "p-cmcc";  ///< cluster w3: the provider whose lease is watched
  bool kill_owner_only = false;  ///< cluster w3: kill its owner alone, not every node
  cluster_timing timing;
  int64_t node_pid = 0;
  bool in_process = false;
  uint64_t seed = 1;
  int64_t submit_timeout_ms = 10000;
  std::optional<double> completion_wait_s;
  std::string log_level = "warn";
  /// How orders reach the node: "caf" (the remote protocol), "http" (POST /v1/orders, one
  /// order a request) or "http-batch" (POST /v1/orders/batch, --batch orders a request).
  std::string via = "caf";
  uint64_t http_connections = 16;
  std::string merchant_sim_binary;  ///< with --via http*: callbacks go to this simulator
  bool via_http() const { return via != "caf"; }
  /// Several nodes on one PostgreSQL store (--postgresql).
  bool clustered() const { return !postgresql.empty(); }
};

/// The options to run with, or the exit code to end with right away (help was printed, or a
/// usage error was reported on `err`).
struct bench_command_line {
  std::optional<bench_options> options;
  int code = exit_ok;
};

/// Reads argv: CLI11's own errors end with CLI11's exit code, the checks of
/// check_bench_options with exit_usage, each reported on `err`; --help goes to `out`.
bench_command_line parse_bench_command_line(int argc, const char* const* argv,
                                            std::ostream& out, std::ostream& err);

/// What is wrong with options that each parsed alone (exactly one way to the node, what
/// needs a node the bench starts, what goes with what); nothing when they fit together.
std::optional<std::string> check_bench_options(const bench_options& options);

/// The named workload with the options' overrides (--rate, --duration, --orders, ...).
/// The name must be one of workload_named's.
workload build_workload(const bench_options& options);

} // namespace topup::bench
