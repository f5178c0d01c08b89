#include <boost/test/unit_test.hpp>

#include "tests/time_support.hpp"

#include "domain/circuit_breaker.hpp"
#include "domain/clock.hpp"

#include <chrono>
#include <cstdint>
#include <string>

using namespace topup;
using topup::testing::at_ms;
using topup::testing::t0;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

namespace {

using state = circuit_breaker::state;

/// Records `count` failures at `now`.
void fail(circuit_breaker& breaker, uint32_t count, mono_time now) {
  for (uint32_t i = 0; i < count; ++i)
    breaker.record_failure(now);
}

} // namespace

BOOST_AUTO_TEST_SUITE(circuit_breaker_suite)

BOOST_AUTO_TEST_CASE(a_new_breaker_is_closed_and_allows_every_call) {
  circuit_breaker breaker{3, milliseconds(1000)};
  BOOST_TEST((breaker.current(t0) == state::closed));
  for (int i = 0; i < 100; ++i) {
    BOOST_TEST(breaker.would_allow(at_ms(i)));
    BOOST_TEST(breaker.allow(at_ms(i)), "call " << i << " refused");
  }
  BOOST_TEST((breaker.current(at_ms(100)) == state::closed));
}

BOOST_AUTO_TEST_CASE(opens_after_exactly_threshold_consecutive_failures_not_before) {
  for (uint32_t threshold : {1u, 2u, 3u, 5u, 10u}) {
    BOOST_TEST_CONTEXT("threshold " << threshold) {
      circuit_breaker breaker{threshold, milliseconds(1000)};
      for (uint32_t i = 1; i < threshold; ++i) {
        breaker.record_failure(at_ms(i));
        BOOST_TEST((breaker.current(at_ms(i)) == state::closed), "open after " << i);
        BOOST_TEST(breaker.allow(at_ms(i)));
      }
      breaker.record_failure(at_ms(threshold));
      BOOST_TEST((breaker.current(at_ms(threshold)) == state::open));
      BOOST_TEST(!breaker.would_allow(at_ms(threshold)));
      BOOST_TEST(!breaker.allow(at_ms(threshold)));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_zero_threshold_behaves_like_one) {
  circuit_breaker breaker{0, milliseconds(1000)};
  BOOST_TEST(breaker.allow(t0));
  breaker.record_failure(t0);
  BOOST_TEST((breaker.current(t0) == state::open));
  BOOST_TEST(!breaker.allow(t0));
}

BOOST_AUTO_TEST_CASE(a_success_resets_the_failure_count) {
  circuit_breaker breaker{3, milliseconds(1000)};
  fail(breaker, 2, t0);
  breaker.record_success();
  // Two more failures: 2 in a row, not 4.
  fail(breaker, 2, at_ms(1));
  BOOST_TEST((breaker.current(at_ms(1)) == state::closed));
  BOOST_TEST(breaker.allow(at_ms(1)));
  breaker.record_failure(at_ms(2));
  BOOST_TEST((breaker.current(at_ms(2)) == state::open));
}

BOOST_AUTO_TEST_CASE(interleaved_successes_keep_it_closed_forever) {
  circuit_breaker breaker{2, milliseconds(1000)};
  for (int i = 0; i < 1000; ++i) {
    breaker.record_failure(at_ms(i));
    breaker.record_success();
  }
  BOOST_TEST((breaker.current(at_ms(1000)) == state::closed));
  BOOST_TEST(breaker.allow(at_ms(1000)));
}

BOOST_AUTO_TEST_CASE(open_refuses_until_open_for_has_passed) {
  circuit_breaker breaker{2, milliseconds(500)};
  fail(breaker, 2, at_ms(100));
  for (int64_t ms : {100, 101, 300, 599}) {
    BOOST_TEST((breaker.current(at_ms(ms)) == state::open), "at " << ms);
    BOOST_TEST(!breaker.would_allow(at_ms(ms)), "at " << ms);
    BOOST_TEST(!breaker.allow(at_ms(ms)), "at " << ms);
  }
  // One nanosecond before the end it is still open.
  auto just_before = at_ms(600) - nanoseconds(1);
  BOOST_TEST((breaker.current(just_before) == state::open));
  BOOST_TEST(!breaker.allow(just_before));
  // Refused calls did not extend the period.
  BOOST_TEST((breaker.current(at_ms(600)) == state::half_open));
}

BOOST_AUTO_TEST_CASE(open_period_counts_from_the_failure_that_opened_it) {
  circuit_breaker breaker{3, milliseconds(1000)};
  breaker.record_failure(at_ms(0));
  breaker.record_failure(at_ms(200));
  breaker.record_failure(at_ms(700));  // opens here
  BOOST_TEST((breaker.current(at_ms(1699)) == state::open));
  BOOST_TEST((breaker.current(at_ms(1700)) == state::half_open));
}

BOOST_AUTO_TEST_CASE(half_open_admits_exactly_one_probe) {
  circuit_breaker breaker{1, milliseconds(1000)};
  breaker.record_failure(t0);
  auto later = at_ms(1000);
  BOOST_TEST((breaker.current(later) == state::half_open));
  BOOST_TEST(breaker.would_allow(later));
  BOOST_TEST(breaker.allow(later), "the probe");
  // Every further call is refused until the probe's result is recorded, however long.
  BOOST_TEST(!breaker.would_allow(later));
  BOOST_TEST(!breaker.allow(later));
  BOOST_TEST(!breaker.allow(at_ms(5000)));
  BOOST_TEST(!breaker.allow(at_ms(60'000)));
  BOOST_TEST((breaker.current(at_ms(60'000)) == state::half_open));
}

BOOST_AUTO_TEST_CASE(probe_success_closes) {
  circuit_breaker breaker{2, milliseconds(1000)};
  fail(breaker, 2, t0);
  BOOST_TEST(breaker.allow(at_ms(1000)));
  breaker.record_success();
  BOOST_TEST((breaker.current(at_ms(1000)) == state::closed));
  for (int i = 0; i < 10; ++i)
    BOOST_TEST(breaker.allow(at_ms(1000)));
  // Closed again with a fresh count: one failure does not reopen a threshold-2 breaker.
  breaker.record_failure(at_ms(1001));
  BOOST_TEST((breaker.current(at_ms(1001)) == state::closed));
  breaker.record_failure(at_ms(1002));
  BOOST_TEST((breaker.current(at_ms(1002)) == state::open));
}

BOOST_AUTO_TEST_CASE(probe_failure_reopens_for_a_full_period_from_the_failure_time) {
  circuit_breaker breaker{3, milliseconds(1000)};
  fail(breaker, 3, t0);
  BOOST_TEST(breaker.allow(at_ms(1000)));  // probe starts
  breaker.record_failure(at_ms(1400));     // and fails 400 ms later
  // A single failed probe reopens, however high the threshold.
  BOOST_TEST((breaker.current(at_ms(1400)) == state::open));
  BOOST_TEST(!breaker.allow(at_ms(1400)));
  BOOST_TEST((breaker.current(at_ms(2000)) == state::open), "period must count from 1400");
  BOOST_TEST(!breaker.allow(at_ms(2399)));
  BOOST_TEST((breaker.current(at_ms(2400)) == state::half_open));
  // A new probe is admitted in the new half-open period.
  BOOST_TEST(breaker.allow(at_ms(2400)));
  BOOST_TEST(!breaker.allow(at_ms(2400)));
}

BOOST_AUTO_TEST_CASE(repeated_probe_failures_keep_cycling_open_and_half_open) {
  circuit_breaker breaker{1, milliseconds(100)};
  breaker.record_failure(t0);
  int64_t opened = 0;
  for (int cycle = 0; cycle < 20; ++cycle) {
    BOOST_TEST(!breaker.allow(at_ms(opened + 99)));
    BOOST_TEST_REQUIRE(breaker.allow(at_ms(opened + 100)), "no probe in cycle " << cycle);
    opened += 100 + 7;
    breaker.record_failure(at_ms(opened));
  }
  breaker.record_success();
  BOOST_TEST((breaker.current(at_ms(opened)) == state::closed));
}

BOOST_AUTO_TEST_CASE(would_allow_does_not_consume_the_probe) {
  circuit_breaker breaker{1, milliseconds(1000)};
  breaker.record_failure(t0);
  auto later = at_ms(1500);
  for (int i = 0; i < 5; ++i)
    BOOST_TEST(breaker.would_allow(later));
  BOOST_TEST(breaker.allow(later));
  BOOST_TEST(!breaker.would_allow(later));
}

BOOST_AUTO_TEST_CASE(current_does_not_change_state) {
  circuit_breaker breaker{1, milliseconds(1000)};
  breaker.record_failure(t0);
  // Asking about the future does not move the breaker there.
  BOOST_TEST((breaker.current(at_ms(5000)) == state::half_open));
  BOOST_TEST((breaker.current(at_ms(10)) == state::open));
  BOOST_TEST(!breaker.allow(at_ms(10)));
}

BOOST_AUTO_TEST_CASE(a_success_while_open_closes_at_once) {
  // A call started before the breaker opened came back fine: the provider is up again.
  circuit_breaker breaker{2, milliseconds(1000)};
  fail(breaker, 2, t0);
  BOOST_TEST((breaker.current(at_ms(10)) == state::open));
  breaker.record_success();
  BOOST_TEST((breaker.current(at_ms(10)) == state::closed));
  BOOST_TEST(breaker.allow(at_ms(10)));
}

BOOST_AUTO_TEST_CASE(to_string_names_every_state) {
  BOOST_TEST(std::string(to_string(state::closed)) == "closed");
  BOOST_TEST(std::string(to_string(state::open)) == "open");
  BOOST_TEST(std::string(to_string(state::half_open)) == "half_open");
  BOOST_TEST(std::string(to_string(static_cast<state>(17))) == "invalid");
}

BOOST_AUTO_TEST_SUITE_END()
