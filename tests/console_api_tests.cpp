#define BOOST_TEST_MODULE console_api_tests
#include <boost/test/unit_test.hpp>

// The web console's routes, admin token and JSON answers (api/console_api), without a node.

#include "api/console_api.hpp"

using namespace topup;
using nlohmann::json;

namespace {

console_api::route routed(std::string_view method, std::string_view target) {
  auto r = console_api::route_of(method, target);
  BOOST_REQUIRE(std::holds_alternative<console_api::route>(r));
  return std::get<console_api::route>(r);
}

unsigned refused(std::string_view method, std::string_view target) {
  auto r = console_api::route_of(method, target);
  BOOST_REQUIRE(std::holds_alternative<merchant_api::http_error>(r));
  return std::get<merchant_api::http_error>(r).status;
}

order sample_order() {
  order o;
  o.id = "o-1";
  o.client_ref = "ref-1";
  o.phone = "13800138000";
  o.status = order_status::unknown;
  o.last_error = "provider said 13800138000 is busy";
  o.accepted_at_ms = 1000;
  return o;
}

} // namespace

BOOST_AUTO_TEST_CASE(routes) {
  BOOST_TEST(console_api::is_console_target("/"));
  BOOST_TEST(console_api::is_console_target("/console/api/overview"));
  BOOST_TEST(!console_api::is_console_target("/v1/orders"));
  BOOST_TEST(!console_api::is_console_target("/metrics"));
  BOOST_TEST((routed("GET", "/").which == console_api::endpoint::page));
  BOOST_TEST((routed("GET", "/console/api/providers").which == console_api::endpoint::providers));
  auto search = routed("GET", "/console/api/orders?q=r%2B1+x&status=failed&since_ms=5&limit=9999");
  BOOST_TEST((search.which == console_api::endpoint::search));
  BOOST_TEST(search.search.text == "r+1 x");
  BOOST_TEST(search.search.status == "failed");
  BOOST_TEST(search.search.since_ms == 5);
  BOOST_TEST(search.search.limit == 500u);
  auto story = routed("GET", "/console/api/orders/abc");
  BOOST_TEST((story.which == console_api::endpoint::order));
  BOOST_TEST(story.order_id == "abc");
  BOOST_TEST((routed("POST", "/console/api/orders/abc/cancel").which == console_api::endpoint::cancel));
  BOOST_TEST(routed("POST", "/console/api/orders/abc/requery").is_action());
  BOOST_TEST(refused("GET", "/console/api/orders/abc/cancel") == 405u);
  BOOST_TEST(refused("POST", "/console/api/overview") == 405u);
  BOOST_TEST(refused("GET", "/console/api/nothing") == 404u);
  BOOST_TEST(refused("GET", "/console/api/orders?limit=ten") == 400u);
  BOOST_TEST(refused("GET", "/console/api/orders?phone=1") == 400u);
}

BOOST_AUTO_TEST_CASE(the_admin_token) {
  BOOST_TEST(console_api::authorized("Bearer s3cret", "s3cret"));
  BOOST_TEST(!console_api::authorized("Bearer s3cre", "s3cret"));
  BOOST_TEST(!console_api::authorized("", "s3cret"));
  BOOST_TEST(!console_api::authorized("s3cret", "s3cret"));
  BOOST_TEST(!console_api::authorized("Bearer ", ""));
}

BOOST_AUTO_TEST_CASE(a_search_looks_by_reference_then_by_phone) {
  const std::vector<std::string> merchants{"shop-a", "shop-b"};
  console_api::search s{"13800138000", "failed", 10, 20, 7};
  auto filters = console_api::filters_of(s, merchants);
  BOOST_REQUIRE_EQUAL(filters.size(), 2u);
  BOOST_TEST(filters[0].client_ref == "13800138000");
  BOOST_TEST(filters[0].merchants == merchants);
  BOOST_TEST(filters[0].phone == "");
  BOOST_TEST(filters[1].phone == "13800138000");
  BOOST_TEST(filters[1].client_ref == "");
  for (const auto& f : filters) {
    BOOST_TEST(f.status == "failed");
    BOOST_TEST(f.since_ms == 10);
    BOOST_TEST(f.until_ms == 20);
    BOOST_TEST(f.limit == 7u);
  }
  // Text that cannot be a phone number is looked up as a reference only: no scan for it.
  for (auto text : {"web-1001", "138", "1380013800x", "138001380001"}) {
    auto by_ref_only = console_api::filters_of({text, "", 0, 0, 50}, merchants);
    BOOST_REQUIRE_EQUAL(by_ref_only.size(), 1u);
    BOOST_TEST(by_ref_only[0].client_ref == text);
  }
  BOOST_TEST(console_api::filters_of({}, merchants).size() == 1u);
}

BOOST_AUTO_TEST_CASE(phone_numbers_are_masked_everywhere) {
  auto o = sample_order();
  auto shown = console_api::order_json(o);
  BOOST_TEST(shown["phone"] == "138****8000");
  BOOST_TEST(shown["last_error"] == "provider said 138****8000 is busy");
  order_history h{o, {}};
  history_entry e;
  e.event = "lose_outcome";
  e.detail = "timeout calling for 13800138000";
  h.entries.push_back(e);
  callback_record refused;
  refused.last_error = "merchant answered 500 for 13800138000";
  auto story = console_api::story_json(h, {refused});
  BOOST_TEST(story["history"][0]["detail"] == "timeout calling for 138****8000");
  BOOST_TEST(story["deliveries"][0]["last_error"] == "merchant answered 500 for 138****8000");
  BOOST_TEST(story.dump().find("13800138000") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(orders_are_listed_once_newest_first) {
  auto a = sample_order(), b = sample_order();
  b.id = "o-2";
  b.accepted_at_ms = 2000;
  auto listed = console_api::orders_json({a, b, a}, 10)["orders"];
  BOOST_REQUIRE_EQUAL(listed.size(), 2u);
  BOOST_TEST(listed[0]["id"] == "o-2");
  BOOST_TEST(console_api::orders_json({a, b}, 1)["orders"].size() == 1u);
}

BOOST_AUTO_TEST_CASE(the_overview_reads_the_history_and_the_oldest_pending_order) {
  throughput_history h{900};
  h.record(100, {0, 0, 0});
  h.record(101, {20, 10, 9});
  node_stats stats;
  stats.node = "n1";
  stats.orders = {{"succeeded", 9}};
  console_api::overview_input in;
  in.now_ms = 101500;
  in.throughput = &h;
  in.oldest_pending = sample_order();
  auto o = console_api::overview_json(stats, in);
  BOOST_TEST(o["accepted_per_s"].get<double>() == 2.0);
  BOOST_TEST(o["finished_per_s"].get<double>() == 1.0);
  BOOST_TEST(o["within_deadline_share"].get<double>() == 0.9);
  BOOST_TEST(o["oldest_pending"]["age_ms"] == 100500);
  BOOST_TEST(o["oldest_pending"]["id"] == "o-1");
  BOOST_TEST(o["orders"]["succeeded"] == 9);
  BOOST_TEST(o["chart"]["points"].size() == 90u);
  BOOST_TEST(o["chart"]["points"].back()["accepted"] == 20);
  in.oldest_pending.reset();
  throughput_history empty{900};
  in.throughput = &empty;
  auto quiet = console_api::overview_json(stats, in);
  BOOST_TEST(quiet["oldest_pending"].is_null());
  BOOST_TEST(quiet["within_deadline_share"].is_null());
}

BOOST_AUTO_TEST_CASE(one_provider_row_per_configured_provider) {
  provider_config a, b;
  a.name = "p-a";
  a.rate = 50;
  a.failover = {"p-b"};
  b.name = "p-b";
  cluster_stats stats;
  provider_stats counted;
  counted.provider = "p-a";
  counted.succeeded = 6;
  counted.retries = 2;
  counted.unknown = 2;
  counted.tokens = 4;
  counted.breaker = "closed";
  stats.totals.providers = {counted};
  auto rows = console_api::providers_json({a, b}, stats, {{"p-a", 12.5}})["providers"];
  BOOST_REQUIRE_EQUAL(rows.size(), 2u);
  BOOST_TEST(rows[0]["name"] == "p-a");
  BOOST_TEST(rows[0]["rate_limit"].get<double>() == 50.0);
  BOOST_TEST(rows[0]["calls_per_s"].get<double>() == 12.5);
  BOOST_TEST(rows[0]["tokens"] == 4);
  BOOST_TEST(rows[0]["shares"]["success"].get<double>() == 0.6);
  BOOST_TEST(rows[0]["shares"]["transient"].get<double>() == 0.2);
  BOOST_TEST(rows[0]["failover"][0] == "p-b");
  BOOST_TEST(rows[0]["served"] == true);
  BOOST_TEST(rows[1]["served"] == false);
  BOOST_TEST(rows[1]["shares"]["success"].is_null());
}

BOOST_AUTO_TEST_CASE(call_rates_between_two_samples) {
  provider_stats before, after;
  before.provider = after.provider = "p";
  before.calls = 10;
  before.queries = 2;
  after.calls = 30;
  after.queries = 2;
  auto rates = console_api::rates_between({before}, {after}, 2000);
  BOOST_REQUIRE_EQUAL(rates.size(), 1u);
  BOOST_TEST(rates[0].calls_per_s == 10.0);
  BOOST_TEST(console_api::rates_between({after}, {before}, 2000)[0].calls_per_s == 0.0);
}

BOOST_AUTO_TEST_CASE(the_page_is_embedded_and_self_contained) {
  auto page = console_api::page_html();
  BOOST_TEST(page.find("<!DOCTYPE html>") == 0u);
  BOOST_TEST(page.find("/console/api/providers") != std::string_view::npos);
  // Nothing is fetched from elsewhere: no external scripts, styles or fonts.
  BOOST_TEST(page.find("http://") == std::string_view::npos);
  BOOST_TEST(page.find("https://") == std::string_view::npos);
}

BOOST_AUTO_TEST_CASE(the_cluster_lists_each_lease_with_its_holder_and_epoch) {
  member_info n1{"n1", "127.0.0.1:4001", true, 120, {"p-b", "p-a"}, {7, 3}};
  member_info n2{"n2", "127.0.0.1:4002", false, 9000, {"p-c"}, {12}};
  auto c = console_api::cluster_json(true, "n1", {n1, n2});
  BOOST_TEST(c["clustered"] == true);
  BOOST_REQUIRE_EQUAL(c["members"].size(), 2u);
  BOOST_TEST(c["members"][1]["live"] == false);
  auto leases = c["leases"];
  BOOST_REQUIRE_EQUAL(leases.size(), 3u);
  // By provider, whichever member holds it.
  BOOST_TEST(leases[0] == (json{{"provider", "p-a"}, {"holder", "n1"}, {"epoch", 3}, {"holder_live", true}}));
  BOOST_TEST(leases[1]["provider"] == "p-b");
  BOOST_TEST(leases[1]["epoch"] == 7);
  BOOST_TEST(leases[2] == (json{{"provider", "p-c"}, {"holder", "n2"}, {"epoch", 12}, {"holder_live", false}}));
  // A single node serves its providers without leases.
  member_info alone{"solo", "127.0.0.1:4000", true, 0, {"p-a"}, {}};
  auto single = console_api::cluster_json(false, "solo", {alone});
  BOOST_TEST(single["members"][0]["providers"][0] == "p-a");
  BOOST_TEST(single["leases"].empty());
}

BOOST_AUTO_TEST_CASE(the_story_lists_the_result_callbacks) {
  order_history h{sample_order(), {}};
  callback_record unknown_reported{"o-1:unknown", "o-1", "shop", "http://127.0.0.1:9/cb", "delivered",
                                   2, 1000, 0, 200, "", 4500};
  callback_record final_reported{"o-1:succeeded", "o-1", "shop", "http://127.0.0.1:9/cb", "pending",
                                 3, 6000, 9000, 503, "HTTP 503", 7000};
  auto story = console_api::story_json(h, {unknown_reported, final_reported});
  auto deliveries = story["deliveries"];
  BOOST_REQUIRE_EQUAL(deliveries.size(), 2u);
  BOOST_TEST(deliveries[0]["delivery_id"] == "o-1:unknown");
  BOOST_TEST(deliveries[0]["url"] == "http://127.0.0.1:9/cb");
  BOOST_TEST(deliveries[0]["attempts"] == 2);
  BOOST_TEST(deliveries[0]["last_http_status"] == 200);
  BOOST_TEST(deliveries[0]["delivered_at_ms"] == 4500);
  BOOST_TEST(deliveries[1]["state"] == "pending");
  BOOST_TEST(deliveries[1]["last_error"] == "HTTP 503");
  BOOST_TEST(deliveries[1]["next_attempt_at_ms"] == 9000);
  BOOST_TEST(deliveries[1]["delivered_at_ms"].is_null());
  BOOST_TEST(console_api::story_json(h, {})["deliveries"].empty());
}
