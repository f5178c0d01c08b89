#include "apps/bench/bench_options.hpp"

#include "domain/host_port.hpp"

#include <CLI/CLI.hpp>

#include <ostream>

namespace topup::bench {

bench_command_line parse_bench_command_line(int argc, const char* const* argv,
                                            std::ostream& out, std::ostream& err) {
  CLI::App app{"topup-bench: runs a workload (bench/README.md, \"The workloads\") against a "
               "topup node and prints its figures as one JSON line on stdout (progress on stderr)."};
  bench_options o;
  app.add_option("-w,--workload", o.workload_name, "w1, w2, w3, w4 or hold (see below)")
    ->required()
    ->check(CLI::IsMember({"w1", "w2", "w3", "w4", "hold"}));
  app.add_option("--node-binary", o.node_binary,
                 "start this topup-node with --config in --run-dir, stop it with SIGTERM at "
                 "the end (w3: SIGKILL and restart it)");
  app.add_option("-c,--config", o.config_path,
                 "the node's JSON configuration (config/bench-wN.json); the bench reads the "
                 "store and ledger paths from it, relative ones under --run-dir")
    ->required()
    ->check(CLI::ExistingFile);
  app.add_option("--provider-sim-binary", o.provider_sim_binary,
                 "run the configuration's simulated providers out of process: start this "
                 "topup-provider-sim first (configuration written to the run directory), give "
                 "the node http adapters to it, read duplicates and the busiest second from "
                 "its GET /ledger, stop it at the end (required for w3, optional for w2)");
  app.add_flag("--in-node-providers", o.in_node_providers,
               "w3 only: keep the providers simulated inside the node (their ledgers and "
               "outage windows restart with it), instead of --provider-sim-binary");
  app.add_option("--connect", o.connect,
                 "HOST:PORT of a running node instead of starting one (not for w3)");
  app.add_option("--node-pid", o.node_pid, "with --connect: the node's pid, for its peak RSS");
  app.add_flag("--in-process", o.in_process,
               "run the engine inside the bench (no network hop), to compare with w1 remote");
  app.add_option("--run-dir", o.run_dir,
                 "directory for the node's store, ledgers and log (must not hold an earlier "
                 "run's store; default: a new directory under the system's temp dir)");
  app.add_option("--orders", o.orders,
                 "orders to submit (w1: 200000; w2/w3: rate x duration; hold: 1000000)");
  app.add_option("--outstanding", o.outstanding,
                 "closed loop: orders in flight (w1: 256, hold: 4000)");
  app.add_option("--batch", o.batch, "orders per submit message at most (64; hold: 500)")
    ->check(CLI::PositiveNumber);
  app.add_option("--rate", o.rate, "open loop: orders per second (w2: 500, w3: 200, w4: 5500)")
    ->check(CLI::PositiveNumber);
  app.add_option("--duration", o.duration_s, "open loop: seconds of load (60)")
    ->check(CLI::PositiveNumber);
  app.add_option("--kill-at", o.kill_at_s, "seconds after load start to SIGKILL the node (w3: 20)");
  app.add_option("--restart-at", o.restart_at_s, "seconds after load start to restart it (w3: 25)");
  app.add_option("--deadline-ms", o.deadline_ms,
                 "the deadline the 'within' shares use; match the node's deadline.limit_ms "
                 "(180000)");
  app.add_option("--completion-wait", o.completion_wait_s,
                 "after the last ack, wait at most this many seconds for every order to be "
                 "terminal (default: deadline + grace + 10 s)");
  app.add_option("--submit-timeout-ms", o.submit_timeout_ms,
                 "a submit message unanswered this long is sent again (10000)")
    ->check(CLI::PositiveNumber);
  app.add_option("--seed", o.seed, "picks the phones and amounts of the orders (1)");
  app.add_option("--svg", o.svg_path,
                 "write an SVG chart: completions per second over time, completion-time CDF");
  app.add_option("--nodes", o.nodes,
                 "start this many topup-node processes as one cluster on 127.0.0.1 sharing "
                 "--postgresql, and spread the submissions over them (1)")
    ->check(CLI::Range(1, 9));
  app.add_option("--postgresql", o.postgresql,
                 "libpq connection string of an empty PostgreSQL database: the nodes run as a "
                 "cluster on it (required with --nodes above 1)");
  app.add_option("--kill-owner-of", o.kill_owner_of,
                 "cluster w3: the provider whose lease is watched after the kill (p-cmcc)");
  app.add_flag("--kill-owner-only", o.kill_owner_only,
               "cluster w3: SIGKILL (and restart) only the node holding --kill-owner-of's "
               "lease, not every node: a node failure the others take over");
  app.add_option("--heartbeat-ms", o.timing.heartbeat_interval_ms,
                 "cluster: the nodes' heartbeat_interval_ms (500)")
    ->check(CLI::PositiveNumber);
  app.add_option("--down-after-ms", o.timing.down_after_ms,
                 "cluster: the nodes' down_after_ms (2000)")
    ->check(CLI::PositiveNumber);
  app.add_option("--lease-ttl-ms", o.timing.lease_ttl_ms,
                 "cluster: the nodes' lease_ttl_ms (2000)")
    ->check(CLI::PositiveNumber);
  app.add_option("--via", o.via,
                 "how orders reach the node: caf (the remote protocol), http (each its own "
                 "signed POST /v1/orders) or http-batch (POST /v1/orders/batch of --batch); "
                 "http* needs a configuration with merchants and http_api "
                 "(config/bench-w1-http.json), whose API the bench puts on a free port")
    ->check(CLI::IsMember({"caf", "http", "http-batch"}));
  app.add_option("--http-connections", o.http_connections,
                 "--via http*: keep-alive connections, each with one request in flight (16)")
    ->check(CLI::Range(1, 512));
  app.add_option("--merchant-sim-binary", o.merchant_sim_binary,
                 "--via http*: start this topup-merchant-sim as the merchant's callback "
                 "endpoint, wait (at most 60 s) for every final order's notification, and "
                 "add \"callbacks\" to the figures: deliveries_per_s, final_to_delivered_ms, "
                 "duplicates, missing_orders (gaps), bad_signatures");
  app.add_option("--log-level", o.log_level, "stderr log level: info shows the timeline (warn)");
  app.footer(describe_workloads()
             + "\nThe JSON line holds the parameters and: accepted, accepted_per_s, completed, "
               "completed_per_s, succeeded, failed, lost, duplicates, shares within the "
               "deadline, failed_at_deadline and its share (closed at the deadline, or no time "
               "left to retry), refusals_by_error (every refusal answer), given_up (w4: never "
               "acknowledged), accept_latency_ms and completion_ms (p50/p90/p99/max), "
               "failover_orders (latest attempt on p-agg), max_provider_calls_per_1s (recharge "
               "calls from the store's attempt rows, status queries not included; with "
               "--provider-sim-binary the simulator's count of calls and queries), "
               "providers (node or provider-sim), provider_ledger (the simulator's counts per "
               "provider), interrupted, "
               "peak_rss_kib (VmHWM), retries, and with --postgresql cluster: nodes, their "
               "timing, peak_rss_kib per node, and for w3 killed_nodes, killed_node (the "
               "holder of --kill-owner-of at the kill), failover_ms (SIGKILL to a live node "
               "holding that lease anew: a survivor, or a restarted node when all were "
               "killed), "
               "calls_resumed_ms (to its first call after the kill) and rebalanced_ms (the "
               "restarted node listening to every provider back with its planned owner).\n"
               "hold prints accepted, accepted_per_s, rss_kib and peak_rss_kib (VmRSS/VmHWM "
               "holding the orders), restart_listening_ms, restart_recovered_ms, recovered "
               "(waiting, in_flight), rss_after_restart_kib, peak_rss_after_restart_kib.\n"
               "SIGINT/SIGTERM: stop offering, stop the node and simulator, print the figures "
               "so far, exit 130.\n"
               "Verdict: the line ends with \"verdict\" (pass or fail) and \"violations\", each "
               "also printed on stderr: lost orders, duplicates and any other disagreement "
               "between the store and the ledgers order by order (ledger_audit), calls the "
               "simulator deduplicated, a provider above its rate + 10% in any second "
               "(provider_busiest_second), a completion wait that timed out, and for w1-w3 "
               "refused, unacknowledged, failed or late orders (w4: every order acknowledged "
               "or given up, at least 99% final in time).\n"
               "Exit codes: 0 the verdict is pass, 1 the run failed or a violation was found, "
               "2 bad usage, 130 interrupted.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help is CLI11's "error" 0; every refusal is bad usage, as the help's footer says.
    auto code = app.exit(error, out, err);
    return {std::nullopt, code == 0 ? exit_ok : exit_usage};
  }
  if (auto problem = check_bench_options(o)) {
    err << "topup-bench: " << *problem << "\n";
    return {std::nullopt, exit_usage};
  }
  return {std::move(o), exit_ok};
}

std::optional<std::string> check_bench_options(const bench_options& o) {
  auto modes = int{!o.node_binary.empty()} + int{!o.connect.empty()} + int{o.in_process};
  if (modes != 1)
    return "give exactly one of --node-binary, --connect, --in-process";
  if ((o.workload_name == "w3" || o.workload_name == "hold") && o.node_binary.empty())
    return o.workload_name + " kills and restarts the node: it needs --node-binary";
  if (o.workload_name == "w3" && o.provider_sim_binary.empty() && !o.in_node_providers)
    return "w3 runs its providers out of process: give --provider-sim-binary (or "
           "--in-node-providers for the old variant)";
  if (!o.provider_sim_binary.empty() && o.in_node_providers)
    return "give --provider-sim-binary or --in-node-providers, not both";
  if (!o.provider_sim_binary.empty() && (!o.connect.empty() || o.workload_name == "hold"))
    return "--provider-sim-binary needs a node the bench starts (not --connect, not hold)";
  if (o.nodes > 1 && !o.clustered())
    return "several nodes share one store: give --postgresql";
  if (o.clustered() && (o.node_binary.empty() || o.workload_name == "hold"))
    return "--postgresql runs a cluster of nodes the bench starts (--node-binary; w1, w2 or "
           "w3)";
  if (o.via_http() && (o.node_binary.empty() || o.nodes > 1 || o.workload_name == "hold"))
    return "--via http needs one node the bench starts (--node-binary; w1, w2, w3 or w4)";
  if (!o.merchant_sim_binary.empty() && !o.via_http())
    return "--merchant-sim-binary goes with --via http or http-batch";
  if (auto reading = parse_host_port(o.connect); !o.connect.empty() && !reading)
    return "--connect " + reading.error;
  return std::nullopt;
}

workload build_workload(const bench_options& o) {
  auto w = *workload_named(o.workload_name);
  if (o.rate)
    w.rate = *o.rate;
  if (o.duration_s && w.loop == loop_kind::open)
    w.orders = static_cast<uint64_t>(w.rate * *o.duration_s);
  if (w.give_up_at_s)
    w.give_up_at_s = w.duration_s();  // the end of the load, whatever its rate and length
  if (o.orders)
    w.orders = *o.orders;
  if (o.outstanding)
    w.outstanding = *o.outstanding;
  if (o.batch)
    w.batch = *o.batch;
  if (o.kill_at_s)
    w.kill_at_s = *o.kill_at_s;
  if (o.restart_at_s)
    w.restart_at_s = *o.restart_at_s;
  if (o.deadline_ms)
    w.deadline_ms = *o.deadline_ms;
  return w;
}

} // namespace topup::bench
