#define BOOST_TEST_MODULE domain_tests
#include <boost/test/unit_test.hpp>

#include "domain/errors.hpp"
#include "domain/order.hpp"

using namespace topup;

BOOST_AUTO_TEST_CASE(error_names_round_trip) {
  for (int code = 0; code <= static_cast<int>(errc::outcome_unknown); ++code) {
    auto value = static_cast<errc>(code);
    auto name = to_string(value);
    BOOST_TEST(name != "unrecognized_error");
    BOOST_TEST((errc_from_string(name) == value));
  }
  BOOST_TEST(!errc_from_string("no_such_error"));
}

BOOST_AUTO_TEST_CASE(failure_describes_code_and_reason) {
  failure f{errc::unsupported_amount, "1234 fen is not an allowed denomination"};
  BOOST_TEST(f.describe() == "unsupported_amount: 1234 fen is not an allowed denomination");
  failure bare{errc::overloaded, ""};
  BOOST_TEST(bare.describe() == "overloaded");
}

BOOST_AUTO_TEST_CASE(status_names_round_trip) {
  for (auto status : all_order_statuses)
    BOOST_TEST((order_status_from_string(to_string(status)) == status));
  BOOST_TEST(!order_status_from_string("Accepted"));
}

BOOST_AUTO_TEST_CASE(only_succeeded_and_failed_are_final) {
  BOOST_TEST(is_final(order_status::succeeded));
  BOOST_TEST(is_final(order_status::failed));
  BOOST_TEST(!is_final(order_status::accepted));
  BOOST_TEST(!is_final(order_status::dispatched));
  BOOST_TEST(!is_final(order_status::unknown));
}

BOOST_AUTO_TEST_CASE(phone_masking_keeps_prefix_and_last_four) {
  BOOST_TEST(mask_phone("13800138000") == "138****8000");
  BOOST_TEST(mask_phone("12345") == "*****");
  BOOST_TEST(mask_phone("") == "");
}

BOOST_AUTO_TEST_CASE(failures_for_lack_of_time_are_told_from_others) {
  BOOST_TEST(failed_at_deadline("deadline reached while waiting for the provider"));
  BOOST_TEST(failed_at_deadline("deadline reached before a provider took the order"));
  BOOST_TEST(failed_at_deadline("no time left to retry: transient failure"));
  BOOST_TEST(!failed_at_deadline("number not rechargeable"));
  BOOST_TEST(!failed_at_deadline("cancelled by the client"));
  BOOST_TEST(!failed_at_deadline(""));
  BOOST_TEST(!failed_at_deadline("deadline"));
}

BOOST_AUTO_TEST_CASE(same_content_compares_reference_phone_and_amount) {
  order o;
  o.client_ref = "r1";
  o.phone = "13800138000";
  o.amount_fen = 1000;
  BOOST_TEST(o.same_content({"r1", "13800138000", 1000}));
  BOOST_TEST(!o.same_content({"r1", "13800138000", 2000}));
  BOOST_TEST(!o.same_content({"r1", "13800138001", 1000}));
  BOOST_TEST(!o.same_content({"r2", "13800138000", 1000}));
}
