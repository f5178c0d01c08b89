#define BOOST_TEST_MODULE postgresql_batch_tests
#include <boost/test/unit_test.hpp>

// The batched writes of the store on PostgreSQL: the array parameters they build, the split
// into rounds, and, against the throwaway server, the same results as row-by-row writes on
// SQLite for the same batches.

#include "domain/order_state_machine.hpp"
#include "persistence/order_store.hpp"
#include "persistence/postgresql_batch.hpp"
#include "persistence/sql_backend.hpp"
#include "tests/backend_fixture.hpp"
#include "tests/test_support.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <cstdlib>
#include <random>

using namespace topup;
using namespace topup::testing;

namespace {

transition change_of(const std::string& id, order_status from, order_event event,
                     int32_t attempt_no = 0) {
  transition t;
  t.order_id = id;
  t.from = from;
  t.event = event;
  t.at_ms = 1'700'000'001'000 + attempt_no;
  t.provider = attempt_no > 0 ? "p-cmcc" : "";
  t.attempt_no = attempt_no;
  if (event == order_event::dispatch)
    t.request_id = id + "/" + std::to_string(attempt_no);
  if (event == order_event::succeed)
    t.provider_txn = "txn-" + id;
  t.detail = event == order_event::fail_retryable ? "busy, \"retry\" {later}\\" : "";
  if (event != order_event::dispatch && attempt_no > 0) {
    t.via = answered_by::query;
    t.latency_us = 1000 + attempt_no;
  }
  return t;
}

/// What the store holds of an order, attempts and history included, as one comparable text.
std::string stored_state(const store_config& cfg, const std::string& id) {
  auto session = open_session(cfg);
  std::string status, provider, last_error, history, wrong_carrier_at;
  int attempts = 0;
  long long updated_at_ms = 0;
  *session << "SELECT status, provider, attempts, last_error, updated_at_ms, history,"
              " wrong_carrier_at FROM orders WHERE id = :id",
    soci::use(id), soci::into(status), soci::into(provider), soci::into(attempts),
    soci::into(last_error), soci::into(updated_at_ms), soci::into(history),
    soci::into(wrong_carrier_at);
  long long attempt_rows = 0;
  *session << "SELECT COUNT(*) FROM attempts WHERE order_id = :id", soci::use(id),
    soci::into(attempt_rows);
  return status + "|" + provider + "|" + std::to_string(attempts) + "|" + last_error + "|"
         + std::to_string(updated_at_ms) + "|" + std::to_string(attempt_rows) + "|" + history
         + "|" + wrong_carrier_at;
}

} // namespace

BOOST_AUTO_TEST_SUITE(array_parameters)

BOOST_AUTO_TEST_CASE(text_elements_are_quoted_and_escaped) {
  BOOST_TEST(postgresql_text_array({}) == "{}");
  BOOST_TEST(postgresql_text_array({"a", ""}) == R"({"a",""})");
  BOOST_TEST(postgresql_text_array({R"(say "hi")", R"(back\slash)"})
             == R"({"say \"hi\"","back\\slash"})");
  BOOST_TEST(postgresql_integer_array({1, -2, 1'700'000'000'000}) == "{1,-2,1700000000000}");
}

BOOST_AUTO_TEST_CASE(each_order_appears_once_per_round_in_batch_order) {
  std::vector<transition> changes{change_of("a", order_status::accepted, order_event::dispatch, 1),
                                  change_of("b", order_status::accepted, order_event::expire),
                                  change_of("a", order_status::dispatched, order_event::succeed, 1),
                                  change_of("c", order_status::accepted, order_event::cancel),
                                  change_of("a", order_status::succeeded, order_event::expire)};
  auto rounds = rounds_by_order(changes);
  BOOST_TEST(rounds.size() == 3u);
  BOOST_TEST((rounds[0] == std::vector<size_t>{0, 1, 3}));
  BOOST_TEST((rounds[1] == std::vector<size_t>{2}));
  BOOST_TEST((rounds[2] == std::vector<size_t>{4}));
  BOOST_TEST(rounds_by_order({}).empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(against_postgresql)

BOOST_AUTO_TEST_CASE(any_text_comes_back_unchanged_from_an_array_parameter) {
  auto cfg = empty_postgresql_store();
  std::vector<std::string> texts{"", "plain", "comma,brace{}", R"(quote " and \ backslash)",
                                 "NULL", " spaced ", "数字 ünïcode", "line\nbreak"};
  auto session = open_session(cfg);
  auto array = postgresql_text_array(texts);
  soci::rowset<std::string> back =
    (session->prepare << "SELECT unnest(CAST(:a AS text[]))", soci::use(array));
  BOOST_TEST(std::vector<std::string>(back.begin(), back.end()) == texts);
}

BOOST_AUTO_TEST_CASE(a_reference_repeated_in_a_batch_or_stored_is_inserted_once) {
  auto cfg = empty_postgresql_store();
  order_store store{cfg};
  store.insert({stored_order("o-0", "r-0")});
  auto outcomes = store.insert({stored_order("o-1", "r-1"), stored_order("o-2", "r-1"),
                                stored_order("o-3", "r-0"), stored_order("o-4", "r-4")});
  BOOST_REQUIRE(outcomes.size() == 4u);
  BOOST_TEST(outcomes[0].inserted);
  BOOST_TEST(!outcomes[1].inserted);
  BOOST_TEST(outcomes[1].stored.id == "o-1");
  BOOST_TEST(!outcomes[2].inserted);
  BOOST_TEST(outcomes[2].stored.id == "o-0");
  BOOST_TEST(outcomes[3].inserted);
  BOOST_TEST(store.count_orders() == 3u);
}

BOOST_AUTO_TEST_CASE(batches_larger_than_one_fetch_answer_every_row_on_statements_run_again) {
  auto cfg = empty_postgresql_store();
  order_store store{cfg};
  // 2,500 rows come back from RETURNING in three fetches, and the writer's statements run
  // again batch after batch (the order insert twice, the state change three times).
  std::vector<order> orders;
  for (int i = 0; i < 2500; ++i)
    orders.push_back(stored_order("o-" + std::to_string(i), "r-" + std::to_string(i)));
  auto count_inserted = [](const std::vector<insert_outcome>& outcomes) {
    return std::count_if(outcomes.begin(), outcomes.end(),
                         [](const insert_outcome& o) { return o.inserted; });
  };
  BOOST_TEST(count_inserted(store.insert(orders)) == 2500);
  BOOST_TEST(count_inserted(store.insert(orders)) == 0);
  std::vector<transition> dispatches, successes;
  for (const auto& o : orders) {
    dispatches.push_back(change_of(o.id, order_status::accepted, order_event::dispatch, 1));
    successes.push_back(change_of(o.id, order_status::dispatched, order_event::succeed, 1));
  }
  auto applied = [](const std::vector<bool>& results) {
    return std::count(results.begin(), results.end(), true);
  };
  BOOST_TEST(applied(store.apply(dispatches)) == 2500);
  BOOST_TEST(applied(store.apply(dispatches)) == 0);
  BOOST_TEST(applied(store.apply(successes)) == 2500);
  BOOST_TEST(stored_state(cfg, "o-2499").rfind("succeeded|p-cmcc|1|", 0) == 0);
}

BOOST_AUTO_TEST_CASE(random_batches_give_the_same_results_as_row_by_row_on_sqlite) {
  temp_dir dir;
  auto lite_cfg = sqlite_store(dir);
  auto pg_cfg = empty_postgresql_store();
  order_store lite{lite_cfg};
  order_store pg{pg_cfg};
  const int order_count = 40;
  std::vector<order> orders;
  for (int i = 0; i < order_count; ++i)
    orders.push_back(stored_order("o-" + std::to_string(i), "r-" + std::to_string(i)));
  lite.insert(orders);
  pg.insert(orders);

  // Changes drawn at random, against what each order's status may be (so that many apply,
  // chains within one batch included) and sometimes against a stale status or illegal.
  std::mt19937 random{20261202};
  std::vector<order_status> believed(order_count, order_status::accepted);
  std::vector<int32_t> attempts(order_count, 0);
  const std::vector<order_event> events(std::begin(all_order_events),
                                        std::end(all_order_events));
  for (int batch = 0; batch < 30; ++batch) {
    std::vector<transition> changes;
    auto size = 1 + random() % 25;
    for (size_t k = 0; k < size; ++k) {
      auto i = random() % order_count;
      auto event = events[random() % events.size()];
      auto from = random() % 5 == 0 ? order_status::accepted : believed[i];
      auto number = event == order_event::dispatch ? attempts[i] + 1 : attempts[i];
      changes.push_back(change_of(orders[i].id, from, event, number));
      if (auto to = next_status(from, event); to && from == believed[i]) {
        believed[i] = *to;
        attempts[i] = number;
      }
    }
    auto row_by_row = lite.apply(changes);
    auto batched = pg.apply(changes);
    BOOST_TEST(batched == row_by_row, "batch " << batch);
  }
  int changed = 0;
  for (const auto& o : orders) {
    BOOST_TEST(stored_state(pg_cfg, o.id) == stored_state(lite_cfg, o.id), o.id);
    changed += stored_state(lite_cfg, o.id).rfind("accepted|", 0) != 0;
  }
  BOOST_TEST(changed > order_count / 2);
}

BOOST_AUTO_TEST_SUITE_END()
