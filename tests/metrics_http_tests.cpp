#define BOOST_TEST_MODULE metrics_http_tests
#include <boost/test/unit_test.hpp>

// GET /metrics of a real topup-node on 127.0.0.1 over real TCP: the text passes
// `promtool check metrics` (run as a process), and the counters and histograms move as
// orders are accepted and become final; the optional metrics token is enforced.

#include "tests/callback_receiver.hpp"
#include "tests/http_node_support.hpp"
#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <thread>

using namespace topup;
using namespace topup::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

namespace http = boost::beast::http;
using steady = std::chrono::steady_clock;

const merchant_key shop{"shop-m", "secret-m"};

struct metrics_fixture : http_node_fixture {
  /// The merchant's endpoint for result callbacks: acknowledges each.
  callback_receiver merchant_endpoint{always(200, "success")};

  metrics_fixture() {
    single_merchant(shop, "http://127.0.0.1:" + std::to_string(merchant_endpoint.port())
                            + "/topup/result");
    cfg["callbacks"] = {{"poll_interval_ms", 100}};
  }

  void start() { http_node_fixture::start(TOPUP_NODE); }

  http_reply scrape(const std::map<std::string, std::string>& headers = {}) {
    return http_client{api_port}.call(http::verb::get, "/metrics", "", headers);
  }

  /// `promtool check metrics` on `text`: its output, empty when it found nothing wrong
  /// (its exit code must be 0 too).
  std::string promtool_problems(const std::string& text) {
    auto scrape_path = dir.file("scrape.txt");
    std::ofstream{scrape_path} << text;
    auto run = run_program({"/bin/sh", "-c", "promtool check metrics < '" + scrape_path + "' 2>&1"},
                           dir.file("promtool.err"));
    std::string output;
    for (const auto& line : run.out)
      output += line + "\n";
    if (!run.code || *run.code != 0)
      output += "promtool: " + run.describe();
    return output;
  }

  unsigned submit(const std::string& ref, const std::string& phone) {
    auto body = json{{"client_ref", ref}, {"phone", phone}, {"amount_fen", 1000}}.dump();
    return http_client{api_port}
      .call(http::verb::post, "/v1/orders", body, signed_headers(shop, "POST", "/v1/orders", body))
      .status;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(metrics_endpoint, metrics_fixture)

BOOST_AUTO_TEST_CASE(a_scrape_is_valid_prometheus_text_and_moves_with_the_orders) {
  start();
  auto first = scrape();
  BOOST_TEST_REQUIRE(first.status == 200u, first.text);
  BOOST_TEST(first.content_type == "text/plain; version=0.0.4; charset=utf-8");
  BOOST_TEST(promtool_problems(first.text) == "");
  auto before = samples_of(first.text);
  BOOST_TEST(sum_of(before, "topup_stats_up") == 1);
  BOOST_TEST(sum_of(before, "topup_build_info") == 1);
  BOOST_TEST(sum_of(before, "topup_orders_accepted_total") == 0);
  BOOST_TEST(sum_of(before, "topup_order_accept_latency_seconds_count") == 0);
  BOOST_TEST(sum_of(before, "topup_callbacks_total") == 0);
  BOOST_TEST(sum_of(before, "topup_callbacks_pending") == 0);
  // Every provider's breaker is in exactly one state, closed.
  BOOST_TEST(sum_of(before, "topup_provider_breaker_state", {"state=\"closed\""}) == 4);
  BOOST_TEST(sum_of(before, "topup_provider_breaker_state") == 4);

  const std::vector<std::string> phones{"13800138001", "13800138002", "13800138003",
                                        "13900139004", "13900139005"};
  for (size_t i = 0; i < phones.size(); ++i)
    BOOST_TEST_REQUIRE(submit("m-" + std::to_string(i), phones[i]) == 201u, tail_of(log_path));
  BOOST_TEST(submit("m-0", phones[0]) == 200u);  // a resubmission: not accepted again

  // The simulated providers answer in 2 ms: the orders are final within the 6 s deadline.
  double n = static_cast<double>(phones.size());
  std::map<std::string, double> after;
  std::string text;
  auto give_up = steady::now() + 15s;
  do {
    std::this_thread::sleep_for(100ms);
    text = scrape().text;
    after = samples_of(text);
  } while ((sum_of(after, "topup_orders_finished_total") < n
            || sum_of(after, "topup_callbacks_total", {"outcome=\"delivered\""}) < n)
           && steady::now() < give_up);

  BOOST_TEST(promtool_problems(text) == "");
  BOOST_TEST(sum_of(after, "topup_orders_accepted_total") == n);
  BOOST_TEST(sum_of(after, "topup_orders_resubmitted_total") == 1);
  BOOST_TEST(sum_of(after, "topup_orders_finished_total", {"outcome=\"succeeded\""}) == n);
  BOOST_TEST(sum_of(after, "topup_orders_finished_total") == n);
  BOOST_TEST(sum_of(after, "topup_order_accept_latency_seconds_count") == n);
  BOOST_TEST(sum_of(after, "topup_order_accept_latency_seconds_bucket", {"le=\"+Inf\""}) == n);
  BOOST_TEST(sum_of(after, "topup_order_accept_to_final_seconds_count",
                    {"outcome=\"succeeded\""}) == n);
  // Final long before the 180 s (here 6 s) limit: all in the buckets up to 60 s, none after.
  BOOST_TEST(sum_of(after, "topup_order_accept_to_final_seconds_bucket",
                    {"outcome=\"succeeded\"", "le=\"60\""}) == n);
  BOOST_TEST(sum_of(after, "topup_order_accept_to_final_seconds_bucket",
                    {"outcome=\"succeeded\"", "le=\"180\""}) == n);
  // Time left at the finish: positive (le="0" counts those finished after their deadline).
  BOOST_TEST(sum_of(after, "topup_order_deadline_margin_seconds_count") == n);
  BOOST_TEST(sum_of(after, "topup_order_deadline_margin_seconds_bucket", {"le=\"0\""}) == 0);
  BOOST_TEST(sum_of(after, "topup_provider_calls_total",
                    {"kind=\"call\"", "result=\"succeeded\""}) == n);
  BOOST_TEST(sum_of(after, "topup_provider_call_duration_seconds_count", {"kind=\"call\""}) == n);
  BOOST_TEST(sum_of(after, "topup_store_commits_total") >= 1);
  BOOST_TEST(sum_of(after, "topup_store_commit_duration_seconds_count")
             == sum_of(after, "topup_store_commits_total"));
  BOOST_TEST(sum_of(after, "topup_store_commit_rows_sum")
             == sum_of(after, "topup_store_rows_written_total"));
  BOOST_TEST(sum_of(after, "topup_orders_unknown_at_deadline_total") == 0);
  BOOST_TEST(sum_of(after, "topup_intake_refused_total") == 0);
  BOOST_TEST(sum_of(after, "topup_cluster_members") == 1);
  // Each final order notified once, acknowledged at the first attempt.
  BOOST_TEST(sum_of(after, "topup_callbacks_total", {"outcome=\"delivered\""}) == n);
  BOOST_TEST(sum_of(after, "topup_callbacks_total") == n);
  BOOST_TEST(sum_of(after, "topup_callbacks_pending") == 0);
  BOOST_TEST(sum_of(after, "topup_callbacks_in_flight") == 0);
  BOOST_TEST(sum_of(after, "topup_callback_duration_seconds_count", {"outcome=\"delivered\""})
             == n);
  BOOST_TEST(sum_of(after, "topup_callback_duration_seconds_count", {"outcome=\"failed\""})
             == 0);
  // Neither phone numbers nor order references are labels.
  for (const auto& phone : phones)
    BOOST_TEST(text.find(phone) == std::string::npos);
  BOOST_TEST(text.find("m-0") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_configured_token_is_required) {
  cfg["http_api"]["metrics_token"] = "scrape-token";
  start();
  BOOST_TEST(scrape().status == 401u);
  BOOST_TEST(scrape({{"Authorization", "Bearer wrong-token!"}}).status == 401u);
  BOOST_TEST(scrape({{"Authorization", "scrape-token"}}).status == 401u);
  auto allowed = scrape({{"Authorization", "Bearer scrape-token"}});
  BOOST_TEST(allowed.status == 200u);
  BOOST_TEST(promtool_problems(allowed.text) == "");
  // The merchant API's own endpoints are not opened by the token.
  auto order = http_client{api_port}.call(http::verb::get, "/v1/orders/x", "",
                                          {{"Authorization", "Bearer scrape-token"}});
  BOOST_TEST(order.status == 401u);
}

BOOST_AUTO_TEST_SUITE_END()
