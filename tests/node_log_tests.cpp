#define BOOST_TEST_MODULE node_log_tests
#include <boost/test/unit_test.hpp>

// A real topup-node writing its log as JSON lines (--log-format json): every line of its
// stderr is one JSON object, the lines about one order carry its id, and no phone number
// appears anywhere in full. The order is cancelled from the web console (logged with who
// asked) and its result callback is refused once by the merchant (logged), then delivered.

#include "tests/callback_receiver.hpp"
#include "tests/http_node_support.hpp"
#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

using namespace topup;
using namespace topup::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

namespace http = boost::beast::http;
using steady = std::chrono::steady_clock;

const merchant_key shop{"shop-l", "secret-l"};
const std::string admin_token = "log-admin-token";

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in{path};
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(json_logs, http_node_fixture)

BOOST_AUTO_TEST_CASE(every_line_is_json_and_an_orders_lines_carry_its_id) {
  // Every notification's first call is refused, the next acknowledged.
  callback_receiver merchant{refuse_first_then_ack()};
  single_merchant(shop, "http://127.0.0.1:" + std::to_string(merchant.port()) + "/result");
  cfg["http_api"]["admin_token"] = admin_token;
  cfg["callbacks"] = {{"retry_after_s", {0}}, {"repeat_every_s", 1}, {"poll_interval_ms", 50}};
  hold_cmcc_orders();
  write_json(config_path, cfg);
  node.emplace(TOPUP_NODE, config_path, log_path, std::vector<std::string>{"--log-format", "json"});

  const std::vector<std::string> phones{"13811110001", "13811110002", "13811110003"};
  std::vector<std::string> ids;
  for (size_t i = 0; i < phones.size(); ++i) {
    auto body = json{{"client_ref", "log-" + std::to_string(i)}, {"phone", phones[i]},
                     {"amount_fen", 1000}}.dump();
    auto reply = http_client{api_port}.call(http::verb::post, "/v1/orders", body,
                                           signed_headers(shop, "POST", "/v1/orders", body));
    BOOST_TEST_REQUIRE(reply.status == 201u, reply.text);
    ids.push_back(reply.body["id"].get<std::string>());
  }
  // One call a minute: the first order is called, the others wait and can be cancelled.
  std::map<std::string, std::string> bearer{{"Authorization", "Bearer " + admin_token}};
  std::string cancelled;
  for (const auto& id : ids) {
    auto reply = http_client{api_port}.call(http::verb::post, "/console/api/orders/" + id + "/cancel",
                                           "", bearer);
    if (reply.status == 200u) {
      cancelled = id;
      break;
    }
  }
  BOOST_TEST_REQUIRE(!cancelled.empty());

  // Its failure is notified; the merchant refuses the first call, then takes the next.
  auto delivered = [&] {
    for (const auto& got : merchant.received())
      if (got.answered == 200 && got.body.find(cancelled) != std::string::npos)
        return true;
    return false;
  };
  auto deadline = steady::now() + 20s;
  while (!delivered() && steady::now() < deadline)
    std::this_thread::sleep_for(50ms);
  BOOST_TEST_REQUIRE(delivered());
  auto exit_code = node->terminate(10s);
  BOOST_TEST((exit_code && *exit_code == 0));

  auto lines = lines_of(log_path);
  BOOST_TEST_REQUIRE(!lines.empty());
  std::vector<json> about_order;
  for (const auto& line : lines) {
    auto parsed = json::parse(line, nullptr, false);
    BOOST_TEST_REQUIRE(parsed.is_object(), "not a JSON line: " << line);
    for (auto field : {"time", "level", "logger", "message"})
      BOOST_TEST(parsed.contains(field), field << " missing in " << line);
    BOOST_TEST(parsed["logger"] == "topup-node");
    if (parsed.value("order_id", "") == cancelled)
      about_order.push_back(parsed);
    for (const auto& phone : phones)
      BOOST_TEST(line.find(phone) == std::string::npos, "a phone number in full: " << line);
  }
  auto said = [&](const std::string& words) {
    for (const auto& line : about_order)
      if (line["message"].get<std::string>().find(words) != std::string::npos)
        return true;
    return false;
  };
  BOOST_TEST(said("cancels order=" + cancelled + " (138****"), json(about_order).dump());
  BOOST_TEST(said("cancelled order=" + cancelled), json(about_order).dump());
  BOOST_TEST(said("failed (attempt 1): answered 500"), json(about_order).dump());
  for (const auto& line : about_order)
    BOOST_TEST(line["component"].is_string());
}

BOOST_AUTO_TEST_SUITE_END()
