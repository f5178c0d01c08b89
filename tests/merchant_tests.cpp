#include <boost/test/unit_test.hpp>

#include "domain/merchant.hpp"

#include <string>
#include <variant>
#include <vector>

using namespace topup;

namespace {

const std::vector<std::string> shop_prefixes{"https://shop.example/topup/",
                                             "http://callbacks.shop.example:8080/cb"};

bool allowed(const std::string& url) {
  return !check_notify_url(url, shop_prefixes);
}

} // namespace

BOOST_AUTO_TEST_SUITE(notify_url_checks)

BOOST_AUTO_TEST_CASE(urls_under_an_allowed_prefix_pass) {
  BOOST_TEST(allowed("https://shop.example/topup/"));
  BOOST_TEST(allowed("https://shop.example/topup/done?order=1&x=%20"));
  BOOST_TEST(allowed("HTTPS://SHOP.example:443/topup/a/b"));
  BOOST_TEST(allowed("http://callbacks.shop.example:8080/cb"));
  BOOST_TEST(allowed("http://callbacks.shop.example:8080/cb/deeper"));
  BOOST_TEST(allowed("http://callbacks.shop.example:8080/cb?x=1"));
}

BOOST_AUTO_TEST_CASE(other_hosts_ports_schemes_and_paths_are_refused) {
  BOOST_TEST(!allowed("https://evil.example/topup/"));
  BOOST_TEST(!allowed("http://shop.example/topup/"));            // scheme
  BOOST_TEST(!allowed("https://shop.example:8443/topup/"));      // port
  BOOST_TEST(!allowed("https://shop.example/topupx"));           // outside the path
  BOOST_TEST(!allowed("https://shop.example/"));
  BOOST_TEST(!allowed("http://callbacks.shop.example:8080/cbx"));  // not a whole segment
  BOOST_TEST(!allowed("http://callbacks.shop.example/cb"));      // default port 80
  BOOST_TEST(!allowed("http://127.0.0.1:8080/cb"));
  BOOST_TEST(!allowed("ftp://shop.example/topup/"));
  BOOST_TEST(!allowed("//shop.example/topup/"));
  BOOST_TEST(!allowed(""));
}

BOOST_AUTO_TEST_CASE(prefix_and_user_info_tricks_are_refused) {
  // The allowed host as a prefix of another host's name, or as user info before it.
  BOOST_TEST(!allowed("https://shop.example.evil/topup/"));
  BOOST_TEST(!allowed("https://shop.example.evil.com/topup/"));
  BOOST_TEST(!allowed("https://shop.example@evil.com/topup/"));
  BOOST_TEST(!allowed("https://shop.example:443@evil.com/topup/"));
  BOOST_TEST(!allowed("https://user:pw@shop.example/topup/"));
  BOOST_TEST(!allowed("https://shop.example./topup/"));            // trailing dot
  BOOST_TEST(!allowed("https://shop.example%2eevil/topup/"));
  BOOST_TEST(!allowed("https://shop.example\\@evil.com/topup/"));
  BOOST_TEST(!allowed("https://shop.example/topup/../../admin"));   // escapes the prefix
  BOOST_TEST(!allowed("https://shop.example/topup/%2e%2E/admin"));
  BOOST_TEST(!allowed("https://shop.example/topup/#frag"));
  BOOST_TEST(!allowed("https://shop.example/topup/ x"));
  BOOST_TEST(!allowed("https://shop.example/topup/\n"));
  BOOST_TEST(!allowed("https://[::1]/topup/"));
  BOOST_TEST(!allowed("https://shop.example:0/topup/"));
  BOOST_TEST(!allowed("https://shop.example:99999/topup/"));
  BOOST_TEST(!allowed("https://shop.example:/topup/"));
  BOOST_TEST(!allowed("https://shop.example/topup/" + std::string(max_notify_url_bytes, 'a')));
}

BOOST_AUTO_TEST_CASE(a_refusal_is_typed_and_names_the_field) {
  auto refused = check_notify_url("https://shop.example@evil.com/topup/", shop_prefixes);
  BOOST_REQUIRE(refused);
  BOOST_TEST((refused->code == errc::invalid_notify_url));
  BOOST_TEST(refused->reason.find("notify_url") == 0u);
  BOOST_TEST(refused->reason.find("user info") != std::string::npos);
  // No prefix: nothing is allowed.
  BOOST_TEST(check_notify_url("https://shop.example/topup/", {}).has_value());
}

BOOST_AUTO_TEST_CASE(parsing_normalises_scheme_host_and_port) {
  auto parsed = parse_callback_url("HTTP://Shop.Example/a?b=c");
  BOOST_REQUIRE(std::holds_alternative<callback_url>(parsed));
  const auto& url = std::get<callback_url>(parsed);
  BOOST_TEST(url.scheme == "http");
  BOOST_TEST(url.host == "shop.example");
  BOOST_TEST(url.port == 80);
  BOOST_TEST(url.path == "/a");
  BOOST_TEST(url.query == "b=c");
  auto bare = std::get<callback_url>(parse_callback_url("https://h.example"));
  BOOST_TEST(bare.path == "/");
  BOOST_TEST(bare.port == 443);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(merchant_resolution)

merchant_directory two_shops() {
  return merchant_directory{{merchant{"shop-a", "secret-a", "", shop_prefixes},
                             merchant{"shop-b", "secret-b", "", {}}},
                            "shop-a"};
}

BOOST_AUTO_TEST_CASE(an_order_naming_no_merchant_belongs_to_the_default) {
  auto shops = two_shops();
  BOOST_TEST(std::get<std::string>(resolve_merchant(shops, "", "")) == "shop-a");
  BOOST_TEST(std::get<std::string>(resolve_merchant(shops, "shop-b", "")) == "shop-b");
  merchant_directory unconfigured;
  BOOST_TEST(std::get<std::string>(resolve_merchant(unconfigured, "", "")) == "default");
}

BOOST_AUTO_TEST_CASE(unknown_merchants_and_foreign_callbacks_are_refused) {
  auto shops = two_shops();
  auto unknown = std::get<failure>(resolve_merchant(shops, "shop-c", ""));
  BOOST_TEST((unknown.code == errc::unknown_merchant));
  BOOST_TEST(std::get<std::string>(resolve_merchant(shops, "", "https://shop.example/topup/1"))
             == "shop-a");
  // shop-b allows no callback URL at all; shop-a's prefixes are not shop-b's.
  auto foreign = std::get<failure>(resolve_merchant(shops, "shop-b", "https://shop.example/topup/1"));
  BOOST_TEST((foreign.code == errc::invalid_notify_url));
}

BOOST_AUTO_TEST_CASE(a_directory_refuses_a_missing_default_and_repeated_ids) {
  BOOST_CHECK_THROW((merchant_directory{{merchant{"a", "", "", {}}}, "b"}), std::invalid_argument);
  BOOST_CHECK_THROW((merchant_directory{{merchant{"a", "", "", {}}, merchant{"a", "", "", {}}}, "a"}),
                    std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(merchant_ids_are_plain_ascii_names) {
  BOOST_TEST(valid_merchant_id("shop-1.cn_A"));
  BOOST_TEST(!valid_merchant_id(""));
  BOOST_TEST(!valid_merchant_id("shop 1"));
  BOOST_TEST(!valid_merchant_id("商户"));
  BOOST_TEST(!valid_merchant_id(std::string(max_merchant_id_bytes + 1, 'a')));
}

BOOST_AUTO_TEST_SUITE_END()
