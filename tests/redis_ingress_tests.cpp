// The Redis-list ingress end to end, with real processes only: a redis-server from Debian on
// a loopback port in a throwaway directory, the seed's PHP producer pushing JSON orders with
// php-redis, topup-node consuming them (the four simulated providers with ledgers on disk),
// and a PHP subscriber listening for the published results. Checked from the outside: the
// result hashes in Redis, the dead-letter list, the node's store and the providers' ledgers.

#define BOOST_TEST_MODULE redis_ingress_tests
#include <boost/test/unit_test.hpp>

#include "queues/redis_client.hpp"
#include "tests/ingress_support.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
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

const std::string source_list = "shop:orders";
const std::string dead_list = "shop:orders:dead";
const std::string result_channel = "shop:results";
/// The node's processing list (the node id of test_node_config is test-node).
const std::string processing = source_list + ":processing:test-node";

/// A redis-server of its own: loopback, a free port, its files in `dir`. Its append-only file
/// keeps the lists across stop() and start(), as a production server's would; the destructor
/// of the child process stops it with SIGKILL.
class redis_server {
public:
  explicit redis_server(const temp_dir& dir) : dir_(dir), port_(free_port()) { start(); }

  /// Starts the server on the same port and files and waits until it answers.
  void start() {
    child_ = std::make_unique<child_process>(
      std::vector<std::string>{"/usr/bin/redis-server", "--port", std::to_string(port_), "--bind",
                               "127.0.0.1", "--dir", dir_.path().string(), "--save", "",
                               "--appendonly", "yes"},
      dir_.file("redis.log"));
    auto until = steady::now() + 10s;
    for (;;) {
      try {
        connect().command({"PING"});
        return;
      } catch (const queues::redis_error&) {
        BOOST_REQUIRE_MESSAGE(steady::now() < until, "redis-server did not start: "
                                                       << tail_of(dir_.file("redis.log")));
        std::this_thread::sleep_for(50ms);
      }
    }
  }

  /// A clean shutdown (SIGTERM: the append-only file is flushed), as an operator's restart.
  void stop() {
    BOOST_TEST(child_->terminate(20s).has_value(), "redis-server did not stop in time");
    child_.reset();
  }

  uint16_t port() const { return port_; }

  queues::redis_connection connect() const {
    queues::redis_endpoint endpoint;
    endpoint.port = port_;
    return queues::redis_connection{endpoint};
  }

private:
  const temp_dir& dir_;
  uint16_t port_;
  std::unique_ptr<child_process> child_;
};

long long length_of(queues::redis_connection& redis, const std::string& list) {
  return redis.command({"LLEN", list}).integer;
}

/// A node configuration consuming `source_list` from `redis`, results to a hash per order
/// and to `result_channel`.
std::string write_node_config(const temp_dir& dir, const redis_server& redis) {
  auto cfg = test_node_config(dir.path());
  cfg["ingress"] = {{"redis",
                     {{"port", redis.port()},
                      {"list", source_list},
                      {"batch", 100},
                      {"block_ms", 200},
                      {"results",
                       {{"hash", "topup:result:{client_ref}"}, {"channel", result_channel}}}}}};
  auto path = dir.file("node.json");
  write_json(path, cfg);
  return path;
}

/// The status each result hash of references prefix-0 .. prefix-(count-1) holds ("" none).
std::vector<std::string> result_statuses(queues::redis_connection& redis,
                                         const std::string& prefix, size_t count) {
  std::vector<std::vector<std::string>> commands;
  for (size_t i = 0; i < count; ++i)
    commands.push_back({"HGET", "topup:result:" + prefix + "-" + std::to_string(i), "status"});
  std::vector<std::string> statuses;
  for (const auto& reply : redis.pipeline(commands))
    statuses.push_back(reply.text);
  return statuses;
}

/// Waits until every order of the prefix has a final result in Redis; fails with the node's
/// log otherwise.
void wait_for_results(queues::redis_connection& redis, const std::string& prefix, size_t count,
                      const std::string& node_log, steady::duration limit) {
  auto until = steady::now() + limit;
  size_t final = 0;
  while (steady::now() < until) {
    final = 0;
    for (const auto& status : result_statuses(redis, prefix, count))
      final += status == "succeeded" || status == "failed";
    if (final == count)
      return;
    std::this_thread::sleep_for(100ms);
  }
  BOOST_FAIL(final << " of " << count << " results written; the node's log ends:\n"
                   << tail_of(node_log));
}

} // namespace

BOOST_AUTO_TEST_SUITE(redis_ingress)

// The shop's PHP code pushes orders and three broken messages; topup recharges every order
// once, writes each result to its hash and publishes it, and dead-letters the broken ones
// with their error code and reason.
BOOST_AUTO_TEST_CASE(php_orders_are_recharged_once_and_their_results_written_back) {
  temp_dir dir;
  redis_server server{dir};
  auto redis = server.connect();
  constexpr size_t orders = 300;
  auto port = std::to_string(server.port());

  child_process subscriber{{"/usr/bin/php", source_path("tests/php/redis_subscriber.php"),
                            "127.0.0.1", port, result_channel, std::to_string(orders), "60"},
                           dir.file("subscriber.log")};
  for (auto until = steady::now() + 10s;;) {
    auto subscribed = redis.command({"PUBSUB", "NUMSUB", result_channel});
    if (subscribed.elements.size() == 2 && subscribed.elements[1].integer == 1)
      break;
    BOOST_REQUIRE_MESSAGE(steady::now() < until, "the PHP subscriber did not subscribe: "
                                                   << tail_of(dir.file("subscriber.log")));
    std::this_thread::sleep_for(50ms);
  }
  BOOST_TEST(run_php("redis_producer.php", {"127.0.0.1", port, source_list, "shop", "300", "3"},
                     dir)
               .back()
             == "pushed 303");

  node_process node{TOPUP_NODE, write_node_config(dir, server), dir.file("node.log")};
  wait_for_results(redis, "shop", orders, node.log_path(), 60s);
  for (auto until = steady::now() + 10s;
       length_of(redis, dead_list) < 3 && steady::now() < until;)
    std::this_thread::sleep_for(50ms);

  // The PHP subscriber saw every result published.
  line_reader heard{subscriber.stdout_fd()};
  heard.read_until(1, steady::now() + 20s);
  BOOST_TEST((heard.lines() == std::vector<std::string>{"received 300"}),
             tail_of(dir.file("subscriber.log")));

  // A result hash names the order and its outcome, never the phone number.
  auto hash = redis.command({"HGETALL", "topup:result:shop-7"});
  std::map<std::string, std::string> fields;
  for (size_t i = 0; i + 1 < hash.elements.size(); i += 2)
    fields[hash.elements[i].text] = hash.elements[i + 1].text;
  BOOST_TEST(fields["client_ref"] == "shop-7");
  BOOST_TEST(fields["status"] == "succeeded");
  BOOST_TEST(fields["amount_fen"] == "2000");
  BOOST_TEST(!fields["order_id"].empty());
  BOOST_TEST(fields.count("phone") == 0u);

  // Each broken message is in the dead letters, untouched, with its error and reason.
  auto dead = redis.command({"LRANGE", dead_list, "0", "-1"});
  std::map<std::string, nlohmann::json> by_error;
  for (const auto& entry : dead.elements) {
    auto letter = nlohmann::json::parse(entry.text);
    by_error[letter.at("error").get<std::string>()] = letter;
    BOOST_TEST(!letter.at("reason").get<std::string>().empty());
  }
  BOOST_REQUIRE(by_error.size() == 3u);
  BOOST_TEST(by_error.count("malformed_message") == 1u);
  BOOST_TEST(by_error["missing_field"]["message"].get<std::string>().find("shop-no-amount")
             != std::string::npos);
  BOOST_TEST(by_error.count("invalid_phone") == 1u);
  BOOST_TEST(length_of(redis, source_list) == 0);
  BOOST_TEST(length_of(redis, processing) == 0);

  BOOST_TEST(node.terminate(10s).has_value());
  audit_store(dir, {{"shop", orders}});
}

// SIGKILL while the node consumes: what its processing list held is submitted again at the
// next start; no order is lost, none recharged twice, every result is written.
BOOST_AUTO_TEST_CASE(sigkill_mid_consumption_loses_nothing_and_recharges_nothing_twice) {
  temp_dir dir;
  redis_server server{dir};
  auto redis = server.connect();
  constexpr size_t orders = 3000;
  BOOST_TEST(run_php("redis_producer.php",
                     {"127.0.0.1", std::to_string(server.port()), source_list, "kill",
                      std::to_string(orders)},
                     dir)
               .back()
             == "pushed 3000");
  auto config_path = write_node_config(dir, server);
  long long held_at_kill = 0;
  {
    node_process node{TOPUP_NODE, config_path, dir.file("node.log")};
    // Kill once a few batches went through, while more are in hand.
    for (auto until = steady::now() + 60s;
         length_of(redis, source_list) > static_cast<long long>(orders) - 500;) {
      BOOST_REQUIRE_MESSAGE(steady::now() < until,
                            "the node consumed nothing; its log ends:\n" << tail_of(node.log_path()));
      std::this_thread::sleep_for(5ms);
    }
    node.kill();
    held_at_kill = length_of(redis, processing);
  }
  BOOST_TEST_MESSAGE("killed with " << length_of(redis, source_list) << " messages in the list, "
                                    << held_at_kill << " in the processing list");
  BOOST_TEST(length_of(redis, source_list) > 0);
  // Whatever the kill caught in hand, a crash between the move and the removal of orders
  // intake had answered: copies of the first ten orders (consumed first) are held again.
  // The same content as the PHP producer's order i (redis_producer.php): an existing order.
  const std::vector<std::string> prefixes{"138", "139", "150", "130", "131", "186",
                                          "133", "153", "189"};
  const std::vector<int> amounts{1000, 2000, 3000, 5000, 10000, 20000};
  for (size_t i = 0; i < 10; ++i) {
    nlohmann::json again{{"client_ref", "kill-" + std::to_string(i)},
                         {"phone", prefixes[i % 9] + "0000000" + std::to_string(i)},
                         {"amount_fen", amounts[i % 6]}};
    redis.command({"RPUSH", processing, again.dump()});
  }

  node_process node{TOPUP_NODE, config_path, dir.file("node.log")};
  wait_for_results(redis, "kill", orders, node.log_path(), 120s);
  BOOST_TEST(length_of(redis, source_list) == 0);
  for (auto until = steady::now() + 10s;
       length_of(redis, processing) > 0 && steady::now() < until;)
    std::this_thread::sleep_for(50ms);
  BOOST_TEST(length_of(redis, processing) == 0);
  BOOST_TEST(length_of(redis, dead_list) == 0);
  BOOST_TEST(node.terminate(10s).has_value());
  audit_store(dir, {{"kill", orders}});
}

// Redis stops while the node consumes and comes back: the node reconnects, what it had in
// hand is submitted again (harmless: the same orders), results written while Redis was away
// are written once it is back, and what producers push after the restart is consumed.
BOOST_AUTO_TEST_CASE(a_redis_restarted_under_load_is_consumed_again) {
  temp_dir dir;
  redis_server server{dir};
  constexpr size_t before = 3000;
  constexpr size_t after = 300;
  auto push = [&](const std::string& prefix, size_t count) {
    BOOST_TEST(run_php("redis_producer.php",
                       {"127.0.0.1", std::to_string(server.port()), source_list, prefix,
                        std::to_string(count)},
                       dir)
                 .back()
               == "pushed " + std::to_string(count));
  };
  push("before", before);
  node_process node{TOPUP_NODE, write_node_config(dir, server), dir.file("node.log")};
  {
    auto redis = server.connect();
    for (auto until = steady::now() + 60s;
         length_of(redis, source_list) > static_cast<long long>(before) - 500;) {
      BOOST_REQUIRE_MESSAGE(steady::now() < until,
                            "the node consumed nothing; its log ends:\n" << tail_of(node.log_path()));
      std::this_thread::sleep_for(5ms);
    }
    BOOST_TEST_MESSAGE("stopping Redis with " << length_of(redis, source_list)
                                              << " messages in the list, "
                                              << length_of(redis, processing) << " in hand");
  }
  server.stop();
  std::this_thread::sleep_for(1s);
  server.start();
  push("after", after);

  auto redis = server.connect();
  wait_for_results(redis, "before", before, node.log_path(), 180s);
  wait_for_results(redis, "after", after, node.log_path(), 60s);
  for (auto until = steady::now() + 10s;
       length_of(redis, processing) > 0 && steady::now() < until;)
    std::this_thread::sleep_for(50ms);
  BOOST_TEST(length_of(redis, source_list) == 0);
  BOOST_TEST(length_of(redis, processing) == 0);
  BOOST_TEST(length_of(redis, dead_list) == 0);
  BOOST_TEST(node.terminate(10s).has_value());
  audit_store(dir, {{"before", before}, {"after", after}});
}

BOOST_AUTO_TEST_SUITE_END()
