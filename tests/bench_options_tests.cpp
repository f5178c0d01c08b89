// topup-bench's command line (apps/bench/bench_options): what each option sets, the
// workload's parameters with the overrides, and every refusal with its message and exit code:
// options that conflict, values missing or out of range, an unknown workload.

#define BOOST_TEST_MODULE bench_options_tests
#include <boost/test/unit_test.hpp>

#include "apps/bench/bench_options.hpp"

#include <sstream>
#include <string>
#include <vector>

using namespace topup::bench;

namespace {

/// A configuration file that exists (--config is checked for one).
const std::string config_file = TOPUP_BENCH_W1_CONFIG;

struct parse_run {
  bench_command_line result;
  std::string out;
  std::string err;

  explicit parse_run(const std::vector<std::string>& args) {
    std::vector<const char*> argv{"topup-bench"};
    for (const auto& arg : args)
      argv.push_back(arg.c_str());
    std::ostringstream out_stream, err_stream;
    result = parse_bench_command_line(static_cast<int>(argv.size()), argv.data(), out_stream,
                                      err_stream);
    out = out_stream.str();
    err = err_stream.str();
  }

  bool ok() const { return result.options.has_value(); }
  const bench_options& options() const { return *result.options; }
};

/// `args` after the workload and configuration every run needs.
std::vector<std::string> with_required(const std::string& workload,
                                       std::vector<std::string> args) {
  args.insert(args.begin(), {"-w", workload, "-c", config_file});
  return args;
}

std::string joined(const std::vector<std::string>& args) {
  std::string text;
  for (const auto& arg : args)
    text += arg + " ";
  return text;
}

} // namespace

BOOST_AUTO_TEST_CASE(defaults_of_a_node_the_bench_starts) {
  parse_run run{with_required("w1", {"--node-binary", "topup-node"})};
  BOOST_REQUIRE_MESSAGE(run.ok(), run.err);
  BOOST_TEST(run.result.code == exit_ok);
  BOOST_TEST(run.err.empty());
  const auto& o = run.options();
  BOOST_TEST(o.workload_name == "w1");
  BOOST_TEST(o.config_path == config_file);
  BOOST_TEST(o.node_binary == "topup-node");
  BOOST_TEST(o.via == "caf");
  BOOST_TEST(!o.via_http());
  BOOST_TEST(!o.clustered());
  BOOST_TEST(o.nodes == 1u);
  BOOST_TEST(o.kill_owner_of == "p-cmcc");
  BOOST_TEST(o.submit_timeout_ms == 10000);
  BOOST_TEST(o.http_connections == 16u);
  BOOST_TEST(o.seed == 1u);
  BOOST_TEST(o.log_level == "warn");
  BOOST_TEST(o.timing.heartbeat_interval_ms == 500);
  BOOST_TEST(!o.orders);
  BOOST_TEST(!o.completion_wait_s);
}

BOOST_AUTO_TEST_CASE(every_option_lands_in_its_field) {
  parse_run run{with_required(
    "w3", {"--node-binary", "n", "--provider-sim-binary", "s", "--run-dir", "/tmp/r", "--orders",
           "500", "--outstanding", "32", "--batch", "8", "--rate", "100", "--duration", "5",
           "--kill-at", "2", "--restart-at", "3", "--deadline-ms", "60000", "--completion-wait",
           "20", "--submit-timeout-ms", "2000", "--seed", "7", "--svg", "c.svg", "--nodes", "3",
           "--postgresql", "host=127.0.0.1", "--kill-owner-of", "p-agg", "--kill-owner-only",
           "--heartbeat-ms", "100", "--down-after-ms", "400", "--lease-ttl-ms", "300",
           "--log-level", "info"})};
  BOOST_REQUIRE_MESSAGE(run.ok(), run.err);
  const auto& o = run.options();
  BOOST_TEST(o.provider_sim_binary == "s");
  BOOST_TEST(o.run_dir == "/tmp/r");
  BOOST_TEST(*o.orders == 500u);
  BOOST_TEST(*o.outstanding == 32u);
  BOOST_TEST(*o.batch == 8u);
  BOOST_TEST(*o.rate == 100.0);
  BOOST_TEST(*o.duration_s == 5.0);
  BOOST_TEST(*o.kill_at_s == 2.0);
  BOOST_TEST(*o.restart_at_s == 3.0);
  BOOST_TEST(*o.deadline_ms == 60000);
  BOOST_TEST(*o.completion_wait_s == 20.0);
  BOOST_TEST(o.submit_timeout_ms == 2000);
  BOOST_TEST(o.seed == 7u);
  BOOST_TEST(o.svg_path == "c.svg");
  BOOST_TEST(o.nodes == 3u);
  BOOST_TEST(o.clustered());
  BOOST_TEST(o.kill_owner_of == "p-agg");
  BOOST_TEST(o.kill_owner_only);
  BOOST_TEST(o.timing.heartbeat_interval_ms == 100);
  BOOST_TEST(o.timing.down_after_ms == 400);
  BOOST_TEST(o.timing.lease_ttl_ms == 300);
  BOOST_TEST(o.log_level == "info");

  parse_run http{with_required("w1", {"--node-binary", "n", "--via", "http-batch",
                                      "--http-connections", "8", "--merchant-sim-binary", "m"})};
  BOOST_REQUIRE_MESSAGE(http.ok(), http.err);
  BOOST_TEST(http.options().via_http());
  BOOST_TEST(http.options().http_connections == 8u);
  BOOST_TEST(http.options().merchant_sim_binary == "m");

  parse_run connect{with_required("w2", {"--connect", "[::1]:4242", "--node-pid", "123"})};
  BOOST_REQUIRE_MESSAGE(connect.ok(), connect.err);
  BOOST_TEST(connect.options().connect == "[::1]:4242");
  BOOST_TEST(connect.options().node_pid == 123);
  parse_run in_process{with_required("w1", {"--in-process"})};
  BOOST_REQUIRE_MESSAGE(in_process.ok(), in_process.err);
  BOOST_TEST(in_process.options().in_process);
  parse_run old_w3{with_required("w3", {"--node-binary", "n", "--in-node-providers"})};
  BOOST_REQUIRE_MESSAGE(old_w3.ok(), old_w3.err);
  BOOST_TEST(old_w3.options().in_node_providers);
}

BOOST_AUTO_TEST_CASE(the_workload_takes_the_overrides) {
  auto options_of = [](const std::string& workload, std::vector<std::string> args) {
    args.insert(args.end(), {"--node-binary", "n", "--provider-sim-binary", "s"});
    parse_run run{with_required(workload, args)};
    BOOST_REQUIRE_MESSAGE(run.ok(), run.err);
    return run.options();
  };
  auto w2 = build_workload(options_of("w2", {}));
  BOOST_TEST(w2.name == "w2");
  BOOST_TEST((w2.loop == loop_kind::open));
  BOOST_TEST(w2.rate == 500.0);
  BOOST_TEST(w2.orders == 30000u);
  BOOST_TEST(!w2.kill_at_s);

  // An open loop's length and rate give its orders; --orders has the last word.
  auto short_w3 = build_workload(
    options_of("w3", {"--rate", "100", "--duration", "5", "--kill-at", "2", "--restart-at", "3",
                      "--deadline-ms", "60000", "--batch", "8"}));
  BOOST_TEST(short_w3.orders == 500u);
  BOOST_TEST(*short_w3.kill_at_s == 2.0);
  BOOST_TEST(*short_w3.restart_at_s == 3.0);
  BOOST_TEST(short_w3.deadline_ms == 60000);
  BOOST_TEST(short_w3.batch == 8u);
  auto counted = build_workload(options_of("w2", {"--duration", "5", "--orders", "42"}));
  BOOST_TEST(counted.orders == 42u);

  // W4 gives up at the end of its load, whatever its rate and length.
  auto w4 = build_workload(options_of("w4", {"--rate", "1000", "--duration", "3"}));
  BOOST_TEST(w4.orders == 3000u);
  BOOST_TEST(*w4.give_up_at_s == 3.0);

  // A closed loop has no duration: --duration leaves its orders alone.
  auto w1 = build_workload(options_of("w1", {"--duration", "5", "--outstanding", "16"}));
  BOOST_TEST((w1.loop == loop_kind::closed));
  BOOST_TEST(w1.orders == 200000u);
  BOOST_TEST(w1.outstanding == 16u);
}

BOOST_AUTO_TEST_CASE(options_that_do_not_fit_together_are_refused_with_their_reason) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
    {with_required("w1", {}), "give exactly one of --node-binary, --connect, --in-process"},
    {with_required("w1", {"--node-binary", "n", "--in-process"}),
     "give exactly one of --node-binary, --connect, --in-process"},
    {with_required("w1", {"--connect", "127.0.0.1:4242", "--in-process"}),
     "give exactly one of --node-binary, --connect, --in-process"},
    {with_required("w3", {"--connect", "127.0.0.1:4242"}),
     "w3 kills and restarts the node: it needs --node-binary"},
    {with_required("hold", {"--in-process"}),
     "hold kills and restarts the node: it needs --node-binary"},
    {with_required("w3", {"--node-binary", "n"}),
     "w3 runs its providers out of process: give --provider-sim-binary (or "
     "--in-node-providers for the old variant)"},
    {with_required("w2", {"--node-binary", "n", "--provider-sim-binary", "s",
                          "--in-node-providers"}),
     "give --provider-sim-binary or --in-node-providers, not both"},
    {with_required("w2", {"--connect", "127.0.0.1:4242", "--provider-sim-binary", "s"}),
     "--provider-sim-binary needs a node the bench starts (not --connect, not hold)"},
    {with_required("hold", {"--node-binary", "n", "--provider-sim-binary", "s"}),
     "--provider-sim-binary needs a node the bench starts (not --connect, not hold)"},
    {with_required("w1", {"--node-binary", "n", "--nodes", "2"}),
     "several nodes share one store: give --postgresql"},
    {with_required("w1", {"--connect", "127.0.0.1:4242", "--postgresql", "host=h"}),
     "--postgresql runs a cluster of nodes the bench starts (--node-binary; w1, w2 or w3)"},
    {with_required("hold", {"--node-binary", "n", "--postgresql", "host=h"}),
     "--postgresql runs a cluster of nodes the bench starts"},
    {with_required("w1", {"--in-process", "--via", "http"}),
     "--via http needs one node the bench starts (--node-binary; w1, w2, w3 or w4)"},
    {with_required("w1", {"--node-binary", "n", "--via", "http-batch", "--nodes", "2",
                          "--postgresql", "host=h"}),
     "--via http needs one node the bench starts"},
    {with_required("hold", {"--node-binary", "n", "--via", "http"}),
     "--via http needs one node the bench starts"},
    {with_required("w1", {"--node-binary", "n", "--merchant-sim-binary", "m"}),
     "--merchant-sim-binary goes with --via http or http-batch"},
    {with_required("w1", {"--connect", "localhost"}), "--connect 'localhost': expected"},
    {with_required("w1", {"--connect", "127.0.0.1:0"}),
     "--connect '127.0.0.1:0': the port must be a number from 1 to 65535"},
  };
  for (const auto& [args, message] : cases) {
    BOOST_TEST_CONTEXT("topup-bench " << joined(args)) {
      parse_run run{args};
      BOOST_TEST(!run.ok());
      BOOST_TEST(run.result.code == exit_usage);
      BOOST_TEST(run.err.find("topup-bench: " + message) == 0u, run.err);
      BOOST_TEST(run.out.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(missing_unknown_and_out_of_range_values_are_refused_by_name) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
    {{"-c", config_file, "--in-process"}, "--workload is required"},
    {{"-w", "w1", "--in-process"}, "--config is required"},
    {with_required("w9", {"--in-process"}), "w9 not in {w1,w2,w3,w4,hold}"},
    {{"-w", "w1", "-c", "/nonexistent/bench.json", "--in-process"},
     "File does not exist: /nonexistent/bench.json"},
    {with_required("w1", {"--in-process", "--rate"}), "--rate"},
    {with_required("w1", {"--in-process", "--orders"}), "--orders"},
    {with_required("w1", {"--in-process", "--orders", "many"}), "--orders"},
    {with_required("w1", {"--in-process", "--rate", "0"}), "--rate"},
    {with_required("w1", {"--in-process", "--rate", "-5"}), "--rate"},
    {with_required("w1", {"--in-process", "--duration", "0"}), "--duration"},
    {with_required("w1", {"--in-process", "--batch", "0"}), "--batch"},
    {with_required("w1", {"--in-process", "--submit-timeout-ms", "0"}), "--submit-timeout-ms"},
    {with_required("w1", {"--in-process", "--heartbeat-ms", "0"}), "--heartbeat-ms"},
    {with_required("w1", {"--node-binary", "n", "--nodes", "0"}),
     "Value 0 not in range 1 to 9"},
    {with_required("w1", {"--node-binary", "n", "--nodes", "10", "--postgresql", "host=h"}),
     "Value 10 not in range 1 to 9"},
    {with_required("w1", {"--node-binary", "n", "--via", "http", "--http-connections", "513"}),
     "Value 513 not in range 1 to 512"},
    {with_required("w1", {"--node-binary", "n", "--via", "grpc"}),
     "grpc not in {caf,http,http-batch}"},
    {with_required("w1", {"--in-process", "--bogus"}), "--bogus"},
  };
  for (const auto& [args, message] : cases) {
    BOOST_TEST_CONTEXT("topup-bench " << joined(args)) {
      parse_run run{args};
      BOOST_TEST(!run.ok());
      BOOST_TEST(run.result.code == exit_usage);
      BOOST_TEST(run.err.find(message) != std::string::npos, run.err);
    }
  }
}

BOOST_AUTO_TEST_CASE(help_describes_the_workloads_and_exit_codes_and_succeeds) {
  parse_run help{{"--help"}};
  BOOST_TEST(!help.ok());
  BOOST_TEST(help.result.code == exit_ok);
  BOOST_TEST(help.err.empty());
  BOOST_TEST(help.out.find("Usage: topup-bench") != std::string::npos, help.out);
  BOOST_TEST(help.out.find("Workloads (bench/README.md") != std::string::npos);
  BOOST_TEST(help.out.find("Exit codes: 0 the verdict is pass") != std::string::npos);
  BOOST_TEST(help.out.find("--kill-owner-only") != std::string::npos);
}
