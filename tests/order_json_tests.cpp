// The one reading of an order written as JSON (domain/order_json): topup-cli's JSON lines and
// the messages producers push to Redis and RabbitMQ.

#include "domain/order_json.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using namespace topup;

namespace {

order_request accepted(const std::string& text) {
  auto result = parse_order_json(text);
  if (auto refused = std::get_if<failure>(&result))
    BOOST_FAIL("refused " << text << ": " << refused->describe());
  return std::get<order_request>(result);
}

failure refused(const std::string& text) {
  auto result = parse_order_json(text);
  if (std::holds_alternative<order_request>(result))
    BOOST_FAIL("accepted " << text);
  return std::get<failure>(result);
}

void check_refused(const std::string& text, errc code, const std::string& reason_start) {
  BOOST_TEST_CONTEXT(text) {
    auto f = refused(text);
    BOOST_TEST(to_string(f.code) == to_string(code));
    BOOST_TEST(f.reason.rfind(reason_start, 0) == 0u, f.reason);
    // A reason may end up in a dead letter or a log line: never the phone number.
    BOOST_TEST(f.reason.find("13800138000") == std::string::npos, f.reason);
  }
}

} // namespace

BOOST_AUTO_TEST_SUITE(order_json)

BOOST_AUTO_TEST_CASE(an_order_object_is_read_in_any_key_order) {
  auto o = accepted(R"({"client_ref":"r-1","phone":"13800138000","amount_fen":1000})");
  BOOST_TEST(o.client_ref == "r-1");
  BOOST_TEST(o.phone == "13800138000");
  BOOST_TEST(o.amount_fen == 1000);
  auto spaced = accepted(" {\n \"amount_fen\" : 2000 , \"phone\":\"13000130000\",\t\"client_ref\":\"订单-7\" }\n");
  BOOST_TEST(spaced.client_ref == "订单-7");
  BOOST_TEST(spaced.amount_fen == 2000);
  // Values are taken as written: intake decides whether " r-1" is a reference.
  BOOST_TEST(accepted(R"({"client_ref":" r-1","phone":"1","amount_fen":0})").client_ref == " r-1");
}

BOOST_AUTO_TEST_CASE(text_that_is_not_an_order_object_is_a_malformed_message) {
  check_refused("", errc::malformed_message, "not JSON: ");
  check_refused("order 13800138000 1000", errc::malformed_message, "not JSON: ");
  check_refused(R"({"client_ref":"r-1","phone":"13800138000")", errc::malformed_message,
                "not JSON: ");
  check_refused("[1,2,3]", errc::malformed_message, "expected a JSON object");
  check_refused("\"r-1\"", errc::malformed_message, "expected a JSON object");
  // Not UTF-8 inside a string: JSON text is UTF-8.
  check_refused("{\"client_ref\":\"r-\xFF\",\"phone\":\"13800138000\",\"amount_fen\":1000}",
                errc::malformed_message, "not JSON: ");
  check_refused(R"({"client_ref":"r-1","phone":13800138000,"amount_fen":1000})",
                errc::malformed_message, "\"phone\" must be a string");
  check_refused(R"({"client_ref":7,"phone":"13800138000","amount_fen":1000})",
                errc::malformed_message, "\"client_ref\" must be a string");
  check_refused(R"({"client_ref":"r-1","phone":"13800138000","amount_fen":1000,"amount":1})",
                errc::malformed_message, "unknown key \"amount\"; expected client_ref");
  check_refused(R"({"client_ref":"r-1","client_ref":"r-2","phone":"13800138000","amount_fen":1})",
                errc::malformed_message, "key \"client_ref\" appears twice");
  std::string huge = R"({"client_ref":")" + std::string(max_order_json_bytes, 'x')
                     + R"(","phone":"13800138000","amount_fen":1000})";
  check_refused(huge, errc::malformed_message, "a message of ");
}

BOOST_AUTO_TEST_CASE(merchant_fields_are_refused_outside_the_merchant_api) {
  check_refused(
    R"({"merchant":"shop-1","client_ref":"r-1","phone":"13800138000","amount_fen":1000})",
    errc::unsupported_field, "\"merchant\" is not supported here");
  check_refused(R"({"client_ref":"r-1","phone":"13800138000","amount_fen":1000,)"
                R"("notify_url":"http://shop/cb"})",
                errc::unsupported_field, "\"notify_url\" is not supported here");
}

BOOST_AUTO_TEST_CASE(the_merchant_api_reads_notify_url_but_never_a_merchant) {
  order_json_keys api{true};
  auto parsed = parse_order_json(R"({"client_ref":"r-1","phone":"13800138000","amount_fen":1000,)"
                                 R"("notify_url":"https://shop.example/cb"})",
                                 api);
  BOOST_REQUIRE(std::holds_alternative<order_request>(parsed));
  BOOST_TEST(std::get<order_request>(parsed).notify_url == "https://shop.example/cb");
  auto numeric = parse_order_json(
    R"({"client_ref":"r-1","phone":"13800138000","amount_fen":1000,"notify_url":7})", api);
  BOOST_TEST((std::get<failure>(numeric).code == errc::malformed_message));
  auto named = parse_order_json(
    R"({"merchant":"shop-2","client_ref":"r-1","phone":"13800138000","amount_fen":1000})", api);
  BOOST_TEST((std::get<failure>(named).code == errc::unsupported_field));
}

BOOST_AUTO_TEST_CASE(queue_orders_may_name_their_merchant_and_callback) {
  auto parsed = parse_order_json(R"({"merchant":"shop-2","client_ref":"r-1","phone":"13800138000",)"
                                 R"("amount_fen":1000,"notify_url":"https://shop.example/cb"})",
                                 queue_order_keys);
  BOOST_REQUIRE(std::holds_alternative<order_request>(parsed));
  BOOST_TEST(std::get<order_request>(parsed).merchant == "shop-2");
  BOOST_TEST(std::get<order_request>(parsed).notify_url == "https://shop.example/cb");
  auto numeric = parse_order_json(
    R"({"merchant":2,"client_ref":"r-1","phone":"13800138000","amount_fen":1000})",
    queue_order_keys);
  BOOST_TEST((std::get<failure>(numeric).code == errc::malformed_message));
  auto typo = parse_order_json(
    R"({"merchnt":"shop-2","client_ref":"r-1","phone":"13800138000","amount_fen":1000})",
    queue_order_keys);
  BOOST_TEST(std::get<failure>(typo).reason.find("merchant") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(missing_keys_and_amounts_have_their_own_codes) {
  check_refused(R"({"phone":"13800138000","amount_fen":1000})", errc::missing_field,
                "missing key \"client_ref\"");
  check_refused(R"({"client_ref":"r-1","amount_fen":1000})", errc::missing_field,
                "missing key \"phone\"");
  check_refused(R"({"client_ref":"r-1","phone":"13800138000"})", errc::missing_field,
                "missing key \"amount_fen\"");
  // The one amount parser's rules, named after the key.
  check_refused(R"({"client_ref":"r-1","phone":"13800138000","amount_fen":"1000"})",
                errc::invalid_amount, "\"amount_fen\": must be a JSON number");
  check_refused(R"({"client_ref":"r-1","phone":"13800138000","amount_fen":-5})",
                errc::invalid_amount, "\"amount_fen\": '-5' has a sign");
  check_refused(R"({"client_ref":"r-1","phone":"13800138000","amount_fen":10.5})",
                errc::invalid_amount, "\"amount_fen\": '10.5' is not a whole number");
}

BOOST_AUTO_TEST_CASE(key_names_in_reasons_are_printable) {
  auto f = refused("{\"client_ref\":\"r\",\"phone\":\"1\",\"amount_fen\":1,\"a\\u001b[2J\":1}");
  BOOST_TEST(f.reason.find('\x1b') == std::string::npos, f.reason);
}

BOOST_AUTO_TEST_CASE(every_channel_reads_a_named_carrier_as_a_string) {
  for (auto keys : {order_json_keys{}, order_json_keys{true, false}, queue_order_keys}) {
    auto parsed = parse_order_json(
      R"({"client_ref":"r-1","phone":"13800138000","amount_fen":1000,"carrier":"ctcc"})", keys);
    BOOST_REQUIRE(std::holds_alternative<order_request>(parsed));
    BOOST_TEST(std::get<order_request>(parsed).carrier == "ctcc");
    auto numeric = parse_order_json(
      R"({"client_ref":"r-1","phone":"13800138000","amount_fen":1000,"carrier":3})", keys);
    BOOST_TEST((std::get<failure>(numeric).code == errc::malformed_message));
    BOOST_TEST(std::get<failure>(numeric).reason == "\"carrier\" must be a string");
  }
}

BOOST_AUTO_TEST_SUITE_END()
