#define BOOST_TEST_MODULE merchant_http_tests
#include <boost/test/unit_test.hpp>

// The merchants' HTTP API of a real topup-node on 127.0.0.1, with a real HTTP client (Boost.Beast,
// synchronous): every endpoint, signature refusals, per-merchant isolation, bad bodies, an
// oversized body, too many headers, and a slow-loris client cut off while others are served.

#include "api/merchant_api.hpp"
#include "apps/process/child_process.hpp"
#include "tests/backlog_support.hpp"
#include "tests/http_node_support.hpp"
#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <string>
#include <thread>

using namespace topup;
using namespace topup::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

const merchant_key shop_a{"shop-a", "secret-a"};
const merchant_key shop_b{"shop-b", "secret-b"};

std::string order_body(const std::string& ref, const std::string& phone = "13800138000",
                       int64_t amount = 1000, const std::string& notify_url = {}) {
  json order{{"client_ref", ref}, {"phone", phone}, {"amount_fen", amount}};
  if (!notify_url.empty())
    order["notify_url"] = notify_url;
  return order.dump();
}

struct api_fixture : http_node_fixture {
  api_fixture() {
    cfg["merchants"] = {
      {"default", "shop-a"},
      {"list",
       {{{"id", shop_a.id},
         {"secret", shop_a.secret},
         {"allowed_callback_prefixes", {"https://a.example/cb/"}}},
        {{"id", shop_b.id}, {"secret", shop_b.secret}}}}};
    cfg["http_api"].update({{"max_body_bytes", 4096},
                            {"max_header_count", 20},
                            {"read_timeout_ms", 1000},
                            {"max_batch", 3}});
  }

  void start(bool until_ready = true) { http_node_fixture::start(TOPUP_NODE, until_ready); }

  http_reply post(const merchant_key& who, const std::string& target, const std::string& body) {
    http_client client{api_port};
    return client.call(http::verb::post, target, body, signed_headers(who, "POST", target, body));
  }

  http_reply get(const merchant_key& who, const std::string& target) {
    http_client client{api_port};
    return client.call(http::verb::get, target, "", signed_headers(who, "GET", target, ""));
  }

  /// The orders table as the node wrote it: (merchant, client_ref) of every row.
  long long stored_rows(const std::string& where = "1 = 1") {
    soci::session session{soci::sqlite3, "db=" + dir.file("orders.db")};
    long long count = 0;
    session << "SELECT COUNT(*) FROM orders WHERE " + where, soci::into(count);
    return count;
  }
};

void check_error(const http_reply& reply, unsigned status, const std::string& code,
                 const std::string& field = {}) {
  BOOST_TEST(reply.status == status, reply.body.dump());
  BOOST_TEST(reply.body.value("/error/code"_json_pointer, std::string{}) == code, reply.body.dump());
  if (!field.empty())
    BOOST_TEST(reply.body.value("/error/field"_json_pointer, std::string{}) == field,
               reply.body.dump());
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(merchant_http_api, api_fixture)

// A node restarted on a backlog of 100,000 unfinished orders: /v1/ready answers 503
// (unavailable) while the router hands them on, and 200 from then on. Each answer is checked
// against the node's log line that ends the recovery: 200 only once it is written, and no
// 503 asked for after it.
BOOST_AUTO_TEST_CASE(ready_answers_503_until_the_start_up_recovery_is_done) {
  hold_cmcc_orders();  // the recovered orders wait in their lanes: the node stays quiet
  constexpr int backlog = 100000;
  store_backlog(dir.file("orders.db"), backlog, shop_a.id);
  start(false);
  auto recovered = [&] {
    return read_file(log_path).find("router recovered " + std::to_string(backlog)
                                    + " waiting orders")
           != std::string::npos;
  };
  int refused = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds{120};
  for (;;) {
    bool recovered_before = recovered();
    auto ready = http_client{api_port}.call(http::verb::get, "/v1/ready");
    if (ready.status == 200u) {
      BOOST_TEST(ready.body["status"] == "ready");
      BOOST_TEST(recovered(), "ready before the recovery ended");
      break;
    }
    BOOST_TEST_REQUIRE(ready.status == 503u, ready.text);
    BOOST_TEST(ready.body.value("/error/code"_json_pointer, std::string{}) == "unavailable",
               ready.text);
    BOOST_TEST(!recovered_before, "503 after the recovery ended: " << ready.text);
    ++refused;
    BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until, "never ready");
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  BOOST_TEST(refused > 0, "the recovery was over before the first request");
  // And it stays ready.
  BOOST_TEST(http_client{api_port}.call(http::verb::get, "/v1/ready").status == 200u);
}

BOOST_AUTO_TEST_CASE(orders_are_submitted_found_and_kept_apart_per_merchant) {
  start();
  http_client probe{api_port};
  auto health = probe.call(http::verb::get, "/v1/health");
  BOOST_TEST(health.status == 200u);
  BOOST_TEST(health.body["status"] == "alive");
  auto ready = probe.call(http::verb::get, "/v1/ready");  // same connection: keep-alive
  BOOST_TEST(ready.status == 200u, ready.body.dump());

  auto created = post(shop_a, "/v1/orders", order_body("r-1", "13800138000", 1000,
                                                        "https://a.example/cb/1"));
  BOOST_TEST_REQUIRE(created.status == 201u, created.body.dump());
  auto id = created.body["id"].get<std::string>();
  BOOST_TEST(created.body["merchant"] == "shop-a");
  BOOST_TEST(created.body["notify_url"] == "https://a.example/cb/1");
  // Acknowledged only once durable: the row is in the store by the time the answer is read.
  BOOST_TEST(stored_rows("id = '" + id + "' AND merchant = 'shop-a'") == 1);

  auto again = post(shop_a, "/v1/orders", order_body("r-1", "13800138000", 1000,
                                                      "https://a.example/cb/1"));
  BOOST_TEST(again.status == 200u);
  BOOST_TEST(again.body["id"] == id);
  check_error(post(shop_a, "/v1/orders", order_body("r-1", "13900139000")), 409,
              "duplicate_reference", "client_ref");

  // Another merchant's r-1 is another order.
  auto theirs = post(shop_b, "/v1/orders", order_body("r-1", "13900139000"));
  BOOST_TEST_REQUIRE(theirs.status == 201u, theirs.body.dump());
  auto their_id = theirs.body["id"].get<std::string>();
  BOOST_TEST(their_id != id);
  BOOST_TEST(stored_rows("client_ref = 'r-1'") == 2);

  auto mine = get(shop_a, "/v1/orders/" + id);
  BOOST_TEST(mine.status == 200u);
  BOOST_TEST(mine.body["client_ref"] == "r-1");
  check_error(get(shop_b, "/v1/orders/" + id), 404, "not_found");
  check_error(get(shop_a, "/v1/orders/no-such-order"), 404, "not_found");
  BOOST_TEST(get(shop_a, "/v1/orders?client_ref=r-1").body["id"] == id);
  BOOST_TEST(get(shop_b, "/v1/orders?client_ref=r-1").body["id"] == their_id);
  check_error(get(shop_b, "/v1/orders?client_ref=r-2"), 404, "not_found");

  // Another merchant cannot cancel it; its own merchant is told why it cannot any more.
  check_error(post(shop_b, "/v1/orders/" + id + "/cancel", ""), 404, "not_found");
  auto deadline = steady::now() + 10s;
  while (get(shop_a, "/v1/orders/" + id).body["status"] != "succeeded" && steady::now() < deadline)
    std::this_thread::sleep_for(20ms);
  check_error(post(shop_a, "/v1/orders/" + id + "/cancel", ""), 409, "illegal_transition");
}

BOOST_AUTO_TEST_CASE(an_order_waiting_for_its_provider_is_cancelled) {
  hold_cmcc_orders();
  start();
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    auto created = post(shop_a, "/v1/orders", order_body("w-" + std::to_string(i)));
    BOOST_TEST_REQUIRE(created.status == 201u, created.body.dump());
    ids.push_back(created.body["id"].get<std::string>());
  }
  // At most two of them were called; a waiting one is cancelled.
  int cancelled = 0;
  for (const auto& id : ids) {
    auto reply = post(shop_a, "/v1/orders/" + id + "/cancel", "");
    if (reply.status == 200u) {
      BOOST_TEST(reply.body["status"] == "failed");
      ++cancelled;
    }
  }
  BOOST_TEST(cancelled >= 2);
}

BOOST_AUTO_TEST_CASE(a_batch_answers_each_order_in_its_place) {
  start();
  post(shop_a, "/v1/orders", order_body("b-0"));
  auto batch = json{{"orders",
                     {json::parse(order_body("b-1")), json::parse(order_body("b-2", "12345")),
                      json::parse(order_body("b-0", "13900139000"))}}}
                 .dump();
  auto reply = post(shop_a, "/v1/orders/batch", batch);
  BOOST_TEST_REQUIRE(reply.status == 200u, reply.body.dump());
  auto& results = reply.body["results"];
  BOOST_REQUIRE_EQUAL(results.size(), 3u);
  BOOST_TEST(results[0]["status"] == 201);
  BOOST_TEST(results[0]["order"]["client_ref"] == "b-1");
  BOOST_TEST(results[1]["status"] == 400);
  BOOST_TEST(results[1]["error"]["code"] == "invalid_phone");
  BOOST_TEST(results[1]["error"]["field"] == "phone");
  BOOST_TEST(results[2]["status"] == 409);
  BOOST_TEST(results[2]["error"]["code"] == "duplicate_reference");
  auto four = json{{"orders", json::array({json::parse(order_body("c-1")), json::parse(order_body("c-2")),
                                           json::parse(order_body("c-3")), json::parse(order_body("c-4"))})}}
                .dump();
  check_error(post(shop_a, "/v1/orders/batch", four), 400, "invalid_argument", "orders");
  BOOST_TEST(stored_rows("client_ref LIKE 'c-%'") == 0);
}

BOOST_AUTO_TEST_CASE(unsigned_or_badly_signed_requests_are_refused_and_change_nothing) {
  start();
  auto body = order_body("s-1");
  http_client client{api_port};
  auto attempt = [&](std::map<std::string, std::string> headers) {
    return client.call(http::verb::post, "/v1/orders", body, headers);
  };
  auto good = signed_headers(shop_a, "POST", "/v1/orders", body);
  check_error(attempt({}), 401, "unauthenticated");
  auto wrong = good;
  wrong[std::string{merchant_api::signature_header}][3] ^= 1;
  check_error(attempt(wrong), 401, "unauthenticated");
  auto other_merchant = good;
  other_merchant[std::string{merchant_api::merchant_header}] = "shop-b";
  check_error(attempt(other_merchant), 401, "unauthenticated");
  auto unknown = good;
  unknown[std::string{merchant_api::merchant_header}] = "shop-x";
  check_error(attempt(unknown), 401, "unauthenticated");
  // A minute beyond the 300 s window either way: a second ticking over between signing and
  // checking must not bring the timestamp back inside.
  check_error(attempt(signed_headers(shop_a, "POST", "/v1/orders", body, -360)), 401,
              "unauthenticated");
  check_error(attempt(signed_headers(shop_a, "POST", "/v1/orders", body, 360)), 401,
              "unauthenticated");
  // Signed for another path or body.
  check_error(attempt(signed_headers(shop_a, "POST", "/v1/orders/batch", body)), 401,
              "unauthenticated");
  check_error(attempt(signed_headers(shop_a, "POST", "/v1/orders", order_body("s-2"))), 401,
              "unauthenticated");
  BOOST_TEST(stored_rows() == 0);
  // The same connection still serves a good request.
  BOOST_TEST(attempt(good).status == 201u);
}

BOOST_AUTO_TEST_CASE(bad_bodies_get_typed_errors) {
  start();
  check_error(post(shop_a, "/v1/orders", "{\"client_ref\": "), 400, "malformed_message");
  check_error(post(shop_a, "/v1/orders", "[1,2]"), 400, "malformed_message");
  check_error(post(shop_a, "/v1/orders", order_body("m-1", "1380013800")), 400, "invalid_phone",
              "phone");
  check_error(post(shop_a, "/v1/orders", order_body("m-1", "13800138000", 1234)), 400,
              "unsupported_amount", "amount_fen");
  check_error(post(shop_a, "/v1/orders", R"({"phone":"13800138000","amount_fen":1000})"), 400,
              "missing_field", "client_ref");
  check_error(post(shop_a, "/v1/orders",
                   order_body("m-1", "13800138000", 1000, "https://a.example.evil/cb/")),
              400, "invalid_notify_url", "notify_url");
  check_error(post(shop_a, "/v1/orders",
                   order_body("m-1", "13800138000", 1000, "https://a.example@evil/cb/")),
              400, "invalid_notify_url", "notify_url");
  // shop-b allows no callback URL at all.
  check_error(post(shop_b, "/v1/orders",
                   order_body("m-1", "13800138000", 1000, "https://a.example/cb/")),
              400, "invalid_notify_url", "notify_url");
  {
    http_client client{api_port};
    auto body = order_body("m-2");
    auto reply = client.call(http::verb::post, "/v1/orders", body,
                             signed_headers(shop_a, "POST", "/v1/orders", body), "text/plain");
    check_error(reply, 415, "malformed_message");
  }
  check_error(get(shop_a, "/v1/nothing"), 404, "not_found");
  check_error(get(shop_a, "/v1/orders"), 400, "missing_field", "client_ref");
  BOOST_TEST(stored_rows() == 0);
}

BOOST_AUTO_TEST_CASE(an_oversized_body_or_too_many_headers_are_refused_and_the_node_serves_on) {
  start();
  std::string huge(10u << 20, 'x');
  auto reply = post(shop_a, "/v1/orders", huge);
  // Either the answer 413 arrives, or the connection is closed while the client still sends.
  BOOST_TEST((reply.closed || reply.status == 413u), reply.status);
  if (!reply.closed)
    BOOST_TEST(reply.body["error"]["code"] == "request_too_large");
  std::map<std::string, std::string> many;
  for (int i = 0; i < 30; ++i)
    many["X-Filler-" + std::to_string(i)] = "1";
  http_client client{api_port};
  auto crowded = client.call(http::verb::get, "/v1/health", "", many);
  check_error(crowded, 413, "request_too_large");
  BOOST_TEST(post(shop_a, "/v1/orders", order_body("after-1")).status == 201u);
}

BOOST_AUTO_TEST_CASE(a_slow_loris_client_is_closed_while_others_are_served) {
  start();
  raw_connection loris{api_port};
  BOOST_REQUIRE(loris.connected());
  std::string request = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
  auto started = steady::now();
  bool closed = false;
  // One byte every 100 ms: never a whole request. read_timeout_ms is 1000.
  for (size_t i = 0; i < 60 && !closed; ++i) {
    if (!loris.send_all({static_cast<uint8_t>(request[i % request.size()])}))
      closed = true;
    // Another client is served meanwhile.
    if (i == 3) {
      http_client other{api_port};
      BOOST_TEST(other.call(http::verb::get, "/v1/health").status == 200u);
    }
    closed = closed || loris.closed_by_peer_now();
    std::this_thread::sleep_for(100ms);
  }
  if (!closed)
    closed = loris.closed_by_peer_before(steady::now() + 2s);
  auto took_ms =
    std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started).count();
  BOOST_TEST(closed);
  BOOST_TEST(took_ms < 4000);
  BOOST_TEST(took_ms >= 900);
}

BOOST_AUTO_TEST_CASE(the_php_example_client_submits_and_finds_an_order) {
  start();
  const char* source = std::getenv("TOPUP_SOURCE_DIR");
  BOOST_REQUIRE(source != nullptr);
  std::vector<std::string> command{"/usr/bin/php",
                                   std::string{source} + "/examples/merchant_client.php",
                                   "http://127.0.0.1:" + std::to_string(api_port),
                                   shop_a.id,
                                   shop_a.secret,
                                   "r-php 1",
                                   "13800138000",
                                   "1000"};
  auto first = run_program(command, dir.file("php.err"));
  BOOST_TEST_REQUIRE((first.code && *first.code == 0), first.describe());
  BOOST_REQUIRE_EQUAL(first.out.size(), 2u);
  BOOST_TEST(first.out[0].rfind("201 ", 0) == 0u, first.out[0]);
  BOOST_TEST(first.out[1].rfind("200 ", 0) == 0u, first.out[1]);
  auto id = first.out[0].substr(4, first.out[0].find(' ', 4) - 4);
  BOOST_TEST(first.out[1].find(id) != std::string::npos);
  auto again = run_program(command, dir.file("php.err"));
  BOOST_TEST_REQUIRE(again.out.size() == 2u, again.describe());
  BOOST_TEST(again.out[0].rfind("200 " + id, 0) == 0u, again.out[0]);
  // A wrong secret is refused.
  command[4] = "not-the-secret";
  auto refused = run_program(command, dir.file("php.err"));
  BOOST_TEST((refused.code && *refused.code == 1), refused.describe());
  BOOST_TEST_REQUIRE(!refused.out.empty());
  BOOST_TEST(refused.out[0].rfind("401 unauthenticated", 0) == 0u, refused.out[0]);
  BOOST_TEST(stored_rows() == 1);
}

// The PHP examples end to end: merchant_client.php submits an order, and the node's result
// callback reaches callback_receiver.php (PHP's built-in server), which verifies its signature
// and acknowledges it; a forged callback is refused.
BOOST_AUTO_TEST_CASE(the_php_example_receiver_verifies_the_callback_of_an_order_it_submitted) {
  const char* source = std::getenv("TOPUP_SOURCE_DIR");
  BOOST_REQUIRE(source != nullptr);
  auto receiver_port = free_port();
  auto receiver_log = dir.file("callbacks.log");
  process::child_process receiver{
    {"/usr/bin/env", "TOPUP_MERCHANT=" + shop_a.id, "TOPUP_SECRET=" + shop_a.secret,
     "TOPUP_CALLBACK_LOG=" + receiver_log, "/usr/bin/php", "-S",
     "127.0.0.1:" + std::to_string(receiver_port),
     std::string{source} + "/examples/callback_receiver.php"},
    dir.file("php-server.log")};
  cfg["merchants"]["list"][0]["callback_url"] =
    "http://127.0.0.1:" + std::to_string(receiver_port) + "/topup/result";
  cfg["callbacks"] = {{"retry_after_s", {1}}, {"jitter", 0}, {"poll_interval_ms", 100}};
  start();
  auto submitted = run_program({"/usr/bin/php", std::string{source} + "/examples/merchant_client.php",
                                "http://127.0.0.1:" + std::to_string(api_port), shop_a.id,
                                shop_a.secret, "r-php-cb", "13800138000", "1000"},
                               dir.file("php.err"));
  BOOST_TEST_REQUIRE((submitted.code && *submitted.code == 0), submitted.describe());
  BOOST_TEST_REQUIRE(submitted.out[0].rfind("201 ", 0) == 0u, submitted.out[0]);
  auto id = submitted.out[0].substr(4, submitted.out[0].find(' ', 4) - 4);

  // The receiver may start after the first attempt: the node tries again a second later.
  auto lines = [&] {
    std::vector<std::string> found;
    std::ifstream in{receiver_log};
    for (std::string line; std::getline(in, line);)
      found.push_back(line);
    return found;
  };
  auto verified = "verified " + id + ":succeeded " + id + " succeeded";
  auto until = steady::now() + 30s;
  while (lines().empty() || lines().back() != verified) {
    BOOST_REQUIRE_MESSAGE(steady::now() < until, "no verified callback; the receiver logged: "
                                                   << tail_of(receiver_log)
                                                   << tail_of(dir.file("php-server.log")));
    std::this_thread::sleep_for(100ms);
  }
  for (const auto& line : lines())
    BOOST_TEST(line == verified);

  // A callback signed with another secret is refused.
  auto body = R"({"delivery_id":"forged:succeeded","order_id":"forged","status":"succeeded"})";
  auto forged = http_client{receiver_port}.call(
    http::verb::post, "/topup/result", body,
    signed_headers({shop_a.id, "not-the-secret"}, "POST", "/topup/result", body));
  BOOST_TEST(forged.status == 401u);
  BOOST_TEST(lines().back() == "rejected bad signature");
}

BOOST_AUTO_TEST_SUITE_END()
