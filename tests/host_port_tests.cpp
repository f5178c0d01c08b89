#include <boost/test/unit_test.hpp>

#include "domain/host_port.hpp"

using namespace topup;

BOOST_AUTO_TEST_SUITE(host_port_texts)

BOOST_AUTO_TEST_CASE(hosts_names_and_bracketed_ipv6_addresses_are_read_with_their_port) {
  auto a = parse_host_port("127.0.0.1:4242");
  BOOST_REQUIRE(a);
  BOOST_TEST((*a.address == host_port{"127.0.0.1", 4242}));
  auto named = parse_host_port("node-2.example:1");
  BOOST_REQUIRE(named);
  BOOST_TEST((*named.address == host_port{"node-2.example", 1}));
  auto v6 = parse_host_port("[::1]:65535");
  BOOST_REQUIRE(v6);
  BOOST_TEST((*v6.address == host_port{"::1", 65535}));
}

BOOST_AUTO_TEST_CASE(to_string_writes_what_parse_reads_back) {
  for (const auto& address : {host_port{"127.0.0.1", 80}, host_port{"::1", 9100},
                              host_port{"fe80::1", 1}, host_port{"node-1", 65535}}) {
    auto text = address.to_string();
    auto back = parse_host_port(text);
    BOOST_TEST_CONTEXT(text) {
      BOOST_REQUIRE(back);
      BOOST_TEST((*back.address == address));
    }
  }
  BOOST_TEST((host_port{"::1", 9100}.to_string() == "[::1]:9100"));
  BOOST_TEST((host_port{"127.0.0.1", 80}.to_string() == "127.0.0.1:80"));
}

BOOST_AUTO_TEST_CASE(errors_quote_the_text_and_say_what_is_wrong) {
  auto expect_error = [](const std::string& text, const std::string& part,
                         host_port_rules rules = {}) {
    auto a = parse_host_port(text, rules);
    BOOST_TEST_CONTEXT(text) {
      BOOST_TEST(!a);
      BOOST_TEST(a.error.find("'" + text + "'") == 0u, a.error);
      BOOST_TEST(a.error.find(part) != std::string::npos, a.error);
    }
  };
  expect_error("127.0.0.1", "expected HOST:PORT");
  expect_error("", "expected HOST:PORT");
  expect_error(":4242", "host is empty");
  expect_error("host:", "port must be a number from 1 to 65535");
  expect_error("host:0", "port must be");
  expect_error("host:65536", "port must be");
  expect_error("host:42a", "port must be");
  expect_error("host:-1", "port must be");
  expect_error("host:+1", "port must be");
  expect_error("host: 1", "port must be");
  expect_error("::1:4242", "IPv6 address in brackets");
  expect_error("[::1]4242", "expected HOST:PORT");
  expect_error("[::1", "missing ']'");
  expect_error("[]:4242", "host is empty");
  expect_error("host:-1", "from 0 to 65535", {std::nullopt, true});
  expect_error("[::1]x", "expected HOST or HOST:PORT", {443, false});
}

BOOST_AUTO_TEST_CASE(a_listener_may_ask_for_port_zero_a_peer_may_not) {
  BOOST_TEST(!parse_host_port("127.0.0.1:0"));
  auto any = parse_host_port("127.0.0.1:0", {std::nullopt, true});
  BOOST_REQUIRE(any);
  BOOST_TEST(any.address->port == 0);
}

BOOST_AUTO_TEST_CASE(an_authority_without_a_port_takes_the_schemes) {
  host_port_rules url{443, false};
  auto bare = parse_host_port("shop.example", url);
  BOOST_REQUIRE(bare);
  BOOST_TEST((*bare.address == host_port{"shop.example", 443}));
  auto v6 = parse_host_port("[::1]", url);
  BOOST_REQUIRE(v6);
  BOOST_TEST((*v6.address == host_port{"::1", 443}));
  auto explicit_port = parse_host_port("shop.example:8443", url);
  BOOST_REQUIRE(explicit_port);
  BOOST_TEST(explicit_port.address->port == 8443);
  BOOST_TEST(!parse_host_port("", url));
}

BOOST_AUTO_TEST_SUITE_END()
