#define BOOST_TEST_MODULE node_crash_tests
#include <boost/test/unit_test.hpp>

// README.md's guarantees 1-4 against the real node, the way W3 (bench/README.md) tests them: a
// topup-node with an SQLite store and the four simulated providers (ledgers on disk) takes
// pipelined submissions over the remote protocol; we SIGKILL it under load (during intake,
// and while many provider calls are in flight), restart it on the same files, keep
// submitting (an unanswered submission is sent again with the same client reference until
// acknowledged), wait until every order is final and then check the store and the ledgers:
// every acknowledged order exists and is final, no reference was acknowledged under two ids,
// store and ledgers agree order by order (no order recharged twice, every succeeded order
// exactly once at its provider, every failed one never), and every order was final by the
// deadline the client was promised at its first ack, across the kills.

#include "apps/bench/order_audit.hpp"
#include "apps/bench/store_reader.hpp"
#include "domain/clock.hpp"
#include "domain/store_shards.hpp"
#include "messages/errors.hpp"
#include "providers/ledger.hpp"
#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <chrono>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
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

/// A submission unanswered for this long counts as lost; it is sent again.
constexpr auto request_timeout = std::chrono::seconds(10);

/// The node's deadline in these runs, and the grace the workloads (bench/README.md) allow an order
/// closed at it.
constexpr int64_t deadline_limit_ms = 12000;
constexpr int64_t deadline_grace_ms = 1000;


/// Orders per submit message and messages outstanding at once.
constexpr size_t batch_size = 50;
constexpr size_t window = 6;

const std::vector<std::string> prefixes{"138", "139", "150", "130", "131", "186",
                                        "133", "153", "189"};
const std::vector<int64_t> amounts{1000, 2000, 3000, 5000, 10000, 20000};

/// The i-th order of a run: carriers and amounts in turn, a unique reference.
order_request make_request(const std::string& tag, size_t i) {
  char phone[16];
  std::snprintf(phone, sizeof phone, "%s%08zu", prefixes[i % prefixes.size()].c_str(),
                i % 100000000);
  return {tag + "-" + std::to_string(i), phone, amounts[i % amounts.size()]};
}

/// What the client knows, across every start of the node.
struct client_books {
  std::deque<order_request> to_submit;             ///< not acknowledged yet
  std::map<std::string, std::string> id_by_ref;    ///< acknowledged orders
  /// By reference: when its first ack arrived, read from the clock the node writes the
  /// store's times with (wall-clock ms; one machine, one clock), so that they compare.
  std::map<std::string, int64_t> acked_at_ms;
  std::vector<std::string> problems;               ///< answers that must not happen
  size_t acks = 0;      ///< acknowledgements received
  size_t existing = 0;  ///< of those, answered as an existing order (its first ack was lost)
  size_t resent = 0;    ///< orders sent again (unanswered, or refused for now)
};

/// Books the answers to one submit message; orders refused for now go back in the queue.
void account(client_books& books, std::vector<order_request>& batch,
             std::vector<submit_result>& results) {
  if (results.size() != batch.size()) {
    books.problems.push_back("a batch of " + std::to_string(batch.size()) + " got "
                             + std::to_string(results.size()) + " results");
    return;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    auto& request = batch[i];
    auto& result = results[i];
    if (!result.error) {
      if (result.accepted.id.empty() || result.accepted.client_ref != request.client_ref)
        books.problems.push_back(request.client_ref + " acknowledged as order '"
                                 + result.accepted.id + "' with reference '"
                                 + result.accepted.client_ref + "'");
      books.acked_at_ms.emplace(request.client_ref, system_clock{}.wall_ms());
      auto [known, fresh] = books.id_by_ref.emplace(request.client_ref, result.accepted.id);
      if (!fresh && known->second != result.accepted.id)
        books.problems.push_back(request.client_ref + " acknowledged as " + known->second
                                 + " and as " + result.accepted.id);
      books.acks++;
      if (result.existing)
        books.existing++;
      continue;
    }
    auto failure = as_failure(result.error);
    if (failure
        && (failure->code == errc::overloaded || failure->code == errc::unavailable
            || failure->code == errc::shutting_down)) {
      books.to_submit.push_back(std::move(request));
      books.resent++;
      continue;
    }
    books.problems.push_back(request.client_ref + " refused: " + describe(result.error));
  }
}

/// Submits the queued orders in batches, up to `window` messages outstanding, until `stop`
/// (asked before each send) says so, every order is acknowledged, or `deadline`. Messages
/// still unanswered then are treated as lost: their orders go back in the queue.
void submit(caf::scoped_actor& self, const gateway_actor& gateway, client_books& books,
            const std::function<bool()>& stop, steady::time_point deadline) {
  using reply_handle = decltype(self->request(gateway, request_timeout, submit_atom::value,
                                              std::vector<order_request>{}));
  struct outstanding {
    reply_handle reply;
    std::vector<order_request> batch;
  };
  std::deque<outstanding> pending;
  auto give_back = [&](std::vector<order_request>& batch) {
    books.resent += batch.size();
    for (auto& request : batch)
      books.to_submit.push_back(std::move(request));
  };
  for (;;) {
    bool stopping = stop() || steady::now() >= deadline;
    while (!stopping && pending.size() < window && !books.to_submit.empty()) {
      std::vector<order_request> batch;
      while (batch.size() < batch_size && !books.to_submit.empty()) {
        batch.push_back(std::move(books.to_submit.front()));
        books.to_submit.pop_front();
      }
      auto reply = self->request(gateway, request_timeout, submit_atom::value, batch);
      pending.push_back({reply, std::move(batch)});
    }
    if (stopping || pending.empty())
      break;
    auto current = std::move(pending.front());
    pending.pop_front();
    current.reply.receive(
      [&](std::vector<submit_result>& results) { account(books, current.batch, results); },
      [&](caf::error&) { give_back(current.batch); });
  }
  for (auto& unanswered : pending)
    give_back(unanswered.batch);
}

/// The node's stats, or nothing.
std::optional<node_stats> stats_of(caf::scoped_actor& self, const gateway_actor& gateway) {
  std::optional<node_stats> stats;
  self->request(gateway, request_timeout, stats_atom::value)
    .receive([&](cluster_stats& s) { stats = std::move(s.nodes.front()); },
             [](caf::error&) {});
  return stats;
}

uint64_t calls_in_flight(const node_stats& stats) {
  uint64_t in_flight = 0;
  for (const auto& p : stats.providers)
    in_flight += p.in_flight;
  return in_flight;
}

std::string describe_counts(const node_stats& stats) {
  std::string text;
  for (const auto& count : stats.orders)
    text += " " + count.status + "=" + std::to_string(count.count);
  return text;
}

/// One crash run: a temp dir with the node's files, the node (restarted on them), a client.
struct crash_run {
  temp_dir dir;
  nlohmann::json node_cfg;
  std::string config_path = dir.file("node.json");
  std::string log_path = dir.file("node.log");
  client_config client_cfg;
  caf::actor_system system{client_cfg};
  client_books books;
  std::optional<node_process> node;
  uint16_t port = 0;
  size_t kills = 0;

  explicit crash_run(size_t orders, const std::string& tag) {
    port = free_port();
    node_cfg = test_node_config(dir.path(), port);
    node_cfg["node"]["log_level"] = "warn";
    node_cfg["deadline"] = {{"limit_ms", deadline_limit_ms}, {"resend_at_ms", {8000, 10000}},
                            {"query_interval_ms", 100}};
    for (size_t i = 0; i < orders; ++i)
      books.to_submit.push_back(make_request(tag, i));
  }

  /// Starts the node on the run's files (the same every time) and connects to it.
  gateway_actor start() {
    write_json(config_path, node_cfg);
    node.reset();
    node.emplace(TOPUP_NODE, config_path, log_path);
    BOOST_REQUIRE_EQUAL(node->port(), port);
    auto connected = connect_gateway(system, port);
    BOOST_REQUIRE_MESSAGE(connected, "cannot connect: " << error_text(connected));
    return *connected;
  }

  /// SIGKILL. The client notices (a monitor of the gateway's proxy reports the lost
  /// connection; until then CAF would hand out the cached proxy), and while the node is down
  /// its attempts to connect are refused.
  void kill(caf::scoped_actor& self, const gateway_actor& gateway) {
    self->monitor(gateway);
    auto ended = node->kill();
    BOOST_REQUIRE_MESSAGE(ended == "killed by signal 9",
                          "the node had ended before the kill: " << ended << "; its log ends:\n"
                                                                 << tail_of(log_path));
    ++kills;
    bool down = false;
    self->receive([&](caf::down_msg& msg) { down = msg.source == gateway.address(); },
                  caf::after(std::chrono::seconds(10)) >> [] {});
    BOOST_REQUIRE_MESSAGE(down, "no down_msg for the killed node within 10 s");
    // CAF's middleman forgets its cached proxy for host:port only when its own down_msg
    // arrives, a moment after ours: until then remote_actor answers with the dead proxy.
    bool refused = false;
    auto until = steady::now() + 5s;
    while (!refused && steady::now() < until) {
      auto attempt = system.middleman().remote_actor<gateway_actor>("127.0.0.1", port);
      refused = !attempt;
      if (attempt) {
        BOOST_REQUIRE_MESSAGE(attempt->address() == gateway.address(),
                              "a dead node accepted a connection");
        std::this_thread::sleep_for(20ms);
      }
    }
    BOOST_TEST(refused, "connecting to the dead node was not refused within 5 s");
  }

  /// Submits every order left, waits until the node has finished them all, stops it.
  void finish(steady::duration limit) {
    auto until = steady::now() + limit;
    {
      caf::scoped_actor self{system};
      auto gateway = start();
      while (!books.to_submit.empty() && steady::now() < until) {
        submit(self, gateway, books, [] { return false; }, until);
        if (!books.to_submit.empty())
          std::this_thread::sleep_for(100ms);  // refused for now: overloaded or unavailable
      }
      BOOST_REQUIRE_MESSAGE(books.to_submit.empty(),
                            books.to_submit.size() << " orders never acknowledged");
      std::optional<node_stats> stats;
      for (;;) {
        stats = stats_of(self, gateway);
        if (stats) {
          uint64_t total = 0, open = 0;
          for (const auto& count : stats->orders) {
            total += count.count;
            auto status = order_status_from_string(count.status);
            if (!status || !is_final(*status))
              open += count.count;
          }
          if (open == 0 && total >= books.id_by_ref.size())
            break;
        }
        BOOST_REQUIRE_MESSAGE(steady::now() < until,
                              "orders not final in time:"
                                << (stats ? describe_counts(*stats) : " (no stats)")
                                << "; the node's log ends:\n" << tail_of(log_path));
        std::this_thread::sleep_for(100ms);
      }
      BOOST_TEST_MESSAGE("final:" << describe_counts(*stats) << ", restarts "
                                  << stats->restarts);
    }
    // Every order is final, so everything is durable: the files can be read however the node
    // ends. topup-node sometimes hangs in its actor system's destructor after "node ...
    // stopped", so a slow exit is only a warning here; node_tests check the SIGTERM exit
    // strictly.
    auto code = node->terminate(10s);
    auto ended = node->process().ended();
    BOOST_WARN_MESSAGE(code.has_value(), "topup-node did not exit within 10 s of SIGTERM");
    if (code)
      BOOST_TEST(*code == 0, "topup-node " << ended << " after SIGTERM; its log ends:\n"
                                           << tail_of(log_path));
  }

  /// Every check of the run, on the stopped node's files.
  void verify() {
    for (const auto& problem : books.problems)
      BOOST_ERROR(problem);
    store_config store;
    store.sqlite_path = dir.file("orders.db");
    auto rows = bench::store_reader{store}.orders("");
    BOOST_REQUIRE(!rows.empty());
    std::map<std::string, std::pair<std::string, bench::stored_order>> stored;  // id -> ref, row
    std::map<std::string, std::string> stored_id_by_ref;
    std::vector<bench::audited_order> audited;
    for (const auto& [ref, row] : rows) {
      audited.push_back(bench::audited(row));
      if (!stored.emplace(row.id, std::make_pair(ref, row)).second)
        continue;  // a second succeeded attempt: the audit below reports it
      auto [known, fresh] = stored_id_by_ref.emplace(ref, row.id);
      BOOST_TEST(fresh, ref << " is stored as " << known->second << " and " << row.id);
    }

    // Guarantees 1 and 4: every acknowledged order is there, under the acknowledged id, final,
    // and final by the deadline the client was promised at its first ack.
    size_t missing = 0, open = 0;
    std::vector<bench::timed_order> timed;
    for (const auto& [ref, id] : books.id_by_ref) {
      auto found = stored.find(id);
      if (found == stored.end() || found->second.first != ref) {
        if (++missing <= 5)
          BOOST_ERROR("acknowledged order " << id << " (" << ref << ") is not in the store");
        continue;
      }
      const auto& row = found->second.second;
      auto status = order_status_from_string(row.status);
      auto final = status && is_final(*status);
      if (!final && ++open <= 5)
        BOOST_ERROR("acknowledged order " << id << " ended " << row.status);
      timed.push_back({id, books.acked_at_ms.at(ref),
                       final ? std::optional<int64_t>{row.updated_at_ms} : std::nullopt});
    }
    BOOST_TEST(missing == 0u);
    BOOST_TEST(open == 0u);
    // Nothing is stored that the client did not ask for.
    BOOST_TEST(stored.size() == books.id_by_ref.size());
    auto in_time = bench::check_timeliness(timed, deadline_limit_ms, deadline_grace_ms);
    BOOST_TEST(in_time.on_time(), bench::describe(in_time));
    BOOST_TEST_MESSAGE("deadlines: " << bench::describe(in_time));

    // Guarantee 3: the store against the providers' own ledgers, order by order.
    auto audit = bench::audit_ledgers(audited, ledger::records(ledger_paths(dir.path())));
    BOOST_TEST(audit.agrees(), bench::describe(audit));
    BOOST_TEST(audit.unknown == 0u);
    BOOST_TEST_MESSAGE(stored.size() << " orders: " << bench::describe(audit) << "; " << kills
                                     << " kills; " << books.acks << " acks, " << books.existing
                                     << " of them for an order stored before, " << books.resent
                                     << " orders sent again");
    BOOST_TEST(audit.succeeded > 0u);
  }
};

/// Waits until the providers of the node have at least `wanted` calls in flight, or `limit`
/// has passed; the most seen.
uint64_t wait_for_calls(caf::scoped_actor& self, const gateway_actor& gateway, uint64_t wanted,
                        steady::duration limit) {
  uint64_t most = 0;
  auto until = steady::now() + limit;
  while (most < wanted && steady::now() < until) {
    if (auto stats = stats_of(self, gateway))
      most = std::max(most, calls_in_flight(*stats));
    else
      std::this_thread::sleep_for(10ms);
  }
  return most;
}

} // namespace

BOOST_AUTO_TEST_SUITE(sigkill_under_load)

// Kills while intake is acknowledging: right after some acks, with 6 submit messages of 50
// orders outstanding (the first kill right after the first ack, while the node is still
// young). Providers are quick (lognormal, median 3 ms, p99 30 ms) and sometimes fail or lose
// an outcome, so orders are also in all states of their lifecycle. `shards`: store.shards
// (none: the node's default for a new store).
void kill_during_intake(const std::string& tag, std::optional<size_t> shards) {
  crash_run run{8000, tag};
  if (shards)
    run.node_cfg["store"]["shards"] = *shards;
  for (auto& provider : run.node_cfg["providers"])
    provider["adapter"]["latency"] = {{"distribution", "lognormal"}, {"median_ms", 3},
                                      {"p99_ms", 30}};
  for (auto& provider : run.node_cfg["providers"])
    provider["adapter"]["outcomes"] = {{"success", 0.9}, {"transient", 0.07}, {"unknown", 0.03}};
  auto until = steady::now() + 60s;
  for (size_t acks_before_kill : {1, 300, 1500, 3000}) {
    caf::scoped_actor self{run.system};
    auto gateway = run.start();
    auto target = run.books.acks + acks_before_kill;
    submit(self, gateway, run.books, [&] { return run.books.acks >= target; }, until);
    BOOST_REQUIRE_MESSAGE(run.books.acks >= target,
                          "only " << run.books.acks << " of " << target << " acks in time");
    run.kill(self, gateway);
    BOOST_TEST_MESSAGE("killed after " << run.books.acks << " acks, "
                                       << run.books.to_submit.size() << " orders unacknowledged");
  }
  run.finish(60s);
  run.verify();
  // The orders were spread: some ids name the last shard (verify read every shard file).
  if (shards && *shards > 1) {
    size_t in_last_shard = 0;
    for (const auto& [ref, id] : run.books.id_by_ref)
      in_last_shard += shard_of_id(id, *shards) == *shards - 1;
    BOOST_TEST(in_last_shard > run.books.id_by_ref.size() / (2 * *shards));
  }
}

BOOST_AUTO_TEST_CASE(during_intake) {
  kill_during_intake("intake", 1);
}

// The same on a store of two shard files: an order's shard follows from its reference, so a
// resubmission after a kill finds it in the shard it was written to.
BOOST_AUTO_TEST_CASE(during_intake_on_two_shards) {
  kill_during_intake("sharded", 2);
}

// Kills while many provider calls are in flight: slow providers (lognormal, median 50 ms,
// p99 500 ms, so some calls outlive the 300 ms call timeout), 10% transient failures, 2%
// permanent ones (failed orders that must have no ledger row) and 5% unknown outcomes. After
// each restart the calls that were in flight are queried first; one kill lands among those
// queries.
BOOST_AUTO_TEST_CASE(during_provider_calls) {
  crash_run run{5000, "calls"};
  for (auto& provider : run.node_cfg["providers"]) {
    provider["adapter"]["latency"] = {{"distribution", "lognormal"}, {"median_ms", 50},
                                      {"p99_ms", 500}};
    provider["adapter"]["outcomes"] = {{"success", 0.83}, {"transient", 0.10}, {"permanent", 0.02},
                                       {"unknown", 0.05}};
  }
  auto until = steady::now() + 60s;
  // Orders to acknowledge before each kill; 0: none, kill as soon as the restarted node has
  // calls in flight again, the status queries of the calls the last kill interrupted.
  for (size_t acks_before : {1500, 0, 1500}) {
    caf::scoped_actor self{run.system};
    auto gateway = run.start();
    auto target = run.books.acks + acks_before;
    submit(self, gateway, run.books, [&] { return run.books.acks >= target; }, until);
    BOOST_REQUIRE_MESSAGE(run.books.acks >= target,
                          "only " << run.books.acks << " of " << target << " acks in time");
    auto in_flight = wait_for_calls(self, gateway, acks_before > 0 ? 64 : 1, 10s);
    run.kill(self, gateway);
    BOOST_TEST_MESSAGE("killed with " << in_flight << " calls in flight after "
                                      << run.books.acks << " acks");
    BOOST_TEST(in_flight >= (acks_before > 0 ? 16u : 1u),
               "the kill did not land during provider calls");
  }
  run.finish(90s);
  run.verify();
}

BOOST_AUTO_TEST_SUITE_END()
