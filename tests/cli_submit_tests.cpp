#define BOOST_TEST_MODULE cli_submit_tests
#include <boost/test/unit_test.hpp>

// `topup-cli submit --file` as scripts use it: the real topup-cli process prints one result
// line per order of the file, in input order, whatever becomes of the node: none listening
// on the port, or the node killed in the middle of the file. Scripts pair the lines with
// their input and resubmit the orders that were not sent or not answered; they find the
// retryable exit code (3, unreachable) at the end.

#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace topup;
using namespace topup::testing;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

/// topup-cli's code for "cannot connect, the node went down, or a request timed out".
constexpr int exit_unreachable = 3;

/// Writes `count` valid cmcc orders "r-0".. as CSV lines (no header); its path.
std::string write_orders(const temp_dir& dir, size_t count) {
  auto path = dir.file("orders.csv");
  std::ofstream out{path};
  for (size_t i = 0; i < count; ++i) {
    char phone[16];
    std::snprintf(phone, sizeof phone, "138%08zu", i % 100000000);
    out << "r-" << i << "," << phone << ",1000\n";
  }
  return path;
}

/// A finished topup-cli run.
struct cli_run {
  std::vector<std::string> lines;  ///< stdout
  std::optional<int> code;
  std::string log;  ///< the end of its stderr, for messages
};

/// Starts topup-cli with `args` against 127.0.0.1:`port`.
std::unique_ptr<child_process> start_cli(const temp_dir& dir, uint16_t port,
                                         std::vector<std::string> args) {
  std::vector<std::string> command{TOPUP_CLI, "--node", "127.0.0.1:" + std::to_string(port),
                                   "--timeout", "5s"};
  command.insert(command.end(), args.begin(), args.end());
  return std::make_unique<child_process>(command, dir.file("cli.log"));
}

cli_run finish_cli(const temp_dir& dir, child_process& cli, line_reader& output) {
  auto until = steady::now() + 60s;
  BOOST_TEST(output.read_to_end(until), "topup-cli's stdout never ended");
  BOOST_TEST(cli.wait_for_exit(until), "topup-cli did not exit");
  return {output.lines(), cli.exit_code(), tail_of(dir.file("cli.log"))};
}

} // namespace

BOOST_AUTO_TEST_CASE(no_node_listening_gives_every_order_a_not_sent_line) {
  temp_dir dir;
  auto file = write_orders(dir, 5);
  auto closed = free_port();  // bound and released: nothing listens there
  for (bool json : {false, true}) {
    std::vector<std::string> args{"submit", "--file", file};
    if (json)
      args.push_back("--json");
    auto cli = start_cli(dir, closed, args);
    line_reader output{cli->stdout_fd()};
    auto run = finish_cli(dir, *cli, output);
    BOOST_TEST((run.code == std::optional<int>{exit_unreachable}), run.log);
    BOOST_REQUIRE_MESSAGE(run.lines.size() == 5u, run.lines.size() << " lines for 5 orders; "
                                                                   << run.log);
    for (size_t i = 0; i < run.lines.size(); ++i) {
      const auto& line = run.lines[i];
      auto ref = "r-" + std::to_string(i);
      if (json) {
        auto object = nlohmann::json::parse(line);
        BOOST_TEST(object["outcome"] == "not_sent", line);
        BOOST_TEST(object["line"] == i + 1, line);
        BOOST_TEST(object["client_ref"] == ref, line);
        BOOST_TEST(object["error"]["code"] == "cannot_connect_to_node", line);
      } else {
        auto expected = "not_sent line " + std::to_string(i + 1) + " ref=" + ref + " ";
        BOOST_TEST(line.rfind(expected, 0) == 0u, line);
        BOOST_TEST(line.find("cannot_connect_to_node") != std::string::npos, line);
      }
    }
    // The reason is on stderr once, not per order.
    BOOST_TEST(run.log.find("cannot reach node") != std::string::npos, run.log);
  }
}

BOOST_AUTO_TEST_CASE(a_node_killed_mid_file_leaves_one_line_per_order) {
  temp_dir dir;
  constexpr size_t orders = 50000;
  auto file = write_orders(dir, orders);
  auto cfg = test_node_config(dir.path());
  write_json(dir.file("node.json"), cfg);
  node_process node{TOPUP_NODE, dir.file("node.json"), dir.file("node.log")};
  // Small batches, one at a time: the file takes seconds, and the kill lands in it.
  auto cli = start_cli(dir, node.port(),
                       {"submit", "--file", file, "--batch", "5", "--in-flight", "1"});
  line_reader output{cli->stdout_fd()};
  BOOST_REQUIRE_MESSAGE(output.read_until(100, steady::now() + 30s),
                        "no results from topup-cli: " << tail_of(dir.file("cli.log")));
  node.kill();
  auto run = finish_cli(dir, *cli, output);
  BOOST_TEST((run.code == std::optional<int>{exit_unreachable}), run.log);
  BOOST_REQUIRE_MESSAGE(run.lines.size() == orders,
                        run.lines.size() << " lines for " << orders << " orders; " << run.log);
  size_t accepted = 0, unanswered = 0;
  for (size_t i = 0; i < run.lines.size(); ++i) {
    const auto& line = run.lines[i];
    auto ref = "ref=r-" + std::to_string(i) + " ";
    BOOST_TEST(line.find(ref) != std::string::npos, "line " << i << ": " << line);
    if (line.rfind("accepted ", 0) == 0)
      ++accepted;
    else if (line.rfind("unknown ", 0) == 0 || line.rfind("not_sent ", 0) == 0)
      ++unanswered;
    else
      BOOST_ERROR("line " << i << ": " << line);
  }
  BOOST_TEST(accepted >= 100u);
  BOOST_TEST(unanswered > 0u, "the kill came after the last order");
  BOOST_TEST_MESSAGE(accepted << " accepted, " << unanswered << " unknown or not sent");
}
