#define BOOST_TEST_MODULE merchant_api_tests
#include <boost/test/unit_test.hpp>

#include "api/merchant_api.hpp"
#include "api/signature.hpp"

#include <string>
#include <variant>

using namespace topup;
using namespace topup::merchant_api;

namespace {

merchant_directory shops() {
  return merchant_directory{{merchant{"shop-a", "secret-a", "", {"https://a.example/cb/"}},
                             merchant{"shop-b", "secret-b", "", {}},
                             merchant{"no-secret", "", "", {}}},
                            "shop-a"};
}

constexpr int64_t now_s = 1'800'000'000;
constexpr int64_t window_s = 300;

struct request_fixture {
  merchant_directory merchants = shops();
  std::string merchant = "shop-a";
  std::string timestamp = std::to_string(now_s);
  std::string method = "POST";
  std::string target = "/v1/orders";
  std::string body = R"({"client_ref":"r-1","phone":"13800138000","amount_fen":1000})";
  std::string signature = sign("secret-a", timestamp, method, target, body);

  std::variant<const topup::merchant*, failure> check() const {
    return authenticate(merchants, {merchant, timestamp, signature, method, target, body}, now_s,
                        window_s);
  }

  failure refusal() const {
    auto result = check();
    BOOST_TEST_REQUIRE(std::holds_alternative<failure>(result), "the request was authenticated");
    return std::get<failure>(result);
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(signing)

BOOST_AUTO_TEST_CASE(the_signature_is_hmac_sha256_of_timestamp_method_target_and_body) {
  BOOST_TEST(string_to_sign("1700000000", "POST", "/v1/orders", "{}")
             == "1700000000\nPOST\n/v1/orders\n{}");
  // RFC 4231 test case 2: key "Jefe".
  BOOST_TEST(signature::hmac_sha256_hex("Jefe", "what do ya want for nothing?")
             == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // The same as `printf '%s' "$message" | openssl dgst -sha256 -hmac secret-a`, as README shows.
  BOOST_TEST(sign("secret-a", "1700000000", "GET", "/v1/health", "")
             == signature::hmac_sha256_hex("secret-a", "1700000000\nGET\n/v1/health\n"));
  BOOST_TEST(signature::equal_in_constant_time("abc", "abc"));
  BOOST_TEST(!signature::equal_in_constant_time("abc", "abd"));
  BOOST_TEST(!signature::equal_in_constant_time("abc", "ab"));
}

BOOST_FIXTURE_TEST_CASE(a_well_signed_request_names_its_merchant, request_fixture) {
  auto result = check();
  BOOST_REQUIRE(std::holds_alternative<const topup::merchant*>(result));
  BOOST_TEST(std::get<const topup::merchant*>(result)->id == "shop-a");
  timestamp = std::to_string(now_s - window_s);  // the edge of the window
  signature = sign("secret-a", timestamp, method, target, body);
  BOOST_TEST(std::holds_alternative<const topup::merchant*>(check()));
}

BOOST_FIXTURE_TEST_CASE(any_change_to_a_signed_part_is_refused, request_fixture) {
  auto original = *this;
  body += " ";
  BOOST_TEST((refusal().code == errc::unauthenticated));
  *this = original;
  target = "/v1/orders/batch";
  BOOST_TEST((refusal().code == errc::unauthenticated));
  *this = original;
  method = "PUT";
  BOOST_TEST((refusal().code == errc::unauthenticated));
  *this = original;
  merchant = "shop-b";  // shop-a's signature is not shop-b's
  BOOST_TEST((refusal().code == errc::unauthenticated));
  *this = original;
  signature[0] = signature[0] == 'a' ? 'b' : 'a';
  BOOST_TEST((refusal().code == errc::unauthenticated));
  *this = original;
  signature = signature.substr(0, 10);
  BOOST_TEST((refusal().code == errc::unauthenticated));
}

BOOST_FIXTURE_TEST_CASE(stale_missing_and_unknown_are_refused, request_fixture) {
  auto original = *this;
  timestamp = std::to_string(now_s - window_s - 1);
  signature = sign("secret-a", timestamp, method, target, body);
  BOOST_TEST(refusal().reason.find("away from the node's clock") != std::string::npos);
  timestamp = std::to_string(now_s + window_s + 1);
  signature = sign("secret-a", timestamp, method, target, body);
  BOOST_TEST(refusal().reason.find("away from the node's clock") != std::string::npos);
  timestamp = std::to_string(now_s) + "000";  // milliseconds are not seconds
  signature = sign("secret-a", timestamp, method, target, body);
  BOOST_TEST((refusal().code == errc::unauthenticated));
  timestamp = "17e8";
  signature = sign("secret-a", timestamp, method, target, body);
  BOOST_TEST(refusal().reason.find("Unix time in seconds") != std::string::npos);
  *this = original;
  signature.clear();
  BOOST_TEST(refusal().reason == "missing header X-Topup-Signature");
  *this = original;
  merchant.clear();
  BOOST_TEST(refusal().reason == "missing header X-Topup-Merchant");
  *this = original;
  // An unknown merchant and a merchant without a secret read like a wrong signature.
  merchant = "shop-x";
  auto unknown = refusal().reason;
  merchant = "no-secret";
  signature = sign("", timestamp, method, target, body);
  BOOST_TEST(refusal().reason == unknown);
  *this = original;
  merchant = "shop-b";
  BOOST_TEST(refusal().reason == unknown);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(routing)

route routed(std::string_view method, std::string_view target) {
  auto result = route_of(method, target);
  BOOST_TEST_REQUIRE(std::holds_alternative<route>(result), std::string{target});
  return std::get<route>(result);
}

unsigned refused(std::string_view method, std::string_view target) {
  auto result = route_of(method, target);
  BOOST_TEST_REQUIRE(std::holds_alternative<http_error>(result), std::string{target});
  return std::get<http_error>(result).status;
}

BOOST_AUTO_TEST_CASE(every_endpoint_is_found) {
  BOOST_TEST((routed("POST", "/v1/orders").which == endpoint::submit));
  BOOST_TEST((routed("POST", "/v1/orders/batch").which == endpoint::submit_batch));
  auto got = routed("GET", "/v1/orders/n1-123");
  BOOST_TEST((got.which == endpoint::get_order));
  BOOST_TEST(got.order_id == "n1-123");
  auto cancel = routed("POST", "/v1/orders/n1-123/cancel");
  BOOST_TEST((cancel.which == endpoint::cancel));
  BOOST_TEST(cancel.order_id == "n1-123");
  auto by_ref = routed("GET", "/v1/orders?client_ref=shop%2F1+x%E5%8D%95");
  BOOST_TEST((by_ref.which == endpoint::find_by_ref));
  BOOST_TEST(by_ref.client_ref == "shop/1 x\xE5\x8D\x95");
  BOOST_TEST((routed("GET", "/v1/health").which == endpoint::health));
  BOOST_TEST((routed("GET", "/v1/ready").which == endpoint::ready));
  BOOST_TEST((routed("GET", "/metrics").which == endpoint::metrics));
  BOOST_TEST(!routed("GET", "/metrics").signed_only());
  BOOST_TEST(!routed("GET", "/v1/health").signed_only());
  BOOST_TEST(routed("GET", "/v1/orders/x").signed_only());
}

BOOST_AUTO_TEST_CASE(unknown_paths_methods_and_queries_are_refused) {
  BOOST_TEST(refused("GET", "/v2/orders") == 404u);
  BOOST_TEST(refused("GET", "/v1/orders/a/b") == 404u);
  BOOST_TEST(refused("GET", "/v1/orders/") == 404u);
  BOOST_TEST(refused("DELETE", "/v1/orders/n1-1") == 405u);
  BOOST_TEST(refused("GET", "/v1/orders/n1-1/cancel") == 405u);
  BOOST_TEST(refused("POST", "/v1/health") == 405u);
  BOOST_TEST(refused("POST", "/metrics") == 405u);
  BOOST_TEST(refused("PUT", "/v1/orders") == 405u);
  BOOST_TEST(refused("GET", "/v1/orders") == 400u);
  BOOST_TEST(refused("GET", "/v1/orders?client_ref=") == 400u);
  BOOST_TEST(refused("GET", "/v1/orders?client_ref=a&x=1") == 400u);
  BOOST_TEST(refused("GET", "/v1/orders?client_ref=%zz") == 400u);
  BOOST_TEST(refused("GET", "/v1/orders?client_ref=%4") == 400u);
}

BOOST_AUTO_TEST_CASE(metrics_need_the_bearer_token_only_when_one_is_configured) {
  BOOST_TEST(metrics_authorized("", ""));
  BOOST_TEST(metrics_authorized("Bearer anything", ""));
  BOOST_TEST(metrics_authorized("Bearer t0ken", "t0ken"));
  BOOST_TEST(!metrics_authorized("", "t0ken"));
  BOOST_TEST(!metrics_authorized("t0ken", "t0ken"));
  BOOST_TEST(!metrics_authorized("Bearer t0ke", "t0ken"));
  BOOST_TEST(!metrics_authorized("Bearer t0ken2", "t0ken"));
  BOOST_TEST(!metrics_authorized("Basic t0ken", "t0ken"));
}

BOOST_AUTO_TEST_CASE(json_content_types) {
  BOOST_TEST(is_json_content_type("application/json"));
  BOOST_TEST(is_json_content_type("Application/JSON; charset=utf-8"));
  BOOST_TEST(!is_json_content_type("text/plain"));
  BOOST_TEST(!is_json_content_type("application/x-www-form-urlencoded"));
  BOOST_TEST(!is_json_content_type(""));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(answers)

BOOST_AUTO_TEST_CASE(every_error_code_has_its_status) {
  BOOST_TEST(status_of(errc::invalid_phone) == 400u);
  BOOST_TEST(status_of(errc::malformed_message) == 400u);
  BOOST_TEST(status_of(errc::invalid_notify_url) == 400u);
  BOOST_TEST(status_of(errc::unauthenticated) == 401u);
  BOOST_TEST(status_of(errc::unknown_merchant) == 401u);
  BOOST_TEST(status_of(errc::not_found) == 404u);
  BOOST_TEST(status_of(errc::duplicate_reference) == 409u);
  BOOST_TEST(status_of(errc::illegal_transition) == 409u);
  BOOST_TEST(status_of(errc::request_too_large) == 413u);
  BOOST_TEST(status_of(errc::overloaded) == 429u);
  BOOST_TEST(status_of(errc::unavailable) == 503u);
  BOOST_TEST(status_of(errc::shutting_down) == 503u);
  BOOST_TEST(retry_after_s({errc::overloaded, "", 0}) == 1);
  BOOST_TEST(retry_after_s({errc::overloaded, "", 7}) == 7);
}

BOOST_AUTO_TEST_CASE(errors_name_their_code_and_field) {
  auto body = error_json({errc::invalid_phone, "138****0000 has 10 digits"});
  BOOST_TEST(body["error"]["code"] == "invalid_phone");
  BOOST_TEST(body["error"]["field"] == "phone");
  BOOST_TEST(body["error"]["message"] == "138****0000 has 10 digits");
  BOOST_TEST(field_of({errc::missing_field, "missing key \"amount_fen\""}) == "amount_fen");
  BOOST_TEST(field_of({errc::missing_field, "client_ref is empty"}) == "client_ref");
  BOOST_TEST(field_of({errc::field_too_long, "phone has 40 characters"}) == "phone");
  BOOST_TEST(field_of({errc::invalid_notify_url, "outside"}) == "notify_url");
  BOOST_TEST(field_of({errc::unknown_carrier, "no carrier serves prefix 120"}) == "phone");
  BOOST_TEST(field_of({errc::unknown_carrier, "carrier is not one of the configured carriers"})
             == "carrier");
  BOOST_TEST(field_of({errc::unavailable, "the store is down"}) == "");
}

BOOST_AUTO_TEST_CASE(a_submit_body_is_one_order_with_an_optional_notify_url) {
  auto parsed = parse_submit(R"({"client_ref":"r-1","phone":"13800138000","amount_fen":1000,)"
                             R"("notify_url":"https://a.example/cb/1"})");
  BOOST_REQUIRE(std::holds_alternative<order_request>(parsed));
  BOOST_TEST(std::get<order_request>(parsed).notify_url == "https://a.example/cb/1");
  BOOST_TEST(std::get<order_request>(parsed).merchant == "");
  auto malformed = parse_submit("{\"client_ref\":");
  BOOST_TEST((std::get<failure>(malformed).code == errc::malformed_message));
  auto named = parse_submit(
    R"({"client_ref":"r-1","phone":"13800138000","amount_fen":1000,"merchant":"shop-b"})");
  BOOST_TEST((std::get<failure>(named).code == errc::unsupported_field));
}

BOOST_AUTO_TEST_CASE(a_request_body_is_read_back_as_the_same_order) {
  order_request sent{"r-9", "13800138000", 2000, "shop-a", "https://a.example/cb/9", "cucc"};
  auto body = request_json(sent);
  BOOST_TEST(!body.contains("merchant"));  // the signer is the merchant
  auto read = parse_submit(body.dump());
  BOOST_REQUIRE(std::holds_alternative<order_request>(read));
  const auto& back = std::get<order_request>(read);
  BOOST_TEST(back.client_ref == "r-9");
  BOOST_TEST(back.phone == "13800138000");
  BOOST_TEST(back.amount_fen == 2000);
  BOOST_TEST(back.notify_url == "https://a.example/cb/9");
  BOOST_TEST(back.carrier == "cucc");
  auto plain = request_json({"r-10", "13800138000", 1000});
  BOOST_TEST(!plain.contains("notify_url"));
  BOOST_TEST(!plain.contains("carrier"));
}

BOOST_AUTO_TEST_CASE(a_batch_keeps_each_orders_place) {
  auto parsed = parse_batch(R"({"orders":[)"
                            R"({"client_ref":"r-1","phone":"13800138000","amount_fen":1000},)"
                            R"({"client_ref":"r-2","phone":13800138000,"amount_fen":1000},)"
                            R"(7]})",
                            10);
  BOOST_REQUIRE((std::holds_alternative<std::vector<std::variant<order_request, failure>>>(parsed)));
  auto& orders = std::get<0>(parsed);
  BOOST_REQUIRE_EQUAL(orders.size(), 3u);
  BOOST_TEST(std::get<order_request>(orders[0]).client_ref == "r-1");
  BOOST_TEST((std::get<failure>(orders[1]).code == errc::malformed_message));
  BOOST_TEST((std::get<failure>(orders[2]).code == errc::malformed_message));
  auto too_many = parse_batch(R"({"orders":[{},{},{}]})", 2);
  BOOST_TEST((std::get<failure>(too_many).code == errc::invalid_argument));
  BOOST_TEST((std::get<failure>(parse_batch(R"({"orders":[]})", 2)).code == errc::invalid_argument));
  BOOST_TEST((std::get<failure>(parse_batch(R"([1])", 2)).code == errc::malformed_message));
  BOOST_TEST((std::get<failure>(parse_batch(R"({"orders":{}})", 2)).code == errc::malformed_message));
  BOOST_TEST((std::get<failure>(parse_batch("not json", 2)).code == errc::malformed_message));
}

BOOST_AUTO_TEST_CASE(answers_say_new_existing_or_refused) {
  order o;
  o.id = "n1-1";
  o.merchant = "shop-a";
  order_answer fresh{std::nullopt, o, false};
  order_answer again{std::nullopt, o, true};
  order_answer conflict{failure{errc::duplicate_reference, "client reference 'r' ..."}, {}, false};
  BOOST_TEST(status_of(fresh) == 201u);
  BOOST_TEST(status_of(again) == 200u);
  BOOST_TEST(status_of(conflict) == 409u);
  BOOST_TEST(answer_json(fresh)["id"] == "n1-1");
  BOOST_TEST(answer_json(fresh)["merchant"] == "shop-a");
  auto batch = batch_json({fresh, conflict, again});
  BOOST_REQUIRE_EQUAL(batch["results"].size(), 3u);
  BOOST_TEST(batch["results"][0]["status"] == 201);
  BOOST_TEST(batch["results"][1]["status"] == 409);
  BOOST_TEST(batch["results"][1]["error"]["code"] == "duplicate_reference");
  BOOST_TEST(batch["results"][2]["order"]["id"] == "n1-1");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(callback_signing)

BOOST_AUTO_TEST_CASE(a_callback_is_signed_as_the_merchant_signs_its_requests) {
  auto merchants = shops();
  const auto& shop = *merchants.find("shop-a");
  std::string body = R"({"delivery_id":"o-1:succeeded","status":"succeeded"})";
  auto headers = callback_headers(shop, "o-1:succeeded", "/cb/done?x=1", body, now_s);
  auto header = [&](std::string_view name) {
    for (const auto& [key, value] : headers)
      if (key == name)
        return value;
    return std::string{};
  };
  BOOST_TEST(header(merchant_header) == "shop-a");
  BOOST_TEST(header(timestamp_header) == std::to_string(now_s));
  BOOST_TEST(header(delivery_header) == "o-1:succeeded");
  // The merchant verifies with the very check the node applies to its requests.
  auto verified = authenticate(merchants,
                               {header(merchant_header), header(timestamp_header),
                                header(signature_header), "POST", "/cb/done?x=1", body},
                               now_s, window_s);
  BOOST_TEST(std::holds_alternative<const topup::merchant*>(verified));
  auto tampered = authenticate(merchants,
                               {header(merchant_header), header(timestamp_header),
                                header(signature_header), "POST", "/cb/done?x=1", body + " "},
                               now_s, window_s);
  BOOST_TEST(std::holds_alternative<failure>(tampered));
}

BOOST_AUTO_TEST_CASE(a_merchant_without_a_secret_gets_no_signature) {
  auto merchants = shops();
  auto headers = callback_headers(*merchants.find("no-secret"), "o-1:failed", "/", "{}", now_s);
  for (const auto& header : headers)
    BOOST_TEST(header.first != std::string{signature_header});
  BOOST_TEST(headers.size() == 3u);
}

BOOST_AUTO_TEST_SUITE_END()
