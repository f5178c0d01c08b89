#include <boost/test/unit_test.hpp>

// A node's log lines (domain/log_line.hpp): phone numbers masked in any message, the order a
// line is about, and the JSON form of a line.

#include "domain/log_line.hpp"

#include <nlohmann/json.hpp>

using namespace topup;
using nlohmann::json;

BOOST_AUTO_TEST_SUITE(log_lines)

BOOST_AUTO_TEST_CASE(every_mobile_number_is_masked_and_other_numbers_stay) {
  BOOST_TEST(log_line::mask_phone_numbers("call for 13800138000 failed")
             == "call for 138****8000 failed");
  BOOST_TEST(log_line::mask_phone_numbers("13912345678,13800138000")
             == "139****5678,138****8000");
  // A timestamp in ms (13 digits), a 10-digit count, a number not starting with 1 stay.
  BOOST_TEST(log_line::mask_phone_numbers("at 1733388800123 after 1234567890 of 23800138000")
             == "at 1733388800123 after 1234567890 of 23800138000");
  BOOST_TEST(log_line::mask_phone_numbers("already 138****8000") == "already 138****8000");
  BOOST_TEST(log_line::mask_phone_numbers("") == "");
}

BOOST_AUTO_TEST_CASE(a_line_names_its_order_as_order_equals_id) {
  BOOST_TEST(*log_line::order_id_of("router has no provider for carrier x order=n1-lx3k-1f")
             == "n1-lx3k-1f");
  BOOST_TEST(*log_line::order_id_of("order=a-1, then more") == "a-1");
  BOOST_TEST(*log_line::order_id_of("callback (order=a-2) failed") == "a-2");
  BOOST_TEST(*log_line::order_id_of("refused order=a-3; retry") == "a-3");
  BOOST_TEST(!log_line::order_id_of("store commit of 5 rows failed"));
  BOOST_TEST(!log_line::order_id_of("reorder=x"));
  BOOST_TEST(!log_line::order_id_of("order= nothing"));
}

BOOST_AUTO_TEST_CASE(the_component_is_the_first_word) {
  BOOST_TEST(log_line::component_of("cluster: n1 joined") == "cluster");
  BOOST_TEST(log_line::component_of("recharge p-cmcc breaker opened") == "recharge");
  BOOST_TEST(log_line::component_of("callback_sender cannot record") == "callback_sender");
  BOOST_TEST(log_line::component_of("Redis ingress q consumes").empty());
  BOOST_TEST(log_line::component_of("").empty());
}

BOOST_AUTO_TEST_CASE(a_json_line_carries_time_level_logger_component_message_and_order) {
  auto line = log_line::json_of({1733388800123, "warning", "topup-node",
                                 "recharge p-a: order=o-9 reached its deadline, phone 13800138000"});
  BOOST_TEST(line.find('\n') == std::string::npos);
  auto parsed = json::parse(line);
  BOOST_TEST(parsed["time"] == "2024-12-05T08:53:20.123Z");
  BOOST_TEST(parsed["level"] == "warning");
  BOOST_TEST(parsed["logger"] == "topup-node");
  BOOST_TEST(parsed["component"] == "recharge");
  BOOST_TEST(parsed["order_id"] == "o-9");
  BOOST_TEST(parsed["message"] == "recharge p-a: order=o-9 reached its deadline, phone 138****8000");
  auto plain = json::parse(log_line::json_of({0, "info", "topup-node", "Node \xff ready"}));
  BOOST_TEST(!plain.contains("order_id"));
  BOOST_TEST(!plain.contains("component"));
  BOOST_TEST(plain["message"] == "Node \xef\xbf\xbd ready");
}

BOOST_AUTO_TEST_SUITE_END()
