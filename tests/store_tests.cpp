#define BOOST_TEST_MODULE store_tests
#include <boost/test/unit_test.hpp>

#include "apps/bench/store_reader.hpp"
#include "messages/errors.hpp"
#include "persistence/lease_store.hpp"
#include "persistence/order_store.hpp"
#include "persistence/schema.hpp"
#include "persistence/sql_backend.hpp"
#include "persistence/store_actor.hpp"
#include "tests/backend_fixture.hpp"
#include "tests/test_support.hpp"

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <fstream>
#include <future>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <thread>

using namespace topup;
using namespace topup::testing;

BOOST_FIXTURE_TEST_SUITE(order_store_on_every_backend, backend_fixture)

BOOST_AUTO_TEST_CASE(inserted_orders_survive_reopening_with_every_field) {
  auto original = stored_order("o-1", "ref-1");
  original.last_error = "none yet";
  original.attempts = 2;
  {
    order_store db{cfg};
    auto outcomes = db.insert({original});
    BOOST_REQUIRE_EQUAL(outcomes.size(), 1u);
    BOOST_TEST(outcomes[0].inserted);
  }
  order_store reopened{cfg};
  auto found = reopened.find_by_id("o-1");
  BOOST_REQUIRE(found);
  BOOST_TEST(found->client_ref == original.client_ref);
  BOOST_TEST(found->phone == original.phone);
  BOOST_TEST(found->carrier == original.carrier);
  BOOST_TEST(found->amount_fen == original.amount_fen);
  BOOST_TEST((found->status == order_status::accepted));
  BOOST_TEST(found->attempts == 2);
  BOOST_TEST(found->deadline_ms == original.deadline_ms);
  BOOST_TEST(found->last_error == "none yet");
  BOOST_TEST(reopened.find_by_ref("", "ref-1")->id == "o-1");
  BOOST_TEST(!reopened.find_by_id("o-2"));
  BOOST_TEST(!reopened.find_by_ref("", "ref-2"));
}

BOOST_AUTO_TEST_CASE(a_known_reference_is_not_written_again_and_returns_the_stored_row) {
  order_store db{cfg};
  db.insert({stored_order("o-1", "ref-1", 1)});
  auto outcomes = db.insert({stored_order("o-2", "ref-1", 2), stored_order("o-3", "ref-3"),
                             stored_order("o-4", "ref-3", 4)});
  BOOST_REQUIRE_EQUAL(outcomes.size(), 3u);
  BOOST_TEST(!outcomes[0].inserted);
  BOOST_TEST(outcomes[0].stored.id == "o-1");
  BOOST_TEST(outcomes[1].inserted);
  BOOST_TEST(!outcomes[2].inserted);  // duplicate inside the same batch
  BOOST_TEST(outcomes[2].stored.id == "o-3");
  BOOST_TEST(db.count_orders() == 2u);
}

BOOST_AUTO_TEST_CASE(a_failed_batch_writes_nothing) {
  order_store db{cfg};
  db.insert({stored_order("o-1", "ref-1")});
  // Same primary key, new reference: the unique id constraint fails the whole batch.
  BOOST_CHECK_THROW(db.insert({stored_order("o-2", "ref-2"), stored_order("o-1", "ref-9")}),
                    store_error);
  BOOST_TEST(db.count_orders() == 1u);
  BOOST_TEST(!db.find_by_id("o-2"));
}

BOOST_AUTO_TEST_CASE(errors_do_not_leak_phone_numbers) {
  order_store db{cfg};
  auto o = stored_order("o-1", "ref-1", 12345678);
  db.insert({o});
  try {
    db.insert({stored_order("o-1", "ref-2", 12345678)});
    BOOST_FAIL("expected a store_error");
  } catch (const store_error& error) {
    std::string text = error.what();
    BOOST_TEST(text.find(o.phone) == std::string::npos, text);
    BOOST_TEST((text.find("UNIQUE") != std::string::npos || text.find("23505") != std::string::npos),
               text);
  }
}

BOOST_AUTO_TEST_CASE(database_errors_are_described_in_one_line_without_values) {
  // A value the database quotes in its own message, on either backend.
  order_store db{cfg};
  const std::string phone = "13812345678";
  auto session = open_session(cfg);
  try {
    long long number = 0;
    *session << "SELECT CAST(:text AS INTEGER) + (SELECT COUNT(*) FROM no_such_table_"
                + phone + ")",
      soci::use(phone + "x"), soci::into(number);
    BOOST_FAIL("expected a database error");
  } catch (const std::exception& error) {
    BOOST_TEST_REQUIRE(std::string{error.what()}.find(phone) != std::string::npos,
                       "the driver's own text quotes the value: " << error.what());
    auto described = describe_database_error(error);
    BOOST_TEST(described.find(phone) == std::string::npos, described);
    BOOST_TEST(described.find('\n') == std::string::npos, described);
    BOOST_TEST(!described.empty());
  }
}

#ifdef TOPUP_STORE_TEST_POSTGRESQL
BOOST_AUTO_TEST_CASE(libpq_connection_failures_become_one_line) {
  store_config unreachable = cfg;
  unreachable.postgresql_connection =
    "host=127.0.0.1 port=1 dbname=x connect_timeout=2";  // nobody listens on port 1
  try {
    open_session(unreachable);
    BOOST_FAIL("connected to a port nobody listens on");
  } catch (const store_error& error) {
    std::string text = error.what();
    BOOST_TEST(text.find('\n') == std::string::npos, text);
    BOOST_TEST(text.find("Is the server running") == std::string::npos, text);
    BOOST_TEST(text.find("cannot open postgresql") != std::string::npos, text);
  }
}
#endif

BOOST_AUTO_TEST_CASE(a_dispatch_writes_the_attempt_ahead_and_an_outcome_finishes_it) {
  order_store db{cfg};
  db.insert({stored_order("o-1", "r-1")});
  transition dispatch{"o-1", order_status::accepted, order_event::dispatch, 10, "p-cmcc", 1,
                      "o-1/p-cmcc", "", ""};
  BOOST_TEST(db.apply({dispatch}) == std::vector<bool>{true});
  auto dispatched = db.find_by_id("o-1");
  BOOST_TEST((dispatched->status == order_status::dispatched));
  BOOST_TEST(dispatched->provider == "p-cmcc");
  BOOST_TEST(dispatched->attempts == 1);
  BOOST_TEST(count_rows("attempts") == 1);

  // The same dispatch again is stale: the order is no longer accepted.
  BOOST_TEST(db.apply({dispatch}) == std::vector<bool>{false});
  BOOST_TEST(count_rows("attempts") == 1);

  transition succeed{"o-1", order_status::dispatched, order_event::succeed, 20, "p-cmcc", 1,
                     "", "txn-9", ""};
  BOOST_TEST(db.apply({succeed}) == std::vector<bool>{true});
  auto done = db.find_by_id("o-1");
  BOOST_TEST((done->status == order_status::succeeded));
  BOOST_TEST(done->updated_at_ms == 20);
  // The outcome writes no attempt row: reconciliation reads it from the order's history.
  BOOST_TEST(count_rows("attempts") == 1);
  attempt_query of_p_cmcc;
  of_p_cmcc.provider = "p-cmcc";
  of_p_cmcc.to_ms = 1000;
  auto attempts = db.attempts(of_p_cmcc);
  BOOST_TEST_REQUIRE(attempts.size() == 1u);
  BOOST_TEST(attempts[0].started_at_ms == 10);
  BOOST_TEST(attempts[0].request_id == "o-1/p-cmcc");
  BOOST_TEST(attempts[0].outcome == "succeed");
  BOOST_TEST(attempts[0].provider_txn == "txn-9");
  BOOST_TEST(attempts[0].finished_at_ms == 20);
  BOOST_TEST((attempts[0].status == order_status::succeeded));
}

BOOST_AUTO_TEST_CASE(a_dispatch_from_a_stale_copy_of_an_order_is_refused) {
  // After a takeover one order may be queued twice (served_after_takeover): the copy that
  // missed an attempt must not start one under the same number, nor call again.
  order_store db{cfg};
  db.insert({stored_order("o-1", "r-1")});
  transition first{"o-1", order_status::accepted, order_event::dispatch, 10, "p-agg", 1,
                   "o-1/p-agg", "", ""};
  transition failed{"o-1", order_status::dispatched, order_event::fail_retryable, 20, "p-agg", 1,
                    "", "", "busy"};
  BOOST_TEST((db.apply({first, failed}) == std::vector<bool>{true, true}));

  // The other copy still says "never attempted": the order is waiting again, but its
  // dispatch is refused, with the one after it in the same batch applied.
  transition stale{"o-1", order_status::accepted, order_event::dispatch, 30, "p-cucc", 1,
                   "o-1/p-cucc", "", ""};
  db.insert({stored_order("o-2", "r-2")});
  transition other{"o-2", order_status::accepted, order_event::dispatch, 30, "p-cmcc", 1,
                   "o-2/p-cmcc", "", ""};
  BOOST_TEST((db.apply({stale, other}) == std::vector<bool>{false, true}));
  auto waiting = db.find_by_id("o-1");
  BOOST_TEST((waiting->status == order_status::accepted));
  BOOST_TEST(waiting->attempts == 1);
  BOOST_TEST(waiting->provider == "p-agg");
  BOOST_TEST(count_rows("attempts") == 2);

  // Read again, it starts the second attempt.
  transition second{"o-1", order_status::accepted, order_event::dispatch, 40, "p-cucc", 2,
                    "o-1/p-cucc", "", ""};
  BOOST_TEST(db.apply({second}) == std::vector<bool>{true});
  BOOST_TEST(db.find_by_id("o-1")->attempts == 2);
  BOOST_TEST(count_rows("attempts") == 3);
}

BOOST_AUTO_TEST_CASE(illegal_and_unknown_orders_are_refused_without_writing) {
  order_store db{cfg};
  db.insert({stored_order("o-1", "r-1")});
  std::vector<transition> changes{
    {"o-1", order_status::accepted, order_event::succeed, 1, "p", 1, "", "t", ""},  // illegal
    {"nope", order_status::accepted, order_event::expire, 1, "", 0, "", "", ""},    // no order
    {"o-1", order_status::accepted, order_event::expire, 2, "", 0, "", "", "deadline"},
  };
  BOOST_TEST(db.apply(changes) == (std::vector<bool>{false, false, true}));
  auto failed = db.find_by_id("o-1");
  BOOST_TEST((failed->status == order_status::failed));
  BOOST_TEST(failed->last_error == "deadline");
  BOOST_TEST(count_rows("attempts") == 0);
  // The expiry is in the order's history; the refused changes are not.
  auto story = db.find_history("o-1");
  BOOST_REQUIRE(story);
  BOOST_REQUIRE(story->entries.size() == 2u);
  BOOST_TEST(story->entries[1].event == "expire");
  BOOST_TEST(story->entries[1].status == "failed");
  BOOST_TEST(story->entries[1].detail == "deadline");
  BOOST_TEST(!db.find_history("nope"));
}

BOOST_AUTO_TEST_CASE(every_change_of_an_order_is_in_its_history_in_the_same_write) {
  order_store db{cfg};
  auto o = stored_order("o-1", "r-1");
  db.insert({o});
  auto change = [](order_status from, order_event event, int64_t at, int32_t attempt) {
    transition t;
    t.order_id = "o-1";
    t.from = from;
    t.event = event;
    t.at_ms = at;
    t.provider = "p-cmcc";
    t.attempt_no = attempt;
    return t;
  };
  auto dispatch = change(order_status::accepted, order_event::dispatch, 10, 1);
  dispatch.request_id = "o-1@p-cmcc";
  auto lost = change(order_status::dispatched, order_event::lose_outcome, 2010, 1);
  lost.detail = "no answer: request_timeout";
  lost.via = answered_by::call;
  lost.latency_us = 2'000'123;
  auto silent = change(order_status::unknown, order_event::query_unanswered, 3020, 1);
  silent.detail = "status query failed: outage (query 1 in a row)";
  silent.via = answered_by::query;
  silent.latency_us = 15;
  auto found = change(order_status::unknown, order_event::succeed, 4030, 1);
  found.provider_txn = "txn-7";
  found.via = answered_by::query;
  found.latency_us = 812;
  // One batch, as a recharge actor's flush writes them; the note is applied in its turn.
  BOOST_TEST(db.apply({dispatch, lost, silent}) == (std::vector<bool>{true, true, true}));
  auto unknown = db.find_by_id("o-1");
  BOOST_TEST((unknown->status == order_status::unknown));
  BOOST_TEST(unknown->updated_at_ms == 2010, "a note is not a state change");
  BOOST_TEST(unknown->last_error == "no answer: request_timeout", "a note keeps the last error");
  // A note for a status the order is not in is refused like any stale change.
  auto late_resend = change(order_status::accepted, order_event::resend, 3500, 0);
  BOOST_TEST(db.apply({late_resend, found}) == (std::vector<bool>{false, true}));

  auto story = db.find_history("o-1");
  BOOST_REQUIRE(story);
  BOOST_TEST((story->snapshot.status == order_status::succeeded));
  std::vector<std::string> events, statuses;
  for (const auto& entry : story->entries) {
    events.push_back(entry.event);
    statuses.push_back(entry.status);
  }
  BOOST_TEST(events == (std::vector<std::string>{"accept", "dispatch", "lose_outcome",
                                                 "query_unanswered", "succeed"}),
             boost::test_tools::per_element());
  BOOST_TEST(statuses == (std::vector<std::string>{"accepted", "dispatched", "unknown",
                                                   "unknown", "succeeded"}),
             boost::test_tools::per_element());
  BOOST_REQUIRE(story->entries.size() == 5u);
  const auto& e = story->entries;
  BOOST_TEST(e[0].at_ms == o.accepted_at_ms);
  BOOST_TEST(e[1].at_ms == 10);
  BOOST_TEST(e[1].provider == "p-cmcc");
  BOOST_TEST(e[1].attempt_no == 1);
  BOOST_TEST(e[1].request_id == "o-1@p-cmcc");
  BOOST_TEST(e[1].latency_us == -1);
  BOOST_TEST(e[2].via == "call");
  BOOST_TEST(e[2].latency_us == 2'000'123);
  BOOST_TEST(e[2].detail == "no answer: request_timeout");
  BOOST_TEST(e[3].via == "query");
  BOOST_TEST(e[3].detail == "status query failed: outage (query 1 in a row)");
  BOOST_TEST(e[4].via == "query");
  BOOST_TEST(e[4].latency_us == 812);
  BOOST_TEST(e[4].provider_txn == "txn-7");
  BOOST_TEST(e[4].at_ms == 4030);
  // No row of its own: the history is the order row's.
  BOOST_TEST(count_rows("attempts") == 1);
}

BOOST_AUTO_TEST_CASE(lists_filter_and_count_orders) {
  order_store db{cfg};
  auto a = stored_order("a", "r-a", 1, order_status::succeeded);
  auto b = stored_order("b", "r-b", 2, order_status::failed);
  auto c = stored_order("c", "r-c", 3, order_status::failed);
  b.accepted_at_ms += 10;
  c.accepted_at_ms += 20;
  c.carrier = "cucc";
  b.phone = "13900000002";
  b.merchant = "shop-b";
  db.insert({a, b, c});
  auto ids = [](const std::vector<order>& orders) {
    std::vector<std::string> out;
    for (const auto& o : orders)
      out.push_back(o.id);
    return out;
  };
  BOOST_TEST(ids(db.list({})) == (std::vector<std::string>{"c", "b", "a"}));
  BOOST_TEST(ids(db.list({"failed", "", "", 0, 100})) == (std::vector<std::string>{"c", "b"}));
  BOOST_TEST(ids(db.list({"failed", "cmcc", "", 0, 100})) == (std::vector<std::string>{"b"}));
  BOOST_TEST(ids(db.list({"", "", "", a.accepted_at_ms + 5, 100}))
             == (std::vector<std::string>{"c", "b"}));
  BOOST_TEST(ids(db.list({"", "", "", 0, 1})) == (std::vector<std::string>{"c"}));
  BOOST_TEST(db.list({"'; DROP TABLE orders; --", "", "", 0, 100}).empty());
  // The web console's search: by reference of any merchant, by phone, before a time, oldest first.
  BOOST_TEST(ids(db.list({"", "", "", 0, 100, "r-b"})) == (std::vector<std::string>{"b"}));
  BOOST_TEST(ids(db.list({"", "", "", 0, 100, "", "13900000002"})) == (std::vector<std::string>{"b"}));
  BOOST_TEST(db.list({"succeeded", "", "", 0, 100, "", "13900000002"}).empty());
  BOOST_TEST(ids(db.list({"", "", "", 0, 100, "", "", a.accepted_at_ms + 15}))
             == (std::vector<std::string>{"b", "a"}));
  BOOST_TEST(ids(db.list({"", "", "", 0, 2, "", "", 0, true})) == (std::vector<std::string>{"a", "b"}));
  BOOST_TEST(ids(db.list({"failed", "", "", 0, 1, "", "", 0, true})) == (std::vector<std::string>{"b"}));
  // By reference of the merchants named (the unique index's lookup), with the other filters.
  auto of_merchants = [](std::string ref, std::vector<std::string> merchants, std::string status = "") {
    order_filter filter;
    filter.status = std::move(status);
    filter.client_ref = std::move(ref);
    filter.merchants = std::move(merchants);
    return filter;
  };
  BOOST_TEST(ids(db.list(of_merchants("r-b", {"shop-x", "shop-b"}))) == (std::vector<std::string>{"b"}));
  BOOST_TEST(ids(db.list(of_merchants("r-b", {"shop-b"}, "failed"))) == (std::vector<std::string>{"b"}));
  BOOST_TEST(db.list(of_merchants("r-b", {"shop-b"}, "succeeded")).empty());
  BOOST_TEST(db.list(of_merchants("r-b", {"shop-x"})).empty());
  BOOST_TEST(db.list(of_merchants("r-a", {"shop-b"})).empty());
  auto counts = db.count_by_status();
  BOOST_REQUIRE_EQUAL(counts.size(), 2u);
  BOOST_TEST(counts[0].status == "failed");
  BOOST_TEST(counts[0].count == 2u);
  BOOST_TEST(counts[1].status == "succeeded");
  BOOST_TEST(counts[1].count == 1u);
}

BOOST_AUTO_TEST_CASE(unfinished_orders_load_in_one_read) {
  order_store db{cfg};
  db.insert({stored_order("a", "r-a", 1, order_status::accepted),
             stored_order("d", "r-d", 2, order_status::dispatched),
             stored_order("u", "r-u", 3, order_status::unknown),
             stored_order("s", "r-s", 4, order_status::succeeded),
             stored_order("f", "r-f", 5, order_status::failed)});
  auto unfinished = db.load_unfinished();
  std::set<std::string> ids;
  for (const auto& o : unfinished)
    ids.insert(o.id);
  BOOST_TEST((ids == std::set<std::string>{"a", "d", "u"}));
}

BOOST_AUTO_TEST_CASE(a_fenced_dispatch_applies_only_under_the_live_lease_it_names) {
  order_store db{cfg};
  lease_store leases{cfg};
  db.insert({stored_order("o-1", "r-1")});
  transition dispatch{"o-1", order_status::accepted, order_event::dispatch, 10, "p-cmcc", 1,
                      "o-1@p-cmcc", "", ""};
  dispatch.lease_owner = "node-a";
  dispatch.lease_epoch = 1;
  // Nobody holds p-cmcc yet: the dispatch is refused and writes nothing.
  BOOST_TEST(db.apply({dispatch}) == std::vector<bool>{false});
  BOOST_TEST(count_rows("attempts") == 0);

  auto held = leases.try_acquire("p-cmcc", "node-a", 60000);
  BOOST_REQUIRE(held);
  // Another node's lease, or an old epoch of this one, does not pass the fence either.
  dispatch.lease_epoch = held->epoch;
  dispatch.lease_owner = "node-b";
  BOOST_TEST(db.apply({dispatch}) == std::vector<bool>{false});
  dispatch.lease_owner = "node-a";
  dispatch.lease_epoch = held->epoch + 1;
  BOOST_TEST(db.apply({dispatch}) == std::vector<bool>{false});
  BOOST_TEST(count_rows("attempts") == 0);

  dispatch.lease_epoch = held->epoch;
  BOOST_TEST(db.apply({dispatch}) == std::vector<bool>{true});
  BOOST_TEST(count_rows("attempts") == 1);

  // Once released, the same lease fences off a later dispatch of this node.
  db.insert({stored_order("o-2", "r-2")});
  BOOST_TEST(leases.release("p-cmcc", "node-a", held->epoch));
  auto second = dispatch;
  second.order_id = "o-2";
  second.request_id = "o-2@p-cmcc";
  BOOST_TEST(db.apply({second}) == std::vector<bool>{false});
  BOOST_TEST((db.find_by_id("o-2")->status == order_status::accepted));
}

BOOST_AUTO_TEST_CASE(unfinished_orders_page_by_deadline_then_id_each_once) {
  order_store db{cfg};
  std::vector<order> orders;
  for (int i = 0; i < 7; ++i) {
    // Deadlines repeat, so the id must break ties for no order to be skipped or repeated.
    auto o = stored_order("o-" + std::to_string(i), "r-" + std::to_string(i), i + 1,
                          i == 3 ? order_status::succeeded : order_status::accepted);
    o.deadline_ms = 1000 + (i / 3) * 10;
    orders.push_back(o);
  }
  db.insert(orders);
  std::vector<std::string> seen;
  int64_t after_deadline = std::numeric_limits<int64_t>::min();
  std::string after_id;
  for (int page = 0; page < 10; ++page) {
    auto rows = db.load_unfinished_page(after_deadline, after_id, 2);
    for (const auto& o : rows)
      seen.push_back(o.id);
    if (rows.size() < 2)
      break;
    after_deadline = rows.back().deadline_ms;
    after_id = rows.back().id;
  }
  BOOST_TEST((seen == std::vector<std::string>{"o-0", "o-1", "o-2", "o-4", "o-5", "o-6"}));
}

BOOST_AUTO_TEST_CASE(a_providers_attempts_of_a_period_page_in_start_order_each_once) {
  order_store db{cfg};
  std::vector<order> orders;
  for (int i = 0; i < 6; ++i)
    orders.push_back(stored_order("o-" + std::to_string(i), "r-" + std::to_string(i), i + 1));
  db.insert(orders);
  // Starts repeat, so order id and attempt number must break ties for no attempt to be
  // skipped or repeated; o-4 went elsewhere, o-5 started at the period's end (excluded).
  const std::pair<int, std::string> starts[] = {{10, "p-cmcc"}, {10, "p-cmcc"}, {10, "p-cmcc"},
                                                {20, "p-cmcc"}, {20, "p-cucc"}, {30, "p-cmcc"}};
  for (int i = 0; i < 6; ++i) {
    auto id = "o-" + std::to_string(i);
    auto [at, provider] = starts[i];
    BOOST_TEST(db.apply({{id, order_status::accepted, order_event::dispatch, at, provider, 1,
                          id + "@" + provider, "", ""}})
               == std::vector<bool>{true});
  }
  BOOST_TEST(db.apply({{"o-1", order_status::dispatched, order_event::succeed, 25, "p-cmcc", 1,
                        "", "txn-1", ""}})
             == std::vector<bool>{true});
  attempt_query query{"p-cmcc", 10, 30};
  query.limit = 2;
  std::vector<attempt_record> seen;
  for (int page = 0; page < 10; ++page) {
    auto rows = db.attempts(query);
    seen.insert(seen.end(), rows.begin(), rows.end());
    if (rows.size() < query.limit)
      break;
    query.after_started_ms = rows.back().started_at_ms;
    query.after_order_id = rows.back().order_id;
    query.after_attempt_no = rows.back().attempt_no;
  }
  std::vector<std::string> ids;
  for (const auto& a : seen)
    ids.push_back(a.order_id);
  BOOST_TEST((ids == std::vector<std::string>{"o-0", "o-1", "o-2", "o-3"}));
  BOOST_REQUIRE(seen.size() == 4u);
  const auto& done = seen[1];
  BOOST_TEST(done.request_id == "o-1@p-cmcc");
  BOOST_TEST(done.outcome == "succeed");
  BOOST_TEST(done.provider_txn == "txn-1");
  BOOST_TEST(done.finished_at_ms == 25);
  BOOST_TEST((done.status == order_status::succeeded));
  BOOST_TEST(done.amount_fen == 1000);
  BOOST_TEST(done.phone == orders[1].phone);
  BOOST_TEST(seen[0].outcome.empty(), "in flight: no outcome yet");
  BOOST_TEST(seen[0].finished_at_ms == 0);
  BOOST_TEST((seen[0].status == order_status::dispatched));
}

BOOST_AUTO_TEST_CASE(final_orders_of_an_ingress_page_by_update_time_then_id) {
  order_store db{cfg};
  std::vector<order> orders;
  for (int i = 0; i < 8; ++i) {
    auto o = stored_order("o-" + std::to_string(i), "r-" + std::to_string(i), i + 1,
                          i == 5 ? order_status::accepted
                                 : (i % 2 ? order_status::failed : order_status::succeeded));
    o.ingress = i == 6 ? "" : "redis";  // o-6 came by the remote protocol
    o.updated_at_ms = 100 + (i / 3) * 10;  // times repeat: the id breaks ties
    orders.push_back(o);
  }
  orders[7].updated_at_ms = 500;  // after the page's end
  db.insert(orders);
  BOOST_TEST(db.find_by_id("o-2")->ingress == "redis");
  BOOST_TEST(db.find_by_id("o-6")->ingress.empty());
  std::vector<std::string> seen;
  final_orders_page page{"redis", 99, "", 400, 2};
  for (int round = 0; round < 10; ++round) {
    auto rows = db.final_page(page);
    for (const auto& o : rows)
      seen.push_back(o.id);
    if (rows.empty())
      break;
    page.after_ms = rows.back().updated_at_ms;
    page.after_id = rows.back().id;
  }
  // Not o-5 (not final), o-6 (another ingress) nor o-7 (stamped after until_ms).
  BOOST_TEST((seen == std::vector<std::string>{"o-0", "o-1", "o-2", "o-3", "o-4"}));

  BOOST_TEST(!db.result_cursor("redis@n1"));
  db.save_result_cursor("redis@n1", 1000);
  db.save_result_cursor("redis@n1", 2000);
  BOOST_TEST(db.result_cursor("redis@n1").value_or(-1) == 2000);
  BOOST_TEST(!db.result_cursor("redis@n2"));
}

BOOST_AUTO_TEST_CASE(an_empty_database_is_migrated_to_the_current_schema) {
  { order_store db{cfg}; }
  auto session = open_session(cfg);
  BOOST_TEST(schema_version(*session) == current_schema_version);
  BOOST_TEST(count_rows("attempts") == 0);
  // Step 4 replaces order_events by the history in the order row.
  BOOST_CHECK_THROW(count_rows("order_events"), soci::soci_error);
}

BOOST_AUTO_TEST_CASE(a_version_3_store_gets_the_history_of_every_order_it_holds) {
  // A store as the build before step 4 wrote it, with its statements: attempt rows (the
  // last outcome of each), and order_events rows for changes without an attempt.
  {
    auto owned = open_session(cfg);
    auto& session = *owned;
    migrate(session, 3);
    // Bound values live in variables: SOCI runs a one-off statement at the end of the full
    // expression, after temporaries made inside it are gone.
    auto order_row = [&](const std::string& id, const std::string& status) {
      std::string ref = "ref-" + id;
      session << "INSERT INTO orders (id, client_ref, phone, carrier, amount_fen, provider,"
                 " status, attempts, accepted_at_ms, deadline_ms, updated_at_ms, last_error)"
                 " VALUES (:id, :ref, '13800000001', 'cmcc', 1000, 'p-cmcc', :status, 0, 100,"
                 " 180100, 900, '')",
        soci::use(id), soci::use(ref), soci::use(status);
    };
    auto attempt = [&](const std::string& id, int number, long long started,
                       const std::string& outcome, long long finished, const std::string& txn,
                       const std::string& error) {
      std::string request = id + "@p-cmcc";
      session << "INSERT INTO attempts (order_id, attempt_no, provider, request_id,"
                 " started_at_ms) VALUES (:id, :n, 'p-cmcc', :request, :at)",
        soci::use(id), soci::use(number), soci::use(request), soci::use(started);
      if (outcome.empty())
        return;
      session << "UPDATE attempts SET finished_at_ms = :at, outcome = :event,"
                 " provider_txn = :txn, error = :detail WHERE order_id = :id AND attempt_no = :n",
        soci::use(finished), soci::use(outcome), soci::use(txn), soci::use(error),
        soci::use(id), soci::use(number);
    };
    order_row("retried", "succeeded");
    attempt("retried", 1, 200, "fail_retryable", 250, "", "busy, \"retry\"\nlater");
    attempt("retried", 2, 600, "succeed", 640, "txn-2", "");
    order_row("in-flight", "dispatched");
    attempt("in-flight", 1, 300, "", 0, "", "");
    order_row("expired", "failed");
    session << "INSERT INTO order_events (order_id, at_ms, from_status, to_status, event,"
               " detail) VALUES ('expired', 180100, 'accepted', 'failed', 'expire',"
               " 'deadline reached')";
    order_row("waiting", "accepted");
  }
  order_store db{cfg};
  auto session = open_session(cfg);
  BOOST_TEST(schema_version(*session) == current_schema_version);
  BOOST_CHECK_THROW(count_rows("order_events"), soci::soci_error);
  auto story_of = [&](const std::string& id) {
    std::vector<std::string> lines;
    auto story = db.find_history(id);
    BOOST_REQUIRE(story);
    for (const auto& e : story->entries)
      lines.push_back(std::to_string(e.at_ms) + " " + e.event + " " + e.status + " "
                      + e.provider + "#" + std::to_string(e.attempt_no) + " " + e.request_id
                      + " " + e.provider_txn + " " + e.detail);
    return lines;
  };
  BOOST_TEST(story_of("retried")
               == (std::vector<std::string>{
                 "100 accept accepted #0   ",
                 "200 dispatch dispatched p-cmcc#1 retried@p-cmcc  ",
                 "250 fail_retryable accepted p-cmcc#1   busy, \"retry\"\nlater",
                 "600 dispatch dispatched p-cmcc#2 retried@p-cmcc  ",
                 "640 succeed succeeded p-cmcc#2  txn-2 "}),
             boost::test_tools::per_element());
  BOOST_TEST(story_of("in-flight")
               == (std::vector<std::string>{"100 accept accepted #0   ",
                                            "300 dispatch dispatched p-cmcc#1 in-flight@p-cmcc  "}),
             boost::test_tools::per_element());
  BOOST_TEST(story_of("expired")
               == (std::vector<std::string>{"100 accept accepted #0   ",
                                            "180100 expire failed #0   deadline reached"}),
             boost::test_tools::per_element());
  BOOST_TEST(story_of("waiting") == (std::vector<std::string>{"100 accept accepted #0   "}),
             boost::test_tools::per_element());
  // Reconciliation reads the attempts of the older rows with the outcomes their histories
  // hold (schema step 13 dropped the attempt rows' own outcome columns).
  attempt_query of_p_cmcc;
  of_p_cmcc.provider = "p-cmcc";
  of_p_cmcc.to_ms = 1000;
  std::vector<std::string> attempts;
  for (const auto& a : db.attempts(of_p_cmcc))
    attempts.push_back(a.order_id + "#" + std::to_string(a.attempt_no) + " "
                       + std::to_string(a.started_at_ms) + "-" + std::to_string(a.finished_at_ms)
                       + " " + a.outcome + " " + a.provider_txn);
  BOOST_TEST(attempts
               == (std::vector<std::string>{"retried#1 200-250 fail_retryable ",
                                            "in-flight#1 300-0  ", "retried#2 600-640 succeed txn-2"}),
             boost::test_tools::per_element());
  // The story goes on from there.
  transition found{"in-flight", order_status::dispatched, order_event::succeed, 700, "p-cmcc", 1,
                   "", "txn-9", ""};
  BOOST_TEST(db.apply({found}) == std::vector<bool>{true});
  BOOST_TEST(story_of("in-flight").back() == "700 succeed succeeded p-cmcc#1  txn-9 ");
}

BOOST_AUTO_TEST_CASE(a_version_1_database_keeps_its_orders_when_migrated) {
  {
    auto owned = open_session(cfg);
    auto& session = *owned;
    migrate(session, 1);
    BOOST_TEST(schema_version(session) == 1);
    session << "INSERT INTO orders (id, client_ref, phone, carrier, amount_fen, status,"
               " accepted_at_ms, deadline_ms, updated_at_ms)"
               " VALUES ('old-1', 'old-ref', '13800000001', 'cmcc', 2000, 'accepted', 1, 2, 3)";
    // attempts does not exist in version 1
    BOOST_CHECK_THROW(session << "SELECT COUNT(*) FROM attempts", soci::soci_error);
  }
  order_store db{cfg};
  auto old = db.find_by_id("old-1");
  BOOST_REQUIRE(old);
  BOOST_TEST(old->amount_fen == 2000);
  BOOST_TEST(old->provider == "");
  auto session = open_session(cfg);
  BOOST_TEST(schema_version(*session) == current_schema_version);
  BOOST_TEST(count_rows("attempts") == 0);
}

// A store written by schema version 3 (attempts without their writer) is upgraded in place:
// its attempts read as written by a single node, and new attempts record the node and the
// epoch of the lease they were written ahead under (on PostgreSQL by the batch writer).
BOOST_AUTO_TEST_CASE(a_version_3_store_records_who_wrote_each_attempt_from_now_on) {
  {
    auto session = open_session(cfg);
    migrate(*session, 3);
    *session << "INSERT INTO orders (id, client_ref, phone, carrier, amount_fen, provider,"
                " status, attempts, accepted_at_ms, deadline_ms, updated_at_ms)"
                " VALUES ('old-1', 'old-ref', '13800000001', 'cmcc', 2000, 'p-cmcc',"
                " 'dispatched', 1, 1, 2, 3)";
    *session << "INSERT INTO attempts (order_id, attempt_no, provider, request_id, started_at_ms)"
                " VALUES ('old-1', 1, 'p-cmcc', 'old-1@p-cmcc', 3)";
  }
  order_store db{cfg};
  lease_store leases{cfg};
  auto session = open_session(cfg);
  BOOST_TEST(schema_version(*session) == current_schema_version);
  auto writer_of = [&](const std::string& id) {
    std::string node;
    long long epoch = -1;
    *session << "SELECT node, epoch FROM attempts WHERE order_id = :id", soci::use(id),
      soci::into(node), soci::into(epoch);
    return std::make_pair(node, epoch);
  };
  BOOST_TEST((writer_of("old-1") == std::make_pair(std::string{}, 0LL)));
  BOOST_TEST((db.find_by_id("old-1")->status == order_status::dispatched));

  db.insert({stored_order("o-1", "r-1"), stored_order("o-2", "r-2", 2)});
  auto held = leases.try_acquire("p-cmcc", "node-2", 60000);
  BOOST_REQUIRE(held);
  transition fenced{"o-1", order_status::accepted, order_event::dispatch, 10, "p-cmcc", 1,
                    "o-1@p-cmcc", "", ""};
  fenced.lease_owner = "node-2";
  fenced.lease_epoch = held->epoch;
  transition single{"o-2", order_status::accepted, order_event::dispatch, 10, "p-cmcc", 1,
                    "o-2@p-cmcc", "", ""};
  BOOST_TEST((db.apply({fenced, single}) == std::vector<bool>{true, true}));
  BOOST_TEST((writer_of("o-1") == std::make_pair(std::string{"node-2"}, 1LL)));
  BOOST_TEST((writer_of("o-2") == std::make_pair(std::string{}, 0LL)));
}

// A store written by schema version 7 (one client reference per store) is upgraded in
// place: its orders, attempts and histories stay, they belong to the configured default
// merchant, and from then on two merchants may use the same reference.
BOOST_AUTO_TEST_CASE(a_version_7_store_gives_its_orders_to_the_default_merchant) {
  {
    auto session = open_session(cfg);
    migrate(*session, 7);
    *session << "INSERT INTO orders (id, client_ref, phone, carrier, amount_fen, provider,"
                " status, attempts, accepted_at_ms, deadline_ms, updated_at_ms, history, ingress)"
                " VALUES ('old-1', 'ref-1', '13800000001', 'cmcc', 2000, 'p-cmcc',"
                " 'dispatched', 1, 1, 2, 3, '', 'redis')";
    *session << "INSERT INTO attempts (order_id, attempt_no, provider, request_id, started_at_ms)"
                " VALUES ('old-1', 1, 'p-cmcc', 'old-1@p-cmcc', 3)";
  }
  cfg.default_merchant = "shop-a";
  order_store db{cfg};
  auto session = open_session(cfg);
  BOOST_TEST(schema_version(*session) == current_schema_version);
  auto old = db.find_by_id("old-1");
  BOOST_REQUIRE(old);
  BOOST_TEST(old->merchant == "shop-a");
  BOOST_TEST(old->notify_url == "");
  BOOST_TEST(old->ingress == "redis");
  BOOST_TEST(old->attempts == 1);
  BOOST_TEST(db.find_by_ref("shop-a", "ref-1")->id == "old-1");
  BOOST_TEST(db.find_by_ref("", "ref-1")->id == "old-1");  // "": the default merchant
  BOOST_TEST(!db.find_by_ref("shop-b", "ref-1"));
  BOOST_TEST(count_rows("attempts") == 1);
  // The old order's story goes on, its attempt still attached to it.
  transition found{"old-1", order_status::dispatched, order_event::succeed, 700, "p-cmcc", 1,
                   "", "txn-9", ""};
  BOOST_TEST(db.apply({found}) == std::vector<bool>{true});
  // The key is (merchant, client_ref): shop-b may use ref-1; shop-a's ref-1 is still taken.
  auto theirs = stored_order("new-b", "ref-1", 2);
  theirs.merchant = "shop-b";
  theirs.notify_url = "https://b.example/cb";
  auto again = stored_order("new-a", "ref-1", 3);
  again.merchant = "shop-a";
  auto outcomes = db.insert({theirs, again});
  BOOST_REQUIRE_EQUAL(outcomes.size(), 2u);
  BOOST_TEST(outcomes[0].inserted);
  BOOST_TEST(!outcomes[1].inserted);
  BOOST_TEST(outcomes[1].stored.id == "old-1");
  BOOST_TEST(db.find_by_ref("shop-b", "ref-1")->notify_url == "https://b.example/cb");
  BOOST_TEST(count_rows() == 2);
  if (!postgresql()) {
    // The rebuilt table kept the attempts' foreign key, and it is enforced again.
    BOOST_CHECK_THROW(*open_session(cfg) << "INSERT INTO attempts (order_id, attempt_no,"
                                            " provider, request_id, started_at_ms)"
                                            " VALUES ('nobody', 1, 'p', 'r', 1)",
                      soci::soci_error);
  }
}

// A store written by schema version 9 gains the providers that answered "wrong carrier" in
// place: its orders keep everything and have none; a wrong_carrier change then adds its
// provider in the statement of the change, alongside the history entry, and a reader that
// loads the order after a restart sees them.
BOOST_AUTO_TEST_CASE(a_version_9_store_records_wrong_carrier_answers_from_then_on) {
  store_of_version_with_a_dispatched_order(9);
  {
    order_store db{cfg};
    BOOST_TEST(schema_version(*open_session(cfg)) == current_schema_version);
    auto old = db.find_by_id("old-1");
    BOOST_REQUIRE(old);
    BOOST_TEST(old->wrong_carrier_at.empty());
    BOOST_TEST(old->merchant == "shop");
    transition answered{"old-1", order_status::dispatched, order_event::wrong_carrier, 700,
                        "p-cmcc", 1, "", "", "wrong carrier: not a cmcc number"};
    BOOST_TEST(db.apply({answered}) == std::vector<bool>{true});
    // Written once: the same change again is refused (the order moved on), adding nothing.
    BOOST_TEST(db.apply({answered}) == std::vector<bool>{false});
    transition dispatched{"old-1", order_status::accepted, order_event::dispatch, 710, "p-agg",
                          2, "old-1@p-agg", "", ""};
    transition again{"old-1", order_status::dispatched, order_event::wrong_carrier, 720,
                     "p-agg", 2, "", "", "wrong carrier"};
    BOOST_TEST((db.apply({dispatched, again}) == std::vector<bool>{true, true}));
  }
  order_store reopened{cfg};
  auto unfinished = reopened.load_unfinished();
  BOOST_REQUIRE_EQUAL(unfinished.size(), 1u);
  BOOST_TEST(unfinished[0].wrong_carrier_at == (std::vector<std::string>{"p-cmcc", "p-agg"}),
             boost::test_tools::per_element());
  BOOST_TEST((unfinished[0].status == order_status::accepted));
  BOOST_TEST(unfinished[0].last_error == "wrong carrier");
  auto story = reopened.find_history("old-1");
  BOOST_REQUIRE(story);
  std::vector<std::string> events;
  for (const auto& entry : story->entries)
    events.push_back(entry.event + "/" + entry.provider);
  BOOST_TEST(events == (std::vector<std::string>{"accept/", "wrong_carrier/p-cmcc",
                                                  "dispatch/p-agg", "wrong_carrier/p-agg"}),
             boost::test_tools::per_element());
  BOOST_TEST(story->entries.at(1).status == "accepted");
  // New orders start with none.
  reopened.insert({stored_order("o-2", "ref-2", 2)});
  BOOST_TEST(reopened.find_by_id("o-2")->wrong_carrier_at.empty());
}

// A store of schema version 14 is upgraded in place: its attempts stay, new dispatches write
// theirs, and on PostgreSQL an attempt's row no longer references its order, so that no
// attempt INSERT pays for the key's check (SQLite keeps the key: schema step 15).
BOOST_AUTO_TEST_CASE(a_version_14_store_keeps_its_attempts_and_on_postgresql_drops_their_key) {
  store_of_version_with_a_dispatched_order(14);
  order_store db{cfg};
  BOOST_TEST(schema_version(*open_session(cfg)) == current_schema_version);
  db.insert({stored_order("o-1", "ref-2")});
  transition dispatched{"o-1", order_status::accepted, order_event::dispatch, 10, "p-cmcc", 1,
                        "o-1@p-cmcc", "", ""};
  BOOST_TEST(db.apply({dispatched}) == std::vector<bool>{true});
  BOOST_TEST(count_rows("attempts") == 2);

  auto session = open_session(cfg);
  auto attempt_of_no_order = [&] {
    *session << "INSERT INTO attempts (order_id, attempt_no, provider, request_id,"
                " started_at_ms) VALUES ('no-such-order', 1, 'p-cmcc', 'x@p-cmcc', 3)";
  };
  if (postgresql())
    BOOST_CHECK_NO_THROW(attempt_of_no_order());
  else
    BOOST_CHECK_THROW(attempt_of_no_order(), soci::soci_error);
}

BOOST_AUTO_TEST_CASE(nodes_opening_an_empty_database_together_apply_each_migration_once) {
  std::vector<int> every_step(current_schema_version);
  std::iota(every_step.begin(), every_step.end(), 1);
  for (int round = 0; round < 3; ++round) {
    start_empty();
    // Order stores and lease stores (both migrate on open), released at one instant.
    std::promise<void> go;
    std::shared_future<void> started = go.get_future().share();
    std::vector<std::future<std::string>> opened;
    for (int node = 0; node < 4; ++node)
      opened.push_back(std::async(std::launch::async, [this, node, started] {
        started.wait();
        try {
          if (node % 2 == 0)
            order_store orders{cfg};
          else
            lease_store leases{cfg};
          return std::string{};
        } catch (const std::exception& error) {
          return std::string{error.what()};
        }
      }));
    go.set_value();
    for (auto& node : opened) {
      auto failure = node.get();
      BOOST_TEST(failure.empty(), "round " << round << ": " << failure);
    }
    auto session = open_session(cfg);
    std::vector<int> steps(2 * every_step.size() + 1);
    *session << "SELECT version FROM schema_version ORDER BY version", soci::into(steps);
    BOOST_TEST(steps == every_step, "round " << round);
  }
}

BOOST_AUTO_TEST_CASE(of_orders_named_by_id_the_unfinished_ones_are_read) {
  order_store db{cfg};
  db.insert({stored_order("o-1", "r-1", 1), stored_order("o-2", "r-2", 2),
             stored_order("o-3", "r-3", 3, order_status::succeeded),
             stored_order("o-4", "r-4", 4, order_status::unknown),
             stored_order("o-5", "r-5", 5)});
  db.apply({{"o-2", order_status::accepted, order_event::dispatch, 10, "p-cmcc", 1, "o-2/p-cmcc",
             "", ""}});
  auto found = db.load_unfinished_of({"o-1", "o-2", "o-3", "o-4", "no-such-order"});
  std::map<std::string, order_status> statuses;
  for (const auto& o : found)
    statuses[o.id] = o.status;
  BOOST_TEST(statuses.size() == 3u);
  BOOST_TEST((statuses["o-1"] == order_status::accepted));
  BOOST_TEST((statuses["o-2"] == order_status::dispatched));
  BOOST_TEST((statuses["o-4"] == order_status::unknown));
  BOOST_TEST(db.load_unfinished_of({}).empty());
}

BOOST_AUTO_TEST_CASE(the_bench_counts_a_runs_final_orders_and_no_others) {
  order_store db{cfg};
  db.insert({stored_order("o-1", "run-a-1", 1), stored_order("o-2", "run-a-2", 2),
             stored_order("o-3", "run-a-3", 3, order_status::succeeded),
             stored_order("o-4", "run-a-4", 4, order_status::failed),
             stored_order("o-5", "run-a-5", 5, order_status::unknown),
             stored_order("o-6", "run-b-1", 6, order_status::succeeded),
             stored_order("o-7", "run-b-2", 7)});
  db.apply({{"o-2", order_status::accepted, order_event::dispatch, 10, "p-cmcc", 1, "o-2/p-cmcc",
             "", ""}});
  bench::store_reader reader{cfg};
  BOOST_TEST(reader.count_terminal("run-a-") == 2u);
  BOOST_TEST(reader.count_terminal("run-b-") == 1u);
  BOOST_TEST(reader.count_terminal("run-c-") == 0u);

  db.apply({{"o-2", order_status::dispatched, order_event::succeed, 20, "p-cmcc", 1, "",
             "txn-2", ""}});
  BOOST_TEST(reader.count_terminal("run-a-") == 3u);
  BOOST_TEST(reader.count_terminal("") == 4u);
}

BOOST_AUTO_TEST_CASE(a_database_from_a_newer_build_is_refused) {
  { order_store db{cfg}; }
  *open_session(cfg) << "UPDATE schema_version SET version = 99";
  BOOST_CHECK_EXCEPTION(order_store{cfg}, store_error, [](const store_error& error) {
    return std::string{error.what()}.find("99") != std::string::npos;
  });
}

BOOST_AUTO_TEST_SUITE_END()

#ifndef TOPUP_STORE_TEST_POSTGRESQL
BOOST_AUTO_TEST_SUITE(order_store_on_sqlite_only)

BOOST_AUTO_TEST_CASE(the_file_is_in_wal_mode) {
  temp_dir dir;
  auto cfg = sqlite_store(dir);
  { order_store db{cfg}; }
  soci::session session{soci::sqlite3, "db=" + cfg.sqlite_path};
  std::string journal;
  session << "PRAGMA journal_mode", soci::into(journal);
  BOOST_TEST(journal == "wal");
}

BOOST_AUTO_TEST_CASE(a_search_by_reference_uses_the_unique_index_and_one_by_phone_scans) {
  temp_dir dir;
  auto cfg = sqlite_store(dir);
  { order_store db{cfg}; }
  soci::session session{soci::sqlite3, "db=" + cfg.sqlite_path};
  auto plan_of = [&](const order_filter& filter) {
    std::string plan;
    soci::rowset<soci::row> rows =
      session.prepare << "EXPLAIN QUERY PLAN " + order_reader::list_statement(filter);
    for (const auto& row : rows)
      plan += row.get<std::string>(3) + "\n";
    return plan;
  };
  order_filter by_ref;
  by_ref.client_ref = "web-1001";
  by_ref.merchants = {"shop-a", "shop-b", "shop-c"};
  auto plan = plan_of(by_ref);
  BOOST_TEST(plan.find("SEARCH orders USING INDEX") != std::string::npos, plan);
  BOOST_TEST(plan.find("(merchant=? AND client_ref=?)") != std::string::npos, plan);
  BOOST_TEST(plan.find("SCAN orders") == std::string::npos, plan);
  // Without merchants, and by phone, the table is scanned (README.md, "Web console").
  by_ref.merchants.clear();
  BOOST_TEST(plan_of(by_ref).find("SCAN orders") != std::string::npos, plan_of(by_ref));
  order_filter by_phone;
  by_phone.phone = "13800138000";
  BOOST_TEST(plan_of(by_phone).find("SCAN orders") != std::string::npos, plan_of(by_phone));
}

BOOST_AUTO_TEST_CASE(an_unopenable_path_is_a_store_error) {
  temp_dir dir;
  store_config cfg;
  cfg.sqlite_path = dir.file("missing-dir/orders.db");
  BOOST_CHECK_THROW(order_store{cfg}, store_error);
}

BOOST_AUTO_TEST_CASE(a_corrupt_file_is_a_store_error) {
  temp_dir dir;
  auto cfg = sqlite_store(dir);
  std::ofstream{cfg.sqlite_path} << std::string(8192, 'x');
  BOOST_CHECK_THROW(order_store{cfg}, store_error);
}

BOOST_AUTO_TEST_SUITE_END()
#endif

struct store_actor_fixture : actor_fixture, backend_fixture {};

BOOST_FIXTURE_TEST_SUITE(store_actor_group_commit, store_actor_fixture)

BOOST_AUTO_TEST_CASE(every_concurrent_insert_is_answered_after_its_commit) {
  auto clock = std::make_shared<system_clock>();
  auto store = spawn_store(system, cfg, clock);
  constexpr int requests = 2000;
  for (int i = 0; i < requests; ++i) {
    auto n = std::to_string(i);
    self->send(store, insert_atom::value, std::vector<order>{stored_order("o-" + n, "r-" + n, i)});
  }
  int answered = 0;
  self->receive_for(answered, requests)([&](std::vector<insert_outcome>& outcomes) {
    BOOST_REQUIRE_EQUAL(outcomes.size(), 1u);
    BOOST_TEST(outcomes[0].inserted);
  });
  store_stats stats;
  self->request(store, std::chrono::seconds(5), stats_atom::value)
    .receive([&](store_stats& s) { stats = s; }, [](caf::error& e) { BOOST_FAIL(describe(e)); });
  BOOST_TEST(stats.rows_written == static_cast<uint64_t>(requests));
  BOOST_TEST(stats.commits >= 1u);
  BOOST_TEST(stats.commits <= stats.rows_written);
  BOOST_TEST(stats.healthy);
  self->send_exit(store, caf::exit_reason::user_shutdown);
  self->wait_for(store);
  BOOST_TEST(count_rows() == requests);
}

// Requests that meet in one mailbox pass are written together (on PostgreSQL in one set of
// statements); each requester still hears about its own rows, in its own order.
BOOST_AUTO_TEST_CASE(each_request_of_a_shared_commit_is_answered_for_its_own_rows) {
  auto store = spawn_store(system, cfg, std::make_shared<system_clock>());
  self->request(store, std::chrono::seconds(5), insert_atom::value,
                std::vector<order>{stored_order("o-0", "r-0", 0)})
    .receive([](std::vector<insert_outcome>&) {}, [](caf::error& e) { BOOST_FAIL(describe(e)); });
  std::vector<std::vector<order>> inserts{
    {stored_order("o-1", "r-1", 1), stored_order("o-2", "r-2", 2)},
    {stored_order("o-0-again", "r-0", 0)},  // a resubmission: the stored o-0 comes back
    {stored_order("o-3", "r-3", 3), stored_order("o-4", "r-4", 4), stored_order("o-5", "r-5", 5)}};
  for (const auto& orders : inserts)
    self->send(store, insert_atom::value, orders);
  for (const auto& orders : inserts) {
    self->receive([&](std::vector<insert_outcome>& outcomes) {
      BOOST_REQUIRE_EQUAL(outcomes.size(), orders.size());
      for (size_t i = 0; i < orders.size(); ++i) {
        bool resubmitted = orders[i].id == "o-0-again";
        BOOST_TEST(outcomes[i].inserted == !resubmitted);
        BOOST_TEST(outcomes[i].stored.id == (resubmitted ? "o-0" : orders[i].id));
      }
    });
  }
  auto dispatch = [](const std::string& id) {
    return transition{id, order_status::accepted, order_event::dispatch, 5, "p-cmcc", 1,
                      id + "/p-cmcc", "", ""};
  };
  auto success_from_accepted = transition{"o-3", order_status::accepted, order_event::succeed,
                                          6, "p-cmcc", 1, "", "t-1", ""};
  std::vector<std::vector<transition>> changes{
    {dispatch("o-1")},
    {dispatch("o-unknown"), dispatch("o-2")},
    {success_from_accepted, dispatch("o-4"), dispatch("o-5")}};
  std::vector<std::vector<bool>> expected{{true}, {false, true}, {false, true, true}};
  for (const auto& batch : changes)
    self->send(store, transition_atom::value, batch);
  for (const auto& applied_expected : expected)
    self->receive([&](std::vector<bool>& applied) { BOOST_TEST(applied == applied_expected); });
  self->send_exit(store, caf::exit_reason::user_shutdown);
  self->wait_for(store);
  BOOST_TEST(count_rows() == 6);
  BOOST_TEST(count_rows("attempts") == 4);
}

#ifndef TOPUP_STORE_TEST_POSTGRESQL
BOOST_AUTO_TEST_CASE(an_unopenable_store_answers_unavailable_and_stays_alive) {
  cfg.sqlite_path = dir.file("missing-dir/orders.db");
  auto store = spawn_store(system, cfg, std::make_shared<system_clock>());
  for (int round = 0; round < 3; ++round) {
    self->request(store, std::chrono::seconds(5), insert_atom::value,
                  std::vector<order>{stored_order("o-1", "r-1")})
      .receive([](std::vector<insert_outcome>&) { BOOST_FAIL("insert must fail"); },
               [](caf::error& e) {
                 auto f = as_failure(e);
                 BOOST_REQUIRE(f);
                 BOOST_TEST((f->code == errc::unavailable));
               });
  }
  // Once the directory exists the store recovers without a restart, within its backoff.
  std::filesystem::create_directory(dir.file("missing-dir"));
  std::this_thread::sleep_for(store_reopen_backoff.cap + milliseconds(100));
  self->request(store, std::chrono::seconds(5), insert_atom::value,
                std::vector<order>{stored_order("o-1", "r-1")})
    .receive([](std::vector<insert_outcome>& outcomes) { BOOST_TEST(outcomes[0].inserted); },
             [](caf::error& e) { BOOST_FAIL(describe(e)); });
  self->send_exit(store, caf::exit_reason::user_shutdown);
  self->wait_for(store);
}
BOOST_AUTO_TEST_CASE(new_orders_commit_ahead_of_state_changes_and_never_fail_with_them) {
  auto store = spawn_store(system, cfg, std::make_shared<system_clock>());
  self->request(store, std::chrono::seconds(5), insert_atom::value,
                std::vector<order>{stored_order("o-refused", "r-refused")})
    .receive([](std::vector<insert_outcome>&) {}, [](caf::error& e) { BOOST_FAIL(describe(e)); });
  // Any change to o-refused fails its statement, and so the transaction it is in.
  auto admin = open_session(cfg);
  *admin << "CREATE TRIGGER refuse_changes BEFORE UPDATE ON orders WHEN OLD.id = 'o-refused'"
            " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END";
  // While another connection holds the write lock, the store's commit of o-1 waits; the
  // insert of o-2 and the change to o-refused arrive meanwhile and meet in its next commit.
  *admin << "BEGIN IMMEDIATE";
  auto first = self->request(store, std::chrono::seconds(20), insert_atom::value,
                             std::vector<order>{stored_order("o-1", "r-1")});
  auto second = self->request(store, std::chrono::seconds(20), insert_atom::value,
                              std::vector<order>{stored_order("o-2", "r-2", 2)});
  auto change = self->request(
    store, std::chrono::seconds(20), transition_atom::value,
    std::vector<transition>{{"o-refused", order_status::accepted, order_event::dispatch, 5,
                             "p-cmcc", 1, "o-refused/p-cmcc", "", ""}});
  *admin << "ROLLBACK";
  for (auto* insert : {&first, &second})
    insert->receive(
      [](std::vector<insert_outcome>& outcomes) { BOOST_TEST(outcomes.at(0).inserted); },
      [](caf::error& e) { BOOST_FAIL("a new order failed with a state change: " << describe(e)); });
  change.receive([](std::vector<bool>&) { BOOST_FAIL("the trigger refuses this change"); },
                 [](caf::error& e) { BOOST_TEST((as_failure(e)->code == errc::unavailable)); });
  self->send_exit(store, caf::exit_reason::user_shutdown);
  self->wait_for(store);
  BOOST_TEST(count_rows() == 3);
}
#endif

#ifdef TOPUP_STORE_TEST_POSTGRESQL
namespace {

/// The server processes of the store's connections named `application` (pg_stat_activity),
/// optionally only those waiting for a lock.
std::set<int> store_backends(soci::session& session, const std::string& application,
                             bool waiting_for_lock) {
  std::vector<int> pids(100);
  std::string lock_only = waiting_for_lock ? "lock" : "";
  session << "SELECT pid FROM pg_stat_activity WHERE application_name = :application"
             " AND (:lock_only = '' OR wait_event_type = 'Lock')",
    soci::use(application), soci::use(lock_only), soci::into(pids);
  return {pids.begin(), pids.end()};
}

/// Waits (bounded) until `count` backends named `application` satisfy `waiting_for_lock`.
std::set<int> wait_for_backends(soci::session& session, const std::string& application,
                                size_t count, bool waiting_for_lock) {
  auto backends = store_backends(session, application, waiting_for_lock);
  for (int i = 0; i < 500 && backends.size() != count; ++i) {
    std::this_thread::sleep_for(milliseconds(20));
    backends = store_backends(session, application, waiting_for_lock);
  }
  return backends;
}

std::set<int> wait_for_reader_backends(soci::session& session, size_t count,
                                       bool waiting_for_lock = false) {
  return wait_for_backends(session, "topup-store-reader", count, waiting_for_lock);
}

void insert_through(caf::scoped_actor& self, const store_actor& store,
                    std::vector<order> orders) {
  self->request(store, std::chrono::seconds(10), insert_atom::value, std::move(orders))
    .receive([](std::vector<insert_outcome>&) {}, [](caf::error& e) { BOOST_FAIL(describe(e)); });
}

} // namespace

BOOST_AUTO_TEST_CASE(reads_wait_on_their_own_connections_while_the_store_goes_on) {
  cfg.read_connections = 4;
  auto store = spawn_store(system, cfg, std::make_shared<system_clock>());
  std::vector<order> orders;
  for (int i = 0; i < 4; ++i)
    orders.push_back(stored_order("o-" + std::to_string(i), "r-" + std::to_string(i), i));
  insert_through(self, store, orders);

  // Another session holds the orders table, so every read waits for it where it runs.
  auto holder = open_session(cfg);
  soci::transaction held{*holder};
  *holder << "LOCK TABLE orders IN ACCESS EXCLUSIVE MODE";
  std::vector<decltype(self->request(store, std::chrono::seconds(30), caf::get_atom::value,
                                     std::string{}))>
    reads;
  for (int i = 0; i < 4; ++i)
    reads.push_back(self->request(store, std::chrono::seconds(30), caf::get_atom::value,
                                  "o-" + std::to_string(i)));
  auto observer = open_session(cfg);
  auto waiting = wait_for_reader_backends(*observer, 4, /*waiting_for_lock=*/true);
  BOOST_TEST(waiting.size() == 4u, "reads waiting on distinct connections: " << waiting.size());

  // Meanwhile the store answers and commits: stats, and a state change (refused as illegal,
  // so it needs no lock on the held table) in a transaction of its own.
  self->request(store, std::chrono::seconds(2), stats_atom::value)
    .receive([](store_stats& stats) { BOOST_TEST(stats.healthy); },
             [](caf::error& e) { BOOST_FAIL("stats while reads wait: " << describe(e)); });
  self->request(store, std::chrono::seconds(2), transition_atom::value,
                std::vector<transition>{{"o-0", order_status::accepted, order_event::succeed, 5,
                                         "p-cmcc", 1, "", "txn", ""}})
    .receive([](std::vector<bool>& applied) { BOOST_TEST(applied == std::vector<bool>{false}); },
             [](caf::error& e) { BOOST_FAIL("commit while reads wait: " << describe(e)); });

  held.rollback();
  for (int i = 0; i < 4; ++i)
    reads[static_cast<size_t>(i)].receive(
      [&](order& o) { BOOST_TEST(o.id == "o-" + std::to_string(i)); },
      [](caf::error& e) { BOOST_FAIL(describe(e)); });
  self->send_exit(store, caf::exit_reason::user_shutdown);
  self->wait_for(store);
}

BOOST_AUTO_TEST_CASE(new_orders_are_answered_while_a_state_change_waits_for_a_lock) {
  auto store = spawn_store(system, cfg, std::make_shared<system_clock>());
  insert_through(self, store, {stored_order("o-1", "r-1")});
  // Another session holds o-1's row, so the state change of o-1 waits in its commit.
  auto holder = open_session(cfg);
  soci::transaction held{*holder};
  *holder << "SELECT id FROM orders WHERE id = 'o-1' FOR UPDATE";
  auto change = self->request(
    store, std::chrono::seconds(30), transition_atom::value,
    std::vector<transition>{{"o-1", order_status::accepted, order_event::dispatch, 5, "p-cmcc",
                             1, "o-1/p-cmcc", "", ""}});
  auto observer = open_session(cfg);
  BOOST_TEST_REQUIRE(wait_for_backends(*observer, "topup-store-writer", 1, true).size() == 1u,
                     "the state change waits for the row lock");

  // Meanwhile new orders are acknowledged: they are written on a connection of their own.
  self->request(store, std::chrono::seconds(5), insert_atom::value,
                std::vector<order>{stored_order("o-2", "r-2", 2), stored_order("o-3", "r-3", 3)})
    .receive(
      [](std::vector<insert_outcome>& outcomes) {
        BOOST_REQUIRE_EQUAL(outcomes.size(), 2u);
        BOOST_TEST(outcomes[0].inserted);
        BOOST_TEST(outcomes[1].inserted);
      },
      [](caf::error& e) { BOOST_FAIL("new orders waited behind a state change: " << describe(e)); });
  std::string status;
  *observer << "SELECT status FROM orders WHERE id = 'o-1'", soci::into(status);
  BOOST_TEST(status == "accepted", "the state change is still waiting");

  held.rollback();
  change.receive([](std::vector<bool>& applied) { BOOST_TEST(applied == std::vector<bool>{true}); },
                 [](caf::error& e) { BOOST_FAIL(describe(e)); });
  self->request(store, std::chrono::seconds(5), stats_atom::value)
    .receive([](store_stats& stats) { BOOST_TEST(stats.rows_written == 4u); },
             [](caf::error& e) { BOOST_FAIL(describe(e)); });
  self->send_exit(store, caf::exit_reason::user_shutdown);
  self->wait_for(store);
  BOOST_TEST(count_rows() == 3);
}

BOOST_AUTO_TEST_CASE(readers_whose_connections_were_killed_read_on_new_ones) {
  cfg.read_connections = 2;
  auto store = spawn_store(system, cfg, std::make_shared<system_clock>());
  insert_through(self, store, {stored_order("o-1", "r-1")});
  auto get_order = [&] {
    std::string found;
    self->request(store, std::chrono::seconds(10), caf::get_atom::value, std::string{"o-1"})
      .receive([&](order& o) { found = o.id; },
               [&](caf::error& e) { found = describe(e); });
    return found;
  };
  BOOST_TEST(get_order() == "o-1");
  auto admin = open_session(cfg);
  auto killed = wait_for_reader_backends(*admin, 2);
  BOOST_REQUIRE_EQUAL(killed.size(), 2u);
  *admin << "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = 'topup-store-reader'";
  BOOST_TEST(wait_for_reader_backends(*admin, 0).empty());

  // Every reader finds its connection dead on its next read and reads on a new one.
  for (int i = 0; i < 6; ++i)
    BOOST_TEST(get_order() == "o-1", "read " << i);
  auto reopened = wait_for_reader_backends(*admin, 2);
  BOOST_TEST(reopened.size() == 2u);
  for (int pid : reopened)
    BOOST_TEST(killed.count(pid) == 0u, "backend " << pid << " was terminated");
  self->send_exit(store, caf::exit_reason::user_shutdown);
  self->wait_for(store);
}

BOOST_AUTO_TEST_CASE(a_failing_read_answers_unavailable_without_bound_values_then_recovers) {
  cfg.read_connections = 2;
  auto store = spawn_store(system, cfg, std::make_shared<system_clock>());
  const std::string phone_like_ref = "13812345678";
  insert_through(self, store, {stored_order("o-1", phone_like_ref)});
  *open_session(cfg) << "ALTER TABLE orders RENAME TO orders_away";
  for (int i = 0; i < 2; ++i)
    self->request(store, std::chrono::seconds(10), find_ref_atom::value, std::string{}, phone_like_ref)
      .receive([](order&) { BOOST_FAIL("the orders table is away"); },
               [&](caf::error& e) {
                 auto failure = as_failure(e);
                 BOOST_REQUIRE(failure);
                 BOOST_TEST((failure->code == errc::unavailable));
                 BOOST_TEST(failure->reason.find("cannot read") != std::string::npos,
                            failure->reason);
                 BOOST_TEST(failure->reason.find(phone_like_ref) == std::string::npos,
                            failure->reason);
               });
  *open_session(cfg) << "ALTER TABLE orders_away RENAME TO orders";
  // Each reader opens a new connection once its backoff after the failures has run.
  std::this_thread::sleep_for(store_reopen_backoff.cap + milliseconds(100));
  for (int i = 0; i < 2; ++i)
    self->request(store, std::chrono::seconds(10), find_ref_atom::value, std::string{}, phone_like_ref)
      .receive([](order& o) { BOOST_TEST(o.id == "o-1"); },
               [](caf::error& e) { BOOST_FAIL(describe(e)); });
  self->send_exit(store, caf::exit_reason::user_shutdown);
  self->wait_for(store);
}
#endif

#ifndef TOPUP_STORE_TEST_POSTGRESQL
// On PostgreSQL new orders are written on a connection of their own (see
// new_orders_are_answered_while_a_state_change_waits_for_a_lock), so a change sent before
// its order's acknowledgement may arrive first; the engine never sends one.
BOOST_AUTO_TEST_CASE(inserts_and_transitions_share_commits_in_arrival_order) {
  auto store = spawn_store(system, cfg, std::make_shared<system_clock>());
  self->send(store, insert_atom::value, std::vector<order>{stored_order("o-1", "r-1")});
  self->send(store, transition_atom::value,
             std::vector<transition>{{"o-1", order_status::accepted, order_event::dispatch, 5,
                                      "p-cmcc", 1, "o-1/p-cmcc", "", ""}});
  int answers = 0;
  self->receive_for(answers, 2)(
    [](std::vector<insert_outcome>& outcomes) { BOOST_TEST(outcomes[0].inserted); },
    [](std::vector<bool>& applied) { BOOST_TEST(applied == std::vector<bool>{true}); });
  self->send_exit(store, caf::exit_reason::user_shutdown);
  self->wait_for(store);
  BOOST_TEST(count_rows("attempts") == 1);
}
#endif

BOOST_AUTO_TEST_CASE(a_read_sees_every_write_sent_before_it) {
  // On PostgreSQL the reads run on the store's read connections, not on the session that
  // commits: they must still start after the writes before them are committed. There a new
  // order counts once it is acknowledged (it is written on a connection of its own).
#ifdef TOPUP_STORE_TEST_POSTGRESQL
  constexpr bool await_insert = true;
#else
  constexpr bool await_insert = false;
#endif
  auto store = spawn_store(system, cfg, std::make_shared<system_clock>());
  constexpr int orders = 200;
  const auto timeout = std::chrono::seconds(10);
  for (int i = 0; i < orders; ++i) {
    auto n = std::to_string(i);
    auto insert = self->request(store, timeout, insert_atom::value,
                                std::vector<order>{stored_order("o-" + n, "r-" + n, i)});
    auto inserted = [](std::vector<insert_outcome>& outcomes) {
      BOOST_TEST(outcomes[0].inserted);
    };
    auto failed = [](caf::error& e) { BOOST_FAIL(describe(e)); };
    if (await_insert)
      insert.receive(inserted, failed);
    auto dispatch = self->request(
      store, timeout, transition_atom::value,
      std::vector<transition>{{"o-" + n, order_status::accepted, order_event::dispatch, 5,
                               "p-cmcc", 1, "o-" + n + "/p-cmcc", "", ""}});
    auto by_id = self->request(store, timeout, caf::get_atom::value, "o-" + n);
    auto by_ref = self->request(store, timeout, find_ref_atom::value, std::string{}, "r-" + n);
    auto counts = self->request(store, timeout, stats_atom::value, list_atom::value);
    // Answers to reads first: a read that ran before the commit would not see the order.
    by_id.receive(
      [&](order& o) { BOOST_TEST((o.status == order_status::dispatched), "order " << n); },
      [&](caf::error& e) { BOOST_FAIL("order " << n << ": " << describe(e)); });
    by_ref.receive([&](order& o) { BOOST_TEST(o.id == "o-" + n); },
                   [&](caf::error& e) { BOOST_FAIL("order " << n << ": " << describe(e)); });
    counts.receive(
      [&](std::vector<status_count>& by_status) {
        BOOST_REQUIRE_EQUAL(by_status.size(), 1u);
        BOOST_TEST(by_status[0].status == "dispatched");
        BOOST_TEST(by_status[0].count == static_cast<uint64_t>(i + 1));
      },
      [&](caf::error& e) { BOOST_FAIL(describe(e)); });
    if (!await_insert)
      insert.receive(inserted, failed);
    dispatch.receive([](std::vector<bool>& applied) { BOOST_TEST(applied[0]); }, failed);
  }
  self->send_exit(store, caf::exit_reason::user_shutdown);
  self->wait_for(store);
}

BOOST_AUTO_TEST_CASE(reads_find_orders_and_report_missing_ones) {
  auto store = spawn_store(system, cfg, std::make_shared<system_clock>());
  self->request(store, std::chrono::seconds(5), insert_atom::value,
                std::vector<order>{stored_order("o-1", "r-1")})
    .receive([](std::vector<insert_outcome>&) {}, [](caf::error& e) { BOOST_FAIL(describe(e)); });
  self->request(store, std::chrono::seconds(5), caf::get_atom::value, std::string{"o-1"})
    .receive([](order& o) { BOOST_TEST(o.client_ref == "r-1"); },
             [](caf::error& e) { BOOST_FAIL(describe(e)); });
  self->request(store, std::chrono::seconds(5), find_ref_atom::value, std::string{}, std::string{"r-1"})
    .receive([](order& o) { BOOST_TEST(o.id == "o-1"); },
             [](caf::error& e) { BOOST_FAIL(describe(e)); });
  self->request(store, std::chrono::seconds(5), caf::get_atom::value, std::string{"nope"})
    .receive([](order&) { BOOST_FAIL("no such order"); },
             [](caf::error& e) { BOOST_TEST((as_failure(e)->code == errc::not_found)); });
  self->request(store, std::chrono::seconds(5), load_atom::value)
    .receive([](std::vector<order>& orders) { BOOST_TEST(orders.size() == 1u); },
             [](caf::error& e) { BOOST_FAIL(describe(e)); });
  self->send_exit(store, caf::exit_reason::user_shutdown);
  self->wait_for(store);
}

BOOST_AUTO_TEST_SUITE_END()
