// The RabbitMQ-queue ingress end to end, with real processes only: a rabbitmq-server from
// Debian on loopback ports in a throwaway directory (its own epmd on a private port), the
// seed's PHP producer publishing JSON orders with php-amqp, topup-node consuming them (the
// four simulated providers with ledgers on disk) and publishing results to a results queue.
// Checked from the outside: the results and dead letters a PHP consumer takes from their
// queues, the node's store and the providers' ledgers.

#define BOOST_TEST_MODULE rabbitmq_ingress_tests
#include <boost/test/unit_test.hpp>

#include "queues/amqp_client.hpp"
#include "tests/ingress_support.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace topup;
using namespace topup::testing;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

const std::string order_queue = "shop.orders";
const std::string dead_queue = "shop.orders.dead";
const std::string result_queue = "shop.results";

/// A rabbitmq-server of its own: AMQP on a free loopback port, its Erlang distribution on
/// another, an epmd of its own on a third (epmd is shared by every Erlang node of the
/// machine by default), its database, logs and cookie in `dir`. The broker's data survive a
/// restart (the same node name and directory). Everything is killed by the destructor.
class rabbitmq_server {
public:
  explicit rabbitmq_server(const temp_dir& dir)
    : dir_(dir), port_(free_port()), dist_port_(free_port()), epmd_port_(free_port()),
      node_name_("topup-test-" + std::to_string(port_) + "@localhost") {
    std::ofstream{dir.file("rabbitmq.conf")}
      << "listeners.tcp.default = 127.0.0.1:" << port_ << "\n"
      << "log.console = false\n"
      << "disk_free_limit.absolute = 1MB\n";
    std::ofstream{dir.file("enabled_plugins")} << "[].\n";
    std::ofstream{dir.file("rabbitmq-env.conf")};
    epmd_ = std::make_unique<child_process>(
      std::vector<std::string>{"/usr/bin/epmd", "-port", std::to_string(epmd_port_), "-address",
                               "127.0.0.1"},
      dir.file("epmd.log"));
    start();
  }

  ~rabbitmq_server() {
    kill_broker();
    epmd_.reset();
  }

  uint16_t port() const { return port_; }

  queues::amqp_connection connect() const {
    queues::amqp_endpoint endpoint;
    endpoint.port = port_;
    return queues::amqp_connection{endpoint};
  }

  /// Starts the broker and waits until it accepts an AMQP login (it takes seconds).
  void start() {
    auto env = [&](const std::string& name, const std::string& value) {
      return name + "=" + value;
    };
    const auto base = dir_.path().string();
    broker_ = std::make_unique<child_process>(
      std::vector<std::string>{
        "/usr/bin/env", env("HOME", base), env("RABBITMQ_NODENAME", node_name_),
        env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1"),
        env("RABBITMQ_NODE_PORT", std::to_string(port_)),
        env("RABBITMQ_DIST_PORT", std::to_string(dist_port_)),
        env("ERL_EPMD_PORT", std::to_string(epmd_port_)), env("ERL_EPMD_ADDRESS", "127.0.0.1"),
        env("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "-kernel inet_dist_use_interface {127,0,0,1}"),
        env("RABBITMQ_MNESIA_BASE", base + "/mnesia"), env("RABBITMQ_LOG_BASE", base + "/log"),
        env("RABBITMQ_CONFIG_FILE", base + "/rabbitmq"),
        env("RABBITMQ_ADVANCED_CONFIG_FILE", base + "/advanced.config"),
        env("RABBITMQ_ENABLED_PLUGINS_FILE", base + "/enabled_plugins"),
        env("RABBITMQ_CONF_ENV_FILE", base + "/rabbitmq-env.conf"),
        env("RABBITMQ_PID_FILE", base + "/rabbitmq.pid"), "/bin/sh", "-c",
        "exec /usr/lib/rabbitmq/bin/rabbitmq-server >>'" + base + "/broker.log' 2>&1"},
      dir_.file("broker.log"));
    // A cold start takes about 5 s on an idle machine; the bound allows for a loaded one.
    auto until = steady::now() + 90s;
    for (;;) {
      try {
        connect();
        return;
      } catch (const queues::amqp_error& error) {
        BOOST_REQUIRE_MESSAGE(broker_->running(),
                              "rabbitmq-server ended: " << tail_of(dir_.file("broker.log")));
        BOOST_REQUIRE_MESSAGE(steady::now() < until, "rabbitmq-server did not start: "
                                                       << error.what() << "\n"
                                                       << tail_of(dir_.file("broker.log")));
        std::this_thread::sleep_for(200ms);
      }
    }
  }

  /// Stops the broker as its service would (SIGTERM: the start script stops the Erlang VM
  /// and waits for it).
  void stop() {
    BOOST_TEST(broker_->terminate(60s).has_value(), "rabbitmq-server did not stop in time");
    kill_broker();
  }

private:
  /// SIGKILL for the Erlang VM (the start script's child) and the script.
  void kill_broker() {
    std::ifstream pid_file{dir_.file("rabbitmq.pid")};
    pid_t pid = 0;
    if (pid_file >> pid && pid > 0)
      ::kill(pid, SIGKILL);
    broker_.reset();
    std::filesystem::remove(dir_.file("rabbitmq.pid"));
  }

  const temp_dir& dir_;
  uint16_t port_, dist_port_, epmd_port_;
  std::string node_name_;
  std::unique_ptr<child_process> epmd_;
  std::unique_ptr<child_process> broker_;
};

/// The PHP producer publishes `count` orders of `prefix` and `malformed` broken messages.
void publish_orders(const rabbitmq_server& broker, const temp_dir& dir,
                    const std::string& prefix, size_t count, size_t malformed = 0) {
  auto lines = run_php("amqp_producer.php",
                       {"127.0.0.1", std::to_string(broker.port()), order_queue, prefix,
                        std::to_string(count), std::to_string(malformed)},
                       dir);
  BOOST_REQUIRE(!lines.empty());
  BOOST_TEST(lines.back() == "published " + std::to_string(count + malformed));
}

/// Every message the queue holds, taken by the PHP consumer: parsed JSON lines.
std::vector<nlohmann::json> drain(const rabbitmq_server& broker, const temp_dir& dir,
                                  const std::string& queue) {
  auto lines = run_php("amqp_drain.php", {"127.0.0.1", std::to_string(broker.port()), queue}, dir);
  std::vector<nlohmann::json> messages;
  for (size_t i = 0; i + 1 < lines.size(); ++i)
    messages.push_back(nlohmann::json::parse(lines[i]));
  return messages;
}

uint32_t ready_in(const rabbitmq_server& broker, const std::string& queue) {
  return broker.connect().message_count(queue);
}

/// A node configuration consuming `order_queue` on `broker`, results to `result_queue`.
std::string write_node_config(const temp_dir& dir, const rabbitmq_server& broker) {
  auto cfg = test_node_config(dir.path());
  cfg["ingress"] = {{"rabbitmq",
                     {{"port", broker.port()},
                      {"queue", order_queue},
                      {"prefetch", 200},
                      {"batch", 100},
                      {"block_ms", 200},
                      {"backoff", {{"initial_ms", 100}, {"max_ms", 1000}}},
                      {"results",
                       {{"exchange", "shop.results"},
                        {"routing_key", "{status}.{client_ref}"},
                        {"queue", result_queue},
                        {"backoff", {{"initial_ms", 100}, {"max_ms", 1000}}}}}}}};
  auto path = dir.file("node.json");
  write_json(path, cfg);
  return path;
}

/// The results published so far, by client_ref (a result may be published more than once:
/// at least once).
using results_by_ref = std::map<std::string, nlohmann::json>;

/// Takes results from the results queue until every order of the prefix has a final one;
/// fails with the node's log otherwise.
void wait_for_results(const rabbitmq_server& broker, const temp_dir& dir, results_by_ref& seen,
                      const std::string& prefix, size_t count, const std::string& node_log,
                      steady::duration limit) {
  auto until = steady::now() + limit;
  auto complete = [&] {
    size_t final = 0;
    for (size_t i = 0; i < count; ++i) {
      auto found = seen.find(prefix + "-" + std::to_string(i));
      final += found != seen.end();
    }
    return final;
  };
  while (steady::now() < until) {
    for (auto& message : drain(broker, dir, result_queue)) {
      auto result = nlohmann::json::parse(message.at("body").get<std::string>());
      BOOST_TEST(message.at("routing_key").get<std::string>()
                 == result.at("status").get<std::string>() + "."
                      + result.at("client_ref").get<std::string>());
      seen[result.at("client_ref").get<std::string>()] = result;
    }
    if (complete() == count)
      return;
    std::this_thread::sleep_for(300ms);
  }
  BOOST_FAIL(complete() << " of " << count << " results published; the node's log ends:\n"
                        << tail_of(node_log));
}

/// Waits until the order queue holds at most `left` ready messages.
void wait_until_consumed_to(const rabbitmq_server& broker, uint32_t left,
                            const std::string& node_log) {
  auto connection = broker.connect();
  for (auto until = steady::now() + 60s; connection.message_count(order_queue) > left;) {
    BOOST_REQUIRE_MESSAGE(steady::now() < until,
                          "the node consumed too little; its log ends:\n" << tail_of(node_log));
    std::this_thread::sleep_for(5ms);
  }
}

} // namespace

BOOST_AUTO_TEST_SUITE(rabbitmq_ingress)

// The shop's PHP code publishes orders and three broken messages; topup recharges every
// order once, publishes each result (confirmed, persistent) to the results exchange, and
// dead-letters the broken ones, untouched, with their error code and reason in headers.
BOOST_AUTO_TEST_CASE(php_orders_are_recharged_once_and_their_results_published) {
  temp_dir dir;
  rabbitmq_server broker{dir};
  constexpr size_t orders = 300;
  publish_orders(broker, dir, "shop", orders, 3);

  node_process node{TOPUP_NODE, write_node_config(dir, broker), dir.file("node.log")};
  results_by_ref results;
  wait_for_results(broker, dir, results, "shop", orders, node.log_path(), 90s);
  for (auto until = steady::now() + 10s; ready_in(broker, dead_queue) < 3 && steady::now() < until;)
    std::this_thread::sleep_for(50ms);

  // A result names the order and its outcome, never the phone number.
  const auto& result = results.at("shop-7");
  BOOST_TEST(result.at("status").get<std::string>() == "succeeded");
  BOOST_TEST(result.at("amount_fen").get<int64_t>() == 2000);
  BOOST_TEST(!result.at("order_id").get<std::string>().empty());
  BOOST_TEST(!result.contains("phone"));
  BOOST_TEST(results.size() == orders);

  // Each broken message is in the dead letters, untouched, with its error and reason.
  std::map<std::string, nlohmann::json> by_error;
  for (const auto& letter : drain(broker, dir, dead_queue)) {
    const auto& headers = letter.at("headers");
    by_error[headers.at("x-topup-error").get<std::string>()] = letter;
    BOOST_TEST(!headers.at("x-topup-reason").get<std::string>().empty());
    BOOST_TEST(headers.at("x-topup-node").get<std::string>() == "test-node");
    BOOST_TEST(letter.at("routing_key").get<std::string>() == order_queue);
  }
  BOOST_REQUIRE(by_error.size() == 3u);
  BOOST_TEST(by_error.count("malformed_message") == 1u);
  BOOST_TEST(by_error["missing_field"]["body"].get<std::string>()
             == R"({"client_ref":"shop-no-amount","phone":"13800138000"})");
  BOOST_TEST(by_error.count("invalid_phone") == 1u);

  BOOST_TEST(node.terminate(10s).has_value());
  // Everything acknowledged or rejected: nothing comes back once the node is gone.
  BOOST_TEST(ready_in(broker, order_queue) == 0u);
  audit_store(dir, {{"shop", orders}});
}

// SIGKILL while the node consumes: the broker delivers again what it had in hand,
// unacknowledged; no order is lost, none recharged twice, every result is published.
BOOST_AUTO_TEST_CASE(sigkill_mid_consumption_loses_nothing_and_recharges_nothing_twice) {
  temp_dir dir;
  rabbitmq_server broker{dir};
  constexpr size_t orders = 3000;
  publish_orders(broker, dir, "kill", orders);
  auto config_path = write_node_config(dir, broker);
  {
    node_process node{TOPUP_NODE, config_path, dir.file("node.log")};
    // Kill once a few batches went through, while more are in hand.
    wait_until_consumed_to(broker, orders - 500, node.log_path());
    node.kill();
  }
  auto left = ready_in(broker, order_queue);
  BOOST_TEST_MESSAGE("killed with " << left << " messages ready in the queue");
  BOOST_TEST(left > 0u);
  BOOST_TEST(left < orders);

  node_process node{TOPUP_NODE, config_path, dir.file("node.log")};
  results_by_ref results;
  wait_for_results(broker, dir, results, "kill", orders, node.log_path(), 180s);
  BOOST_TEST(node.terminate(10s).has_value());
  BOOST_TEST(ready_in(broker, order_queue) == 0u);
  BOOST_TEST(ready_in(broker, dead_queue) == 0u);
  audit_store(dir, {{"kill", orders}});
}

// The broker stops while the node consumes and comes back: the node reconnects, what it had
// in hand is delivered again, and it consumes what producers publish after the restart.
BOOST_AUTO_TEST_CASE(a_broker_restarted_under_load_is_consumed_again) {
  temp_dir dir;
  rabbitmq_server broker{dir};
  constexpr size_t before = 2000;
  constexpr size_t after = 300;
  publish_orders(broker, dir, "before", before);
  node_process node{TOPUP_NODE, write_node_config(dir, broker), dir.file("node.log")};
  wait_until_consumed_to(broker, before - 300, node.log_path());
  broker.stop();
  std::this_thread::sleep_for(1s);
  broker.start();
  publish_orders(broker, dir, "after", after);

  results_by_ref results;
  wait_for_results(broker, dir, results, "before", before, node.log_path(), 180s);
  wait_for_results(broker, dir, results, "after", after, node.log_path(), 60s);
  BOOST_TEST(node.terminate(10s).has_value());
  BOOST_TEST(ready_in(broker, order_queue) == 0u);
  audit_store(dir, {{"before", before}, {"after", after}});
}

BOOST_AUTO_TEST_SUITE_END()
