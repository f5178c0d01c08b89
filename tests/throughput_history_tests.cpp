#include <boost/test/unit_test.hpp>

#include "domain/throughput_history.hpp"

using namespace topup;

BOOST_AUTO_TEST_SUITE(throughput_history_ring)

BOOST_AUTO_TEST_CASE(growth_since_the_previous_record_lands_in_its_second) {
  throughput_history h{60};
  // The counters start at zero with the node: the first record counts all it holds.
  h.record(1000, {100, 50, 40});
  BOOST_TEST(h.sum(1000, 1).accepted == 100u);
  h.record(1001, {103, 52, 51});
  h.record(1001, {104, 52, 51});
  auto last = h.sum(1001, 1);
  BOOST_TEST(last.accepted == 4u);
  BOOST_TEST(last.finished == 2u);
  BOOST_TEST(last.within_deadline == 11u);
  BOOST_TEST(h.sum(1000, 1).accepted == 100u);
  BOOST_TEST(h.sum(1001, 2).accepted == 104u);
}

BOOST_AUTO_TEST_CASE(a_counter_that_went_back_counts_from_zero) {
  throughput_history h{60};
  h.record(10, {500, 500, 500});
  h.record(11, {3, 2, 2});  // intake restarted
  BOOST_TEST(h.sum(11, 1).accepted == 3u);
  BOOST_TEST(h.sum(11, 1).finished == 2u);
}

BOOST_AUTO_TEST_CASE(seconds_older_than_the_window_are_forgotten) {
  throughput_history h{10};
  h.record(100, {0, 0, 0});
  h.record(101, {5, 0, 0});
  BOOST_TEST(h.sum(101, 10).accepted == 5u);
  BOOST_TEST(h.sum(110, 10).accepted == 5u);
  BOOST_TEST(h.sum(111, 10).accepted == 0u);
  // The slot of second 101 is reused by second 111: the old count does not leak into it.
  h.record(111, {7, 0, 0});
  BOOST_TEST(h.sum(111, 10).accepted == 2u);
}

BOOST_AUTO_TEST_CASE(points_cover_the_window_oldest_first_in_equal_widths) {
  throughput_history h{900};
  h.record(0, {0, 0, 0});
  for (int64_t s = 1; s <= 900; ++s)
    h.record(s, {static_cast<uint64_t>(s), static_cast<uint64_t>(s / 2), 0});
  auto points = h.points(900, 10);
  BOOST_REQUIRE_EQUAL(points.size(), 90u);
  BOOST_TEST(points.front().start_s == 1);
  BOOST_TEST(points.back().start_s == 891);
  for (const auto& p : points)
    BOOST_TEST(p.counts.accepted == 10u);
  uint64_t finished = 0;
  for (const auto& p : points)
    finished += p.counts.finished;
  BOOST_TEST(finished == 450u);
  // Seconds never recorded count zero; those that left the window are not counted.
  auto later = h.points(1300, 10);
  BOOST_TEST(later.front().start_s == 401);
  BOOST_TEST(later.front().counts.accepted == 10u);
  BOOST_TEST(later.back().counts.accepted == 0u);
  for (const auto& p : h.points(1900, 10))
    BOOST_TEST(p.counts.accepted == 0u);
}

BOOST_AUTO_TEST_CASE(a_record_from_the_past_goes_to_the_latest_second) {
  throughput_history h{60};
  h.record(50, {0, 0, 0});
  h.record(52, {1, 0, 0});
  h.record(51, {3, 0, 0});
  BOOST_TEST(h.sum(52, 1).accepted == 3u);
  BOOST_TEST(h.sum(51, 1).accepted == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
