// The outbox of result callbacks on the order store's database (SQLite file, or PostgreSQL
// in store_tests_postgresql): written in the commit of the state change, read and updated by
// the callback sender's own connection.

#include <boost/test/unit_test.hpp>

#include "domain/merchant_callback.hpp"
#include "persistence/callback_outbox.hpp"
#include "persistence/order_store.hpp"
#include "persistence/schema.hpp"
#include "persistence/sql_backend.hpp"
#include "tests/backend_fixture.hpp"
#include "tests/test_support.hpp"

#include <nlohmann/json.hpp>
#include <soci/soci.h>

#include <limits>
#include <map>
#include <set>

using namespace topup;
using namespace topup::testing;

namespace {

constexpr const char* shop_url = "http://127.0.0.1:9/shop/notify";

merchant_directory callback_merchants() {
  merchant shop{"shop", "s", shop_url, {"http://127.0.0.1:9/shop/"}};
  merchant quiet{"quiet", "q", "", {}};
  return merchant_directory{{shop, quiet}, "shop"};
}

struct outbox_fixture : backend_fixture {
  outbox_fixture() { cfg.merchants = callback_merchants(); }

  order shop_order(const std::string& id, uint64_t n, const std::string& merchant = "shop") {
    auto o = stored_order(id, "ref-" + id, n);
    o.merchant = merchant;
    return o;
  }

  std::map<std::string, stored_callback> rows() {
    std::map<std::string, stored_callback> by_id;
    for (auto& row : callback_outbox{cfg}.all())
      by_id[row.delivery.delivery_id] = row;
    return by_id;
  }
};

transition change(const std::string& id, order_status from, order_event event, int64_t at_ms,
                  const std::string& txn = "", const std::string& detail = "") {
  return transition{id, from, event, at_ms, "p-cmcc", 1, "", txn, detail};
}

/// A redelivery's answer: `delivery_id`, pending again, due at `now_ms`, after one attempt.
void check_due_again(const std::optional<stored_callback>& again, const std::string& delivery_id,
                     int64_t now_ms) {
  BOOST_REQUIRE(again.has_value());
  BOOST_TEST(again->delivery.delivery_id == delivery_id);
  BOOST_TEST((again->state == callback_state::pending));
  BOOST_TEST(again->delivery.next_attempt_at_ms == now_ms);
  BOOST_TEST(again->delivery.attempts == 1u);
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(callback_outbox_on_every_backend, outbox_fixture)

BOOST_AUTO_TEST_CASE(a_final_change_writes_its_notification_in_the_same_commit) {
  order_store db{cfg};
  auto own_url = shop_order("o-2", 2);
  own_url.notify_url = "http://127.0.0.1:9/shop/o-2?k=v";
  db.insert({shop_order("o-1", 1), own_url, shop_order("o-3", 3, "quiet")});
  auto applied = db.apply({change("o-1", order_status::accepted, order_event::dispatch, 10),
                           change("o-2", order_status::accepted, order_event::expire, 11, "",
                                  "deadline reached"),
                           change("o-3", order_status::accepted, order_event::expire, 12)});
  BOOST_TEST(applied == std::vector<bool>({true, true, true}));
  auto found = rows();
  // o-1 is only dispatched; o-3's merchant has no callback URL.
  BOOST_REQUIRE_EQUAL(found.size(), 1u);
  const auto& row = found.at("o-2:failed");
  BOOST_TEST(row.delivery.order_id == "o-2");
  BOOST_TEST(row.delivery.merchant == "shop");
  BOOST_TEST(row.delivery.url == "http://127.0.0.1:9/shop/o-2?k=v");
  BOOST_TEST(row.delivery.due_at_ms == 11);
  BOOST_TEST(row.delivery.next_attempt_at_ms == 11);
  BOOST_TEST((row.state == callback_state::pending));
  auto body = nlohmann::json::parse(row.delivery.body);
  BOOST_TEST(body.at("status") == "failed");
  BOOST_TEST(body.at("error") == "deadline reached");
  BOOST_TEST(body.at("client_ref") == "ref-o-2");
  db.apply({change("o-1", order_status::dispatched, order_event::succeed, 20, "txn-1")});
  found = rows();
  BOOST_TEST(found.at("o-1:succeeded").delivery.url == shop_url);
  BOOST_TEST(nlohmann::json::parse(found.at("o-1:succeeded").delivery.body).at("provider_txn")
             == "txn-1");
}

BOOST_AUTO_TEST_CASE(pending_notifications_are_counted_by_merchant) {
  order_store db{cfg};
  db.insert({shop_order("o-1", 1), shop_order("o-2", 2)});
  db.apply({change("o-1", order_status::accepted, order_event::expire, 10),
            change("o-2", order_status::accepted, order_event::expire, 11)});
  callback_outbox outbox{cfg};
  BOOST_TEST((outbox.pending_by_merchant() == std::map<std::string, uint64_t>{{"shop", 2}}));
  outbox.record({"o-1:failed", callback_state::delivered, 10, 0, 200, ""});
  outbox.record({"o-2:failed", callback_state::abandoned, 11, 0, 500, "answered 500"});
  BOOST_TEST(outbox.pending_by_merchant().empty());
}

BOOST_AUTO_TEST_CASE(a_refused_or_rolled_back_change_writes_no_notification) {
  order_store db{cfg};
  db.insert({shop_order("o-1", 1)});
  // Refused: the stored status is not `dispatched`.
  BOOST_TEST(db.apply({change("o-1", order_status::dispatched, order_event::succeed, 5)})
             == std::vector<bool>{false});
  BOOST_CHECK_THROW(db.in_transaction([&] {
    db.apply_rows({change("o-1", order_status::accepted, order_event::expire, 6)});
    throw store_error("the commit fails");
  }),
                    store_error);
  BOOST_TEST(rows().empty());
  BOOST_TEST((db.find_by_id("o-1")->status == order_status::accepted));
}

BOOST_AUTO_TEST_CASE(an_unknown_outcome_is_due_at_the_deadline_and_dropped_when_resolved) {
  order_store db{cfg};
  db.insert({shop_order("o-1", 1), shop_order("o-2", 2)});
  for (const auto& id : {"o-1", "o-2"}) {
    db.apply({change(id, order_status::accepted, order_event::dispatch, 10)});
    db.apply({change(id, order_status::dispatched, order_event::lose_outcome, 20)});
  }
  auto deadline = shop_order("o-1", 1).deadline_ms;
  auto found = rows();
  BOOST_REQUIRE_EQUAL(found.size(), 2u);
  BOOST_TEST(found.at("o-1:unknown").delivery.due_at_ms == deadline);
  // o-1 resolves before its unknown outcome was sent: only the final notification remains.
  db.apply({change("o-1", order_status::unknown, order_event::succeed, 30, "txn-1")});
  // o-2's unknown outcome was delivered (at its deadline); its resolution is news again.
  callback_outbox outbox{cfg};
  outbox.record({"o-2:unknown", callback_state::delivered, deadline, 0, 200, ""});
  db.apply({change("o-2", order_status::unknown, order_event::fail_final, deadline + 5)});
  found = rows();
  BOOST_TEST(found.count("o-1:unknown") == 0u);
  BOOST_TEST(found.count("o-1:succeeded") == 1u);
  BOOST_TEST((found.at("o-2:unknown").state == callback_state::delivered));
  BOOST_TEST(found.count("o-2:failed") == 1u);
}

BOOST_AUTO_TEST_CASE(due_notifications_are_claimed_per_merchant_and_attempts_recorded) {
  order_store db{cfg};
  db.insert({shop_order("o-1", 1), shop_order("o-2", 2), shop_order("o-3", 3)});
  db.apply({change("o-1", order_status::accepted, order_event::expire, 100),
            change("o-2", order_status::accepted, order_event::expire, 200),
            change("o-3", order_status::accepted, order_event::expire, 300)});
  callback_outbox outbox{cfg};
  BOOST_TEST(outbox.claim_due("shop", 99, 10, 1099).empty());
  BOOST_TEST(outbox.claim_due("quiet", 1000, 10, 2000).empty());
  auto due = outbox.claim_due("shop", 250, 10, 3000);
  BOOST_REQUIRE_EQUAL(due.size(), 2u);
  BOOST_TEST(due[0].delivery_id == "o-1:failed");
  BOOST_TEST(due[1].delivery_id == "o-2:failed");
  // Calls under way: o-3 alone is due at 1000 (PostgreSQL: they are claimed until 3000, for
  // this outbox or another node's; SQLite: the sender's set of calls leaves them out).
  std::set<std::string> calling{"o-1:failed", "o-2:failed"};
  callback_outbox other{cfg};
  auto rest = other.claim_due("shop", 1000, 10, 3000, calling);
  BOOST_REQUIRE_EQUAL(rest.size(), 1u);
  BOOST_TEST(rest[0].delivery_id == "o-3:failed");
  calling.insert("o-3:failed");
  BOOST_TEST(outbox.claim_due("shop", 2999, 10, 5000, calling).empty());
  outbox.record({"o-1:failed", callback_state::pending, 260, 5000, 500, "answered 500"});
  outbox.record({"o-2:failed", callback_state::delivered, 260, 0, 200, ""});
  // A late record for a notification no longer pending changes nothing.
  outbox.record({"o-2:failed", callback_state::abandoned, 900, 900, 0, "late"});
  // o-3's claim lapses (its sender died during the call): due again, and claimed once.
  due = outbox.claim_due("shop", 3000, 10, 8000);
  BOOST_REQUIRE_EQUAL(due.size(), 1u);
  BOOST_TEST(due[0].delivery_id == "o-3:failed");
  outbox.record({"o-3:failed", callback_state::abandoned, 3100, 3100, 0, "connection refused"});
  BOOST_TEST(outbox.claim_due("shop", 4999, 10, 9000).empty());
  due = outbox.claim_due("shop", 5000, 10, 9000);
  BOOST_REQUIRE_EQUAL(due.size(), 1u);
  BOOST_TEST(due[0].attempts == 1u);
  BOOST_TEST(due[0].due_at_ms == 100);
  auto found = rows();
  BOOST_TEST(found.at("o-1:failed").last_http_status == 500u);
  BOOST_TEST(found.at("o-1:failed").last_error == "answered 500");
  BOOST_TEST((found.at("o-2:failed").state == callback_state::delivered));
  BOOST_TEST(found.at("o-2:failed").delivery.attempts == 1u);
  BOOST_TEST((found.at("o-3:failed").state == callback_state::abandoned));
}

BOOST_AUTO_TEST_CASE(an_orders_latest_notification_is_made_due_again_unless_a_call_holds_it) {
  order_store db{cfg};
  db.insert({shop_order("o-1", 1), shop_order("o-2", 2)});
  db.apply({change("o-1", order_status::accepted, order_event::dispatch, 10),
            change("o-2", order_status::accepted, order_event::expire, 20)});
  db.apply({change("o-1", order_status::dispatched, order_event::lose_outcome, 30)});
  callback_outbox outbox{cfg};
  auto deadline = shop_order("o-1", 1).deadline_ms;
  // o-1's unknown outcome was notified at its deadline, then it resolved: two notifications.
  outbox.record({"o-1:unknown", callback_state::delivered, deadline, 0, 200, ""});
  db.apply({change("o-1", order_status::unknown, order_event::succeed, deadline + 10, "t")});
  outbox.record({"o-1:succeeded", callback_state::abandoned, deadline + 20, deadline + 20, 503,
                 "answered 503"});
  BOOST_TEST(outbox.count_pending() == 1u);  // o-2's
  auto listed = outbox.of_order("o-1");
  BOOST_REQUIRE_EQUAL(listed.size(), 2u);
  BOOST_TEST(listed[0].delivery.delivery_id == "o-1:unknown");
  BOOST_TEST(listed[1].delivery.delivery_id == "o-1:succeeded");
  BOOST_TEST(listed[1].last_http_status == 503u);
  BOOST_TEST(listed[1].updated_at_ms == deadline + 20);

  // The abandoned final notification is pending again, due now; the earlier one stays.
  auto now = deadline + 1000;
  check_due_again(outbox.redeliver("o-1", now), "o-1:succeeded", now);
  BOOST_TEST((outbox.of_order("o-1")[0].state == callback_state::delivered));
  BOOST_TEST(outbox.count_pending() == 2u);
  auto due = outbox.claim_due("shop", now, 10, now + 5000);
  BOOST_REQUIRE_EQUAL(due.size(), 2u);
  // Claimed by a call under way (PostgreSQL): left to that call. SQLite claims nothing: due
  // again, and the sender's set of calls keeps it from a second call meanwhile.
  auto held = outbox.redeliver("o-1", now + 1);
  BOOST_REQUIRE(held.has_value());
  BOOST_TEST(held->delivery.next_attempt_at_ms == (postgresql() ? now + 5000 : now + 1));
  outbox.record({"o-1:succeeded", callback_state::delivered, now + 2, 0, 200, ""});
  BOOST_TEST(outbox.count_pending() == 1u);
  BOOST_TEST(!outbox.redeliver("o-9", now).has_value());
  BOOST_TEST(outbox.of_order("o-9").empty());
}

BOOST_AUTO_TEST_CASE(a_notification_is_made_due_again_by_its_delivery_id) {
  order_store db{cfg};
  db.insert({shop_order("o-1", 1)});
  db.apply({change("o-1", order_status::accepted, order_event::dispatch, 10)});
  db.apply({change("o-1", order_status::dispatched, order_event::lose_outcome, 30)});
  callback_outbox outbox{cfg};
  auto deadline = shop_order("o-1", 1).deadline_ms;
  outbox.record({"o-1:unknown", callback_state::abandoned, deadline, deadline, 0, "refused"});
  db.apply({change("o-1", order_status::unknown, order_event::succeed, deadline + 10, "t")});
  outbox.record({"o-1:succeeded", callback_state::delivered, deadline + 20, 0, 200, ""});
  // The earlier notification, not the order's latest.
  auto now = deadline + 1000;
  check_due_again(outbox.redeliver_delivery("o-1:unknown", now), "o-1:unknown", now);
  BOOST_TEST((rows().at("o-1:succeeded").state == callback_state::delivered));
  // Claimed by a call under way (PostgreSQL): left to that call; SQLite claims nothing.
  BOOST_REQUIRE_EQUAL(outbox.claim_due("shop", now, 10, now + 5000).size(), 1u);
  auto held = outbox.redeliver_delivery("o-1:unknown", now + 1);
  BOOST_REQUIRE(held.has_value());
  BOOST_TEST(held->delivery.next_attempt_at_ms == (postgresql() ? now + 5000 : now + 1));
  BOOST_TEST(!outbox.redeliver_delivery("o-1:failed", now).has_value());
  BOOST_TEST(!outbox.redeliver_delivery("o-9:succeeded", now).has_value());
}

// SQLite has one node and one sender per file: taking the due notifications writes nothing
// (a write would take the file's one write lock from the order store's commits); the calls
// under way are left out by the sender's own set, and every pending one stays due, as after a
// restart.
BOOST_AUTO_TEST_CASE(on_sqlite_taking_due_notifications_writes_nothing) {
  if (postgresql())
    return;
  order_store db{cfg};
  db.insert({shop_order("o-1", 1), shop_order("o-2", 2), shop_order("o-3", 3)});
  db.apply({change("o-1", order_status::accepted, order_event::expire, 100),
            change("o-2", order_status::accepted, order_event::expire, 200),
            change("o-3", order_status::accepted, order_event::expire, 300)});
  auto before = rows();
  callback_outbox outbox{cfg};
  BOOST_TEST(outbox.claim_due("shop", 1000, 10, 9000).size() == 3u);
  // Past the calls under way, still at most `limit`.
  auto due = outbox.claim_due("shop", 1000, 1, 9000, {"o-1:failed"});
  BOOST_REQUIRE_EQUAL(due.size(), 1u);
  BOOST_TEST(due[0].delivery_id == "o-2:failed");
  long long claimed = -1;
  *open_session(cfg) << "SELECT COUNT(*) FROM callbacks WHERE claimed_by <> ''",
    soci::into(claimed);
  BOOST_TEST(claimed == 0);
  for (const auto& [id, row] : rows())
    BOOST_TEST(row.delivery.next_attempt_at_ms == before.at(id).delivery.next_attempt_at_ms);
}

// The outcomes of a pass are one transaction: one the database refuses leaves every one of
// them pending (sent again), none half recorded.
BOOST_AUTO_TEST_CASE(outcomes_are_recorded_in_one_transaction) {
  if (postgresql())
    return;  // the refusing trigger is SQLite's; the code path is the same
  order_store db{cfg};
  db.insert({shop_order("o-1", 1), shop_order("o-2", 2), shop_order("o-3", 3)});
  db.apply({change("o-1", order_status::accepted, order_event::expire, 100),
            change("o-2", order_status::accepted, order_event::expire, 200),
            change("o-3", order_status::accepted, order_event::expire, 300)});
  *open_session(cfg) << "CREATE TRIGGER refuse_o3 BEFORE UPDATE ON callbacks"
                        " WHEN NEW.delivery_id = 'o-3:failed'"
                        " BEGIN SELECT RAISE(ABORT, 'refused'); END";
  callback_outbox outbox{cfg};
  std::vector<callback_attempt> outcomes{
    {"o-1:failed", callback_state::delivered, 400, 0, 200, ""},
    {"o-2:failed", callback_state::delivered, 400, 0, 200, ""},
    {"o-3:failed", callback_state::delivered, 400, 0, 200, ""}};
  BOOST_CHECK_THROW(outbox.record(outcomes), store_error);
  BOOST_TEST(outbox.count_pending() == 3u);
  for (const auto& [id, row] : rows())
    BOOST_TEST(row.delivery.attempts == 0u);
  outcomes.pop_back();
  outbox.record(outcomes);
  BOOST_TEST(outbox.count_pending() == 1u);
  BOOST_TEST((rows().at("o-2:failed").state == callback_state::delivered));
}

// Old delivered and abandoned notifications go, a batch at a time; pending ones stay however
// old, young finished ones stay, and one made due again between the choice and the delete
// stays too.
BOOST_AUTO_TEST_CASE(old_finished_notifications_are_pruned_in_batches_and_pending_ones_kept) {
  order_store db{cfg};
  std::vector<order> orders;
  for (uint64_t i = 1; i <= 8; ++i)
    orders.push_back(shop_order("o-" + std::to_string(i), i));
  db.insert(orders);
  std::vector<transition> finals;
  for (uint64_t i = 1; i <= 8; ++i)
    finals.push_back(change("o-" + std::to_string(i), order_status::accepted,
                            order_event::expire, static_cast<int64_t>(i)));
  db.apply(finals);
  callback_outbox outbox{cfg};
  // o-1..o-3 delivered long ago, o-4 abandoned long ago, o-5 delivered recently; o-6 pending
  // since long ago (tried once), o-7 and o-8 never tried.
  outbox.record({"o-1:failed", callback_state::delivered, 100, 0, 200, ""});
  outbox.record({"o-2:failed", callback_state::delivered, 200, 0, 200, ""});
  outbox.record({"o-3:failed", callback_state::delivered, 300, 0, 200, ""});
  outbox.record({"o-4:failed", callback_state::abandoned, 400, 400, 500, "answered 500"});
  outbox.record({"o-5:failed", callback_state::delivered, 5000, 0, 200, ""});
  outbox.record({"o-6:failed", callback_state::pending, 150, 9000, 503, "answered 503"});

  const int64_t cutoff = 1000;
  BOOST_TEST(outbox.prune_finished(cutoff, 2) == 2u);
  auto left = rows();
  BOOST_TEST(left.count("o-1:failed") == 0u);  // the oldest first
  BOOST_TEST(left.count("o-2:failed") == 0u);
  BOOST_TEST(left.size() == 6u);
  // Made due again after it finished: no longer prunable.
  outbox.redeliver("o-3", 500);
  BOOST_TEST(outbox.prune_finished(cutoff, 2) == 1u);  // o-4
  BOOST_TEST(outbox.prune_finished(cutoff, 2) == 0u);
  left = rows();
  BOOST_TEST(left.size() == 5u);
  for (auto kept : {"o-3:failed", "o-5:failed", "o-6:failed", "o-7:failed", "o-8:failed"})
    BOOST_TEST(left.count(kept) == 1u, kept);
  BOOST_TEST(outbox.count_pending() == 4u);
  // However late the cutoff, pending notifications stay.
  BOOST_TEST(outbox.prune_finished(std::numeric_limits<int64_t>::max(), 100) == 1u);  // o-5
  BOOST_TEST(outbox.count_pending() == 4u);
  BOOST_TEST(rows().size() == 4u);
}

BOOST_AUTO_TEST_CASE(without_callback_destinations_nothing_is_written) {
  cfg.merchants = merchant_directory{};
  order_store db{cfg};
  db.insert({stored_order("o-1", "r-1")});
  db.apply({change("o-1", order_status::accepted, order_event::expire, 5)});
  BOOST_TEST(count_rows("callbacks") == 0);
}

// A store written by schema version 8 gains the outbox in place; its orders stay, and their
// final changes from then on are notified.
BOOST_AUTO_TEST_CASE(a_version_8_store_gains_the_outbox) {
  store_of_version_with_a_dispatched_order(8);
  BOOST_CHECK_THROW(*open_session(cfg) << "SELECT COUNT(*) FROM callbacks", soci::soci_error);
  order_store db{cfg};
  BOOST_TEST(schema_version(*open_session(cfg)) == current_schema_version);
  BOOST_TEST(db.find_by_id("old-1")->merchant == "shop");
  BOOST_TEST(db.apply({change("old-1", order_status::dispatched, order_event::succeed, 700,
                              "txn-9")})
             == std::vector<bool>{true});
  auto found = rows();
  BOOST_REQUIRE_EQUAL(found.size(), 1u);
  BOOST_TEST(found.at("old-1:succeeded").delivery.url == shop_url);
}

// Schema step 14: an order's notifications are found by its id through an index (the
// console's order page, topup-cli archive); a store of version 13 gains it in place.
BOOST_AUTO_TEST_CASE(a_version_13_store_gains_the_index_of_notifications_by_order) {
  store_of_version_with_a_dispatched_order(13);
  *open_session(cfg) << "INSERT INTO callbacks (delivery_id, order_id, merchant, url, body,"
                        " state, due_at_ms, next_attempt_at_ms, updated_at_ms)"
                        " VALUES ('old-0:failed', 'old-0', 'shop', 'u', '{}', 'delivered', 1, 1, 1)";
  auto index_count = [&] {
    auto session = open_session(cfg);
    long long found = 0;
    if (postgresql())
      *session << "SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'callbacks'"
                  " AND indexname = 'callbacks_by_order'",
        soci::into(found);
    else
      *session << "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'"
                  " AND tbl_name = 'callbacks' AND name = 'callbacks_by_order'",
        soci::into(found);
    return found;
  };
  BOOST_TEST(index_count() == 0);
  order_store db{cfg};
  BOOST_TEST(index_count() == 1);
  auto kept = db.callbacks_of("old-0");
  BOOST_REQUIRE_EQUAL(kept.size(), 1u);
  BOOST_TEST(kept.front().state == "delivered");
}

BOOST_AUTO_TEST_SUITE_END()
