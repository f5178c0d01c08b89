#define BOOST_TEST_MODULE http_wire_tests
#include <boost/test/unit_test.hpp>

#include "providers/http_wire.hpp"

#include <nlohmann/json.hpp>

using namespace topup;
using namespace topup::http_wire;

BOOST_AUTO_TEST_CASE(signature_matches_openssl_command_line) {
  // printf '1700000000000\n{"a":1}' | openssl dgst -sha256 -hmac s3cret
  BOOST_TEST(sign("s3cret", "1700000000000", R"({"a":1})")
             == "4c2bc2cf2e4bba123de66c2fc1e8c0a5ce2c1464ddedcd90ed4d880ad0288d86");
}

BOOST_AUTO_TEST_CASE(verify_refuses_another_secret_body_timestamp_or_truncation) {
  auto good = sign("s3cret", "1700000000000", "{}");
  BOOST_TEST(verify("s3cret", "1700000000000", "{}", good));
  BOOST_TEST(!verify("other", "1700000000000", "{}", good));
  BOOST_TEST(!verify("s3cret", "1700000000001", "{}", good));
  BOOST_TEST(!verify("s3cret", "1700000000000", "{ }", good));
  BOOST_TEST(!verify("s3cret", "1700000000000", "{}", good.substr(0, 63)));
  BOOST_TEST(!verify("s3cret", "1700000000000", "{}", ""));
}

BOOST_AUTO_TEST_CASE(timestamp_freshness_is_bounded_both_ways) {
  int64_t now = 1'700'000'000'000;
  auto skew = signature_max_skew.count();
  BOOST_TEST(timestamp_fresh(std::to_string(now), now));
  BOOST_TEST(timestamp_fresh(std::to_string(now - skew), now));
  BOOST_TEST(timestamp_fresh(std::to_string(now + skew), now));
  BOOST_TEST(!timestamp_fresh(std::to_string(now - skew - 1), now));
  BOOST_TEST(!timestamp_fresh(std::to_string(now + skew + 1), now));
  BOOST_TEST(!timestamp_fresh("17e11", now));
  BOOST_TEST(!timestamp_fresh("", now));
}

BOOST_AUTO_TEST_CASE(requests_round_trip) {
  recharge_call call{"o-1/p-cmcc", "o-1", "13800138000", 5000, {"node-2", 7, {}}};
  auto parsed = parse_recharge_request(recharge_request_body(call));
  BOOST_TEST(parsed.request_id == call.request_id);
  BOOST_TEST(parsed.order_id == call.order_id);
  BOOST_TEST(parsed.phone == call.phone);
  BOOST_TEST(parsed.amount_fen == call.amount_fen);
  BOOST_TEST(parsed.origin.node == "node-2");
  BOOST_TEST(parsed.origin.epoch == 7);
  auto query = parse_query_request(query_request_body({"o-1/p-cmcc", {"node-3", 9, {}}}));
  BOOST_TEST(query.request_id == "o-1/p-cmcc");
  BOOST_TEST(query.origin.node == "node-3");
  BOOST_TEST(query.origin.epoch == 9);
}

// The caller's node and epoch travel with every call and query; a caller that sends
// neither (an older client) is a single node, and a non-integer epoch is refused.
BOOST_AUTO_TEST_CASE(the_caller_is_optional_and_its_epoch_an_integer) {
  auto call = parse_recharge_request(
    R"({"request_id":"r","order_id":"o","phone":"13800138000","amount_fen":5000})");
  BOOST_TEST(call.origin.node.empty());
  BOOST_TEST(call.origin.epoch == 0);
  auto query = parse_query_request(R"({"request_id":"r"})");
  BOOST_TEST(query.origin.node.empty());
  BOOST_TEST(query.origin.epoch == 0);
  try {
    parse_query_request(R"({"request_id":"r","node":"node-1","epoch":"7"})");
    BOOST_FAIL("a string epoch was accepted");
  } catch (const wire_error& error) {
    BOOST_TEST(std::string{error.what()}.find("epoch") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(every_reply_round_trips) {
  for (auto outcome : {recharge_outcome::success, recharge_outcome::transient_failure,
                       recharge_outcome::permanent_failure, recharge_outcome::wrong_carrier}) {
    recharge_reply reply{outcome, outcome == recharge_outcome::success ? "tx-9" : "",
                         outcome == recharge_outcome::success ? "" : "why"};
    auto parsed = parse_recharge_response(recharge_response_body(reply));
    BOOST_TEST(static_cast<int>(parsed.outcome) == static_cast<int>(outcome));
    BOOST_TEST(parsed.provider_txn == reply.provider_txn);
    BOOST_TEST(parsed.detail == reply.detail);
  }
  auto recharged = parse_query_response(query_response_body({query_outcome::recharged, "tx-9", ""}));
  BOOST_TEST(static_cast<int>(recharged.outcome) == static_cast<int>(query_outcome::recharged));
  BOOST_TEST(recharged.provider_txn == "tx-9");
  auto absent = parse_query_response(query_response_body({query_outcome::not_recharged, "", ""}));
  BOOST_TEST(static_cast<int>(absent.outcome) == static_cast<int>(query_outcome::not_recharged));
  BOOST_CHECK_THROW(query_response_body({query_outcome::query_failed, "", "down"}),
                    std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(the_wrong_carrier_code_decides_over_retryable) {
  auto wrong = parse_recharge_response(
    R"({"result":"failed","retryable":false,"code":"wrong_carrier","detail":"ported"})");
  BOOST_TEST(static_cast<int>(wrong.outcome) == static_cast<int>(recharge_outcome::wrong_carrier));
  BOOST_TEST(wrong.detail == "ported");
  // A provider that calls it retryable, or sends no retryable at all, still means it.
  auto retryable = parse_recharge_response(
    R"({"result":"failed","retryable":true,"code":"wrong_carrier"})");
  BOOST_TEST(static_cast<int>(retryable.outcome)
             == static_cast<int>(recharge_outcome::wrong_carrier));
  auto bare = parse_recharge_response(R"({"result":"failed","code":"wrong_carrier"})");
  BOOST_TEST(static_cast<int>(bare.outcome) == static_cast<int>(recharge_outcome::wrong_carrier));
  // Another code is an ordinary failure.
  auto other = parse_recharge_response(
    R"({"result":"failed","retryable":false,"code":"blacklisted"})");
  BOOST_TEST(static_cast<int>(other.outcome)
             == static_cast<int>(recharge_outcome::permanent_failure));
  auto body = nlohmann::json::parse(
    recharge_response_body({recharge_outcome::wrong_carrier, "", "ported"}));
  BOOST_TEST(body.at("code") == "wrong_carrier");
  BOOST_TEST(body.at("retryable") == false);
}

BOOST_AUTO_TEST_CASE(malformed_bodies_are_wire_errors_that_name_the_field) {
  BOOST_CHECK_THROW(parse_recharge_response("<html>502</html>"), wire_error);
  BOOST_CHECK_THROW(parse_recharge_response("[]"), wire_error);
  BOOST_CHECK_THROW(parse_recharge_response(R"({"result":"success"})"), wire_error);
  BOOST_CHECK_THROW(parse_recharge_response(R"({"result":"failed"})"), wire_error);
  BOOST_CHECK_THROW(parse_recharge_response(R"({"result":"maybe"})"), wire_error);
  BOOST_CHECK_THROW(parse_query_response(R"({"result":"recharged"})"), wire_error);
  BOOST_CHECK_THROW(parse_query_response(R"({"result":"perhaps"})"), wire_error);
  try {
    parse_recharge_request(R"({"request_id":"r","order_id":"o","phone":"13800138000",
                               "amount_fen":"5000"})");
    BOOST_FAIL("a string amount was accepted");
  } catch (const wire_error& error) {
    std::string what = error.what();
    BOOST_TEST(what.find("amount_fen") != std::string::npos);
    BOOST_TEST(what.find("13800138000") == std::string::npos);
  }
  // Amounts follow the one rule (domain/amount.hpp): no wrap-around, no fractions.
  for (auto amount : {"18446744073709551615", "9223372036854775808", "-5000", "50.5", "1e3"}) {
    auto body = std::string{R"({"request_id":"r","order_id":"o","phone":"13800138000",)"}
                + R"("amount_fen":)" + amount + "}";
    BOOST_CHECK_THROW(parse_recharge_request(body), wire_error);
  }
}

BOOST_AUTO_TEST_CASE(base_urls) {
  auto full = parse_base_url("http://127.0.0.1:8080/p-cmcc/");
  BOOST_TEST(full.host == "127.0.0.1");
  BOOST_TEST(full.port == "8080");
  BOOST_TEST(full.path_prefix == "/p-cmcc");
  auto bare = parse_base_url("http://provider.example");
  BOOST_TEST(bare.host == "provider.example");
  BOOST_TEST(bare.port == "80");
  BOOST_TEST(bare.path_prefix == "");
  BOOST_TEST(!bare.tls);
  BOOST_TEST(origin_of(bare) == "http://provider.example:80");
  auto secure = parse_base_url("https://provider.example/api");
  BOOST_TEST(secure.tls);
  BOOST_TEST(secure.port == "443");
  BOOST_TEST(secure.path_prefix == "/api");
  BOOST_TEST(origin_of(secure) == "https://provider.example:443");
  BOOST_TEST(origin_of(parse_base_url("https://[::1]:8443")) == "https://[::1]:8443");
  BOOST_CHECK_THROW(parse_base_url("ftp://provider.example"), wire_error);
  BOOST_CHECK_THROW(parse_base_url("https//provider.example"), wire_error);
  BOOST_CHECK_THROW(parse_base_url("http://:8080/x"), wire_error);
  BOOST_CHECK_THROW(parse_base_url("http://host:0"), wire_error);
  BOOST_CHECK_THROW(parse_base_url("http://host:70000"), wire_error);
  BOOST_CHECK_THROW(parse_base_url("http://host:80x"), wire_error);
}
