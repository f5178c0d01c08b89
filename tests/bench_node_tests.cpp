// topup-bench end to end: a scaled-down W1 against a topup-node the bench starts itself, and
// the figures of its JSON line checked against what must hold (every order acknowledged and
// completed, none lost, none recharged twice).

#define BOOST_TEST_MODULE bench_node_tests
#include <boost/test/unit_test.hpp>

#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

using namespace topup;
using namespace topup::testing;

BOOST_AUTO_TEST_CASE(scaled_down_w1_accepts_and_completes_every_order) {
  temp_dir dir;
  auto run_dir = dir.path() / "run";
  auto log = (dir.path() / "bench.log").string();
  child_process bench{{TOPUP_BENCH, "--workload", "w1", "--orders", "2000", "--node-binary",
                       TOPUP_NODE, "--config", TOPUP_BENCH_W1_CONFIG, "--run-dir",
                       run_dir.string(), "--svg", (dir.path() / "w1.svg").string(),
                       "--completion-wait", "20"},
                      log};
  line_reader out{bench.stdout_fd()};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  BOOST_REQUIRE_MESSAGE(out.read_to_end(deadline), "topup-bench did not finish: " << tail_of(log));
  BOOST_REQUIRE(bench.wait_for_exit(deadline));
  BOOST_TEST((bench.exit_code() == std::optional<int>{0}), bench.ended() << "\n" << tail_of(log));
  BOOST_REQUIRE_MESSAGE(out.lines().size() == 1u, "one JSON line expected:\n" << tail_of(log));
  auto figures = nlohmann::json::parse(out.lines().front());
  BOOST_TEST(figures["workload"] == "w1");
  BOOST_TEST(figures["params"]["orders"] == 2000);
  BOOST_TEST(figures["accepted"] == 2000);
  BOOST_TEST(figures["completed"] == 2000);
  BOOST_TEST(figures["succeeded"] == 2000);
  BOOST_TEST(figures["lost"] == 0);
  BOOST_TEST(figures["duplicates"] == 0);
  BOOST_TEST(figures["ledger_recharges"] == 2000);
  BOOST_TEST(figures["completion_ms"]["count"] == 2000);
  BOOST_TEST(figures["share_terminal_within_deadline"] == 1.0);
  BOOST_TEST(figures["peak_rss_kib"].get<uint64_t>() > 0u);
  BOOST_TEST(figures["completion_wait_timed_out"] == false);
  BOOST_TEST(std::filesystem::file_size(dir.path() / "w1.svg") > 0u);
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
