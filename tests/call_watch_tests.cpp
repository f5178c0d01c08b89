#include <boost/test/unit_test.hpp>

#include "tests/time_support.hpp"

#include "domain/call_watch.hpp"

#include <optional>
#include <string>
#include <vector>

using namespace topup;
using topup::testing::at_ms;
using topup::testing::t0;

BOOST_AUTO_TEST_SUITE(call_watch_suite)

BOOST_AUTO_TEST_CASE(an_answered_call_is_handed_back_once_and_no_longer_watched) {
  call_watch<std::string> watch;
  auto first = watch.watch("o1", at_ms(2000));
  auto second = watch.watch("o2", at_ms(2100));
  BOOST_TEST(first != second);
  BOOST_TEST(watch.size() == 2u);

  auto answered = watch.answered(first);
  BOOST_TEST_REQUIRE(answered.has_value());
  BOOST_TEST(*answered == "o1");
  BOOST_TEST(!watch.answered(first).has_value());
  BOOST_TEST(watch.size() == 1u);
  // The other call alone sets the next moment to look.
  BOOST_TEST_REQUIRE(watch.next_due().has_value());
  BOOST_TEST((*watch.next_due() == at_ms(2100)));
  BOOST_TEST(watch.take_overdue(at_ms(2099)).empty());
}

BOOST_AUTO_TEST_CASE(overdue_calls_are_given_up_earliest_first_and_their_late_answers_find_nothing) {
  call_watch<std::string> watch;
  // Watched out of due order: a call with a shorter timeout started after a longer one.
  auto slow = watch.watch("slow", at_ms(5000));
  auto quick = watch.watch("quick", at_ms(1500));
  auto tied = watch.watch("tied", at_ms(1500));
  auto later = watch.watch("later", at_ms(6000));

  BOOST_TEST(watch.take_overdue(at_ms(1499)).empty());
  BOOST_TEST((watch.take_overdue(at_ms(1500)) == std::vector<std::string>{"quick", "tied"}));
  BOOST_TEST((*watch.next_due() == at_ms(5000)));
  BOOST_TEST((watch.take_overdue(at_ms(5500)) == std::vector<std::string>{"slow"}));

  // Answers that come after their call was given up: ignored.
  BOOST_TEST(!watch.answered(quick).has_value());
  BOOST_TEST(!watch.answered(tied).has_value());
  BOOST_TEST(!watch.answered(slow).has_value());
  BOOST_TEST(watch.size() == 1u);
  BOOST_TEST(*watch.answered(later) == "later");
  BOOST_TEST(!watch.next_due().has_value());
  BOOST_TEST(watch.take_overdue(at_ms(100000)).empty());
}

BOOST_AUTO_TEST_SUITE_END()
