#define BOOST_TEST_MODULE node_tests
#include <boost/test/unit_test.hpp>

// The real topup-node, driven over CAF's remote actor protocol as topup-cli drives it: each
// test starts the node binary on a configuration in a temp dir (SQLite store, the four
// WORKLOAD providers simulated with millisecond latencies, ledgers on disk, port 0), connects
// a client actor system to its gateway and checks the protocol end to end, including what a
// client sees when the node stops or dies, and how the node treats its configuration.

#include "apps/cli/output.hpp"
#include "messages/errors.hpp"
#include "providers/ledger.hpp"
#include "tests/order_polling.hpp"
#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <signal.h>
#include <string>
#include <thread>
#include <vector>

using namespace topup;
using namespace topup::testing;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

/// Every request to the node; generous because the machine is shared.
constexpr auto request_timeout = std::chrono::seconds(10);

/// How long orders of a healthy node (2 ms providers) may take to become final.
constexpr auto finish_limit = std::chrono::seconds(30);

/// A node started from a configuration in a temp dir, and a client connected to it. The
/// node is killed and reaped when the fixture goes, whatever the test did.
struct node_fixture {
  temp_dir dir;
  nlohmann::json node_cfg = test_node_config(dir.path());
  std::string config_path = dir.file("node.json");
  std::string log_path = dir.file("node.log");
  std::optional<node_process> node;
  client_config client_cfg;
  caf::actor_system system{client_cfg};
  caf::scoped_actor self{system};
  gateway_actor gateway;

  /// Writes node_cfg, starts the node (with `extra_args` on its command line) and connects.
  void start(const std::vector<std::string>& extra_args = {}) {
    write_json(config_path, node_cfg);
    node.reset();
    node.emplace(TOPUP_NODE, config_path, log_path, extra_args);
    auto connected = connect_gateway(system, node->port());
    BOOST_REQUIRE_MESSAGE(connected, "cannot connect to the node on port "
                                       << node->port() << ": " << error_text(connected));
    gateway = *connected;
  }

  /// SIGTERM before reading the node's files, when the stop itself is not under test: all
  /// its orders are final, so everything is durable. A node that has not exited after 10 s
  /// is killed with a warning: topup-node sometimes hangs in its actor system's destructor
  /// after "node ... stopped" (the SIGTERM tests check the exit strictly).
  void stop_before_reading_files() {
    auto code = node->terminate(std::chrono::seconds(10));
    auto ended = node->process().ended();
    BOOST_WARN_MESSAGE(code.has_value(), "topup-node did not exit within 10 s of SIGTERM");
    if (code)
      BOOST_TEST(*code == 0, "topup-node " << ended << " after SIGTERM");
  }

  /// One request to the gateway, its reply or error.
  template <class T, class... Ts>
  caf::expected<T> ask(Ts&&... xs) {
    caf::expected<T> result{caf::make_error(caf::sec::request_timeout)};
    self->request(gateway, request_timeout, std::forward<Ts>(xs)...)
      .receive([&](T& value) { result = std::move(value); },
               [&](caf::error& error) { result = std::move(error); });
    return result;
  }

  caf::expected<order> submit(const order_request& request) {
    return ask<order>(submit_atom::value, request);
  }

  caf::expected<std::vector<submit_result>> submit(const std::vector<order_request>& requests) {
    return ask<std::vector<submit_result>>(submit_atom::value, requests);
  }

  caf::expected<order> get(const std::string& id) {
    return ask<order>(caf::get_atom::value, id);
  }

  /// Submits and requires the order to be accepted.
  order accepted(const order_request& request) {
    auto result = submit(request);
    BOOST_REQUIRE_MESSAGE(result, "order " << request.client_ref
                                           << " was not accepted: " << error_text(result));
    return *result;
  }

  /// Polls until every order in `ids` is final; their last state. Fails the test (with the
  /// states seen) when that takes longer than `limit`.
  std::map<std::string, order> wait_until_final(const std::vector<std::string>& ids,
                                                steady::duration limit = finish_limit) {
    return testing::wait_until_final(ids, limit, [&](const std::string& id) { return get(id); });
  }
};

/// The name of the topup error code an expected holds: "none" for a value, "other" for an
/// error that is not a topup error. (Names print well in Boost.Test messages.)
template <class T>
std::string code_of(const caf::expected<T>& result) {
  if (result)
    return "none";
  auto f = as_failure(result.error());
  return f ? std::string{to_string(f->code)} : "other";
}

std::string status_name(order_status status) {
  return std::string{to_string(status)};
}

/// A request for a valid order with a number of `prefix` (138: cmcc, 130: cucc, 133: ctcc...).
order_request request_with_prefix(const std::string& ref, const std::string& prefix, uint64_t n,
                                  int64_t amount = 1000) {
  auto digits = std::to_string(10000000 + n % 10000000);
  return {ref, prefix + digits, amount};
}

std::vector<std::string> ids_of(const std::vector<order>& orders) {
  std::vector<std::string> ids;
  for (const auto& o : orders)
    ids.push_back(o.id);
  return ids;
}

/// Runs topup-node with `args` to its end; its exit code (nothing: it did not end in time).
std::optional<int> run_node(std::vector<std::string> args, const std::string& stderr_path,
                            std::string* out = nullptr) {
  args.insert(args.begin(), TOPUP_NODE);
  child_process child{args, stderr_path};
  line_reader reader{child.stdout_fd()};
  reader.read_to_end(steady::now() + 30s);
  if (!child.wait_for_exit(steady::now() + 10s))
    return std::nullopt;
  if (out)
    for (const auto& line : reader.lines())
      *out += line + "\n";
  return child.exit_code();
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(remote_protocol, node_fixture)

BOOST_AUTO_TEST_CASE(hello_returns_the_protocol_version_and_the_node_name) {
  start();
  std::optional<uint32_t> version;
  std::string name;
  caf::error failed;
  self->request(gateway, request_timeout, hello_atom::value, protocol_version)
    .receive(
      [&](uint32_t v, std::string& n) {
        version = v;
        name = std::move(n);
      },
      [&](caf::error& error) { failed = std::move(error); });
  BOOST_REQUIRE_MESSAGE(version.has_value(), "hello failed: " << describe(failed));
  BOOST_TEST(*version == protocol_version);
  BOOST_TEST(name == "test-node");
}

BOOST_AUTO_TEST_CASE(one_order_is_accepted_with_its_carrier) {
  start();
  auto cmcc = accepted(request_with_prefix("one-cmcc", "138", 1, 2000));
  BOOST_TEST(!cmcc.id.empty());
  BOOST_TEST(cmcc.client_ref == "one-cmcc");
  BOOST_TEST(cmcc.phone == "13810000001");
  BOOST_TEST(cmcc.amount_fen == 2000);
  BOOST_TEST(cmcc.carrier == "cmcc");
  BOOST_TEST(cmcc.deadline_ms == cmcc.accepted_at_ms + 6000);
  BOOST_TEST(status_name(cmcc.status) == "accepted");
  BOOST_TEST(accepted(request_with_prefix("one-cucc", "186", 2)).carrier == "cucc");
  BOOST_TEST(accepted(request_with_prefix("one-ctcc", "189", 3)).carrier == "ctcc");
}

BOOST_AUTO_TEST_CASE(a_batch_with_one_bad_phone_is_answered_order_by_order) {
  start();
  std::vector<order_request> batch{request_with_prefix("batch-1", "139", 11),
                                    {"batch-2", "1380013800", 1000},  // 10 digits
                                    request_with_prefix("batch-3", "131", 13)};
  auto results = submit(batch);
  BOOST_REQUIRE_MESSAGE(results, "batch refused as a whole: " << error_text(results));
  BOOST_REQUIRE_EQUAL(results->size(), 3u);
  const auto& first = (*results)[0];
  const auto& bad = (*results)[1];
  const auto& third = (*results)[2];
  BOOST_TEST(!first.error, describe(first.error));
  BOOST_TEST(first.accepted.client_ref == "batch-1");
  BOOST_TEST(first.accepted.carrier == "cmcc");
  BOOST_TEST(!first.existing);
  BOOST_TEST(!third.error, describe(third.error));
  BOOST_TEST(third.accepted.client_ref == "batch-3");
  BOOST_TEST(third.accepted.carrier == "cucc");
  BOOST_TEST(first.accepted.id != third.accepted.id);
  auto failure = as_failure(bad.error);
  BOOST_REQUIRE_MESSAGE(failure.has_value(), "the bad phone got: " << describe(bad.error));
  BOOST_TEST(std::string{to_string(failure->code)} == "invalid_phone", describe(bad.error));
  BOOST_TEST(!failure->reason.empty());
  BOOST_TEST(failure->reason.find("10 digits") != std::string::npos, failure->reason);
  // The bad order changed nothing: its reference is unknown to the node.
  auto stored = ask<order>(find_ref_atom::value, std::string{}, std::string{"batch-2"});
  BOOST_TEST(code_of(stored) == "not_found", error_text(stored));
}

BOOST_AUTO_TEST_CASE(a_resubmission_returns_the_same_order_and_other_content_is_a_conflict) {
  start();
  auto request = request_with_prefix("again-1", "150", 21, 5000);
  auto original = accepted(request);
  auto resubmitted = accepted(request);
  BOOST_TEST(resubmitted.id == original.id);
  BOOST_TEST(resubmitted.accepted_at_ms == original.accepted_at_ms);
  auto in_batch = submit(std::vector<order_request>{request});
  BOOST_REQUIRE_MESSAGE(in_batch, error_text(in_batch));
  BOOST_REQUIRE_EQUAL(in_batch->size(), 1u);
  BOOST_TEST(!in_batch->front().error, describe(in_batch->front().error));
  BOOST_TEST(in_batch->front().existing);
  BOOST_TEST(in_batch->front().accepted.id == original.id);

  auto other_amount = request;
  other_amount.amount_fen = 10000;
  auto conflict = submit(other_amount);
  BOOST_TEST(code_of(conflict) == "duplicate_reference", error_text(conflict));
  auto stored = get(original.id);
  BOOST_REQUIRE_MESSAGE(stored, error_text(stored));
  BOOST_TEST(stored->amount_fen == 5000);
}

BOOST_AUTO_TEST_CASE(orders_are_found_by_id_and_by_reference) {
  start();
  auto o = accepted(request_with_prefix("find-me", "133", 31, 3000));
  auto by_id = get(o.id);
  BOOST_REQUIRE_MESSAGE(by_id, error_text(by_id));
  BOOST_TEST(by_id->id == o.id);
  BOOST_TEST(by_id->client_ref == "find-me");
  BOOST_TEST(by_id->phone == o.phone);
  BOOST_TEST(by_id->amount_fen == 3000);
  BOOST_TEST(by_id->carrier == "ctcc");
  auto by_ref = ask<order>(find_ref_atom::value, std::string{}, std::string{"find-me"});
  BOOST_REQUIRE_MESSAGE(by_ref, error_text(by_ref));
  BOOST_TEST(by_ref->id == o.id);
  BOOST_TEST(code_of(get("no-such-order")) == "not_found");
  BOOST_TEST(code_of(ask<order>(find_ref_atom::value, std::string{}, std::string{"no-such-ref"}))
             == "not_found");
}

BOOST_AUTO_TEST_CASE(list_filters_by_status_once_the_orders_have_finished) {
  start();
  std::vector<order> orders{accepted(request_with_prefix("list-1", "138", 41)),
                            accepted(request_with_prefix("list-2", "130", 42)),
                            accepted(request_with_prefix("list-3", "153", 43))};
  auto ids = ids_of(orders);
  for (const auto& [id, o] : wait_until_final(ids))
    BOOST_TEST(status_name(o.status) == "succeeded", id);
  order_filter succeeded;
  succeeded.status = "succeeded";
  auto listed = ask<std::vector<order>>(list_atom::value, succeeded);
  BOOST_REQUIRE_MESSAGE(listed, error_text(listed));
  auto listed_ids = ids_of(*listed);
  BOOST_TEST(std::set<std::string>(listed_ids.begin(), listed_ids.end())
               == std::set<std::string>(ids.begin(), ids.end()),
             "listed " << listed->size() << " succeeded orders");
  for (const auto& o : *listed)
    BOOST_TEST(status_name(o.status) == "succeeded");
  order_filter failed;
  failed.status = "failed";
  auto none = ask<std::vector<order>>(list_atom::value, failed);
  BOOST_REQUIRE_MESSAGE(none, error_text(none));
  BOOST_TEST(none->empty());
  order_filter limited;
  limited.limit = 2;
  auto two = ask<std::vector<order>>(list_atom::value, limited);
  BOOST_REQUIRE_MESSAGE(two, error_text(two));
  BOOST_TEST(two->size() == 2u);
}

BOOST_AUTO_TEST_CASE(an_orders_story_is_read_through_the_gateway_and_topup_cli) {
  start();
  auto o = accepted(request_with_prefix("story-1", "138", 61));
  wait_until_final({o.id});
  auto story = ask<order_history>(history_atom::value, o.id);
  BOOST_REQUIRE_MESSAGE(story, error_text(story));
  BOOST_TEST(story->snapshot.id == o.id);
  std::vector<std::string> events;
  for (const auto& e : story->entries)
    events.push_back(e.event + ":" + e.status);
  BOOST_TEST(events == (std::vector<std::string>{"accept:accepted", "dispatch:dispatched",
                                                 "succeed:succeeded"}),
             boost::test_tools::per_element());
  BOOST_REQUIRE(story->entries.size() == 3u);
  const auto& dispatch = story->entries[1];
  const auto& outcome = story->entries[2];
  BOOST_TEST(dispatch.provider == "p-cmcc");
  BOOST_TEST(dispatch.request_id == o.id + "@p-cmcc");
  BOOST_TEST(outcome.via == "call");
  BOOST_TEST(outcome.latency_us >= 2000, "the providers answer after 2 ms");
  BOOST_TEST(!outcome.provider_txn.empty());
  BOOST_TEST(code_of(ask<order_history>(history_atom::value, std::string{"no-such-id"}))
             == "not_found");

  // The same story from topup-cli, by reference.
  child_process cli{{TOPUP_CLI, "--node", "127.0.0.1:" + std::to_string(node->port()), "--utc",
                     "status", "--ref", "story-1", "--history"},
                    dir.file("cli.log")};
  line_reader printed{cli.stdout_fd()};
  BOOST_REQUIRE(printed.read_to_end(steady::now() + 20s));
  BOOST_REQUIRE(cli.wait_for_exit(steady::now() + 10s));
  BOOST_TEST((cli.exit_code() == std::optional<int>{0}), tail_of(dir.file("cli.log")));
  const auto& lines = printed.lines();
  BOOST_REQUIRE_MESSAGE(lines.size() == 5u, lines.size() << " lines");
  BOOST_TEST(lines[0].find(o.id + " ref=story-1 138****0061") == 0u, lines[0]);
  BOOST_TEST(lines[1].find("TIME") != std::string::npos);
  BOOST_TEST(lines[2].find("accept") != std::string::npos);
  BOOST_TEST(lines[3].find("dispatch") != std::string::npos);
  BOOST_TEST(lines[3].find("request " + o.id + "@p-cmcc") != std::string::npos, lines[3]);
  BOOST_TEST(lines[4].find("succeed") != std::string::npos);
  BOOST_TEST(lines[4].find("by call") != std::string::npos, lines[4]);
}

BOOST_AUTO_TEST_CASE(after_a_restart_stats_say_which_counters_start_again) {
  start();
  std::vector<order> orders{accepted(request_with_prefix("restart-1", "138", 71)),
                            accepted(request_with_prefix("restart-2", "130", 72))};
  wait_until_final(ids_of(orders));
  auto before = ask<cluster_stats>(stats_atom::value);
  BOOST_REQUIRE_MESSAGE(before, error_text(before));
  auto first_start = before->nodes.front().started_at_ms;
  BOOST_TEST(first_start > 0);
  stop_before_reading_files();
  start();
  auto after = ask<cluster_stats>(stats_atom::value);
  BOOST_REQUIRE_MESSAGE(after, error_text(after));
  const auto& node_after = after->nodes.front();
  BOOST_TEST(node_after.started_at_ms > first_start, "the counters say when they began");
  BOOST_TEST(node_after.intake.accepted == 0u);
  uint64_t succeeded = 0;
  for (const auto& count : node_after.orders)
    if (count.status == "succeeded")
      succeeded += count.count;
  BOOST_TEST(succeeded == 2u, "the store's counts include the earlier run");

  // What an operator reads: the node's counters under "since the node started at" its
  // restart, the store's orders under "whole store".
  child_process cli{{TOPUP_CLI, "--node", "127.0.0.1:" + std::to_string(node->port()), "--utc",
                     "stats"},
                    dir.file("cli.log")};
  line_reader printed{cli.stdout_fd()};
  BOOST_REQUIRE(printed.read_to_end(steady::now() + 20s));
  BOOST_REQUIRE(cli.wait_for_exit(steady::now() + 10s));
  std::string text;
  for (const auto& line : printed.lines())
    text += line + "\n";
  auto started_line = "since the node started at " + cli::format_date_time(node_after.started_at_ms,
                                                                          cli::time_zone::utc);
  BOOST_TEST(text.find(started_line + ":\n  intake: 0 accepted") != std::string::npos, text);
  BOOST_TEST(text.find("whole store (every node, every run):\n  orders: 2 succeeded\n")
               != std::string::npos,
             text);
  stop_before_reading_files();
}

BOOST_AUTO_TEST_CASE(stats_show_the_orders_by_status_and_four_providers) {
  start();
  std::vector<order> orders{accepted(request_with_prefix("stats-1", "138", 51)),
                            accepted(request_with_prefix("stats-2", "131", 52)),
                            accepted(request_with_prefix("stats-3", "133", 53)),
                            accepted(request_with_prefix("stats-4", "139", 54))};
  wait_until_final(ids_of(orders));
  auto cluster = ask<cluster_stats>(stats_atom::value);
  BOOST_REQUIRE_MESSAGE(cluster, error_text(cluster));
  // A single node is a cluster of one.
  BOOST_REQUIRE_EQUAL(cluster->nodes.size(), 1u);
  BOOST_TEST(cluster->unreachable.empty());
  BOOST_TEST(cluster->totals.intake.accepted == 4u);
  const auto* stats = &cluster->nodes.front();
  BOOST_TEST(stats->node == "test-node");
  BOOST_TEST(stats->protocol == protocol_version);
  BOOST_TEST(stats->intake.accepted == 4u);
  std::map<std::string, uint64_t> by_status;
  for (const auto& count : stats->orders)
    by_status[count.status] += count.count;
  BOOST_TEST(by_status["succeeded"] == 4u);
  uint64_t others = 0;
  for (const auto& [status, count] : by_status)
    if (status != "succeeded")
      others += count;
  BOOST_TEST(others == 0u);
  std::set<std::string> names;
  uint64_t succeeded = 0;
  for (const auto& p : stats->providers) {
    names.insert(p.provider);
    succeeded += p.succeeded;
  }
  BOOST_TEST(stats->providers.size() == 4u);
  BOOST_TEST(names == std::set<std::string>(workload_providers.begin(), workload_providers.end()));
  BOOST_TEST(succeeded == 4u);
}

BOOST_AUTO_TEST_CASE(a_watcher_receives_the_changes_of_a_new_order_up_to_succeed) {
  start();
  caf::scoped_actor watcher{system};
  auto subscribed = ask<ack_atom>(watch_atom::value, caf::actor_cast<caf::actor>(watcher),
                                  std::string{});
  BOOST_REQUIRE_MESSAGE(subscribed, error_text(subscribed));
  auto o = accepted(request_with_prefix("watched", "186", 61));
  std::vector<order_update> updates;
  bool finished = false;
  auto until = steady::now() + finish_limit;
  while (!finished && steady::now() < until) {
    watcher->receive(
      [&](event_atom, order_update& update) {
        if (update.snapshot.id != o.id)
          return;
        finished = is_final(update.snapshot.status);
        updates.push_back(std::move(update));
      },
      caf::after(std::chrono::milliseconds(200)) >> [] {});
  }
  std::string seen;
  for (const auto& u : updates)
    seen += " " + u.event + "->" + std::string{to_string(u.snapshot.status)};
  BOOST_TEST_MESSAGE("events of " << o.id << ":" << seen);
  BOOST_REQUIRE_MESSAGE(finished, "no final event within the limit; saw:" << seen);
  BOOST_TEST(updates.front().event == "accept", seen);
  BOOST_TEST(status_name(updates.front().snapshot.status) == "accepted");
  BOOST_TEST(std::any_of(updates.begin(), updates.end(),
                         [](const order_update& u) { return u.event == "dispatch"; }),
             seen);
  BOOST_TEST(updates.back().event == "succeed", seen);
  BOOST_TEST(status_name(updates.back().snapshot.status) == "succeeded");
  BOOST_TEST(updates.back().snapshot.client_ref == "watched");
  BOOST_TEST(!updates.back().snapshot.provider.empty());
  self->send(gateway, unwatch_atom::value, caf::actor_cast<caf::actor>(watcher));
}

BOOST_AUTO_TEST_CASE(cancelling_a_succeeded_order_is_an_illegal_transition) {
  start();
  auto o = accepted(request_with_prefix("done-already", "138", 71));
  auto final_state = wait_until_final({o.id});
  BOOST_REQUIRE(status_name(final_state[o.id].status) == "succeeded");
  auto cancelled = ask<order>(cancel_atom::value, o.id);
  BOOST_TEST(code_of(cancelled) == "illegal_transition", error_text(cancelled));
  auto after = get(o.id);
  BOOST_REQUIRE_MESSAGE(after, error_text(after));
  BOOST_TEST(status_name(after->status) == "succeeded");
  auto unknown = ask<order>(cancel_atom::value, std::string{"no-such-order"});
  BOOST_TEST(code_of(unknown) == "not_found", error_text(unknown));
}

BOOST_AUTO_TEST_CASE(a_waiting_order_is_cancelled_and_never_recharged) {
  // Every provider serving cucc takes one call a second, so orders behind the first wait.
  for (const auto& name : {"p-cucc", "p-agg"}) {
    auto& provider = provider_entry(node_cfg, name);
    provider["rate"] = 1;
    provider["burst"] = 1;
    provider["concurrency"] = 1;
  }
  start();
  std::vector<order_request> batch;
  for (uint64_t i = 0; i < 6; ++i)
    batch.push_back(request_with_prefix("slow-" + std::to_string(i), "130", 80 + i));
  auto results = submit(batch);
  BOOST_REQUIRE_MESSAGE(results, error_text(results));
  BOOST_REQUIRE_EQUAL(results->size(), batch.size());
  std::vector<std::string> ids;
  for (const auto& r : *results) {
    BOOST_REQUIRE_MESSAGE(!r.error, describe(r.error));
    ids.push_back(r.accepted.id);
  }
  // The newest orders wait longest; one of them is certainly still waiting.
  std::optional<order> cancelled;
  for (auto id = ids.rbegin(); id != ids.rend() && !cancelled; ++id) {
    auto answer = ask<order>(cancel_atom::value, *id);
    if (answer) {
      cancelled = *answer;
      break;
    }
    BOOST_TEST_MESSAGE("cancel of " << *id << ": " << error_text(answer));
    BOOST_TEST(code_of(answer) == "illegal_transition", error_text(answer));
  }
  BOOST_REQUIRE_MESSAGE(cancelled, "no order could be cancelled");
  BOOST_TEST(status_name(cancelled->status) == "failed");
  BOOST_TEST(!cancelled->last_error.empty());
  auto stored = get(cancelled->id);
  BOOST_REQUIRE_MESSAGE(stored, error_text(stored));
  BOOST_TEST(status_name(stored->status) == "failed");
  auto twice = ask<order>(cancel_atom::value, cancelled->id);
  BOOST_TEST(code_of(twice) == "illegal_transition", error_text(twice));

  // The others run their course; then the node stops and its ledgers are read.
  auto final_states = wait_until_final(ids);
  BOOST_TEST(status_name(final_states[cancelled->id].status) == "failed");
  stop_before_reading_files();
  auto recharges = ledger::recharges_per_order(ledger_paths(dir.path()));
  BOOST_TEST(recharges.count(cancelled->id) == 0u, "the cancelled order was recharged");
  BOOST_TEST(count_duplicates(recharges) == 0u);
  for (const auto& [id, o] : final_states) {
    auto times = recharges.count(id) ? recharges.at(id) : 0;
    BOOST_TEST(times == (o.status == order_status::succeeded ? 1u : 0u),
               id << " is " << to_string(o.status) << " and was recharged " << times << " times");
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(node_life, node_fixture)

BOOST_AUTO_TEST_CASE(sigterm_stops_the_node_with_exit_code_0) {
  start();
  std::vector<order> orders;
  for (uint64_t i = 0; i < 5; ++i)
    orders.push_back(accepted(request_with_prefix("term-" + std::to_string(i), "138", 90 + i)));
  auto sent = steady::now();
  auto code = node->terminate(15s);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - sent);
  BOOST_TEST_MESSAGE("the node stopped " << took.count() << " ms after SIGTERM");
  auto ended = node->process().ended();
  BOOST_REQUIRE_MESSAGE(code.has_value(), "topup-node " << ended << " after SIGTERM; its log ends:\n"
                                                        << tail_of(log_path));
  BOOST_TEST(*code == 0);
  BOOST_TEST(tail_of(log_path).find("stopping on SIGTERM") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(sigterm_during_provider_calls_drains_and_loses_nothing) {
  // Slow providers with a queue: 200 ms calls, two at a time, five a second.
  for (auto& provider : node_cfg["providers"]) {
    provider["rate"] = 5;
    provider["burst"] = 1;
    provider["concurrency"] = 2;
    provider["timeout_ms"] = 1000;
    provider["adapter"]["latency"] = {{"distribution", "fixed"}, {"fixed_ms", 200}};
  }
  node_cfg["deadline"] = {{"limit_ms", 30000}, {"resend_at_ms", {20000, 25000}}};
  start();
  std::vector<order_request> batch;
  for (uint64_t i = 0; i < 20; ++i)
    batch.push_back(request_with_prefix("drain-" + std::to_string(i), "138", 200 + i));
  auto results = submit(batch);
  BOOST_REQUIRE_MESSAGE(results, error_text(results));
  std::vector<std::string> ids;
  for (const auto& r : *results) {
    BOOST_REQUIRE_MESSAGE(!r.error, describe(r.error));
    ids.push_back(r.accepted.id);
  }
  uint64_t in_flight = 0, calls = 0;
  for (auto until = steady::now() + 10s; in_flight == 0 && steady::now() < until;) {
    auto stats = ask<cluster_stats>(stats_atom::value);
    BOOST_REQUIRE_MESSAGE(stats, error_text(stats));
    calls = 0;
    for (const auto& p : stats->totals.providers) {
      in_flight += p.in_flight;
      calls += p.calls;
    }
    if (in_flight == 0)
      std::this_thread::sleep_for(5ms);
  }
  BOOST_REQUIRE_MESSAGE(in_flight > 0, "no provider call started");

  // The drain (--drain-ms, 5 s by default) lets the running calls finish and starts no
  // new one: the node stops about one call latency later, with nothing left in flight.
  auto sent = steady::now();
  auto code = node->terminate(15s);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - sent);
  BOOST_TEST_MESSAGE("SIGTERM with " << in_flight << " calls in flight, " << calls
                                     << " started: the node stopped after " << took.count()
                                     << " ms");
  auto ended = node->process().ended();
  BOOST_REQUIRE_MESSAGE(code == 0, "topup-node " << ended << " after SIGTERM; its log ends:\n"
                                                 << tail_of(log_path));
  BOOST_TEST(took.count() < 4000, "the drain ran out instead of ending with the running calls");
  BOOST_TEST(tail_of(log_path).find("calls in flight") == std::string::npos, tail_of(log_path));
  uint64_t recharged = 0;
  for (const auto& [id, times] : ledger::recharges_per_order(ledger_paths(dir.path())))
    recharged += times;
  // A few calls may start between the stats above and the node taking the signal; a drain
  // that kept starting calls would add about five a second.
  BOOST_TEST(recharged <= calls + in_flight + 4, recharged << " recharges after " << calls
                                               << " calls had ended before SIGTERM");

  // Restarted on the same files, it finishes every order exactly once.
  start();
  auto final_states = wait_until_final(ids);
  stop_before_reading_files();
  auto recharges = ledger::recharges_per_order(ledger_paths(dir.path()));
  BOOST_TEST(count_duplicates(recharges) == 0u);
  for (const auto& [id, o] : final_states) {
    auto times = recharges.count(id) ? recharges.at(id) : 0;
    BOOST_TEST(times == (o.status == order_status::succeeded ? 1u : 0u),
               id << " is " << to_string(o.status) << " and was recharged " << times << " times");
  }
}

BOOST_AUTO_TEST_CASE(a_node_under_load_stops_promptly_even_with_a_watcher_that_stopped_reading) {
  // A `topup-cli watch` that stops reading (here SIGSTOP; in life a terminal that cannot
  // keep up, a hung or paused process) while the node writes an event for every change of
  // thousands of orders: megabytes wait for it in the node. A graceful stop under load must
  // not wait for that peer: the node exits within the drain plus 2 s, with exit code 0.
  start({"--drain-ms", "1000", "--log-level", "info"});
  child_process watcher{{TOPUP_CLI, "--node", "127.0.0.1:" + std::to_string(node->port()),
                         "watch"},
                        dir.file("watch.log")};
  line_reader watched{watcher.stdout_fd()};
  // The watch is on once topup-cli says so (its subscription was answered), and events
  // arrive from then on.
  auto subscribed_by = steady::now() + 10s;
  while (tail_of(dir.file("watch.log")).find("watching all orders") == std::string::npos
         && steady::now() < subscribed_by)
    std::this_thread::sleep_for(20ms);
  accepted(request_with_prefix("watched-0", "138", 1));
  BOOST_REQUIRE_MESSAGE(watched.read_until(1, steady::now() + 10s),
                        "topup-cli watch printed nothing; its log:\n"
                          << tail_of(dir.file("watch.log")));
  watcher.send_signal(SIGSTOP);
  // 20,000 orders, three events each (accept, dispatch, succeed): far more than the
  // socket buffers between the node and the stopped watcher hold.
  std::vector<order_request> batch;
  for (uint64_t i = 1; i <= 20000; ++i) {
    batch.push_back(request_with_prefix("watched-" + std::to_string(i), "138", i));
    if (batch.size() == 500) {
      auto results = submit(batch);
      BOOST_REQUIRE_MESSAGE(results, error_text(results));
      batch.clear();
    }
  }
  // Load goes on while the node stops: another client keeps submitting.
  std::atomic<bool> loading{true};
  std::thread load{[&] {
    caf::scoped_actor client{system};
    for (uint64_t i = 0; loading && i < 1000; ++i) {
      std::vector<order_request> more;
      for (uint64_t k = 0; k < 100; ++k)
        more.push_back(request_with_prefix("load-" + std::to_string(i * 100 + k), "130", k));
      client->request(gateway, 2s, submit_atom::value, std::move(more))
        .receive([](std::vector<submit_result>&) {}, [](caf::error&) {});
    }
  }};
  std::this_thread::sleep_for(300ms);
  auto sent = steady::now();
  auto code = node->terminate(15s);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - sent);
  loading = false;
  load.join();
  watcher.send_signal(SIGCONT);
  BOOST_TEST_MESSAGE("the node stopped " << took.count() << " ms after SIGTERM");
  auto log = tail_of(log_path, 20000);
  BOOST_REQUIRE_MESSAGE(code.has_value(), "topup-node " << node->process().ended()
                                                        << " after SIGTERM; its log ends:\n"
                                                        << log);
  BOOST_TEST(*code == 0);
  BOOST_TEST(took.count() < 1000 + 2000, "the stop waited for the watcher");
  BOOST_TEST(log.find("stopped") != std::string::npos, log);
  BOOST_TEST(log.find("did not shut down") == std::string::npos, log);
  // The watcher, resumed, sees the node gone and ends (its output read to the end).
  BOOST_TEST(watched.read_to_end(steady::now() + 30s), "topup-cli watch still runs");
}

BOOST_AUTO_TEST_CASE(a_client_notices_a_dead_node_and_reaches_it_again_after_a_restart) {
  auto port = free_port();
  node_cfg = test_node_config(dir.path(), port);
  start();
  BOOST_REQUIRE_EQUAL(node->port(), port);
  std::vector<order> orders{accepted(request_with_prefix("survive-1", "138", 101)),
                            accepted(request_with_prefix("survive-2", "130", 102)),
                            accepted(request_with_prefix("survive-3", "133", 103))};
  auto before = wait_until_final(ids_of(orders));

  // SIGKILL: requests to a dead remote actor only time out in CAF 0.17, but a monitor of
  // its proxy reports the lost connection at once.
  self->monitor(gateway);
  node->kill();
  auto killed = steady::now();
  bool down = false;
  self->receive(
    [&](caf::down_msg& msg) { down = msg.source == gateway.address(); },
    caf::after(std::chrono::seconds(10)) >> [] {});
  auto noticed = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - killed);
  BOOST_REQUIRE_MESSAGE(down, "no down_msg for the gateway within 10 s of SIGKILL");
  BOOST_TEST_MESSAGE("down_msg " << noticed.count() << " ms after SIGKILL");
  bool refused = false;
  self->request(gateway, std::chrono::seconds(2), hello_atom::value, protocol_version)
    .receive([&](uint32_t, std::string&) {}, [&](caf::error&) { refused = true; });
  BOOST_TEST(refused, "a request to the dead node was answered");

  // The same files and port: the same address works again, with the orders.
  node.reset();
  node.emplace(TOPUP_NODE, config_path, log_path);
  BOOST_REQUIRE_EQUAL(node->port(), port);
  auto again = connect_gateway(system, port, 10s, gateway.address());
  BOOST_REQUIRE_MESSAGE(again, "cannot reconnect: " << error_text(again));
  gateway = *again;
  std::optional<uint32_t> version;
  caf::error failed;
  self->request(gateway, request_timeout, hello_atom::value, protocol_version)
    .receive([&](uint32_t v, std::string&) { version = v; },
             [&](caf::error& error) { failed = std::move(error); });
  BOOST_REQUIRE_MESSAGE(version.has_value(), "hello failed: " << describe(failed));
  BOOST_TEST(*version == protocol_version);
  for (const auto& o : orders) {
    auto stored = get(o.id);
    BOOST_REQUIRE_MESSAGE(stored, o.id << ": " << error_text(stored));
    BOOST_TEST(stored->client_ref == o.client_ref);
    BOOST_TEST(status_name(stored->status) == status_name(before[o.id].status));
  }
  // And it takes new orders.
  auto after = accepted(request_with_prefix("survive-4", "186", 104));
  BOOST_TEST(status_name(wait_until_final({after.id})[after.id].status) == "succeeded");
}

// A provider's "wrong carrier" answer, once stored, holds across a SIGKILL: p-cmcc says it of
// every 138 number, the aggregator is down so the orders stay unfinished, and the node is
// killed. Restarted on its files, with p-cmcc now willing to recharge anything, it still
// never sends them back to p-cmcc: they are recharged at the aggregator, once each.
BOOST_AUTO_TEST_CASE(a_wrong_carrier_answer_stored_before_a_sigkill_keeps_the_order_away) {
  auto port = free_port();
  auto long_deadlines = [](nlohmann::json& cfg) {
    cfg["deadline"] = {{"limit_ms", 30000}, {"resend_at_ms", {20000, 25000}},
                       {"query_interval_ms", 200}};
  };
  node_cfg = test_node_config(dir.path(), port);
  long_deadlines(node_cfg);
  provider_entry(node_cfg, "p-cmcc")["adapter"]["wrong_carrier"] = nlohmann::json::array({"138"});
  provider_entry(node_cfg, "p-agg")["adapter"]["outages"] =
    nlohmann::json::array({{{"from_s", 0}, {"to_s", 3600}}});
  start();
  std::vector<order> orders;
  for (uint64_t i = 0; i < 4; ++i)
    orders.push_back(accepted(request_with_prefix("ported-" + std::to_string(i), "138", 300 + i)));
  auto wrong_carrier_answers = [&](const order& o) {
    auto story = ask<order_history>(history_atom::value, o.id);
    BOOST_REQUIRE_MESSAGE(story, o.id << ": " << error_text(story));
    return std::count_if(story->entries.begin(), story->entries.end(),
                         [](const history_entry& e) { return e.event == "wrong_carrier"; });
  };
  auto all_answered = [&] {
    return std::all_of(orders.begin(), orders.end(),
                       [&](const order& o) { return wrong_carrier_answers(o) == 1; });
  };
  auto until = steady::now() + 10s;
  while (!all_answered() && steady::now() < until)
    std::this_thread::sleep_for(50ms);
  BOOST_REQUIRE_MESSAGE(all_answered(), "p-cmcc's answers were not all stored within 10 s");
  for (const auto& o : orders) {
    auto stored = get(o.id);
    BOOST_REQUIRE_MESSAGE(stored, error_text(stored));
    BOOST_TEST(!is_final(stored->status), o.id << " is " << status_name(stored->status));
  }

  self->monitor(gateway);
  BOOST_REQUIRE_EQUAL(node->kill(), "killed by signal 9");
  self->receive([&](caf::down_msg&) {}, caf::after(std::chrono::seconds(10)) >> [] {});

  // p-cmcc now recharges any number; the aggregator is back.
  node_cfg = test_node_config(dir.path(), port);
  long_deadlines(node_cfg);
  write_json(config_path, node_cfg);
  node.reset();
  node.emplace(TOPUP_NODE, config_path, log_path);
  auto again = connect_gateway(system, port, 10s, gateway.address());
  BOOST_REQUIRE_MESSAGE(again, "cannot reconnect: " << error_text(again));
  gateway = *again;
  auto final_states = wait_until_final(ids_of(orders));
  for (const auto& o : orders) {
    BOOST_TEST(status_name(final_states[o.id].status) == "succeeded", o.id);
    BOOST_TEST(final_states[o.id].provider == "p-agg", o.id);
    BOOST_TEST(wrong_carrier_answers(o) == 1, o.id);
    BOOST_TEST(final_states[o.id].wrong_carrier_at == std::vector<std::string>{"p-cmcc"},
               boost::test_tools::per_element());
  }
  stop_before_reading_files();
  auto recharges = ledger::recharges_per_order(ledger_paths(dir.path()));
  BOOST_TEST(count_duplicates(recharges) == 0u);
  for (const auto& o : orders)
    BOOST_TEST((recharges.count(o.id) ? recharges.at(o.id) : 0u) == 1u, o.id);
  BOOST_TEST(ledger{dir.file("ledger-p-cmcc.db")}.count() == 0u);
  BOOST_TEST(ledger{dir.file("ledger-p-agg.db")}.count() == 4u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(configuration)

BOOST_AUTO_TEST_CASE(a_bad_field_stops_the_node_with_exit_code_2_naming_its_path) {
  struct bad_case {
    std::string expected_path;
    std::function<void(nlohmann::json&)> spoil;
  };
  std::vector<bad_case> cases{
    {"/providers/1/rate", [](nlohmann::json& cfg) { cfg["providers"][1]["rate"] = 0; }},
    {"/node/listen/prot", [](nlohmann::json& cfg) { cfg["node"]["listen"]["prot"] = 1; }},
    {"/deadline/resend_at_ms/0",
     [](nlohmann::json& cfg) { cfg["deadline"]["resend_at_ms"] = {7000}; }},
  };
  for (const auto& c : cases) {
    temp_dir dir;
    auto cfg = test_node_config(dir.path());
    c.spoil(cfg);
    write_json(dir.file("node.json"), cfg);
    auto log = dir.file("stderr.txt");
    auto code = run_node({"--config", dir.file("node.json")}, log);
    auto message = tail_of(log);
    BOOST_TEST_MESSAGE("stderr: " << message);
    BOOST_TEST(code.value_or(-1) == 2, c.expected_path << ": exit " << (code ? *code : -1));
    BOOST_TEST(message.find(c.expected_path + ":") != std::string::npos,
               "stderr does not name " << c.expected_path << ": " << message);
    // Nothing was started: no store file.
    BOOST_TEST(!std::filesystem::exists(dir.file("orders.db")));
    auto checked = run_node({"--check", "--config", dir.file("node.json")}, log);
    BOOST_TEST(checked.value_or(-1) == 2, "--check of " << c.expected_path);
  }
}

/// What `topup-node --check` and a start of the node say about a configuration.
struct checked {
  std::optional<int> check_code;
  std::string check_stderr;
  std::optional<int> start_code;
  std::string start_stdout;
  std::string start_stderr;
};

checked check_and_start(const temp_dir& dir, const nlohmann::json& cfg,
                        const std::string& text_override = {}) {
  auto path = dir.file("node.json");
  if (text_override.empty())
    write_json(path, cfg);
  else
    std::ofstream{path} << text_override;
  checked result;
  result.check_code = run_node({"--check", "--config", path}, dir.file("check.txt"));
  result.check_stderr = tail_of(dir.file("check.txt"));
  result.start_code = run_node({"--config", path}, dir.file("start.txt"), &result.start_stdout);
  result.start_stderr = tail_of(dir.file("start.txt"));
  return result;
}

BOOST_AUTO_TEST_CASE(check_loads_the_tls_files_the_node_would_load) {
  temp_dir dir;
  auto cfg = test_node_config(dir.path());
  // A certificate that does not exist: --check passed it, and the node aborted (exit 134)
  // on its first connection.
  cfg["node"]["tls"] = {{"certificate", dir.file("missing.pem")}, {"key", dir.file("missing.key")}};
  auto missing = check_and_start(dir, cfg);
  BOOST_TEST(missing.check_code.value_or(-1) == 2, missing.check_stderr);
  BOOST_TEST(missing.check_stderr.find("/node/tls/certificate: cannot load certificate")
               != std::string::npos, missing.check_stderr);
  BOOST_TEST(missing.start_code.value_or(-1) == 2, missing.start_stderr);
  BOOST_TEST(missing.start_stdout.find("listening") == std::string::npos);
  // A key that is not the certificate's.
  auto run = [](const std::string& command) {
    BOOST_REQUIRE(std::system((command + " >/dev/null 2>&1").c_str()) == 0);
  };
  run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -keyout "
      + dir.file("a.key") + " -out " + dir.file("a.pem"));
  run("openssl genrsa -out " + dir.file("b.key") + " 2048");
  cfg["node"]["tls"] = {{"certificate", dir.file("a.pem")}, {"key", dir.file("b.key")}};
  auto mismatched = check_and_start(dir, cfg);
  BOOST_TEST(mismatched.check_code.value_or(-1) == 2, mismatched.check_stderr);
  BOOST_TEST(mismatched.check_stderr.find("/node/tls/key:") != std::string::npos,
             mismatched.check_stderr);
  cfg["node"]["tls"] = {{"certificate", dir.file("a.pem")}, {"key", dir.file("a.key")},
                        {"ca_file", dir.file("a.key")}};
  auto bad_ca = check_and_start(dir, cfg);
  BOOST_TEST(bad_ca.check_code.value_or(-1) == 2, bad_ca.check_stderr);
  BOOST_TEST(bad_ca.check_stderr.find("/node/tls/ca_file:") != std::string::npos,
             bad_ca.check_stderr);
}

BOOST_AUTO_TEST_CASE(check_probes_the_store_and_creates_nothing) {
  temp_dir dir;
  auto cfg = test_node_config(dir.path());
  std::ofstream{dir.file("a-file")} << "not a directory";
  cfg["store"]["sqlite"]["path"] = dir.file("a-file/orders.db");
  auto under_a_file = check_and_start(dir, cfg);
  BOOST_TEST(under_a_file.check_code.value_or(-1) == 2, under_a_file.check_stderr);
  BOOST_TEST(under_a_file.check_stderr.find("/store/sqlite/path:") != std::string::npos,
             under_a_file.check_stderr);
  BOOST_TEST(under_a_file.start_code.value_or(-1) == 2, under_a_file.start_stderr);
  std::ofstream{dir.file("junk.db")} << "this is no SQLite database, but text of some length "
                                        "so that SQLite reads a header and refuses it......";
  cfg["store"]["sqlite"]["path"] = dir.file("junk.db");
  auto not_a_database = check_and_start(dir, cfg);
  BOOST_TEST(not_a_database.check_code.value_or(-1) == 2, not_a_database.check_stderr);
  BOOST_TEST(not_a_database.check_stderr.find("/store/sqlite/path:") != std::string::npos,
             not_a_database.check_stderr);
  // A store in directories that do not exist yet passes, and --check leaves nothing behind.
  cfg["store"]["sqlite"]["path"] = dir.file("new/sub/orders.db");
  write_json(dir.file("node.json"), cfg);
  auto code = run_node({"--check", "--config", dir.file("node.json")}, dir.file("check.txt"));
  BOOST_TEST(code.value_or(-1) == 0, tail_of(dir.file("check.txt")));
  BOOST_TEST(!std::filesystem::exists(dir.file("new")));
  BOOST_TEST(!std::filesystem::exists(dir.file("orders.db")));
}

BOOST_AUTO_TEST_CASE(check_resolves_and_binds_the_listen_host) {
  temp_dir dir;
  auto cfg = test_node_config(dir.path());
  cfg["node"]["listen"]["allow_unauthenticated_peers"] = true;
  for (auto host : {"192.0.2.1", "no-such-host.invalid"}) {
    cfg["node"]["listen"]["host"] = host;
    auto result = check_and_start(dir, cfg);
    BOOST_TEST(result.check_code.value_or(-1) == 2, host << ": " << result.check_stderr);
    BOOST_TEST(result.check_stderr.find("/node/listen/host:") != std::string::npos,
               result.check_stderr);
  }
}

BOOST_AUTO_TEST_CASE(a_number_out_of_range_is_exit_2_naming_its_field) {
  temp_dir dir;
  auto cfg = test_node_config(dir.path());
  auto text = cfg.dump(2);
  auto rate = text.find("\"rate\": 2000");
  BOOST_REQUIRE(rate != std::string::npos);
  text.replace(rate, 12, "\"rate\": 1e400");
  auto result = check_and_start(dir, cfg, text);
  BOOST_TEST(result.check_code.value_or(-1) == 2, result.check_stderr);
  BOOST_TEST(result.check_stderr.find("/providers/0/rate: number is out of range (1e400)")
               != std::string::npos, result.check_stderr);
  BOOST_TEST(result.start_code.value_or(-1) == 2, result.start_stderr);
}

BOOST_AUTO_TEST_CASE(a_node_that_cannot_open_its_store_exits_before_it_listens) {
  temp_dir dir;
  auto cfg = test_node_config(dir.path());
  // A PostgreSQL server that is not there: the configuration is valid, the store is not.
  cfg["store"] = {{"backend", "postgresql"},
                  {"postgresql",
                   {{"connection", "host=127.0.0.1 port=" + std::to_string(free_port())
                                     + " dbname=topup user=postgres connect_timeout=2"}}}};
  auto result = check_and_start(dir, cfg);
  BOOST_TEST(result.check_code.value_or(-1) == 0, result.check_stderr);
  BOOST_TEST(result.start_code.value_or(-1) == 1, result.start_stderr);
  BOOST_TEST(result.start_stdout.find("listening") == std::string::npos, result.start_stdout);
  auto line = result.start_stderr.find("node cannot open its store postgresql:");
  BOOST_TEST(line != std::string::npos, result.start_stderr);
  // libpq's several lines of text became one.
  BOOST_TEST(result.start_stderr.find("Is the server running") == std::string::npos,
             result.start_stderr);
}

BOOST_AUTO_TEST_CASE(a_store_of_two_shards_refuses_another_count_with_exit_2) {
  temp_dir dir;
  auto cfg = test_node_config(dir.path());
  cfg["store"]["shards"] = 2;
  write_json(dir.file("node.json"), cfg);
  {
    node_process node{TOPUP_NODE, dir.file("node.json"), dir.file("node.log")};
    node.terminate(10s);
  }
  BOOST_TEST(std::filesystem::exists(dir.file("orders.shard1.db")));
  cfg["store"]["shards"] = 3;
  auto refused = check_and_start(dir, cfg);
  BOOST_TEST(refused.start_code.value_or(-1) == 2, refused.start_stderr);
  BOOST_TEST(refused.start_stderr.find("/store/shards") != std::string::npos,
             refused.start_stderr);
  BOOST_TEST(refused.start_stderr.find("has 2 shards") != std::string::npos,
             refused.start_stderr);
  BOOST_TEST(!std::filesystem::exists(dir.file("orders.shard2.db")));
}

BOOST_AUTO_TEST_CASE(check_accepts_the_shipped_single_node_configuration) {
  temp_dir dir;
  std::string out;
  auto code = run_node({"--check", "--config", TOPUP_SINGLE_NODE_CONFIG}, dir.file("stderr.txt"),
                       &out);
  BOOST_TEST(code.value_or(-1) == 0, "exit " << (code ? *code : -1) << "; stderr: "
                                << tail_of(dir.file("stderr.txt")));
  BOOST_TEST(out.find("is valid") != std::string::npos, out);
}

BOOST_AUTO_TEST_SUITE_END()
