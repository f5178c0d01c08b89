#define BOOST_TEST_MODULE provider_tests
#include <boost/test/unit_test.hpp>

#include "messages/errors.hpp"
#include "providers/ledger.hpp"
#include "providers/outcome_model.hpp"
#include "providers/simulated_provider.hpp"
#include "tests/test_support.hpp"

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <thread>
#include <tuple>

using namespace topup;
using namespace topup::testing;
using namespace std::chrono_literals;

namespace {

simulated_adapter_config fixed_latency(double ms) {
  simulated_adapter_config cfg;
  cfg.latency.distribution = latency_config::distribution_kind::fixed;
  cfg.latency.fixed_ms = ms;
  return cfg;
}

simulated_adapter_config with_shares(double success, double transient, double permanent,
                                     double unknown) {
  auto cfg = fixed_latency(1);
  cfg.outcomes = {success, transient, permanent, unknown};
  return cfg;
}

double share(uint64_t part, uint64_t whole) {
  return static_cast<double>(part) / static_cast<double>(whole);
}

double as_ms(nanoseconds latency) {
  return std::chrono::duration<double, std::milli>(latency).count();
}

/// The value at quantile q of sorted samples.
double quantile(const std::vector<double>& sorted, double q) {
  return sorted[static_cast<size_t>(q * static_cast<double>(sorted.size() - 1))];
}

ledger_record sample_record(const std::string& request_id, const std::string& order_id,
                            const std::string& provider = "p-cmcc") {
  return {request_id, order_id, provider, provider + "-" + request_id, 1'700'000'000'000};
}

const mono_time start{};

} // namespace

BOOST_AUTO_TEST_SUITE(outcome_model_tests)

BOOST_AUTO_TEST_CASE(outcomes_follow_the_configured_shares) {
  auto cfg = with_shares(0.6, 0.2, 0.1, 0.1);
  cfg.unknown_success_probability = 0.5;
  outcome_model model{cfg, 42};
  constexpr uint64_t draws = 100000;
  std::map<simulated_outcome, uint64_t> seen;
  uint64_t unknown_performed = 0;
  for (uint64_t i = 0; i < draws; ++i) {
    auto decision = model.decide_recharge(start, start);
    BOOST_REQUIRE(!decision.outage);
    seen[decision.outcome]++;
    switch (decision.outcome) {
      case simulated_outcome::success:
        BOOST_REQUIRE(decision.performed);
        break;
      case simulated_outcome::transient_failure:
      case simulated_outcome::permanent_failure:
      case simulated_outcome::wrong_carrier:
        BOOST_REQUIRE(!decision.performed);
        break;
      case simulated_outcome::unknown:
        unknown_performed += decision.performed ? 1 : 0;
        break;
    }
  }
  BOOST_TEST(share(seen[simulated_outcome::success], draws) == 0.6, boost::test_tools::tolerance(0.02));
  BOOST_TEST(share(seen[simulated_outcome::transient_failure], draws) == 0.2,
             boost::test_tools::tolerance(0.03));
  BOOST_TEST(share(seen[simulated_outcome::permanent_failure], draws) == 0.1,
             boost::test_tools::tolerance(0.05));
  BOOST_TEST(share(seen[simulated_outcome::unknown], draws) == 0.1,
             boost::test_tools::tolerance(0.05));
  BOOST_TEST(share(unknown_performed, seen[simulated_outcome::unknown]) == 0.5,
             boost::test_tools::tolerance(0.04));
}

BOOST_AUTO_TEST_CASE(a_share_of_one_decides_every_call) {
  for (auto [shares, expected] :
       {std::pair{with_shares(1, 0, 0, 0), simulated_outcome::success},
        std::pair{with_shares(0, 1, 0, 0), simulated_outcome::transient_failure},
        std::pair{with_shares(0, 0, 1, 0), simulated_outcome::permanent_failure},
        std::pair{with_shares(0, 0, 0, 1), simulated_outcome::unknown}}) {
    outcome_model model{shares};
    for (int i = 0; i < 1000; ++i)
      BOOST_REQUIRE((model.decide_recharge(start, start).outcome == expected));
  }
}

BOOST_AUTO_TEST_CASE(unknown_success_probability_zero_and_one_are_exact) {
  for (double probability : {0.0, 1.0}) {
    auto cfg = with_shares(0, 0, 0, 1);
    cfg.unknown_success_probability = probability;
    outcome_model model{cfg};
    for (int i = 0; i < 1000; ++i)
      BOOST_REQUIRE(model.decide_recharge(start, start).performed == (probability == 1.0));
  }
}

BOOST_AUTO_TEST_CASE(lognormal_latency_has_the_configured_median_and_p99) {
  simulated_adapter_config cfg;
  cfg.latency.distribution = latency_config::distribution_kind::lognormal;
  cfg.latency.median_ms = 50;
  cfg.latency.p99_ms = 500;
  outcome_model model{cfg, 7};
  std::vector<double> samples;
  constexpr size_t draws = 200000;
  samples.reserve(draws);
  for (size_t i = 0; i < draws; ++i)
    samples.push_back(as_ms(model.draw_latency()));
  std::sort(samples.begin(), samples.end());
  BOOST_TEST(samples.front() > 0);
  BOOST_TEST(quantile(samples, 0.5) == 50.0, boost::test_tools::tolerance(0.03));
  BOOST_TEST(quantile(samples, 0.99) == 500.0, boost::test_tools::tolerance(0.03));
}

BOOST_AUTO_TEST_CASE(calls_and_queries_share_the_lognormal_latency) {
  simulated_adapter_config cfg;
  cfg.latency.distribution = latency_config::distribution_kind::lognormal;
  cfg.latency.median_ms = 20;
  cfg.latency.p99_ms = 80;
  outcome_model model{cfg, 11};
  std::vector<double> calls, queries;
  for (int i = 0; i < 50000; ++i) {
    calls.push_back(as_ms(model.decide_recharge(start, start).latency));
    queries.push_back(as_ms(model.decide_query(start, start).latency));
  }
  std::sort(calls.begin(), calls.end());
  std::sort(queries.begin(), queries.end());
  BOOST_TEST(quantile(calls, 0.5) == 20.0, boost::test_tools::tolerance(0.05));
  BOOST_TEST(quantile(queries, 0.5) == 20.0, boost::test_tools::tolerance(0.05));
  BOOST_TEST(quantile(queries, 0.99) == 80.0, boost::test_tools::tolerance(0.05));
}

BOOST_AUTO_TEST_CASE(fixed_latency_is_exact) {
  for (auto [ms, expected] : {std::pair{3.0, nanoseconds{3ms}},
                              std::pair{0.5, nanoseconds{500us}},
                              std::pair{0.0, nanoseconds{0}}}) {
    outcome_model model{fixed_latency(ms)};
    for (int i = 0; i < 100; ++i) {
      BOOST_REQUIRE(model.draw_latency() == expected);
      BOOST_REQUIRE(model.decide_recharge(start, start).latency == expected);
      BOOST_REQUIRE(model.decide_query(start, start).latency == expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(outage_windows_are_half_open_from_the_provider_start) {
  auto cfg = fixed_latency(1);
  cfg.outages = {{10, 40}, {50.5, 51}};
  outcome_model model{cfg};
  auto started = start + 1h;  // windows count from the provider's start, not the clock's zero
  auto at = [&](nanoseconds after_start) { return started + after_start; };
  auto down = [&](nanoseconds after_start) { return model.in_outage(at(after_start), started); };
  BOOST_TEST(!down(0s));
  BOOST_TEST(!down(10s - 1ns));
  BOOST_TEST(down(10s));
  BOOST_TEST(down(25s));
  BOOST_TEST(down(40s - 1ns));
  BOOST_TEST(!down(40s));
  BOOST_TEST(!down(50500ms - 1ns));
  BOOST_TEST(down(50500ms));
  BOOST_TEST(!down(51s));
  BOOST_TEST(!model.in_outage(start + 20s, started));  // before the provider started

  auto refused = model.decide_recharge(at(10s), started);
  BOOST_TEST(refused.outage);
  BOOST_TEST(!refused.performed);
  BOOST_TEST(model.decide_query(at(39s), started).outage);
  BOOST_TEST(!model.decide_recharge(at(40s), started).outage);
  BOOST_TEST(!model.decide_query(at(9s), started).outage);
}

BOOST_AUTO_TEST_CASE(configured_numbers_are_answered_wrong_carrier_and_never_recharged) {
  auto cfg = with_shares(1, 0, 0, 0);
  cfg.wrong_carrier = {"1380013", "13912345678"};
  outcome_model model{cfg, 3};
  for (auto phone : {"13800138000", "13800139999", "13912345678"}) {
    BOOST_TEST(model.answers_wrong_carrier(phone), phone);
    auto decision = model.decide_recharge(start, start, phone);
    BOOST_TEST((decision.outcome == simulated_outcome::wrong_carrier), phone);
    BOOST_TEST(!decision.performed, phone);
  }
  for (auto phone : {"13800140000", "13912345679", "1380"}) {
    BOOST_TEST(!model.answers_wrong_carrier(phone), phone);
    BOOST_TEST((model.decide_recharge(start, start, phone).outcome == simulated_outcome::success),
               phone);
  }
  // An outage refuses before anything else.
  cfg.outages = {{0, 60}};
  outcome_model down{cfg, 3};
  BOOST_TEST(down.decide_recharge(start, start, "13800138000").outage);
}

BOOST_AUTO_TEST_CASE(the_same_seed_gives_the_same_sequence) {
  auto cfg = with_shares(0.5, 0.2, 0.1, 0.2);
  cfg.latency.distribution = latency_config::distribution_kind::lognormal;
  auto run = [&](uint64_t seed) {
    outcome_model model{cfg, seed};
    std::vector<std::tuple<simulated_outcome, bool, int64_t>> sequence;
    for (int i = 0; i < 1000; ++i) {
      auto d = model.decide_recharge(start, start);
      sequence.emplace_back(d.outcome, d.performed, d.latency.count());
      sequence.emplace_back(simulated_outcome::success, false,
                            model.decide_query(start, start).latency.count());
    }
    return sequence;
  };
  BOOST_TEST((run(5) == run(5)));
  BOOST_TEST((run(5) != run(6)));
  cfg.seed = 5;
  outcome_model from_config{cfg};
  outcome_model explicit_seed{cfg, 5};
  for (int i = 0; i < 100; ++i)
    BOOST_REQUIRE(from_config.draw_latency() == explicit_seed.draw_latency());
}

BOOST_AUTO_TEST_CASE(an_impossible_configuration_is_refused) {
  BOOST_CHECK_THROW(outcome_model{with_shares(0, 0, 0, 0)}, std::invalid_argument);
  BOOST_CHECK_THROW(outcome_model{with_shares(1, -0.5, 0, 0)}, std::invalid_argument);
  auto lognormal = fixed_latency(1);
  lognormal.latency.distribution = latency_config::distribution_kind::lognormal;
  lognormal.latency.median_ms = 50;
  lognormal.latency.p99_ms = 50;
  BOOST_CHECK_THROW(outcome_model{lognormal}, std::invalid_argument);
  auto backwards = fixed_latency(1);
  backwards.outages = {{40, 10}};
  BOOST_CHECK_THROW(outcome_model{backwards}, std::invalid_argument);
  BOOST_CHECK_THROW(outcome_model{fixed_latency(-1)}, std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ledger_tests)

BOOST_AUTO_TEST_CASE(records_survive_reopening_and_are_found_by_request_id) {
  temp_dir dir;
  auto path = dir.file("p-cmcc.ledger");
  {
    ledger book{path};
    book.record({sample_record("r-1", "o-1"), sample_record("r-2", "o-2")});
    BOOST_TEST(book.count() == 2u);
  }
  ledger reopened{path};
  BOOST_TEST(reopened.count() == 2u);
  BOOST_TEST(reopened.find("r-1").value_or("") == "p-cmcc-r-1");
  BOOST_TEST(reopened.find("r-2").value_or("") == "p-cmcc-r-2");
  BOOST_TEST(!reopened.find("r-3"));
  BOOST_TEST(reopened.duplicates() == 0u);
}

// Rows record the calling node and its lease's epoch; a file written before they did gains
// the columns in place and keeps its rows, as written by nobody in particular.
BOOST_AUTO_TEST_CASE(rows_record_their_caller_and_an_older_file_is_upgraded_in_place) {
  temp_dir dir;
  auto path = dir.file("p-cmcc.ledger");
  {
    soci::session old{soci::sqlite3, "db=" + path};
    old << "CREATE TABLE recharges (request_id TEXT NOT NULL, order_id TEXT NOT NULL,"
           " provider TEXT NOT NULL, provider_txn TEXT NOT NULL, at_ms BIGINT NOT NULL)";
    old << "INSERT INTO recharges VALUES ('r-0', 'o-0', 'p-cmcc', 'p-cmcc-0', 1)";
  }
  {
    ledger book{path};
    auto called = sample_record("r-1", "o-1");
    called.node = "node-2";
    called.epoch = 7;
    book.record({called});
  }
  auto rows = ledger{path}.records();
  BOOST_REQUIRE_EQUAL(rows.size(), 2u);
  BOOST_TEST(rows[0].request_id == "r-0");
  BOOST_TEST(rows[0].node.empty());
  BOOST_TEST(rows[0].epoch == 0);
  BOOST_TEST(rows[1].node == "node-2");
  BOOST_TEST(rows[1].epoch == 7);
  BOOST_TEST(ledger{path}.find("r-0").value_or("") == "p-cmcc-0");
}

BOOST_AUTO_TEST_CASE(a_second_recharge_of_an_order_is_kept_as_a_duplicate) {
  ledger book{""};
  book.record({sample_record("r-1", "o-1"), sample_record("r-1", "o-1"),
               sample_record("r-2", "o-2")});
  book.record({sample_record("r-3", "o-2"), sample_record("r-4", "o-3")});
  BOOST_TEST(book.count() == 5u);
  BOOST_TEST(book.duplicates() == 2u);  // o-1 (same request twice) and o-2 (two requests)
  auto counts = book.recharges_per_order();
  BOOST_TEST(counts["o-1"] == 2u);
  BOOST_TEST(counts["o-2"] == 2u);
  BOOST_TEST(counts["o-3"] == 1u);
  BOOST_TEST(count_duplicates(counts) == 2u);
  BOOST_TEST(book.find("r-1").value_or("") == "p-cmcc-r-1");
}

BOOST_AUTO_TEST_CASE(an_empty_path_keeps_the_ledger_in_memory_only) {
  temp_dir dir;
  {
    ledger book{""};
    BOOST_TEST(book.target() == "sqlite::memory:");
    book.record({sample_record("r-1", "o-1")});
    BOOST_TEST(book.count() == 1u);
  }
  ledger fresh{""};
  BOOST_TEST(fresh.count() == 0u);
  BOOST_TEST(std::filesystem::is_empty(dir.path()));
}

BOOST_AUTO_TEST_CASE(the_file_is_in_wal_mode) {
  temp_dir dir;
  auto path = dir.file("p.ledger");
  { ledger book{path}; }
  soci::session session{soci::sqlite3, "db=" + path};
  std::string journal;
  session << "PRAGMA journal_mode", soci::into(journal);
  BOOST_TEST(journal == "wal");
}

BOOST_AUTO_TEST_CASE(an_order_recharged_on_two_providers_is_a_duplicate_across_files) {
  temp_dir dir;
  auto cmcc = dir.file("p-cmcc.ledger");
  auto agg = dir.file("p-agg.ledger");
  ledger{cmcc}.record({sample_record("o-1/p-cmcc", "o-1"), sample_record("o-2/p-cmcc", "o-2")});
  ledger{agg}.record({sample_record("o-1/p-agg", "o-1", "p-agg"),
                      sample_record("o-3/p-agg", "o-3", "p-agg")});
  BOOST_TEST(ledger{cmcc}.duplicates() == 0u);
  BOOST_TEST(ledger{agg}.duplicates() == 0u);
  auto counts = ledger::recharges_per_order({cmcc, agg});
  BOOST_TEST(counts.size() == 3u);
  BOOST_TEST(counts["o-1"] == 2u);
  BOOST_TEST(counts["o-2"] == 1u);
  BOOST_TEST(count_duplicates(counts) == 1u);
}

BOOST_AUTO_TEST_CASE(a_missing_ledger_file_is_an_error_not_an_empty_ledger) {
  temp_dir dir;
  auto present = dir.file("p-cmcc.ledger");
  { ledger book{present}; }
  BOOST_CHECK_THROW(ledger::recharges_per_order({present, dir.file("p-cmc.ledger")}),
                    ledger_error);
  BOOST_CHECK_THROW(ledger::recharges_per_order({""}), ledger_error);
  BOOST_CHECK_THROW(ledger{dir.file("missing-dir/p.ledger")}, ledger_error);
}

BOOST_AUTO_TEST_CASE(a_failed_write_names_no_bound_value) {
  temp_dir dir;
  auto path = dir.file("p.ledger");
  ledger book{path};
  book.record({sample_record("r-1", "o-1")});
  {
    // Another connection breaks the table under the ledger's feet.
    soci::session other{soci::sqlite3, "db=" + path + " timeout=5"};
    other << "ALTER TABLE recharges RENAME TO broken";
  }
  try {
    book.record({sample_record("secret-request-7", "secret-order-7")});
    BOOST_FAIL("expected a ledger_error");
  } catch (const ledger_error& error) {
    std::string text = error.what();
    BOOST_TEST(text.find("secret") == std::string::npos, text);
    BOOST_TEST(text.find("INSERT") == std::string::npos, text);
    BOOST_TEST(text.find("sqlite error") != std::string::npos, text);
  }
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

/// A simulated provider on the real clock, and the scoped actor that calls it.
struct provider_fixture : actor_fixture {
  temp_dir dir;
  std::shared_ptr<const topup::clock> time = std::make_shared<system_clock>();
  std::vector<provider_actor> spawned;

  ~provider_fixture() {
    for (auto& provider : spawned)
      stop(provider);
  }

  simulated_adapter_config config(simulated_adapter_config cfg,
                                  const std::string& ledger = "p-test.ledger") {
    cfg.ledger_path = dir.file(ledger);
    return cfg;
  }

  /// The callers' call timeout: a call with an unknown outcome fails at twice that.
  static constexpr milliseconds call_timeout{200};

  provider_actor spawn(const simulated_adapter_config& cfg, const std::string& name = "p-test") {
    auto provider = spawn_simulated_provider(system, name, cfg, call_timeout, time);
    spawned.push_back(provider);
    return provider;
  }

  void stop(const provider_actor& provider) {
    self->send_exit(provider, caf::exit_reason::user_shutdown);
    self->wait_for(provider);
  }

  static recharge_call call_for(const std::string& order_id, const std::string& provider = "p-test",
                                uint64_t n = 1) {
    return {order_id + "/" + provider, order_id, valid_request(order_id, n).phone, 1000};
  }

  caf::expected<recharge_reply> recharge(const provider_actor& provider, const recharge_call& call,
                                         milliseconds timeout = 5s) {
    caf::expected<recharge_reply> result{caf::sec::unexpected_response};
    self->request(provider, timeout, recharge_atom::value, call)
      .receive([&](recharge_reply& reply) { result = std::move(reply); },
               [&](caf::error& e) { result = std::move(e); });
    return result;
  }

  query_reply query(const provider_actor& provider, const std::string& request_id) {
    query_reply result{query_outcome::query_failed, "", "no answer within 5 s"};
    self->request(provider, 5s, query_atom::value, status_query{request_id})
      .receive([&](query_reply& reply) { result = std::move(reply); },
               [&](caf::error& e) { result.detail = describe(e); });
    return result;
  }

  /// Sends `count` calls at once (so that they meet in the provider's mailbox) and collects
  /// the answers, waiting 5 s at most for each.
  std::vector<recharge_reply> recharge_many(const provider_actor& provider, int count) {
    for (int i = 0; i < count; ++i)
      self->send(provider, recharge_atom::value, call_for("o-" + std::to_string(i)));
    std::vector<recharge_reply> replies;
    bool waiting = true;
    while (waiting && replies.size() < static_cast<size_t>(count))
      self->receive([&](recharge_reply& reply) { replies.push_back(std::move(reply)); },
                    caf::after(5s) >> [&] { waiting = false; });
    return replies;
  }

  uint64_t ledger_rows(const std::string& name = "p-test.ledger") {
    return ledger{dir.file(name)}.count();
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(simulated_provider_tests, provider_fixture)

BOOST_AUTO_TEST_CASE(every_successful_call_is_answered_and_recharged_once) {
  auto provider = spawn(config(with_shares(1, 0, 0, 0)));
  constexpr int calls = 300;
  auto replies = recharge_many(provider, calls);
  BOOST_REQUIRE_EQUAL(replies.size(), static_cast<size_t>(calls));
  std::set<std::string> txns;
  for (const auto& reply : replies) {
    BOOST_REQUIRE((reply.outcome == recharge_outcome::success));
    BOOST_REQUIRE(reply.provider_txn.rfind("p-test-", 0) == 0);
    txns.insert(reply.provider_txn);
  }
  BOOST_TEST(txns.size() == static_cast<size_t>(calls));
  BOOST_TEST(ledger_rows() == static_cast<uint64_t>(calls));
  BOOST_TEST(ledger{dir.file("p-test.ledger")}.duplicates() == 0u);
}

// The in-process provider plays the adapter's part of the fence: a call or query made under
// a lease whose validity passed before it was taken (it waited in the mailbox of a node
// paused meanwhile) is not taken at all. A call in time is recorded with its caller.
BOOST_AUTO_TEST_CASE(a_call_whose_lease_lapsed_on_the_way_is_not_taken) {
  auto provider = spawn(config(with_shares(1, 0, 0, 0)));
  auto lapsed = call_for("o-1");
  lapsed.origin = {"node-1", 4, time->now() - 1ms};
  auto refused = recharge(provider, lapsed);
  BOOST_REQUIRE(!refused);
  auto failure = as_failure(refused.error());
  BOOST_TEST((failure && failure->code == errc::stale_owner), describe(refused.error()));
  caf::expected<query_reply> query_refused{caf::sec::unexpected_response};
  self->request(provider, 5s, query_atom::value, status_query{lapsed.request_id, lapsed.origin})
    .receive([&](query_reply& reply) { query_refused = std::move(reply); },
             [&](caf::error& e) { query_refused = std::move(e); });
  BOOST_REQUIRE(!query_refused);
  failure = as_failure(query_refused.error());
  BOOST_TEST((failure && failure->code == errc::stale_owner));

  auto in_time = call_for("o-2");
  in_time.origin = {"node-1", 4, time->now() + 60s};
  auto done = recharge(provider, in_time);
  BOOST_REQUIRE(done);
  BOOST_TEST((done->outcome == recharge_outcome::success));
  stop(provider);
  spawned.clear();
  auto rows = ledger{dir.file("p-test.ledger")}.records();
  BOOST_REQUIRE_EQUAL(rows.size(), 1u);
  BOOST_TEST(rows[0].order_id == "o-2");
  BOOST_TEST(rows[0].node == "node-1");
  BOOST_TEST(rows[0].epoch == 4);
}

BOOST_AUTO_TEST_CASE(a_success_is_answered_only_after_its_row_is_durable) {
  // Zero latency makes the answer race the commit as closely as it can.
  auto provider = spawn(config(fixed_latency(0)));
  // The provider opens (and creates) its file before it handles a message; opening a second
  // connection while it switches the new file to WAL could meet a locked database.
  BOOST_REQUIRE((query(provider, "none").outcome == query_outcome::not_recharged));
  ledger reader{dir.file("p-test.ledger")};
  for (int i = 0; i < 50; ++i) {
    auto call = call_for("o-" + std::to_string(i));
    auto reply = recharge(provider, call);
    BOOST_REQUIRE_MESSAGE(reply, error_text(reply));
    BOOST_REQUIRE(reader.find(call.request_id).value_or("") == reply->provider_txn);
  }
}

BOOST_AUTO_TEST_CASE(the_answer_waits_for_the_drawn_latency) {
  auto provider = spawn(config(fixed_latency(60)));
  auto sent = std::chrono::steady_clock::now();
  auto reply = recharge(provider, call_for("o-1"));
  auto took = std::chrono::steady_clock::now() - sent;
  BOOST_REQUIRE_MESSAGE(reply, error_text(reply));
  BOOST_TEST((took >= 60ms));
  BOOST_TEST((took < 2s));
  sent = std::chrono::steady_clock::now();
  BOOST_TEST((query(provider, "o-1/p-test").outcome == query_outcome::recharged));
  BOOST_TEST((std::chrono::steady_clock::now() - sent >= 60ms));
}

BOOST_AUTO_TEST_CASE(permanent_and_transient_failures_recharge_nothing) {
  for (auto [shares, expected] :
       {std::pair{with_shares(0, 0, 1, 0), recharge_outcome::permanent_failure},
        std::pair{with_shares(0, 1, 0, 0), recharge_outcome::transient_failure}}) {
    temp_dir files;
    shares.ledger_path = files.file("p.ledger");
    auto provider = spawn(shares);
    auto replies = recharge_many(provider, 50);
    BOOST_REQUIRE_EQUAL(replies.size(), 50u);
    for (const auto& reply : replies) {
      BOOST_REQUIRE((reply.outcome == expected));
      BOOST_REQUIRE(reply.provider_txn.empty());
    }
    BOOST_TEST((query(provider, "o-1/p-test").outcome == query_outcome::not_recharged));
    stop(provider);
    BOOST_TEST(ledger{shares.ledger_path}.count() == 0u);
  }
}

BOOST_AUTO_TEST_CASE(a_performed_unknown_outcome_is_not_answered_in_time_but_is_in_the_ledger) {
  auto cfg = config(with_shares(0, 0, 0, 1));
  cfg.unknown_success_probability = 1.0;
  auto provider = spawn(cfg);
  auto call = call_for("o-1");
  auto reply = recharge(provider, call, call_timeout);
  BOOST_REQUIRE(!reply);
  BOOST_TEST((reply.error() == caf::sec::request_timeout), error_text(reply));
  auto answer = query(provider, call.request_id);
  BOOST_TEST((answer.outcome == query_outcome::recharged), answer.detail);
  BOOST_TEST(answer.provider_txn == "p-test-1");
  BOOST_TEST(ledger{cfg.ledger_path}.find(call.request_id).value_or("") == "p-test-1");
  BOOST_TEST(ledger_rows() == 1u);
}

BOOST_AUTO_TEST_CASE(an_unknown_outcome_not_performed_is_not_recharged) {
  auto cfg = config(with_shares(0, 0, 0, 1));
  cfg.unknown_success_probability = 0.0;
  auto provider = spawn(cfg);
  auto call = call_for("o-1");
  auto reply = recharge(provider, call, call_timeout);
  BOOST_REQUIRE(!reply);
  BOOST_TEST((reply.error() == caf::sec::request_timeout), error_text(reply));
  BOOST_TEST((query(provider, call.request_id).outcome == query_outcome::not_recharged));
  BOOST_TEST(ledger_rows() == 0u);
}

// A caller that waits on (the lane gives up at the call timeout but CAF still holds its
// response handler) hears an error at twice the call timeout: nothing waits forever.
BOOST_AUTO_TEST_CASE(a_call_with_an_unknown_outcome_fails_at_twice_the_call_timeout) {
  auto cfg = config(with_shares(0, 0, 0, 1));
  cfg.unknown_success_probability = 1.0;
  auto provider = spawn(cfg);
  auto sent = std::chrono::steady_clock::now();
  auto reply = recharge(provider, call_for("o-1"), 5s);
  auto waited = std::chrono::steady_clock::now() - sent;
  BOOST_REQUIRE(!reply);
  auto failure = as_failure(reply.error());
  BOOST_TEST((failure && failure->code == errc::outcome_unknown), error_text(reply));
  BOOST_TEST((waited >= 2 * call_timeout), "answered after "
             << std::chrono::duration_cast<milliseconds>(waited).count() << " ms");
  BOOST_TEST((waited < 2 * call_timeout + 2s));
  BOOST_TEST(ledger_rows() == 1u);
}

BOOST_AUTO_TEST_CASE(during_an_outage_every_call_fails_at_once) {
  auto cfg = config(fixed_latency(1000));  // an answer after the latency would be too slow
  cfg.outages = {{0, 3600}};
  auto provider = spawn(cfg);
  auto sent = std::chrono::steady_clock::now();
  auto reply = recharge(provider, call_for("o-1"));
  BOOST_REQUIRE_MESSAGE(reply, error_text(reply));
  BOOST_TEST((reply->outcome == recharge_outcome::transient_failure));
  BOOST_TEST(reply->detail == "connection refused (outage)");
  auto answer = query(provider, "o-1/p-test");
  BOOST_TEST((answer.outcome == query_outcome::query_failed));
  BOOST_TEST(answer.detail == "connection refused (outage)");
  BOOST_TEST((std::chrono::steady_clock::now() - sent < 500ms));
  BOOST_TEST(ledger_rows() == 0u);
}

BOOST_AUTO_TEST_CASE(the_outage_ends_when_its_window_does) {
  auto cfg = config(fixed_latency(1));
  cfg.outages = {{0, 0.3}};
  auto provider = spawn(cfg);
  auto refused = recharge(provider, call_for("o-1"));
  BOOST_REQUIRE_MESSAGE(refused, error_text(refused));
  BOOST_TEST((refused->outcome == recharge_outcome::transient_failure));
  std::this_thread::sleep_for(400ms);
  auto reply = recharge(provider, call_for("o-2"));
  BOOST_REQUIRE_MESSAGE(reply, error_text(reply));
  BOOST_TEST((reply->outcome == recharge_outcome::success));
  BOOST_TEST((query(provider, "o-1/p-test").outcome == query_outcome::not_recharged));
}

BOOST_AUTO_TEST_CASE(a_reopened_ledger_still_answers_queries_about_earlier_recharges) {
  auto cfg = config(with_shares(1, 0, 0, 0));
  auto first = spawn(cfg);
  auto before = recharge(first, call_for("o-1"));
  BOOST_REQUIRE_MESSAGE(before, error_text(before));
  stop(first);
  auto second = spawn(cfg);
  auto answer = query(second, "o-1/p-test");
  BOOST_TEST((answer.outcome == query_outcome::recharged), answer.detail);
  BOOST_TEST(answer.provider_txn == before->provider_txn);
  // Transaction ids continue from the file instead of starting over.
  auto after = recharge(second, call_for("o-2"));
  BOOST_REQUIRE_MESSAGE(after, error_text(after));
  BOOST_TEST(after->provider_txn != before->provider_txn);
  BOOST_TEST((query(second, "o-3/p-test").outcome == query_outcome::not_recharged));
}

BOOST_AUTO_TEST_CASE(an_order_recharged_by_two_providers_is_counted_as_a_duplicate) {
  auto cmcc = spawn(config(with_shares(1, 0, 0, 0), "p-cmcc.ledger"), "p-cmcc");
  auto agg = spawn(config(with_shares(1, 0, 0, 0), "p-agg.ledger"), "p-agg");
  BOOST_REQUIRE(recharge(cmcc, call_for("o-1", "p-cmcc")));
  BOOST_REQUIRE(recharge(cmcc, call_for("o-2", "p-cmcc")));
  BOOST_REQUIRE(recharge(agg, call_for("o-1", "p-agg")));
  auto counts = ledger::recharges_per_order({dir.file("p-cmcc.ledger"), dir.file("p-agg.ledger")});
  BOOST_TEST(counts["o-1"] == 2u);
  BOOST_TEST(counts["o-2"] == 1u);
  BOOST_TEST(count_duplicates(counts) == 1u);
}

BOOST_AUTO_TEST_CASE(an_in_memory_ledger_answers_queries) {
  auto cfg = with_shares(1, 0, 0, 0);  // no ledger path: in memory
  auto provider = spawn(cfg);
  auto reply = recharge(provider, call_for("o-1"));
  BOOST_REQUIRE_MESSAGE(reply, error_text(reply));
  auto answer = query(provider, "o-1/p-test");
  BOOST_TEST((answer.outcome == query_outcome::recharged), answer.detail);
  BOOST_TEST(answer.provider_txn == reply->provider_txn);
  BOOST_TEST(std::filesystem::is_empty(dir.path()));
}

BOOST_AUTO_TEST_CASE(an_unwritable_ledger_turns_successes_into_transient_failures) {
  auto cfg = with_shares(1, 0, 0, 0);
  cfg.ledger_path = dir.file("missing-dir/p.ledger");
  auto provider = spawn(cfg);
  auto reply = recharge(provider, call_for("o-1"));
  BOOST_REQUIRE_MESSAGE(reply, error_text(reply));
  BOOST_TEST((reply->outcome == recharge_outcome::transient_failure));
  BOOST_TEST(reply->provider_txn.empty());
  BOOST_TEST((query(provider, "o-1/p-test").outcome == query_outcome::query_failed));
}

BOOST_AUTO_TEST_SUITE_END()
