#define BOOST_TEST_MODULE http_engine_tests
#include <boost/test/unit_test.hpp>

// The engine end to end over HTTP: a real topup-node whose providers are "http" adapters
// talking to real topup-provider-sim processes on 127.0.0.1. Order states come from the
// node's gateway; what was really recharged comes from the simulators' GET /ledger, the
// ground truth: one recharge per succeeded order, at the provider of its last attempt, none
// for the others, never a duplicate. Timings are scaled down (6 s deadlines with re-sends at
// 4 s and 5 s, 300 ms call timeouts, queries every 200 ms; see test_node_config).

#include "apps/bench/order_audit.hpp"
#include "apps/provider_sim/sim_config.hpp"
#include "config/config.hpp"
#include "domain/clock.hpp"
#include "domain/statement.hpp"
#include "providers/ledger.hpp"
#include "tests/order_polling.hpp"
#include "tests/process_support.hpp"
#include "tests/provider_sim_process.hpp"
#include "tests/test_support.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

using namespace topup;
using namespace topup::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

using steady = std::chrono::steady_clock;

constexpr auto request_timeout = std::chrono::seconds(10);

/// Longer than any order's 6 s deadline plus the queries an unknown outcome may still need.
constexpr auto finish_limit = std::chrono::seconds(20);

const json always_success = {{"success", 1}};

/// A request for a valid order with a number of `prefix` (138: cmcc, 130: cucc, 133: ctcc).
order_request request_with_prefix(const std::string& ref, const std::string& prefix,
                                  uint64_t n) {
  return {ref, prefix + std::to_string(10000000 + n % 10000000), 1000};
}

std::string status_name(order_status status) {
  return std::string{to_string(status)};
}

/// The simulators (one or two) and a topup-node whose providers all call them; everything
/// is killed and reaped when the fixture goes.
struct http_engine_fixture {
  temp_dir dir;
  nlohmann::json node_cfg = test_node_config(dir.path());
  std::string config_path = dir.file("node.json");
  std::optional<node_process> node;
  client_config client_cfg;
  caf::actor_system system{client_cfg};
  caf::scoped_actor self{system};
  gateway_actor gateway;
  uint64_t submitted = 0;

  /// Makes `provider` of the node an http adapter of `sim`, signing with `secret`.
  void call_over_http(const std::string& provider, const provider_sim_process& sim,
                      const std::string& secret = {}) {
    provider_entry(node_cfg, provider)["adapter"]
      = {{"type", "http"},
         {"base_url", sim.base_url(provider)},
         {"secret", secret.empty() ? secret_of(provider) : secret}};
  }

  void start_node() {
    write_json(config_path, node_cfg);
    node.emplace(TOPUP_NODE, config_path, dir.file("node.log"));
    auto connected = connect_gateway(system, node->port());
    BOOST_REQUIRE_MESSAGE(connected, "cannot connect to the node on port "
                                       << node->port() << ": " << error_text(connected));
    gateway = *connected;
  }

  template <class T, class... Ts>
  caf::expected<T> ask(Ts&&... xs) {
    caf::expected<T> result{caf::make_error(caf::sec::request_timeout)};
    self->request(gateway, request_timeout, std::forward<Ts>(xs)...)
      .receive([&](T& value) { result = std::move(value); },
               [&](caf::error& error) { result = std::move(error); });
    return result;
  }

  /// Submits `count` orders with numbers of `prefix`; their ids.
  std::vector<std::string> submit(const std::string& prefix, size_t count) {
    std::vector<std::string> ids;
    for (size_t i = 0; i < count; ++i) {
      ++submitted;
      auto ref = "http-" + std::to_string(submitted);
      auto result = ask<order>(submit_atom::value, request_with_prefix(ref, prefix, submitted));
      BOOST_REQUIRE_MESSAGE(result, "order " << ref << " was not accepted: "
                                             << error_text(result));
      ids.push_back(result->id);
    }
    return ids;
  }

  /// Polls until every order in `ids` is final; their last state. Fails the test, with the
  /// states seen, when that takes longer than finish_limit.
  std::map<std::string, order> wait_until_final(const std::vector<std::string>& ids) {
    return testing::wait_until_final(ids, finish_limit, [&](const std::string& id) {
      return ask<order>(caf::get_atom::value, id);
    });
  }

  /// Polls until the order's status is `status`, at most `limit`; whether it was seen.
  bool status_seen(const std::string& id, order_status status, steady::duration limit) {
    auto until = steady::now() + limit;
    while (steady::now() < until) {
      auto now = ask<order>(caf::get_atom::value, id);
      if (now && now->status == status)
        return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  /// Runs topup-cli against the node with `args`.
  program_run cli(const std::vector<std::string>& args) {
    std::vector<std::string> command{TOPUP_CLI, "--node",
                                     "127.0.0.1:" + std::to_string(node->port()), "--timeout",
                                     "10s"};
    command.insert(command.end(), args.begin(), args.end());
    return run_program(command, dir.file("cli.err"), 60s);
  }

  provider_stats stats_of(const std::string& provider) {
    auto stats = ask<cluster_stats>(stats_atom::value);
    BOOST_REQUIRE_MESSAGE(stats, "stats failed: " << error_text(stats));
    for (const auto& p : stats->totals.providers)
      if (p.provider == provider)
        return p;
    BOOST_FAIL("no provider " << provider << " in the node's stats");
    return {};
  }

  /// Polls the node's stats until `provider`'s breaker is `state` ("open", "closed"), at
  /// most `limit`; whether it was seen.
  bool breaker_seen(const std::string& provider, const std::string& state,
                    steady::duration limit) {
    auto until = steady::now() + limit;
    while (stats_of(provider).breaker != state) {
      if (steady::now() >= until)
        return false;
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }
};

/// The ledgers of `sims` against `orders`, which must be every order the node was given,
/// order by order: each succeeded order recharged exactly once, at the provider of its last
/// attempt; no recharge for any other order; none twice. And no call repeated a request
/// the simulator had performed: it deduplicates those, so its ledger would not show them.
void check_ledgers(const std::vector<const provider_sim_process*>& sims,
                   const std::map<std::string, order>& orders) {
  std::vector<std::string> files;
  for (const auto* sim : sims) {
    for (const auto& [name, counters] : sim->ledger().at("providers").items())
      BOOST_TEST(counters.at("deduplicated") == 0, name << ": " << counters.dump());
    files.push_back(sim->ledger_path());
  }
  std::vector<bench::audited_order> stored;
  for (const auto& [id, o] : orders)
    stored.push_back({id, status_name(o.status), o.provider, ""});
  auto audit = bench::audit_ledgers(stored, ledger::records(files));
  BOOST_TEST(audit.agrees(), bench::describe(audit));
  BOOST_TEST(audit.orders == orders.size());
}

std::map<std::string, order> merged(std::map<std::string, order> a,
                                    const std::map<std::string, order>& b) {
  a.insert(b.begin(), b.end());
  return a;
}

} // namespace

BOOST_AUTO_TEST_CASE(the_shipped_http_configuration_calls_the_shipped_simulator) {
  auto node_cfg = load_config_file(TOPUP_SINGLE_NODE_HTTP_CONFIG);
  auto sim_cfg = provider_sim::load_sim_config(TOPUP_PROVIDER_SIM_CONFIG);
  auto address = "http://" + sim_cfg.listen.host + ":" + std::to_string(sim_cfg.listen.port);
  BOOST_TEST(node_cfg.providers.size() == sim_cfg.providers.size());
  for (const auto& provider : node_cfg.providers) {
    const auto* http = std::get_if<http_adapter_config>(&provider.adapter);
    BOOST_REQUIRE_MESSAGE(http, provider.name << " is not an http adapter");
    BOOST_TEST(http->base_url == address + "/" + provider.name);
    auto played = std::find_if(sim_cfg.providers.begin(), sim_cfg.providers.end(),
                               [&](const auto& p) { return p.name == provider.name; });
    BOOST_REQUIRE_MESSAGE(played != sim_cfg.providers.end(),
                          provider.name << " is not played by the simulator");
    BOOST_TEST(http->secret == played->secret, provider.name);
  }
}

BOOST_FIXTURE_TEST_SUITE(engine_over_http, http_engine_fixture)

BOOST_AUTO_TEST_CASE(every_order_succeeds_once_at_providers_that_always_succeed) {
  json providers = json::array();
  for (const auto& name : workload_providers)
    providers.push_back(sim_provider(name, always_success));
  provider_sim_process sim{dir, "sim", providers};
  for (const auto& name : workload_providers)
    call_over_http(name, sim);
  start_node();

  std::vector<std::string> ids;
  for (const auto& prefix : {"138", "130", "133"}) {
    auto some = submit(prefix, 8);
    ids.insert(ids.end(), some.begin(), some.end());
  }
  auto orders = wait_until_final(ids);
  std::map<std::string, std::string> provider_of_carrier{
    {"cmcc", "p-cmcc"}, {"cucc", "p-cucc"}, {"ctcc", "p-ctcc"}};
  for (const auto& [id, o] : orders) {
    BOOST_TEST(status_name(o.status) == "succeeded", id << ": " << o.last_error);
    BOOST_TEST(o.provider == provider_of_carrier[o.carrier], id);
    BOOST_TEST(o.attempts == 1, id);
  }
  check_ledgers({&sim}, orders);
  auto summary = sim.ledger();
  BOOST_TEST(summary.at("total_recharges") == ids.size());
  BOOST_TEST(summary.at("orders") == ids.size());
  BOOST_TEST(summary.at("providers").at("p-agg").at("calls") == 0);
}

BOOST_AUTO_TEST_CASE(permanent_failures_are_refunded_and_transient_ones_fail_over) {
  provider_sim_process sim{dir, "sim",
                           json::array({sim_provider("p-cmcc", {{"permanent", 1}}),
                                         sim_provider("p-cucc", {{"transient", 1}}),
                                         sim_provider("p-ctcc", always_success),
                                         sim_provider("p-agg", always_success)})};
  for (const auto& name : workload_providers)
    call_over_http(name, sim);
  start_node();

  auto refused = wait_until_final(submit("139", 4));
  auto retried = wait_until_final(submit("131", 4));
  for (const auto& [id, o] : refused) {
    // Final at once: a permanent failure is not tried elsewhere, though p-agg serves cmcc.
    BOOST_TEST(status_name(o.status) == "failed", id);
    BOOST_TEST(o.provider == "p-cmcc", id);
    BOOST_TEST(o.attempts == 1, id);
  }
  for (const auto& [id, o] : retried) {
    BOOST_TEST(status_name(o.status) == "succeeded", id << ": " << o.last_error);
    BOOST_TEST(o.provider == "p-agg", id);
    BOOST_TEST(o.attempts > 1, id);
  }
  BOOST_TEST(stats_of("p-cucc").retries > 0u);
  auto summary = sim.ledger();
  BOOST_TEST(summary.at("providers").at("p-cmcc").at("answered_failed") == 4);
  BOOST_TEST(summary.at("providers").at("p-cucc").at("answered_failed") > 4);
  BOOST_TEST(summary.at("providers").at("p-cucc").at("recharges") == 0);
  check_ledgers({&sim}, merged(refused, retried));
}

BOOST_AUTO_TEST_CASE(unanswered_calls_go_unknown_and_queries_settle_them) {
  // p-cmcc performs every call but never answers; p-cucc never answers and never performs.
  provider_sim_process sim{dir, "sim",
                           json::array({sim_provider("p-cmcc", {{"unknown", 1}}, 1.0),
                                         sim_provider("p-cucc", {{"unknown", 1}}, 0.0),
                                         sim_provider("p-ctcc", always_success),
                                         sim_provider("p-agg", always_success)})};
  for (const auto& name : workload_providers)
    call_over_http(name, sim);
  start_node();

  auto performed_ids = submit("150", 4);
  auto lost_ids = submit("186", 4);
  auto performed = wait_until_final(performed_ids);
  auto lost = wait_until_final(lost_ids);
  for (const auto& [id, o] : performed) {
    // Recharged by the first call, found by the query: no second attempt anywhere.
    BOOST_TEST(status_name(o.status) == "succeeded", id << ": " << o.last_error);
    BOOST_TEST(o.provider == "p-cmcc", id);
    BOOST_TEST(o.attempts == 1, id);
  }
  BOOST_TEST(stats_of("p-cmcc").unknown >= performed_ids.size());
  BOOST_TEST(stats_of("p-cucc").unknown >= lost_ids.size());
  for (const auto& [id, o] : lost) {
    // Each query says "not recharged", so the order may be tried again: at p-cucc, which
    // loses it again, until a re-send moves it to p-agg; or it runs out of time.
    BOOST_TEST((o.status == order_status::failed || o.provider == "p-agg"),
               id << " " << status_name(o.status) << " at " << o.provider);
    BOOST_TEST(o.attempts >= 2, id << ": tried again after the query, not just abandoned");
  }
  auto summary = sim.ledger();
  BOOST_TEST(summary.at("providers").at("p-cmcc").at("unknown_performed") >= 4);
  BOOST_TEST(summary.at("providers").at("p-cucc").at("recharges") == 0);
  BOOST_TEST(summary.at("providers").at("p-cucc").at("unanswered") >= 4);
  check_ledgers({&sim}, merged(performed, lost));
}

BOOST_AUTO_TEST_CASE(a_killed_provider_trips_the_breaker_until_it_is_back) {
  provider_sim_process carriers_sim{dir, "carriers",
                                    json::array({sim_provider("p-cmcc", always_success),
                                                  sim_provider("p-cucc", always_success),
                                                  sim_provider("p-ctcc", always_success)})};
  provider_sim_process aggregator_sim{dir, "aggregator",
                                      json::array({sim_provider("p-agg", always_success)})};
  for (const auto& name : {"p-cmcc", "p-cucc", "p-ctcc"})
    call_over_http(name, carriers_sim);
  call_over_http("p-agg", aggregator_sim);
  start_node();

  auto before = wait_until_final(submit("138", 3));
  for (const auto& [id, o] : before)
    BOOST_TEST(o.provider == "p-cmcc", id << " " << status_name(o.status));

  carriers_sim.kill();
  auto during_ids = submit("138", 10);
  BOOST_TEST(breaker_seen("p-cmcc", "open", 5s), "p-cmcc's breaker did not open");
  auto during = wait_until_final(during_ids);
  for (const auto& [id, o] : during) {
    BOOST_TEST(status_name(o.status) == "succeeded", id << ": " << o.last_error);
    BOOST_TEST(o.provider == "p-agg", id);
  }

  carriers_sim.restart();
  // The breaker lets a probe through 2 s after it opened; new orders go to p-cmcc again
  // from then on, and the first success closes it.
  std::vector<std::string> after_ids;
  auto until = steady::now() + 10s;
  bool closed = false;
  while (!closed && steady::now() < until) {
    auto one = submit("138", 1);
    after_ids.push_back(one.front());
    std::this_thread::sleep_for(200ms);
    closed = stats_of("p-cmcc").breaker == "closed";
  }
  BOOST_TEST(closed, "p-cmcc's breaker still " << stats_of("p-cmcc").breaker
                                               << " 10 s after its provider came back");
  // The router routes by the lanes' reports (every 100 ms): give it one to learn the breaker
  // closed before counting where new orders go.
  std::this_thread::sleep_for(300ms);
  auto after_more = submit("138", 3);
  after_ids.insert(after_ids.end(), after_more.begin(), after_more.end());
  auto after = wait_until_final(after_ids);
  size_t at_cmcc = 0;
  for (const auto& [id, o] : after) {
    BOOST_TEST(status_name(o.status) == "succeeded", id << ": " << o.last_error);
    at_cmcc += o.provider == "p-cmcc" ? 1 : 0;
  }
  BOOST_TEST(at_cmcc >= after_more.size());
  // The restarted simulator counts the rows of its first run from the shared ledger file.
  check_ledgers({&carriers_sim, &aggregator_sim}, merged(merged(before, during), after));
}

BOOST_AUTO_TEST_CASE(a_wrong_secret_is_refused_and_nothing_is_recharged) {
  json providers = json::array();
  for (const auto& name : workload_providers)
    providers.push_back(sim_provider(name, always_success));
  provider_sim_process sim{dir, "sim", providers};
  for (const auto& name : workload_providers)
    call_over_http(name, sim);
  call_over_http("p-ctcc", sim, "not-the-secret");
  start_node();

  auto orders = wait_until_final(submit("153", 4));
  for (const auto& [id, o] : orders) {
    BOOST_TEST(status_name(o.status) == "succeeded", id << ": " << o.last_error);
    BOOST_TEST(o.provider == "p-agg", id);
  }
  BOOST_TEST(stats_of("p-ctcc").succeeded == 0u);
  auto ctcc = sim.ledger().at("providers").at("p-ctcc");
  BOOST_TEST(ctcc.at("refused_auth") >= 4, ctcc.dump());
  BOOST_TEST(ctcc.at("recharges") == 0, ctcc.dump());
  check_ledgers({&sim}, orders);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_CASE(reconcile_lists_every_planted_disagreement_and_settles_unknowns_first,
                        http_engine_fixture) {
  // p-ctcc performs every call but never answers; queries come only once a minute, so its
  // orders stay unknown until reconciliation has them queried.
  provider_sim_process sim{dir, "sim",
                           json::array({sim_provider("p-cmcc", always_success),
                                        sim_provider("p-cucc", {{"permanent", 1}}),
                                        sim_provider("p-ctcc", {{"unknown", 1}}, 1.0),
                                        sim_provider("p-agg", always_success)})};
  for (const auto& name : workload_providers)
    call_over_http(name, sim);
  node_cfg["deadline"]["query_interval_ms"] = 60000;
  start_node();
  auto from = system_clock{}.wall_ms() - 60000;

  auto recharged = submit("138", 4);
  auto refused = submit("130", 2);
  auto lost = submit("133", 2);
  for (const auto& [id, o] : wait_until_final(recharged))
    BOOST_TEST(status_name(o.status) == "succeeded", id << ": " << o.last_error);
  for (const auto& [id, o] : wait_until_final(refused))
    BOOST_TEST(status_name(o.status) == "failed", id);
  for (const auto& id : lost)
    BOOST_REQUIRE_MESSAGE(status_seen(id, order_status::unknown, 10s), id << " never unknown");
  auto to = system_clock{}.wall_ms() + 60000;

  // The statements, with a disagreement of each kind planted.
  auto write_statement = [&](const std::string& name, const std::vector<statement_row>& rows) {
    auto path = dir.file(name);
    std::ofstream file{path, std::ios::trunc};
    file << statement_header() << "\r\n";
    for (const auto& row : rows)
      file << statement_line(row) << "\r\n";
    return path;
  };
  auto read_back = [&](const std::string& provider) {
    std::istringstream csv{sim.statement(provider)};
    auto read = read_statement(csv);
    BOOST_TEST(read.problems.empty(), provider << ": " << read.problems.size() << " problems");
    return read.rows;
  };
  auto cmcc_rows = read_back("p-cmcc");
  BOOST_REQUIRE(cmcc_rows.size() == recharged.size());
  std::vector<statement_row> planted;
  for (auto row : cmcc_rows) {
    if (row.order_id == recharged[0])
      continue;  // succeeded here, absent there
    if (row.order_id == recharged[1])
      row.amount_fen *= 2;  // the amounts differ
    planted.push_back(row);
  }
  auto stray = cmcc_rows.front();
  stray.order_id = "o-not-ours";
  stray.request_id = "o-not-ours@p-cmcc";
  stray.provider_txn = "p-cmcc-999";
  planted.push_back(stray);  // recharged there, no such order here
  auto cmcc_statement = write_statement("cmcc.csv", planted);
  // p-cucc refused both orders; its statement says it recharged the first (money lost).
  auto lost_money = cmcc_rows.front();
  lost_money.order_id = refused[0];
  lost_money.request_id = refused[0] + "@p-cucc";
  lost_money.provider_txn = "p-cucc-1";
  lost_money.phone.clear();  // optional: not compared
  auto cucc_statement = write_statement("cucc.csv", {lost_money});
  auto ctcc_statement = write_statement("ctcc.csv", read_back("p-ctcc"));

  auto reconcile = [&](const std::string& provider, const std::string& statement,
                       std::vector<std::string> more) {
    std::vector<std::string> args{"reconcile", "--provider", provider, "--from",
                                  std::to_string(from), "--to", std::to_string(to),
                                  "--statement", statement};
    args.insert(args.end(), more.begin(), more.end());
    return cli(args);
  };
  auto kinds_of = [](const json& report) {
    std::map<std::string, std::string> kinds;  // order id -> kind
    for (const auto& d : report.at("disagreements"))
      kinds[d.at("order_id").get<std::string>()] += d.at("kind").get<std::string>();
    return kinds;
  };

  auto cmcc = reconcile("p-cmcc", cmcc_statement, {"--json"});
  BOOST_REQUIRE_MESSAGE(cmcc.code == 6, cmcc.describe());
  BOOST_REQUIRE_MESSAGE(cmcc.out.size() == 1u, cmcc.describe());
  auto cmcc_report = json::parse(cmcc.out.front());
  BOOST_TEST((kinds_of(cmcc_report)
              == std::map<std::string, std::string>{{recharged[0], "succeeded_absent_there"},
                                                    {recharged[1], "amount_differs"},
                                                    {"o-not-ours", "unknown_order"}}),
             cmcc.describe());
  uint64_t requests = 0, agreed = 0, disagreeing = 0;
  for (const auto& day : cmcc_report.at("totals")) {
    BOOST_TEST(day.at("provider") == "p-cmcc");
    requests += day.at("requests").get<uint64_t>();
    agreed += day.at("agreed").get<uint64_t>();
    disagreeing += day.at("disagreeing").get<uint64_t>();
  }
  BOOST_TEST(requests == 5u);
  BOOST_TEST(agreed == 2u);
  BOOST_TEST(disagreeing == 3u);
  BOOST_TEST(cmcc.out.front().find("1381000000") == std::string::npos, "a number unmasked");

  auto as_csv = reconcile("p-cmcc", cmcc_statement, {"--format", "csv"});
  BOOST_REQUIRE_MESSAGE(as_csv.code == 6, as_csv.describe());
  BOOST_REQUIRE(!as_csv.out.empty());
  BOOST_TEST(as_csv.out.front().rfind("kind,day,provider,request_id,order_id", 0) == 0u,
             as_csv.describe());
  BOOST_TEST(as_csv.out.size() == 4u, as_csv.describe());
  auto table = reconcile("p-cmcc", cmcc_statement, {});
  BOOST_TEST((table.code == 6), table.describe());
  BOOST_TEST((!table.out.empty() && table.out.back().find("3 disagreements") == 0u),
             table.describe());

  auto cucc = reconcile("p-cucc", cucc_statement, {"--json"});
  BOOST_REQUIRE_MESSAGE(cucc.code == 6, cucc.describe());
  BOOST_TEST((kinds_of(json::parse(cucc.out.at(0)))
              == std::map<std::string, std::string>{{refused[0], "recharged_failed_here"}}),
             cucc.describe());

  // Without settling, the unknown outcomes are reported as such; settling queries them and
  // then both sides agree.
  auto unsettled = reconcile("p-ctcc", ctcc_statement, {"--json", "--settle-wait", "0"});
  BOOST_REQUIRE_MESSAGE(unsettled.code == 6, unsettled.describe());
  BOOST_TEST((kinds_of(json::parse(unsettled.out.at(0)))
              == std::map<std::string, std::string>{{lost[0], "recharged_unknown_here"},
                                                    {lost[1], "recharged_unknown_here"}}),
             unsettled.describe());
  auto settled = reconcile("p-ctcc", ctcc_statement, {"--json", "--settle-wait", "10s"});
  BOOST_REQUIRE_MESSAGE(settled.code == 0, settled.describe());
  auto settled_report = json::parse(settled.out.at(0));
  BOOST_TEST(settled_report.at("settle").at("unknown") == 2, settled.describe());
  BOOST_TEST(settled_report.at("settle").at("settled") == 2, settled.describe());
  BOOST_TEST(settled_report.at("agrees") == true);
  for (const auto& id : lost)
    BOOST_TEST(status_name(ask<order>(caf::get_atom::value, id)->status) == "succeeded", id);
}
