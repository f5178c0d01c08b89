#define BOOST_TEST_MODULE lease_store_tests
#include <boost/test/unit_test.hpp>

#include "domain/clock.hpp"
#include "persistence/lease_store.hpp"
#include "persistence/order_store.hpp"
#include "persistence/schema.hpp"
#include "persistence/sql_backend.hpp"
#include "tests/backend_fixture.hpp"
#include "tests/test_support.hpp"

#include <soci/soci.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <optional>
#include <thread>

using namespace topup;
using namespace topup::testing;

namespace {

constexpr int64_t long_ttl_ms = 60'000;

/// Waits (bounded) until the database clock has passed `at_ms`.
void wait_for_database_time(lease_store& store, int64_t at_ms) {
  for (int i = 0; i < 500 && store.now_ms() <= at_ms; ++i)
    std::this_thread::sleep_for(milliseconds(10));
  BOOST_TEST_REQUIRE(store.now_ms() > at_ms);
}

/// Writes attempt `attempt_no` of order `id` only while the fence holds, as the recharge
/// actor's attempt writes will. Returns the rows written.
long long fenced_attempt_insert(soci::session& session, store_config::backend_kind backend,
                                const std::string& id, int attempt_no, const lease_fence& fence) {
  std::string provider = fence.provider, request_id = id + "/" + fence.provider;
  long long at_ms = 1;
  soci::statement insert = use_lease_fence(
    (session.prepare << "INSERT INTO attempts (order_id, attempt_no, provider, request_id,"
                        " started_at_ms) SELECT :id, CAST(:attempt_no AS INTEGER), :provider,"
                        " :request_id, CAST(:at_ms AS BIGINT) WHERE "
                          + lease_fence_sql(backend),
     soci::use(id, "id"), soci::use(attempt_no, "attempt_no"), soci::use(provider, "provider"),
     soci::use(request_id, "request_id"), soci::use(at_ms, "at_ms")),
    fence);
  insert.execute(true);
  return insert.get_affected_rows();
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(leases_on_every_backend, backend_fixture)

BOOST_AUTO_TEST_CASE(a_version_2_database_gains_the_cluster_tables_and_keeps_its_orders) {
  {
    auto session = open_session(cfg);
    migrate(*session, 2);
    *session << "INSERT INTO orders (id, client_ref, phone, carrier, amount_fen, status,"
                " accepted_at_ms, deadline_ms, updated_at_ms)"
                " VALUES ('old-1', 'old-ref', '13800000001', 'cmcc', 2000, 'accepted', 1, 2, 3)";
    BOOST_CHECK_THROW(*session << "SELECT COUNT(*) FROM provider_leases", soci::soci_error);
  }
  lease_store leases{cfg};
  BOOST_TEST(!leases.holder("p-cmcc"));
  BOOST_TEST(leases.members().members.empty());
  auto session = open_session(cfg);
  BOOST_TEST(schema_version(*session) == current_schema_version);
  BOOST_TEST(order_store{cfg}.find_by_id("old-1")->amount_fen == 2000);
}

BOOST_AUTO_TEST_CASE(the_database_clock_is_wall_time_in_milliseconds) {
  lease_store leases{cfg};
  auto local = system_clock{}.wall_ms();
  auto database = leases.now_ms();
  BOOST_TEST(std::llabs(database - local) < 5000);
  std::this_thread::sleep_for(milliseconds(30));
  BOOST_TEST(leases.now_ms() >= database + 25);
}

BOOST_AUTO_TEST_CASE(a_lease_is_acquired_renewed_and_released) {
  lease_store leases{cfg};
  auto before = leases.now_ms();
  auto acquired = leases.try_acquire("p-cmcc", "node-a", long_ttl_ms);
  BOOST_REQUIRE(acquired);
  BOOST_TEST(acquired->provider == "p-cmcc");
  BOOST_TEST(acquired->owner == "node-a");
  BOOST_TEST(acquired->epoch == 1);
  BOOST_TEST(acquired->expires_at_ms >= before + long_ttl_ms);
  BOOST_TEST(acquired->expires_at_ms <= leases.now_ms() + long_ttl_ms);
  BOOST_TEST((leases.holder("p-cmcc") == acquired));
  BOOST_TEST(leases.still_owner("p-cmcc", "node-a", 1));
  BOOST_TEST((leases.held_by("node-a") == std::vector<lease>{*acquired}));

  std::this_thread::sleep_for(milliseconds(20));
  BOOST_TEST(leases.renew("p-cmcc", "node-a", 1, long_ttl_ms));
  BOOST_TEST(leases.holder("p-cmcc")->expires_at_ms > acquired->expires_at_ms);
  BOOST_TEST(leases.holder("p-cmcc")->epoch == 1);
  BOOST_TEST(!leases.renew("p-cmcc", "node-a", 2, long_ttl_ms));  // no such epoch
  BOOST_TEST(!leases.renew("p-cmcc", "node-b", 1, long_ttl_ms));  // not the owner

  BOOST_TEST(leases.release("p-cmcc", "node-a", 1));
  BOOST_TEST(!leases.holder("p-cmcc"));
  BOOST_TEST(!leases.still_owner("p-cmcc", "node-a", 1));
  BOOST_TEST(!leases.renew("p-cmcc", "node-a", 1, long_ttl_ms));
  BOOST_TEST(!leases.release("p-cmcc", "node-a", 1));
  BOOST_TEST(leases.held_by("node-a").empty());

  // Released means free at once, under a new epoch.
  auto next = leases.try_acquire("p-cmcc", "node-b", long_ttl_ms);
  BOOST_REQUIRE(next);
  BOOST_TEST(next->epoch == 2);
}

BOOST_AUTO_TEST_CASE(a_second_node_cannot_acquire_a_live_lease) {
  lease_store a{cfg}, b{cfg};
  BOOST_REQUIRE(a.try_acquire("p-cmcc", "node-a", long_ttl_ms));
  BOOST_TEST(!b.try_acquire("p-cmcc", "node-b", long_ttl_ms));
  BOOST_TEST(!b.still_owner("p-cmcc", "node-b", 1));
  BOOST_TEST(b.holder("p-cmcc")->owner == "node-a");
  BOOST_TEST(b.holder("p-cmcc")->epoch == 1);
  BOOST_TEST(a.still_owner("p-cmcc", "node-a", 1));
  // Other providers are independent.
  BOOST_TEST(b.try_acquire("p-cucc", "node-b", long_ttl_ms)->epoch == 1);
}

BOOST_AUTO_TEST_CASE(acquiring_again_fences_off_the_holders_previous_epoch) {
  // A restarted node re-acquires its own lease: its previous incarnation's epoch dies.
  lease_store leases{cfg};
  BOOST_REQUIRE(leases.try_acquire("p-cmcc", "node-a", long_ttl_ms));
  auto again = leases.try_acquire("p-cmcc", "node-a", long_ttl_ms);
  BOOST_REQUIRE(again);
  BOOST_TEST(again->epoch == 2);
  BOOST_TEST(!leases.still_owner("p-cmcc", "node-a", 1));
  BOOST_TEST(!leases.renew("p-cmcc", "node-a", 1, long_ttl_ms));
  BOOST_TEST(leases.still_owner("p-cmcc", "node-a", 2));
}

BOOST_AUTO_TEST_CASE(an_expired_lease_is_taken_over_under_the_next_epoch) {
  lease_store a{cfg}, b{cfg};
  auto old = a.try_acquire("p-cmcc", "node-a", 200);
  BOOST_REQUIRE(old);
  BOOST_TEST(!b.try_acquire("p-cmcc", "node-b", long_ttl_ms));
  wait_for_database_time(b, old->expires_at_ms);

  BOOST_TEST(!a.still_owner("p-cmcc", "node-a", 1));  // expired: no more attempt writes
  BOOST_TEST(!b.holder("p-cmcc"));
  auto taken = b.try_acquire("p-cmcc", "node-b", long_ttl_ms);
  BOOST_REQUIRE(taken);
  BOOST_TEST(taken->owner == "node-b");
  BOOST_TEST(taken->epoch == old->epoch + 1);

  BOOST_TEST(!a.renew("p-cmcc", "node-a", old->epoch, long_ttl_ms));
  BOOST_TEST(!a.still_owner("p-cmcc", "node-a", old->epoch));
  BOOST_TEST(!a.release("p-cmcc", "node-a", old->epoch));  // cannot release b's lease
  BOOST_TEST(a.still_owner("p-cmcc", "node-b", taken->epoch));
  BOOST_TEST(!a.try_acquire("p-cmcc", "node-a", long_ttl_ms));
}

// The database was out of reach for longer than the time to live: the lease expired, but
// nobody took it meanwhile. Its holder renews it under the same epoch (no provider moves
// because the database was down); while it was expired, the fence refused its writes.
BOOST_AUTO_TEST_CASE(an_expired_lease_nobody_took_is_renewed_under_its_epoch) {
  lease_store leases{cfg};
  auto old = leases.try_acquire("p-cmcc", "node-a", 100);
  BOOST_REQUIRE(old);
  wait_for_database_time(leases, old->expires_at_ms);
  BOOST_TEST(!leases.still_owner("p-cmcc", "node-a", old->epoch));
  BOOST_TEST(!leases.holder("p-cmcc"));
  BOOST_TEST(!leases.renew("p-cmcc", "node-b", old->epoch, long_ttl_ms));  // not the owner
  BOOST_TEST(leases.renew("p-cmcc", "node-a", old->epoch, long_ttl_ms));
  BOOST_TEST(leases.still_owner("p-cmcc", "node-a", old->epoch));
  auto renewed = leases.holder("p-cmcc");
  BOOST_TEST_REQUIRE(renewed.has_value());
  BOOST_TEST(renewed->epoch == old->epoch);
  BOOST_TEST(!leases.try_acquire("p-cmcc", "node-b", long_ttl_ms));

  // Once taken over, or released, it is gone for good.
  auto taken = leases.try_acquire("p-cucc", "node-a", 100);
  BOOST_REQUIRE(taken);
  wait_for_database_time(leases, taken->expires_at_ms);
  BOOST_REQUIRE(leases.try_acquire("p-cucc", "node-b", long_ttl_ms));
  BOOST_TEST(!leases.renew("p-cucc", "node-a", taken->epoch, long_ttl_ms));
  auto released = leases.try_acquire("p-ctcc", "node-a", 100);
  BOOST_REQUIRE(released);
  BOOST_REQUIRE(leases.release("p-ctcc", "node-a", released->epoch));
  wait_for_database_time(leases, released->expires_at_ms);
  BOOST_TEST(!leases.renew("p-ctcc", "node-a", released->epoch, long_ttl_ms));
  BOOST_TEST(!leases.holder("p-ctcc"));
}

BOOST_AUTO_TEST_CASE(concurrent_acquires_have_exactly_one_winner) {
  const int rounds = postgresql() ? 300 : 100;
  lease_store a{cfg}, b{cfg}, referee{cfg};
  for (int round = 0; round < rounds; ++round) {
    auto provider = "race-" + std::to_string(round);
    // Odd rounds race for a takeover of a released lease rather than for a new row.
    bool takeover = round % 2 == 1;
    if (takeover) {
      auto first = referee.try_acquire(provider, "node-c", long_ttl_ms);
      BOOST_REQUIRE(first);
      BOOST_REQUIRE(referee.release(provider, "node-c", first->epoch));
    }
    std::promise<void> start;
    auto go = start.get_future().share();
    auto contend = [&](lease_store& store, const std::string& node) {
      go.wait();
      return store.try_acquire(provider, node, long_ttl_ms);
    };
    auto by_a = std::async(std::launch::async, contend, std::ref(a), "node-a");
    auto by_b = std::async(std::launch::async, contend, std::ref(b), "node-b");
    start.set_value();
    auto won_a = by_a.get();
    auto won_b = by_b.get();
    BOOST_REQUIRE_MESSAGE(won_a.has_value() != won_b.has_value(),
                          "round " << round << ": " << (won_a ? 1 : 0) + (won_b ? 1 : 0)
                                   << " winners");
    const auto& winner = won_a ? *won_a : *won_b;
    BOOST_TEST(winner.epoch == (takeover ? 2 : 1));
    BOOST_TEST((referee.holder(provider) == winner));
  }
}

BOOST_AUTO_TEST_CASE(the_fence_refuses_an_attempt_write_under_a_stale_epoch) {
  { order_store{cfg}.insert({stored_order("o-1", "ref-o-1", 7)}); }
  lease_store leases{cfg};
  auto first = leases.try_acquire("p-cmcc", "node-a", long_ttl_ms);
  BOOST_REQUIRE(first);
  auto session = open_session(cfg);
  lease_fence fence_a{"p-cmcc", "node-a", first->epoch};
  BOOST_TEST(fenced_attempt_insert(*session, cfg.backend, "o-1", 1, fence_a) == 1);

  BOOST_REQUIRE(leases.release("p-cmcc", "node-a", first->epoch));
  auto second = leases.try_acquire("p-cmcc", "node-b", long_ttl_ms);
  BOOST_REQUIRE(second);
  BOOST_TEST(fenced_attempt_insert(*session, cfg.backend, "o-1", 2, fence_a) == 0);
  lease_fence wrong_owner{"p-cmcc", "node-a", second->epoch};
  BOOST_TEST(fenced_attempt_insert(*session, cfg.backend, "o-1", 2, wrong_owner) == 0);
  lease_fence fence_b{"p-cmcc", "node-b", second->epoch};
  BOOST_TEST(fenced_attempt_insert(*session, cfg.backend, "o-1", 2, fence_b) == 1);

  // The same condition guards an UPDATE.
  std::string id = "o-1";
  soci::statement update = use_lease_fence(
    (session->prepare << "UPDATE orders SET attempts = 2 WHERE id = :id AND "
                           + lease_fence_sql(cfg.backend),
     soci::use(id, "id")),
    fence_a);
  update.execute(true);
  BOOST_TEST(update.get_affected_rows() == 0);

  long long attempts = 0;
  *session << "SELECT COUNT(*) FROM attempts", soci::into(attempts);
  BOOST_TEST(attempts == 2);
}

BOOST_AUTO_TEST_CASE(heartbeats_make_members_that_the_view_judges_by_the_database_clock) {
  lease_store leases{cfg};
  auto before = leases.now_ms();
  leases.heartbeat("node-b", "127.0.0.1:4302", 11);
  leases.heartbeat("node-a", "127.0.0.1:4301", 10);
  auto snapshot = leases.members();
  BOOST_REQUIRE_EQUAL(snapshot.members.size(), 2u);
  BOOST_TEST(snapshot.members[0].node == "node-a");
  BOOST_TEST(snapshot.members[0].address == "127.0.0.1:4301");
  BOOST_TEST(snapshot.members[0].incarnation == 10);
  BOOST_TEST(snapshot.members[0].heartbeat_at_ms >= before);
  BOOST_TEST(snapshot.members[0].heartbeat_at_ms <= snapshot.now_ms);
  BOOST_TEST(membership_view(snapshot.members, snapshot.now_ms, 5000).size() == 2u);

  // A restart: same node, new incarnation and address, still one row.
  leases.heartbeat("node-a", "127.0.0.1:4311", 20);
  snapshot = leases.members();
  BOOST_REQUIRE_EQUAL(snapshot.members.size(), 2u);
  BOOST_TEST(snapshot.members[0].incarnation == 20);
  BOOST_TEST(snapshot.members[0].address == "127.0.0.1:4311");

  // Only node-a keeps heartbeating: node-b goes down after down_after_ms.
  auto last_b = snapshot.members[1].heartbeat_at_ms;
  wait_for_database_time(leases, last_b + 150);
  leases.heartbeat("node-a", "127.0.0.1:4311", 20);
  snapshot = leases.members();
  membership_view view{snapshot.members, snapshot.now_ms, 150};
  BOOST_TEST((view.nodes() == std::vector<std::string>{"node-a"}));

  leases.leave("node-a");
  BOOST_TEST(leases.members().members.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_node_lists_only_its_live_leases) {
  lease_store leases{cfg};
  BOOST_REQUIRE(leases.try_acquire("p-cucc", "node-a", long_ttl_ms));
  BOOST_REQUIRE(leases.try_acquire("p-agg", "node-a", long_ttl_ms));
  BOOST_REQUIRE(leases.try_acquire("p-ctcc", "node-b", long_ttl_ms));
  auto short_lived = leases.try_acquire("p-cmcc", "node-a", 100);
  BOOST_REQUIRE(short_lived);
  wait_for_database_time(leases, short_lived->expires_at_ms);
  std::vector<std::string> providers;
  for (const auto& l : leases.held_by("node-a"))
    providers.push_back(l.provider);
  BOOST_TEST((providers == std::vector<std::string>{"p-agg", "p-cucc"}));
}

BOOST_AUTO_TEST_CASE(bad_requests_and_database_errors_are_store_errors_without_values) {
  lease_store leases{cfg};
  BOOST_CHECK_THROW(leases.try_acquire("p-cmcc", "node-a", 0), store_error);
  BOOST_CHECK_THROW(leases.renew("p-cmcc", "node-a", 1, -5), store_error);
  *open_session(cfg) << "DROP TABLE provider_leases";
  try {
    leases.try_acquire("p-secret-provider-name", "node-secret", long_ttl_ms);
    BOOST_FAIL("expected a store_error");
  } catch (const store_error& error) {
    std::string text = error.what();
    BOOST_TEST(text.find("acquiring a provider lease") == 0u, text);
    BOOST_TEST(text.find("secret") == std::string::npos, text);
  }
}

BOOST_AUTO_TEST_SUITE_END()

#ifdef TOPUP_STORE_TEST_POSTGRESQL
BOOST_FIXTURE_TEST_SUITE(leases_on_postgresql, backend_fixture)

/// Node-a holding p-cmcc's lease, and an attempt of o-1 written under it
/// in a transaction left open (o-1 is stored first).
struct open_fenced_write {
  explicit open_fenced_write(const store_config& cfg)
    : owner(cfg), rival(cfg), held(acquired(owner)), session(open_session(cfg)),
      writing(std::in_place, *session) {
    { order_store{cfg}.insert({stored_order("o-1", "ref-o-1", 7)}); }
    BOOST_TEST_REQUIRE(fenced_attempt_insert(*session, cfg.backend, "o-1", 1, fence()) == 1);
  }

  static lease acquired(lease_store& leases) {
    auto held = leases.try_acquire("p-cmcc", "node-a", long_ttl_ms);
    BOOST_TEST_REQUIRE(held.has_value());
    return *held;
  }

  lease_fence fence() const { return {"p-cmcc", "node-a", held.epoch}; }

  /// What `call` returns, which must come within 5 s while the write is open; else the
  /// write is rolled back (freeing the call) and the test fails with `waited`.
  template <class Call>
  auto without_waiting(Call call, const std::string& waited) {
    auto result = std::async(std::launch::async, call);
    if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      writing->rollback();
      BOOST_FAIL(waited);
    }
    return result.get();
  }

  lease_store owner, rival;
  lease held;
  std::unique_ptr<soci::session> session;
  std::optional<soci::transaction> writing;
};

BOOST_AUTO_TEST_CASE(a_takeover_waits_for_an_open_fenced_write_to_commit) {
  open_fenced_write open{cfg};
  // The owner lets go while its write is uncommitted (a release need not wait). The rival's
  // takeover waits for the commit: no other node holds the next epoch while an attempt of
  // this one is in flight.
  BOOST_TEST(open.without_waiting(
    [&] { return open.owner.release("p-cmcc", "node-a", open.held.epoch); },
    "the release waits for the write"));
  std::atomic<bool> acquired{false};
  auto takeover = std::async(std::launch::async, [&] {
    auto result = open.rival.try_acquire("p-cmcc", "node-b", long_ttl_ms);
    acquired = true;
    return result;
  });
  std::this_thread::sleep_for(milliseconds(300));
  BOOST_TEST(!acquired.load());
  open.writing->commit();
  auto next = takeover.get();
  BOOST_REQUIRE(next);
  BOOST_TEST(next->epoch == open.held.epoch + 1);
}

BOOST_AUTO_TEST_CASE(a_renewal_does_not_wait_for_an_open_fenced_write) {
  open_fenced_write open{cfg};
  BOOST_TEST(open.without_waiting(
    [&] { return open.owner.renew("p-cmcc", "node-a", open.held.epoch, long_ttl_ms); },
    "the renewal waits for the write"));
  // A rival finds the lease live and gives up at once, without waiting for the write either.
  BOOST_TEST(!open.without_waiting(
    [&] { return open.rival.try_acquire("p-cmcc", "node-b", long_ttl_ms).has_value(); },
    "the rival's acquire waits for the write"));
  // The write under the renewed lease still passes the fence.
  BOOST_TEST(fenced_attempt_insert(*open.session, cfg.backend, "o-1", 2, open.fence()) == 1);
  open.writing->commit();
}

BOOST_AUTO_TEST_CASE(reopening_a_current_schema_does_not_wait_for_the_migration_lock) {
  { lease_store first{cfg}; }
  // Another session holds the migration lock (a node migrating, or one of many reopening
  // after a database restart), and this one bounds its lock waits as cluster nodes do.
  auto migrating = open_session(cfg);
  soci::transaction holding{*migrating};
  long long key = migration_lock_key;
  *migrating << "SELECT pg_advisory_xact_lock(:key)", soci::use(key);
  auto bounded = with_bounded_waits(cfg, milliseconds(100), milliseconds(0));

  std::optional<lease_store> reopened;
  BOOST_REQUIRE_NO_THROW(reopened.emplace(bounded));
  BOOST_TEST(reopened->try_acquire("p-cmcc", "node-a", long_ttl_ms).has_value());
  holding.rollback();
}

BOOST_AUTO_TEST_CASE(bounded_waits_reach_the_server_from_both_forms_of_connection_string) {
  auto port = std::getenv("TOPUP_TEST_POSTGRES_PORT");
  BOOST_REQUIRE(port);
  auto as_uri = cfg;
  as_uri.postgresql_connection = std::string{"postgresql://postgres@127.0.0.1:"} + port + "/topup";
  for (const auto& form : {cfg, as_uri}) {
    BOOST_TEST_CONTEXT(form.postgresql_connection) {
      auto session = open_session(with_bounded_waits(form, milliseconds(150), milliseconds(2000)));
      std::string lock_timeout, idle_timeout;
      *session << "SHOW lock_timeout", soci::into(lock_timeout);
      *session << "SHOW idle_in_transaction_session_timeout", soci::into(idle_timeout);
      BOOST_TEST(lock_timeout == "150ms");
      BOOST_TEST(idle_timeout == "2s");
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
#endif
