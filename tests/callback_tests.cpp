#define BOOST_TEST_MODULE callback_tests
#include <boost/test/unit_test.hpp>

// Result callbacks end to end: a real topup-node on 127.0.0.1 whose merchants' callback URLs
// point at HTTP receivers run by the test (Boost.Beast, one thread per connection). Every
// final order is notified, signed as the merchant's own requests are; a notification
// refused once comes again with the same delivery id; a merchant whose endpoint never answers
// does not hold up another's; a node killed with notifications pending delivers them after
// its restart. Over https, the receiver's certificate is checked: one for another host, or
// of a CA the node does not trust, is refused and the notification stays pending. An order
// whose provider never answers is notified `unknown` at its deadline, and again, under a new
// delivery id, once a status query finds it recharged.

#include "api/merchant_api.hpp"
#include "domain/store_shards.hpp"
#include "tests/callback_receiver.hpp"
#include "tests/merchant_sim_process.hpp"
#include "tests/process_support.hpp"
#include "tests/provider_sim_process.hpp"
#include "tests/test_certificates.hpp"
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
#include <fstream>
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

  /// Runs topup-cli against the node with `args` (after --node and --timeout).
  program_run cli(const std::vector<std::string>& args) {
    std::vector<std::string> command{TOPUP_CLI, "--node",
                                     "127.0.0.1:" + std::to_string(node->port()), "--timeout",
                                     "10s"};
    command.insert(command.end(), args.begin(), args.end());
    return run_program(command, dir.file("cli.err"));
  }

  /// `topup-cli --json deliveries ORDER_ID`, one object per delivery.
  std::vector<json> deliveries(const std::string& order_id) {
    auto run = cli({"--json", "deliveries", order_id});
    BOOST_TEST_REQUIRE((run.code == 0), run.describe());
    std::vector<json> found;
    for (const auto& line : run.out)
      found.push_back(json::parse(line));
    return found;
  }

  /// The single node's stats (`topup-cli --json stats`).
  json stats() {
    auto run = cli({"--json", "stats"});
    BOOST_TEST_REQUIRE((run.code == 0 && run.out.size() == 1u), run.describe());
    return json::parse(run.out.front());
  }

  /// Waits until the order's only delivery is in `state` with at least `attempts`; returns it.
  json wait_for_delivery(const std::string& order_id, const std::string& state, int attempts) {
    auto until = steady::now() + 60s;
    for (;;) {
      auto found = deliveries(order_id);
      if (found.size() == 1 && found[0].at("state") == state
          && found[0].at("attempts").get<int>() >= attempts)
        return found[0];
      BOOST_REQUIRE_MESSAGE(steady::now() < until, "the delivery of " << order_id << " is not "
                                                     << state << ": " << json(found).dump());
      std::this_thread::sleep_for(100ms);
    }
  }

  /// Starts the node with topup-merchant-sim as shop-a's endpoint.
  void start_with(merchant_sim_process& sim, callback_receiver& receiver_b) {
    configure(sim.port(), receiver_b.port());
    start();
  }

  /// Submits `count` orders of shop-a ("<prefix>-<i>"; with `failures`, every third a cucc
  /// number, failed for good and notified too) and lists their ids, one a line, in
  /// expected-orders.txt for topup-merchant-sim's report.
  std::vector<std::string> submit_listed(const std::string& prefix, int count, bool failures) {
    std::ofstream expected{dir.file("expected-orders.txt")};
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) {
      bool fails = failures && i % 3 == 0;
      auto phone = std::string{fails ? "1300013000" : "1390013900"} + std::to_string(i);
      ids.push_back(submit(request_for(shop_a, prefix + "-" + std::to_string(i), phone)).id);
      expected << ids.back() << "\n";
    }
    return ids;
  }

  /// Waits until topup-merchant-sim's report counts at least `count` under `what`; fails
  /// after a minute.
  void wait_for_report(merchant_sim_process& sim, const char* what, size_t count) {
    auto until = steady::now() + 60s;
    while (sim.report().at(what).get<size_t>() < count) {
      BOOST_REQUIRE_MESSAGE(steady::now() < until, what << " < " << count << ": "
                                                         << sim.report().dump());
      std::this_thread::sleep_for(100ms);
    }
  }

  /// topup-merchant-sim's report of its ledger against expected-orders.txt, once it stopped:
  /// no order missing (exit 0), no bad signature.
  json final_report(merchant_sim_process& sim) {
    auto stopped = sim.stop();
    BOOST_TEST((stopped && *stopped == 0));
    auto run = run_program({TOPUP_MERCHANT_SIM, "report", "--ledger", sim.ledger_path(),
                            "--expect", dir.file("expected-orders.txt")},
                           dir.file("report.err"));
    BOOST_TEST_REQUIRE((run.code == 0 && run.out.size() == 1u), run.describe());
    auto report = json::parse(run.out.front());
    BOOST_TEST(report.at("bad_signatures") == 0);
    BOOST_TEST(report.at("missing_orders").empty());
    return report;
  }

  /// (state, attempts) of every outbox row, by delivery id.
  /// Every shard file's outbox (store.shards; one file unless a test sets more).
  std::map<std::string, std::pair<std::string, int>> outbox() {
    std::map<std::string, std::pair<std::string, int>> rows;
    size_t shards = cfg["store"].value("shards", 1);
    for (size_t shard = 0; shard < shards; ++shard) {
      soci::session session{soci::sqlite3, "db=" + shard_file(dir.file("orders.db"), shard)};
      soci::rowset<soci::row> all =
        (session.prepare << "SELECT delivery_id, state, attempts FROM callbacks");
      for (const auto& row : all)
        rows[row.get<std::string>(0)] = {row.get<std::string>(1), row.get<int>(2)};
    }
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

/// Notifications pending when the node is SIGKILLed are delivered after its restart, from
/// every shard's outbox of a store of `shards`.
void deliver_after_a_crash(callback_fixture& run, size_t shards) {
  callback_receiver receiver_a{always(503, "down for maintenance")};
  callback_receiver receiver_b{always(200, "success")};
  run.configure(receiver_a.port(), receiver_b.port());
  run.cfg["store"]["shards"] = shards;
  run.start();
  std::set<std::string> ids;
  for (int i = 0; i < 6; ++i)
    ids.insert(run.submit(run.request_for(shop_a, "k-" + std::to_string(i),
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
  run.node->kill();
  auto pending = run.outbox();
  BOOST_TEST(pending.size() == ids.size());
  for (const auto& [id, row] : pending)
    BOOST_TEST(row.first == "pending", id);
  receiver_a.set_answer(always(200, "success"));
  run.start();
  wait_for_acknowledged(receiver_a, ids.size());
  for (const auto& [id, row] : run.outbox())
    BOOST_TEST(row.first == "delivered", id);
}

BOOST_AUTO_TEST_CASE(notifications_pending_at_a_crash_are_delivered_after_the_restart) {
  deliver_after_a_crash(*this, 1);
}

// Six orders over three shard files: each file's outbox is delivered from.
BOOST_AUTO_TEST_CASE(pending_notifications_of_every_shard_are_delivered_after_a_crash) {
  deliver_after_a_crash(*this, 3);
}

// topup-merchant-sim as shop-a's endpoint: down (500) until every notification met the
// outage, then up; then answering wrongly until the next one met that. Every final order is
// delivered in the end, each at least once, all signed right.
BOOST_AUTO_TEST_CASE(a_merchant_down_for_a_while_gets_every_final_order_from_the_simulator) {
  merchant_sim_process sim{dir, "merchant-a", shop_a.id, shop_a.secret, {"--fail-for", "600"}};
  callback_receiver receiver_b{always(200, "success")};
  start_with(sim, receiver_b);
  auto ids = submit_listed("s", 6, true);
  auto wait_for = [&](const char* what, size_t count) { wait_for_report(sim, what, count); };
  wait_for("distinct", ids.size());  // every notification was refused at least once
  BOOST_TEST(sim.report().at("acknowledged") == 0);
  sim.control("ack", 0);
  wait_for("acknowledged", ids.size());
  // Answering wrongly (200, another body): the next order's notification is not delivered.
  sim.control("wrong", 0);
  auto late = submit(request_for(shop_a, "s-late", "13900139009")).id;
  wait_for("distinct", ids.size() + 1);
  sim.control("ack", 0);
  wait_for("acknowledged", ids.size() + 1);
  auto report = final_report(sim);
  BOOST_TEST(report.at("final_orders") == ids.size() + 1);
  BOOST_TEST(report.at("distinct") == ids.size() + 1);
  // Each refused (or answered wrongly) before it was acknowledged: sent more than once.
  BOOST_TEST(report.at("duplicates").get<size_t>() >= ids.size() + 1);
  auto rows = outbox();
  BOOST_TEST(rows.size() == ids.size() + 1);
  for (const auto& [id, row] : rows)
    BOOST_TEST(row.first == "delivered", id);
  BOOST_TEST(rows.count(late + ":succeeded") == 1u);
  // An order the merchant never heard of is a gap.
  std::ofstream{dir.file("more-orders.txt")} << "no-such-order\n";
  auto gap = run_program({TOPUP_MERCHANT_SIM, "report", "--ledger", sim.ledger_path(),
                          "--expect", dir.file("more-orders.txt")},
                         dir.file("report.err"));
  BOOST_TEST_REQUIRE((gap.code == 1 && gap.out.size() == 1u), gap.describe());
  BOOST_TEST(json::parse(gap.out.front()).at("missing_orders") == json::array({"no-such-order"}));
}

// topup-merchant-sim hangs (takes each call and never answers) until every notification met
// that: the sender times each call out, keeps it pending and calls again by the schedule;
// once the simulator answers again, every final order is delivered, none lost.
BOOST_AUTO_TEST_CASE(a_hanging_merchant_is_timed_out_and_gets_every_notification_later) {
  merchant_sim_process sim{dir, "merchant-a", shop_a.id, shop_a.secret, {"--hang-for", "600"}};
  callback_receiver receiver_b{always(200, "success")};
  start_with(sim, receiver_b);
  auto ids = submit_listed("h", 6, false);
  // Every notification reached the simulator and timed out at least once.
  for (const auto& id : ids) {
    auto timed_out = wait_for_delivery(id, "pending", 1);
    BOOST_TEST(timed_out.at("last_error").get<std::string>().find("no answer from")
                 != std::string::npos,
               timed_out.dump());
  }
  wait_for_report(sim, "distinct", ids.size());
  BOOST_TEST(sim.report().at("acknowledged") == 0);
  sim.control("ack", 0);
  for (const auto& id : ids)
    BOOST_TEST(wait_for_delivery(id, "delivered", 2).at("last_http_status") == 200);
  auto report = final_report(sim);
  BOOST_TEST(report.at("distinct") == ids.size());
  BOOST_TEST(report.at("duplicates").get<size_t>() >= ids.size());  // each sent again
  for (const auto& [id, row] : outbox())
    BOOST_TEST(row.first == "delivered", id);
}

BOOST_AUTO_TEST_CASE(the_cli_shows_deliveries_and_counts_and_redelivers_an_abandoned_one) {
  callback_receiver receiver_a{always(500, "try later")};
  callback_receiver receiver_b{always(200, "success")};
  configure(receiver_a.port(), receiver_b.port());
  // The first failure is the last: the next attempt would come after give_up_after_s.
  cfg["callbacks"]["give_up_after_s"] = 1;
  start();
  auto o = submit(request_for(shop_a, "r-1", "13900139001"));
  auto abandoned = wait_for_delivery(o.id, "abandoned", 1);
  BOOST_TEST(abandoned.at("delivery_id") == o.id + ":succeeded");
  BOOST_TEST(abandoned.at("last_http_status") == 500);
  BOOST_TEST(abandoned.at("merchant") == shop_a.id);
  auto text = cli({"deliveries", o.id});
  BOOST_TEST_REQUIRE((text.code == 0), text.describe());
  BOOST_TEST_REQUIRE(text.out.size() == 2u, text.describe());
  BOOST_TEST(text.out[0].find("DELIVERY_ID") == 0u);
  BOOST_TEST(text.out[1].find(o.id + ":succeeded  abandoned") == 0u, text.out[1]);
  auto counted = stats();
  BOOST_TEST(counted.at("since_start").at("callbacks").at("abandoned") == 1);
  BOOST_TEST(counted.at("since_start").at("callbacks").at("delivered") == 0);
  BOOST_TEST(counted.at("store_wide").at("callbacks_pending") == 0);

  // The merchant's endpoint works again: the operator sends the notification once more.
  receiver_a.set_answer(always(200, "success"));
  auto again = cli({"--json", "redeliver", o.id});
  BOOST_TEST_REQUIRE((again.code == 0 && again.out.size() == 1u), again.describe());
  auto due = json::parse(again.out.front());
  BOOST_TEST(due.at("delivery_id") == o.id + ":succeeded");
  BOOST_TEST(due.at("state") == "pending");
  wait_for_acknowledged(receiver_a, 1);
  auto delivered = wait_for_delivery(o.id, "delivered", 2);
  BOOST_TEST(delivered.at("attempts") == 2);
  BOOST_TEST(delivered.at("last_http_status") == 200);
  // The same delivery id both times: the merchant can tell the repeat.
  for (const auto& got : receiver_a.received())
    BOOST_TEST(got.headers.at(std::string{merchant_api::delivery_header}) == o.id + ":succeeded");
  counted = stats();
  BOOST_TEST(counted.at("since_start").at("callbacks").at("delivered") == 1);
  BOOST_TEST(counted.at("since_start").at("callbacks").at("abandoned") == 1);
  BOOST_TEST(counted.at("store_wide").at("callbacks_pending") == 0);
  auto lines = cli({"stats"});
  BOOST_TEST_REQUIRE((lines.code == 0), lines.describe());
  bool counted_line = false;
  for (const auto& line : lines.out)
    counted_line = counted_line
                   || line == "  callbacks: 1 delivered, 0 failed attempts (tried again), 1 "
                              "abandoned, 0 in flight";
  BOOST_TEST(counted_line, lines.describe());

  // A delivered one can be sent again too; an order without notifications cannot.
  auto repeat = cli({"redeliver", o.id});
  BOOST_TEST_REQUIRE((repeat.code == 0), repeat.describe());
  auto more = wait_for_delivery(o.id, "delivered", 3);
  BOOST_TEST(more.at("attempts") == 3);
  auto none = cli({"redeliver", "no-such-order"});
  BOOST_TEST((none.code == 1), none.describe());

  // By its delivery id: the same notification once more.
  auto by_id = cli({"--json", "redeliver", "--delivery", o.id + ":succeeded"});
  BOOST_TEST_REQUIRE((by_id.code == 0 && by_id.out.size() == 1u), by_id.describe());
  BOOST_TEST(json::parse(by_id.out.front()).at("delivery_id") == o.id + ":succeeded");
  BOOST_TEST(wait_for_delivery(o.id, "delivered", 4).at("attempts") == 4);
  auto unknown_id = cli({"redeliver", "--delivery", o.id + ":failed"});
  BOOST_TEST((unknown_id.code == 1), unknown_id.describe());
  auto both = cli({"redeliver", o.id, "--delivery", o.id + ":succeeded"});
  BOOST_TEST((both.code == 2), both.describe());
  auto nothing = cli({"deliveries", "no-such-order"});
  BOOST_TEST_REQUIRE((nothing.code == 0), nothing.describe());
  BOOST_TEST(nothing.out == std::vector<std::string>{"no result callbacks"});
}

// Three merchants on https receivers: shop-a's presents a certificate for 127.0.0.1 from the
// CA the callbacks section trusts; shop-b's one for another host from that CA; shop-c trusts
// a CA of its own (callback_ca_file), which did not sign its receiver's certificate. Only
// shop-a's notification is delivered, signed; the other two are refused at the handshake,
// tried again by the schedule, and stay pending with the certificate's problem recorded.
BOOST_AUTO_TEST_CASE(https_callbacks_check_the_certificate_and_its_host) {
  make_ca(dir, "shops");
  make_ca(dir, "other");
  make_certificate(dir, "shops", "a");
  make_certificate(dir, "shops", "b", "DNS:elsewhere.example");
  auto identity = [&](const std::string& name) {
    return tls_identity{dir.file(name + ".pem"), dir.file(name + ".key")};
  };
  callback_receiver receiver_a{always(200, "success"), identity("shops-a")};
  callback_receiver receiver_b{always(200, "success"), identity("shops-b")};
  callback_receiver receiver_c{always(200, "success"), identity("shops-a")};
  configure(receiver_a.port(), receiver_b.port());
  auto https = [](uint16_t port) { return "https://127.0.0.1:" + std::to_string(port) + "/r"; };
  const merchant shop_c{"shop-c", "secret-c", "", {}};
  cfg["merchants"]["list"] = {
    {{"id", shop_a.id}, {"secret", shop_a.secret}, {"callback_url", https(receiver_a.port())}},
    {{"id", shop_b.id}, {"secret", shop_b.secret}, {"callback_url", https(receiver_b.port())}},
    {{"id", shop_c.id},
     {"secret", shop_c.secret},
     {"callback_url", https(receiver_c.port())},
     {"callback_ca_file", dir.file("other-ca.pem")}}};
  cfg["callbacks"]["ca_file"] = dir.file("shops-ca.pem");
  start();
  auto a = submit(request_for(shop_a, "tls-a", "13900139001"));
  auto b = submit(request_for(shop_b, "tls-b", "13900139002"));
  auto c = submit(request_for(shop_c, "tls-c", "13900139003"));

  wait_for_acknowledged(receiver_a, 1);
  auto got = receiver_a.received().front();
  BOOST_TEST(got.target == "/r");
  BOOST_TEST(json::parse(got.body).at("order_id") == a.id);
  merchant_directory directory{{shop_a, shop_b, shop_c}, shop_a.id};
  auto verified = merchant_api::authenticate(
    directory,
    {got.headers[std::string{merchant_api::merchant_header}],
     got.headers[std::string{merchant_api::timestamp_header}],
     got.headers[std::string{merchant_api::signature_header}], "POST", got.target, got.body},
    static_cast<int64_t>(std::time(nullptr)), 300);
  BOOST_TEST(std::holds_alternative<const merchant*>(verified));
  BOOST_TEST(wait_for_delivery(a.id, "delivered", 1).at("attempts") == 1);

  // Refused, then tried again later (retry_after_s 1): pending, never delivered, and nothing
  // reached the receivers past the handshake.
  auto wrong_host = wait_for_delivery(b.id, "pending", 2);
  auto untrusted = wait_for_delivery(c.id, "pending", 2);
  BOOST_TEST(wrong_host.at("last_error").get<std::string>().find("certificate is refused")
               != std::string::npos,
             wrong_host.dump());
  BOOST_TEST(wrong_host.at("last_error").get<std::string>().find("mismatch") != std::string::npos,
             wrong_host.dump());
  BOOST_TEST(untrusted.at("last_error").get<std::string>().find("certificate is refused")
               != std::string::npos,
             untrusted.dump());
  BOOST_TEST(receiver_b.received().empty());
  BOOST_TEST(receiver_c.received().empty());
  BOOST_TEST(receiver_b.failed_handshakes(2) >= 2);
  BOOST_TEST(receiver_c.failed_handshakes(2) >= 2);
  auto rows = outbox();
  BOOST_TEST(rows.at(a.id + ":succeeded").first == "delivered");
  BOOST_TEST(rows.at(b.id + ":succeeded").first == "pending");
  BOOST_TEST(rows.at(c.id + ":succeeded").first == "pending");
}

BOOST_AUTO_TEST_CASE(a_removed_merchants_notifications_are_kept_pending_and_reported_once) {
  callback_receiver receiver_a{always(200, "success")};
  callback_receiver receiver_b{never_answer()};
  configure(receiver_a.port(), receiver_b.port());
  start();
  std::vector<std::string> held;
  for (int i = 0; i < 3; ++i)
    held.push_back(
      submit(request_for(shop_b, "b-" + std::to_string(i), "1380013800" + std::to_string(i))).id);
  auto until = steady::now() + 60s;
  while (outbox().size() < held.size()) {
    BOOST_REQUIRE_MESSAGE(steady::now() < until, "shop-b's orders were not all notified");
    std::this_thread::sleep_for(50ms);
  }
  BOOST_TEST_REQUIRE((node->terminate(20s) == std::optional<int>{0}));

  // The operator removes shop-b. Its notifications stay pending (the merchant added back
  // gets them), and the node says so once, at start.
  cfg["merchants"]["list"].erase(1);
  start();
  submit(request_for(shop_a, "a-after", "13900139001"));
  wait_for_acknowledged(receiver_a, 1);
  const std::string line = "3 pending result callback(s) of merchant shop-b, which is not in "
                           "the configuration any more";
  until = steady::now() + 30s;
  while (read_file(log_path).find(line) == std::string::npos) {
    BOOST_REQUIRE_MESSAGE(steady::now() < until, "no line about shop-b's notifications:\n"
                                                   << read_file(log_path));
    std::this_thread::sleep_for(50ms);
  }
  auto log = read_file(log_path);
  BOOST_TEST(log.find(line) == log.rfind(line));  // once
  auto rows = outbox();
  for (const auto& id : held)
    BOOST_TEST(rows.at(id + ":succeeded").first == "pending", id);
  BOOST_TEST(stats().at("store_wide").at("callbacks_pending") == 3);
}

BOOST_AUTO_TEST_CASE(an_unknown_outcome_is_notified_at_the_deadline_and_its_resolution_after) {
  // p-cmcc (topup-provider-sim) performs every recharge and never answers the call.
  provider_sim_process sim{dir, "sim",
                           json::array({sim_provider("p-cmcc", {{"unknown", 1}}, 1.0),
                                        sim_provider("p-cucc", {{"success", 1}}),
                                        sim_provider("p-ctcc", {{"success", 1}}),
                                        sim_provider("p-agg", {{"success", 1}})})};
  callback_receiver receiver_a{always(200, "success")};
  callback_receiver receiver_b{always(200, "success")};
  configure(receiver_a.port(), receiver_b.port());
  for (const auto* name : {"p-cmcc", "p-cucc", "p-ctcc", "p-agg"})
    provider_entry(cfg, name)["adapter"] = {{"type", "http"},
                                            {"base_url", sim.base_url(name)},
                                            {"secret", secret_of(name)}};
  start();
  auto o = submit(request_for(shop_a, "lost-answer", "13900139000"));
  // Once the recharge is in the provider's ledger, the provider goes away: the call's answer
  // and every status query are lost until it comes back.
  auto until = steady::now() + 30s;
  while (sim.ledger().at("total_recharges") == 0) {
    BOOST_REQUIRE_MESSAGE(steady::now() < until, "the recharge never reached the provider");
    std::this_thread::sleep_for(5ms);
  }
  sim.kill();

  auto notifications = [&] {
    std::vector<json> bodies;
    for (const auto& got : receiver_a.received())
      bodies.push_back(json::parse(got.body));
    return bodies;
  };
  until = steady::now() + 60s;
  while (notifications().empty()) {
    BOOST_REQUIRE_MESSAGE(steady::now() < until, "no unknown notification arrived");
    std::this_thread::sleep_for(50ms);
  }
  auto unknown = notifications().front();
  BOOST_TEST(unknown.at("delivery_id") == o.id + ":unknown");
  BOOST_TEST(unknown.at("status") == "unknown");
  BOOST_TEST(unknown.at("order_id") == o.id);
  // Due at the deadline, not before: the order was past it when notified.
  BOOST_TEST(unknown.at("updated_at_ms").get<int64_t>() <= o.deadline_ms);
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
                 .count()
             >= o.deadline_ms);
  std::optional<order> stored;
  self->request(gateway, 10s, caf::get_atom::value, o.id)
    .receive([&](order& found) { stored = std::move(found); },
             [&](caf::error& e) { BOOST_FAIL("get failed: " << describe(e)); });
  BOOST_TEST((stored->status == order_status::unknown));

  // The provider is back: a query finds the recharge, and the order's resolution is news.
  sim.restart();
  until = steady::now() + 60s;
  while (notifications().size() < 2 || notifications().back().at("status") != "succeeded") {
    BOOST_REQUIRE_MESSAGE(steady::now() < until, "the resolution was not notified: "
                                                   << json(notifications()).dump());
    std::this_thread::sleep_for(50ms);
  }
  auto resolved = notifications().back();
  BOOST_TEST(resolved.at("delivery_id") == o.id + ":succeeded");
  BOOST_TEST(resolved.at("status") == "succeeded");
  std::set<std::string> delivery_ids;
  for (const auto& body : notifications())
    delivery_ids.insert(body.at("delivery_id").get<std::string>());
  BOOST_TEST(delivery_ids.size() == 2u);  // each told once (no failed attempt to repeat)
  auto rows = outbox();
  BOOST_TEST(rows.at(o.id + ":unknown").first == "delivered");
  BOOST_TEST(rows.at(o.id + ":succeeded").first == "delivered");
  // Recharged once, by the one call whose answer was lost.
  BOOST_TEST(sim.ledger().at("total_recharges") == 1);
}

BOOST_AUTO_TEST_SUITE_END()
