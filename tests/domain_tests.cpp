#define BOOST_TEST_MODULE domain_tests
#include <boost/test/unit_test.hpp>

#include "domain/errors.hpp"
#include "domain/order.hpp"
#include "domain/text.hpp"

#include <string>

using namespace topup;

BOOST_AUTO_TEST_CASE(error_names_round_trip) {
  for (int code = 0; code <= static_cast<int>(errc::wrong_carrier); ++code) {
    auto value = static_cast<errc>(code);
    auto name = to_string(value);
    BOOST_TEST(name != "unrecognized_error");
    BOOST_TEST((errc_from_string(name) == value));
  }
  BOOST_TEST(!errc_from_string("no_such_error"));
  BOOST_TEST(to_string(static_cast<errc>(24)) == "unrecognized_error");
}

BOOST_AUTO_TEST_CASE(error_values_never_change_meaning) {
  // They travel over the network: a new code is added at the end, never renumbered.
  BOOST_TEST(static_cast<int>(errc::outcome_unknown) == 14);
  BOOST_TEST(static_cast<int>(errc::invalid_text) == 15);
  BOOST_TEST(static_cast<int>(errc::invalid_amount) == 16);
  BOOST_TEST(static_cast<int>(errc::malformed_message) == 17);
  BOOST_TEST(static_cast<int>(errc::unsupported_field) == 18);
  BOOST_TEST(static_cast<int>(errc::unknown_merchant) == 19);
  BOOST_TEST(static_cast<int>(errc::invalid_notify_url) == 20);
  BOOST_TEST(static_cast<int>(errc::unauthenticated) == 21);
  BOOST_TEST(static_cast<int>(errc::request_too_large) == 22);
  BOOST_TEST(static_cast<int>(errc::wrong_carrier) == 23);
  BOOST_TEST(to_string(errc::invalid_text) == "invalid_text");
  BOOST_TEST(to_string(errc::invalid_amount) == "invalid_amount");
}

BOOST_AUTO_TEST_CASE(only_not_now_refusals_are_retryable) {
  for (auto code : {errc::overloaded, errc::unavailable, errc::shutting_down})
    BOOST_TEST(is_retryable(code), to_string(code));
  for (auto code : {errc::none, errc::invalid_phone, errc::unknown_carrier,
                    errc::unsupported_amount, errc::field_too_long, errc::missing_field,
                    errc::duplicate_reference, errc::not_found, errc::illegal_transition,
                    errc::invalid_argument, errc::stale_owner, errc::outcome_unknown,
                    errc::invalid_text, errc::invalid_amount, errc::malformed_message,
                    errc::unsupported_field, errc::unknown_merchant, errc::invalid_notify_url,
                    errc::unauthenticated, errc::request_too_large, errc::wrong_carrier})
    BOOST_TEST(!is_retryable(code), to_string(code));
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
  BOOST_TEST(mask_phone("12345678") == "123*5678");
  BOOST_TEST(mask_phone("1234567") == "*******");
}

BOOST_AUTO_TEST_CASE(phone_masking_never_cuts_a_character) {
  // １３８００１３８０００ in full-width digits: 11 characters of 3 bytes each.
  std::string full_width;
  for (char digit : std::string{"13800138000"})
    full_width += std::string{"\xEF\xBC"} + static_cast<char>(0x90 + (digit - '0'));
  auto masked = mask_phone(full_width);
  BOOST_TEST(masked == "\xEF\xBC\x91\xEF\xBC\x93\xEF\xBC\x98****"
                       "\xEF\xBC\x98\xEF\xBC\x90\xEF\xBC\x90\xEF\xBC\x90");
  BOOST_TEST(!text::first_invalid_byte(masked).has_value());
  // Seven characters or fewer are masked whole, one '*' per character.
  BOOST_TEST(mask_phone("\xE4\xB8\xAD\xE6\x96\x87") == "**");
  // Bytes that are not text, and control characters, never pass through.
  auto garbage = mask_phone("\xFF\xFE\x1B" "45678\x80");
  BOOST_TEST(!text::first_invalid_byte(garbage).has_value(), garbage);
  BOOST_TEST(garbage.find('\x1B') == std::string::npos);
  BOOST_TEST(garbage == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "**" "678\xEF\xBF\xBD");
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
  // A carrier named again must be the stored one; naming none leaves it to the first request.
  o.carrier = "ctcc";
  BOOST_TEST(o.same_content({"r1", "13800138000", 1000, "", "", "ctcc"}));
  BOOST_TEST(!o.same_content({"r1", "13800138000", 1000, "", "", "cmcc"}));
  BOOST_TEST(o.same_content({"r1", "13800138000", 1000, "", "", ""}));
}
