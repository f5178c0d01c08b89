#define BOOST_TEST_MODULE intake_tests
#include <boost/test/unit_test.hpp>

#include "actors/intake.hpp"
#include "messages/errors.hpp"
#include "persistence/order_store.hpp"
#include "persistence/store_actor.hpp"
#include "tests/test_support.hpp"

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <set>

using namespace topup;
using namespace topup::testing;
using namespace std::chrono_literals;

namespace {

/// Collects what intake hands on for recharging.
order_sink_actor::behavior_type collector(order_sink_actor::pointer, caf::actor report_to) {
  return {[=](dispatch_atom, std::vector<order>& orders) {
    caf::anon_send(report_to, dispatch_atom::value, std::move(orders));
  }};
}

struct intake_fixture : actor_fixture {
  temp_dir dir;
  store_config store_cfg = sqlite_store(dir);
  std::shared_ptr<manual_clock> clock = std::make_shared<manual_clock>();
  store_actor store;
  order_sink_actor sink;
  intake_actor intake;

  intake_fixture() { start(); }

  ~intake_fixture() { stop(); }

  void start(size_t max_in_flight = 200000) {
    intake_options options;
    options.rules = workload_rules();
    options.deadline_limit_ms = 180000;
    options.max_in_flight = max_in_flight;
    options.node_name = "test";
    store = spawn_store(system, store_cfg, clock);
    wait_until_opened(self, store);
    sink = system.spawn(collector, caf::actor{self});
    intake = system.spawn(topup::intake, options, clock, store, sink);
  }

  void stop() {
    for (auto handle : {caf::actor_cast<caf::actor>(intake), caf::actor_cast<caf::actor>(sink),
                        caf::actor_cast<caf::actor>(store)}) {
      self->send_exit(handle, caf::exit_reason::user_shutdown);
      self->wait_for(handle);
    }
  }

  caf::expected<order> submit(const order_request& request) {
    caf::expected<order> result{make_error(errc::invalid_argument, "no answer")};
    self->request(intake, 10s, submit_atom::value, request)
      .receive([&](order& o) { result = std::move(o); }, [&](caf::error& e) { result = e; });
    return result;
  }

  errc submit_error(const order_request& request) {
    auto result = submit(request);
    BOOST_REQUIRE(!result);
    auto f = as_failure(result.error());
    BOOST_REQUIRE_MESSAGE(f, error_text(result));
    return f->code;
  }

  long long rows() {
    soci::session session{soci::sqlite3, "db=" + store_cfg.sqlite_path + " timeout=5"};
    long long count = 0;
    session << "SELECT COUNT(*) FROM orders", soci::into(count);
    return count;
  }

  bool nothing_dispatched_within(std::chrono::milliseconds quiet) {
    bool got = false;
    self->receive([&](dispatch_atom, std::vector<order>&) { got = true; },
                  caf::after(quiet) >> [] {});
    return !got;
  }

  /// Waits for at least `expected` dispatched orders (5 s at most).
  std::vector<order> dispatched(size_t expected) {
    std::vector<order> all;
    while (all.size() < expected) {
      bool got = false;
      self->receive([&](dispatch_atom, std::vector<order>& orders) {
        got = true;
        all.insert(all.end(), orders.begin(), orders.end());
      }, caf::after(5s) >> [] {});
      if (!got)
        break;
    }
    return all;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(intake_actor_tests, intake_fixture)

BOOST_AUTO_TEST_CASE(a_valid_order_is_stored_acknowledged_and_handed_on) {
  clock->advance(5s);
  auto accepted = submit(valid_request("ref-1", 42, 5000));
  BOOST_REQUIRE_MESSAGE(accepted, error_text(accepted));
  BOOST_TEST(!accepted->id.empty());
  BOOST_TEST(accepted->carrier == "cmcc");
  BOOST_TEST((accepted->status == order_status::accepted));
  BOOST_TEST(accepted->accepted_at_ms == clock->wall_ms());
  BOOST_TEST(accepted->deadline_ms == clock->wall_ms() + 180000);
  BOOST_TEST(rows() == 1);
  auto handed_on = dispatched(1);
  BOOST_REQUIRE_EQUAL(handed_on.size(), 1u);
  BOOST_TEST(handed_on[0].id == accepted->id);
}

BOOST_AUTO_TEST_CASE(resubmitting_the_same_order_returns_it_without_a_new_row) {
  auto first = submit(valid_request("ref-1", 1));
  auto again = submit(valid_request("ref-1", 1));
  BOOST_REQUIRE(first);
  BOOST_REQUIRE(again);
  BOOST_TEST(again->id == first->id);
  BOOST_TEST(rows() == 1);
  BOOST_TEST(dispatched(1).size() == 1u);
  BOOST_TEST(nothing_dispatched_within(300ms));  // handed on once only
}

BOOST_AUTO_TEST_CASE(the_same_reference_with_other_content_is_a_conflict) {
  auto first = submit(valid_request("ref-1", 1, 1000));
  BOOST_REQUIRE(first);
  auto other_amount = submit(valid_request("ref-1", 1, 2000));
  BOOST_REQUIRE(!other_amount);
  auto f = as_failure(other_amount.error());
  BOOST_REQUIRE(f);
  BOOST_TEST((f->code == errc::duplicate_reference));
  BOOST_TEST(f->reason.find(first->id) != std::string::npos, f->reason);
  BOOST_TEST((submit_error(valid_request("ref-1", 2, 1000)) == errc::duplicate_reference));
  BOOST_TEST(rows() == 1);
}

BOOST_AUTO_TEST_CASE(a_thousand_concurrent_duplicates_make_one_row) {
  constexpr int copies = 1000;
  for (int i = 0; i < copies; ++i)
    self->send(intake, submit_atom::value, valid_request("same-ref", 7));
  std::set<std::string> ids;
  int answers = 0;
  self->receive_for(answers, copies)(
    [&](order& o) { ids.insert(o.id); },
    [&](caf::error& e) { BOOST_FAIL("unexpected error " << describe(e)); });
  BOOST_TEST(ids.size() == 1u);
  BOOST_TEST(rows() == 1);
}

BOOST_AUTO_TEST_CASE(every_bad_input_gets_its_typed_error_and_writes_nothing) {
  BOOST_TEST((submit_error({"r", "1380013800", 1000}) == errc::invalid_phone));
  BOOST_TEST((submit_error({"r", "138001380001", 1000}) == errc::invalid_phone));
  BOOST_TEST((submit_error({"r", "1380013800a", 1000}) == errc::invalid_phone));
  BOOST_TEST((submit_error({"r", "23800138000", 1000}) == errc::invalid_phone));
  BOOST_TEST((submit_error({"r", "17000138000", 1000}) == errc::unknown_carrier));
  BOOST_TEST((submit_error({"r", "13800138000", 1234}) == errc::unsupported_amount));
  BOOST_TEST((submit_error({"r", "13800138000", -1000}) == errc::unsupported_amount));
  BOOST_TEST((submit_error({std::string(65, 'r'), "13800138000", 1000}) == errc::field_too_long));
  BOOST_TEST((submit_error({"r", std::string(5000, '1'), 1000}) == errc::field_too_long));
  BOOST_TEST((submit_error({"", "13800138000", 1000}) == errc::missing_field));
  BOOST_TEST(rows() == 0);
}

BOOST_AUTO_TEST_CASE(a_batch_answers_each_order_in_its_place) {
  std::vector<order_request> batch{valid_request("b-1", 1), {"b-2", "123", 1000},
                                   valid_request("b-3", 3), valid_request("b-1", 1)};
  std::vector<submit_result> results;
  self->request(intake, 10s, submit_atom::value, batch)
    .receive([&](std::vector<submit_result>& r) { results = std::move(r); },
             [](caf::error& e) { BOOST_FAIL(describe(e)); });
  BOOST_REQUIRE_EQUAL(results.size(), 4u);
  BOOST_TEST(!results[0].error);
  BOOST_TEST((as_failure(results[1].error)->code == errc::invalid_phone));
  BOOST_TEST(!results[2].error);
  BOOST_TEST(!results[3].error);
  BOOST_TEST(results[3].accepted.id == results[0].accepted.id);
  BOOST_TEST(results[0].accepted.id != results[2].accepted.id);
  BOOST_TEST(rows() == 2);
}

BOOST_AUTO_TEST_CASE(an_empty_batch_is_an_invalid_argument) {
  self->request(intake, 10s, submit_atom::value, std::vector<order_request>{})
    .receive([](std::vector<submit_result>&) { BOOST_FAIL("empty batch accepted"); },
             [](caf::error& e) { BOOST_TEST((as_failure(e)->code == errc::invalid_argument)); });
}

BOOST_AUTO_TEST_CASE(acknowledged_orders_are_in_the_file_after_teardown) {
  std::vector<std::string> acknowledged;
  for (int i = 0; i < 200; ++i) {
    auto o = submit(valid_request("t-" + std::to_string(i), static_cast<uint64_t>(i)));
    BOOST_REQUIRE(o);
    acknowledged.push_back(o->id);
  }
  stop();
  order_store reopened{store_cfg};
  for (const auto& id : acknowledged)
    BOOST_TEST(reopened.find_by_id(id).has_value(), id);
  BOOST_TEST(reopened.count_orders() == acknowledged.size());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(intake_back_pressure, intake_fixture)

BOOST_AUTO_TEST_CASE(a_locked_store_gives_overloaded_then_unavailable_then_recovers) {
  stop();
  start(/*max_in_flight=*/1);
  // Another connection holds the write lock longer than the store's busy timeout (1 s).
  soci::session blocker{soci::sqlite3, "db=" + store_cfg.sqlite_path + " timeout=5"};
  blocker << "BEGIN EXCLUSIVE";
  self->send(intake, submit_atom::value, valid_request("first", 1));
  // The first order now waits for the store, filling intake's single slot.
  BOOST_TEST((submit_error(valid_request("second", 2)) == errc::overloaded));
  self->receive([](order&) { BOOST_FAIL("a locked store cannot acknowledge"); },
                [](caf::error& e) { BOOST_TEST((as_failure(e)->code == errc::unavailable)); });
  blocker << "ROLLBACK";
  BOOST_TEST(rows() == 0);  // nothing half-written
  auto retried = submit(valid_request("first", 1));
  BOOST_REQUIRE_MESSAGE(retried, error_text(retried));
  BOOST_TEST(rows() == 1);
}

BOOST_AUTO_TEST_CASE(a_store_that_cannot_open_gives_unavailable) {
  stop();
  store_cfg.sqlite_path = dir.file("no-such-dir/orders.db");
  start();
  BOOST_TEST((submit_error(valid_request("r-1", 1)) == errc::unavailable));
}

BOOST_AUTO_TEST_SUITE_END()
