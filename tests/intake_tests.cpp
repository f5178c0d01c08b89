#define BOOST_TEST_MODULE intake_tests
#include <boost/test/unit_test.hpp>

#include "actors/intake.hpp"
#include "messages/errors.hpp"
#include "persistence/order_store.hpp"
#include "persistence/store_actor.hpp"
#include "tests/test_support.hpp"

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <mutex>
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

/// A sink that stands in for the router: collects what intake hands on, and, asked to, hands
/// intake an admission snapshot as the router does on its lanes' reports (answered once sent).
caf::behavior admission_sink(caf::event_based_actor* self, caf::actor report_to) {
  return {
    [=](dispatch_atom, std::vector<order>& orders) {
      caf::anon_send(report_to, dispatch_atom::value, std::move(orders));
    },
    [=](admission_atom, intake_actor& intake, admission_snapshot& snapshot) {
      self->send(intake, admission_atom::value, std::move(snapshot));
      return true;
    },
  };
}

/// One provider serving cmcc at 10 calls/s whose orders must start within 1 s: eleven orders
/// (none ahead of the first, ten ahead of the last) fit.
admission_snapshot one_slow_cmcc_provider(uint64_t orders_received, size_t queued) {
  provider_view slow;
  slow.name = "p-slow";
  slow.carriers = {"cmcc"};
  slow.rate = 10;
  slow.concurrency = 64;
  slow.queued = queued;
  return {orders_received, 1000, {slow}, {1000}};
}

/// The sizes of the insert requests a store received.
struct insert_log {
  std::mutex mutex;
  std::vector<size_t> sizes;

  std::vector<size_t> snapshot() {
    std::lock_guard<std::mutex> guard{mutex};
    return sizes;
  }
};

/// Stands in front of the real store and logs each insert request, so a test sees how many
/// store requests intake's orders took. Intake sends the store nothing else.
caf::behavior logging_store(caf::event_based_actor* self, store_actor real,
                            std::shared_ptr<insert_log> log) {
  return {[=](insert_atom atom, std::vector<order>& orders) {
    {
      std::lock_guard<std::mutex> guard{log->mutex};
      log->sizes.push_back(orders.size());
    }
    return self->delegate(real, atom, std::move(orders));
  }};
}

struct intake_fixture : actor_fixture {
  temp_dir dir;
  store_config store_cfg = sqlite_store(dir);
  std::shared_ptr<manual_clock> clock = std::make_shared<manual_clock>();
  store_actor store;
  order_sink_actor sink;
  intake_actor intake;
  std::vector<caf::actor> proxies;  ///< stand-ins in front of the store, see log_inserts
  merchant_directory merchants;    ///< who orders may be for (start() passes it to intake)

  intake_fixture() { start(); }

  ~intake_fixture() { stop(); }

  void start(size_t max_in_flight = 200000, size_t max_gathered = 2000) {
    intake_options options;
    options.rules = workload_rules();
    options.rules.merchants = merchants;
    options.deadline_limit_ms = 180000;
    options.max_in_flight = max_in_flight;
    options.max_gathered = max_gathered;
    options.node_name = "test";
    store = spawn_store(system, store_cfg, clock);
    wait_until_opened(self, store);
    sink = system.spawn(collector, caf::actor{self});
    intake = system.spawn(topup::intake, options, clock, store, sink);
  }

  void stop() {
    std::vector<caf::actor> actors{caf::actor_cast<caf::actor>(intake)};
    actors.insert(actors.end(), proxies.begin(), proxies.end());
    proxies.clear();
    actors.push_back(caf::actor_cast<caf::actor>(sink));
    actors.push_back(caf::actor_cast<caf::actor>(store));
    for (const auto& handle : actors) {
      self->send_exit(handle, caf::exit_reason::user_shutdown);
      self->wait_for(handle);
    }
  }

  /// Points intake at a store that logs its insert requests (stopped with the fixture's own).
  std::shared_ptr<insert_log> log_inserts() {
    auto log = std::make_shared<insert_log>();
    auto proxy = system.spawn(logging_store, store, log);
    proxies.push_back(proxy);
    bool swapped = false;
    self->request(intake, 10s, caf::update_atom::value, caf::actor_cast<store_actor>(proxy), sink)
      .receive([&](ack_atom) { swapped = true; }, [](caf::error& e) { BOOST_FAIL(describe(e)); });
    BOOST_REQUIRE(swapped);
    return log;
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

  uint64_t store_commits() {
    uint64_t commits = 0;
    self->request(store, 10s, stats_atom::value)
      .receive([&](store_stats& stats) { commits = stats.commits; },
               [](caf::error& e) { BOOST_FAIL(describe(e)); });
    return commits;
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

BOOST_AUTO_TEST_CASE(each_merchant_has_its_own_references) {
  stop();
  merchants = merchant_directory{{merchant{"shop-a", "", "", {"https://a.example/cb/"}},
                                  merchant{"shop-b", "", "", {}}},
                                 "shop-a"};
  start();
  auto unnamed = submit(valid_request("ref-1", 1));
  BOOST_REQUIRE_MESSAGE(unnamed, error_text(unnamed));
  BOOST_TEST(unnamed->merchant == "shop-a");  // the default merchant
  auto named = valid_request("ref-1", 1);
  named.merchant = "shop-a";
  auto same = submit(named);
  BOOST_REQUIRE_MESSAGE(same, error_text(same));
  BOOST_TEST(same->id == unnamed->id);  // the same order: naming the default changes nothing
  named.merchant = "shop-b";
  auto theirs = submit(named);
  BOOST_REQUIRE_MESSAGE(theirs, error_text(theirs));
  BOOST_TEST(theirs->id != unnamed->id);
  BOOST_TEST(theirs->merchant == "shop-b");
  BOOST_TEST(rows() == 2);
  // A callback URL is content: another one for the same reference is a conflict.
  auto with_callback = valid_request("ref-2", 2);
  with_callback.notify_url = "https://a.example/cb/2";
  auto stored = submit(with_callback);
  BOOST_REQUIRE_MESSAGE(stored, error_text(stored));
  BOOST_TEST(stored->notify_url == "https://a.example/cb/2");
  with_callback.notify_url = "https://a.example/cb/3";
  BOOST_TEST((submit_error(with_callback) == errc::duplicate_reference));
  // Refused before the store: unknown merchants, callbacks outside the merchant's prefixes.
  named.merchant = "shop-x";
  BOOST_TEST((submit_error(named) == errc::unknown_merchant));
  auto foreign = valid_request("ref-3", 3);
  foreign.merchant = "shop-b";
  foreign.notify_url = "https://a.example/cb/3";
  BOOST_TEST((submit_error(foreign) == errc::invalid_notify_url));
  BOOST_TEST(rows() == 3);
}

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

BOOST_AUTO_TEST_CASE(text_that_is_not_utf8_or_holds_controls_is_refused_and_never_stored) {
  // Intake validates whatever client sent the message: nothing in the protocol says the
  // text is UTF-8. Once stored, such a reference broke every client printing it as JSON.
  BOOST_TEST((submit_error({"r-\xFF\xFE", "13800138000", 1000}) == errc::invalid_text));
  BOOST_TEST((submit_error({"caf\xE9", "13800138000", 1000}) == errc::invalid_text));
  BOOST_TEST((submit_error({"r\x1B[2J", "13800138000", 1000}) == errc::invalid_text));
  BOOST_TEST((submit_error({"r-1", "1380013800\xFF", 1000}) == errc::invalid_text));
  BOOST_TEST((submit_error({" r-1", "13800138000", 1000}) == errc::invalid_text));
  BOOST_TEST((submit_error({"   ", "13800138000", 1000}) == errc::missing_field));
  std::vector<order_request> batch{{"b-\xFF", "13800138000", 1000}, valid_request("b-ok", 1)};
  std::vector<submit_result> results;
  self->request(intake, 10s, submit_atom::value, batch)
    .receive([&](std::vector<submit_result>& r) { results = std::move(r); },
             [](caf::error& e) { BOOST_FAIL(describe(e)); });
  BOOST_REQUIRE_EQUAL(results.size(), 2u);
  BOOST_TEST((as_failure(results[0].error)->code == errc::invalid_text));
  BOOST_TEST(!results[1].error);
  BOOST_TEST(rows() == 1);  // only b-ok
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

BOOST_AUTO_TEST_CASE(concurrent_single_orders_share_store_requests_and_get_their_own_answers) {
  auto log = log_inserts();
  auto commits_before = store_commits();
  constexpr size_t count = 2000;
  std::vector<decltype(self->request(intake, 10s, submit_atom::value, order_request{}))> answers;
  for (size_t i = 0; i < count; ++i)
    answers.push_back(
      self->request(intake, 10s, submit_atom::value, valid_request("c-" + std::to_string(i), i)));
  std::set<std::string> ids;
  for (size_t i = 0; i < count; ++i)
    answers[i].receive(
      [&](order& o) {
        BOOST_TEST(o.client_ref == "c-" + std::to_string(i));
        BOOST_TEST(o.phone == valid_request("", i).phone);
        ids.insert(o.id);
      },
      [&](caf::error& e) { BOOST_FAIL("c-" << i << ": " << describe(e)); });
  BOOST_TEST(ids.size() == count);
  BOOST_TEST(dispatched(count).size() == count);
  auto inserts = log->snapshot();
  size_t logged = 0;
  for (auto size : inserts)
    logged += size;
  BOOST_TEST(logged == count);
  // One request per order would be 2000; submits that meet in intake's mailbox share one
  // (a handful in practice; the bound leaves room for a slow machine).
  BOOST_TEST(inserts.size() * 10 < count, inserts.size() << " store requests");
  BOOST_TEST((store_commits() - commits_before) * 10 < count);
  BOOST_TEST(rows() == static_cast<long long>(count));
}

BOOST_AUTO_TEST_CASE(batches_and_singles_in_one_burst_are_each_answered_in_place) {
  using batch_results = std::vector<submit_result>;
  auto single = [&](const order_request& request) {
    return self->request(intake, 10s, submit_atom::value, request);
  };
  auto batch = [&](std::vector<order_request> requests) {
    return self->request(intake, 10s, submit_atom::value, std::move(requests));
  };
  // Sent before any answer, so they share inserts; every answer must still be its own.
  auto first = single(valid_request("i-1", 1));
  auto mixed = batch({valid_request("i-2", 2), valid_request("i-1", 1), {"i-x", "123", 1000},
                      valid_request("i-3", 3)});
  auto conflicting = single(valid_request("i-3", 3, 2000));
  auto invalid = single({"i-y", "13800138000", 1234});
  auto later = batch({valid_request("i-4", 4), valid_request("i-2", 2)});

  order first_order;
  first.receive([&](order& o) { first_order = o; }, [](caf::error& e) { BOOST_FAIL(describe(e)); });
  batch_results mixed_results;
  mixed.receive([&](batch_results& r) { mixed_results = std::move(r); },
                [](caf::error& e) { BOOST_FAIL(describe(e)); });
  conflicting.receive([](order&) { BOOST_FAIL("a conflicting reference was accepted"); },
                      [](caf::error& e) {
                        BOOST_TEST((as_failure(e)->code == errc::duplicate_reference));
                      });
  invalid.receive([](order&) { BOOST_FAIL("an invalid amount was accepted"); },
                  [](caf::error& e) {
                    BOOST_TEST((as_failure(e)->code == errc::unsupported_amount));
                  });
  batch_results later_results;
  later.receive([&](batch_results& r) { later_results = std::move(r); },
                [](caf::error& e) { BOOST_FAIL(describe(e)); });

  BOOST_TEST(first_order.client_ref == "i-1");
  BOOST_REQUIRE_EQUAL(mixed_results.size(), 4u);
  BOOST_TEST(!mixed_results[0].error);
  BOOST_TEST(mixed_results[0].accepted.client_ref == "i-2");
  BOOST_TEST(!mixed_results[0].existing);
  BOOST_TEST(!mixed_results[1].error);
  BOOST_TEST(mixed_results[1].existing);
  BOOST_TEST(mixed_results[1].accepted.id == first_order.id);
  BOOST_TEST((as_failure(mixed_results[2].error)->code == errc::invalid_phone));
  BOOST_TEST(!mixed_results[3].error);
  BOOST_TEST(mixed_results[3].accepted.client_ref == "i-3");
  BOOST_REQUIRE_EQUAL(later_results.size(), 2u);
  BOOST_TEST(!later_results[0].error);
  BOOST_TEST(later_results[0].accepted.client_ref == "i-4");
  BOOST_TEST(later_results[1].existing);
  BOOST_TEST(later_results[1].accepted.id == mixed_results[0].accepted.id);
  BOOST_TEST(rows() == 4);

  std::set<std::string> handed_on;
  for (const auto& o : dispatched(4))
    handed_on.insert(o.id);
  BOOST_TEST(handed_on == (std::set<std::string>{first_order.id, mixed_results[0].accepted.id,
                                                 mixed_results[3].accepted.id,
                                                 later_results[0].accepted.id}));
  BOOST_TEST(nothing_dispatched_within(300ms));  // resubmissions are not handed on again
}

BOOST_AUTO_TEST_CASE(no_store_request_carries_more_than_max_gathered_single_orders) {
  stop();
  start(/*max_in_flight=*/200000, /*max_gathered=*/3);
  auto log = log_inserts();
  constexpr int count = 20;
  for (int i = 0; i < count; ++i)
    self->send(intake, submit_atom::value, valid_request("g-" + std::to_string(i), 1));
  int answers = 0;
  self->receive_for(answers, count)([](order&) {},
                                    [](caf::error& e) { BOOST_FAIL(describe(e)); });
  auto inserts = log->snapshot();
  size_t logged = 0;
  for (auto size : inserts) {
    BOOST_TEST(size <= 3u);
    logged += size;
  }
  BOOST_TEST(logged == static_cast<size_t>(count));
}

BOOST_AUTO_TEST_CASE(intake_writes_to_the_store_and_sink_it_was_last_given) {
  temp_dir other_dir;
  auto other_store = spawn_store(system, sqlite_store(other_dir), clock);
  wait_until_opened(self, other_store);
  auto other_sink = system.spawn(collector, caf::actor{self});
  self->send_exit(sink, caf::exit_reason::user_shutdown);  // only the new sink may report
  self->wait_for(sink);
  bool swapped = false;
  self->request(intake, 10s, caf::update_atom::value, other_store, other_sink)
    .receive([&](ack_atom) { swapped = true; }, [](caf::error& e) { BOOST_FAIL(describe(e)); });
  BOOST_REQUIRE(swapped);
  auto accepted = submit(valid_request("u-1", 1));
  BOOST_REQUIRE_MESSAGE(accepted, error_text(accepted));
  BOOST_TEST(dispatched(1).size() == 1u);
  BOOST_TEST(rows() == 0);
  for (auto handle : {caf::actor_cast<caf::actor>(other_sink),
                      caf::actor_cast<caf::actor>(other_store)}) {
    self->send_exit(handle, caf::exit_reason::user_shutdown);
    self->wait_for(handle);
  }
  order_store other{sqlite_store(other_dir)};
  BOOST_TEST(other.find_by_id(accepted->id).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(intake_back_pressure, intake_fixture)

BOOST_AUTO_TEST_CASE(a_refusal_keeps_its_reason_and_retry_hint_across_the_network) {
  // What a remote client gets: the error through CAF's binary serializer.
  auto sent = make_error(failure{errc::overloaded, "providers full; retry in 3 s", 3});
  std::vector<char> buffer;
  caf::binary_serializer serializer{system, buffer};
  BOOST_REQUIRE(!serializer(sent));
  caf::error received;
  caf::binary_deserializer deserializer{system, buffer};
  BOOST_REQUIRE(!deserializer(received));
  auto f = as_failure(received);
  BOOST_REQUIRE(f);
  BOOST_TEST((f->code == errc::overloaded));
  BOOST_TEST(f->reason == "providers full; retry in 3 s");
  BOOST_TEST(f->retry_after_s == 3);
  BOOST_TEST(describe(received) == "overloaded: providers full; retry in 3 s");
  // An error without a hint reads as before.
  auto plain = as_failure(make_error(errc::overloaded, "queues full"));
  BOOST_REQUIRE(plain);
  BOOST_TEST(plain->reason == "queues full");
  BOOST_TEST(plain->retry_after_s == 0);
}

BOOST_AUTO_TEST_CASE(merchant_and_notify_url_cross_the_network) {
  order_request request{"ref-1", "13800138000", 1000, "shop-b", "https://b.example/cb"};
  order stored;
  stored.id = "o-1";
  stored.merchant = "shop-b";
  stored.notify_url = "https://b.example/cb";
  std::vector<char> buffer;
  caf::binary_serializer serializer{system, buffer};
  BOOST_REQUIRE(!serializer(request, stored));
  order_request request_back;
  order stored_back;
  caf::binary_deserializer deserializer{system, buffer};
  BOOST_REQUIRE(!deserializer(request_back, stored_back));
  BOOST_TEST(request_back.merchant == "shop-b");
  BOOST_TEST(request_back.notify_url == "https://b.example/cb");
  BOOST_TEST(stored_back.merchant == "shop-b");
  BOOST_TEST(stored_back.notify_url == "https://b.example/cb");
}

BOOST_AUTO_TEST_CASE(orders_the_router_says_cannot_start_in_time_are_refused_with_a_hint) {
  auto router = system.spawn(admission_sink, caf::actor{self});
  proxies.push_back(router);
  self->request(intake, 10s, caf::update_atom::value, store,
                caf::actor_cast<order_sink_actor>(router))
    .receive([](ack_atom) {}, [](caf::error& e) { BOOST_FAIL(describe(e)); });
  auto hand_snapshot = [&](const caf::actor& from, admission_snapshot snapshot) {
    // Answered once the snapshot is in intake's mailbox, ahead of the next submit.
    self->request(from, 10s, admission_atom::value, intake, std::move(snapshot))
      .receive([](bool) {}, [](caf::error& e) { BOOST_FAIL(describe(e)); });
  };
  hand_snapshot(router, one_slow_cmcc_provider(0, 0));
  std::vector<order_request> batch;
  for (uint64_t i = 0; i < 20; ++i)
    batch.push_back(valid_request("slow-" + std::to_string(i), i));
  batch.push_back({"other-carrier", "13000000001", 1000});  // nobody in the snapshot serves cucc
  std::vector<submit_result> results;
  self->request(intake, 10s, submit_atom::value, batch)
    .receive([&](std::vector<submit_result>& r) { results = std::move(r); },
             [](caf::error& e) { BOOST_FAIL(describe(e)); });
  BOOST_REQUIRE_EQUAL(results.size(), 21u);
  for (size_t i = 0; i < 11; ++i)
    BOOST_TEST(!results[i].error, i << ": " << describe(results[i].error));
  for (size_t i = 11; i < 20; ++i) {
    auto f = as_failure(results[i].error);
    BOOST_REQUIRE(f);
    BOOST_TEST((f->code == errc::overloaded));
    BOOST_TEST(f->retry_after_s >= 1);
    BOOST_TEST(f->reason.find("p-slow") != std::string::npos, f->reason);
  }
  BOOST_TEST(!results[20].error);
  BOOST_TEST(rows() == 12);  // refused orders are not written
  BOOST_TEST(dispatched(12).size() == 12u);
  // Only the router intake hands its orders to speaks for the providers.
  self->send(intake, admission_atom::value, one_slow_cmcc_provider(12, 0));
  BOOST_TEST((submit_error(valid_request("slow-20", 20)) == errc::overloaded));
  // The router took the twelve orders, and the provider started every cmcc one: room again.
  hand_snapshot(router, one_slow_cmcc_provider(12, 0));
  auto again = submit(valid_request("slow-20", 20));
  BOOST_TEST(static_cast<bool>(again), error_text(again));
  self->request(intake, 10s, stats_atom::value)
    .receive([](intake_stats& stats) { BOOST_TEST(stats.overloaded == 10u); },
             [](caf::error& e) { BOOST_FAIL(describe(e)); });
}

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

BOOST_AUTO_TEST_CASE(orders_waiting_to_be_gathered_count_as_in_flight) {
  stop();
  store_cfg.busy_timeout_s = 30;  // the lock below must not time the orders out
  start(/*max_in_flight=*/10);
  soci::session blocker{soci::sqlite3, "db=" + store_cfg.sqlite_path + " timeout=5"};
  blocker << "BEGIN EXCLUSIVE";
  // One burst: the first ten fill intake's slots before any of them reaches the store.
  for (int i = 0; i < 30; ++i)
    self->send(intake, submit_atom::value, valid_request("o-" + std::to_string(i), 1));
  std::vector<order_request> batch{valid_request("o-b1", 2), valid_request("o-b2", 3)};
  self->send(intake, submit_atom::value, batch);
  int overloaded = 0;
  int answers = 0;
  self->receive_for(answers, 21)(
    [](order&) { BOOST_FAIL("a locked store cannot acknowledge"); },
    [&](caf::error& e) {
      BOOST_TEST((as_failure(e)->code == errc::overloaded));
      overloaded++;
    },
    [&](std::vector<submit_result>& results) {
      BOOST_REQUIRE_EQUAL(results.size(), 2u);
      for (const auto& result : results)
        BOOST_TEST((as_failure(result.error)->code == errc::overloaded));
    });
  BOOST_TEST(overloaded == 20);
  blocker << "ROLLBACK";
  std::set<std::string> refs;
  answers = 0;
  self->receive_for(answers, 10)([&](order& o) { refs.insert(o.client_ref); },
                                 [](caf::error& e) { BOOST_FAIL(describe(e)); });
  BOOST_TEST(refs.size() == 10u);
  BOOST_TEST(refs.count("o-0") == 1u);
  BOOST_TEST(refs.count("o-9") == 1u);
  BOOST_TEST(rows() == 10);
}

BOOST_AUTO_TEST_CASE(a_store_that_cannot_open_gives_unavailable) {
  stop();
  store_cfg.sqlite_path = dir.file("no-such-dir/orders.db");
  start();
  BOOST_TEST((submit_error(valid_request("r-1", 1)) == errc::unavailable));
  // A batch sharing the failed insert with a single: every admitted order gets the error,
  // the invalid one keeps its own.
  auto single = self->request(intake, 10s, submit_atom::value, valid_request("r-2", 2));
  std::vector<order_request> requests{valid_request("r-3", 3), {"r-4", "1", 1000}};
  auto batch = self->request(intake, 10s, submit_atom::value, requests);
  single.receive([](order&) { BOOST_FAIL("stored without a store"); },
                 [](caf::error& e) { BOOST_TEST((as_failure(e)->code == errc::unavailable)); });
  batch.receive(
    [](std::vector<submit_result>& results) {
      BOOST_REQUIRE_EQUAL(results.size(), 2u);
      BOOST_TEST((as_failure(results[0].error)->code == errc::unavailable));
      BOOST_TEST((as_failure(results[1].error)->code == errc::invalid_phone));
    },
    [](caf::error& e) { BOOST_FAIL(describe(e)); });
}

BOOST_AUTO_TEST_SUITE_END()
