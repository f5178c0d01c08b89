// topup-bench end to end: a scaled-down W1 against a topup-node the bench starts itself (over
// CAF, and through the HTTP API with callbacks to topup-merchant-sim), a
// scaled-down W3 with its providers out of process in topup-provider-sim, and a run stopped
// by SIGINT, and a run its verdict fails (exit 1, each violation on stderr); the figures of
// the JSON line checked against what must hold (every order acknowledged and completed, none
// lost, store and ledgers agreeing order by order, no call deduplicated by the simulator).

#define BOOST_TEST_MODULE bench_node_tests
#include <boost/test/unit_test.hpp>

#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

using namespace topup;
using namespace topup::testing;

namespace {

/// True when some process of ours has `file` open (seen in /proc/<pid>/fd).
bool open_by_any_process(const std::filesystem::path& file) {
  namespace fs = std::filesystem;
  auto target = fs::weakly_canonical(file);
  std::error_code error;
  for (const auto& process : fs::directory_iterator{"/proc", error}) {
    std::error_code unreadable;
    for (const auto& fd : fs::directory_iterator{process.path() / "fd", unreadable}) {
      std::error_code gone;
      if (fs::read_symlink(fd.path(), gone) == target)
        return true;
    }
  }
  return false;
}

/// Runs topup-bench with `args` (stderr to `log`) until it ends, within `limit`; requires exit
/// 0 and one JSON line on stdout, and returns it.
nlohmann::json passing_run(const std::vector<std::string>& args, const std::string& log,
                           std::chrono::seconds limit) {
  std::vector<std::string> command{TOPUP_BENCH};
  command.insert(command.end(), args.begin(), args.end());
  child_process bench{command, log};
  line_reader out{bench.stdout_fd()};
  auto deadline = std::chrono::steady_clock::now() + limit;
  BOOST_REQUIRE_MESSAGE(out.read_to_end(deadline), "topup-bench did not finish: " << tail_of(log));
  BOOST_REQUIRE(bench.wait_for_exit(deadline));
  BOOST_TEST((bench.exit_code() == std::optional<int>{0}), bench.ended() << "\n" << tail_of(log));
  BOOST_REQUIRE_MESSAGE(out.lines().size() == 1u, "one JSON line expected:\n" << tail_of(log));
  return nlohmann::json::parse(out.lines().front());
}

} // namespace

BOOST_AUTO_TEST_CASE(scaled_down_w1_accepts_and_completes_every_order) {
  temp_dir dir;
  auto run_dir = dir.path() / "run";
  auto log = (dir.path() / "bench.log").string();
  auto figures = passing_run({"--workload", "w1", "--orders", "2000", "--node-binary",
                              TOPUP_NODE, "--config", TOPUP_BENCH_W1_CONFIG, "--run-dir",
                              run_dir.string(), "--svg", (dir.path() / "w1.svg").string(),
                              "--completion-wait", "20"},
                             log, std::chrono::seconds(60));
  BOOST_TEST(figures["workload"] == "w1");
  BOOST_TEST(figures["params"]["orders"] == 2000);
  BOOST_TEST(figures["accepted"] == 2000);
  BOOST_TEST(figures["completed"] == 2000);
  BOOST_TEST(figures["succeeded"] == 2000);
  BOOST_TEST(figures["lost"] == 0);
  BOOST_TEST(figures["duplicates"] == 0);
  BOOST_TEST(figures["ledger_recharges"] == 2000);
  BOOST_TEST(figures["ledger_audit"]["disagreements"] == 0, figures["ledger_audit"].dump());
  BOOST_TEST(figures["ledger_audit"]["succeeded"] == 2000);
  BOOST_TEST(figures["verdict"] == "pass", figures["violations"].dump());
  BOOST_TEST(figures["completion_ms"]["count"] == 2000);
  BOOST_TEST(figures["share_terminal_within_deadline"] == 1.0);
  BOOST_TEST(figures["peak_rss_kib"].get<uint64_t>() > 0u);
  BOOST_TEST(figures["completion_wait_timed_out"] == false);
  BOOST_TEST(std::filesystem::file_size(dir.path() / "w1.svg") > 0u);
}

// In process the bench opens the store itself: with two shards, both files are written and
// read, so every order is counted and audited (a store whose shard count went unrecorded was
// read as one shard, half the orders lost to the count).
BOOST_AUTO_TEST_CASE(scaled_down_w1_in_process_on_two_shards_reads_both) {
  temp_dir dir;
  auto config = nlohmann::json::parse(std::ifstream{TOPUP_BENCH_W1_CONFIG}, nullptr, true,
                                      /*ignore_comments=*/true);
  config["store"]["shards"] = 2;
  auto config_path = dir.path() / "w1-two-shards.json";
  std::ofstream{config_path} << config.dump();
  auto run_dir = dir.path() / "run";
  auto figures = passing_run({"-w", "w1", "--orders", "2000", "--in-process", "-c",
                              config_path.string(), "--run-dir", run_dir.string(),
                              "--completion-wait", "20"},
                             (dir.path() / "bench.log").string(), std::chrono::seconds(60));
  BOOST_TEST(figures["mode"] == "in-process");
  BOOST_TEST(figures["completed"] == 2000);
  BOOST_TEST(figures["lost"] == 0);
  BOOST_TEST(figures["ledger_audit"]["orders"] == 2000, figures["ledger_audit"].dump());
  BOOST_TEST(figures["ledger_audit"]["disagreements"] == 0, figures["ledger_audit"].dump());
  BOOST_TEST(std::filesystem::exists(run_dir / "data" / "topup.shard1.db"));
}

/// Runs a scaled-down W1 of 2,000 orders through the node's HTTP API (`via`), with
/// topup-merchant-sim as the merchant's callback endpoint; the JSON line.
nlohmann::json w1_over_http(const std::string& via) {
  temp_dir dir;
  auto log = (dir.path() / "bench.log").string();
  return passing_run({"-w", "w1", "--orders", "2000", "--via", via, "--http-connections", "8",
                      "--node-binary", TOPUP_NODE, "--merchant-sim-binary", TOPUP_MERCHANT_SIM,
                      "-c", TOPUP_BENCH_W1_HTTP_CONFIG, "--run-dir",
                      (dir.path() / "run").string(), "--completion-wait", "20"},
                     log, std::chrono::seconds(120));
}

void check_w1_over_http(const nlohmann::json& figures, const std::string& via) {
  BOOST_TEST(figures["mode"] == via);
  BOOST_TEST(figures["accepted"] == 2000);
  BOOST_TEST(figures["completed"] == 2000);
  BOOST_TEST(figures["lost"] == 0);
  BOOST_TEST(figures["duplicates"] == 0);
  BOOST_TEST(figures["ledger_audit"]["disagreements"] == 0, figures["ledger_audit"].dump());
  BOOST_TEST(figures["ledger_audit"]["succeeded"] == 2000);
  BOOST_TEST(figures["verdict"] == "pass", figures["violations"].dump());
  // Every final order's notification reached the merchant, each signed right.
  const auto& callbacks = figures["callbacks"];
  BOOST_TEST(callbacks["final_orders"] == 2000, callbacks.dump());
  BOOST_TEST(callbacks["notified"] == 2000, callbacks.dump());
  BOOST_TEST(callbacks["missing_orders"] == 0, callbacks.dump());
  BOOST_TEST(callbacks["bad_signatures"] == 0, callbacks.dump());
}

BOOST_AUTO_TEST_CASE(scaled_down_w1_through_the_http_api_loses_no_order_and_no_callback) {
  check_w1_over_http(w1_over_http("http-batch"), "http-batch");
  check_w1_over_http(w1_over_http("http"), "http");
}

BOOST_AUTO_TEST_CASE(a_run_directory_with_an_earlier_store_is_refused) {
  temp_dir dir;
  std::filesystem::create_directories(dir.path() / "data");
  std::ofstream{dir.path() / "data" / "topup.db"} << "";
  auto log = (dir.path() / "bench.log").string();
  child_process bench{{TOPUP_BENCH, "-w", "w1", "--orders", "10", "--node-binary", TOPUP_NODE,
                       "-c", TOPUP_BENCH_W1_CONFIG, "--run-dir", dir.path().string()},
                      log};
  BOOST_REQUIRE(bench.wait_for_exit(std::chrono::steady_clock::now() + std::chrono::seconds(20)));
  BOOST_TEST((bench.exit_code() == std::optional<int>{2}));
  BOOST_TEST(tail_of(log).find("exists") != std::string::npos, tail_of(log));
}

BOOST_AUTO_TEST_CASE(scaled_down_w3_keeps_the_provider_ledger_across_the_kill) {
  temp_dir dir;
  auto run_dir = dir.path() / "run";
  auto log = (dir.path() / "bench.log").string();
  auto figures = passing_run({"-w", "w3", "--rate", "100", "--duration", "5", "--kill-at", "2",
                              "--restart-at", "3", "--node-binary", TOPUP_NODE,
                              "--provider-sim-binary", TOPUP_PROVIDER_SIM, "-c",
                              TOPUP_BENCH_W3_CONFIG, "--run-dir", run_dir.string(),
                              "--completion-wait", "60"},
                             log, std::chrono::seconds(150));
  BOOST_TEST(figures["providers"] == "provider-sim");
  BOOST_TEST(figures["accepted"] == 500);
  BOOST_TEST(figures["node_starts"] == 2);
  BOOST_TEST(figures["lost"] == 0);
  BOOST_TEST(figures["duplicates"] == 0);
  // Every order succeeded exactly once in the one ledger, at the provider and with the
  // transaction the store names, whichever node process called; and no call was a re-send
  // the simulator deduplicated (its ledger would not show one).
  const auto& audit = figures["ledger_audit"];
  BOOST_TEST(audit["disagreements"] == 0, audit.dump());
  BOOST_TEST(audit["succeeded"] == figures["succeeded"]);
  BOOST_TEST(audit["orders"] == 500);
  for (const auto& [name, provider] : figures["provider_ledger"].items()) {
    BOOST_TEST(provider["deduplicated"] == 0, name << ": " << provider.dump());
    const auto& busiest = figures["provider_busiest_second"][name];
    BOOST_TEST(busiest["calls"].get<uint64_t>() <= busiest["allowed"].get<uint64_t>(),
               name << ": " << busiest.dump());
  }
  BOOST_TEST(figures["verdict"] == "pass", figures["violations"].dump());
  BOOST_TEST(figures["max_provider_calls_per_1s"].get<uint64_t>() > 0u);
  BOOST_TEST(figures["provider_ledger"]["p-cmcc"]["calls"].get<uint64_t>() > 0u);
  BOOST_TEST(figures["provider_start_to_load_ms"].get<double>() >= 0.0);
  // The simulator was stopped with SIGTERM (it logs its counters then), not left running.
  BOOST_TEST(tail_of((run_dir / "provider-sim.log").string()).find("stops on signal")
               != std::string::npos,
             tail_of((run_dir / "provider-sim.log").string()));
}

BOOST_AUTO_TEST_CASE(a_run_with_a_violation_fails_and_says_why) {
  // Orders cannot all be final 10 ms after the last ack (provider calls take 50 ms and
  // more): the completion wait times out, and the orders still open count as lost.
  temp_dir dir;
  auto log = (dir.path() / "bench.log").string();
  child_process bench{{TOPUP_BENCH, "-w", "w2", "--rate", "200", "--duration", "1",
                       "--node-binary", TOPUP_NODE, "-c", TOPUP_BENCH_W2_CONFIG, "--run-dir",
                       (dir.path() / "run").string(), "--completion-wait", "0.01"},
                      log};
  line_reader out{bench.stdout_fd()};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  BOOST_REQUIRE_MESSAGE(out.read_to_end(deadline), "topup-bench did not finish: " << tail_of(log));
  BOOST_REQUIRE(bench.wait_for_exit(deadline));
  BOOST_TEST((bench.exit_code() == std::optional<int>{1}), bench.ended() << "\n" << tail_of(log));
  BOOST_REQUIRE_MESSAGE(out.lines().size() == 1u, "one JSON line expected:\n" << tail_of(log));
  auto figures = nlohmann::json::parse(out.lines().front());
  BOOST_TEST(figures["verdict"] == "fail");
  std::set<std::string> checks;
  for (const auto& v : figures["violations"])
    checks.insert(v["check"].get<std::string>());
  BOOST_TEST(checks.count("completion_wait") == 1u, figures["violations"].dump());
  BOOST_TEST(checks.count("lost") == 1u, figures["violations"].dump());
  BOOST_TEST(tail_of(log).find("FAIL completion_wait: ") != std::string::npos, tail_of(log));
}

BOOST_AUTO_TEST_CASE(sigint_stops_the_run_and_prints_the_figures_so_far) {
  temp_dir dir;
  auto run_dir = dir.path() / "run";
  auto log = (dir.path() / "bench.log").string();
  child_process bench{{TOPUP_BENCH, "-w", "w1", "--orders", "100000000", "--node-binary",
                       TOPUP_NODE, "-c", TOPUP_BENCH_W1_CONFIG, "--run-dir", run_dir.string(),
                       "--log-level", "info"},
                      log};
  // Interrupted once orders are acknowledged: its progress line (every 5 s) says so.
  auto acknowledged_some = [&] {
    auto text = tail_of(log);
    auto at = text.rfind(" acc ");
    return at != std::string::npos && text.compare(at, 7, " acc 0 ") != 0;
  };
  auto started = std::chrono::steady_clock::now() + std::chrono::seconds(40);
  while (!acknowledged_some() && std::chrono::steady_clock::now() < started)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  bench.send_signal(SIGINT);
  line_reader out{bench.stdout_fd()};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  BOOST_REQUIRE_MESSAGE(out.read_to_end(deadline), "topup-bench did not stop: " << tail_of(log));
  BOOST_REQUIRE(bench.wait_for_exit(deadline));
  BOOST_TEST((bench.exit_code() == std::optional<int>{130}), bench.ended() << "\n" << tail_of(log));
  BOOST_REQUIRE_MESSAGE(out.lines().size() == 1u, "one JSON line expected:\n" << tail_of(log));
  auto figures = nlohmann::json::parse(out.lines().front());
  BOOST_TEST(figures["interrupted"] == true);
  BOOST_TEST(figures["accepted"].get<uint64_t>() > 0u);
  BOOST_TEST(figures["accepted"].get<uint64_t>() < 100000000u);
  // The node was stopped, not left behind holding its store.
  BOOST_TEST(!open_by_any_process(run_dir / "data" / "topup.db"));
}
