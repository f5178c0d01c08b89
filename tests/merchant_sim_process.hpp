#pragma once

// A real topup-merchant-sim process for tests: a merchant's callback endpoint with its own
// ledger. A test that includes it defines TOPUP_MERCHANT_SIM, the path of the program.

#include "apps/process/child_process.hpp"
#include "tests/http_node_support.hpp"
#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace topup::testing {

class merchant_sim_process {
public:
  /// Serves `merchant` (signed with `secret`) on any free port, its ledger and log in `dir`
  /// under `tag`; `extra_args` follow (e.g. {"--fail-for", "2"}).
  merchant_sim_process(const temp_dir& dir, const std::string& tag, const std::string& merchant,
                       const std::string& secret, const std::vector<std::string>& extra_args = {})
    : ledger_path_(dir.file(tag + "-ledger.db")), log_path_(dir.file(tag + ".log")),
      child_(command(merchant, secret, extra_args), log_path_) {
    process::line_reader reader{child_.stdout_fd()};
    auto started = reader.read_until(1, std::chrono::steady_clock::now() + std::chrono::seconds(10));
    std::optional<process::listening_address> address;
    if (started)
      address = process::parse_listening_line(reader.lines().front());
    BOOST_REQUIRE_MESSAGE(address, "topup-merchant-sim did not start: " << tail_of(log_path_));
    port_ = address->port;
  }

  uint16_t port() const { return port_; }
  const std::string& ledger_path() const { return ledger_path_; }

  /// The callback URL at this simulator for `path`.
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  /// GET /report.
  nlohmann::json report() {
    auto reply = http_client{port_}.call(boost::beast::http::verb::get, "/report");
    BOOST_REQUIRE_MESSAGE(reply.status == 200u, "GET /report: " << reply.text);
    return reply.body;
  }

  /// POST /control: answer `mode` for `for_s` seconds.
  void control(const std::string& mode, int for_s) {
    auto body = nlohmann::json{{"mode", mode}, {"for_s", for_s}}.dump();
    auto reply = http_client{port_}.call(boost::beast::http::verb::post, "/control", body);
    BOOST_REQUIRE_MESSAGE(reply.status == 200u, "POST /control: " << reply.text);
  }

  /// SIGTERM; its exit code.
  std::optional<int> stop() { return child_.terminate(std::chrono::seconds(10)); }

private:
  std::vector<std::string> command(const std::string& merchant, const std::string& secret,
                                   const std::vector<std::string>& extra_args) const {
    std::vector<std::string> args{TOPUP_MERCHANT_SIM, "--listen", "127.0.0.1:0",
                                  "--merchant", merchant, "--secret", secret,
                                  "--ledger", ledger_path_};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    return args;
  }

  std::string ledger_path_;
  std::string log_path_;
  process::child_process child_;
  uint16_t port_ = 0;
};

} // namespace topup::testing
