#define BOOST_TEST_MODULE console_http_tests
#include <boost/test/unit_test.hpp>

// The web console of a real topup-node on 127.0.0.1, with a real HTTP client: the page, the
// admin token (missing, wrong, right), JSON answers whose values move with the orders, the
// order search by id, reference and phone number, an order's story, the cluster section of
// a single node, and the cancel action, logged with the phone number masked; an order's
// result callbacks on its page.

#include "tests/callback_receiver.hpp"
#include "tests/http_node_support.hpp"
#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

using namespace topup;
using namespace topup::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

namespace http = boost::beast::http;
using steady = std::chrono::steady_clock;

const merchant_key shop{"shop-c", "secret-c"};
const std::string admin_token = "console-admin-token";

struct console_fixture : http_node_fixture {
  console_fixture() {
    single_merchant(shop);
    cfg["http_api"]["admin_token"] = admin_token;
  }

  void start() { http_node_fixture::start(TOPUP_NODE); }

  http_reply console(const std::string& target, const std::string& token = admin_token,
                     http::verb method = http::verb::get) {
    std::map<std::string, std::string> headers;
    if (!token.empty())
      headers["Authorization"] = "Bearer " + token;
    return http_client{api_port}.call(method, target, "", headers);
  }

  json console_json(const std::string& target) {
    auto reply = console(target);
    BOOST_TEST_REQUIRE(reply.status == 200u, target + ": " + reply.text);
    BOOST_TEST(reply.content_type == "application/json");
    return reply.body;
  }

  json submit(const std::string& ref, const std::string& phone = "13800138000") {
    auto body = json{{"client_ref", ref}, {"phone", phone}, {"amount_fen", 1000}}.dump();
    auto reply = http_client{api_port}.call(http::verb::post, "/v1/orders", body,
                                           signed_headers(shop, "POST", "/v1/orders", body));
    BOOST_TEST_REQUIRE(reply.status == 201u, reply.text);
    return reply.body;
  }

  std::string log_text() {
    std::ifstream in{log_path};
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  /// Asks `target` until `ready` holds for its answer (at most 15 s); the last answer.
  template <class Ready>
  json console_until(const std::string& target, Ready ready) {
    auto deadline = steady::now() + 15s;
    auto answer = console_json(target);
    while (!ready(answer) && steady::now() < deadline) {
      std::this_thread::sleep_for(100ms);
      answer = console_json(target);
    }
    return answer;
  }
};

void check_unauthenticated(const http_reply& reply) {
  BOOST_TEST(reply.status == 401u, reply.text);
  BOOST_TEST(reply.content_type == "application/json");
  BOOST_TEST(reply.body.value("/error/code"_json_pointer, std::string{}) == "unauthenticated",
             reply.text);
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(web_console, console_fixture)

BOOST_AUTO_TEST_CASE(the_page_is_served_and_the_api_needs_the_admin_token) {
  start();
  auto page = console("/", "");
  BOOST_TEST(page.status == 200u);
  BOOST_TEST(page.content_type == "text/html; charset=utf-8");
  BOOST_TEST(page.text.find("topup console") != std::string::npos);
  for (const auto* target : {"/console/api/overview", "/console/api/providers",
                             "/console/api/cluster", "/console/api/orders?q=x",
                             "/console/api/orders/x"}) {
    check_unauthenticated(console(target, ""));
    check_unauthenticated(console(target, "wrong-token"));
    check_unauthenticated(console(target, admin_token + "x"));
    BOOST_TEST(console(target).status != 401u, target);
  }
  check_unauthenticated(console("/console/api/orders/x/cancel", "", http::verb::post));
  // The merchant API is untouched beside it.
  BOOST_TEST(http_client{api_port}.call(http::verb::get, "/v1/health").status == 200u);
}

BOOST_AUTO_TEST_CASE(without_an_admin_token_there_is_no_console) {
  cfg["http_api"].erase("admin_token");
  start();
  BOOST_TEST(console("/", "").status == 404u);
  BOOST_TEST(console("/console/api/overview").status == 404u);
}

BOOST_AUTO_TEST_CASE(the_answers_carry_real_values_that_move_with_the_orders) {
  start();
  auto providers = console_json("/console/api/providers")["providers"];
  BOOST_REQUIRE_EQUAL(providers.size(), workload_providers.size());
  for (size_t i = 0; i < workload_providers.size(); ++i) {
    BOOST_TEST(providers[i]["name"] == workload_providers[i]);
    BOOST_TEST(providers[i]["rate_limit"].get<double>() == 2000.0);
    BOOST_TEST(providers[i]["breaker"] == "closed");
    BOOST_TEST(providers[i]["succeeded"] == 0);
    BOOST_TEST(providers[i]["tokens"].get<uint64_t>() > 0u);
  }
  BOOST_TEST(providers[0]["failover"] == json::array({"p-agg"}));
  auto cluster = console_json("/console/api/cluster");
  BOOST_TEST(cluster["clustered"] == false);
  BOOST_REQUIRE_EQUAL(cluster["members"].size(), 1u);
  BOOST_TEST(cluster["members"][0]["node"] == "test-node");
  BOOST_TEST(cluster["members"][0]["providers"].size() == 4u);

  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i)
    ids.push_back(submit("load-" + std::to_string(i), "1380013800" + std::to_string(i % 10))["id"]);
  auto overview = console_until("/console/api/overview", [](const json& o) {
    uint64_t accepted = 0, finished = 0;
    for (const auto& point : o["chart"]["points"]) {
      accepted += point["accepted"].get<uint64_t>();
      finished += point["finished"].get<uint64_t>();
    }
    return accepted == 12 && finished == 12 && o["orders"].value("succeeded", 0) == 12;
  });
  uint64_t charted = 0;
  for (const auto& point : overview["chart"]["points"])
    charted += point["accepted"].get<uint64_t>();
  BOOST_TEST(charted == 12u, overview.dump());
  BOOST_TEST(overview["chart"]["points"].size() == 90u);
  BOOST_TEST(overview["orders"]["succeeded"] == 12, overview.dump());
  BOOST_TEST(overview["within_deadline_share"].get<double>() == 1.0);
  BOOST_TEST(overview["oldest_pending"].is_null());
  BOOST_TEST(overview["intake"]["accepted"] == 12);
  BOOST_TEST(overview["node"] == "test-node");

  providers = console_until("/console/api/providers", [](const json& p) {
    uint64_t succeeded = 0;
    for (const auto& row : p["providers"])
      succeeded += row["succeeded"].get<uint64_t>();
    return succeeded == 12;
  })["providers"];
  uint64_t succeeded = 0;
  for (const auto& row : providers) {
    succeeded += row["succeeded"].get<uint64_t>();
    if (row["succeeded"].get<uint64_t>() > 0)
      BOOST_TEST(row["shares"]["success"].get<double>() == 1.0);
  }
  BOOST_TEST(succeeded == 12u);
}

BOOST_AUTO_TEST_CASE(orders_are_found_by_id_reference_and_phone_with_their_story) {
  start();
  auto mine = submit("find-me-1", "13912345678");
  submit("other-2", "13800000002");
  auto id = mine["id"].get<std::string>();

  auto by_ref = console_json("/console/api/orders?q=find-me-1")["orders"];
  BOOST_REQUIRE_EQUAL(by_ref.size(), 1u);
  BOOST_TEST(by_ref[0]["id"] == id);
  BOOST_TEST(by_ref[0]["phone"] == "139****5678");
  auto by_id = console_json("/console/api/orders?q=" + id)["orders"];
  BOOST_REQUIRE_EQUAL(by_id.size(), 1u);
  BOOST_TEST(by_id[0]["client_ref"] == "find-me-1");
  auto by_phone = console_json("/console/api/orders?q=13912345678")["orders"];
  BOOST_REQUIRE_EQUAL(by_phone.size(), 1u);
  BOOST_TEST(by_phone[0]["id"] == id);
  BOOST_TEST(console_json("/console/api/orders?q=nobody")["orders"].empty());
  BOOST_TEST(console_json("/console/api/orders")["orders"].size() == 2u);
  BOOST_TEST(console_json("/console/api/orders?status=failed")["orders"].empty());
  BOOST_TEST(console_json("/console/api/orders?q=find-me-1&until_ms=1")["orders"].empty());

  auto story = console_until("/console/api/orders/" + id,
                             [](const json& s) { return s["order"]["status"] == "succeeded"; });
  BOOST_TEST(story["order"]["id"] == id);
  BOOST_TEST(story["order"]["phone"] == "139****5678");
  BOOST_TEST(story.dump().find("13912345678") == std::string::npos);
  auto& history = story["history"];
  BOOST_REQUIRE_GE(history.size(), 3u);
  BOOST_TEST(history[0]["event"] == "accept");
  BOOST_TEST(history[1]["event"] == "dispatch");
  BOOST_TEST(history[1]["provider"] == "p-cmcc");
  BOOST_TEST(!history[1]["request_id"].get<std::string>().empty());
  BOOST_TEST(history.back()["event"] == "succeed");
  BOOST_TEST(history.back()["via"] == "call");
  BOOST_TEST(history.back()["latency_us"].get<int64_t>() >= 0);
  BOOST_TEST(console("/console/api/orders/no-such-order").status == 404u);
  // Only an unknown outcome is queried again.
  auto requery = console("/console/api/orders/" + id + "/requery", admin_token, http::verb::post);
  BOOST_TEST(requery.status == 409u, requery.text);
}

BOOST_AUTO_TEST_CASE(a_waiting_order_is_cancelled_from_the_console_and_the_action_logged) {
  hold_cmcc_orders();
  start();
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i)
    ids.push_back(submit("wait-" + std::to_string(i), "13811112222")["id"]);
  auto overview = console_until("/console/api/overview",
                                [](const json& o) { return !o["oldest_pending"].is_null(); });
  BOOST_TEST(overview["oldest_pending"]["age_ms"].get<int64_t>() >= 0);
  auto oldest = overview["oldest_pending"]["id"].get<std::string>();
  BOOST_TEST((std::find(ids.begin(), ids.end(), oldest) != ids.end()), oldest);

  std::string cancelled;
  for (const auto& id : ids) {
    auto story = console_json("/console/api/orders/" + id);
    if (story["order"]["status"] != "accepted")
      continue;
    auto reply = console("/console/api/orders/" + id + "/cancel", admin_token, http::verb::post);
    BOOST_TEST_REQUIRE(reply.status == 200u, reply.text);
    BOOST_TEST(reply.body["order"]["status"] == "failed");
    BOOST_TEST(reply.body["order"]["phone"] == "138****2222");
    cancelled = id;
    break;
  }
  BOOST_TEST_REQUIRE(!cancelled.empty());
  BOOST_TEST(console_json("/console/api/orders/" + cancelled)["order"]["status"] == "failed");
  BOOST_TEST(console_json("/console/api/orders?status=failed&q=13811112222")["orders"].size() == 1u);
  // Cancelling it again is refused: it is final.
  BOOST_TEST(console("/console/api/orders/" + cancelled + "/cancel", admin_token, http::verb::post)
               .status == 409u);

  auto deadline = steady::now() + 10s;
  while (log_text().find("console: admin@127.0.0.1") == std::string::npos && steady::now() < deadline)
    std::this_thread::sleep_for(50ms);
  auto log = log_text();
  BOOST_TEST(log.find("cancels order=" + cancelled + " (138****2222") != std::string::npos, log);
  BOOST_TEST(log.find("cancelled order=" + cancelled) != std::string::npos, log);
  BOOST_TEST(log.find("13811112222") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_unknown_outcome_is_queried_at_once_from_the_console) {
  // p-cmcc loses every call's answer (the recharge happened) and would query it only after
  // 30 s; the console's re-query asks it now.
  provider_entry(cfg, "p-cmcc")["adapter"]["outcomes"] = {{"success", 0.0}, {"unknown", 1.0}};
  provider_entry(cfg, "p-cmcc")["adapter"]["unknown_success_probability"] = 1.0;
  cfg["deadline"] = {{"limit_ms", 60000}, {"resend_at_ms", {50000, 55000}}, {"query_interval_ms", 30000}};
  start();
  auto id = submit("lost-1", "13822223333")["id"].get<std::string>();
  auto story = console_until("/console/api/orders/" + id,
                             [](const json& s) { return s["order"]["status"] == "unknown"; });
  BOOST_TEST_REQUIRE(story["order"]["status"] == "unknown", story.dump());
  auto reply = console("/console/api/orders/" + id + "/requery", admin_token, http::verb::post);
  BOOST_TEST_REQUIRE(reply.status == 200u, reply.text);
  BOOST_TEST(reply.body["order"]["status"] == "succeeded", reply.text);
  auto history = console_json("/console/api/orders/" + id)["history"];
  BOOST_TEST(history.back()["event"] == "succeed");
  BOOST_TEST(history.back()["via"] == "query");
  auto log = log_text();
  BOOST_TEST(log.find("re-queries order=" + id + " (138****3333) at provider p-cmcc") != std::string::npos, log);
  BOOST_TEST(log.find("13822223333") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_orders_page_shows_its_result_callbacks) {
  // The merchant refuses each notification's first call, then acknowledges it.
  callback_receiver merchant{refuse_first_then_ack()};
  auto url = "http://127.0.0.1:" + std::to_string(merchant.port()) + "/topup/result";
  single_merchant(shop, url);
  cfg["callbacks"] = {{"retry_after_s", {0}}, {"repeat_every_s", 1}, {"poll_interval_ms", 50}};
  start();
  auto id = submit("told-1", "13912345678")["id"].get<std::string>();
  auto story = console_until("/console/api/orders/" + id, [](const json& s) {
    return !s["deliveries"].empty() && !s["deliveries"].back()["delivered_at_ms"].is_null();
  });
  BOOST_TEST_REQUIRE(story["order"]["status"] == "succeeded", story.dump());
  BOOST_REQUIRE_EQUAL(story["deliveries"].size(), 1u);
  auto delivery = story["deliveries"][0];
  BOOST_TEST(!delivery["delivery_id"].get<std::string>().empty());
  BOOST_TEST(delivery["url"] == url);
  BOOST_TEST(delivery["state"] == "delivered");
  BOOST_TEST(delivery["attempts"] == 2);
  BOOST_TEST(delivery["last_http_status"] == 200);
  BOOST_TEST(delivery["delivered_at_ms"].get<int64_t>() >= story["order"]["accepted_at_ms"].get<int64_t>());
  // The phone number shows masked only, in the callbacks too.
  BOOST_TEST(story.dump().find("13912345678") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
