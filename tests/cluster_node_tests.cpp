#define BOOST_TEST_MODULE cluster_node_tests
#include <boost/test/unit_test.hpp>

// Three real topup-nodes on 127.0.0.1 sharing one PostgreSQL database (the throwaway server
// CTest starts, emptied before each test). The four simulated providers run inside whichever
// node owns them, but each provider's ledger is one file shared by all three nodes, so the
// ledger is the provider's ground truth whichever node calls it: an order with two rows was
// recharged twice. Checked: every provider owned by exactly one live member; orders
// submitted to every node complete once; a SIGKILLed owner's provider moves to a survivor in
// bounded time and nothing is lost or duplicated, and it rejoins when restarted; every order
// final by the deadline the client was promised at its ack (from the client's own ack
// times), across the kill, the failover and the restart; a node stopped with SIGTERM releases
// its leases and leaves at once, a SIGKILLed one's leases expire; a SIGSTOPped owner loses its
// lease and,
// resumed, recharges nothing under its old epoch, then rejoins; orders failed over to a
// provider whose owner gives it up to a joining node, or dies, still succeed, and so do
// orders that a killed node holding no provider stored but never handed on. Stats, watch and cancel
// asked of any node cover the whole cluster: every node's counters (a paused one reported
// unreachable in bounded time), every change of an order seen once wherever it is made, and
// a cancel performed where the order waits.

#include "apps/bench/order_audit.hpp"
#include "apps/bench/store_reader.hpp"
#include "domain/clock.hpp"
#include "domain/order.hpp"
#include "domain/ownership.hpp"
#include "messages/errors.hpp"
#include "domain/merchant.hpp"
#include "domain/order_id.hpp"
#include "persistence/lease_store.hpp"
#include "persistence/order_store.hpp"
#include "persistence/sql_backend.hpp"
#include "providers/ledger.hpp"
#include "tests/backend_fixture.hpp"
#include "tests/http_node_support.hpp"
#include "tests/process_support.hpp"
#include "tests/provider_sim_process.hpp"
#include "tests/test_support.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace topup;
using namespace topup::testing;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

constexpr int64_t heartbeat_interval_ms = 200;
constexpr int64_t down_after_ms = 1000;
constexpr int64_t lease_ttl_ms = 1000;
/// Beyond down_after + lease_ttl: a tick or two, a takeover's reads, a loaded machine.
constexpr int64_t takeover_slack_ms = 4000;

constexpr auto request_timeout = 5s;
constexpr size_t node_count = 3;

/// The workloads' grace for an order closed at its deadline.
constexpr int64_t deadline_grace_ms = 1000;


/// The i-th order of a run; `cmcc_share` of 10 orders go to cmcc numbers (served by p-cmcc,
/// the busiest provider then), the others to cucc and ctcc in turn.
order_request make_request(const std::string& tag, size_t i, size_t cmcc_share = 4) {
  static const std::vector<std::string> cmcc{"138", "139", "150"};
  static const std::vector<std::string> others{"130", "131", "186", "133", "153", "189"};
  const auto& prefixes = i % 10 < cmcc_share ? cmcc : others;
  char phone[16];
  std::snprintf(phone, sizeof phone, "%s%08zu", prefixes[i % prefixes.size()].c_str(),
                i % 100000000);
  return {tag + "-" + std::to_string(i), phone, 1000};
}

std::string node_name(size_t i) { return "node-" + std::to_string(i + 1); }

/// Who owns each provider in one node's view of the members.
struct ownership_view {
  std::set<std::string> live;
  std::map<std::string, std::vector<std::string>> owners;  ///< provider -> live owners

  /// `expected_live` are the members, and every one of `providers` is owned by exactly one
  /// of them: its planned owner (what every node plans alike).
  bool settled(const std::set<std::string>& expected_live,
               const std::vector<std::string>& providers) const {
    if (live != expected_live)
      return false;
    auto planned = assign_owners(providers, {live.begin(), live.end()});
    for (const auto& provider : providers) {
      auto it = owners.find(provider);
      if (it == owners.end() || it->second != std::vector{planned[provider]})
        return false;
    }
    return true;
  }

  std::string owner_of(const std::string& provider) const {
    auto it = owners.find(provider);
    return it == owners.end() || it->second.empty() ? std::string{} : it->second.front();
  }

  std::string describe() const {
    std::string text = "live:";
    for (const auto& node : live)
      text += " " + node;
    for (const auto& [provider, nodes] : owners) {
      text += "; " + provider + " ->";
      for (const auto& node : nodes)
        text += " " + node;
    }
    return text;
  }
};

/// What a watching client received, by order id, in the order received.
using changes_by_order = std::map<std::string, std::vector<order_update>>;

/// " accept->accepted dispatch->dispatched ...", for messages (the first 20).
std::string describe_changes(const std::vector<order_update>& changes) {
  constexpr size_t shown = 20;
  std::string text;
  for (size_t i = 0; i < changes.size() && i < shown; ++i)
    text += " " + changes[i].event + "->" + std::string{to_string(changes[i].snapshot.status)};
  if (changes.size() > shown)
    text += " and " + std::to_string(changes.size() - shown) + " more";
  return text.empty() ? " nothing" : text;
}

size_t count_of(const std::vector<order_update>& changes, const std::string& event) {
  auto is_event = [&](const order_update& u) { return u.event == event; };
  return static_cast<size_t>(std::count_if(changes.begin(), changes.end(), is_event));
}

/// Receives what `watcher` is sent until every order of `ids` had a final change, and then
/// for `quiet` more (a duplicate would arrive then); or until `timeout`.
changes_by_order receive_changes(caf::scoped_actor& watcher, const std::set<std::string>& ids,
                                 std::chrono::milliseconds timeout,
                                 std::chrono::milliseconds quiet = 1000ms) {
  changes_by_order changes;
  std::set<std::string> open = ids;
  auto until = steady::now() + timeout;
  std::optional<steady::time_point> all_final_at;
  while (steady::now() < until && (!all_final_at || steady::now() < *all_final_at + quiet)) {
    watcher->receive(
      [&](event_atom, order_update& update) {
        if (is_final(update.snapshot.status))
          open.erase(update.snapshot.id);
        changes[update.snapshot.id].push_back(std::move(update));
      },
      caf::after(std::chrono::milliseconds(100)) >> [] {});
    if (open.empty() && !all_final_at)
      all_final_at = steady::now();
  }
  return changes;
}

/// What the client learnt: acknowledged orders by id.
struct client_books {
  std::map<std::string, std::string> ref_by_id;
  /// By id: when its first ack arrived, read from the clock the nodes write the store's
  /// times with (wall-clock ms; one machine, one clock), so that they compare.
  std::map<std::string, int64_t> acked_at_ms;
  size_t unanswered = 0;  ///< batches without an answer (their orders may or may not exist)
  std::vector<std::string> problems;
};

/// A test-only setting of topup-node (an environment variable TOPUP_TEST_*), for the nodes
/// started while it lives.
class node_test_setting {
public:
  node_test_setting(const char* name, long long value) : name_(name) {
    setenv(name, std::to_string(value).c_str(), 1);
  }
  ~node_test_setting() { unsetenv(name_); }
  node_test_setting(const node_test_setting&) = delete;
  node_test_setting& operator=(const node_test_setting&) = delete;

private:
  const char* name_;
};

struct cluster_fixture {
  temp_dir dir;
  store_config database = empty_postgresql_store();
  std::vector<uint16_t> ports;
  std::vector<std::unique_ptr<node_process>> nodes{node_count};
  std::vector<std::optional<gateway_actor>> gateways{node_count};
  client_config client_cfg;
  caf::actor_system system{client_cfg};
  caf::scoped_actor self{system};
  /// The deadline the nodes were started with (the latest start's configuration).
  int64_t deadline_limit_ms = 0;
  /// The providers the nodes are configured with.
  std::vector<std::string> configured_providers = workload_providers;

  cluster_fixture() {
    for (size_t i = 0; i < node_count; ++i)
      ports.push_back(free_port());
  }

  ~cluster_fixture() {
    for (auto& node : nodes)
      if (node)
        node->kill();
  }

  /// The configuration of node i: test_node_config with the shared ledgers in `dir`, the
  /// test's PostgreSQL, and the other two nodes as seeds.
  nlohmann::json node_config(size_t i) {
    auto cfg = test_node_config(dir.path(), ports[i]);
    cfg["node"]["name"] = node_name(i);
    cfg["store"] = {{"backend", "postgresql"},
                    {"postgresql", {{"connection", database.postgresql_connection}}}};
    auto seeds = nlohmann::json::array();
    for (size_t j = 0; j < node_count; ++j)
      if (j != i)
        seeds.push_back("127.0.0.1:" + std::to_string(ports[j]));
    cfg["cluster"] = {{"seeds", seeds},
                      {"heartbeat_interval_ms", heartbeat_interval_ms},
                      {"down_after_ms", down_after_ms},
                      {"lease_ttl_ms", lease_ttl_ms}};
    return cfg;
  }

  void start(size_t i, const nlohmann::json& cfg) {
    deadline_limit_ms = cfg.at("deadline").at("limit_ms").get<int64_t>();
    auto config_path = dir.file(node_name(i) + ".json");
    write_json(config_path, cfg);
    nodes[i] = std::make_unique<node_process>(TOPUP_NODE, config_path,
                                              dir.file(node_name(i) + ".log"));
  }

  void start_all(const std::function<void(nlohmann::json&)>& adjust = {}) {
    for (size_t i = 0; i < node_count; ++i) {
      auto cfg = node_config(i);
      if (adjust)
        adjust(cfg);
      start(i, cfg);
    }
  }

  size_t index_of(const std::string& name) const {
    for (size_t i = 0; i < node_count; ++i)
      if (node_name(i) == name)
        return i;
    BOOST_FAIL("no node is named '" + name + "'");
    return 0;
  }

  std::set<std::string> names_except(std::optional<size_t> left_out = std::nullopt) const {
    std::set<std::string> names;
    for (size_t i = 0; i < node_count; ++i)
      if (i != left_out)
        names.insert(node_name(i));
    return names;
  }

  gateway_actor& gateway(size_t i) {
    if (!gateways[i]) {
      auto connected = connect_gateway(system, ports[i], 10s);
      BOOST_TEST_REQUIRE(static_cast<bool>(connected),
                         node_name(i) << " cannot be reached: " << error_text(connected)
                                      << "\n" << tail_of(nodes[i]->log_path()));
      gateways[i] = *connected;
    }
    return *gateways[i];
  }

  /// Node i's view of the members; nothing when it does not answer.
  std::optional<ownership_view> members(size_t i) {
    std::optional<ownership_view> view;
    self->request(gateway(i), request_timeout, members_atom::value)
      .receive(
        [&](std::vector<member_info>& members) {
          view.emplace();
          for (const auto& member : members) {
            if (!member.live)
              continue;
            view->live.insert(member.node);
            for (const auto& provider : member.providers)
              view->owners[provider].push_back(member.node);
            // Every lease a member holds comes with the epoch it was granted under.
            BOOST_TEST(member.epochs.size() == member.providers.size());
            for (auto epoch : member.epochs)
              BOOST_TEST(epoch >= 1);
          }
        },
        [&](caf::error&) { gateways[i].reset(); });
    return view;
  }

  /// Polls node i until its view is settled on `live`; the last view seen otherwise.
  /// Views in between may show a provider at its old owner still (draining) and the new
  /// one not yet.
  std::pair<bool, ownership_view> wait_until_settled(size_t asking,
                                                     const std::set<std::string>& live,
                                                     std::chrono::milliseconds timeout) {
    auto until = steady::now() + timeout;
    ownership_view last;
    for (;;) {
      if (auto view = members(asking)) {
        last = *view;
        if (last.settled(live, configured_providers))
          return {true, last};
      }
      if (steady::now() >= until)
        return {false, last};
      std::this_thread::sleep_for(100ms);
    }
  }

  /// Every node in `asking` sees `live` as the members and the same single owner of each
  /// provider; that ownership.
  ownership_view require_settled(const std::vector<size_t>& asking,
                                 const std::set<std::string>& live,
                                 std::chrono::milliseconds timeout = 20s) {
    std::optional<ownership_view> agreed;
    for (auto i : asking) {
      auto [settled, view] = wait_until_settled(i, live, timeout);
      BOOST_TEST_REQUIRE(settled, node_name(i) << " never settled; last view: "
                                               << view.describe() << logs());
      if (agreed)
        BOOST_TEST_REQUIRE(view.owners == agreed->owners,
                           node_name(i) << " sees " << view.describe() << ", another node "
                                        << agreed->describe());
      agreed = view;
    }
    return *agreed;
  }

  /// Submits `requests` to node i in one message, booking what is acknowledged; those
  /// refused for now (overloaded, unavailable: a store still opening) are sent again for a
  /// while.
  void submit(size_t i, std::vector<order_request> requests, client_books& books) {
    auto until = steady::now() + 10s;
    while (!requests.empty()) {
      requests = submit_once(i, requests, books);
      if (requests.empty() || steady::now() >= until)
        break;
      std::this_thread::sleep_for(100ms);
    }
    for (const auto& request : requests)
      books.problems.push_back(request.client_ref + " refused for 10 s");
  }

  /// One submit message; the orders refused for now.
  std::vector<order_request> submit_once(size_t i, const std::vector<order_request>& requests,
                                         client_books& books) {
    std::vector<order_request> refused;
    self->request(gateway(i), request_timeout, submit_atom::value, requests)
      .receive(
        [&](std::vector<submit_result>& results) {
          if (results.size() != requests.size()) {
            books.problems.push_back("a batch got " + std::to_string(results.size())
                                     + " results for " + std::to_string(requests.size()));
            return;
          }
          for (size_t k = 0; k < results.size(); ++k) {
            if (!results[k].error) {
              books.ref_by_id[results[k].accepted.id] = requests[k].client_ref;
              books.acked_at_ms.emplace(results[k].accepted.id, system_clock{}.wall_ms());
              continue;
            }
            auto failure = as_failure(results[k].error);
            if (failure
                && (failure->code == errc::overloaded || failure->code == errc::unavailable))
              refused.push_back(requests[k]);
            else
              books.problems.push_back(requests[k].client_ref + " refused: "
                                       + describe(results[k].error));
          }
        },
        [&](caf::error&) {
          // Lost with its node (or too slow): these orders may or may not exist.
          books.unanswered++;
          gateways[i].reset();
        });
    return refused;
  }

  /// Waits until every acknowledged order is final, asking node `asking`; the orders by id
  /// as last read (those not final among them when the time ran out).
  std::map<std::string, order> wait_until_final(size_t asking, const client_books& books,
                                                std::chrono::milliseconds timeout) {
    auto until = steady::now() + timeout;
    std::map<std::string, order> orders;
    std::set<std::string> open;
    for (const auto& [id, ref] : books.ref_by_id)
      open.insert(id);
    while (!open.empty()) {
      for (auto it = open.begin(); it != open.end();) {
        bool final = false;
        self->request(gateway(asking), request_timeout, caf::get_atom::value, *it)
          .receive(
            [&](order& x) {
              final = is_final(x.status);
              orders[x.id] = std::move(x);
            },
            [&](caf::error&) {});
        it = final ? open.erase(it) : std::next(it);
      }
      if (open.empty() || steady::now() >= until)
        break;
      std::this_thread::sleep_for(250ms);
    }
    return orders;
  }

  /// Where the providers keep their ledgers: each its own file, simulated in the nodes
  /// (test_node_config), unless a test has them played by topup-provider-sim.
  std::vector<std::string> ledger_files = ledger_paths(dir.path());

  /// Ledger rows per order over the providers whose ledger exists (a provider never called
  /// has none). p-cmcc is called in every test, so its file must exist.
  recharge_counts recharges() { return ledger::recharges_per_order(written_ledgers()); }

  /// The files of ledger_files that exist; at least one.
  std::vector<std::string> written_ledgers() const {
    std::vector<std::string> paths;
    for (const auto& path : ledger_files)
      if (std::filesystem::exists(path))
        paths.push_back(path);
    BOOST_TEST_REQUIRE(!paths.empty(), "no provider ledger was written");
    return paths;
  }

  /// The end state every test requires: each acknowledged order final, and by the deadline
  /// promised at its ack; store and ledgers agreeing order by order (each succeeded order
  /// recharged exactly once at its provider, each failed one never, none twice). The audit.
  bench::ledger_audit check_outcome(size_t asking, const client_books& books,
                                    std::chrono::milliseconds timeout) {
    for (const auto& problem : books.problems)
      BOOST_TEST_ERROR(problem);
    BOOST_TEST_REQUIRE(!books.ref_by_id.empty(), "no order was acknowledged");
    auto orders = wait_until_final(asking, books, timeout);
    size_t not_final = 0, succeeded = 0;
    for (const auto& [id, ref] : books.ref_by_id) {
      auto it = orders.find(id);
      if (it == orders.end() || !is_final(it->second.status)) {
        if (not_final++ < 5)
          BOOST_TEST_MESSAGE("order " << id << " (" << ref << ") not final: "
                             << (it == orders.end() ? "not found"
                                                    : std::string{to_string(it->second.status)}));
        continue;
      }
      succeeded += it->second.status == order_status::succeeded ? 1 : 0;
    }
    BOOST_TEST(not_final == 0u, not_final << " of " << books.ref_by_id.size()
                                          << " acknowledged orders are not final"
                                          << (not_final ? logs() : std::string{}));
    check_deadlines(books, orders);
    auto audit = audit_ledgers();
    BOOST_TEST(audit.agrees(), bench::describe(audit) << logs());
    BOOST_TEST_MESSAGE(books.ref_by_id.size() << " acknowledged, " << succeeded
                                              << " succeeded, " << books.unanswered
                                              << " batches unanswered; "
                                              << bench::describe(audit));
    return audit;
  }

  /// check_outcome, and every acknowledged order succeeded.
  void require_all_succeeded(size_t asking, const client_books& books,
                             std::chrono::milliseconds timeout) {
    check_outcome(asking, books, timeout);
    auto orders = wait_until_final(asking, books, 1s);
    auto succeeded = std::count_if(orders.begin(), orders.end(), [](const auto& entry) {
      return entry.second.status == order_status::succeeded;
    });
    BOOST_TEST(static_cast<size_t>(succeeded) == books.ref_by_id.size(), logs());
  }

  /// Every acknowledged order final by the client's ack + the deadline + the workloads' grace,
  /// by the store's final time of `orders` (wall clock, as the client's ack times).
  void check_deadlines(const client_books& books, const std::map<std::string, order>& orders) {
    std::vector<bench::timed_order> timed;
    for (const auto& [id, acked_at] : books.acked_at_ms) {
      auto it = orders.find(id);
      auto final = it != orders.end() && is_final(it->second.status);
      timed.push_back({id, acked_at,
                       final ? std::optional<int64_t>{it->second.updated_at_ms} : std::nullopt});
    }
    auto in_time = bench::check_timeliness(timed, deadline_limit_ms, deadline_grace_ms);
    BOOST_TEST(in_time.on_time(), bench::describe(in_time));
    BOOST_TEST_MESSAGE("deadlines: " << bench::describe(in_time));
  }

  /// Every order in the shared store against every row of the providers' ledgers.
  bench::ledger_audit audit_ledgers() {
    std::vector<bench::audited_order> stored;
    for (const auto& [ref, row] : bench::store_reader{database}.orders(""))
      stored.push_back(bench::audited(row));
    return bench::audit_ledgers(stored, ledger::records(written_ledgers()));
  }

  /// The whole cluster's stats, asked of node i.
  caf::expected<cluster_stats> stats_of(size_t i) {
    caf::expected<cluster_stats> result{caf::make_error(caf::sec::request_timeout)};
    self->request(gateway(i), 2 * request_timeout, stats_atom::value)
      .receive([&](cluster_stats& stats) { result = std::move(stats); },
               [&](caf::error& error) { result = std::move(error); });
    return result;
  }

  caf::expected<order> cancel_through(size_t i, const std::string& id) {
    caf::expected<order> result{caf::make_error(caf::sec::request_timeout)};
    self->request(gateway(i), 2 * request_timeout, cancel_atom::value, id)
      .receive([&](order& cancelled) { result = std::move(cancelled); },
               [&](caf::error& error) { result = std::move(error); });
    return result;
  }

  /// Subscribes `watcher` through node i to the changes of `order_id` (every order when
  /// empty), and requires the node to take the subscription.
  void watch_through(size_t i, caf::scoped_actor& watcher, const std::string& order_id) {
    bool subscribed = false;
    self->request(gateway(i), 2 * request_timeout, watch_atom::value,
                  caf::actor_cast<caf::actor>(watcher), order_id)
      .receive([&](ack_atom) { subscribed = true; },
               [&](caf::error& error) { BOOST_FAIL("watch through " << node_name(i) << ": "
                                                   << describe(error)); });
    BOOST_TEST_REQUIRE(subscribed, node_name(i) << " refused the watch");
  }

  /// The node that owns none of `providers`, in a settled `ownership`.
  size_t owning_none_of(const ownership_view& ownership, const std::set<std::string>& providers) {
    for (size_t i = 0; i < node_count; ++i) {
      bool owns = false;
      for (const auto& provider : providers)
        owns = owns || ownership.owner_of(provider) == node_name(i);
      if (!owns)
        return i;
    }
    BOOST_FAIL("every node owns one of the providers: " << ownership.describe());
    return 0;
  }

  /// Orders `first`..`first + count` for cmcc numbers (p-cmcc's), submitted to node i: every
  /// one must be acknowledged.
  void submit_cmcc_orders(size_t i, const std::string& tag, size_t first, size_t count,
                          client_books& books) {
    std::vector<order_request> requests;
    for (size_t n = first; n < first + count; ++n)
      requests.push_back(make_request(tag, n, 10));
    auto acknowledged = books.ref_by_id.size();
    submit(i, requests, books);
    BOOST_TEST_REQUIRE(books.ref_by_id.size() == acknowledged + requests.size(), logs());
  }

  /// Waits until node i's lane of `provider` has at least `at_least` orders queued.
  void require_queued(size_t i, const std::string& provider, uint64_t at_least) {
    uint64_t queued = 0;
    for (auto until = steady::now() + 10s; queued < at_least && steady::now() < until;) {
      if (auto stats = stats_of(i))
        for (const auto& node : stats->nodes)
          if (node.node == node_name(i))
            for (const auto& lane : node.providers)
              if (lane.provider == provider)
                queued = lane.queued;
      std::this_thread::sleep_for(100ms);
    }
    BOOST_TEST_REQUIRE(queued >= at_least, node_name(i) << "'s " << provider << " never queued "
                                                        << at_least << " orders" << logs());
  }

  std::string logs() {
    std::string text;
    for (size_t i = 0; i < node_count; ++i)
      if (nodes[i])
        text += "\n--- " + node_name(i) + " ---\n" + tail_of(nodes[i]->log_path(), 1500);
    return text;
  }
};

std::vector<size_t> all_nodes() { return {0, 1, 2}; }

/// `count` orders for cucc numbers (p-cucc's, failing over to p-agg).
std::vector<order_request> cucc_requests(const std::string& tag, size_t count) {
  std::vector<order_request> requests;
  for (size_t n = 0; n < count; ++n) {
    char phone[16];
    std::snprintf(phone, sizeof phone, "130%08zu", n);
    requests.push_back({tag + "-" + std::to_string(n), phone, 1000});
  }
  return requests;
}

/// p-cucc down all along; p-agg slow, so the orders failed over to it queue at its owner.
void fail_cucc_over_to_a_slow_agg(nlohmann::json& cfg, int64_t deadline_ms) {
  cfg["deadline"] = {{"limit_ms", deadline_ms},
                     {"resend_at_ms", {deadline_ms - 5000}},
                     {"query_interval_ms", 200}};
  provider_entry(cfg, "p-cucc")["adapter"]["outages"] = {{{"from_s", 0}, {"to_s", 3600}}};
  auto& agg = provider_entry(cfg, "p-agg");
  agg["rate"] = 10;
  agg["burst"] = 1;
}

std::vector<size_t> nodes_except(size_t left_out) {
  std::vector<size_t> others;
  for (size_t i = 0; i < node_count; ++i)
    if (i != left_out)
      others.push_back(i);
  return others;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(cluster_of_three_nodes, cluster_fixture)

BOOST_AUTO_TEST_CASE(orders_submitted_to_every_node_complete_once) {
  start_all();
  auto ownership = require_settled(all_nodes(), names_except());
  BOOST_TEST_MESSAGE("ownership: " << ownership.describe());

  client_books books;
  constexpr size_t per_node = 120, batch = 40;
  size_t n = 0;
  for (size_t round = 0; round < per_node / batch; ++round)
    for (size_t i = 0; i < node_count; ++i) {
      std::vector<order_request> requests;
      for (size_t k = 0; k < batch; ++k)
        requests.push_back(make_request("all", n++));
      submit(i, requests, books);
    }
  BOOST_TEST(books.ref_by_id.size() == per_node * node_count, logs());
  auto audit = check_outcome(0, books, 30s);
  // Every provider succeeds every call here, so every order is recharged exactly once.
  BOOST_TEST(audit.succeeded == books.ref_by_id.size(), logs());
  BOOST_TEST(audit.recharges == books.ref_by_id.size(), logs());
}

BOOST_AUTO_TEST_CASE(killed_owner_of_the_busiest_provider_loses_and_duplicates_nothing) {
  // p-cmcc is the busiest provider (most orders are cmcc); its calls take a while so that
  // many are in flight or queued when its owner dies.
  auto slow_cmcc = [](nlohmann::json& cfg) {
    auto& cmcc = provider_entry(cfg, "p-cmcc");
    cmcc["rate"] = 200;
    cmcc["burst"] = 20;
    cmcc["adapter"]["latency"] = {{"distribution", "fixed"}, {"fixed_ms", 100}};
  };
  start_all(slow_cmcc);
  auto ownership = require_settled(all_nodes(), names_except());
  auto victim = index_of(ownership.owner_of("p-cmcc"));
  auto survivors = nodes_except(victim);
  BOOST_TEST_MESSAGE("ownership: " << ownership.describe() << "; killing " << node_name(victim));

  client_books books;
  size_t n = 0;
  auto submit_round = [&](const std::vector<size_t>& to) {
    for (auto i : to) {
      std::vector<order_request> requests;
      for (size_t k = 0; k < 20; ++k)
        requests.push_back(make_request("kill", n++, 7));
      submit(i, requests, books);
    }
  };
  for (int round = 0; round < 10; ++round) {
    submit_round(all_nodes());
    std::this_thread::sleep_for(50ms);
  }
  auto killed_at = steady::now();
  nodes[victim]->kill();
  gateways[victim].reset();
  for (int round = 0; round < 10; ++round) {
    submit_round(survivors);
    std::this_thread::sleep_for(50ms);
  }

  auto bound = std::chrono::milliseconds(down_after_ms + lease_ttl_ms + takeover_slack_ms);
  auto after = require_settled(survivors, names_except(victim),
                               bound - std::chrono::duration_cast<std::chrono::milliseconds>(
                                         steady::now() - killed_at));
  BOOST_TEST(after.owner_of("p-cmcc") != node_name(victim));
  BOOST_TEST_MESSAGE("after the kill: " << after.describe() << " within "
                     << std::chrono::duration_cast<std::chrono::milliseconds>(
                          steady::now() - killed_at).count() << " ms");

  // Restarted on its configuration, it rejoins and takes its share back while orders flow.
  auto cfg = node_config(victim);
  slow_cmcc(cfg);
  start(victim, cfg);
  for (int round = 0; round < 5; ++round) {
    submit_round(all_nodes());
    std::this_thread::sleep_for(50ms);
  }
  auto rejoined = require_settled(all_nodes(), names_except());
  BOOST_TEST_MESSAGE("after the restart: " << rejoined.describe());
  // Every order, accepted before the kill, during the failover or around the restart, final
  // by its client's ack + deadline + grace; store and ledgers agree.
  check_outcome(survivors.front(), books, 40s);
}

BOOST_AUTO_TEST_CASE(paused_owner_loses_its_lease_and_recharges_nothing_when_resumed) {
  // A slow p-cmcc keeps a queue at its owner, so the paused owner still has orders to call
  // when it resumes.
  start_all([](nlohmann::json& cfg) {
    auto& cmcc = provider_entry(cfg, "p-cmcc");
    cmcc["rate"] = 40;
    cmcc["burst"] = 4;
    cmcc["adapter"]["latency"] = {{"distribution", "fixed"}, {"fixed_ms", 20}};
  });
  auto ownership = require_settled(all_nodes(), names_except());
  auto paused = index_of(ownership.owner_of("p-cmcc"));
  auto others = nodes_except(paused);
  BOOST_TEST_MESSAGE("ownership: " << ownership.describe() << "; pausing " << node_name(paused));

  client_books books;
  submit_cmcc_orders(paused, "pause", 0, 120, books);

  nodes[paused]->process().send_signal(SIGSTOP);
  gateways[paused].reset();
  auto taken = require_settled(others, names_except(paused),
                               std::chrono::milliseconds(down_after_ms + lease_ttl_ms
                                                         + takeover_slack_ms));
  BOOST_TEST(taken.owner_of("p-cmcc") != node_name(paused));
  // Past the paused node's lease for certain, and with the new owner at work.
  std::this_thread::sleep_for(std::chrono::milliseconds(lease_ttl_ms));
  nodes[paused]->process().send_signal(SIGCONT);

  // It rejoins, and ownership settles over three members again.
  auto rejoined = require_settled(all_nodes(), names_except(), 20s);
  BOOST_TEST_MESSAGE("after resuming: " << rejoined.describe());
  check_outcome(others.front(), books, 40s);
}

BOOST_AUTO_TEST_CASE(stats_asked_of_any_node_cover_every_node) {
  // Each node serves GET /metrics on an HTTP API port of its own.
  std::vector<uint16_t> api_ports;
  start_all([&](nlohmann::json& cfg) {
    api_ports.push_back(free_port());
    cfg["http_api"] = {{"listen", {{"host", "127.0.0.1"}, {"port", api_ports.back()}}}};
  });
  auto ownership = require_settled(all_nodes(), names_except());
  BOOST_TEST_MESSAGE("ownership: " << ownership.describe());

  // A different number of orders through each node, so each node's row can be told apart.
  client_books books;
  std::map<std::string, uint64_t> accepted_through;
  size_t n = 0;
  for (size_t i = 0; i < node_count; ++i) {
    std::vector<order_request> requests;
    for (size_t k = 0; k < 10 * (i + 1); ++k)
      requests.push_back(make_request("stats", n++));
    auto before = books.ref_by_id.size();
    submit(i, requests, books);
    accepted_through[node_name(i)] = books.ref_by_id.size() - before;
  }
  BOOST_TEST(books.ref_by_id.size() == 60u, logs());
  check_outcome(0, books, 30s);

  for (auto asking : all_nodes()) {
    auto stats = stats_of(asking);
    BOOST_REQUIRE_MESSAGE(stats, "stats through " << node_name(asking) << ": "
                                                  << error_text(stats));
    for (const auto& silent : stats->unreachable)
      BOOST_TEST_ERROR(silent.node << " unreachable: " << silent.reason);
    BOOST_REQUIRE_EQUAL(stats->nodes.size(), node_count);
    BOOST_TEST(stats->nodes.front().node == node_name(asking));
    std::map<std::string, uint64_t> accepted_by;
    std::map<std::string, std::vector<std::string>> serving;
    for (const auto& node : stats->nodes) {
      accepted_by[node.node] = node.intake.accepted;
      for (const auto& provider : node.providers)
        serving[provider.provider].push_back(node.node);
    }
    BOOST_TEST(accepted_by == accepted_through);
    BOOST_TEST(stats->totals.intake.accepted == books.ref_by_id.size());
    uint64_t succeeded = 0, recharged = 0;
    for (const auto& count : stats->totals.orders)
      succeeded += count.status == "succeeded" ? count.count : 0;
    for (const auto& provider : stats->totals.providers)
      recharged += provider.succeeded;
    BOOST_TEST(succeeded == books.ref_by_id.size());
    BOOST_TEST(recharged == books.ref_by_id.size());
    // Each provider's counters come from the one node that runs it.
    for (const auto& provider : workload_providers)
      BOOST_TEST((serving[provider] == std::vector<std::string>{ownership.owner_of(provider)}),
                 provider << " served by " << serving[provider].size() << " nodes");
  }

  // Each node's scrape shows its own counters, the members it sees and the leases it holds:
  // every provider's lease is held once (the gauges follow within a heartbeat or two).
  auto scrape = [&](size_t i) {
    return samples_of(
      http_client{api_ports[i]}.call(boost::beast::http::verb::get, "/metrics").text);
  };
  double leases = 0;
  auto give_up = steady::now() + 5s;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds{heartbeat_interval_ms});
    leases = 0;
    for (auto i : all_nodes())
      leases += sum_of(scrape(i), "topup_cluster_leases_held");
  } while (leases != static_cast<double>(workload_providers.size()) && steady::now() < give_up);
  BOOST_TEST(leases == static_cast<double>(workload_providers.size()));
  // Each provider's lease shows its epoch on the one node holding it.
  for (const auto& provider : workload_providers) {
    int holders = 0;
    for (auto i : all_nodes())
      if (sum_of(scrape(i), "topup_cluster_lease_epoch", {"provider=\"" + provider + "\""}) >= 1)
        ++holders;
    BOOST_TEST(holders == 1, provider << " has its epoch on " << holders << " nodes");
  }
  for (auto i : all_nodes()) {
    auto samples = scrape(i);
    BOOST_TEST(sum_of(samples, "topup_cluster_members") == static_cast<double>(node_count));
    BOOST_TEST(sum_of(samples, "topup_orders_accepted_total")
               == static_cast<double>(accepted_through[node_name(i)]));
  }

  // A member that stops answering is reported, within a bound, and the rest still are.
  auto paused = node_count - 1;
  nodes[paused]->process().send_signal(SIGSTOP);
  auto asked_at = steady::now();
  auto stats = stats_of(0);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - asked_at);
  nodes[paused]->process().send_signal(SIGCONT);
  BOOST_REQUIRE_MESSAGE(stats, "stats with " << node_name(paused) << " paused: "
                                             << error_text(stats));
  BOOST_TEST(took.count() < 8000, "stats took " << took.count() << " ms");
  BOOST_TEST(stats->nodes.size() == node_count - 1);
  BOOST_REQUIRE_EQUAL(stats->unreachable.size(), 1u);
  BOOST_TEST(stats->unreachable.front().node == node_name(paused));
  BOOST_TEST_MESSAGE(node_name(paused) << " paused: " << stats->unreachable.front().reason
                                       << " after " << took.count() << " ms");
}

BOOST_AUTO_TEST_CASE(a_watch_through_any_node_sees_every_change_once) {
  start_all();
  auto ownership = require_settled(all_nodes(), names_except());
  // cmcc orders are recharged by p-cmcc's owner; the watches go through the two other
  // nodes, and orders come in through all three: accepted on a watching node, on the other
  // one and on the owner, and recharged on the owner. With clients on two nodes, each node
  // relays to the other: a change passed on twice would show as a duplicate.
  auto owner = index_of(ownership.owner_of("p-cmcc"));
  std::vector<size_t> watching{(owner + 1) % node_count, (owner + 2) % node_count};
  BOOST_TEST_MESSAGE("ownership: " << ownership.describe() << "; watching through "
                                   << node_name(watching[0]) << " and "
                                   << node_name(watching[1]));
  std::vector<std::unique_ptr<caf::scoped_actor>> watchers;
  for (auto i : watching) {
    watchers.push_back(std::make_unique<caf::scoped_actor>(system));
    watch_through(i, *watchers.back(), "");
  }

  client_books books;
  std::map<std::string, size_t> accepted_on;
  for (size_t i = 0; i < node_count; ++i) {
    auto before = books.ref_by_id;
    submit(i, {make_request("watch", i, 10)}, books);
    for (const auto& [id, ref] : books.ref_by_id)
      if (!before.count(id))
        accepted_on[id] = i;
  }
  BOOST_REQUIRE_EQUAL(accepted_on.size(), node_count);
  std::set<std::string> ids;
  for (const auto& [id, node] : accepted_on)
    ids.insert(id);

  for (size_t w = 0; w < watching.size(); ++w) {
    auto& watcher = *watchers[w];
    auto changes = receive_changes(watcher, ids, 30s);
    self->send(gateway(watching[w]), unwatch_atom::value, caf::actor_cast<caf::actor>(watcher));
    for (const auto& [id, node] : accepted_on) {
      const auto& seen = changes[id];
      auto where = id + " accepted on " + node_name(node) + ", watched through "
                   + node_name(watching[w]) + ":" + describe_changes(seen);
      BOOST_TEST_MESSAGE(where);
      BOOST_REQUIRE_MESSAGE(!seen.empty() && is_final(seen.back().snapshot.status),
                            where << ": never final" << logs());
      // Every provider call succeeds here: accepted, dispatched, succeeded, each seen once.
      BOOST_TEST(count_of(seen, "accept") == 1u, where);
      BOOST_TEST(count_of(seen, "dispatch") == 1u, where);
      BOOST_TEST(count_of(seen, "succeed") == 1u, where);
      BOOST_TEST(seen.size() == 3u, where);
      BOOST_TEST(seen.back().snapshot.provider == "p-cmcc",
                 where << ": recharged by " << seen.back().snapshot.provider << ", not at "
                       << node_name(owner));
    }
    // Nothing else was watched, and nothing arrived twice.
    BOOST_TEST(changes.size() == accepted_on.size());
  }
}

BOOST_AUTO_TEST_CASE(cancel_through_a_node_holding_no_queue_of_the_order) {
  // Every provider serving cmcc takes one call a second, so orders behind the first wait
  // in the queue of p-cmcc's (or p-agg's) owner.
  start_all([](nlohmann::json& cfg) {
    for (const auto& name : {"p-cmcc", "p-agg"}) {
      auto& provider = provider_entry(cfg, name);
      provider["rate"] = 1;
      provider["burst"] = 1;
      provider["concurrency"] = 1;
    }
  });
  auto ownership = require_settled(all_nodes(), names_except());
  auto asking = owning_none_of(ownership, {"p-cmcc", "p-agg"});
  BOOST_TEST_MESSAGE("ownership: " << ownership.describe() << "; cancelling through "
                                   << node_name(asking));

  client_books books;
  std::vector<order_request> requests;
  for (size_t k = 0; k < 6; ++k)
    requests.push_back(make_request("cancel", k, 10));
  submit(asking, requests, books);
  BOOST_REQUIRE_EQUAL(books.ref_by_id.size(), requests.size());
  std::map<std::string, std::string> id_by_ref;
  for (const auto& [id, ref] : books.ref_by_id)
    id_by_ref[ref] = id;
  std::vector<std::string> ids;
  for (const auto& request : requests)
    ids.push_back(id_by_ref[request.client_ref]);

  // The newest orders wait longest (seconds); each is watched by id through the same node,
  // while the cancel happens where the order waits.
  std::vector<std::string> newest(ids.end() - 3, ids.end());
  caf::scoped_actor watcher{system};
  for (const auto& id : newest)
    watch_through(asking, watcher, id);

  std::optional<order> cancelled;
  for (auto id = newest.rbegin(); id != newest.rend() && !cancelled; ++id) {
    auto answer = cancel_through(asking, *id);
    if (answer) {
      cancelled = *answer;
      break;
    }
    BOOST_TEST_MESSAGE("cancel of " << *id << ": " << error_text(answer));
  }
  BOOST_REQUIRE_MESSAGE(cancelled, "no order could be cancelled" << logs());
  BOOST_TEST(std::string{to_string(cancelled->status)} == "failed");
  BOOST_TEST(cancelled->last_error == "cancelled by the client");
  for (auto i : all_nodes()) {
    auto again = cancel_through(i, cancelled->id);
    BOOST_REQUIRE(!again);
    auto refusal = as_failure(again.error());
    BOOST_TEST((refusal && refusal->code == errc::illegal_transition),
               "cancel again through " << node_name(i) << ": " << error_text(again));
  }

  auto changes = receive_changes(watcher, {newest.begin(), newest.end()}, 30s);
  for (const auto& id : newest) {
    const auto& seen = changes[id];
    BOOST_TEST_MESSAGE(id << ":" << describe_changes(seen));
    BOOST_TEST(count_of(seen, "cancel") == (id == cancelled->id ? 1u : 0u),
               id << ":" << describe_changes(seen));
    BOOST_TEST((!seen.empty() && is_final(seen.back().snapshot.status)),
               id << " never seen final:" << describe_changes(seen));
  }
  BOOST_TEST(changes[cancelled->id].size() == 1u, describe_changes(changes[cancelled->id]));
  // The others ran their course, and the cancelled order was never recharged.
  check_outcome(asking, books, 30s);
  auto counts = recharges();
  BOOST_TEST(counts.count(cancelled->id) == 0u, "the cancelled order was recharged");
}

// The orders of a failing provider wait at its failover provider's owner; when that owner
// gives the failover provider up (a node joins), they go with it; when it dies, the next
// owner finds them in the store. Nothing in a failed-over order's row names the provider
// it waits for: its carrier prefers the failing one, and so does its latest attempt, if any.
BOOST_AUTO_TEST_CASE(orders_failed_over_to_a_provider_that_moves_are_served_by_its_next_owner) {
  const size_t late = 2;
  const std::set<std::string> first_two{node_name(0), node_name(1)};
  auto planned_before = assign_owners(workload_providers, {first_two.begin(), first_two.end()});
  auto planned_after = assign_owners(workload_providers, {node_name(0), node_name(1),
                                                          node_name(late)});
  // These node names put p-cucc and p-agg together, and move only p-agg on the join.
  BOOST_TEST_REQUIRE(planned_before["p-agg"] == planned_before["p-cucc"]);
  BOOST_TEST_REQUIRE(planned_after["p-cucc"] == planned_before["p-cucc"]);
  BOOST_TEST_REQUIRE(planned_after["p-agg"] != planned_before["p-agg"]);
  auto holder = index_of(planned_before["p-agg"]);

  // A deadline of 20 s: an order left behind fails well within the test.
  auto adjust = [](nlohmann::json& cfg) { fail_cucc_over_to_a_slow_agg(cfg, 20000); };
  for (size_t i = 0; i < node_count; ++i)
    if (i != late) {
      auto cfg = node_config(i);
      adjust(cfg);
      start(i, cfg);
    }
  require_settled({0, 1}, first_two);

  client_books books;
  auto requests = cucc_requests("moved", 60);
  submit(holder, requests, books);
  BOOST_TEST_REQUIRE(books.ref_by_id.size() == requests.size(), logs());

  // Wait until the holder's p-agg queue has taken over most of them.
  require_queued(holder, "p-agg", 30);

  auto cfg = node_config(late);
  adjust(cfg);
  start(late, cfg);
  auto after = require_settled(all_nodes(), names_except());
  BOOST_TEST(after.owner_of("p-agg") != node_name(holder));

  require_all_succeeded(0, books, 40s);
}

BOOST_AUTO_TEST_CASE(orders_failed_over_to_a_killed_owners_provider_are_served_by_its_next_owner) {
  auto planned = assign_owners(workload_providers, {node_name(0), node_name(1), node_name(2)});
  // These node names put p-cucc and p-agg on different nodes: the orders failed over from
  // p-cucc are accepted and watched by one node and queue at another, which dies. Their
  // latest attempt (if any) was at p-cucc, whose owner stays, and cucc numbers prefer
  // p-cucc: nothing ties them to p-agg in the store.
  BOOST_TEST_REQUIRE(planned["p-agg"] != planned["p-cucc"]);
  auto victim = index_of(planned["p-agg"]);
  auto accepting = index_of(planned["p-cucc"]);

  start_all([](nlohmann::json& cfg) { fail_cucc_over_to_a_slow_agg(cfg, 30000); });
  require_settled(all_nodes(), names_except());

  client_books books;
  auto requests = cucc_requests("orphaned", 80);
  submit(accepting, requests, books);
  BOOST_TEST_REQUIRE(books.ref_by_id.size() == requests.size(), logs());
  require_queued(victim, "p-agg", 40);

  nodes[victim]->kill();
  gateways[victim].reset();
  auto after = require_settled(nodes_except(victim), names_except(victim));
  BOOST_TEST(after.owner_of("p-agg") != node_name(victim));

  require_all_succeeded(accepting, books, 40s);
}

// Orders forwarded to p-cmcc's owner are lost on the way (TOPUP_TEST_LOST_FORWARDS: the
// accepting node drops its first forward, as a connection dropped with it would) while every
// node lives, so no takeover reads the store for them. At their re-send point the accepting
// node finds them still waiting and routes them again: every one succeeds, none fails at
// its deadline.
BOOST_AUTO_TEST_CASE(orders_whose_forward_is_lost_between_live_nodes_are_routed_again) {
  node_test_setting lost{"TOPUP_TEST_LOST_FORWARDS", 1};
  const int64_t resend_ms = 6000;
  start_all([&](nlohmann::json& cfg) {
    cfg["deadline"] = {{"limit_ms", 20000}, {"resend_at_ms", {resend_ms}},
                       {"query_interval_ms", 200}};
  });
  auto ownership = require_settled(all_nodes(), names_except());
  auto accepting = owning_none_of(ownership, {"p-cmcc"});
  BOOST_TEST_MESSAGE("ownership: " << ownership.describe() << "; submitting to "
                                   << node_name(accepting));
  client_books books;
  submit_cmcc_orders(accepting, "lost", 0, 40, books);
  require_all_succeeded(accepting, books, 30s);
  // The forward was lost indeed: the orders were served only from their re-send point on.
  auto orders = wait_until_final(accepting, books, 1s);
  auto served_late = std::count_if(orders.begin(), orders.end(), [&](const auto& entry) {
    return entry.second.updated_at_ms - entry.second.accepted_at_ms >= resend_ms;
  });
  BOOST_TEST(served_late > 0, "every order was final before its re-send point" << logs());
}

BOOST_AUTO_TEST_CASE(orders_a_killed_node_holding_no_provider_never_handed_on_are_served) {
  // p-agg alone, serving every carrier: one node holds it, the other two hold nothing, and
  // the death of one of those moves no lease, so no takeover reads the store.
  configured_providers = {"p-agg"};
  const int64_t limit_ms = 15000;
  start_all([&](nlohmann::json& cfg) {
    auto agg = provider_entry(cfg, "p-agg");
    cfg["providers"] = nlohmann::json::array({agg});
    cfg["deadline"] = {{"limit_ms", limit_ms}, {"resend_at_ms", {12000}},
                       {"query_interval_ms", 200}};
  });
  auto ownership = require_settled(all_nodes(), names_except());
  auto holder = index_of(ownership.owner_of("p-agg"));
  auto victim = holder == 2 ? size_t{1} : size_t{2};
  BOOST_TEST_MESSAGE("ownership: " << ownership.describe() << "; killing " << node_name(victim));
  // The holder's takeover of p-agg read the store when it took the lease, well before this.
  std::this_thread::sleep_for(1s);

  // What a node leaves behind when it dies between acknowledging orders and handing them on
  // to p-agg's holder: the orders in the store, waiting, and nothing anywhere watching them.
  client_books books;
  {
    order_store db{database};
    order_id_generator ids{node_name(victim), system_clock{}.wall_ms()};
    std::vector<order> accepted;
    for (size_t n = 0; n < 40; ++n) {
      auto request = make_request("stranded", n, 10);
      order o;
      o.id = ids.next();
      o.client_ref = request.client_ref;
      o.phone = request.phone;
      o.carrier = "cmcc";
      o.amount_fen = request.amount_fen;
      o.accepted_at_ms = system_clock{}.wall_ms();
      o.deadline_ms = o.accepted_at_ms + limit_ms;
      o.updated_at_ms = o.accepted_at_ms;
      o.merchant = std::string{merchant_directory::implicit_default};
      books.ref_by_id[o.id] = o.client_ref;
      books.acked_at_ms[o.id] = o.accepted_at_ms;
      accepted.push_back(std::move(o));
    }
    db.insert(accepted);
  }
  // Nobody serves them while every member lives.
  std::this_thread::sleep_for(1500ms);
  for (const auto& [id, o] : wait_until_final(holder, books, 0ms))
    BOOST_TEST_REQUIRE((o.status == order_status::accepted), id << " was served: " << logs());

  nodes[victim]->kill();
  gateways[victim].reset();
  auto after = require_settled(nodes_except(victim), names_except(victim));
  BOOST_TEST(after.owner_of("p-agg") == node_name(holder));

  require_all_succeeded(holder, books, 20s);
}

BOOST_AUTO_TEST_SUITE_END()

// -- the lease checked when a call leaves; no lease moved by a database outage -------------

namespace {

/// A provider's lease row as the database holds it.
struct lease_row {
  std::string owner;
  int64_t epoch = 0;
  friend bool operator==(const lease_row& a, const lease_row& b) {
    return a.owner == b.owner && a.epoch == b.epoch;
  }
};

/// Every provider's lease row, by provider.
std::map<std::string, lease_row> lease_rows(const store_config& database) {
  std::map<std::string, lease_row> rows;
  soci::rowset<soci::row> read = (open_session(database)->prepare
                                  << "SELECT provider, owner, epoch FROM provider_leases");
  for (const auto& row : read)
    rows[row.get<std::string>(0)] = {row.get<std::string>(1), row.get<long long>(2)};
  return rows;
}

std::string describe_leases(const std::map<std::string, lease_row>& rows) {
  std::string text;
  for (const auto& [provider, row] : rows)
    text += " " + provider + "=" + row.owner + "/" + std::to_string(row.epoch);
  return text;
}

/// Attempts written ahead of calls to `provider` by `node` under `epoch`.
long long attempts_written(const store_config& database, const std::string& provider,
                           const std::string& node, int64_t epoch) {
  long long count = 0;
  long long wanted_epoch = epoch;
  *open_session(database) << "SELECT COUNT(*) FROM attempts WHERE provider = :provider"
                             " AND node = :node AND epoch = :epoch",
    soci::use(provider), soci::use(node), soci::use(wanted_epoch), soci::into(count);
  return count;
}

int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// The size of a node's log now: where what it logs next begins.
std::streamoff log_size(const std::string& path) {
  std::ifstream in{path, std::ios::binary | std::ios::ate};
  return in ? static_cast<std::streamoff>(in.tellg()) : 0;
}

/// What a node logged from `offset` on.
std::string log_since(const std::string& path, std::streamoff offset) {
  std::ifstream in{path, std::ios::binary};
  in.seekg(offset);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The callers of one provider as topup-provider-sim's GET /ledger reports them.
struct sim_caller {
  std::string node;
  int64_t epoch = 0;
  uint64_t calls = 0;
  uint64_t queries = 0;
  int64_t first_at_ms = 0;
  int64_t last_at_ms = 0;
};

std::vector<sim_caller> callers_of(const nlohmann::json& ledger, const std::string& provider) {
  std::vector<sim_caller> callers;
  for (const auto& entry : ledger.at("providers").at(provider).at("callers"))
    callers.push_back({entry.at("node").get<std::string>(), entry.at("epoch").get<int64_t>(),
                       entry.at("calls").get<uint64_t>(), entry.at("queries").get<uint64_t>(),
                       entry.at("first_at_ms").get<int64_t>(),
                       entry.at("last_at_ms").get<int64_t>()});
  return callers;
}

std::optional<sim_caller> caller(const std::vector<sim_caller>& callers, const std::string& node,
                                 int64_t epoch) {
  for (const auto& c : callers)
    if (c.node == node && c.epoch == epoch)
      return c;
  return std::nullopt;
}

/// Runs scripts/postgres-test-server on the tests' server (halt: a database outage; resume).
void postgres_server(const std::string& command) {
  auto source = std::getenv("TOPUP_SOURCE_DIR");
  auto dir = std::getenv("TOPUP_TEST_POSTGRES_DIR");
  auto port = std::getenv("TOPUP_TEST_POSTGRES_PORT");
  BOOST_TEST_REQUIRE((source && dir && port), "the PostgreSQL test server is not described");
  auto line = std::string{source} + "/scripts/postgres-test-server " + command + " " + dir
              + (command == "resume" ? std::string{" "} + port : std::string{});
  BOOST_TEST_REQUIRE(std::system(line.c_str()) == 0, line << " failed");
}

/// topup-provider-sim playing every workload provider: p-cmcc with `cmcc_outcomes`, the
/// others always succeeding.
nlohmann::json sim_providers(const nlohmann::json& cmcc_outcomes) {
  auto cmcc = sim_provider("p-cmcc", cmcc_outcomes);
  cmcc["model"]["latency"]["fixed_ms"] = 20;
  nlohmann::json providers = nlohmann::json::array({cmcc});
  for (const auto& name : {"p-cucc", "p-ctcc", "p-agg"})
    providers.push_back(sim_provider(name, {{"success", 1}}));
  return providers;
}

/// Every workload provider of a node's configuration called over HTTP at `sim`.
void call_the_simulator(nlohmann::json& cfg, const provider_sim_process& sim) {
  for (const auto& provider : workload_providers)
    provider_entry(cfg, provider)["adapter"] = {{"type", "http"},
                                                {"base_url", sim.base_url(provider)},
                                                {"secret", secret_of(provider)}};
}

/// When (wall ms, as the test saw it: at most a poll after it happened) `provider`'s lease
/// moved past `old_epoch`, and the lease then; nothing if it did not within 15 s.
std::pair<std::optional<int64_t>, lease_row> wait_for_move(const store_config& database,
                                                           const std::string& provider,
                                                           int64_t old_epoch) {
  lease_row taken;
  for (auto until = steady::now() + 15s; steady::now() < until;
       std::this_thread::sleep_for(20ms)) {
    taken = lease_rows(database).at(provider);
    if (taken.epoch > old_epoch)
      return {wall_now_ms(), taken};
  }
  return {std::nullopt, taken};
}

/// Nothing `node` sent `provider` under `epoch` reached it at or after `moved_at_ms` (calls,
/// status queries, performed recharges), nor after the first request of `next`. Returns
/// what the old epoch sent in all.
std::optional<sim_caller> check_silent_after_move(const provider_sim_process& sim,
                                                  const std::string& provider,
                                                  const std::string& node, int64_t epoch,
                                                  int64_t moved_at_ms, const sim_caller& next) {
  auto old_owner = caller(callers_of(sim.ledger(), provider), node, epoch);
  if (old_owner) {
    BOOST_TEST(old_owner->last_at_ms < moved_at_ms,
               node << " called " << provider << " under epoch " << epoch << " "
                    << old_owner->last_at_ms - moved_at_ms << " ms after the lease moved ("
                    << old_owner->calls << " calls, " << old_owner->queries << " queries)");
    BOOST_TEST(old_owner->last_at_ms < next.first_at_ms);
  }
  for (const auto& row : ledger{sim.ledger_path()}.records())
    if (row.provider == provider && row.node == node && row.epoch == epoch)
      BOOST_TEST(row.at_ms < moved_at_ms, "recharge of " << row.order_id << " under epoch "
                                                         << epoch << " after the move");
  // Across every provider: no caller's requests overlap those of a later epoch.
  for (const auto& name : workload_providers) {
    auto all = callers_of(sim.ledger(), name);
    for (const auto& earlier : all)
      for (const auto& later : all)
        if (later.epoch > earlier.epoch && earlier.epoch > 0)
          BOOST_TEST(earlier.last_at_ms <= later.first_at_ms,
                     name << ": " << earlier.node << "/" << earlier.epoch << " called after "
                          << later.node << "/" << later.epoch << " began");
  }
  return old_owner;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(a_cluster_fenced_where_calls_leave, cluster_fixture)

// The owner of p-cmcc writes its attempts ahead and is stopped (SIGSTOP) before they leave:
// every node holds each call 1.5 s after its write-ahead, and the test stops the owner as
// soon as its attempts are in the database. Its lease moves; when it resumes, it must send
// none of the calls it wrote ahead nor any status query: the provider simulator, which
// records every call and query with the node and epoch that made it, sees nothing from the
// old epoch after the new owner's lease began. The new owner queries the attempts it finds
// written (never assuming they were not sent) and every order ends once.
BOOST_AUTO_TEST_CASE(an_owner_paused_between_write_ahead_and_send_calls_nothing_once_resumed) {
  // p-cmcc leaves a fifth of its calls unanswered (unknown outcomes), so that status
  // queries are due at the owner too.
  provider_sim_process sim{dir, "sim", sim_providers({{"success", 0.8}, {"unknown", 0.2}})};
  ledger_files = {sim.ledger_path()};
  // Every provider call held 1.5 s between its write-ahead and its send: a window to pause
  // the owner in.
  node_test_setting hold{"TOPUP_TEST_SEND_HOLD_MS", 1500};
  start_all([&](nlohmann::json& cfg) {
    cfg["deadline"] = {{"limit_ms", 30000}, {"resend_at_ms", {20000, 25000}},
                       {"query_interval_ms", 200}};
    call_the_simulator(cfg, sim);
  });
  auto ownership = require_settled(all_nodes(), names_except());
  auto paused = index_of(ownership.owner_of("p-cmcc"));
  auto before = lease_rows(database);
  auto old_epoch = before.at("p-cmcc").epoch;
  auto others = nodes_except(paused);
  BOOST_TEST_MESSAGE("ownership:" << describe_leases(before) << "; pausing "
                                  << node_name(paused));

  client_books books;
  auto submit_batch = [&](size_t first) { submit_cmcc_orders(paused, "held", first, 40, books); };
  // A first batch goes out, so that calls without an answer (unknown outcomes) are in
  // flight and their status queries due when the owner stops.
  submit_batch(0);
  for (auto until = steady::now() + 10s; steady::now() < until;
       std::this_thread::sleep_for(20ms)) {
    auto sent = caller(callers_of(sim.ledger(), "p-cmcc"), node_name(paused), old_epoch);
    if (sent && sent->calls >= 20)
      break;
  }
  auto first_written = attempts_written(database, "p-cmcc", node_name(paused), old_epoch);
  // The second batch: stop the owner once its attempts are written ahead (their calls wait
  // 1.5 s from then).
  submit_batch(40);
  long long written = first_written;
  for (auto until = steady::now() + 5s; written == first_written && steady::now() < until;) {
    written = attempts_written(database, "p-cmcc", node_name(paused), old_epoch);
    if (written == first_written)
      std::this_thread::sleep_for(10ms);
  }
  nodes[paused]->process().send_signal(SIGSTOP);
  gateways[paused].reset();
  BOOST_TEST_REQUIRE(written > first_written, "no attempt was written ahead" << logs());
  written = attempts_written(database, "p-cmcc", node_name(paused), old_epoch);
  auto sent_before = caller(callers_of(sim.ledger(), "p-cmcc"), node_name(paused), old_epoch);
  // The window was hit: attempts written ahead whose calls had not left.
  BOOST_TEST_REQUIRE(static_cast<uint64_t>(written) > (sent_before ? sent_before->calls : 0u),
                     written << " attempts written ahead, all sent before the pause");

  // The lease moves; the new owner starts on the orders it finds written ahead.
  auto [moved_at_ms, taken] = wait_for_move(database, "p-cmcc", old_epoch);
  BOOST_TEST_REQUIRE(moved_at_ms.has_value(), "p-cmcc never moved" << logs());
  BOOST_TEST(taken.owner != node_name(paused));
  std::optional<sim_caller> new_owner;
  for (auto until = steady::now() + 15s;
       !(new_owner && new_owner->queries > 0) && steady::now() < until;
       std::this_thread::sleep_for(100ms))
    new_owner = caller(callers_of(sim.ledger(), "p-cmcc"), taken.owner, taken.epoch);
  BOOST_TEST_REQUIRE((new_owner && new_owner->queries > 0),
                     "the new owner never queried what it found written ahead" << logs());
  nodes[paused]->process().send_signal(SIGCONT);

  require_settled(all_nodes(), names_except(), 20s);
  check_outcome(others.front(), books, 40s);

  // Nothing under the old epoch reached the provider once the new lease existed (seen by
  // the test at moved_at_ms, at most a poll later than it began), nor after the first call
  // under the new epoch.
  new_owner = caller(callers_of(sim.ledger(), "p-cmcc"), taken.owner, taken.epoch);
  BOOST_REQUIRE(new_owner);
  auto old_owner = check_silent_after_move(sim, "p-cmcc", node_name(paused), old_epoch,
                                           *moved_at_ms, *new_owner);
  if (old_owner)
    BOOST_TEST(old_owner->calls < static_cast<uint64_t>(written));
  BOOST_TEST_MESSAGE("p-cmcc: " << written << " attempts written ahead under epoch "
                                << old_epoch << ", " << (sent_before ? sent_before->calls : 0)
                                << " calls and " << (sent_before ? sent_before->queries : 0)
                                << " queries sent before the pause, "
                                << (old_owner ? old_owner->calls : 0) << " and "
                                << (old_owner ? old_owner->queries : 0)
                                << " in all; the new owner " << taken.owner
                                << "/" << taken.epoch << " made " << new_owner->calls
                                << " calls and " << new_owner->queries << " queries");
}

// The owner of p-cmcc, half of whose calls go unanswered, is stopped (SIGSTOP) while the
// status queries for several of them wait for their turn (2 s after the call), and resumed
// 10 s after its lease expired and moved. The queries are due the moment it resumes, with
// the provider's burst to spend, well before its cluster actor has read that the lease
// moved: none of them, nor any other call or query under the old epoch, may reach the
// provider, where each would count against the rate limit the new owner works within.
BOOST_AUTO_TEST_CASE(an_owner_resumed_after_its_lease_expired_sends_no_status_query) {
  provider_sim_process sim{dir, "sim", sim_providers({{"success", 0.5}, {"unknown", 0.5}})};
  ledger_files = {sim.ledger_path()};
  start_all([&](nlohmann::json& cfg) {
    cfg["deadline"] = {{"limit_ms", 40000}, {"resend_at_ms", {30000, 35000}},
                       {"query_interval_ms", 2000}};
    call_the_simulator(cfg, sim);
    // A slow p-cmcc keeps work at its owner; its burst lets the queries due leave at once.
    auto& cmcc = provider_entry(cfg, "p-cmcc");
    cmcc["rate"] = 10;
    cmcc["burst"] = 4;
  });
  auto ownership = require_settled(all_nodes(), names_except());
  auto paused = index_of(ownership.owner_of("p-cmcc"));
  auto old_epoch = lease_rows(database).at("p-cmcc").epoch;
  size_t other = (paused + 1) % node_count;

  client_books books;
  submit_cmcc_orders(paused, "resumed", 0, 60, books);
  // Calls left unanswered whose status query has not come yet.
  auto queries_owed = [&] {
    auto summary = sim.ledger();
    const auto& counters = summary.at("providers").at("p-cmcc");
    return counters.at("unanswered").get<int64_t>() - counters.at("queries").get<int64_t>();
  };
  int64_t owed = 0;
  for (auto until = steady::now() + 10s; owed < 3 && steady::now() < until;
       std::this_thread::sleep_for(20ms))
    owed = queries_owed();
  BOOST_TEST_REQUIRE(owed >= 3, "no status queries owed by " << node_name(paused) << logs());

  nodes[paused]->process().send_signal(SIGSTOP);
  auto stopped_at = steady::now();
  gateways[paused].reset();
  auto sent_before = caller(callers_of(sim.ledger(), "p-cmcc"), node_name(paused), old_epoch);
  owed = queries_owed();
  auto [moved_at_ms, taken] = wait_for_move(database, "p-cmcc", old_epoch);
  BOOST_TEST_REQUIRE(moved_at_ms.has_value(), "p-cmcc never moved" << logs());
  // Its lease expired at most a ttl after the stop (it was renewed at most then).
  std::this_thread::sleep_until(stopped_at + std::chrono::milliseconds(lease_ttl_ms) + 10s);
  nodes[paused]->process().send_signal(SIGCONT);

  require_settled(all_nodes(), names_except(), 20s);
  check_outcome(other, books, 60s);
  auto new_owner = caller(callers_of(sim.ledger(), "p-cmcc"), taken.owner, taken.epoch);
  BOOST_TEST_REQUIRE(new_owner.has_value(), "the new owner never called p-cmcc");
  auto old_owner = check_silent_after_move(sim, "p-cmcc", node_name(paused), old_epoch,
                                           *moved_at_ms, *new_owner);
  BOOST_REQUIRE((old_owner && sent_before));
  BOOST_TEST_MESSAGE("p-cmcc under " << node_name(paused) << "/" << old_epoch << ": "
                     << sent_before->calls << " calls and " << sent_before->queries
                     << " queries seen before the pause, " << owed << " queries owed, "
                     << old_owner->calls << " and "
                     << old_owner->queries << " in all; the new owner " << taken.owner << "/"
                     << taken.epoch << " made " << new_owner->calls << " calls and "
                     << new_owner->queries << " queries");
}

// PostgreSQL goes away for 6 s while three nodes work. Every node is cut off alike, every
// heartbeat and lease renewal fails, every lease expires: when the database is back, no
// node may judge the others dead on heartbeats it could not see, and each renews its own
// leases. No lease moves (owners and epochs as before), every order ends, none twice.
BOOST_AUTO_TEST_CASE(a_database_outage_moves_no_lease) {
  start_all([](nlohmann::json& cfg) {
    cfg["deadline"] = {{"limit_ms", 40000}, {"resend_at_ms", {30000, 35000}},
                       {"query_interval_ms", 200}};
    // A queue at p-cmcc's owner across the outage.
    auto& cmcc = provider_entry(cfg, "p-cmcc");
    cmcc["rate"] = 50;
    cmcc["burst"] = 5;
  });
  auto ownership = require_settled(all_nodes(), names_except());
  auto before = lease_rows(database);
  BOOST_TEST_MESSAGE("leases before the outage:" << describe_leases(before));

  client_books books;
  size_t n = 0;
  for (int round = 0; round < 3; ++round)
    for (size_t i = 0; i < node_count; ++i) {
      std::vector<order_request> requests;
      for (size_t k = 0; k < 40; ++k)
        requests.push_back(make_request("outage", n++, 6));
      submit(i, requests, books);
    }
  BOOST_TEST_REQUIRE(books.ref_by_id.size() == n, logs());

  std::vector<std::streamoff> logged_before;
  for (const auto& node : nodes)
    logged_before.push_back(log_size(node->log_path()));
  postgres_server("halt");
  auto halted = steady::now();
  std::this_thread::sleep_for(6s);
  postgres_server("resume");
  BOOST_TEST_MESSAGE("database away for "
                     << std::chrono::duration_cast<std::chrono::milliseconds>(steady::now()
                                                                              - halted)
                          .count()
                     << " ms");

  auto after_outage = require_settled(all_nodes(), names_except(), 20s);
  BOOST_TEST((after_outage.owners == ownership.owners), after_outage.describe());
  // Nobody judged another member down: whether or not a lease could be taken before its
  // holder renewed it, such a verdict would move leases.
  for (size_t i = 0; i < node_count; ++i) {
    auto logged = log_since(nodes[i]->log_path(), logged_before[i]);
    auto verdict = logged.find(" left node-");
    BOOST_TEST(verdict == std::string::npos,
               node_name(i) << " judged a member down after the outage: "
                            << logged.substr(logged.rfind('\n', verdict) + 1, 120));
  }
  check_outcome(0, books, 60s);
  auto after = lease_rows(database);
  BOOST_TEST((after == before), "leases before:" << describe_leases(before)
                                                 << "; after:" << describe_leases(after)
                                                 << logs());
}

BOOST_AUTO_TEST_SUITE_END()

// -- leaving the cluster: a clean stop releases, a kill lets expire ------------------------

namespace {

/// When each provider's lease expires (database clock, ms), by provider.
std::map<std::string, int64_t> lease_expiries(const store_config& database) {
  std::map<std::string, int64_t> expiries;
  soci::rowset<soci::row> read = (open_session(database)->prepare
                                  << "SELECT provider, expires_at_ms FROM provider_leases");
  for (const auto& row : read)
    expiries[row.get<std::string>(0)] = row.get<long long>(1);
  return expiries;
}

/// Whether `node` has a row in the membership table.
bool has_member_row(const store_config& database, const std::string& node) {
  long long rows = 0;
  *open_session(database) << "SELECT COUNT(*) FROM cluster_members WHERE node = :node",
    soci::use(node), soci::into(rows);
  return rows > 0;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(leaving_the_cluster, cluster_fixture)

// One node holds every provider (the others are not started), so nobody takes a lease over
// and the rows show what the stopped node did with them. Stopped with SIGTERM, it releases
// every lease (the row names no owner) and removes its membership row before it exits;
// killed with SIGKILL it cannot: its leases still name it, and expire a time to live after
// their last renewal at the latest.
BOOST_AUTO_TEST_CASE(a_stopped_nodes_leases_are_free_at_once_a_killed_nodes_expire) {
  const std::set<std::string> alone{node_name(0)};
  start(0, node_config(0));
  require_settled({0}, alone);
  auto held = lease_rows(database);
  BOOST_TEST_REQUIRE(held.size() == workload_providers.size(), describe_leases(held));

  auto code = nodes[0]->terminate(10s);
  BOOST_TEST_REQUIRE(code.has_value(), "topup-node did not exit within 10 s of SIGTERM"
                                         << logs());
  BOOST_TEST(*code == 0);
  gateways[0].reset();
  for (const auto& [provider, row] : lease_rows(database)) {
    BOOST_TEST(row.owner.empty(), provider << " still names " << row.owner
                                           << " after SIGTERM" << logs());
    BOOST_TEST(row.epoch == held.at(provider).epoch);
  }
  BOOST_TEST(!has_member_row(database, node_name(0)));

  // Started again, it acquires the released leases at once, under new epochs.
  start(0, node_config(0));
  require_settled({0}, alone);
  held = lease_rows(database);
  for (const auto& [provider, row] : held)
    BOOST_TEST(row.owner == node_name(0), provider << ": " << describe_leases(held));
  nodes[0]->kill();
  auto killed_at_ms = wall_now_ms();
  auto after_kill = lease_rows(database);
  BOOST_TEST((after_kill == held), "before:" << describe_leases(held)
                                             << "; after SIGKILL:" << describe_leases(after_kill));
  BOOST_TEST(has_member_row(database, node_name(0)));
  int64_t last_expiry = 0;
  for (const auto& [provider, expires_at_ms] : lease_expiries(database)) {
    // Renewed before the kill, by the same machine's clock.
    BOOST_TEST(expires_at_ms <= killed_at_ms + lease_ttl_ms, provider);
    last_expiry = std::max(last_expiry, expires_at_ms);
  }
  lease_store leases{database};
  for (auto until = steady::now() + std::chrono::milliseconds(lease_ttl_ms) + 5s;
       leases.now_ms() <= last_expiry && steady::now() < until;)
    std::this_thread::sleep_for(50ms);
  for (const auto& provider : workload_providers)
    BOOST_TEST(!leases.holder(provider).has_value(), provider << " held past its expiry");
}

BOOST_AUTO_TEST_SUITE_END()
