#define BOOST_TEST_MODULE store_tests
#include <boost/test/unit_test.hpp>

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
  BOOST_TEST(reopened.find_by_ref("ref-1")->id == "o-1");
  BOOST_TEST(!reopened.find_by_id("o-2"));
  BOOST_TEST(!reopened.find_by_ref("ref-2"));
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
  auto session = open_session(cfg);
  std::string outcome, txn;
  long long finished = 0;
  *session << "SELECT outcome, provider_txn, finished_at_ms FROM attempts WHERE order_id = 'o-1'",
    soci::into(outcome), soci::into(txn), soci::into(finished);
  BOOST_TEST(outcome == "succeed");
  BOOST_TEST(txn == "txn-9");
  BOOST_TEST(finished == 20);
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
  BOOST_TEST(count_rows("order_events") == 1);  // expire has no attempt: an event row
  BOOST_TEST(count_rows("attempts") == 0);
}

BOOST_AUTO_TEST_CASE(lists_filter_and_count_orders) {
  order_store db{cfg};
  auto a = stored_order("a", "r-a", 1, order_status::succeeded);
  auto b = stored_order("b", "r-b", 2, order_status::failed);
  auto c = stored_order("c", "r-c", 3, order_status::failed);
  b.accepted_at_ms += 10;
  c.accepted_at_ms += 20;
  c.carrier = "cucc";
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

BOOST_AUTO_TEST_CASE(a_takeover_loads_the_orders_of_its_providers_and_carriers) {
  order_store db{cfg};
  auto waiting_cmcc = stored_order("w-cmcc", "r-1");
  auto waiting_cucc = stored_order("w-cucc", "r-2");
  waiting_cucc.carrier = "cucc";
  auto retried_at_agg = stored_order("r-agg", "r-3");
  retried_at_agg.provider = "p-agg";
  auto in_flight_cmcc = stored_order("d-cmcc", "r-4", 4, order_status::dispatched);
  in_flight_cmcc.provider = "p-cmcc";
  auto done_cmcc = stored_order("s-cmcc", "r-5", 5, order_status::succeeded);
  done_cmcc.provider = "p-cmcc";
  db.insert({waiting_cmcc, waiting_cucc, retried_at_agg, in_flight_cmcc, done_cmcc});
  auto taken = db.load_unfinished(unfinished_filter{{"p-cmcc"}, {"cmcc"}});
  std::set<std::string> ids;
  for (const auto& o : taken)
    ids.insert(o.id);
  // Not the cucc order (another carrier), not the one last tried at p-agg (p-agg's owner
  // has it), not the finished one.
  BOOST_TEST((ids == std::set<std::string>{"w-cmcc", "d-cmcc"}));
}

BOOST_AUTO_TEST_CASE(an_empty_database_is_migrated_to_the_current_schema) {
  { order_store db{cfg}; }
  auto session = open_session(cfg);
  BOOST_TEST(schema_version(*session) == current_schema_version);
  BOOST_TEST(count_rows("attempts") == 0);
  BOOST_TEST(count_rows("order_events") == 0);
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
  // Once the directory exists the store recovers without a restart.
  std::filesystem::create_directory(dir.file("missing-dir"));
  std::this_thread::sleep_for(store_reopen_interval + milliseconds(100));
  self->request(store, std::chrono::seconds(5), insert_atom::value,
                std::vector<order>{stored_order("o-1", "r-1")})
    .receive([](std::vector<insert_outcome>& outcomes) { BOOST_TEST(outcomes[0].inserted); },
             [](caf::error& e) { BOOST_FAIL(describe(e)); });
  self->send_exit(store, caf::exit_reason::user_shutdown);
  self->wait_for(store);
}
#endif

#ifdef TOPUP_STORE_TEST_POSTGRESQL
namespace {

/// The server processes of the store's read connections (pg_stat_activity), optionally only
/// those waiting for a lock.
std::set<int> reader_backends(soci::session& session, bool waiting_for_lock = false) {
  std::vector<int> pids(100);
  std::string lock_only = waiting_for_lock ? "lock" : "";
  session << "SELECT pid FROM pg_stat_activity WHERE application_name = 'topup-store-reader'"
             " AND (:lock_only = '' OR wait_event_type = 'Lock')",
    soci::use(lock_only), soci::into(pids);
  return {pids.begin(), pids.end()};
}

/// Waits (bounded) until `count` reader backends satisfy `waiting_for_lock`.
std::set<int> wait_for_reader_backends(soci::session& session, size_t count,
                                       bool waiting_for_lock = false) {
  auto backends = reader_backends(session, waiting_for_lock);
  for (int i = 0; i < 500 && backends.size() != count; ++i) {
    std::this_thread::sleep_for(milliseconds(20));
    backends = reader_backends(session, waiting_for_lock);
  }
  return backends;
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
    self->request(store, std::chrono::seconds(10), find_ref_atom::value, phone_like_ref)
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
  for (int i = 0; i < 2; ++i)
    self->request(store, std::chrono::seconds(10), find_ref_atom::value, phone_like_ref)
      .receive([](order& o) { BOOST_TEST(o.id == "o-1"); },
               [](caf::error& e) { BOOST_FAIL(describe(e)); });
  self->send_exit(store, caf::exit_reason::user_shutdown);
  self->wait_for(store);
}
#endif

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

BOOST_AUTO_TEST_CASE(a_read_sees_every_write_sent_before_it) {
  // On PostgreSQL the reads run on the store's read connections, not on the session that
  // commits: they must still start after the writes before them are committed.
  auto store = spawn_store(system, cfg, std::make_shared<system_clock>());
  constexpr int orders = 200;
  const auto timeout = std::chrono::seconds(10);
  for (int i = 0; i < orders; ++i) {
    auto n = std::to_string(i);
    auto insert = self->request(store, timeout, insert_atom::value,
                                std::vector<order>{stored_order("o-" + n, "r-" + n, i)});
    auto dispatch = self->request(
      store, timeout, transition_atom::value,
      std::vector<transition>{{"o-" + n, order_status::accepted, order_event::dispatch, 5,
                               "p-cmcc", 1, "o-" + n + "/p-cmcc", "", ""}});
    auto by_id = self->request(store, timeout, caf::get_atom::value, "o-" + n);
    auto by_ref = self->request(store, timeout, find_ref_atom::value, "r-" + n);
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
    insert.receive([](std::vector<insert_outcome>& outcomes) { BOOST_TEST(outcomes[0].inserted); },
                   [](caf::error& e) { BOOST_FAIL(describe(e)); });
    dispatch.receive([](std::vector<bool>& applied) { BOOST_TEST(applied[0]); },
                     [](caf::error& e) { BOOST_FAIL(describe(e)); });
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
  self->request(store, std::chrono::seconds(5), find_ref_atom::value, std::string{"r-1"})
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
