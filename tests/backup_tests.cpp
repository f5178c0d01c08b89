#include <boost/test/unit_test.hpp>

// topup-cli backup while a real node serves a stream of orders: the copy opens as a store
// and holds every order acknowledged before the backup started. topup-cli archive against
// the same running node: what it moves was final, and the node serves on.

#include "persistence/order_store.hpp"
#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace topup;
using namespace topup::testing;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

/// A node on a test configuration and a client of its gateway that submits batches.
struct loaded_node {
  temp_dir dir;
  std::string config_path = dir.file("node.json");
  std::optional<node_process> node;
  client_config client_cfg;
  caf::actor_system system{client_cfg};
  caf::scoped_actor self{system};
  gateway_actor gateway;
  uint64_t next_ref = 0;

  loaded_node() {
    auto cfg = test_node_config(dir.path());
    // The test submits faster than the simulated providers' rates allow: admission would
    // refuse most of it; orders that expire are orders all the same.
    cfg["admission"] = {{"enabled", false}};
    write_json(config_path, cfg);
    node.emplace(TOPUP_NODE, config_path, dir.file("node.log"));
    auto connected = connect_gateway(system, node->port());
    BOOST_REQUIRE_MESSAGE(connected, "cannot connect: " << error_text(connected));
    gateway = *connected;
  }

  ~loaded_node() {
    if (node)
      node->terminate(10s);
  }

  /// Submits `count` new orders in one message; the ids acknowledged.
  std::vector<std::string> submit_batch(size_t count) {
    std::vector<order_request> batch;
    for (size_t i = 0; i < count; ++i, ++next_ref)
      batch.push_back(valid_request("load-" + std::to_string(next_ref), next_ref));
    std::vector<std::string> acked;
    self->request(gateway, 10s, submit_atom::value, batch)
      .receive(
        [&](std::vector<submit_result>& results) {
          for (auto& result : results)
            if (!result.error)
              acked.push_back(result.accepted.id);
        },
        [&](caf::error& error) { BOOST_FAIL("submit failed: " << describe(error)); });
    return acked;
  }

  child_process cli(const std::vector<std::string>& args) {
    std::vector<std::string> command{TOPUP_CLI};
    command.insert(command.end(), args.begin(), args.end());
    return child_process{command, dir.file("cli.err")};
  }
};

std::set<std::string> order_ids_in(const std::string& store_file) {
  soci::session session{soci::sqlite3, "db=\"" + store_file + "\""};
  std::set<std::string> ids;
  soci::rowset<std::string> rows = (session.prepare << "SELECT id FROM orders");
  for (const auto& id : rows)
    ids.insert(id);
  return ids;
}

} // namespace

BOOST_AUTO_TEST_SUITE(backup)

BOOST_AUTO_TEST_CASE(a_backup_under_load_holds_every_order_acknowledged_before_it) {
  loaded_node load;
  std::vector<std::string> acked_before;
  // A store of some size, so that the copy takes a while next to the writes.
  while (acked_before.size() < 10000) {
    auto acked = load.submit_batch(500);
    BOOST_REQUIRE(!acked.empty());
    acked_before.insert(acked_before.end(), acked.begin(), acked.end());
  }
  auto copy = load.dir.file("backup.db");
  auto backup = load.cli({"backup", copy, "--config", load.config_path});
  // The node keeps taking orders while the copy is made.
  size_t acked_during = 0;
  auto deadline = steady::now() + 60s;
  while (!backup.wait_for_exit(steady::now()) && steady::now() < deadline)
    acked_during += load.submit_batch(100).size();
  BOOST_REQUIRE_MESSAGE(backup.wait_for_exit(steady::now() + 30s), "topup-cli backup hangs");
  BOOST_REQUIRE_MESSAGE(backup.exit_code() == std::optional<int>{0},
                        "topup-cli backup " << backup.ended() << ": "
                                            << tail_of(load.dir.file("cli.err")));
  BOOST_TEST_MESSAGE(acked_during << " orders acknowledged while the backup ran");
  BOOST_TEST(!std::filesystem::exists(copy + ".partial"));

  // Restored: the copy opens as a store (a node's own store class, migrations and all) and
  // holds every order acknowledged before the backup started.
  auto ids = order_ids_in(copy);
  size_t missing = 0;
  for (const auto& id : acked_before)
    missing += ids.count(id) == 0;
  BOOST_TEST(missing == 0u, missing << " of " << acked_before.size() << " acknowledged orders "
                                   << "are not in the backup");
  store_config restored;
  restored.sqlite_path = copy;
  order_store store{restored};
  BOOST_TEST(store.count_orders() == ids.size());
  BOOST_TEST(store.find_by_id(acked_before.front()).has_value());

  // A second backup never overwrites the first.
  auto again = load.cli({"backup", copy, "--config", load.config_path});
  BOOST_REQUIRE(again.wait_for_exit(steady::now() + 30s));
  BOOST_TEST((again.exit_code() != std::optional<int>{0}));
  BOOST_TEST(order_ids_in(copy) == ids);
}

BOOST_AUTO_TEST_CASE(archive_runs_beside_a_serving_node_and_moves_only_final_orders) {
  loaded_node load;
  std::vector<std::string> acked;
  for (int i = 0; i < 6; ++i) {
    auto batch = load.submit_batch(200);
    acked.insert(acked.end(), batch.begin(), batch.end());
  }
  // The providers of the test configuration answer in 2 ms: wait (bounded) until all are final.
  auto store_file = load.dir.file("orders.db");
  auto final_count = [&] {
    soci::session session{soci::sqlite3, "db=\"" + store_file + "\" timeout=5"};
    long long n = 0;
    session << "SELECT COUNT(*) FROM orders WHERE status IN ('succeeded', 'failed')",
      soci::into(n);
    return static_cast<size_t>(n);
  };
  auto deadline = steady::now() + 60s;
  while (final_count() < acked.size() && steady::now() < deadline)
    std::this_thread::sleep_for(100ms);
  BOOST_REQUIRE_EQUAL(final_count(), acked.size());
  // An order is archived once its deadline (6 s in the test configuration) has passed too.
  std::this_thread::sleep_for(6500ms);
  // Orders keep coming while the archive runs; --older-than 0s takes every final order.
  auto archive = load.cli({"archive", "--config", load.config_path, "--older-than", "0s",
                           "--batch", "100", "--archive-dir", load.dir.file("archive")});
  size_t acked_during = 0;
  while (!archive.wait_for_exit(steady::now()) && steady::now() < deadline + 60s)
    acked_during += load.submit_batch(50).size();
  BOOST_REQUIRE(archive.wait_for_exit(steady::now() + 30s));
  BOOST_REQUIRE_MESSAGE(archive.exit_code() == std::optional<int>{0},
                        "topup-cli archive " << archive.ended() << ": "
                                             << tail_of(load.dir.file("cli.err")));
  BOOST_TEST_MESSAGE(acked_during << " orders acknowledged while the archive ran");
  // Everything in the archive was final; what the node accepted meanwhile is in one of them.
  auto files = std::vector<std::filesystem::path>{};
  for (const auto& entry : std::filesystem::directory_iterator(load.dir.file("archive")))
    files.push_back(entry.path());
  BOOST_REQUIRE_EQUAL(files.size(), 1u);
  soci::session archived{soci::sqlite3, "db=\"" + files.front().string() + "\""};
  long long not_final = -1;
  archived << "SELECT COUNT(*) FROM orders WHERE status NOT IN ('succeeded', 'failed')",
    soci::into(not_final);
  BOOST_TEST(not_final == 0);
  auto in_archive = order_ids_in(files.front().string());
  for (const auto& id : acked)
    BOOST_TEST(in_archive.count(id) == 1u, id);
  // The node serves on after the archive: a new order is acknowledged.
  BOOST_TEST(load.submit_batch(1).size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
