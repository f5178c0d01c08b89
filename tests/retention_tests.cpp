#include <boost/test/unit_test.hpp>

#include "domain/retention.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

using namespace topup;

BOOST_AUTO_TEST_SUITE(retention_rules)

BOOST_AUTO_TEST_CASE(only_final_statuses_are_archivable) {
  std::vector<std::string> expected{"succeeded", "failed"};
  BOOST_TEST(archivable_statuses() == expected);
  for (auto status : all_order_statuses) {
    auto name = std::string{to_string(status)};
    auto listed = archivable_statuses();
    BOOST_TEST((std::find(listed.begin(), listed.end(), name) != listed.end()) == is_final(status),
               name);
  }
}

BOOST_AUTO_TEST_CASE(the_cutoff_is_the_kept_age_before_now) {
  BOOST_TEST(archive_cutoff_ms(10'000, 3'000) == 7'000);
  BOOST_TEST(archive_cutoff_ms(10'000, 0) == 10'000);
  // A negative or overflowing age archives nothing rather than everything.
  BOOST_TEST(archive_cutoff_ms(10'000, -1) == std::numeric_limits<int64_t>::min());
  BOOST_TEST(archive_cutoff_ms(std::numeric_limits<int64_t>::min() + 5, 10)
             == std::numeric_limits<int64_t>::min());
}

BOOST_AUTO_TEST_CASE(the_archive_file_is_named_by_the_utc_day_of_the_run) {
  BOOST_TEST(archive_file_name(0) == "orders-1970-01-01.sqlite");
  // 2026-12-05T23:59:59.999Z and one millisecond later.
  BOOST_TEST(archive_file_name(1'796'515'199'999) == "orders-2026-12-05.sqlite");
  BOOST_TEST(archive_file_name(1'796'515'200'000) == "orders-2026-12-06.sqlite");
}

BOOST_AUTO_TEST_SUITE_END()
