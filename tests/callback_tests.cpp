#define BOOST_TEST_MODULE callback_tests
#include <boost/test/unit_test.hpp>

// Result callbacks end to end: a real topup-node on 127.0.0.1 whose merchants' callback URLs
// point at HTTP receivers run by the test (Boost.Beast, one thread per connection). Every
// final order is notified, signed as the merchant's own requests are; a notification
// refused once comes again with the same delivery id; a merchant whose endpoint never answers
// does not hold up another's; a node killed with notifications pending delivers them after
// its restart.

#include "api/merchant_api.hpp"
#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

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

struct received_callback {
  std::string target;
  std::map<std::string, std::string> headers;
  std::string body;
  unsigned answered = 0;  ///< the status answered; 0: held unanswered
};

/// An HTTP endpoint of a merchant: records every request and answers what `answer` says for
/// the n-th request (from 1) of a delivery id; nothing: the request is held unanswered until
/// the receiver goes. Each connection carries one request (the answer closes it).
class callback_receiver {
public:
  using answer_rule = std::function<std::optional<std::pair<unsigned, std::string>>(
    const std::string& delivery_id, int nth)>;

  explicit callback_receiver(answer_rule answer)
    : acceptor_(io_, tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0}),
      answer_(std::move(answer)) {
    acceptor_.non_blocking(true);
    port_ = acceptor_.local_endpoint().port();
    accepting_ = std::thread([this] { accept_loop(); });
  }

  ~callback_receiver() {
    stop_ = true;
    accepting_.join();
    for (auto& t : connections_)
      t.join();
  }

  uint16_t port() const { return port_; }

  std::vector<received_callback> received() {
    std::lock_guard<std::mutex> guard{mutex_};
    return received_;
  }

  void set_answer(answer_rule answer) {
    std::lock_guard<std::mutex> guard{mutex_};
    answer_ = std::move(answer);
  }

private:
  void accept_loop() {
    while (!stop_) {
      tcp::socket socket{io_};
      beast::error_code error;
      acceptor_.accept(socket, error);
      if (error) {
        std::this_thread::sleep_for(5ms);
        continue;
      }
      connections_.emplace_back([this, s = std::move(socket)]() mutable { serve(std::move(s)); });
    }
  }

  void serve(tcp::socket socket) {
    timeval read_timeout{5, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &read_timeout,
                 sizeof read_timeout);
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    beast::error_code error;
    http::read(socket, buffer, request, error);
    if (error)
      return;
    received_callback got;
    got.target = std::string{request.target()};
    for (const auto& field : request)
      got.headers[std::string{field.name_string()}] = std::string{field.value()};
    got.body = request.body();
    auto delivery = got.headers[std::string{merchant_api::delivery_header}];
    std::optional<std::pair<unsigned, std::string>> answer;
    size_t index = 0;
    {
      std::lock_guard<std::mutex> guard{mutex_};
      answer = answer_(delivery, ++attempts_[delivery]);
      got.answered = answer ? answer->first : 0;
      index = received_.size();
      received_.push_back(got);
    }
    if (!answer) {
      while (!stop_)
        std::this_thread::sleep_for(10ms);
      return;
    }
    http::response<http::string_body> response{static_cast<http::status>(answer->first), 11};
    response.keep_alive(false);
    response.body() = answer->second;
    response.prepare_payload();
    http::write(socket, response, error);
    (void)index;
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread accepting_;
  std::vector<std::thread> connections_;  ///< accept thread only, joined after it
  std::mutex mutex_;
  answer_rule answer_;
  std::map<std::string, int> attempts_;
  std::vector<received_callback> received_;
};

callback_receiver::answer_rule refuse_first_then_ack() {
  return [](const std::string&, int nth) -> std::optional<std::pair<unsigned, std::string>> {
    if (nth == 1)
      return std::pair{500u, std::string{"try later"}};
    return std::pair{200u, std::string{"success"}};
  };
}

callback_receiver::answer_rule never_answer() {
  return [](const std::string&, int) -> std::optional<std::pair<unsigned, std::string>> {
    return std::nullopt;
  };
}

callback_receiver::answer_rule always(unsigned status, std::string body) {
  return [=](const std::string&, int) -> std::optional<std::pair<unsigned, std::string>> {
    return std::pair{status, body};
  };
}

const merchant shop_a{"shop-a", "secret-a", "", {}};
const merchant shop_b{"shop-b", "secret-b", "", {}};

/// The delivery ids a receiver acknowledged.
std::set<std::string> acknowledged(callback_receiver& receiver) {
  std::set<std::string> ids;
  for (const auto& got : receiver.received())
    if (got.answered == 200)
      ids.insert(got.headers.at(std::string{merchant_api::delivery_header}));
  return ids;
}

struct callback_fixture {
  temp_dir dir;
  json cfg = test_node_config(dir.path());
  std::string config_path = dir.file("node.json");
  std::string log_path = dir.file("node.log");
  std::optional<node_process> node;
  client_config client_cfg;
  caf::actor_system system{client_cfg};
  caf::scoped_actor self{system};
  gateway_actor gateway;

  void configure(uint16_t port_a, uint16_t port_b) {
    auto url = [](uint16_t port, const std::string& path) {
      return "http://127.0.0.1:" + std::to_string(port) + path;
    };
    cfg["merchants"] = {
      {"default", shop_a.id},
      {"list",
       {{{"id", shop_a.id},
         {"secret", shop_a.secret},
         {"callback_url", url(port_a, "/notify/a")},
         {"allowed_callback_prefixes", {url(port_a, "/notify/")}}},
        {{"id", shop_b.id}, {"secret", shop_b.secret}, {"callback_url", url(port_b, "/b")}}}}};
    cfg["callbacks"] = {{"retry_after_s", {1}}, {"repeat_every_s", 1},
                        {"give_up_after_s", 3600},  {"jitter", 0},
                        {"timeout_ms", 1000},       {"connect_timeout_ms", 500},
                        {"poll_interval_ms", 100},  {"concurrency_per_merchant", 2}};
    // cucc orders fail for good: failures are notified too.
    provider_entry(cfg, "p-cucc")["adapter"]["outcomes"] = {{"permanent", 1.0}};
    provider_entry(cfg, "p-cucc").erase("failover");
    provider_entry(cfg, "p-agg")["carriers"] = json::array({"cmcc", "ctcc"});
  }

  void start() {
    write_json(config_path, cfg);
    node.reset();
    node.emplace(TOPUP_NODE, config_path, log_path);
    auto connected = connect_gateway(system, node->port());
    BOOST_REQUIRE_MESSAGE(connected, "cannot connect to the node: " << error_text(connected));
    gateway = *connected;
  }

  order submit(const order_request& request) {
    std::optional<order> accepted;
    self->request(gateway, 10s, submit_atom::value, request)
      .receive([&](order& o) { accepted = std::move(o); },
               [&](caf::error& e) { BOOST_FAIL("submit failed: " << describe(e)); });
    return *accepted;
  }

  order_request request_for(const merchant& m, const std::string& ref, const std::string& phone,
                            const std::string& notify_url = "") {
    return order_request{ref, phone, 1000, m.id, notify_url};
  }

  /// (state, attempts) of every outbox row, by delivery id.
  std::map<std::string, std::pair<std::string, int>> outbox() {
    soci::session session{soci::sqlite3, "db=" + dir.file("orders.db")};
    std::map<std::string, std::pair<std::string, int>> rows;
    soci::rowset<soci::row> all =
      (session.prepare << "SELECT delivery_id, state, attempts FROM callbacks");
    for (const auto& row : all)
      rows[row.get<std::string>(0)] = {row.get<std::string>(1), row.get<int>(2)};
    return rows;
  }
};

/// Waits until `receiver` has acknowledged `count` deliveries; fails after a minute.
void wait_for_acknowledged(callback_receiver& receiver, size_t count) {
  auto until = steady::now() + 60s;
  while (acknowledged(receiver).size() < count) {
    BOOST_REQUIRE_MESSAGE(steady::now() < until, "only " << acknowledged(receiver).size() << " of "
                                                         << count << " callbacks acknowledged");
    std::this_thread::sleep_for(50ms);
  }
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(result_callbacks, callback_fixture)

BOOST_AUTO_TEST_CASE(every_final_order_is_notified_signed_and_retried_under_one_delivery_id) {
  callback_receiver receiver_a{refuse_first_then_ack()};
  callback_receiver receiver_b{never_answer()};
  configure(receiver_a.port(), receiver_b.port());
  start();
  // shop-b's endpoint takes every call and never answers: its calls fill its own slots.
  for (int i = 0; i < 5; ++i)
    submit(request_for(shop_b, "b-" + std::to_string(i), "1380013800" + std::to_string(i)));
  std::map<std::string, std::string> expected_status, expected_target;
  for (int i = 0; i < 8; ++i) {
    bool fails = i % 3 == 0;  // a cucc number
    bool own_url = i % 2 == 0;
    auto phone = std::string{fails ? "1300013000" : "1390013900"} + std::to_string(i);
    auto notify_url =
      own_url ? "http://127.0.0.1:" + std::to_string(receiver_a.port()) + "/notify/own?n="
                  + std::to_string(i)
              : std::string{};
    auto o = submit(request_for(shop_a, "a-" + std::to_string(i), phone, notify_url));
    expected_status[o.id] = fails ? "failed" : "succeeded";
    expected_target[o.id] = own_url ? "/notify/own?n=" + std::to_string(i) : "/notify/a";
  }
  wait_for_acknowledged(receiver_a, expected_status.size());

  merchant_directory directory{{shop_a, shop_b}, shop_a.id};
  std::map<std::string, std::vector<received_callback>> by_delivery;
  for (auto& got : receiver_a.received()) {
    auto header = [&](std::string_view name) { return got.headers[std::string{name}]; };
    auto body = json::parse(got.body);
    auto order_id = body.at("order_id").get<std::string>();
    BOOST_TEST_REQUIRE(expected_status.count(order_id) == 1u, got.body);
    BOOST_TEST(body.at("status") == expected_status[order_id]);
    BOOST_TEST(body.at("merchant") == "shop-a");
    BOOST_TEST(got.target == expected_target[order_id]);
    BOOST_TEST(got.body.find("1390013900") == std::string::npos);  // the phone is masked
    BOOST_TEST(header(merchant_api::delivery_header) == body.at("delivery_id"));
    BOOST_TEST(header("Content-Type") == "application/json");
    // The merchant verifies it exactly as the node verifies the merchant's requests.
    auto verified = merchant_api::authenticate(
      directory,
      {header(merchant_api::merchant_header), header(merchant_api::timestamp_header),
       header(merchant_api::signature_header), "POST", got.target, got.body},
      static_cast<int64_t>(std::time(nullptr)), 300);
    BOOST_TEST(std::holds_alternative<const merchant*>(verified), got.body);
    by_delivery[header(merchant_api::delivery_header)].push_back(got);
  }
  // One delivery id per order; refused once (500), then the same notification again.
  BOOST_TEST(by_delivery.size() == expected_status.size());
  for (const auto& [id, attempts] : by_delivery) {
    BOOST_TEST_REQUIRE(attempts.size() >= 2u, id);
    BOOST_TEST(attempts[0].answered == 500u);
    BOOST_TEST(attempts[1].answered == 200u);
    BOOST_TEST(attempts[0].body == attempts[1].body);
  }
  // shop-b's notifications wait their turn, still pending; shop-a's are all delivered.
  BOOST_TEST(!receiver_b.received().empty());
  auto rows = outbox();
  for (const auto& [id, row] : rows) {
    if (by_delivery.count(id)) {
      BOOST_TEST(row.first == "delivered", id);
      BOOST_TEST(row.second == 2, id);
    } else {
      BOOST_TEST(row.first == "pending", id);
    }
  }
  BOOST_TEST(rows.size() == expected_status.size() + 5);
}

BOOST_AUTO_TEST_CASE(notifications_pending_at_a_crash_are_delivered_after_the_restart) {
  callback_receiver receiver_a{always(503, "down for maintenance")};
  callback_receiver receiver_b{always(200, "success")};
  configure(receiver_a.port(), receiver_b.port());
  start();
  std::set<std::string> ids;
  for (int i = 0; i < 6; ++i)
    ids.insert(submit(request_for(shop_a, "k-" + std::to_string(i),
                                  "1390013900" + std::to_string(i)))
                 .id);
  // Every notification was tried (and refused) at least once, so all are pending in the store.
  auto until = steady::now() + 60s;
  auto tried = [&] {
    std::set<std::string> seen;
    for (const auto& got : receiver_a.received())
      seen.insert(json::parse(got.body).at("order_id").get<std::string>());
    return seen;
  };
  while (tried() != ids) {
    BOOST_REQUIRE_MESSAGE(steady::now() < until, "not every notification was tried");
    std::this_thread::sleep_for(50ms);
  }
  node->kill();
  for (const auto& [id, row] : outbox())
    BOOST_TEST(row.first == "pending", id);
  receiver_a.set_answer(always(200, "success"));
  start();
  wait_for_acknowledged(receiver_a, ids.size());
  for (const auto& [id, row] : outbox())
    BOOST_TEST(row.first == "delivered", id);
}

BOOST_AUTO_TEST_SUITE_END()
