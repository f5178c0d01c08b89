#include <boost/test/unit_test.hpp>

#include "tests/time_support.hpp"

#include "domain/admission.hpp"
#include "domain/call_cost_meter.hpp"
#include "tests/provider_views.hpp"

#include <string>
#include <vector>

using namespace topup;
using namespace topup::testing;

namespace {

/// The providers of the workloads (bench/README.md) as a router snapshot: every provider's latest start
/// `latest_s` seconds after acceptance; routing budget the same.
admission_snapshot workload_snapshot(double latest_s = 110) {
  admission_snapshot s;
  s.routing_budget_ms = latest_s * 1000;
  s.providers = workload_providers();
  s.latest_start_ms.assign(s.providers.size(), latest_s * 1000);
  return s;
}

/// One provider serving cmcc at 10 calls/s whose orders must start within 10 s: 100 orders
/// ahead of a new one take the whole 10 s.
admission_snapshot one_slow_provider() {
  auto snapshot = workload_snapshot(10);
  snapshot.providers.resize(1);
  snapshot.latest_start_ms.resize(1);
  snapshot.providers[0].rate = 10;
  return snapshot;
}

/// Admits `count` cmcc orders and returns their charges.
std::vector<admission_control::charge> admit_cmcc(admission_control& control, size_t count) {
  std::vector<admission_control::charge> charges;
  for (size_t i = 0; i < count; ++i) {
    auto verdict = control.admit("cmcc");
    BOOST_TEST_REQUIRE(verdict.admitted);
    charges.push_back(verdict.charged);
  }
  return charges;
}

constexpr uint16_t cmcc = 0, cucc = 1, agg = 3;

/// Idle providers, a store lag limit of 2 s, and `provider`'s lane reporting `lag_ms`: only
/// the store holds orders back.
admission_snapshot store_behind(uint16_t provider, double lag_ms) {
  auto snapshot = workload_snapshot();
  snapshot.store_lag_limit_ms = 2000;
  snapshot.providers[provider].store_lag_ms = lag_ms;
  return snapshot;
}

/// Admits orders of `carrier` until one is refused (at most `limit`); how many were admitted.
size_t admit_until_refused(admission_control& control, const std::string& carrier,
                           size_t limit = 1'000'000) {
  size_t admitted = 0;
  while (admitted < limit && control.admit(carrier).admitted)
    ++admitted;
  return admitted;
}

} // namespace

BOOST_AUTO_TEST_SUITE(admission_suite)

BOOST_AUTO_TEST_CASE(the_latest_start_is_the_first_resend_point_or_the_last_call_less_the_margin) {
  // 180 s deadline, re-send at 120 s, 2 s calls, 10 s margin: the re-send point bounds it.
  BOOST_TEST(latest_first_start_ms(180000, 120000, 2000, 10000) == 110000);
  // Without re-send points: the deadline less the call timeout, less the margin.
  BOOST_TEST(latest_first_start_ms(180000, std::nullopt, 2000, 10000) == 168000);
  // A re-send point later than the last chance to call: the last chance bounds it.
  BOOST_TEST(latest_first_start_ms(4000, 3900, 200, 0) == 3800);
  // Never below zero.
  BOOST_TEST(latest_first_start_ms(1000, 600, 200, 5000) == 0);
  // No margin configured: a tenth of the time.
  BOOST_TEST(latest_first_start_ms(180000, 120000, 2000, std::nullopt) == 108000);
  BOOST_TEST(latest_first_start_ms(4000, 2666, 200, std::nullopt) == 2400);
}

BOOST_AUTO_TEST_CASE(predicted_start_counts_every_order_ahead_at_its_measured_cost,
                     *boost::unit_test::tolerance(1e-9)) {
  provider_view v = workload_snapshot().providers[cmcc];
  BOOST_TEST(predicted_start_ms(v) == 0.0);
  v.queued = 200;
  v.in_flight = 40;
  v.waiting = 60;  // retries and queries to come go before a new order too
  BOOST_TEST(predicted_start_ms(v) == 300.0 / 300.0 * 1000.0);
  v.calls_per_order = 1.5;  // a fifth of the calls fail and are retried, say
  BOOST_TEST(predicted_start_ms(v) == 1500.0);
  v.calls_per_order = 0.5;  // never below one call an order
  BOOST_TEST(predicted_start_ms(v) == 1000.0);
  BOOST_TEST(predicted_completion_ms(v) == 1050.0);
}

BOOST_AUTO_TEST_CASE(without_a_snapshot_every_order_is_admitted_uncharged) {
  admission_control control;
  for (int i = 0; i < 1000; ++i) {
    auto verdict = control.admit("cmcc");
    BOOST_TEST(verdict.admitted);
    BOOST_TEST(!verdict.charged);
    control.handed_on(verdict.charged);
  }
  BOOST_TEST(control.uncounted() == 0u);
}

BOOST_AUTO_TEST_CASE(an_order_is_charged_to_the_provider_routing_picks) {
  admission_control control;
  control.update(workload_snapshot());
  auto verdict = control.admit("cmcc");
  BOOST_TEST(verdict.admitted);
  BOOST_TEST_REQUIRE(verdict.charged.has_value());
  BOOST_TEST(*verdict.charged == cmcc);
  verdict = control.admit("cucc");
  BOOST_TEST_REQUIRE(verdict.charged.has_value());
  BOOST_TEST(*verdict.charged == cucc);
  BOOST_TEST(control.uncounted() == 2u);
}

BOOST_AUTO_TEST_CASE(a_burst_between_snapshots_stops_at_what_the_providers_start_in_time) {
  // One provider serving cmcc at 10 calls/s, latest start 10 s: 100 orders ahead of a new one
  // take the whole 10 s. Every order admitted counts at once, without a new snapshot.
  auto snapshot = one_slow_provider();
  admission_control control;
  control.update(snapshot);
  BOOST_TEST(admit_until_refused(control, "cmcc") == 101u);  // the 101st starts at 10 s: in time
  // What the provider already holds counts the same way, at its measured cost per order.
  snapshot.providers[0].queued = 30;
  snapshot.providers[0].in_flight = 10;
  snapshot.providers[0].waiting = 10;
  control = admission_control{};
  control.update(snapshot);
  BOOST_TEST(admit_until_refused(control, "cmcc") == 51u);
  snapshot.providers[0].calls_per_order = 2;  // 50 orders ahead are 100 calls already
  control = admission_control{};
  control.update(snapshot);
  BOOST_TEST(admit_until_refused(control, "cmcc") == 1u);
}

BOOST_AUTO_TEST_CASE(an_order_a_failover_provider_can_start_in_time_is_not_refused) {
  auto snapshot = workload_snapshot();
  snapshot.providers[cmcc].queued = 300 * 200;  // 200 s of work: far beyond 110 s
  admission_control control;
  control.update(snapshot);
  auto verdict = control.admit("cmcc");
  BOOST_TEST(verdict.admitted);
  BOOST_TEST_REQUIRE(verdict.charged.has_value());
  BOOST_TEST(*verdict.charged == agg);  // routing sends it to p-agg, and admission counts it there
  // p-agg takes cmcc orders until its own 110 s are full: 200 calls/s x 110 s, and one more.
  BOOST_TEST(admit_until_refused(control, "cmcc") == 200u * 110u);
  // The aggregator is full for cucc orders now too, but p-cucc is idle.
  BOOST_TEST(control.admit("cucc").admitted);
}

BOOST_AUTO_TEST_CASE(a_refusal_is_overloaded_with_the_reason_and_when_to_retry) {
  auto snapshot = workload_snapshot();
  snapshot.providers[cmcc].queued = 300 * 130;  // starts a new order in 130 s
  snapshot.providers[agg].queued = 200 * 125;   // 125 s: the earliest, 15 s late
  admission_control control;
  control.update(snapshot);
  auto verdict = control.admit("cmcc");
  BOOST_TEST(!verdict.admitted);
  BOOST_TEST(!verdict.charged);
  BOOST_TEST((verdict.refusal.code == errc::overloaded));
  BOOST_TEST(verdict.refusal.retry_after_s == 15);
  BOOST_TEST(verdict.refusal.reason.find("cmcc") != std::string::npos, verdict.refusal.reason);
  BOOST_TEST(verdict.refusal.reason.find("p-agg") != std::string::npos, verdict.refusal.reason);
  BOOST_TEST(verdict.refusal.reason.find("110 s") != std::string::npos, verdict.refusal.reason);
  BOOST_TEST(verdict.refusal.reason.find("retry in 15 s") != std::string::npos,
             verdict.refusal.reason);
  BOOST_TEST(control.uncounted() == 0u);  // a refused order is charged to nobody
  // A hint is at least a second, however close the backlog is to the latest start.
  snapshot.providers[agg].queued = 200 * 110 + 1;
  control.update(snapshot);
  verdict = control.admit("cmcc");
  BOOST_TEST(!verdict.admitted);
  BOOST_TEST(verdict.refusal.retry_after_s == 1);
}

BOOST_AUTO_TEST_CASE(providers_with_an_open_breaker_count_only_when_all_have_one) {
  auto snapshot = workload_snapshot();
  snapshot.providers[cmcc].accepting = false;  // its queue went elsewhere: it looks idle
  snapshot.providers[agg].queued = 200 * 120;  // but the only one taking calls is full
  admission_control control;
  control.update(snapshot);
  BOOST_TEST(!control.admit("cmcc").admitted);
  // Both breakers open: the order would wait for the probe of p-cmcc, whose queue is empty.
  snapshot.providers[agg].accepting = false;
  control.update(snapshot);
  auto verdict = control.admit("cmcc");
  BOOST_TEST(verdict.admitted);
  BOOST_TEST_REQUIRE(verdict.charged.has_value());
  BOOST_TEST(*verdict.charged == cmcc);
}

BOOST_AUTO_TEST_CASE(a_provider_whose_load_is_not_known_here_never_causes_a_refusal) {
  auto snapshot = workload_snapshot();
  snapshot.providers[cmcc].queued = 300 * 200;
  snapshot.providers[agg].load_known = false;  // another node of the cluster holds it
  admission_control control;
  control.update(snapshot);
  for (int i = 0; i < 1000; ++i) {
    auto verdict = control.admit("cmcc");
    BOOST_TEST_REQUIRE(verdict.admitted);
    BOOST_TEST(!verdict.charged);  // nothing to count its load against
  }
}

BOOST_AUTO_TEST_CASE(orders_on_their_way_stay_counted_until_a_snapshot_counts_them) {
  auto snapshot = one_slow_provider();
  admission_control control;
  control.update(snapshot);
  auto admitted = admit_cmcc(control, 101);
  BOOST_TEST(!control.admit("cmcc").admitted);
  // The store has them; they go to the router in that order.
  for (auto charge : admitted)
    control.handed_on(charge);
  // The router counted 60 of them in its view so far; the other 41 are still on their way.
  snapshot.orders_received = 60;
  snapshot.providers[0].queued = 60;
  control.update(snapshot);
  BOOST_TEST(control.uncounted() == 41u);
  BOOST_TEST(!control.admit("cmcc").admitted);
  // It has all of them now, and the provider started 20: room for 20 more.
  snapshot.orders_received = 101;
  snapshot.providers[0].queued = 81;
  control.update(snapshot);
  BOOST_TEST(control.uncounted() == 0u);
  BOOST_TEST(admit_until_refused(control, "cmcc") == 20u);
}

BOOST_AUTO_TEST_CASE(an_order_that_does_not_reach_the_router_gives_its_place_back) {
  admission_control control;
  control.update(one_slow_provider());
  auto admitted = admit_cmcc(control, 101);
  // Ten were resubmissions of stored orders (or their insert failed): never handed on.
  for (size_t i = 0; i < admitted.size(); ++i) {
    if (i % 10 == 0 && i < 100)
      control.withdraw(admitted[i]);
    else
      control.handed_on(admitted[i]);
  }
  BOOST_TEST(control.uncounted() == 91u);
  BOOST_TEST(admit_until_refused(control, "cmcc") == 10u);
}

BOOST_AUTO_TEST_CASE(a_new_router_starts_the_count_anew) {
  auto snapshot = one_slow_provider();
  admission_control control;
  snapshot.orders_received = 500;  // what the first router counted before it failed
  control.update(snapshot);
  for (auto charge : admit_cmcc(control, 50))
    control.handed_on(charge);
  auto in_store = control.admit("cmcc").charged;  // still waiting for the store
  BOOST_TEST(control.uncounted() == 51u);
  // The orders handed to the failed router come back from the store into the new one's
  // queues; its snapshots count them there and count intake's orders from zero.
  control.router_changed();
  BOOST_TEST(control.uncounted() == 1u);
  control.handed_on(in_store);
  snapshot.orders_received = 1;
  snapshot.providers[0].queued = 51;
  control.update(snapshot);
  BOOST_TEST(control.uncounted() == 0u);
  BOOST_TEST(admit_until_refused(control, "cmcc") == 50u);
}

BOOST_AUTO_TEST_CASE(orders_handed_on_before_the_first_snapshot_keep_the_count_aligned) {
  admission_control control;
  for (auto charge : admit_cmcc(control, 5))
    control.handed_on(charge);  // no snapshot: admitted, uncharged
  auto snapshot = one_slow_provider();
  snapshot.orders_received = 3;  // two of the five are still on their way
  snapshot.providers[0].queued = 3;
  control.update(snapshot);
  auto charged = control.admit("cmcc").charged;
  control.handed_on(charged);
  BOOST_TEST(control.uncounted() == 1u);
  // The next snapshot counts the two uncharged ones first: the charged one stays counted.
  snapshot.orders_received = 5;
  snapshot.providers[0].queued = 5;
  control.update(snapshot);
  BOOST_TEST(control.uncounted() == 1u);
  snapshot.orders_received = 6;
  snapshot.providers[0].queued = 6;
  control.update(snapshot);
  BOOST_TEST(control.uncounted() == 0u);
}

BOOST_AUTO_TEST_CASE(the_cost_meter_measures_calls_per_finished_order,
                     *boost::unit_test::tolerance(0.01)) {
  call_cost_meter meter{std::chrono::seconds(10)};
  BOOST_TEST(meter.calls_per_order(at_ms(0)) == 1.0);  // nothing measured: one call an order
  // W2's mix: 75 % success, 20 % transient failure, 5 % unknown (a query, half of them
  // performed): 1.05 / 0.775 = 1.355 calls an order, here 1355 calls for 1000 orders.
  for (int i = 0; i < 1355; ++i)
    meter.call_started(at_ms(0));
  for (int i = 0; i < 1000; ++i)
    meter.order_finished(at_ms(0));
  BOOST_TEST(meter.calls_per_order(at_ms(0)) == 1.355);
  // A provider that fails every call finishes nothing: the cost grows, never divides by 0.
  call_cost_meter failing;
  for (int i = 0; i < 100; ++i)
    failing.call_started(at_ms(0));
  BOOST_TEST(failing.calls_per_order(at_ms(0)) == 101.0);
}

BOOST_AUTO_TEST_CASE(the_cost_meter_forgets_old_calls) {
  call_cost_meter meter{std::chrono::seconds(10)};
  for (int i = 0; i < 1000; ++i) {
    meter.call_started(at_ms(i));
    meter.call_started(at_ms(i));
    meter.order_finished(at_ms(i));
  }
  BOOST_TEST(meter.calls_per_order(at_ms(1000)) == 2.0, boost::test_tools::tolerance(0.01));
  // The provider recovers: a minute later, one call an order.
  for (int i = 0; i < 1000; ++i) {
    meter.call_started(at_ms(60000 + i));
    meter.order_finished(at_ms(60000 + i));
  }
  BOOST_TEST(meter.calls_per_order(at_ms(61000)) < 1.05);
  BOOST_TEST(meter.calls_per_order(at_ms(61000)) >= 1.0);
}

BOOST_AUTO_TEST_CASE(the_share_refused_for_the_store_grows_from_half_the_limit_to_all_at_it,
                     *boost::unit_test::tolerance(1e-9)) {
  BOOST_TEST(store_refusal_share(0, 2000) == 0.0);
  BOOST_TEST(store_refusal_share(1000, 2000) == 0.0);
  BOOST_TEST(store_refusal_share(1500, 2000) == 0.5);
  BOOST_TEST(store_refusal_share(2000, 2000) == 1.0);
  BOOST_TEST(store_refusal_share(60000, 2000) == 1.0);
  BOOST_TEST(store_refusal_share(60000, 0) == 0.0);  // no limit
}

BOOST_AUTO_TEST_CASE(a_store_half_way_to_its_limit_sheds_its_share_evenly) {
  // 1.5 s behind with a limit of 2 s: every other order is refused, never two in a row.
  admission_control control;
  control.update(store_behind(cmcc, 1500));
  size_t refused = 0;
  bool last_refused = false, two_in_a_row = false;
  for (int i = 0; i < 100; ++i) {
    auto verdict = control.admit("cucc");
    two_in_a_row |= last_refused && !verdict.admitted;
    last_refused = !verdict.admitted;
    refused += verdict.admitted ? 0 : 1;
  }
  BOOST_TEST(refused == 50u);
  BOOST_TEST(!two_in_a_row);
}

BOOST_AUTO_TEST_CASE(while_the_store_lags_past_its_limit_every_new_order_is_refused) {
  auto snapshot = store_behind(cucc, 999);
  admission_control control;
  control.update(snapshot);
  BOOST_TEST(admit_until_refused(control, "cmcc", 1000) == 1000u);

  // One lane's oldest write has waited 3.4 s: the store is that far behind for every order,
  // whatever carrier it is for.
  snapshot.providers[cucc].store_lag_ms = 3400;
  control.update(snapshot);
  auto charged_before = control.uncounted();
  for (const auto* carrier : {"cmcc", "cucc", "ctcc"}) {
    auto verdict = control.admit(carrier);
    BOOST_TEST(!verdict.admitted);
    BOOST_TEST(!verdict.charged);
    BOOST_TEST((verdict.refusal.code == errc::overloaded));
    BOOST_TEST(verdict.refusal.retry_after_s == 3);  // 2.4 s over half the limit
    BOOST_TEST(verdict.refusal.reason.find("the store is 3400 ms behind") != std::string::npos,
               verdict.refusal.reason);
    BOOST_TEST(verdict.refusal.reason.find("2000 ms") != std::string::npos,
               verdict.refusal.reason);
  }
  BOOST_TEST(control.uncounted() == charged_before);  // refusals charge nobody

  // The lag of a provider another node holds is not this node's store: it does not count.
  snapshot.providers[cucc].load_known = false;
  control.update(snapshot);
  BOOST_TEST(control.admit("cmcc").admitted);

  // No limit: the lag is not looked at.
  snapshot.providers[cucc].load_known = true;
  snapshot.store_lag_limit_ms = 0;
  control.update(snapshot);
  BOOST_TEST(control.admit("cmcc").admitted);
}

BOOST_AUTO_TEST_SUITE_END()
