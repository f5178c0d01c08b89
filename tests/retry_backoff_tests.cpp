#include <boost/test/unit_test.hpp>

// The backoff every retry of a failed store write (and of a failed provider call) waits by,
// and the rule that keeps repeated failures from flooding the log.

#include "tests/time_support.hpp"

#include "domain/log_repeats.hpp"
#include "domain/retry_backoff.hpp"

using namespace topup;
using topup::testing::at_ms;
using std::chrono::milliseconds;

BOOST_AUTO_TEST_SUITE(backoff)

BOOST_AUTO_TEST_CASE(the_delay_doubles_from_the_base_up_to_the_cap) {
  backoff_policy policy{milliseconds{100}, milliseconds{5000}};
  BOOST_TEST(policy.delay(0).count() == 100);
  BOOST_TEST(policy.delay(1).count() == 100);
  BOOST_TEST(policy.delay(2).count() == 200);
  BOOST_TEST(policy.delay(3).count() == 400);
  BOOST_TEST(policy.delay(6).count() == 3200);
  BOOST_TEST(policy.delay(7).count() == 5000);
  BOOST_TEST(policy.delay(1000).count() == 5000);
  BOOST_TEST(policy.delay(UINT32_MAX).count() == 5000);
}

BOOST_AUTO_TEST_CASE(jitter_picks_a_point_in_the_upper_half) {
  backoff_policy policy{milliseconds{200}, milliseconds{5000}};
  BOOST_TEST(policy.delay(1, 0.0).count() == 100);
  BOOST_TEST(policy.delay(1, 0.5).count() == 150);
  BOOST_TEST(policy.delay(1, 1.0).count() == 200);
  BOOST_TEST(policy.delay(20, 0.0).count() == 2500);
  // Out-of-range jitter is clamped, never a negative or doubled delay.
  BOOST_TEST(policy.delay(1, -3.0).count() == 100);
  BOOST_TEST(policy.delay(1, 7.0).count() == 200);
}

BOOST_AUTO_TEST_CASE(a_huge_base_does_not_overflow) {
  backoff_policy policy{milliseconds{int64_t{1} << 58}, milliseconds{int64_t{1} << 60}};
  BOOST_TEST(policy.delay(3).count() == int64_t{1} << 60);
  BOOST_TEST(policy.delay(40).count() == int64_t{1} << 60);
}

BOOST_AUTO_TEST_CASE(failures_in_a_row_wait_longer_and_a_success_starts_over) {
  retry_backoff backoff{{milliseconds{100}, milliseconds{1000}}};
  BOOST_TEST(backoff.may_try(at_ms(0)));
  BOOST_TEST(backoff.failed(at_ms(0)).count() == 100);
  BOOST_TEST(!backoff.may_try(at_ms(99)));
  BOOST_TEST(backoff.may_try(at_ms(100)));
  BOOST_TEST(backoff.failed(at_ms(100)).count() == 200);
  BOOST_TEST(backoff.failed(at_ms(300)).count() == 400);
  BOOST_TEST(backoff.failed(at_ms(700)).count() == 800);
  BOOST_TEST(backoff.failed(at_ms(1500)).count() == 1000);
  BOOST_TEST(backoff.failures() == 5u);
  BOOST_TEST((backoff.next_try() == at_ms(2500)));
  backoff.succeeded();
  BOOST_TEST(backoff.may_try(at_ms(1501)));
  BOOST_TEST(backoff.failed(at_ms(1501)).count() == 100);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(repeated_log_lines)

BOOST_AUTO_TEST_CASE(the_first_occurrence_is_written_then_one_summary_per_interval) {
  log_repeats repeats{milliseconds{10000}};
  auto first = repeats.occurred("disk full", at_ms(0));
  BOOST_TEST(first.write);
  BOOST_TEST(first.suffix() == "");
  int written = 0;
  log_repeats::verdict summary;
  // 1,000 occurrences a second for 25 s: three lines, not 25,000.
  for (int ms = 1; ms <= 25000; ++ms) {
    auto v = repeats.occurred("disk full", at_ms(ms));
    if (v.write) {
      ++written;
      if (written == 1)
        summary = v;
    }
  }
  BOOST_TEST(written == 2);
  BOOST_TEST(summary.repeated == 10000u);
  BOOST_TEST(summary.over.count() == 10000);
  BOOST_TEST(summary.suffix() == " … repeated 10000 times in the last 10 s");
}

BOOST_AUTO_TEST_CASE(kinds_are_counted_apart) {
  log_repeats repeats{milliseconds{1000}};
  BOOST_TEST(repeats.occurred("a", at_ms(0)).write);
  BOOST_TEST(repeats.occurred("b", at_ms(1)).write);
  BOOST_TEST(!repeats.occurred("a", at_ms(2)).write);
  BOOST_TEST(!repeats.occurred("b", at_ms(3)).write);
}

BOOST_AUTO_TEST_CASE(an_occurrence_after_a_quiet_interval_is_written_without_a_count) {
  log_repeats repeats{milliseconds{1000}};
  BOOST_TEST(repeats.occurred("a", at_ms(0)).write);
  auto later = repeats.occurred("a", at_ms(5000));
  BOOST_TEST(later.write);
  BOOST_TEST(later.repeated == 1u);
  BOOST_TEST(later.suffix() == "");
}

BOOST_AUTO_TEST_CASE(a_condition_that_flaps_is_still_summarised) {
  // Failures with successes between them (a disk with room for some commits): the
  // successes do not start a new window, so the failures stay one line per interval.
  log_repeats repeats{milliseconds{1000}};
  int written = 0;
  for (int ms = 0; ms < 3000; ms += 10)
    written += repeats.occurred("commit", at_ms(ms)).write ? 1 : 0;
  BOOST_TEST(written == 3);
}

BOOST_AUTO_TEST_SUITE_END()
