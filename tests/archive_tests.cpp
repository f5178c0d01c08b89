#define BOOST_TEST_MODULE archive_tests
#include <boost/test/unit_test.hpp>

// Retention (topup-cli archive): final orders older than the kept age move, with their
// attempts, history and finished result notifications, from a real SQLite store to the day's
// archive file; nothing that is not final moves, nor anything younger, nor an order a result
// writer has not written back, nor one whose result notification is still pending.

#include "domain/order_history.hpp"
#include "domain/retention.hpp"
#include "persistence/callback_outbox.hpp"
#include "persistence/order_store.hpp"
#include "persistence/sql_backend.hpp"
#include "persistence/store_maintenance.hpp"
#include "tests/test_support.hpp"

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace topup;
using namespace topup::testing;

namespace {

constexpr int64_t day_ms = 24LL * 3600 * 1000;
constexpr int64_t now_ms = 1'800'000'000'000;  // 2027-01-15
constexpr int64_t keep_ms = 10 * day_ms;

/// What the store held, by kind.
struct filled_store {
  std::vector<std::string> old_final;     ///< must move
  std::vector<std::string> old_unfinished;
  std::vector<std::string> recent_final;
  std::vector<std::string> unwritten_results;  ///< final, old, of an ingress, after its cursor
  std::map<std::string, order_history> histories;  ///< of old_final, as stored
};

/// The default merchant gets no result notifications; "shop" gets one for each final order.
store_config with_notifying_shop(store_config cfg) {
  cfg.merchants = merchant_directory{{merchant{"default", "", "", {}},
                                      merchant{"shop", "s", "http://127.0.0.1:9/shop/notify", {}}},
                                     "default"};
  return cfg;
}

struct archive_fixture {
  temp_dir dir;
  store_config cfg = with_notifying_shop(sqlite_store(dir));
  std::string archive_dir = dir.file("archive");

  /// One order of `merchant` (empty: the default one) accepted at `accepted_ms`, taken by
  /// `events` (dispatch first) to its status.
  void add(order_store& store, const std::string& id, int64_t accepted_ms,
           const std::vector<order_event>& events, const std::string& ingress = {},
           const std::string& merchant = {}) {
    auto o = stored_order(id, "ref-" + id, std::hash<std::string>{}(id));
    o.accepted_at_ms = accepted_ms;
    o.deadline_ms = accepted_ms + 180000;
    o.updated_at_ms = accepted_ms;
    o.ingress = ingress;
    if (!merchant.empty())
      o.merchant = merchant;
    store.insert({o});
    auto status = order_status::accepted;
    int64_t at = accepted_ms;
    for (auto event : events) {
      at += 10;
      transition change{id, status, event, at, "p-cmcc", 1, id + "/p-cmcc", "", ""};
      if (event == order_event::succeed)
        change.provider_txn = "txn-" + id;
      if (event == order_event::fail_final)
        change.detail = "permanent: number closed";
      BOOST_REQUIRE(store.apply({change}) == std::vector<bool>{true});
      status = *next_status(status, event);
    }
  }

  filled_store fill() {
    filled_store made;
    order_store store{cfg};
    auto old = now_ms - keep_ms - day_ms;
    for (int i = 0; i < 300; ++i) {
      made.old_final.push_back("ok-" + std::to_string(i));
      add(store, made.old_final.back(), old + i, {order_event::dispatch, order_event::succeed});
    }
    for (int i = 0; i < 200; ++i) {
      made.old_final.push_back("fail-" + std::to_string(i));
      add(store, made.old_final.back(), old + i,
          {order_event::dispatch, order_event::fail_final});
    }
    for (int i = 0; i < 40; ++i) {
      made.old_unfinished.push_back("unknown-" + std::to_string(i));
      add(store, made.old_unfinished.back(), old + i,
          {order_event::dispatch, order_event::lose_outcome});
      made.old_unfinished.push_back("waiting-" + std::to_string(i));
      add(store, made.old_unfinished.back(), old + i, {});
      made.old_unfinished.push_back("in-flight-" + std::to_string(i));
      add(store, made.old_unfinished.back(), old + i, {order_event::dispatch});
    }
    for (int i = 0; i < 100; ++i) {
      made.recent_final.push_back("recent-" + std::to_string(i));
      add(store, made.recent_final.back(), now_ms - day_ms + i,
          {order_event::dispatch, order_event::succeed});
    }
    // The Redis result writer has written back results up to two days before the old orders.
    store.save_result_cursor("redis", old - 2 * day_ms);
    for (int i = 0; i < 5; ++i) {
      made.unwritten_results.push_back("queued-" + std::to_string(i));
      add(store, made.unwritten_results.back(), old + i,
          {order_event::dispatch, order_event::succeed}, "redis");
    }
    for (const auto& id : made.old_final)
      made.histories[id] = *store.find_history(id);
    return made;
  }

  archive_report archive(size_t batch = 64) {
    archive_settings settings;
    settings.directory = archive_dir;
    settings.now_ms = now_ms;
    settings.keep_ms = keep_ms;
    settings.batch = batch;
    settings.pause = std::chrono::milliseconds{0};
    return archive_final_orders(cfg, settings);
  }
};

/// Records an attempt of each notification of `order_ids` that ends it in `state`, at `at_ms`.
void finish_notifications(const store_config& cfg, const std::vector<std::string>& order_ids,
                          callback_state state, int64_t at_ms) {
  callback_outbox outbox{cfg};
  std::vector<callback_attempt> attempts;
  for (const auto& id : order_ids)
    for (const auto& row : outbox.of_order(id))
      attempts.push_back({row.delivery.delivery_id, state, at_ms, at_ms,
                          state == callback_state::delivered ? 200u : 500u,
                          state == callback_state::delivered ? "" : "HTTP 500"});
  BOOST_TEST_REQUIRE(attempts.size() == order_ids.size());
  outbox.record(attempts);
}

bool same_history(const order_history& a, const order_history& b) {
  if (a.entries.size() != b.entries.size())
    return false;
  for (size_t i = 0; i < a.entries.size(); ++i) {
    const auto &x = a.entries[i], &y = b.entries[i];
    if (x.at_ms != y.at_ms || x.event != y.event || x.status != y.status
        || x.provider != y.provider || x.attempt_no != y.attempt_no
        || x.request_id != y.request_id || x.provider_txn != y.provider_txn
        || x.detail != y.detail)
      return false;
  }
  return a.snapshot.status == b.snapshot.status
         && a.snapshot.updated_at_ms == b.snapshot.updated_at_ms
         && a.snapshot.client_ref == b.snapshot.client_ref && a.snapshot.phone == b.snapshot.phone
         && a.snapshot.amount_fen == b.snapshot.amount_fen;
}

store_config sqlite_file(const std::string& path) {
  store_config cfg;
  cfg.sqlite_path = path;
  return cfg;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(retention, archive_fixture)

BOOST_AUTO_TEST_CASE(old_final_orders_move_to_the_archive_and_nothing_else_does) {
  auto made = fill();
  auto report = archive();
  BOOST_TEST(report.orders == made.old_final.size());
  BOOST_TEST(report.attempts == made.old_final.size());  // one attempt each
  BOOST_TEST(report.batches >= made.old_final.size() / 64);
  BOOST_TEST(report.file == archive_dir + "/" + archive_file_name(now_ms));

  // The store: every order that is not final, every young one and every one a result
  // writer has not reached is still there, unchanged; the archived ones are gone.
  order_reader store{cfg};
  for (const auto& id : made.old_unfinished) {
    auto kept = store.find_by_id(id);
    BOOST_TEST_REQUIRE(kept.has_value(), id);
    BOOST_TEST(!is_final(kept->status), id);
  }
  for (const auto& id : made.recent_final)
    BOOST_TEST(store.find_by_id(id).has_value(), id);
  for (const auto& id : made.unwritten_results)
    BOOST_TEST(store.find_by_id(id).has_value(), id);
  for (const auto& id : made.old_final)
    BOOST_TEST(!store.find_by_id(id).has_value(), id);
  BOOST_TEST(store.count_orders() == made.old_unfinished.size() + made.recent_final.size()
                                       + made.unwritten_results.size());
  BOOST_TEST(store.load_unfinished().size() == made.old_unfinished.size());

  // The archive: the store's own reader reads every archived order with its whole story.
  order_reader archived{sqlite_file(report.file)};
  BOOST_TEST(archived.count_orders() == made.old_final.size());
  for (const auto& id : made.old_final) {
    auto history = archived.find_history(id);
    BOOST_TEST_REQUIRE(history.has_value(), id);
    BOOST_TEST(same_history(*history, made.histories.at(id)), id);
  }
  // Reconciliation can read the archive too: every attempt with the outcome its history holds.
  attempt_query all_of_the_period;
  all_of_the_period.provider = "p-cmcc";
  all_of_the_period.to_ms = now_ms;
  all_of_the_period.limit = 10000;
  auto attempts = archived.attempts(all_of_the_period);
  BOOST_TEST(attempts.size() == made.old_final.size());
  size_t succeeded_txns = 0;
  for (const auto& attempt : attempts)
    if (attempt.outcome == "succeed" && attempt.provider_txn == "txn-" + attempt.order_id)
      ++succeeded_txns;
  BOOST_TEST(succeeded_txns == 300u);
}

BOOST_AUTO_TEST_CASE(a_second_run_moves_nothing_more_and_the_store_still_serves) {
  auto made = fill();
  archive();
  auto again = archive(1000);
  BOOST_TEST(again.orders == 0u);
  BOOST_TEST(again.batches == 0u);
  // The store stays a store: a node opens it and writes to it.
  order_store reopened{cfg};
  reopened.insert({stored_order("after-archive", "ref-after-archive")});
  BOOST_TEST(reopened.find_by_id("after-archive").has_value());
}

BOOST_AUTO_TEST_CASE(an_order_copied_but_not_removed_before_a_crash_moves_once) {
  auto made = fill();
  // A run stopped between the copy of a batch and its removal: the archive holds the order,
  // the store too. The next run copies it again (ignored) and removes it.
  std::filesystem::create_directories(archive_dir);
  auto file = archive_dir + "/" + archive_file_name(now_ms);
  {
    auto session = open_session(cfg);
    *session << "ATTACH DATABASE :f AS archive", soci::use(file);
    *session << "CREATE TABLE archive.orders AS SELECT * FROM main.orders WHERE 0";
    *session << "CREATE UNIQUE INDEX archive.o_id ON orders (id)";
    *session << "INSERT INTO archive.orders SELECT * FROM main.orders WHERE id = 'ok-0'";
    *session << "DETACH DATABASE archive";
  }
  auto report = archive();
  BOOST_TEST(report.orders == made.old_final.size());
  soci::session archive_db{soci::sqlite3, "db=\"" + file + "\""};
  long long copies = 0;
  archive_db << "SELECT COUNT(*) FROM orders WHERE id = 'ok-0'", soci::into(copies);
  BOOST_TEST(copies == 1);
}

BOOST_AUTO_TEST_CASE(an_order_moves_with_its_finished_notifications_and_waits_for_a_pending_one) {
  auto old = now_ms - keep_ms - day_ms;
  std::vector<std::string> told, abandoned, untold, quiet;
  {
    order_store store{cfg};
    for (int i = 0; i < 5; ++i) {
      told.push_back("told-" + std::to_string(i));
      add(store, told.back(), old + i, {order_event::dispatch, order_event::succeed}, {}, "shop");
      untold.push_back("untold-" + std::to_string(i));
      add(store, untold.back(), old + i, {order_event::dispatch, order_event::succeed}, {},
          "shop");
    }
    abandoned.push_back("abandoned-0");
    add(store, abandoned.back(), old, {order_event::dispatch, order_event::fail_final}, {},
        "shop");
    quiet.push_back("quiet-0");
    add(store, quiet.back(), old, {order_event::dispatch, order_event::succeed});
    add(store, "recent-told", now_ms - day_ms, {order_event::dispatch, order_event::succeed}, {},
        "shop");
    add(store, "in-flight", old, {order_event::dispatch}, {}, "shop");
  }
  auto delivered_at = old + day_ms / 2;
  finish_notifications(cfg, told, callback_state::delivered, delivered_at);
  finish_notifications(cfg, {"recent-told"}, callback_state::delivered, now_ms - 1000);
  finish_notifications(cfg, abandoned, callback_state::abandoned, delivered_at);

  auto report = archive(2);
  BOOST_TEST(report.orders == told.size() + abandoned.size() + quiet.size());
  BOOST_TEST(report.attempts == report.orders);
  BOOST_TEST(report.callbacks == told.size() + abandoned.size());
  BOOST_TEST(report.awaiting_callbacks == untold.size());

  // The store: the orders whose notification is pending, with it, for the callback sender;
  // of the archived ones nothing is left, neither order nor notification.
  order_reader store{cfg};
  callback_outbox outbox{cfg};
  for (const auto& id : untold) {
    BOOST_TEST(store.find_by_id(id).has_value(), id);
    auto rows = outbox.of_order(id);
    BOOST_TEST_REQUIRE(rows.size() == 1u, id);
    BOOST_TEST((rows.front().state == callback_state::pending), id);
  }
  for (const auto& group : {told, abandoned, quiet})
    for (const auto& id : group) {
      BOOST_TEST(!store.find_by_id(id).has_value(), id);
      BOOST_TEST(outbox.of_order(id).empty(), id);
    }
  BOOST_TEST(outbox.all().size() == untold.size() + 1);  // and the young order's, delivered
  BOOST_TEST(outbox.count_pending() == untold.size());
  BOOST_TEST(store.find_by_id("recent-told").has_value());
  BOOST_TEST(store.find_by_id("in-flight").has_value());

  // The archive answers what the console's order page asks the store: the order, its
  // history, and whether and when the merchant was told.
  order_reader archived{sqlite_file(report.file)};
  BOOST_TEST(archived.count_orders() == report.orders);
  for (const auto& id : told) {
    BOOST_TEST(archived.find_history(id).has_value(), id);
    auto notifications = archived.callbacks_of(id);
    BOOST_TEST_REQUIRE(notifications.size() == 1u, id);
    BOOST_TEST(notifications.front().state == "delivered", id);
    BOOST_TEST(notifications.front().updated_at_ms == delivered_at, id);
    BOOST_TEST(notifications.front().last_http_status == 200u, id);
    BOOST_TEST(notifications.front().attempts == 1u, id);
  }
  auto abandoned_rows = archived.callbacks_of(abandoned.front());
  BOOST_TEST_REQUIRE(abandoned_rows.size() == 1u);
  BOOST_TEST(abandoned_rows.front().state == "abandoned");
  BOOST_TEST(archived.callbacks_of(quiet.front()).empty());
  for (const auto& id : untold) {
    BOOST_TEST(!archived.find_by_id(id).has_value(), id);
    BOOST_TEST(archived.callbacks_of(id).empty(), id);
  }

  // Once the merchant has been told, the next run moves them too.
  finish_notifications(cfg, untold, callback_state::delivered, now_ms - 1000);
  auto later = archive();
  BOOST_TEST(later.orders == untold.size());
  BOOST_TEST(later.callbacks == untold.size());
  BOOST_TEST(later.awaiting_callbacks == 0u);
  auto told_later = archived.callbacks_of(untold.front());
  BOOST_TEST_REQUIRE(told_later.size() == 1u);
  BOOST_TEST(told_later.front().state == "delivered");
  BOOST_TEST(outbox.all().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_notification_sent_again_after_an_interrupted_copy_moves_as_it_is_now) {
  auto old = now_ms - keep_ms - day_ms;
  {
    order_store store{cfg};
    add(store, "told", old, {order_event::dispatch, order_event::succeed}, {}, "shop");
  }
  finish_notifications(cfg, {"told"}, callback_state::delivered, old + 1000);
  // A run copied the order and its notification, then stopped before removing them.
  std::filesystem::create_directories(archive_dir);
  auto file = archive_dir + "/" + archive_file_name(now_ms);
  {
    auto session = open_session(cfg);
    *session << "ATTACH DATABASE :f AS archive", soci::use(file);
    *session << "CREATE TABLE archive.orders AS SELECT * FROM main.orders";
    *session << "CREATE UNIQUE INDEX archive.o_id ON orders (id)";
    // The outbox's own definition: its column types are what the readers read back.
    std::string outbox;
    *session << "SELECT sql FROM main.sqlite_master WHERE name = 'callbacks'", soci::into(outbox);
    BOOST_TEST_REQUIRE(outbox.rfind("CREATE TABLE callbacks", 0) == 0u);
    *session << "CREATE TABLE archive." + outbox.substr(std::string{"CREATE TABLE "}.size());
    *session << "INSERT INTO archive.callbacks SELECT * FROM main.callbacks";
    *session << "DETACH DATABASE archive";
  }
  // Since then an operator had it sent again, and it was delivered again.
  callback_outbox outbox{cfg};
  BOOST_TEST_REQUIRE(outbox.redeliver("told", old + 2000).has_value());
  finish_notifications(cfg, {"told"}, callback_state::delivered, old + 3000);

  auto report = archive();
  BOOST_TEST(report.orders == 1u);
  BOOST_TEST(report.callbacks == 1u);
  BOOST_TEST(outbox.all().empty());
  auto notifications = order_reader{sqlite_file(file)}.callbacks_of("told");
  BOOST_TEST_REQUIRE(notifications.size() == 1u);
  BOOST_TEST(notifications.front().attempts == 2u);
  BOOST_TEST(notifications.front().updated_at_ms == old + 3000);
}

BOOST_AUTO_TEST_CASE(a_missing_store_is_refused_not_created) {
  BOOST_CHECK_THROW(archive(), store_error);
  BOOST_TEST(!std::filesystem::exists(cfg.sqlite_path));
}

BOOST_AUTO_TEST_SUITE_END()
