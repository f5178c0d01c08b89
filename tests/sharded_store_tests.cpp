#ifdef TOPUP_STORE_TEST_POSTGRESQL
#define BOOST_TEST_MODULE sharded_store_tests_postgresql
#else
#define BOOST_TEST_MODULE sharded_store_tests
#endif
#include <boost/test/unit_test.hpp>

// A store split into shards behind its front actor, answering as a one-file SQLite store
// does. SQLite: one file per shard. Built again with TOPUP_STORE_TEST_POSTGRESQL: the shards
// are writers on the tests' PostgreSQL, one database, and a real topup-node runs on it.

#include "domain/order_id.hpp"
#include "domain/retention.hpp"
#include "domain/store_shards.hpp"
#include "messages/errors.hpp"
#include "persistence/callback_outbox.hpp"
#include "persistence/order_store.hpp"
#include "persistence/schema.hpp"
#include "persistence/sql_backend.hpp"
#include "persistence/store_actor.hpp"
#include "persistence/store_layout.hpp"
#include "persistence/store_maintenance.hpp"
#include "tests/backend_fixture.hpp"
#include "tests/test_support.hpp"
#ifdef TOPUP_STORE_TEST_POSTGRESQL
#include "tests/order_polling.hpp"
#include "tests/process_support.hpp"
#endif

#include <soci/soci.h>

#include <filesystem>
#include <set>
#include <thread>

using namespace topup;
using namespace topup::testing;

namespace {

#ifdef TOPUP_STORE_TEST_POSTGRESQL
constexpr bool on_postgresql = true;
#else
constexpr bool on_postgresql = false;
#endif

constexpr size_t shards = 3;
constexpr int64_t base_ms = 1'700'000'000'000;
constexpr auto wait = std::chrono::seconds(10);

merchant_directory callback_merchants() {
  merchant shop{"shop", "s", "http://127.0.0.1:9/shop/notify", {}};
  return merchant_directory{{shop}, "shop"};
}

/// `count` new orders of merchant "shop", with ids as intake makes them for `shard_count`
/// shards; accepted, deadlines and keys chosen so that pages have ties to break.
std::vector<order> new_orders(size_t count, size_t shard_count, const std::string& prefix = "r") {
  order_id_generator ids{prefix, 1, shard_count};
  std::vector<order> orders;
  for (size_t i = 0; i < count; ++i) {
    auto ref = prefix + "-" + std::to_string(i);
    auto o = stored_order("", ref, i);
    o.merchant = "shop";
    o.id = ids.next_for(o.merchant, ref);
    o.accepted_at_ms = base_ms + static_cast<int64_t>(i % 7);
    o.deadline_ms = o.accepted_at_ms + 180000 + static_cast<int64_t>(i % 5);
    o.updated_at_ms = o.accepted_at_ms;
    o.ingress = "redis";
    orders.push_back(o);
  }
  return orders;
}

/// Dispatches every order to provider p (attempt 1), then lets every third succeed.
std::vector<std::vector<transition>> story_of(const std::vector<order>& orders) {
  std::vector<transition> dispatches, outcomes;
  for (size_t i = 0; i < orders.size(); ++i) {
    const auto& id = orders[i].id;
    auto at = base_ms + 100 + static_cast<int64_t>(i % 4);
    dispatches.push_back({id, order_status::accepted, order_event::dispatch, at, "p-cmcc", 1,
                          "req-" + id, "", ""});
    if (i % 3 == 0)
      outcomes.push_back({id, order_status::dispatched, order_event::succeed, at + 50, "p-cmcc",
                          1, "", "txn-" + id, ""});
  }
  return {dispatches, outcomes};
}

/// A store of its own: a new SQLite file `name` in `dir`, or the tests' PostgreSQL emptied
/// (whatever store the test opened there before is gone).
store_config empty_store(const temp_dir& dir, const std::string& name) {
  return on_postgresql ? empty_postgresql_store() : sqlite_store(dir, name);
}

/// `orders` written as a build of schema 11 (before shards) left them: accepted, no layout.
void write_before_shards(const store_config& cfg, const std::vector<order>& orders) {
  auto session = open_session(cfg);
  migrate(*session, 11, cfg.default_merchant);
  for (const auto& o : orders) {
    long long amount = o.amount_fen, accepted = o.accepted_at_ms, deadline = o.deadline_ms;
    *session << "INSERT INTO orders (id, client_ref, phone, carrier, amount_fen, status,"
                " accepted_at_ms, deadline_ms, updated_at_ms, history, merchant)"
                " VALUES (:id, :ref, :phone, :carrier, :amount, 'accepted', :accepted,"
                " :deadline, :accepted, '', :merchant)",
      soci::use(o.id, "id"), soci::use(o.client_ref, "ref"), soci::use(o.phone, "phone"),
      soci::use(o.carrier, "carrier"), soci::use(amount, "amount"),
      soci::use(accepted, "accepted"), soci::use(deadline, "deadline"),
      soci::use(o.merchant, "merchant");
  }
}

struct sharded_fixture : actor_fixture {
  temp_dir dir;
  /// The store of several shards under test.
  store_config cfg = empty_store(dir, "topup.db");
  /// What one store answers, to compare with: always one SQLite file.
  store_config single = sqlite_store(dir, "single.db");

  sharded_fixture() {
    cfg.merchants = callback_merchants();
    cfg.default_merchant = "shop";
    single.merchants = cfg.merchants;
    single.default_merchant = "shop";
    cfg.shards = shards;
    single.shards = 1;
    cfg = open_store_shards(cfg);
    single = open_store_shards(single);
  }

  template <class T, class... Ts>
  T ask(const store_actor& store, Ts... xs) {
    T answer{};
    self->request(store, wait, xs...)
      .receive([&](T& reply) { answer = std::move(reply); },
               [](caf::error& e) { BOOST_FAIL(describe(e)); });
    return answer;
  }

  void stop(const store_actor& store) {
    self->send_exit(store, caf::exit_reason::user_shutdown);
    self->wait_for(store);
  }

  /// The same orders and changes written to the sharded store and to a one-file store.
  std::pair<store_actor, store_actor> both_with(const std::vector<order>& orders) {
    auto sharded = spawn_store(system, cfg, std::make_shared<system_clock>());
    auto plain = spawn_store(system, single, std::make_shared<system_clock>());
    for (const auto& store : {sharded, plain}) {
      ask<std::vector<insert_outcome>>(store, insert_atom::value, orders);
      for (auto& changes : story_of(orders)) {
        auto applied = ask<std::vector<bool>>(store, transition_atom::value, changes);
        BOOST_TEST(std::count(applied.begin(), applied.end(), true)
                   == static_cast<long>(changes.size()));
      }
    }
    return {sharded, plain};
  }

  /// both_with(orders), the stores stopped: the files hold them.
  void write_both(const std::vector<order>& orders) {
    auto [sharded, plain] = both_with(orders);
    stop(sharded);
    stop(plain);
  }
};

/// Every unfinished order, read page by page (`limit` each) through `read_page`, the way
/// start-up recovery reads them.
template <class ReadPage>
std::set<std::string> recovered_by_pages(ReadPage read_page, uint32_t limit) {
  std::set<std::string> recovered;
  int64_t after_deadline = std::numeric_limits<int64_t>::min();
  std::string after_id;
  for (int page = 0; page < 100; ++page) {
    auto got = read_page(after_deadline, after_id, limit);
    for (const auto& o : got)
      recovered.insert(o.id);
    if (got.size() < limit)
      break;
    after_deadline = got.back().deadline_ms;
    after_id = got.back().id;
  }
  return recovered;
}

std::vector<std::string> ids_of(const std::vector<order>& orders) {
  std::vector<std::string> ids;
  for (const auto& o : orders)
    ids.push_back(o.id);
  return ids;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(sharded_store, sharded_fixture)

BOOST_AUTO_TEST_CASE(new_orders_spread_over_the_shard_files_each_where_its_key_places_it) {
  BOOST_TEST(cfg.shards == shards);
  auto store = spawn_store(system, cfg, std::make_shared<system_clock>());
  auto orders = new_orders(60, shards);
  auto outcomes = ask<std::vector<insert_outcome>>(store, insert_atom::value, orders);
  BOOST_REQUIRE_EQUAL(outcomes.size(), orders.size());
  for (size_t i = 0; i < orders.size(); ++i) {
    BOOST_TEST(outcomes[i].inserted);
    BOOST_TEST(outcomes[i].stored.id == orders[i].id);
  }
  stop(store);
  if (on_postgresql) {
    // One database, which every shard's writer reaches: each reads every order.
    for (size_t shard = 0; shard < shards; ++shard)
      BOOST_TEST(order_reader{shard_config(cfg, shard)}.count_orders() == orders.size());
    return;
  }
  uint64_t total = 0;
  for (size_t shard = 0; shard < shards; ++shard) {
    auto file = shard_file(cfg.sqlite_path, shard);
    BOOST_TEST(std::filesystem::exists(file));
    order_store db{shard_config(cfg, shard)};
    auto held = db.count_orders();
    BOOST_TEST_CONTEXT("shard " << shard) { BOOST_TEST(held > 5u); }
    total += held;
    for (const auto& o : orders)
      BOOST_TEST(db.find_by_id(o.id).has_value()
                 == (shard_of_key(o.merchant, o.client_ref, shards) == shard));
  }
  BOOST_TEST(total == orders.size());
}

BOOST_AUTO_TEST_CASE(a_resubmitted_key_returns_the_order_stored_first) {
  auto store = spawn_store(system, cfg, std::make_shared<system_clock>());
  auto first = new_orders(20, shards);
  ask<std::vector<insert_outcome>>(store, insert_atom::value, first);
  // The same keys again under new ids (another intake), mixed with new keys, in one batch.
  auto again = new_orders(20, shards);
  for (auto& o : again)
    o.id = "again-" + o.id;
  auto fresh = new_orders(10, shards, "fresh");
  auto batch = again;
  batch.insert(batch.begin() + 5, fresh.begin(), fresh.end());
  auto outcomes = ask<std::vector<insert_outcome>>(store, insert_atom::value, batch);
  BOOST_REQUIRE_EQUAL(outcomes.size(), batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    bool is_fresh = batch[i].client_ref.rfind("fresh", 0) == 0;
    BOOST_TEST(outcomes[i].inserted == is_fresh);
    BOOST_TEST(outcomes[i].stored.client_ref == batch[i].client_ref);
    if (!is_fresh)
      BOOST_TEST(outcomes[i].stored.id == batch[i].id.substr(6));
  }
  for (const auto& o : first) {
    BOOST_TEST(ask<order>(store, find_ref_atom::value, std::string{"shop"}, o.client_ref).id == o.id);
    // No merchant named: the default one's.
    BOOST_TEST(ask<order>(store, find_ref_atom::value, std::string{}, o.client_ref).id == o.id);
  }
  stop(store);
}

BOOST_AUTO_TEST_CASE(changes_land_on_the_shard_of_their_order) {
  auto orders = new_orders(30, shards);
  auto [sharded, plain] = both_with(orders);
  for (size_t i = 0; i < orders.size(); ++i) {
    auto found = ask<order>(sharded, caf::get_atom::value, orders[i].id);
    BOOST_TEST((found.status == (i % 3 == 0 ? order_status::succeeded : order_status::dispatched)));
    auto history = ask<order_history>(sharded, history_atom::value, orders[i].id);
    BOOST_TEST(history.snapshot.id == orders[i].id);
    auto expected = ask<order_history>(plain, history_atom::value, orders[i].id);
    BOOST_TEST(history.entries.size() == expected.entries.size());
  }
  self->request(sharded, wait, caf::get_atom::value, std::string{"t-1-zz.2"})
    .receive([](order&) { BOOST_FAIL("no such order"); },
             [](caf::error& e) { BOOST_TEST((as_failure(e)->code == errc::not_found)); });
  auto stats = ask<store_stats>(sharded, stats_atom::value);
  BOOST_TEST(stats.rows_written == orders.size() + orders.size() + orders.size() / 3);
  BOOST_TEST(stats.healthy);
  stop(sharded);
  stop(plain);
}

BOOST_AUTO_TEST_CASE(reads_across_shards_answer_what_one_store_would) {
  auto orders = new_orders(50, shards);
  auto [sharded, plain] = both_with(orders);
  auto same = [&](auto type_tag, auto... request) {
    using T = decltype(type_tag);
    auto expected = ask<T>(plain, request...);
    auto got = ask<T>(sharded, request...);
    BOOST_TEST(ids_of(got) == ids_of(expected), boost::test_tools::per_element());
    return got;
  };
  // The bulk reads order by deadline alone, ties in no particular order.
  auto same_by_deadline = [&](auto... request) {
    auto expected = ask<std::vector<order>>(plain, request...);
    auto got = ask<std::vector<order>>(sharded, request...);
    BOOST_TEST(std::is_sorted(got.begin(), got.end(), [](const order& a, const order& b) {
      return a.deadline_ms < b.deadline_ms;
    }));
    auto got_ids = ids_of(got), expected_ids = ids_of(expected);
    std::sort(got_ids.begin(), got_ids.end());
    std::sort(expected_ids.begin(), expected_ids.end());
    BOOST_TEST(got_ids == expected_ids, boost::test_tools::per_element());
    return got.size();
  };
  BOOST_TEST(same_by_deadline(load_atom::value) == 33u);
  // Every page of the start-up recovery.
  auto recovered = recovered_by_pages(
    [&](int64_t after_deadline, const std::string& after_id, uint32_t limit) {
      return same(std::vector<order>{}, load_atom::value, after_deadline, after_id, limit);
    },
    7);
  BOOST_TEST(recovered.size() == 33u);
  order_filter newest;
  newest.limit = 12;
  same(std::vector<order>{}, list_atom::value, newest);
  newest.oldest_first = true;
  same(std::vector<order>{}, list_atom::value, newest);
  newest.status = "succeeded";
  newest.limit = 100;
  BOOST_TEST(same(std::vector<order>{}, list_atom::value, newest).size() == 17u);
  // Results of the ingress, page by page.
  final_orders_page page{"redis", 0, "", base_ms + 1000, 4};
  size_t finals = 0;
  for (int round = 0; round < 20; ++round) {
    auto got = same(std::vector<order>{}, load_atom::value, page);
    finals += got.size();
    if (got.size() < page.limit)
      break;
    page.after_ms = got.back().updated_at_ms;
    page.after_id = got.back().id;
  }
  BOOST_TEST(finals == 17u);
  auto counts = ask<std::vector<status_count>>(sharded, stats_atom::value, list_atom::value);
  auto expected_counts = ask<std::vector<status_count>>(plain, stats_atom::value, list_atom::value);
  BOOST_REQUIRE_EQUAL(counts.size(), expected_counts.size());
  for (size_t i = 0; i < counts.size(); ++i) {
    BOOST_TEST(counts[i].status == expected_counts[i].status);
    BOOST_TEST(counts[i].count == expected_counts[i].count);
  }
  // Reconciliation's pages of attempts.
  attempt_query query{"p-cmcc", base_ms, base_ms + 1000};
  query.limit = 6;
  size_t attempts = 0;
  for (int round = 0; round < 20; ++round) {
    auto expected = ask<std::vector<attempt_record>>(plain, attempts_atom::value, query);
    auto got = ask<std::vector<attempt_record>>(sharded, attempts_atom::value, query);
    BOOST_REQUIRE_EQUAL(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i)
      BOOST_TEST(got[i].order_id == expected[i].order_id);
    attempts += got.size();
    if (got.size() < query.limit)
      break;
    query.after_started_ms = got.back().started_at_ms;
    query.after_order_id = got.back().order_id;
    query.after_attempt_no = got.back().attempt_no;
  }
  BOOST_TEST(attempts == orders.size());
  // Result writer cursors.
  ask<ack_atom>(sharded, cursor_atom::value, std::string{"redis"}, int64_t{42});
  BOOST_TEST(ask<int64_t>(sharded, cursor_atom::value, std::string{"redis"}) == 42);
  stop(sharded);
  stop(plain);
}

BOOST_AUTO_TEST_CASE(each_shard_keeps_the_notifications_of_its_orders) {
  auto orders = new_orders(30, shards);
  write_both(orders);
  size_t notifications = 0;
  std::set<size_t> shards_notified;
  // On PostgreSQL the shards share one outbox, which the callback sender reads once.
  for (size_t shard = 0; shard < (on_postgresql ? 1 : shards); ++shard) {
    callback_outbox outbox{shard_config(cfg, shard)};
    for (const auto& row : outbox.all()) {
      auto of_order = shard_of_id(row.delivery.order_id, shards);
      if (!on_postgresql)
        BOOST_TEST(of_order == shard);
      shards_notified.insert(of_order);
      ++notifications;
    }
  }
  BOOST_TEST(notifications == 10u);
  BOOST_TEST(shards_notified.size() == shards);
  // The front finds an order's notifications in its shard.
  auto again = spawn_store(system, cfg, std::make_shared<system_clock>());
  BOOST_TEST(ask<std::vector<callback_record>>(again, deliveries_atom::value, orders[3].id).size()
             == 1u);
  stop(again);
}

BOOST_AUTO_TEST_CASE(unfinished_orders_are_recovered_after_reopening) {
  auto orders = new_orders(40, shards);
  write_both(orders);
  auto reopened = spawn_store(system, open_store_shards(cfg), std::make_shared<system_clock>());
  auto recovered = recovered_by_pages(
    [&](int64_t after_deadline, const std::string& after_id, uint32_t limit) {
      return ask<std::vector<order>>(reopened, load_atom::value, after_deadline, after_id, limit);
    },
    5);
  std::set<std::string> unfinished;
  for (size_t i = 0; i < orders.size(); ++i)
    if (i % 3 != 0)
      unfinished.insert(orders[i].id);
  BOOST_TEST(recovered == unfinished, boost::test_tools::per_element());
  stop(reopened);
}

BOOST_AUTO_TEST_CASE(the_shard_count_is_recorded_and_another_refused) {
  auto unset = cfg;
  unset.shards = 0;
  BOOST_TEST(settle_shard_count(unset) == shards);
  auto other = cfg;
  other.shards = 2;
  BOOST_CHECK_EXCEPTION(settle_shard_count(other), config_error, [](const config_error& e) {
    std::string text = e.what();
    BOOST_TEST_MESSAGE(text);
    return text.find("/store/shards") != std::string::npos
           && text.find("has 3 shards") != std::string::npos;
  });
  BOOST_TEST(settle_shard_count(cfg) == shards);
}

BOOST_AUTO_TEST_CASE(a_new_store_without_a_count_gets_the_machines_default) {
  auto fresh = empty_store(dir, "fresh.db");
  auto settled = open_store_shards(fresh);
  BOOST_TEST(settled.shards == default_shard_count(std::thread::hardware_concurrency()));
  for (size_t shard = 0; shard < settled.shards && !on_postgresql; ++shard)
    BOOST_TEST(std::filesystem::exists(shard_file(fresh.sqlite_path, shard)));
}

BOOST_AUTO_TEST_CASE(a_store_filled_without_a_recorded_count_stays_one_shard) {
  // A program that spawns the store directly (topup-bench in process) never settles a count.
  auto direct = empty_store(dir, "direct.db");
  {
    order_store db{direct};
    db.insert(new_orders(5, 1));
  }
  BOOST_TEST(open_store_shards(direct).shards == 1u);
}

BOOST_AUTO_TEST_CASE(a_store_written_before_shards_opens_as_one_shard) {
  auto old = empty_store(dir, "old.db");
  old.merchants = cfg.merchants;
  old.default_merchant = "shop";
  auto orders = new_orders(10, 1);
  write_before_shards(old, orders);
  auto two = old;
  two.shards = 2;
  BOOST_CHECK_THROW(open_store_shards(two), config_error);
  auto opened = open_store_shards(old);
  BOOST_TEST(opened.shards == 1u);
  if (!on_postgresql)
    BOOST_TEST(!std::filesystem::exists(shard_file(old.sqlite_path, 1)));
  auto store = spawn_store(system, opened, std::make_shared<system_clock>());
  for (const auto& o : orders)
    BOOST_TEST(ask<order>(store, caf::get_atom::value, o.id).client_ref == o.client_ref);
  BOOST_TEST(ask<std::vector<order>>(store, load_atom::value).size() == orders.size());
  stop(store);
  BOOST_TEST(schema_version(*open_session(old)) == current_schema_version);
}

#ifdef TOPUP_STORE_TEST_POSTGRESQL

BOOST_AUTO_TEST_CASE(backup_and_archive_leave_a_postgresql_store_to_the_servers_tools) {
  write_both(new_orders(6, shards));
  BOOST_CHECK_THROW(backup_sqlite_store(cfg, dir.file("backup.db")), store_error);
  archive_settings settings;
  settings.directory = dir.file("archive");
  settings.now_ms = base_ms + 40LL * 24 * 3600 * 1000;
  BOOST_CHECK_THROW(archive_final_orders(cfg, settings), store_error);
  BOOST_TEST(order_reader{cfg}.count_orders() == 6u);
}

#else

BOOST_AUTO_TEST_CASE(a_backup_copies_every_shard_beside_the_first) {
  auto orders = new_orders(40, shards);
  write_both(orders);
  auto destination = dir.file("backup.db");
  auto report = backup_sqlite_store(cfg, destination);
  BOOST_TEST(report.orders == orders.size());
  BOOST_REQUIRE_EQUAL(report.files.size(), shards);
  BOOST_TEST(report.files[1] == dir.file("backup.shard1.db"));
  // Restored: the copies open as the same store of three shards, every order in its place.
  auto restored = cfg;
  restored.sqlite_path = destination;
  restored.shards = 0;
  restored = open_store_shards(restored);
  BOOST_TEST(restored.shards == shards);
  auto store = spawn_store(system, restored, std::make_shared<system_clock>());
  for (const auto& o : orders)
    BOOST_TEST(ask<order>(store, caf::get_atom::value, o.id).client_ref == o.client_ref);
  stop(store);
  BOOST_CHECK_THROW(backup_sqlite_store(cfg, destination), store_error);
}

BOOST_AUTO_TEST_CASE(archiving_moves_the_old_final_orders_of_every_shard) {
  auto orders = new_orders(30, shards);
  {
    auto [sharded, plain] = both_with(orders);
    // The result writer of "redis" resumes before the last successes: those stay.
    ask<ack_atom>(sharded, cursor_atom::value, std::string{"redis"}, base_ms + 153);
    stop(sharded);
    stop(plain);
  }
  // Every success was notified; the merchant was told of all but the first one's.
  for (size_t shard = 0; shard < shards; ++shard) {
    callback_outbox outbox{shard_config(cfg, shard)};
    std::vector<callback_attempt> told;
    for (const auto& row : outbox.all())
      if (row.delivery.order_id != orders[0].id)
        told.push_back({row.delivery.delivery_id, callback_state::delivered, base_ms + 500,
                        base_ms + 500, 200, ""});
    outbox.record(told);
  }
  archive_settings settings;
  settings.directory = dir.file("archive");
  settings.now_ms = base_ms + 40LL * 24 * 3600 * 1000;
  settings.pause = milliseconds{0};
  auto report = archive_final_orders(cfg, settings);
  auto old_enough = [](size_t i) {
    return i % 3 == 0 && base_ms + 150 + static_cast<int64_t>(i % 4) < base_ms + 153;
  };
  auto moves = [&](size_t i) { return old_enough(i) && i != 0; };
  size_t movable = 0, staying = 0;
  for (size_t i = 0; i < orders.size(); i += 3)
    (moves(i) ? movable : staying)++;
  BOOST_TEST(old_enough(0));
  BOOST_TEST(movable > 0u);
  BOOST_TEST(staying > 1u);
  BOOST_TEST(report.orders == movable);
  BOOST_TEST(report.callbacks == movable);
  BOOST_TEST(report.awaiting_callbacks == 1u);
  BOOST_TEST(report.file == dir.file("archive/" + archive_file_name(settings.now_ms)));
  order_reader archived{sqlite_store(dir, "archive/" + archive_file_name(settings.now_ms))};
  std::set<size_t> shards_emptied;
  for (size_t i = 0; i < orders.size(); ++i) {
    auto shard = shard_of_key(orders[i].merchant, orders[i].client_ref, shards);
    order_store db{shard_config(cfg, shard)};
    BOOST_TEST(db.find_by_id(orders[i].id).has_value() == !moves(i));
    // The notifications went with their orders; the pending one stayed with its order.
    BOOST_TEST(db.callbacks_of(orders[i].id).size() == (i % 3 == 0 && !moves(i) ? 1u : 0u));
    BOOST_TEST(archived.callbacks_of(orders[i].id).size() == (moves(i) ? 1u : 0u));
    if (moves(i))
      shards_emptied.insert(shard);
  }
  BOOST_TEST(shards_emptied.size() > 1u);
}

#endif

BOOST_AUTO_TEST_SUITE_END()

#ifdef TOPUP_STORE_TEST_POSTGRESQL

BOOST_AUTO_TEST_CASE(a_node_on_postgresql_serves_two_shards_and_refuses_another_count_later) {
  using namespace std::chrono_literals;
  temp_dir dir;
  auto database = std::getenv("TOPUP_TEST_POSTGRES");
  BOOST_TEST_REQUIRE(database != nullptr);
  empty_postgresql_store();
  auto node_cfg = test_node_config(dir.path(), free_port());
  node_cfg["store"] = {{"backend", "postgresql"},
                       {"postgresql", {{"connection", database}}},
                       {"shards", 2}};
  // A cluster of one: every dispatch is written under its provider's lease, by the writer
  // of the order's shard.
  node_cfg["cluster"] = {{"heartbeat_interval_ms", 200}, {"down_after_ms", 2000},
                         {"lease_ttl_ms", 2000}};
  write_json(dir.file("node.json"), node_cfg);
  {
    node_process node{TOPUP_NODE, dir.file("node.json"), dir.file("node.log")};
    client_config client_cfg;
    caf::actor_system system{client_cfg};
    caf::scoped_actor self{system};
    auto gateway = connect_gateway(system, node.port());
    BOOST_REQUIRE_MESSAGE(gateway, error_text(gateway));
    std::vector<std::string> ids;
    for (uint64_t n = 0; n < 20; ++n)
      self->request(*gateway, 10s, submit_atom::value, valid_request("pg-" + std::to_string(n), n))
        .receive([&](order& o) { ids.push_back(o.id); },
                 [&](caf::error& e) { BOOST_FAIL("submit refused: " << describe(e)); });
    std::set<size_t> shards_used;
    for (const auto& id : ids)
      shards_used.insert(shard_of_id(id, 2));
    BOOST_TEST(shards_used.size() == 2u);
    auto finals = wait_until_final(ids, 60s, [&](const std::string& id) {
      caf::expected<order> found{caf::make_error(caf::sec::request_timeout)};
      self->request(*gateway, 10s, caf::get_atom::value, id)
        .receive([&](order& o) { found = std::move(o); },
                 [&](caf::error& e) { found = std::move(e); });
      return found;
    });
    for (const auto& [id, o] : finals)
      BOOST_TEST((o.status == order_status::succeeded), id << " is " << to_string(o.status));
    BOOST_TEST(node.terminate(10000ms).value_or(-1) == 0, tail_of(node.log_path()));
    auto log = read_file(node.log_path());
    BOOST_TEST(log.find("has 2 shards") != std::string::npos, tail_of(node.log_path()));
  }
  store_config stored;
  stored.backend = store_config::backend_kind::postgresql;
  stored.postgresql_connection = database;
  BOOST_TEST(order_reader{stored}.count_orders() == 20u);

  node_cfg["store"]["shards"] = 3;
  write_json(dir.file("node.json"), node_cfg);
  auto refused = run_program({TOPUP_NODE, "--config", dir.file("node.json")},
                             dir.file("refused.txt"));
  BOOST_TEST(refused.code.value_or(-1) == 2, refused.describe());
  BOOST_TEST(refused.err.find("/store/shards") != std::string::npos, refused.err);
  BOOST_TEST(refused.err.find("has 2 shards") != std::string::npos, refused.err);
}

#endif
