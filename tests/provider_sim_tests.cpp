#define BOOST_TEST_MODULE provider_sim_tests
#include <boost/test/unit_test.hpp>

#include "apps/provider_sim/rate_window.hpp"
#include "apps/provider_sim/sim_config.hpp"
#include "apps/provider_sim/simulator.hpp"
#include "domain/statement.hpp"
#include "providers/http_wire.hpp"
#include "providers/ledger.hpp"
#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <csignal>
#include <limits>
#include <sstream>
#include <optional>

using namespace topup;
using namespace topup::provider_sim;
using nlohmann::json;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

namespace {

const std::string secret = "s3cret";

// -- pure pieces ------------------------------------------------------------------------------

sim_provider provider_named(const std::string& name, outcome_shares outcomes = {},
                            double unknown_success_probability = 0.5) {
  sim_provider provider;
  provider.name = name;
  provider.secret = secret;
  provider.model.latency.fixed_ms = 5;
  provider.model.outcomes = outcomes;
  provider.model.unknown_success_probability = unknown_success_probability;
  return provider;
}

sim_request signed_request(const std::string& target, const std::string& body, int64_t wall_ms,
                           const std::string& key = secret) {
  auto timestamp = std::to_string(wall_ms);
  return {"POST", target, timestamp, http_wire::sign(key, timestamp, body), body};
}

recharge_call call_for(const std::string& order_id, const std::string& provider = "p-ok") {
  return {order_id + "/" + provider, order_id, "13800138000", 5000};
}

/// A simulator of "p-ok" (always success) and "p-lost" (always unknown, always performed) on
/// a manual clock.
struct simulator_fixture {
  std::shared_ptr<manual_clock> time = std::make_shared<manual_clock>();
  std::vector<ledger_record> earlier_rows;
  std::optional<simulator> sim;

  simulator_fixture() { start(); }

  void start() {
    sim.emplace(std::vector<sim_provider>{provider_named("p-ok"),
                                          provider_named("p-lost", {0, 0, 0, 1}, 1.0)},
                time, earlier_rows);
  }

  sim_action recharge(const recharge_call& call, const std::string& provider = "p-ok") {
    return sim->handle(signed_request("/" + provider + "/recharge",
                                      http_wire::recharge_request_body(call), time->wall_ms()));
  }

  sim_action query(const std::string& request_id, const std::string& provider = "p-ok",
                   const call_origin& origin = {}) {
    return sim->handle(signed_request("/" + provider + "/query",
                                      http_wire::query_request_body({request_id, origin}),
                                      time->wall_ms()));
  }

  json summary(const recharge_counts& per_order = {}, bool detail = false) {
    return sim->summary(per_order, detail);
  }
};

} // namespace

BOOST_AUTO_TEST_CASE(rate_window_finds_the_busiest_second) {
  rate_window window;
  mono_time start{};
  for (int i = 0; i < 10; ++i)
    window.record(start + milliseconds(100 * i));  // 10 calls in [0, 900] ms
  BOOST_TEST(window.max() == 10u);
  // At 1000 ms the call at 0 ms has left the window: still 10, not 11.
  BOOST_TEST(window.record(start + milliseconds(1000)) == 10u);
  // A burst of 5 within 50 ms on top of the 9 still in the window.
  for (int i = 0; i < 5; ++i)
    window.record(start + milliseconds(1010 + 10 * i));
  BOOST_TEST(window.max() == 15u);
  // Long after, the window is nearly empty again but the maximum stays.
  BOOST_TEST(window.record(start + milliseconds(10000)) == 1u);
  BOOST_TEST(window.max() == 15u);
}

BOOST_AUTO_TEST_CASE(listen_addresses_parse_and_refuse_nonsense) {
  auto address = parse_listen_address("127.0.0.1:0");
  BOOST_TEST(address.host == "127.0.0.1");
  BOOST_TEST(address.port == 0);
  BOOST_TEST(parse_listen_address("[::1]:9100").host == "::1");
  BOOST_CHECK_THROW(parse_listen_address("127.0.0.1"), std::invalid_argument);
  BOOST_CHECK_THROW(parse_listen_address(":80"), std::invalid_argument);
  BOOST_CHECK_THROW(parse_listen_address("localhost:65536"), std::invalid_argument);
  BOOST_CHECK_THROW(parse_listen_address("localhost:http"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(sim_config_reads_models_like_topup_config) {
  auto cfg = parse_sim_config(R"({
    // comments are allowed, as in topup's configuration
    "listen": "127.0.0.1:0", "ledger": "l.db",
    "providers": [{"name": "p-a", "secret": "k",
                   "model": {"latency": {"distribution": "lognormal", "median_ms": 50,
                                         "p99_ms": 500},
                             "outcomes": {"success": 0.75, "transient": 0.25},
                             "outages": [{"from_s": 10, "to_s": 40}], "seed": 7}},
                  {"name": "p-b", "secret": "k2"}]})");
  BOOST_TEST(cfg.listen.port == 0);
  BOOST_TEST(cfg.ledger_path == "l.db");
  BOOST_REQUIRE(cfg.providers.size() == 2u);
  const auto& model = cfg.providers[0].model;
  BOOST_TEST(model.latency.median_ms == 50);
  BOOST_TEST(model.outcomes.transient == 0.25);
  BOOST_REQUIRE(model.outages.size() == 1u);
  BOOST_TEST(model.outages[0].to_s == 40);
  BOOST_TEST(model.seed == 7u);
  BOOST_TEST(cfg.providers[1].model.outcomes.success == 1);  // the simulated defaults
}

BOOST_AUTO_TEST_CASE(sim_config_errors_name_the_field) {
  auto error_path = [](const std::string& text) -> std::string {
    try {
      parse_sim_config(text);
    } catch (const config_error& error) {
      return error.path();
    }
    return "(accepted)";
  };
  const std::string head = R"({"providers": [{"name": "p-a", "secret": "k", )";
  BOOST_TEST(error_path(head + R"("model": {"latency": {"fixed_ms": 1, "jitter": 2}}}]})")
             == "/providers/0/model/latency/jitter");
  BOOST_TEST(error_path(head + R"("model": {"outcomes": {"success": 0.5}}}]})")
             == "/providers/0/model/outcomes");
  BOOST_TEST(error_path(head + R"("model": {"ledger": "x.db"}}]})") == "/providers/0/model/ledger");
  BOOST_TEST(error_path(head + R"("model": {"type": "simulated"}}]})") == "/providers/0/model/type");
  BOOST_TEST(error_path(head + R"("rate": 3}]})") == "/providers/0/rate");
  BOOST_TEST(error_path(R"({"providers": [{"name": "p-a"}]})") == "/providers/0/secret");
  BOOST_TEST(error_path(R"({"providers": [{"name": "ledger", "secret": "k"}]})")
             == "/providers/0/name");
  BOOST_TEST(error_path(R"({"providers": [{"name": "a/b", "secret": "k"}]})") == "/providers/0/name");
  BOOST_TEST(error_path(R"({"providers": [{"name": "p", "secret": "k"},
                                          {"name": "p", "secret": "j"}]})")
             == "/providers/1/name");
  BOOST_TEST(error_path(R"({"listen": "nowhere", "providers": [{"name": "p", "secret": "k"}]})")
             == "/listen");
  BOOST_TEST(error_path(R"({"providers": []})") == "/providers");
  BOOST_TEST(error_path(R"({"providers": [{"name": "p", "secret": "k"}], "extra": 1})") == "/extra");
}

BOOST_AUTO_TEST_CASE(the_shipped_configuration_parses) {
  auto cfg = load_sim_config(TOPUP_PROVIDER_SIM_CONFIG);
  BOOST_TEST(cfg.providers.size() == 4u);
  BOOST_TEST(cfg.providers[1].name == "p-cucc");
  BOOST_TEST(cfg.providers[1].model.outages.size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_success_is_performed_once_and_repeats_are_deduplicated,
                        simulator_fixture) {
  auto first = recharge(call_for("o-1"));
  BOOST_TEST(static_cast<int>(first.what) == static_cast<int>(sim_action::kind::answer));
  BOOST_TEST(std::chrono::duration_cast<milliseconds>(first.delay).count() == 5);
  BOOST_TEST(sim->has_unwritten());
  auto reply = http_wire::parse_recharge_response(sim->render(first));
  BOOST_TEST(static_cast<int>(reply.outcome) == static_cast<int>(recharge_outcome::success));
  BOOST_TEST(reply.provider_txn == "p-ok-1");
  auto rows = sim->take_unwritten();
  BOOST_REQUIRE(rows.size() == 1u);
  BOOST_TEST(rows[0].request_id == "o-1/p-ok");
  BOOST_TEST(rows[0].order_id == "o-1");
  BOOST_TEST(rows[0].provider == "p-ok");
  BOOST_TEST(rows[0].provider_txn == "p-ok-1");

  auto again = recharge(call_for("o-1"));
  BOOST_TEST(!sim->has_unwritten());
  BOOST_TEST(http_wire::parse_recharge_response(sim->render(again)).provider_txn == "p-ok-1");
  auto status = http_wire::parse_query_response(sim->render(query("o-1/p-ok")));
  BOOST_TEST(static_cast<int>(status.outcome) == static_cast<int>(query_outcome::recharged));
  BOOST_TEST(status.provider_txn == "p-ok-1");

  auto counters = summary({{"o-1", 1}})["providers"]["p-ok"];
  BOOST_TEST(counters["calls"] == 2);
  BOOST_TEST(counters["queries"] == 1);
  BOOST_TEST(counters["recharges"] == 1);
  BOOST_TEST(counters["deduplicated"] == 1);
  BOOST_TEST(counters["max_calls_in_1s_window"] == 3);
}

// Every call and query the provider reads is booked against its caller, the node and the
// epoch of its lease, with the arrival of the first and the last: a test can tell that
// nothing came under an epoch once a later one had begun. Performed recharges record the
// caller in the ledger too.
BOOST_FIXTURE_TEST_CASE(calls_and_queries_are_booked_against_their_node_and_epoch,
                        simulator_fixture) {
  auto call = [&](const std::string& order_id, const std::string& node, int64_t epoch) {
    auto c = call_for(order_id);
    c.origin = {node, epoch, {}};
    return recharge(c);
  };
  auto start = time->wall_ms();
  call("o-1", "node-1", 3);
  time->advance(milliseconds(40));
  query("o-1/p-ok", "p-ok", {"node-1", 3, {}});
  time->advance(milliseconds(60));
  call("o-2", "node-2", 4);
  call("o-3", "", 0);  // a single node
  auto callers = summary()["providers"]["p-ok"]["callers"];
  BOOST_REQUIRE_EQUAL(callers.size(), 3u);
  // Sorted by node, then epoch: the single node first.
  BOOST_TEST(callers[0]["node"] == "");
  BOOST_TEST(callers[1]["node"] == "node-1");
  BOOST_TEST(callers[1]["epoch"] == 3);
  BOOST_TEST(callers[1]["calls"] == 1);
  BOOST_TEST(callers[1]["queries"] == 1);
  BOOST_TEST(callers[1]["first_at_ms"] == start);
  BOOST_TEST(callers[1]["last_at_ms"] == start + 40);
  BOOST_TEST(callers[2]["node"] == "node-2");
  BOOST_TEST(callers[2]["epoch"] == 4);
  BOOST_TEST(callers[2]["calls"] == 1);
  BOOST_TEST(callers[2]["first_at_ms"] == start + 100);
  auto rows = sim->take_unwritten();
  BOOST_REQUIRE_EQUAL(rows.size(), 3u);
  BOOST_TEST(rows[0].node == "node-1");
  BOOST_TEST(rows[0].epoch == 3);
  BOOST_TEST(rows[1].node == "node-2");
  BOOST_TEST(rows[1].epoch == 4);
}

BOOST_FIXTURE_TEST_CASE(refusals_perform_nothing, simulator_fixture) {
  auto body = http_wire::recharge_request_body(call_for("o-1"));
  auto now = time->wall_ms();
  auto stale = now - http_wire::signature_max_skew.count() - 1;
  auto status_of = [&](const sim_request& request) { return sim->handle(request).status; };
  BOOST_TEST(status_of(signed_request("/p-ok/recharge", body, now, "wrong")) == 401u);
  BOOST_TEST(status_of(signed_request("/p-ok/recharge", body, stale)) == 401u);
  BOOST_TEST(status_of({"POST", "/p-ok/recharge", "", "", body}) == 401u);
  BOOST_TEST(status_of(signed_request("/p-ok/recharge", R"({"request_id": 1})", now)) == 400u);
  BOOST_TEST(status_of(signed_request("/p-ok/query", "not json", now)) == 400u);
  BOOST_TEST(status_of(signed_request("/p-nobody/recharge", body, now)) == 404u);
  BOOST_TEST(status_of(signed_request("/p-ok/refund", body, now)) == 404u);
  BOOST_TEST(status_of({"GET", "/p-ok/recharge", "", "", ""}) == 405u);
  BOOST_TEST(status_of({"GET", "/health", "", "", ""}) == 200u);
  auto refused = sim->handle(signed_request("/p-ok/recharge", body, now, "wrong"));
  BOOST_TEST(json::parse(refused.body)["error"] == "bad signature");
  BOOST_TEST(!sim->has_unwritten());
  auto counters = summary()["providers"]["p-ok"];
  BOOST_TEST(counters["refused_auth"] == 4);
  BOOST_TEST(counters["malformed"] == 2);
  BOOST_TEST(counters["recharges"] == 0);
}

BOOST_FIXTURE_TEST_CASE(a_provider_switched_down_resets_every_call, simulator_fixture) {
  auto admin = [&](const std::string& body) {
    return sim->handle({"POST", "/admin/outage", "", "", body});
  };
  BOOST_TEST(admin(R"({"provider": "p-ok", "down": true})").status == 200u);
  BOOST_TEST(static_cast<int>(recharge(call_for("o-1")).what)
             == static_cast<int>(sim_action::kind::reset));
  BOOST_TEST(static_cast<int>(query("o-1/p-ok").what) == static_cast<int>(sim_action::kind::reset));
  BOOST_TEST(!sim->has_unwritten());
  BOOST_TEST(summary()["providers"]["p-ok"]["down"] == true);
  BOOST_TEST(summary()["providers"]["p-ok"]["refused_outage"] == 2);
  BOOST_TEST(admin(R"({"provider": "p-ok", "down": false})").status == 200u);
  BOOST_TEST(static_cast<int>(recharge(call_for("o-1")).what)
             == static_cast<int>(sim_action::kind::answer));
  BOOST_TEST(admin(R"({"provider": "p-nobody", "down": true})").status == 404u);
  BOOST_TEST(admin(R"({"provider": "p-ok"})").status == 400u);
  BOOST_TEST(admin(R"({"provider": "p-ok", "down": "yes"})").status == 400u);
}

BOOST_FIXTURE_TEST_CASE(configured_outage_windows_count_from_the_start, simulator_fixture) {
  auto provider = provider_named("p-win");
  provider.model.outages = {{1, 2}};
  sim.emplace(std::vector<sim_provider>{provider}, time, earlier_rows);
  auto kind_at = [&](int64_t ms) {
    time->advance(milliseconds(ms));
    return static_cast<int>(recharge(call_for("o-" + std::to_string(ms), "p-win"), "p-win").what);
  };
  BOOST_TEST(kind_at(999) == static_cast<int>(sim_action::kind::answer));
  BOOST_TEST(kind_at(1) == static_cast<int>(sim_action::kind::reset));  // at 1.000 s
  BOOST_TEST(kind_at(1000) == static_cast<int>(sim_action::kind::answer));  // at 2.000 s
}

BOOST_FIXTURE_TEST_CASE(an_unknown_outcome_is_held_yet_known_to_queries, simulator_fixture) {
  auto held = recharge(call_for("o-9", "p-lost"), "p-lost");
  BOOST_TEST(static_cast<int>(held.what) == static_cast<int>(sim_action::kind::hold));
  BOOST_TEST(sim->take_unwritten().size() == 1u);  // performed: probability 1
  auto status = http_wire::parse_query_response(sim->render(query("o-9/p-lost", "p-lost")));
  BOOST_TEST(static_cast<int>(status.outcome) == static_cast<int>(query_outcome::recharged));
  auto absent = http_wire::parse_query_response(sim->render(query("o-8/p-lost", "p-lost")));
  BOOST_TEST(static_cast<int>(absent.outcome) == static_cast<int>(query_outcome::not_recharged));
  BOOST_TEST(summary()["providers"]["p-lost"]["unanswered"] == 1);
}

BOOST_FIXTURE_TEST_CASE(a_lost_commit_turns_the_success_into_a_failure, simulator_fixture) {
  auto first = recharge(call_for("o-1"));
  sim->unwritten_lost(sim->take_unwritten());
  auto reply = http_wire::parse_recharge_response(sim->render(first));
  BOOST_TEST(static_cast<int>(reply.outcome)
             == static_cast<int>(recharge_outcome::transient_failure));
  auto status = http_wire::parse_query_response(sim->render(query("o-1/p-ok")));
  BOOST_TEST(static_cast<int>(status.outcome) == static_cast<int>(query_outcome::not_recharged));
  // Not remembered as performed: the retry is performed, under a new transaction.
  auto retry = recharge(call_for("o-1"));
  BOOST_TEST(sim->take_unwritten().size() == 1u);
  BOOST_TEST(http_wire::parse_recharge_response(sim->render(retry)).provider_txn == "p-ok-2");
  BOOST_TEST(summary()["providers"]["p-ok"]["recharges"] == 1);
}

BOOST_FIXTURE_TEST_CASE(rows_of_an_earlier_run_deduplicate_and_number_on, simulator_fixture) {
  earlier_rows = {{"o-1/p-ok", "o-1", "p-ok", "p-ok-1", 1},
                  {"o-2/p-other", "o-2", "p-other", "p-other-2", 2}};
  start();
  auto again = recharge(call_for("o-1"));
  BOOST_TEST(!sim->has_unwritten());
  BOOST_TEST(http_wire::parse_recharge_response(sim->render(again)).provider_txn == "p-ok-1");
  auto fresh = recharge(call_for("o-3"));
  BOOST_TEST(http_wire::parse_recharge_response(sim->render(fresh)).provider_txn == "p-ok-3");
  auto all = summary({{"o-1", 2}, {"o-2", 1}, {"o-3", 1}}, true);
  BOOST_TEST(all["total_recharges"] == 4);
  BOOST_TEST(all["duplicates"] == 1);
  BOOST_TEST(all["providers"]["p-ok"]["recharges"] == 2);
  BOOST_TEST(all["providers"]["p-ok"]["deduplicated"] == 1);
  BOOST_TEST(all["providers"]["p-ok"]["recharges_by_request"]["o-1/p-ok"] == 1);
  BOOST_TEST(all["providers"]["p-ok"]["recharges_by_request"]["o-3/p-ok"] == 1);
  BOOST_TEST(!summary().at("providers").at("p-ok").contains("recharges_by_request"));
}

BOOST_FIXTURE_TEST_CASE(a_statement_request_names_a_provider_and_a_period, simulator_fixture) {
  auto get = [&](const std::string& target) { return sim->handle({"GET", target, "", "", ""}); };
  auto all = get("/statement?provider=p-ok");
  BOOST_TEST(static_cast<int>(all.what) == static_cast<int>(sim_action::kind::statement));
  BOOST_TEST(all.statement_provider == "p-ok");
  BOOST_TEST(all.from_ms == std::numeric_limits<int64_t>::min());
  BOOST_TEST(all.to_ms == std::numeric_limits<int64_t>::max());
  // Milliseconds, or RFC 3339 with a zone ('+' written %2B, as a form would).
  auto day = get("/statement?provider=p-ok&from=2026-12-05T00:00:00%2B08:00&to=1764950400000");
  BOOST_TEST(static_cast<int>(day.what) == static_cast<int>(sim_action::kind::statement));
  BOOST_TEST(day.from_ms == 1796428800000 - 8 * 3600 * 1000);
  BOOST_TEST(day.to_ms == 1764950400000);
  BOOST_TEST(get("/statement").status == 400u);
  BOOST_TEST(get("/statement?provider=p-nobody").status == 404u);
  BOOST_TEST(get("/statement?provider=p-ok&from=yesterday").status == 400u);
  BOOST_TEST(get("/statement?provider=p-ok&to=2026-12-05T00:00:00").status == 400u,
             "a time without a zone is ambiguous");
  BOOST_TEST(sim->handle({"POST", "/statement?provider=p-ok", "", "", ""}).status == 405u);
}

BOOST_AUTO_TEST_CASE(a_statement_lists_each_recharge_as_a_success_row_read_back_whole) {
  std::vector<ledger_record> rows{
    {"o-1/p-ok", "o-1", "p-ok", "p-ok-1", 1764892800123, 5000, "138****8000"},
    {"o-2/p-ok", "o-2", "p-ok", "p-ok-2", 1764892801000, 1000, "139****0001"}};
  std::istringstream csv{statement_csv(rows)};
  auto read = read_statement(csv);
  BOOST_TEST(read.problems.empty(), read.problems.front().message);
  BOOST_REQUIRE(read.rows.size() == 2u);
  BOOST_TEST(read.rows[0].request_id == "o-1/p-ok");
  BOOST_TEST(read.rows[0].order_id == "o-1");
  BOOST_TEST(read.rows[0].phone == "138****8000");
  BOOST_TEST(read.rows[0].amount_fen == 5000);
  BOOST_TEST(to_string(read.rows[0].status) == "success");
  BOOST_TEST(read.rows[0].provider_txn == "p-ok-1");
  BOOST_TEST(read.rows[0].at_ms == 1764892800123);
  BOOST_TEST(read.rows[1].at_ms == 1764892801000);
}

// -- the real process -------------------------------------------------------------------------

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

/// What a call over HTTP came to.
struct http_result {
  bool connection_failed = false;  ///< refused, reset or closed without an answer
  bool timed_out = false;          ///< no answer within the timeout (the connection is closed)
  unsigned status = 0;
  std::string body;

  json parsed() const { return json::parse(body); }
};

/// A keep-alive HTTP/1.1 client on one connection; each call is bounded by a timeout.
class http_client {
public:
  explicit http_client(uint16_t port) : socket_(io_) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
  }

  http_result call(http::verb method, const std::string& target, const std::string& body = {},
                   const std::vector<std::pair<std::string, std::string>>& headers = {},
                   milliseconds timeout = milliseconds(5000)) {
    http::request<http::string_body> request{method, target, 11};
    request.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers)
      request.set(name, value);
    request.body() = body;
    request.prepare_payload();
    http::response<http::string_body> response;
    http_result result;
    bool done = false;
    http::async_write(socket_, request, [&](beast::error_code error, size_t) {
      if (error) {
        result.connection_failed = done = true;
        return;
      }
      http::async_read(socket_, buffer_, response, [&](beast::error_code read_error, size_t) {
        result.connection_failed = static_cast<bool>(read_error);
        done = true;
      });
    });
    io_.restart();
    io_.run_for(timeout);
    if (!done) {
      result.timed_out = true;
      beast::error_code ignored;
      socket_.close(ignored);
      io_.restart();
      io_.run_for(milliseconds(100));  // lets the cancelled operations finish
      return result;
    }
    if (result.connection_failed)
      return result;
    result.status = response.result_int();
    result.body = response.body();
    return result;
  }

  /// A recharge or query signed with `key` at `timestamp_ms` (now when 0).
  http_result signed_call(const std::string& target, const std::string& body,
                          const std::string& key = secret, int64_t timestamp_ms = 0,
                          milliseconds timeout = milliseconds(5000)) {
    if (timestamp_ms == 0)
      timestamp_ms = system_clock{}.wall_ms();
    auto timestamp = std::to_string(timestamp_ms);
    return call(http::verb::post, target, body,
                {{std::string{http_wire::timestamp_header}, timestamp},
                 {std::string{http_wire::signature_header},
                  http_wire::sign(key, timestamp, body)}},
                timeout);
  }

private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

const char* const sim_binary = TOPUP_PROVIDER_SIM;

/// A running topup-provider-sim on 127.0.0.1, any free port, with "p-ok" (always success,
/// 1 ms) and "p-lost" (always unknown, performed half the time) and its ledger in `dir`.
class sim_process {
public:
  explicit sim_process(const testing::temp_dir& dir)
    : log_path_(dir.file("sim.log")),
      child_({sim_binary, "--config", write_config(dir), "--listen", "127.0.0.1:0", "--ledger",
              dir.file("ledger.db"), "--log-level", "debug"},
             log_path_) {
    testing::line_reader reader{child_.stdout_fd()};
    if (!reader.read_until(1, steady::now() + std::chrono::seconds(10)))
      throw std::runtime_error("topup-provider-sim printed no 'listening on' line: "
                               + testing::tail_of(log_path_));
    const std::string prefix = "listening on 127.0.0.1:";
    const auto& line = reader.lines().front();
    if (line.rfind(prefix, 0) != 0)
      throw std::runtime_error("unexpected first line: " + line);
    port_ = static_cast<uint16_t>(std::stoi(line.substr(prefix.size())));
  }

  uint16_t port() const { return port_; }

  /// SIGTERM; the exit status when it ended within 5 s.
  std::optional<int> terminate() {
    child_.send_signal(SIGTERM);
    if (!child_.wait_for_exit(steady::now() + std::chrono::seconds(5)))
      return std::nullopt;
    return child_.exit_code();
  }

  json ledger_summary(bool detail = false) {
    auto result = http_client{port_}.call(http::verb::get, detail ? "/ledger?detail=1" : "/ledger");
    BOOST_REQUIRE_MESSAGE(result.status == 200u, result.body);
    return result.parsed();
  }

  std::string log() const { return testing::tail_of(log_path_); }

private:
  static std::string write_config(const testing::temp_dir& dir) {
    auto path = dir.file("provider-sim.json");
    testing::write_json(
      path, {{"providers",
              {{{"name", "p-ok"}, {"secret", secret}, {"model", {{"latency", {{"fixed_ms", 1}}}}}},
               {{"name", "p-lost"},
                {"secret", secret},
                {"model",
                 {{"outcomes", {{"unknown", 1}}}, {"unknown_success_probability", 0.5}}}}}}});
    return path;
  }

  std::string log_path_;
  testing::child_process child_;
  uint16_t port_ = 0;
};

std::string recharge_body(const std::string& order_id, const std::string& provider = "p-ok") {
  return http_wire::recharge_request_body(call_for(order_id, provider));
}

} // namespace

BOOST_AUTO_TEST_CASE(process_recharges_once_per_request_id) {
  testing::temp_dir dir;
  sim_process sim{dir};
  http_client client{sim.port()};
  auto first = client.signed_call("/p-ok/recharge", recharge_body("o-1"));
  BOOST_REQUIRE_MESSAGE(first.status == 200u, first.body << sim.log());
  auto reply = http_wire::parse_recharge_response(first.body);
  BOOST_TEST(static_cast<int>(reply.outcome) == static_cast<int>(recharge_outcome::success));
  {
    ledger book{dir.file("ledger.db")};
    BOOST_TEST(book.find("o-1/p-ok").value_or("(none)") == reply.provider_txn);
  }
  // The same request again, on the same keep-alive connection.
  auto again = client.signed_call("/p-ok/recharge", recharge_body("o-1"));
  BOOST_REQUIRE(again.status == 200u);
  BOOST_TEST(http_wire::parse_recharge_response(again.body).provider_txn == reply.provider_txn);
  auto summary = sim.ledger_summary(true);
  BOOST_TEST(summary["total_recharges"] == 1);
  BOOST_TEST(summary["duplicates"] == 0);
  BOOST_TEST(summary["providers"]["p-ok"]["recharges"] == 1);
  BOOST_TEST(summary["providers"]["p-ok"]["deduplicated"] == 1);
  BOOST_TEST(summary["providers"]["p-ok"]["calls"] == 2);
  BOOST_TEST(summary["providers"]["p-ok"]["max_calls_in_1s_window"] == 2);
  BOOST_TEST(summary["providers"]["p-ok"]["recharges_by_request"]["o-1/p-ok"] == 1);
  BOOST_TEST(http_client{sim.port()}.call(http::verb::get, "/health").status == 200u);
  BOOST_TEST(sim.terminate().value_or(-1) == 0);
  BOOST_TEST(ledger{dir.file("ledger.db")}.count() == 1u);
}

BOOST_AUTO_TEST_CASE(process_refuses_forged_stale_and_malformed_calls) {
  testing::temp_dir dir;
  sim_process sim{dir};
  http_client client{sim.port()};
  auto forged = client.signed_call("/p-ok/recharge", recharge_body("o-1"), "not-the-secret");
  BOOST_TEST(forged.status == 401u);
  BOOST_TEST(forged.parsed()["error"] == "bad signature");
  auto stale_ms = system_clock{}.wall_ms() - http_wire::signature_max_skew.count() - 60000;
  auto stale = client.signed_call("/p-ok/recharge", recharge_body("o-1"), secret, stale_ms);
  BOOST_TEST(stale.status == 401u);
  BOOST_TEST(stale.parsed().contains("error"));
  auto unsigned_call = client.call(http::verb::post, "/p-ok/recharge", recharge_body("o-1"));
  BOOST_TEST(unsigned_call.status == 401u);
  auto malformed = client.signed_call("/p-ok/recharge", R"({"request_id": "o-1/p-ok"})");
  BOOST_TEST(malformed.status == 400u);
  BOOST_TEST(malformed.parsed().contains("error"));
  auto nobody = client.signed_call("/p-nobody/recharge", recharge_body("o-1"));
  BOOST_TEST(nobody.status == 404u);
  auto status = client.signed_call("/p-ok/query", http_wire::query_request_body({"o-1/p-ok"}));
  BOOST_REQUIRE(status.status == 200u);
  BOOST_TEST(static_cast<int>(http_wire::parse_query_response(status.body).outcome)
             == static_cast<int>(query_outcome::not_recharged));
  BOOST_TEST(sim.ledger_summary()["total_recharges"] == 0);
  BOOST_TEST(sim.ledger_summary()["providers"]["p-ok"]["refused_auth"] == 3);
  BOOST_TEST(ledger{dir.file("ledger.db")}.count() == 0u);
}

BOOST_AUTO_TEST_CASE(process_holds_unknown_outcomes_and_queries_tell_the_truth) {
  testing::temp_dir dir;
  sim_process sim{dir};
  const int calls = 4;
  for (int i = 0; i < calls; ++i) {
    // A fresh connection each: a client that timed out cannot reuse its connection.
    auto held = http_client{sim.port()}.signed_call("/p-lost/recharge",
                                                    recharge_body("o-" + std::to_string(i),
                                                                  "p-lost"),
                                                    secret, 0, milliseconds(300));
    BOOST_TEST(held.timed_out);
  }
  http_client client{sim.port()};
  ledger book{dir.file("ledger.db")};
  int recharged = 0;
  for (int i = 0; i < calls; ++i) {
    auto request_id = call_for("o-" + std::to_string(i), "p-lost").request_id;
    auto answer = client.signed_call("/p-lost/query", http_wire::query_request_body({request_id}));
    BOOST_REQUIRE(answer.status == 200u);
    auto status = http_wire::parse_query_response(answer.body);
    auto row = book.find(request_id);
    BOOST_TEST((status.outcome == query_outcome::recharged) == row.has_value(), request_id);
    if (row) {
      BOOST_TEST(status.provider_txn == *row);
      ++recharged;
    }
  }
  auto summary = sim.ledger_summary();
  BOOST_TEST(summary["providers"]["p-lost"]["unanswered"] == calls);
  BOOST_TEST(summary["providers"]["p-lost"]["unknown_performed"] == recharged);
  BOOST_TEST(summary["total_recharges"] == recharged);
}

BOOST_AUTO_TEST_CASE(process_outage_resets_the_connection_until_switched_back) {
  testing::temp_dir dir;
  sim_process sim{dir};
  auto switch_down = [&](bool down) {
    return http_client{sim.port()}
      .call(http::verb::post, "/admin/outage", json{{"provider", "p-ok"}, {"down", down}}.dump())
      .status;
  };
  BOOST_REQUIRE(switch_down(true) == 200u);
  auto refused = http_client{sim.port()}.signed_call("/p-ok/recharge", recharge_body("o-1"));
  BOOST_TEST(refused.connection_failed);
  BOOST_TEST(!refused.timed_out);
  BOOST_TEST(refused.status == 0u);
  auto refused_query =
    http_client{sim.port()}.signed_call("/p-ok/query", http_wire::query_request_body({"o-1/p-ok"}));
  BOOST_TEST(refused_query.connection_failed);
  BOOST_REQUIRE(switch_down(false) == 200u);
  auto served = http_client{sim.port()}.signed_call("/p-ok/recharge", recharge_body("o-1"));
  BOOST_REQUIRE(served.status == 200u);
  BOOST_TEST(static_cast<int>(http_wire::parse_recharge_response(served.body).outcome)
             == static_cast<int>(recharge_outcome::success));
  auto summary = sim.ledger_summary();
  BOOST_TEST(summary["providers"]["p-ok"]["refused_outage"] == 2);
  BOOST_TEST(summary["total_recharges"] == 1);
}

BOOST_AUTO_TEST_CASE(process_restarted_on_its_ledger_still_deduplicates) {
  testing::temp_dir dir;
  std::string txn;
  {
    sim_process sim{dir};
    auto first = http_client{sim.port()}.signed_call("/p-ok/recharge", recharge_body("o-1"));
    BOOST_REQUIRE(first.status == 200u);
    txn = http_wire::parse_recharge_response(first.body).provider_txn;
    BOOST_REQUIRE(sim.terminate().value_or(-1) == 0);
  }
  sim_process restarted{dir};
  http_client client{restarted.port()};
  auto again = client.signed_call("/p-ok/recharge", recharge_body("o-1"));
  BOOST_REQUIRE(again.status == 200u);
  BOOST_TEST(http_wire::parse_recharge_response(again.body).provider_txn == txn);
  auto other = client.signed_call("/p-ok/recharge", recharge_body("o-2"));
  BOOST_REQUIRE(other.status == 200u);
  BOOST_TEST(http_wire::parse_recharge_response(other.body).provider_txn != txn);
  auto summary = restarted.ledger_summary();
  BOOST_TEST(summary["total_recharges"] == 2);
  BOOST_TEST(summary["providers"]["p-ok"]["deduplicated"] == 1);
  BOOST_TEST(summary["duplicates"] == 0);
}

BOOST_AUTO_TEST_CASE(process_that_lost_a_ledger_commit_does_not_exit_0) {
  testing::temp_dir dir;
  sim_process sim{dir};
  {
    // Another writer holds the ledger longer than the simulator's busy timeout (5 s).
    soci::session holder{soci::sqlite3, "db=" + dir.file("ledger.db") + " timeout=1"};
    holder << "BEGIN IMMEDIATE";
    http_client{sim.port()}.signed_call("/p-ok/recharge", recharge_body("o-1"), secret, 0,
                                        milliseconds(15000));
    holder << "ROLLBACK";
  }
  BOOST_TEST(sim.log().find("lost a ledger commit") != std::string::npos, sim.log());
  BOOST_TEST(sim.terminate().value_or(-1) == 1, sim.log());
}

BOOST_AUTO_TEST_CASE(process_refuses_a_bad_configuration_naming_the_field) {
  testing::temp_dir dir;
  auto path = dir.file("bad.json");
  testing::write_json(path, {{"providers", {{{"name", "p-a"}, {"secret", "k"}, {"sedd", 1}}}}});
  testing::child_process child({sim_binary, "--config", path}, dir.file("bad.log"));
  BOOST_REQUIRE(child.wait_for_exit(steady::now() + std::chrono::seconds(10)));
  BOOST_TEST(child.exit_code().value_or(-1) == 2);
  BOOST_TEST(testing::tail_of(dir.file("bad.log")).find("/providers/0/sedd") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(process_exports_the_statement_of_a_provider_and_period) {
  testing::temp_dir dir;
  sim_process sim{dir};
  http_client client{sim.port()};
  auto before = system_clock{}.wall_ms();
  for (const auto* id : {"o-1", "o-2"}) {
    auto done = client.signed_call("/p-ok/recharge", recharge_body(id));
    BOOST_REQUIRE_MESSAGE(done.status == 200u, done.body << sim.log());
  }
  auto after = system_clock{}.wall_ms() + 1;
  auto statement_of = [&](const std::string& query) {
    auto answer = client.call(http::verb::get, "/statement?" + query);
    BOOST_REQUIRE_MESSAGE(answer.status == 200u, answer.body);
    std::istringstream csv{answer.body};
    auto read = read_statement(csv);
    BOOST_TEST(read.problems.empty(), answer.body);
    return read.rows;
  };
  auto rows = statement_of("provider=p-ok&from=" + std::to_string(before) + "&to="
                           + std::to_string(after));
  BOOST_REQUIRE(rows.size() == 2u);
  BOOST_TEST(rows[0].order_id == "o-1");
  BOOST_TEST(rows[0].amount_fen == 5000);
  BOOST_TEST(rows[0].phone == "138****8000", "masked, never the whole number");
  BOOST_TEST(rows[1].order_id == "o-2");
  BOOST_TEST(statement_of("provider=p-ok&to=" + std::to_string(before)).empty());
  BOOST_TEST(statement_of("provider=p-lost").empty());
  BOOST_TEST(client.call(http::verb::get, "/statement?provider=p-nobody").status == 404u);
  BOOST_TEST(sim.terminate().value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(a_ledger_from_before_statements_gains_amount_and_phone_and_keeps_its_rows) {
  testing::temp_dir dir;
  auto path = dir.file("old-ledger.db");
  {
    soci::session old{soci::sqlite3, "db=" + path};
    old << "CREATE TABLE recharges (request_id TEXT NOT NULL, order_id TEXT NOT NULL,"
           " provider TEXT NOT NULL, provider_txn TEXT NOT NULL, at_ms BIGINT NOT NULL)";
    old << "INSERT INTO recharges VALUES ('o-1/p-ok', 'o-1', 'p-ok', 'p-ok-1', 5)";
  }
  ledger book{path};
  book.record({{"o-2/p-ok", "o-2", "p-ok", "p-ok-2", 6, 1000, "138****8000"}});
  auto rows = book.records_of("p-ok", 0, 10);
  BOOST_REQUIRE(rows.size() == 2u);
  BOOST_TEST(rows[0].provider_txn == "p-ok-1");
  BOOST_TEST(rows[0].amount_fen == 0, "unknown in an old row: not compared");
  BOOST_TEST(rows[0].phone.empty());
  BOOST_TEST(rows[1].amount_fen == 1000);
  BOOST_TEST(rows[1].phone == "138****8000");
  BOOST_TEST(book.records_of("p-ok", 6, 10).size() == 1u);
  BOOST_TEST(book.records_of("p-other", 0, 10).empty());
}
