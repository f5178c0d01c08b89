#include <boost/test/unit_test.hpp>

#include "tests/time_support.hpp"

#include "domain/clock.hpp"
#include "domain/intake_rules.hpp"
#include "domain/order.hpp"
#include "domain/provider_lane.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

using namespace topup;
using topup::testing::at_ms;
using topup::testing::t0;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

namespace {

/// Wall time (ms since the epoch) at t0; deadlines are expressed against it.
constexpr int64_t wall0 = 1'700'000'000'000;

/// An order with a deadline `deadline_in_ms` after wall0, anchored at t0 on the steady clock
/// (as intake does at acceptance).
order make_order(const std::string& id, int64_t deadline_in_ms, int32_t attempts = 0) {
  order o;
  o.id = id;
  o.client_ref = "ref-" + id;
  o.phone = "13800138000";
  o.carrier = "cmcc";
  o.amount_fen = 1000;
  o.provider = "p-cmcc";
  o.attempts = attempts;
  o.accepted_at_ms = wall0;
  o.deadline_ms = wall0 + deadline_in_ms;
  o.updated_at_ms = wall0;
  o.steady_deadline = at_ms(deadline_in_ms);
  return o;
}

constexpr int64_t far = 180'000;  ///< a deadline no test reaches

std::vector<std::string> ids(const std::vector<order>& orders) {
  std::vector<std::string> out;
  for (const auto& o : orders)
    out.push_back(o.id);
  return out;
}

using strings = std::vector<std::string>;

/// Plenty of tokens and slots unless a test says otherwise.
lane_settings roomy() {
  lane_settings s;
  s.rate = 1000;
  s.burst = 100;
  s.concurrency = 64;
  return s;
}

/// take_work at `ms` after t0.
provider_lane::work take(provider_lane& lane, int64_t ms) {
  return lane.take_work(at_ms(ms));
}

/// Milliseconds from t0, for readable failure messages.
int64_t ms_of(mono_time t) {
  return std::chrono::duration_cast<milliseconds>(t - t0).count();
}

/// next_wakeup(now) in whole ms after t0, or -1 for none.
int64_t wakeup_ms(const provider_lane& lane, mono_time now) {
  auto w = lane.next_wakeup(now);
  if (!w)
    return -1;
  BOOST_TEST(((*w - t0) % milliseconds(1)).count() == 0, "not a whole ms");
  return ms_of(*w);
}

} // namespace

BOOST_AUTO_TEST_SUITE(provider_lane_suite)

BOOST_AUTO_TEST_CASE(an_empty_lane_has_no_work) {
  provider_lane lane{roomy(), t0};
  auto w = take(lane, 0);
  BOOST_TEST(w.calls.empty());
  BOOST_TEST(w.queries.empty());
  BOOST_TEST(w.expired.empty());
  BOOST_TEST(!lane.next_wakeup(t0));
  auto load = lane.load(t0);
  BOOST_TEST(load.queued == 0u);
  BOOST_TEST(load.in_flight == 0u);
  BOOST_TEST(load.waiting == 0u);
  BOOST_TEST((load.breaker == circuit_breaker::state::closed));
}

BOOST_AUTO_TEST_CASE(settings_are_kept) {
  lane_settings s = roomy();
  s.call_timeout = milliseconds(1234);
  provider_lane lane{s, t0};
  BOOST_TEST(lane.settings().call_timeout.count() == 1234);
  BOOST_TEST(lane.settings().rate == 1000.0);
}

BOOST_AUTO_TEST_CASE(calls_leave_in_edf_order_with_urgent_first) {
  provider_lane lane{roomy(), t0};
  BOOST_TEST(lane.enqueue(make_order("a", 50'000), false));
  BOOST_TEST(lane.enqueue(make_order("b", 30'000), false));
  BOOST_TEST(lane.enqueue(make_order("c", 40'000), true));
  BOOST_TEST(lane.enqueue(make_order("d", 60'000), true));
  BOOST_TEST(lane.enqueue(make_order("e", 30'000), false));  // ties with b, arrived later
  BOOST_TEST(lane.enqueue(make_order("f", 10'000), false));
  auto w = take(lane, 0);
  BOOST_TEST(ids(w.calls) == (strings{"c", "d", "f", "b", "e", "a"}), boost::test_tools::per_element());
  BOOST_TEST(w.queries.empty());
  BOOST_TEST(w.expired.empty());
}

BOOST_AUTO_TEST_CASE(calls_carry_the_whole_order) {
  provider_lane lane{roomy(), t0};
  auto o = make_order("x", 90'000, 3);
  o.last_error = "timeout";
  BOOST_TEST(lane.enqueue(o, false));
  auto w = take(lane, 0);
  BOOST_TEST_REQUIRE(w.calls.size() == 1u);
  const auto& c = w.calls.front();
  BOOST_TEST(c.id == "x");
  BOOST_TEST(c.client_ref == "ref-x");
  BOOST_TEST(c.phone == "13800138000");
  BOOST_TEST(c.amount_fen == 1000);
  BOOST_TEST(c.attempts == 3);
  BOOST_TEST(c.deadline_ms == wall0 + 90'000);
  BOOST_TEST(c.last_error == "timeout");
  BOOST_TEST(!lane.holds("x"), "a called order is no longer held");
}

BOOST_AUTO_TEST_CASE(respects_the_token_bucket_burst_then_rate) {
  lane_settings s = roomy();
  s.rate = 100;  // one token per 10 ms
  s.burst = 5;
  provider_lane lane{s, t0};
  for (int i = 0; i < 30; ++i)
    lane.enqueue(make_order("o" + std::to_string(100 + i), far + i), false);
  BOOST_TEST(take(lane, 0).calls.size() == 5u);
  BOOST_TEST(take(lane, 0).calls.size() == 0u);
  BOOST_TEST(take(lane, 9).calls.size() == 0u);
  auto w = take(lane, 10);
  BOOST_TEST_REQUIRE(w.calls.size() == 1u);
  BOOST_TEST(w.calls.front().id == "o105", "EDF continues where it stopped");
  BOOST_TEST(take(lane, 10).calls.size() == 0u);
  BOOST_TEST(take(lane, 19).calls.size() == 0u);
  BOOST_TEST(take(lane, 20).calls.size() == 1u);
  // 55 ms later: 3 more tokens (at 30, 40, 50), not 5.
  BOOST_TEST(take(lane, 55).calls.size() == 3u);
  // After a long pause the burst is available again, and no more.
  BOOST_TEST(take(lane, 10'000).calls.size() == 5u);
  BOOST_TEST(take(lane, 10'000).calls.size() == 0u);
  BOOST_TEST(lane.load(at_ms(10'000)).queued == 30u - 5u - 1u - 1u - 3u - 5u);
}

BOOST_AUTO_TEST_CASE(respects_the_concurrency_cap) {
  lane_settings s = roomy();
  s.concurrency = 3;
  provider_lane lane{s, t0};
  for (int i = 0; i < 10; ++i)
    lane.enqueue(make_order("o" + std::to_string(i), far + i), false);
  BOOST_TEST(take(lane, 0).calls.size() == 3u);
  BOOST_TEST(lane.load(t0).in_flight == 3u);
  BOOST_TEST(take(lane, 1).calls.size() == 0u);
  BOOST_TEST(take(lane, 5000).calls.size() == 0u, "time alone frees no slot");
  lane.call_finished(at_ms(5000), true);
  BOOST_TEST(take(lane, 5000).calls.size() == 1u);
  BOOST_TEST(take(lane, 5000).calls.size() == 0u);
  lane.slot_unused();
  BOOST_TEST(lane.load(at_ms(5000)).in_flight == 2u);
  BOOST_TEST(take(lane, 5000).calls.size() == 1u);
  lane.call_finished(at_ms(5001), false);  // an unhealthy end frees its slot too
  lane.call_finished(at_ms(5001), true);
  BOOST_TEST(take(lane, 5001).calls.size() == 2u);
  BOOST_TEST(lane.load(at_ms(5001)).in_flight == 3u);
  BOOST_TEST(lane.load(at_ms(5001)).queued == 3u);
}

BOOST_AUTO_TEST_CASE(extra_finish_reports_do_not_underflow_in_flight) {
  provider_lane lane{roomy(), t0};
  lane.slot_unused();
  lane.call_finished(t0, true);
  BOOST_TEST(lane.load(t0).in_flight == 0u);
  lane.enqueue(make_order("a", far), false);
  BOOST_TEST(take(lane, 0).calls.size() == 1u);
  BOOST_TEST(lane.load(t0).in_flight == 1u);
}

BOOST_AUTO_TEST_CASE(due_queries_go_before_calls_and_take_tokens) {
  lane_settings s = roomy();
  s.rate = 100;
  s.burst = 3;
  provider_lane lane{s, t0};
  lane.enqueue(make_order("a", 10'000), true);  // urgent: still after queries
  lane.enqueue(make_order("b", 20'000), false);
  lane.query_later(make_order("q2", 30'000), at_ms(0));
  lane.query_later(make_order("q1", 40'000), at_ms(0));
  auto w = take(lane, 0);
  BOOST_TEST(ids(w.queries) == (strings{"q2", "q1"}), boost::test_tools::per_element());
  BOOST_TEST(ids(w.calls) == (strings{"a"}), boost::test_tools::per_element());
  BOOST_TEST(lane.load(t0).in_flight == 3u);
  BOOST_TEST(take(lane, 0).calls.empty());
}

BOOST_AUTO_TEST_CASE(due_queries_take_slots) {
  lane_settings s = roomy();
  s.concurrency = 2;
  provider_lane lane{s, t0};
  lane.enqueue(make_order("a", far), false);
  lane.query_later(make_order("q1", far), at_ms(0));
  lane.query_later(make_order("q2", far), at_ms(0));
  lane.query_later(make_order("q3", far), at_ms(0));
  auto w = take(lane, 0);
  BOOST_TEST(ids(w.queries) == (strings{"q1", "q2"}), boost::test_tools::per_element());
  BOOST_TEST(w.calls.empty());
  lane.call_finished(at_ms(10), true);
  w = take(lane, 10);
  BOOST_TEST(ids(w.queries) == (strings{"q3"}), boost::test_tools::per_element());
  BOOST_TEST(w.calls.empty(), "the waiting query goes first");
  lane.call_finished(at_ms(20), true);
  w = take(lane, 20);
  BOOST_TEST(w.queries.empty());
  BOOST_TEST(ids(w.calls) == (strings{"a"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(queries_leave_in_due_order) {
  provider_lane lane{roomy(), t0};
  lane.query_later(make_order("late", far), at_ms(30));
  lane.query_later(make_order("early", far), at_ms(10));
  lane.query_later(make_order("middle", far), at_ms(20));
  auto w = take(lane, 30);
  BOOST_TEST(ids(w.queries) == (strings{"early", "middle", "late"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_query_not_due_yet_is_not_returned) {
  provider_lane lane{roomy(), t0};
  lane.query_later(make_order("q", far), at_ms(1000));
  BOOST_TEST(take(lane, 0).queries.empty());
  BOOST_TEST(take(lane, 999).queries.empty());
  BOOST_TEST(lane.load(at_ms(999)).waiting == 1u);
  BOOST_TEST(lane.load(at_ms(999)).in_flight == 0u);
  auto w = lane.take_work(at_ms(1000) - nanoseconds(1));
  BOOST_TEST(w.queries.empty());
  w = take(lane, 1000);
  BOOST_TEST(ids(w.queries) == (strings{"q"}), boost::test_tools::per_element());
  BOOST_TEST(lane.load(at_ms(1000)).waiting == 0u);
  BOOST_TEST(lane.load(at_ms(1000)).in_flight == 1u);
  BOOST_TEST(take(lane, 2000).queries.empty(), "a query is returned once");
}

BOOST_AUTO_TEST_CASE(query_now_brings_waiting_queries_forward_and_never_doubles_one) {
  provider_lane lane{roomy(), t0};
  lane.query_later(make_order("waiting", far), at_ms(60'000));
  lane.query_later(make_order("running", far), at_ms(0));
  lane.query_later(make_order("untouched", far), at_ms(60'000));
  auto first = take(lane, 0);
  BOOST_TEST(ids(first.queries) == (strings{"running"}), boost::test_tools::per_element());
  // "running"'s query is out; "not-held" the lane never had; "waiting" is due in a minute.
  BOOST_TEST(lane.query_now({"waiting", "running", "not-held"}, at_ms(10)) == 1u);
  auto next = take(lane, 10);
  BOOST_TEST(ids(next.queries) == (strings{"waiting"}), boost::test_tools::per_element());
  BOOST_TEST(!lane.holds("not-held"));
  BOOST_TEST(lane.holds("untouched"));
  BOOST_TEST(take(lane, 59'999).queries.empty());
  BOOST_TEST(ids(take(lane, 60'000).queries) == (strings{"untouched"}),
             boost::test_tools::per_element());
  BOOST_TEST(lane.query_now({"waiting"}, at_ms(60'001)) == 0u, "its query is running");
}

BOOST_AUTO_TEST_CASE(a_query_past_the_deadline_is_still_returned) {
  // An unknown outcome keeps being queried after the deadline (README.md, guarantee 4).
  provider_lane lane{roomy(), t0};
  lane.query_later(make_order("q", 1000), at_ms(5000));
  auto w = take(lane, 5000);
  BOOST_TEST(ids(w.queries) == (strings{"q"}), boost::test_tools::per_element());
  BOOST_TEST(w.expired.empty());
}

BOOST_AUTO_TEST_CASE(an_order_too_close_to_its_deadline_expires_instead_of_being_called) {
  // call_timeout 2000 ms: the latest start is deadline - 2000 ms.
  provider_lane lane{roomy(), t0};
  lane.enqueue(make_order("ok", 2000), false);       // starts exactly at its latest start
  lane.enqueue(make_order("late", 1999), false);     // 1 ms too late already
  lane.enqueue(make_order("past", -5), false);       // deadline already past
  auto w = take(lane, 0);
  BOOST_TEST(ids(w.calls) == (strings{"ok"}), boost::test_tools::per_element());
  auto expired = ids(w.expired);
  std::sort(expired.begin(), expired.end());
  BOOST_TEST(expired == (strings{"late", "past"}), boost::test_tools::per_element());
  BOOST_TEST(!lane.holds("late"));
  BOOST_TEST(!lane.holds("past"));
  BOOST_TEST(lane.load(t0).queued == 0u);
  BOOST_TEST(lane.load(t0).in_flight == 1u, "expiring takes no slot");
}

BOOST_AUTO_TEST_CASE(expiry_follows_the_steady_deadline_whatever_the_wall_clock_says) {
  // Accepted at wall0 with a 10 s limit, then NTP steps the wall clock: an hour forward
  // for one order, an hour back for the other. Both keep the steady deadline they were
  // given at acceptance: callable until 8000 ms after t0, expired just after.
  for (auto step : {milliseconds(3'600'000), milliseconds(-3'600'000)}) {
    manual_clock time{wall0};
    validated_request checked{{"ref-a", "13800138000", 1000}, "cmcc"};
    auto o = make_order(checked, "a", time, 10'000);
    time.step_wall(step);
    anchor_deadline(o, time);  // entering the lane after the step changes nothing
    BOOST_TEST((o.steady_deadline == at_ms(10'000)));
    lane_settings s = roomy();
    s.concurrency = 1;
    provider_lane lane{s, t0};
    lane.enqueue(make_order("busy", far), false);
    BOOST_TEST_REQUIRE(take(lane, 0).calls.size() == 1u);  // the only slot is taken
    lane.enqueue(o, false);
    BOOST_TEST(take(lane, 1).expired.empty(), "step " << step.count());
    BOOST_TEST(take(lane, 8000).expired.empty(), "step " << step.count());
    BOOST_TEST(ms_of(*lane.next_wakeup(at_ms(8000))) == 8001);
    BOOST_TEST(ids(take(lane, 8001).expired) == (strings{"a"}), boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(an_order_read_from_the_store_is_anchored_on_the_wall_clock_of_that_moment) {
  // After a restart the stored deadline is the only reference: it is mapped onto the steady
  // clock once, when the order is loaded, from the wall clock as it is then.
  manual_clock time{wall0};
  time.advance(milliseconds(500));
  order loaded = make_order("x", 10'000);
  loaded.steady_deadline.reset();
  anchor_deadline(loaded, time);
  BOOST_TEST((loaded.steady_deadline == at_ms(10'000)));
  time.step_wall(milliseconds(-60'000));  // later steps do not move it again
  anchor_deadline(loaded, time);
  BOOST_TEST((loaded.steady_deadline == at_ms(10'000)));
  order unanchored = make_order("y", 10'000);
  unanchored.steady_deadline.reset();
  provider_lane lane{roomy(), t0};
  BOOST_CHECK_THROW(lane.enqueue(unanchored, false), std::logic_error);
}

BOOST_AUTO_TEST_CASE(expired_orders_are_returned_without_a_token_or_slot_and_never_called) {
  lane_settings s = roomy();
  s.rate = 1;
  s.burst = 1;
  s.concurrency = 1;
  provider_lane lane{s, t0};
  lane.enqueue(make_order("busy", far), false);
  BOOST_TEST(take(lane, 0).calls.size() == 1u);  // no token and no slot left
  lane.enqueue(make_order("doomed", 2500), false);
  lane.enqueue(make_order("waiting", 60'000), false);
  auto w = take(lane, 100);
  BOOST_TEST(w.calls.empty());
  BOOST_TEST(w.expired.empty(), "2500 - 100 >= 2000: it could still start");
  w = take(lane, 501);
  BOOST_TEST(w.calls.empty());
  BOOST_TEST(ids(w.expired) == (strings{"doomed"}), boost::test_tools::per_element());
  // Once a slot and a token come back, only the order still in time is called.
  lane.call_finished(at_ms(3000), true);
  w = take(lane, 3000);
  BOOST_TEST(ids(w.calls) == (strings{"waiting"}), boost::test_tools::per_element());
  BOOST_TEST(w.expired.empty());
  lane.call_finished(at_ms(9000), true);
  w = take(lane, 9000);
  BOOST_TEST(w.calls.empty());
  BOOST_TEST(w.expired.empty());
}

BOOST_AUTO_TEST_CASE(expired_orders_are_returned_while_the_breaker_is_open) {
  lane_settings s = roomy();
  s.breaker_threshold = 1;
  provider_lane lane{s, t0};
  lane.enqueue(make_order("a", far), false);
  BOOST_TEST(take(lane, 0).calls.size() == 1u);
  lane.call_finished(at_ms(10), false);
  BOOST_TEST(lane.breaker_open(at_ms(10)));
  lane.enqueue(make_order("doomed", 1500), false);
  auto w = take(lane, 20);
  BOOST_TEST(ids(w.expired) == (strings{"doomed"}), boost::test_tools::per_element());
  BOOST_TEST(w.calls.empty());
}

// An urgent entry at the head that cannot start must not hide a normal entry behind it whose
// deadline is already too close: that order is failed at that moment (README.md, guarantee 4).
BOOST_AUTO_TEST_CASE(an_expired_order_behind_an_urgent_one_is_still_reported) {
  lane_settings s = roomy();
  s.rate = 1;
  s.burst = 1;
  provider_lane lane{s, t0};
  lane.enqueue(make_order("busy", far), false);
  BOOST_TEST(take(lane, 0).calls.size() == 1u);  // no token for a second
  lane.enqueue(make_order("resent", 20'000), true);
  lane.enqueue(make_order("doomed", 1500), false);
  auto w = take(lane, 10);
  BOOST_TEST(w.calls.empty());
  BOOST_TEST(ids(w.expired) == (strings{"doomed"}), boost::test_tools::per_element());
  BOOST_TEST(!lane.holds("doomed"));
}

BOOST_AUTO_TEST_CASE(first_retry_waits_half_to_one_retry_base) {
  // retry_base 200 ms: the first retry comes 100..200 ms later, over many seeds.
  int64_t lowest = 1'000'000;
  int64_t highest = 0;
  std::set<int64_t> distinct;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    provider_lane lane{roomy(), t0, seed};
    lane.retry_later(make_order("r", far, 1), at_ms(1000));
    BOOST_TEST(lane.holds("r"));
    BOOST_TEST(lane.load(at_ms(1000)).waiting == 1u);
    BOOST_TEST(lane.load(at_ms(1000)).queued == 0u);
    auto wake = lane.next_wakeup(at_ms(1000));
    BOOST_TEST_REQUIRE(wake.has_value());
    auto delay = std::chrono::duration_cast<milliseconds>(*wake - at_ms(1000)).count();
    BOOST_TEST(delay >= 100, "seed " << seed);
    BOOST_TEST(delay <= 200, "seed " << seed);
    // Not callable a moment before, callable exactly at the due time.
    auto before = lane.take_work(*wake - nanoseconds(1));
    BOOST_TEST(before.calls.empty(), "seed " << seed);
    auto due = lane.take_work(*wake);
    BOOST_TEST(ids(due.calls) == (strings{"r"}), boost::test_tools::per_element());
    BOOST_TEST(!lane.holds("r"));
    lowest = std::min(lowest, delay);
    highest = std::max(highest, delay);
    distinct.insert(delay);
  }
  // The jitter really spreads the retries.
  BOOST_TEST(lowest <= 110);
  BOOST_TEST(highest >= 190);
  BOOST_TEST(distinct.size() >= 30u);
}

BOOST_AUTO_TEST_CASE(retry_delay_grows_exponentially_and_is_capped) {
  // base 200, cap 5000: ceilings 200, 400, 800, 1600, 3200, 5000, 5000, ...
  const std::vector<std::pair<int32_t, int64_t>> ceilings = {
    {0, 200},  {1, 200},  {2, 400},  {3, 800},    {4, 1600},      {5, 3200},
    {6, 5000}, {7, 5000}, {17, 5000}, {18, 5000}, {1000, 5000}, {INT32_MAX, 5000}};
  std::map<int32_t, double> mean;
  for (const auto& [attempts, ceiling] : ceilings) {
    BOOST_TEST_CONTEXT("attempts " << attempts) {
      int64_t lowest = ceiling;
      int64_t highest = 0;
      double sum = 0;
      const int seeds = 200;
      for (int seed = 1; seed <= seeds; ++seed) {
        provider_lane lane{roomy(), t0, static_cast<uint64_t>(seed)};
        lane.retry_later(make_order("r", far, attempts), t0);
        auto wake = lane.next_wakeup(t0);
        BOOST_TEST_REQUIRE(wake.has_value());
        auto delay = std::chrono::duration_cast<milliseconds>(*wake - t0).count();
        BOOST_TEST(delay >= ceiling / 2);
        BOOST_TEST(delay <= ceiling);
        lowest = std::min(lowest, delay);
        highest = std::max(highest, delay);
        sum += static_cast<double>(delay);
      }
      BOOST_TEST(static_cast<double>(lowest) <= 0.55 * static_cast<double>(ceiling));
      BOOST_TEST(static_cast<double>(highest) >= 0.95 * static_cast<double>(ceiling));
      mean[attempts] = sum / seeds;
    }
  }
  for (int32_t attempts = 1; attempts < 5; ++attempts) {
    double ratio = mean[attempts + 1] / mean[attempts];
    BOOST_TEST(ratio >= 1.8, "attempts " << attempts << " -> " << attempts + 1);
    BOOST_TEST(ratio <= 2.2, "attempts " << attempts << " -> " << attempts + 1);
  }
}

BOOST_AUTO_TEST_CASE(retries_of_many_orders_spread_within_the_bounds) {
  // One lane (one random stream), 300 orders failing together with attempts 1..3.
  lane_settings s = roomy();
  s.rate = 100'000;  // tokens never delay a retry here
  s.burst = 1000;
  s.concurrency = 1000;
  provider_lane lane{s, t0, 42};
  std::map<std::string, int64_t> ceiling;
  for (int i = 0; i < 300; ++i) {
    int32_t attempts = 1 + i % 3;
    auto id = "r" + std::to_string(i);
    ceiling[id] = int64_t{200} << (attempts - 1);
    lane.retry_later(make_order(id, far, attempts), t0);
  }
  BOOST_TEST(lane.load(t0).waiting == 300u);
  std::map<std::string, int64_t> called_at;
  std::set<int64_t> distinct;
  for (int64_t ms = 0; ms <= 1000; ++ms) {
    auto w = take(lane, ms);
    for (const auto& o : w.calls) {
      BOOST_TEST(called_at.count(o.id) == 0u, o.id << " called twice");
      called_at[o.id] = ms;
      distinct.insert(ms);
      lane.call_finished(at_ms(ms), true);
    }
  }
  BOOST_TEST(called_at.size() == 300u);
  for (const auto& [id, ms] : called_at) {
    BOOST_TEST(ms >= ceiling[id] / 2, id);
    BOOST_TEST(ms <= ceiling[id], id);
  }
  BOOST_TEST(distinct.size() >= 100u, "retries bunch up");
  BOOST_TEST(lane.load(at_ms(1000)).waiting == 0u);
}

BOOST_AUTO_TEST_CASE(the_same_seed_gives_the_same_delays) {
  auto delays = [](uint64_t seed) {
    provider_lane lane{roomy(), t0, seed};
    std::vector<int64_t> out;
    for (int i = 0; i < 20; ++i) {
      lane.retry_later(make_order("r", far, 4), t0);
      out.push_back(ms_of(*lane.next_wakeup(t0)));
      lane.release("r");
    }
    return out;
  };
  BOOST_TEST(delays(7) == delays(7), boost::test_tools::per_element());
  BOOST_TEST((delays(7) != delays(8)));
}

BOOST_AUTO_TEST_CASE(a_due_retry_joins_the_queue_in_edf_order) {
  provider_lane lane{roomy(), t0};
  lane.retry_later(make_order("retry", 50'000, 1), t0);
  lane.enqueue(make_order("later", 60'000), false);
  lane.enqueue(make_order("sooner", 40'000), false);
  auto w = take(lane, 0);
  BOOST_TEST(ids(w.calls) == (strings{"sooner", "later"}), boost::test_tools::per_element());
  lane.enqueue(make_order("after", 70'000), false);
  lane.enqueue(make_order("before", 45'000), false);
  lane.enqueue(make_order("urgent", 90'000), true);
  // The retry is due by 200 ms and competes with the others by deadline.
  w = take(lane, 200);
  BOOST_TEST(ids(w.calls) == (strings{"urgent", "before", "retry", "after"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_retry_too_late_to_start_comes_back_expired) {
  provider_lane lane{roomy(), t0};
  lane.retry_later(make_order("r", 2100, 1), t0);  // latest start: 100 ms after t0
  auto wake = lane.next_wakeup(t0);
  BOOST_TEST_REQUIRE(wake.has_value());
  auto w = lane.take_work(*wake);
  BOOST_TEST(w.calls.empty());
  BOOST_TEST(ids(w.expired) == (strings{"r"}), boost::test_tools::per_element());
}

// An order in retry backoff is failed when its latest start (deadline - call_timeout) passes,
// not when its retry comes due, which can be up to retry_cap later.
BOOST_AUTO_TEST_CASE(an_order_in_retry_backoff_expires_at_its_latest_start) {
  provider_lane lane{roomy(), t0};
  lane.retry_later(make_order("r", 2050, 6), t0);  // retry in 2.5..5 s, latest start at 50 ms
  auto w = take(lane, 51);
  BOOST_TEST(ids(w.expired) == (strings{"r"}), boost::test_tools::per_element());
  BOOST_TEST(!lane.holds("r"));
}

BOOST_AUTO_TEST_CASE(release_takes_an_order_from_the_queue) {
  provider_lane lane{roomy(), t0};
  lane.enqueue(make_order("a", 30'000, 2), false);
  lane.enqueue(make_order("b", 40'000), false);
  auto released = lane.release("a");
  BOOST_TEST_REQUIRE(released.has_value());
  BOOST_TEST(released->id == "a");
  BOOST_TEST(released->attempts == 2);
  BOOST_TEST(released->deadline_ms == wall0 + 30'000);
  BOOST_TEST(!lane.holds("a"));
  BOOST_TEST(lane.holds("b"));
  BOOST_TEST(!lane.release("a"), "released twice");
  auto w = take(lane, 0);
  BOOST_TEST(ids(w.calls) == (strings{"b"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(release_takes_an_order_from_the_retry_wait) {
  provider_lane lane{roomy(), t0};
  lane.retry_later(make_order("r", far, 1), t0);
  auto released = lane.release("r");
  BOOST_TEST_REQUIRE(released.has_value());
  BOOST_TEST(released->id == "r");
  BOOST_TEST(!lane.holds("r"));
  BOOST_TEST(lane.load(t0).waiting == 0u);
  BOOST_TEST(!lane.next_wakeup(t0));
  for (int64_t ms : {100, 200, 5000})
    BOOST_TEST(take(lane, ms).calls.empty(), "called at " << ms);
  // The lane still works for that id afterwards.
  BOOST_TEST(lane.enqueue(make_order("r", far), false));
  BOOST_TEST(take(lane, 6000).calls.size() == 1u);
}

BOOST_AUTO_TEST_CASE(release_returns_nothing_for_orders_the_lane_does_not_hold) {
  provider_lane lane{roomy(), t0};
  BOOST_TEST(!lane.release("never-seen"));
  lane.enqueue(make_order("flying", far), false);
  BOOST_TEST(take(lane, 0).calls.size() == 1u);
  BOOST_TEST(!lane.release("flying"), "a call in flight cannot be released");
  // An outcome waiting for its status query must not move to another provider.
  lane.query_later(make_order("unknown", far), at_ms(1000));
  BOOST_TEST(!lane.release("unknown"));
  BOOST_TEST(ids(take(lane, 1000).queries) == (strings{"unknown"}),
             boost::test_tools::per_element());
  BOOST_TEST(lane.load(at_ms(1000)).in_flight == 2u);
}

BOOST_AUTO_TEST_CASE(release_all_empties_queue_and_retry_wait_but_keeps_queries) {
  provider_lane lane{roomy(), t0};
  lane.enqueue(make_order("q1", 30'000), false);
  lane.enqueue(make_order("q2", 20'000), true);
  lane.enqueue(make_order("q3", 40'000), false);
  lane.retry_later(make_order("r1", far, 1), t0);
  lane.retry_later(make_order("r2", far, 3), t0);
  lane.query_later(make_order("u", far), at_ms(500));
  BOOST_TEST(lane.load(t0).queued == 3u);
  BOOST_TEST(lane.load(t0).waiting == 3u);
  auto released = ids(lane.release_all());
  std::sort(released.begin(), released.end());
  BOOST_TEST(released == (strings{"q1", "q2", "q3", "r1", "r2"}),
             boost::test_tools::per_element());
  for (const char* id : {"q1", "q2", "q3", "r1", "r2"})
    BOOST_TEST(!lane.holds(id), id);
  BOOST_TEST(lane.load(t0).queued == 0u);
  BOOST_TEST(lane.load(t0).waiting == 1u, "the query stays");
  BOOST_TEST(lane.release_all().empty());
  auto w = take(lane, 10'000);
  BOOST_TEST(w.calls.empty());
  BOOST_TEST(ids(w.queries) == (strings{"u"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(release_all_returns_the_queue_in_service_order) {
  provider_lane lane{roomy(), t0};
  lane.enqueue(make_order("c", 30'000), false);
  lane.enqueue(make_order("a", 90'000), true);
  lane.enqueue(make_order("b", 10'000), false);
  BOOST_TEST(ids(lane.release_all()) == (strings{"a", "b", "c"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(holds_covers_queue_and_retry_wait) {
  provider_lane lane{roomy(), t0};
  BOOST_TEST(!lane.holds("a"));
  lane.enqueue(make_order("a", far), false);
  BOOST_TEST(lane.holds("a"));
  lane.retry_later(make_order("b", far, 1), t0);
  BOOST_TEST(lane.holds("b"));
  take(lane, 0);
  BOOST_TEST(!lane.holds("a"));
  BOOST_TEST(lane.holds("b"));
  take(lane, 200);
  BOOST_TEST(!lane.holds("b"));
}

BOOST_AUTO_TEST_CASE(enqueue_refuses_an_id_already_held) {
  provider_lane lane{roomy(), t0};
  BOOST_TEST(lane.enqueue(make_order("a", 100'000), false));
  BOOST_TEST(lane.enqueue(make_order("b", 50'000), false));
  // The refused copy changes nothing: "a" keeps its deadline and stays non-urgent.
  BOOST_TEST(!lane.enqueue(make_order("a", 1'000'000), true));
  BOOST_TEST(lane.load(t0).queued == 2u);
  lane.retry_later(make_order("r", far, 1), t0);
  BOOST_TEST(!lane.enqueue(make_order("r", far), true), "waiting for its retry");
  BOOST_TEST(lane.load(t0).queued == 2u);
  auto w = take(lane, 0);
  BOOST_TEST(ids(w.calls) == (strings{"b", "a"}), boost::test_tools::per_element());
  // Once released, the id may be queued again.
  BOOST_TEST(lane.release("r").has_value());
  BOOST_TEST(lane.enqueue(make_order("r", far), true));
}

// Guarantee 3: an order whose last outcome is unknown must not be enqueued (e.g. re-sent)
// and called again before the query has told whether the first call recharged the number.
BOOST_AUTO_TEST_CASE(enqueue_refuses_an_order_waiting_for_its_status_query) {
  provider_lane lane{roomy(), t0};
  lane.query_later(make_order("u", far), at_ms(1000));
  BOOST_TEST(lane.holds("u"));
  BOOST_TEST(!lane.enqueue(make_order("u", far), true));
  BOOST_TEST(take(lane, 0).calls.empty(), "called while its outcome is unknown");
}

// A copy already queued (a re-send that arrived while the failing call was in flight) must
// not become a second copy: release() would take only one, and the other would be called
// after the order may have moved to another provider.
BOOST_AUTO_TEST_CASE(retry_later_of_an_order_already_held_keeps_a_single_copy) {
  provider_lane lane{roomy(), t0};
  lane.enqueue(make_order("o", far), true);
  lane.retry_later(make_order("o", far, 1), t0);
  BOOST_TEST(lane.release("o").has_value());
  BOOST_TEST(!lane.holds("o"));
  int calls = 0;
  for (int64_t ms = 0; ms <= 10'000; ms += 10)
    calls += static_cast<int>(take(lane, ms).calls.size());
  BOOST_TEST(calls == 0, "a released order was called");
}

BOOST_AUTO_TEST_CASE(breaker_opens_after_threshold_unhealthy_finishes_and_stops_calls) {
  lane_settings s = roomy();
  s.concurrency = 4;
  s.breaker_threshold = 3;
  s.breaker_open_for = milliseconds(2000);
  provider_lane lane{s, t0};
  for (int i = 0; i < 20; ++i)
    lane.enqueue(make_order("o" + std::to_string(100 + i), far + i), false);
  BOOST_TEST(take(lane, 0).calls.size() == 4u);
  lane.call_finished(at_ms(10), false);
  lane.call_finished(at_ms(10), false);
  BOOST_TEST(!lane.breaker_open(at_ms(10)), "two failures are below the threshold");
  BOOST_TEST(take(lane, 10).calls.size() == 2u);
  lane.call_finished(at_ms(20), false);
  BOOST_TEST(lane.breaker_open(at_ms(20)));
  BOOST_TEST((lane.load(at_ms(20)).breaker == circuit_breaker::state::open));
  // Slots and tokens are free, yet nothing is called while open.
  BOOST_TEST(take(lane, 20).calls.empty());
  BOOST_TEST(take(lane, 1000).calls.empty());
  // Due queries still go out.
  lane.query_later(make_order("u", far), at_ms(1500));
  auto w = take(lane, 1500);
  BOOST_TEST(ids(w.queries) == (strings{"u"}), boost::test_tools::per_element());
  BOOST_TEST(w.calls.empty());
  BOOST_TEST(lane.load(at_ms(1500)).queued == 14u);
}

BOOST_AUTO_TEST_CASE(healthy_finishes_reset_the_breaker_count) {
  lane_settings s = roomy();
  s.breaker_threshold = 3;
  provider_lane lane{s, t0};
  for (int i = 0; i < 10; ++i)
    lane.enqueue(make_order("o" + std::to_string(i), far + i), false);
  BOOST_TEST(take(lane, 0).calls.size() == 10u);
  lane.call_finished(at_ms(1), false);
  lane.call_finished(at_ms(1), false);
  lane.call_finished(at_ms(1), true);
  lane.call_finished(at_ms(1), false);
  lane.call_finished(at_ms(1), false);
  BOOST_TEST(!lane.breaker_open(at_ms(1)));
  lane.call_finished(at_ms(1), false);
  BOOST_TEST(lane.breaker_open(at_ms(1)));
}

BOOST_AUTO_TEST_CASE(after_open_for_one_probe_goes_out_and_success_closes) {
  lane_settings s = roomy();
  s.concurrency = 4;
  s.breaker_threshold = 2;
  s.breaker_open_for = milliseconds(2000);
  provider_lane lane{s, t0};
  for (int i = 0; i < 20; ++i)
    lane.enqueue(make_order("o" + std::to_string(100 + i), far + i), false);
  BOOST_TEST(take(lane, 0).calls.size() == 4u);
  lane.call_finished(at_ms(100), false);
  lane.call_finished(at_ms(100), false);  // opens at 100
  lane.call_finished(at_ms(100), false);  // a late failure: reopens at 100 (same time)
  lane.call_finished(at_ms(100), false);
  BOOST_TEST(lane.load(at_ms(100)).in_flight == 0u);
  BOOST_TEST(take(lane, 2099).calls.empty());
  BOOST_TEST(lane.breaker_open(at_ms(2099)));
  BOOST_TEST(!lane.breaker_open(at_ms(2100)));
  auto w = take(lane, 2100);
  BOOST_TEST(ids(w.calls) == (strings{"o104"}), boost::test_tools::per_element());
  BOOST_TEST((lane.load(at_ms(2100)).breaker == circuit_breaker::state::half_open));
  BOOST_TEST(take(lane, 2100).calls.empty(), "only one probe");
  BOOST_TEST(take(lane, 3000).calls.empty(), "only one probe, however long it takes");
  lane.call_finished(at_ms(3000), true);
  BOOST_TEST((lane.load(at_ms(3000)).breaker == circuit_breaker::state::closed));
  w = take(lane, 3000);
  BOOST_TEST(ids(w.calls) == (strings{"o105", "o106", "o107", "o108"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_failed_probe_reopens_the_lane_for_a_full_period) {
  lane_settings s = roomy();
  s.breaker_threshold = 1;
  s.breaker_open_for = milliseconds(2000);
  provider_lane lane{s, t0};
  for (int i = 0; i < 5; ++i)
    lane.enqueue(make_order("o" + std::to_string(i), far + i), false);
  BOOST_TEST(take(lane, 0).calls.size() == 5u);
  for (int i = 0; i < 5; ++i)
    lane.call_finished(at_ms(0), false);
  lane.enqueue(make_order("p", far), false);
  lane.enqueue(make_order("q", far + 1), false);
  auto w = take(lane, 2000);
  BOOST_TEST(ids(w.calls) == (strings{"p"}), boost::test_tools::per_element());
  lane.call_finished(at_ms(2500), false);
  BOOST_TEST(lane.breaker_open(at_ms(2500)));
  BOOST_TEST(take(lane, 4499).calls.empty());
  w = take(lane, 4500);
  BOOST_TEST(ids(w.calls) == (strings{"q"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(the_probe_is_not_spent_while_no_slot_or_token_is_free) {
  lane_settings s = roomy();
  s.concurrency = 2;
  s.breaker_threshold = 1;
  s.breaker_open_for = milliseconds(2000);
  provider_lane lane{s, t0};
  lane.enqueue(make_order("a", far), false);
  lane.enqueue(make_order("b", far + 1), false);
  BOOST_TEST(take(lane, 0).calls.size() == 2u);
  lane.call_finished(at_ms(0), false);  // opens; "b" is still in flight
  lane.query_later(make_order("u", far), at_ms(2000));
  lane.enqueue(make_order("c", far + 2), false);
  // Half-open at 2000, but the query takes the last free slot: no probe can start.
  auto w = take(lane, 2000);
  BOOST_TEST(ids(w.queries) == (strings{"u"}), boost::test_tools::per_element());
  BOOST_TEST(w.calls.empty());
  // The query was not sent after all: its slot comes back without touching the breaker.
  lane.slot_unused();
  w = take(lane, 2001);
  BOOST_TEST(ids(w.calls) == (strings{"c"}), boost::test_tools::per_element());
}

// A probe slot handed back with slot_unused() (the actor did not make that call) must let
// another probe go out; otherwise the breaker waits forever for a result that never comes.
BOOST_AUTO_TEST_CASE(an_unused_probe_slot_lets_another_probe_go_out) {
  lane_settings s = roomy();
  s.breaker_threshold = 1;
  s.breaker_open_for = milliseconds(2000);
  provider_lane lane{s, t0};
  lane.enqueue(make_order("a", far), false);
  BOOST_TEST(take(lane, 0).calls.size() == 1u);
  lane.call_finished(at_ms(0), false);
  lane.enqueue(make_order("b", far), false);
  lane.enqueue(make_order("c", far + 1), false);
  auto w = take(lane, 2000);
  BOOST_TEST_REQUIRE(w.calls.size() == 1u);
  lane.slot_unused();  // the probe call was not made after all
  lane.enqueue(w.calls.front(), false);
  w = take(lane, 2001);
  BOOST_TEST(w.calls.size() == 1u, "stuck in half-open with no probe in flight");
  // That probe is real: nothing else goes out until its result is known.
  BOOST_TEST(take(lane, 2002).calls.empty());
  lane.call_finished(at_ms(2003), true);
  BOOST_TEST(take(lane, 2004).calls.size() == 1u, "a successful probe closes the breaker");
}

// Cluster: past its lease's validity a lane writes nothing ahead and sends nothing, and it
// does not wake up for it either; expiries still come. Lifted, everything goes as before.
BOOST_AUTO_TEST_CASE(held_sends_start_no_call_or_query_and_wake_nobody_for_them) {
  provider_lane lane{roomy(), t0};
  lane.enqueue(make_order("a", far), false);
  lane.enqueue(make_order("late", 100), false);
  lane.query_later(make_order("q", far), at_ms(0));
  lane.hold_sends(true);
  auto w = take(lane, 0);
  BOOST_TEST(w.calls.empty());
  BOOST_TEST(w.queries.empty());
  BOOST_TEST(ids(w.expired) == (strings{"late"}), boost::test_tools::per_element());
  BOOST_TEST(lane.load(t0).in_flight == 0u);
  // Only the last chance of the queued order to start (then it expires) wakes the lane.
  BOOST_TEST(wakeup_ms(lane, at_ms(1)) == far - 2000 + 1, "woke up for work it may not send");
  lane.hold_sends(false);
  BOOST_TEST(wakeup_ms(lane, at_ms(1)) == 1);
  w = take(lane, 1);
  BOOST_TEST(ids(w.queries) == (strings{"q"}), boost::test_tools::per_element());
  BOOST_TEST(ids(w.calls) == (strings{"a"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(next_wakeup_is_none_when_idle) {
  provider_lane lane{roomy(), t0};
  BOOST_TEST(!lane.next_wakeup(t0));
  lane.enqueue(make_order("a", far), false);
  take(lane, 0);
  lane.call_finished(at_ms(5), true);
  BOOST_TEST(!lane.next_wakeup(at_ms(5)));
}

BOOST_AUTO_TEST_CASE(next_wakeup_is_now_when_work_can_start) {
  provider_lane lane{roomy(), t0};
  lane.enqueue(make_order("a", far), false);
  auto wake = lane.next_wakeup(at_ms(7));
  BOOST_TEST_REQUIRE(wake.has_value());
  BOOST_TEST((*wake == at_ms(7)));
}

BOOST_AUTO_TEST_CASE(next_wakeup_is_the_token_time_when_out_of_tokens) {
  lane_settings s = roomy();
  s.rate = 10;  // one token per 100 ms
  s.burst = 1;
  provider_lane lane{s, t0};
  lane.enqueue(make_order("a", far), false);
  lane.enqueue(make_order("b", far + 1), false);
  BOOST_TEST(take(lane, 0).calls.size() == 1u);
  auto wake = lane.next_wakeup(t0);
  BOOST_TEST_REQUIRE(wake.has_value());
  BOOST_TEST(ms_of(*wake) == 100);
  BOOST_TEST((*wake == at_ms(100)));
  wake = lane.next_wakeup(at_ms(30));
  BOOST_TEST_REQUIRE(wake.has_value());
  BOOST_TEST((*wake == at_ms(100)));
  // And a take at that time does get the call.
  BOOST_TEST(take(lane, 100).calls.size() == 1u);
  BOOST_TEST(!lane.next_wakeup(at_ms(100)));
}

BOOST_AUTO_TEST_CASE(next_wakeup_is_the_earliest_timed_entry) {
  provider_lane lane{roomy(), t0};
  lane.query_later(make_order("q1", far), at_ms(700));
  lane.query_later(make_order("q2", far), at_ms(300));
  BOOST_TEST(wakeup_ms(lane, t0) == 300);
  lane.retry_later(make_order("r", far, 1), t0);  // due at 100..200
  auto wake = lane.next_wakeup(t0);
  BOOST_TEST_REQUIRE(wake.has_value());
  BOOST_TEST(ms_of(*wake) >= 100);
  BOOST_TEST(ms_of(*wake) <= 200);
  lane.query_later(make_order("q3", far), at_ms(50));
  BOOST_TEST(wakeup_ms(lane, t0) == 50);
}

BOOST_AUTO_TEST_CASE(next_wakeup_while_all_slots_are_busy_is_only_the_last_chance_to_start) {
  lane_settings s = roomy();
  s.concurrency = 1;
  provider_lane lane{s, t0};
  lane.enqueue(make_order("a", far), false);
  lane.enqueue(make_order("b", far + 1), false);
  BOOST_TEST(take(lane, 0).calls.size() == 1u);
  // Nothing can start before a slot frees, except "b" expiring at its last chance.
  auto last_chance_of_b = far + 1 - s.call_timeout.count() + 1;
  BOOST_TEST(wakeup_ms(lane, t0) == last_chance_of_b);
  // A due query cannot start either.
  lane.query_later(make_order("u", far), t0);
  BOOST_TEST(wakeup_ms(lane, at_ms(5)) == last_chance_of_b);
  // A freed slot makes the waiting work startable at once.
  lane.call_finished(at_ms(10), true);
  BOOST_TEST(wakeup_ms(lane, at_ms(10)) == 10);
  auto w = take(lane, 10);
  BOOST_TEST(ids(w.queries) == (strings{"u"}), boost::test_tools::per_element());
  BOOST_TEST(w.calls.empty());
}

BOOST_AUTO_TEST_CASE(next_wakeup_while_the_breaker_is_open_is_a_later_poll) {
  lane_settings s = roomy();
  s.breaker_threshold = 1;
  s.breaker_open_for = milliseconds(2000);
  provider_lane lane{s, t0};
  lane.enqueue(make_order("a", far), false);
  take(lane, 0);
  lane.call_finished(at_ms(0), false);
  lane.enqueue(make_order("b", far), false);
  auto wake = lane.next_wakeup(at_ms(10));
  BOOST_TEST_REQUIRE(wake.has_value());
  BOOST_TEST((*wake > at_ms(10)), "would spin while the breaker is open");
  BOOST_TEST((*wake <= at_ms(2000)), "would sleep past the half-open time");
}

// While the half-open probe is in flight nothing can start until its result arrives, so
// next_wakeup() must not say `now`: an actor re-arming its timer there would spin.
BOOST_AUTO_TEST_CASE(next_wakeup_while_the_probe_is_in_flight_is_not_now) {
  lane_settings s = roomy();
  s.breaker_threshold = 1;
  s.breaker_open_for = milliseconds(2000);
  provider_lane lane{s, t0};
  lane.enqueue(make_order("a", far), false);
  take(lane, 0);
  lane.call_finished(at_ms(0), false);
  lane.enqueue(make_order("b", far), false);
  lane.enqueue(make_order("c", far + 1), false);
  BOOST_TEST_REQUIRE(take(lane, 2000).calls.size() == 1u);  // the probe
  auto wake = lane.next_wakeup(at_ms(2001));
  BOOST_TEST(take(lane, 2001).calls.empty());
  BOOST_TEST((!wake || *wake > at_ms(2001)), "next_wakeup says now, take_work has nothing");
}

BOOST_AUTO_TEST_CASE(load_counts_queued_in_flight_and_waiting) {
  lane_settings s = roomy();
  s.concurrency = 2;
  provider_lane lane{s, t0};
  for (int i = 0; i < 5; ++i)
    lane.enqueue(make_order("o" + std::to_string(i), far + i), false);
  lane.retry_later(make_order("r", far, 1), t0);
  lane.query_later(make_order("u", far), at_ms(5000));
  auto load = lane.load(t0);
  BOOST_TEST(load.queued == 5u);
  BOOST_TEST(load.in_flight == 0u);
  BOOST_TEST(load.waiting == 2u);
  take(lane, 0);
  load = lane.load(t0);
  BOOST_TEST(load.queued == 3u);
  BOOST_TEST(load.in_flight == 2u);
  BOOST_TEST(load.waiting == 2u);
  lane.call_finished(at_ms(300), true);
  lane.call_finished(at_ms(300), true);
  take(lane, 300);  // the retry is due and joins the queue; two calls start
  load = lane.load(at_ms(300));
  BOOST_TEST(load.queued == 2u);
  BOOST_TEST(load.in_flight == 2u);
  BOOST_TEST(load.waiting == 1u);
  BOOST_TEST((load.breaker == circuit_breaker::state::closed));
}

namespace {

struct simulation_result {
  std::vector<int64_t> start_ms;  ///< start time of every call, in order
  size_t max_in_flight = 0;
  size_t edf_violations = 0;
  size_t duplicates = 0;
  size_t load_mismatches = 0;
  size_t late_wakeups = 0;
  size_t unexpected = 0;  ///< queries or expired orders where none may be
  size_t called = 0;
};

/// 10,000 orders through one lane like the workloads', stepping time 1 ms at a time. The first 2000
/// arrive at once, then one every 2 ms; 10 % are urgent; deadlines are 100..180 s away.
/// Every call ends `call_ms` after it starts. A reference set ranked (urgent first, deadline,
/// arrival) checks that every call is the one EDF demands.
simulation_result simulate(int64_t call_ms) {
  lane_settings s;
  s.rate = 300;
  s.burst = 30;
  s.concurrency = 64;
  provider_lane lane{s, t0};
  const int total = 10'000;
  std::mt19937_64 random{2024};
  std::uniform_int_distribution<int64_t> deadline_in(100'000, 180'000);
  std::bernoulli_distribution urgent(0.1);

  using rank = std::tuple<int, int64_t, int, std::string>;
  std::set<rank> reference;
  std::unordered_map<std::string, rank> rank_of;
  std::unordered_map<std::string, int> calls_of;
  std::multimap<int64_t, int> ends;  // end time -> nothing
  simulation_result result;
  size_t in_flight = 0;
  int next_order = 0;
  std::optional<mono_time> previous_wakeup;
  bool event = true;

  for (int64_t ms = 0; ms < 200'000; ++ms) {
    auto now = at_ms(ms);
    while (!ends.empty() && ends.begin()->first <= ms) {
      lane.call_finished(now, true);
      --in_flight;
      ends.erase(ends.begin());
      event = true;
    }
    while (next_order < total && (next_order < 2000 || (next_order - 2000) * 2 <= ms)) {
      auto id = "o" + std::to_string(next_order);
      bool is_urgent = urgent(random);
      auto deadline = ms + deadline_in(random);
      BOOST_TEST_REQUIRE(lane.enqueue(make_order(id, deadline), is_urgent));
      rank r{is_urgent ? 0 : 1, wall0 + deadline, next_order, id};
      reference.insert(r);
      rank_of.emplace(id, r);
      ++next_order;
      event = true;
    }
    auto w = lane.take_work(now);
    result.unexpected += w.queries.size() + w.expired.size();
    if (!w.calls.empty() && !event && (!previous_wakeup || *previous_wakeup > now))
      ++result.late_wakeups;
    for (const auto& o : w.calls) {
      if (reference.empty() || std::get<3>(*reference.begin()) != o.id)
        ++result.edf_violations;
      if (auto known = rank_of.find(o.id); known != rank_of.end())
        reference.erase(known->second);
      if (++calls_of[o.id] > 1)
        ++result.duplicates;
      result.start_ms.push_back(ms);
      ++in_flight;
      ends.emplace(ms + call_ms, 0);
    }
    result.max_in_flight = std::max(result.max_in_flight, in_flight);
    if (lane.load(now).in_flight != in_flight)
      ++result.load_mismatches;
    previous_wakeup = lane.next_wakeup(now);
    event = false;
    if (next_order == total && reference.empty() && ends.empty())
      break;
  }
  result.called = calls_of.size();
  return result;
}

/// The most calls started in any window [t, t + 1000 ms).
size_t worst_one_second_window(const std::vector<int64_t>& starts) {
  size_t worst = 0;
  size_t end = 0;
  for (size_t begin = 0; begin < starts.size(); ++begin) {
    while (end < starts.size() && starts[end] < starts[begin] + 1000)
      ++end;
    worst = std::max(worst, end - begin);
  }
  return worst;
}

} // namespace

BOOST_AUTO_TEST_CASE(simulation_rate_limited_lane_keeps_the_workload_contract) {
  auto r = simulate(50);
  BOOST_TEST(r.called == 10'000u);
  BOOST_TEST(r.start_ms.size() == 10'000u);
  BOOST_TEST(r.duplicates == 0u);
  BOOST_TEST(r.edf_violations == 0u);
  BOOST_TEST(r.unexpected == 0u);
  BOOST_TEST(r.load_mismatches == 0u);
  BOOST_TEST(r.late_wakeups == 0u);
  BOOST_TEST(r.max_in_flight <= 64u);
  BOOST_TEST(worst_one_second_window(r.start_ms) <= 330u);
  // The rate is used, not just respected: 10,000 calls at 300/s after a burst of 30.
  BOOST_TEST(r.start_ms.back() >= 33'000);
  BOOST_TEST(r.start_ms.back() <= 33'400);
  BOOST_TEST(worst_one_second_window(r.start_ms) >= 300u);
}

BOOST_AUTO_TEST_CASE(simulation_concurrency_limited_lane_never_exceeds_its_slots) {
  // 400 ms calls: 64 slots allow 160 calls/s, below the 300/s rate.
  auto r = simulate(400);
  BOOST_TEST(r.called == 10'000u);
  BOOST_TEST(r.duplicates == 0u);
  BOOST_TEST(r.edf_violations == 0u);
  BOOST_TEST(r.unexpected == 0u);
  BOOST_TEST(r.load_mismatches == 0u);
  BOOST_TEST(r.late_wakeups == 0u);
  BOOST_TEST(r.max_in_flight == 64u);
  BOOST_TEST(worst_one_second_window(r.start_ms) <= 330u);
  // 10,000 / 160 per second = 62.5 s.
  BOOST_TEST(r.start_ms.back() >= 62'000);
  BOOST_TEST(r.start_ms.back() <= 63'000);
}

BOOST_AUTO_TEST_SUITE_END()

// -- after_call: what follows a call's or status query's answer ------------------------------

BOOST_AUTO_TEST_SUITE(after_call_suite)

using step = after_call_action::step;

/// The default lane: retry_base 200 ms, call_timeout 2000 ms. Another attempt fits when it
/// can start after half the base backoff and still time out by the deadline: 2100 ms.
constexpr int64_t just_enough = 2100;

order dispatched(const std::string& id, int64_t deadline_in_ms) {
  auto o = make_order(id, deadline_in_ms, 1);
  o.status = order_status::dispatched;
  return o;
}

BOOST_AUTO_TEST_CASE(a_recharge_finishes_the_order_as_succeeded) {
  provider_lane lane{roomy(), t0};
  auto action = lane.after_call(dispatched("a", far), call_answer::recharged, "ignored", t0);
  BOOST_TEST((action.next == step::finish));
  BOOST_TEST((action.event == order_event::succeed));
  BOOST_TEST(action.detail.empty());
}

BOOST_AUTO_TEST_CASE(a_refusal_fails_the_order_with_the_providers_words) {
  provider_lane lane{roomy(), t0};
  auto action = lane.after_call(dispatched("a", far), call_answer::refused, "blocked", t0);
  BOOST_TEST((action.next == step::finish));
  BOOST_TEST((action.event == order_event::fail_final));
  BOOST_TEST(action.detail == "blocked");
}

BOOST_AUTO_TEST_CASE(not_recharged_is_retried_while_another_attempt_fits_before_the_deadline) {
  provider_lane lane{roomy(), t0};
  auto action = lane.after_call(dispatched("a", just_enough), call_answer::not_recharged,
                                "busy", t0);
  BOOST_TEST((action.next == step::retry));
  BOOST_TEST((action.event == order_event::fail_retryable));
  BOOST_TEST(action.detail == "busy");
  // Judged at the moment of the answer: 1 ms later the attempt no longer fits.
  auto late = lane.after_call(dispatched("a", just_enough), call_answer::not_recharged, "busy",
                              at_ms(1));
  BOOST_TEST((late.next == step::finish));
  BOOST_TEST((late.event == order_event::fail_final));
  BOOST_TEST(late.detail == std::string{no_time_to_retry} + ": busy");
}

BOOST_AUTO_TEST_CASE(the_time_for_a_retry_follows_the_lanes_settings) {
  lane_settings s = roomy();
  s.retry_base = milliseconds(1000);
  s.call_timeout = milliseconds(500);
  provider_lane lane{s, t0};
  BOOST_TEST((lane.after_call(dispatched("a", 1000), call_answer::not_recharged, "", t0).next
              == step::retry));
  BOOST_TEST((lane.after_call(dispatched("a", 999), call_answer::not_recharged, "", t0).next
              == step::finish));
}

BOOST_AUTO_TEST_CASE(wrong_carrier_moves_the_order_on_while_a_provider_and_time_are_left) {
  provider_lane lane{roomy(), t0};
  auto action = lane.after_call(dispatched("a", far), call_answer::wrong_carrier,
                                "p-cmcc answered wrong carrier", t0, true);
  BOOST_TEST((action.next == step::move_on));
  BOOST_TEST((action.event == order_event::wrong_carrier));
  BOOST_TEST(action.detail == "p-cmcc answered wrong carrier");
  auto late = lane.after_call(dispatched("a", just_enough - 1), call_answer::wrong_carrier,
                              "p-cmcc answered wrong carrier", t0, true);
  BOOST_TEST((late.next == step::finish));
  BOOST_TEST((late.event == order_event::fail_final));
  BOOST_TEST(late.detail
             == std::string{no_time_to_retry} + ": p-cmcc answered wrong carrier");
}

BOOST_AUTO_TEST_CASE(wrong_carrier_with_no_provider_left_fails_the_order_whatever_the_time) {
  provider_lane lane{roomy(), t0};
  for (int64_t deadline : {far, just_enough - 1}) {
    auto action = lane.after_call(dispatched("a", deadline), call_answer::wrong_carrier,
                                  "p-cmcc answered wrong carrier", t0, false);
    BOOST_TEST((action.next == step::finish));
    BOOST_TEST((action.event == order_event::fail_final));
    BOOST_TEST(action.detail == "wrong_carrier: p-cmcc answered wrong carrier; no provider is "
                                "left that might serve the number");
  }
}

BOOST_AUTO_TEST_CASE(no_answer_loses_the_outcome_then_queries_it_again_and_again) {
  provider_lane lane{roomy(), t0};
  auto o = dispatched("a", far);
  auto lost = lane.after_call(o, call_answer::unknown, "no answer: timeout", t0);
  BOOST_TEST((lost.next == step::query));
  BOOST_TEST((lost.event == order_event::lose_outcome));
  BOOST_TEST(lost.detail == "no answer: timeout");
  // Never retried nor failed, not even past the deadline: money may have moved.
  o.status = order_status::unknown;
  auto again = lane.after_call(o, call_answer::unknown, "status query unanswered", at_ms(far));
  BOOST_TEST((again.next == step::query_again));
  BOOST_TEST(again.detail == "status query unanswered");
}

BOOST_AUTO_TEST_CASE(requeue_waits_out_the_backoff_here_while_the_breaker_is_closed) {
  provider_lane lane{roomy(), t0};
  auto o = make_order("a", far, 1);
  BOOST_TEST(!lane.requeue(o, t0));
  BOOST_TEST(lane.holds("a"));
  BOOST_TEST(take(lane, 0).calls.empty(), "not before its backoff");
  BOOST_TEST(ids(take(lane, 200).calls) == (strings{"a"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(requeue_gives_the_order_back_for_failover_while_the_breaker_is_open) {
  lane_settings s = roomy();
  s.breaker_threshold = 1;
  provider_lane lane{s, t0};
  lane.enqueue(make_order("x", far), false);
  BOOST_TEST(take(lane, 0).calls.size() == 1u);
  lane.call_finished(t0, false);
  BOOST_REQUIRE(lane.breaker_open(t0));
  auto back = lane.requeue(make_order("a", far, 1), t0);
  BOOST_REQUIRE(back);
  BOOST_TEST(back->id == "a");
  BOOST_TEST(!lane.holds("a"));
}

BOOST_AUTO_TEST_SUITE_END()
