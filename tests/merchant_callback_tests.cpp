#include <boost/test/unit_test.hpp>

#include "domain/merchant_callback.hpp"

#include <nlohmann/json.hpp>

#include <string>

using namespace topup;
using namespace std::chrono_literals;

namespace {

constexpr int64_t hour_ms = 3600 * 1000;

callback_schedule without_jitter() {
  callback_schedule schedule;
  schedule.jitter = 0;
  return schedule;
}

order final_order() {
  order o;
  o.id = "demo-1-42";
  o.client_ref = "web-1001";
  o.phone = "13800138000";
  o.amount_fen = 1000;
  o.merchant = "shop";
  o.status = order_status::failed;
  o.last_error = "deadline reached";
  o.accepted_at_ms = 1000;
  o.deadline_ms = 181000;
  o.updated_at_ms = 5000;
  return o;
}

merchant_directory shops() {
  merchant shop{"shop", "s3cret", "http://127.0.0.1:8490/cb", {"http://127.0.0.1:8490/"}};
  merchant silent{"silent", "", "", {}};
  return merchant_directory{{shop, silent}, "shop"};
}

} // namespace

BOOST_AUTO_TEST_SUITE(callback_schedule_rules)

BOOST_AUTO_TEST_CASE(notifications_of_removed_or_silent_merchants_are_held_and_said_so) {
  merchant_directory merchants{{{"shop-a", "secret-a", "http://a.example/cb", {}},
                                {"shop-quiet", "secret-q", "", {}},
                                {"shop-own", "secret-o", "", {"http://o.example/cb/"}}},
                               "shop-a"};
  auto held = undeliverable(merchants, {{"shop-a", 3},
                                        {"shop-gone", 2},
                                        {"shop-quiet", 1},
                                        {"shop-own", 4},
                                        {"shop-done", 0}});
  BOOST_REQUIRE_EQUAL(held.size(), 2u);
  BOOST_TEST(held[0].merchant == "shop-gone");
  BOOST_TEST(held[0].pending == 2u);
  BOOST_TEST(!held[0].listed);
  BOOST_TEST(held[1].merchant == "shop-quiet");
  BOOST_TEST(held[1].listed);
  BOOST_TEST(describe(held[0]).find("2 pending result callback(s) of merchant shop-gone, which "
                                    "is not in the configuration")
             == 0u);
  BOOST_TEST(describe(held[1]).find("no callback_url") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(failures_wait_the_listed_delays_then_repeat_until_given_up) {
  auto schedule = without_jitter();
  int64_t due = 0, now = 0;
  std::vector<int64_t> attempts{now};
  for (uint32_t failed = 1;; ++failed) {
    auto next = next_callback_attempt_ms(schedule, failed, due, now, 0.5);
    if (!next)
      break;
    now = *next;
    attempts.push_back(now);
    BOOST_REQUIRE(failed < 100);
  }
  // 0, 15 s, 1 min 15 s, 6 min 15 s, 36 min 15 s, 2 h 36 min 15 s, then every 6 h: the last
  // attempt before 24 h is 20 h 36 min 15 s.
  std::vector<int64_t> expected{0, 15000, 75000, 375000, 2175000, 9375000};
  for (int64_t at = 9375000 + 6 * hour_ms; at <= 24 * hour_ms; at += 6 * hour_ms)
    expected.push_back(at);
  BOOST_TEST(attempts == expected, boost::test_tools::per_element());
  BOOST_TEST(attempts.back() <= 24 * hour_ms);
}

BOOST_AUTO_TEST_CASE(jitter_stays_within_its_fraction_and_moves_the_time) {
  callback_schedule schedule;  // 10 %
  auto low = next_callback_attempt_ms(schedule, 1, 0, 0, 0.0);
  auto mid = next_callback_attempt_ms(schedule, 1, 0, 0, 0.5);
  auto high = next_callback_attempt_ms(schedule, 1, 0, 0, 0.999999);
  BOOST_TEST(*low == 13500);
  BOOST_TEST(*mid == 15000);
  BOOST_TEST(*high >= 16499);
  BOOST_TEST(*high <= 16500);
}

BOOST_AUTO_TEST_CASE(an_attempt_past_the_give_up_time_abandons) {
  auto schedule = without_jitter();
  schedule.give_up_after = 1min;
  BOOST_TEST(next_callback_attempt_ms(schedule, 1, 0, 50000, 0.5).has_value() == false);
  BOOST_TEST(*next_callback_attempt_ms(schedule, 1, 0, 45000, 0.5) == 60000);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(callback_content)

BOOST_AUTO_TEST_CASE(final_states_and_a_new_unknown_outcome_are_notified) {
  BOOST_TEST(notifies_merchant(order_status::dispatched, order_status::succeeded));
  BOOST_TEST(notifies_merchant(order_status::accepted, order_status::failed));
  BOOST_TEST(notifies_merchant(order_status::unknown, order_status::succeeded));
  BOOST_TEST(notifies_merchant(order_status::dispatched, order_status::unknown));
  BOOST_TEST(!notifies_merchant(order_status::unknown, order_status::unknown));
  BOOST_TEST(!notifies_merchant(order_status::accepted, order_status::dispatched));
  BOOST_TEST(!notifies_merchant(order_status::dispatched, order_status::accepted));
}

BOOST_AUTO_TEST_CASE(the_delivery_id_names_the_order_and_the_status) {
  BOOST_TEST(callback_delivery_id("demo-1-42", order_status::unknown) == "demo-1-42:unknown");
  BOOST_TEST(callback_delivery_id("demo-1-42", order_status::succeeded)
             != callback_delivery_id("demo-1-42", order_status::unknown));
}

BOOST_AUTO_TEST_CASE(the_destination_is_the_orders_url_else_its_merchants) {
  auto merchants = shops();
  auto o = final_order();
  BOOST_TEST(callback_destination(merchants, o) == "http://127.0.0.1:8490/cb");
  o.notify_url = "http://127.0.0.1:8490/mine?x=1";
  BOOST_TEST(callback_destination(merchants, o) == "http://127.0.0.1:8490/mine?x=1");
  o.notify_url.clear();
  o.merchant = "silent";
  BOOST_TEST(callback_destination(merchants, o).empty());
  o.merchant = "gone";
  BOOST_TEST(callback_destination(merchants, o).empty());
  BOOST_TEST(any_callback_destinations(merchants));
  BOOST_TEST(!any_callback_destinations(merchant_directory{}));
}

BOOST_AUTO_TEST_CASE(the_body_carries_the_result_and_a_masked_phone) {
  auto body = nlohmann::json::parse(callback_body(final_order(), "txn-9"));
  BOOST_TEST(body.at("delivery_id") == "demo-1-42:failed");
  BOOST_TEST(body.at("order_id") == "demo-1-42");
  BOOST_TEST(body.at("merchant") == "shop");
  BOOST_TEST(body.at("client_ref") == "web-1001");
  BOOST_TEST(body.at("status") == "failed");
  BOOST_TEST(body.at("amount_fen") == 1000);
  BOOST_TEST(body.at("phone") == "138****8000");
  BOOST_TEST(body.at("provider_txn") == "txn-9");
  BOOST_TEST(body.at("error") == "deadline reached");
  BOOST_TEST(body.at("accepted_at_ms") == 1000);
  BOOST_TEST(body.at("deadline_ms") == 181000);
  BOOST_TEST(body.at("updated_at_ms") == 5000);
  BOOST_TEST(callback_body(final_order(), "").find("13800138000") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_success_carries_no_error) {
  auto o = final_order();
  o.status = order_status::succeeded;
  o.last_error = "an earlier attempt's error";
  BOOST_TEST(nlohmann::json::parse(callback_body(o, "t")).at("error") == "");
}

BOOST_AUTO_TEST_CASE(acknowledgement_needs_a_2xx_and_the_agreed_body) {
  BOOST_TEST(callback_acknowledged(200, "success", "success"));
  BOOST_TEST(callback_acknowledged(200, " SUCCESS\r\n", "success"));
  BOOST_TEST(callback_acknowledged(204, "", ""));
  BOOST_TEST(callback_acknowledged(200, "ok", ""));
  BOOST_TEST(!callback_acknowledged(200, "ok", "success"));
  BOOST_TEST(!callback_acknowledged(200, "successful", "success"));
  BOOST_TEST(!callback_acknowledged(500, "success", "success"));
  BOOST_TEST(!callback_acknowledged(302, "", ""));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(callback_attempts)

BOOST_AUTO_TEST_CASE(an_acknowledged_attempt_delivers) {
  callback_delivery delivery{"o-1:succeeded", "o-1", "shop", "http://x/", "{}", 0, 0, 0};
  auto outcome =
    callback_attempt_outcome(delivery, without_jitter(), "success", 100, 200, "success", "", 0.5);
  BOOST_TEST((outcome.state == callback_state::delivered));
  BOOST_TEST(outcome.error.empty());
  BOOST_TEST(outcome.http_status == 200u);
}

BOOST_AUTO_TEST_CASE(a_refused_attempt_waits_and_the_last_abandons) {
  callback_delivery delivery{"o-1:succeeded", "o-1", "shop", "http://x/", "{}", 0, 0, 0};
  auto outcome =
    callback_attempt_outcome(delivery, without_jitter(), "success", 100, 500, "oops", "", 0.5);
  BOOST_TEST((outcome.state == callback_state::pending));
  BOOST_TEST(outcome.next_attempt_at_ms == 15100);
  BOOST_TEST(outcome.error == "answered 500");
  auto unanswered = callback_attempt_outcome(delivery, without_jitter(), "success", 100, 0, "",
                                             "connection refused", 0.5);
  BOOST_TEST(unanswered.error == "connection refused");
  auto no_ack =
    callback_attempt_outcome(delivery, without_jitter(), "success", 100, 200, "ok", "", 0.5);
  BOOST_TEST((no_ack.state == callback_state::pending));
  delivery.attempts = 20;
  auto late = callback_attempt_outcome(delivery, without_jitter(), "success", 23 * hour_ms, 500,
                                       "", "", 0.5);
  BOOST_TEST((late.state == callback_state::abandoned));
}

BOOST_AUTO_TEST_SUITE_END()
