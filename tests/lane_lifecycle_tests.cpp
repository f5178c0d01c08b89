#include <boost/test/unit_test.hpp>

#include "tests/time_support.hpp"

#include "domain/lane_lifecycle.hpp"

#include <vector>

using namespace topup;
using topup::testing::at_ms;

namespace {

using sizes = std::vector<size_t>;

held_lease lease(size_t provider, int64_t epoch, int64_t valid_until_ms = 1000) {
  return {provider, epoch, at_ms(valid_until_ms)};
}

sizes retired_providers(const lane_lifecycle::ownership_steps& steps) {
  sizes providers;
  for (const auto& lane : steps.retired)
    providers.push_back(lane.provider);
  return providers;
}

} // namespace

BOOST_AUTO_TEST_SUITE(lane_lifecycle_suite)

BOOST_AUTO_TEST_CASE(nothing_runs_before_a_lease_is_held) {
  lane_lifecycle lanes(3);
  for (size_t i = 0; i < 3; ++i) {
    BOOST_TEST(!lanes.running(i));
    BOOST_TEST(!lanes.held(i));
    BOOST_TEST(lanes.epoch_of(i) == 0);
  }
  auto steps = lanes.hold({});
  BOOST_TEST(steps.started.empty());
  BOOST_TEST(steps.retired.empty());
  BOOST_TEST(steps.renewed.empty());
  BOOST_TEST(steps.unheld == (sizes{0, 1, 2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_lease_gained_starts_its_lane_under_its_epoch) {
  lane_lifecycle lanes(3);
  auto steps = lanes.hold({lease(0, 4, 500), lease(2, 7, 900)});
  BOOST_TEST(steps.started == (sizes{0, 2}), boost::test_tools::per_element());
  BOOST_TEST(steps.renewed.empty());
  BOOST_TEST(steps.retired.empty());
  BOOST_TEST(steps.unheld == (sizes{1}), boost::test_tools::per_element());
  BOOST_TEST(lanes.running(0));
  BOOST_TEST(lanes.epoch_of(0) == 4);
  BOOST_TEST(lanes.epoch_of(2) == 7);
  BOOST_TEST((lanes.valid_until(2) == at_ms(900)));
  BOOST_TEST(!lanes.running(1));
}

BOOST_AUTO_TEST_CASE(a_lease_renewed_tells_the_running_lane_its_validity) {
  lane_lifecycle lanes(2);
  lanes.hold({lease(0, 4, 500)});
  auto steps = lanes.hold({lease(0, 4, 1500)});
  BOOST_TEST(steps.started.empty());
  BOOST_TEST(steps.retired.empty());
  BOOST_REQUIRE(steps.renewed.size() == 1u);
  BOOST_TEST(steps.renewed[0].provider == 0u);
  BOOST_TEST(steps.renewed[0].epoch == 4);
  BOOST_TEST((steps.renewed[0].valid_until == at_ms(1500)));
  BOOST_TEST((lanes.valid_until(0) == at_ms(1500)));
}

BOOST_AUTO_TEST_CASE(a_lease_lost_retires_its_lane_under_the_epoch_it_ran) {
  lane_lifecycle lanes(2);
  lanes.hold({lease(0, 4), lease(1, 2)});
  auto steps = lanes.hold({lease(1, 2)});
  BOOST_REQUIRE(steps.retired.size() == 1u);
  BOOST_TEST(steps.retired[0].provider == 0u);
  BOOST_TEST(steps.retired[0].epoch == 4);
  BOOST_TEST(steps.unheld == (sizes{0}), boost::test_tools::per_element());
  BOOST_TEST(steps.started.empty());
  BOOST_TEST(!lanes.running(0));
  BOOST_TEST(lanes.draining(0));
  BOOST_TEST(lanes.running(1));
  // Drained while not held: nothing starts.
  BOOST_TEST(lanes.drained(0).empty());
  BOOST_TEST(!lanes.draining(0));
  BOOST_TEST(!lanes.running(0));
}

BOOST_AUTO_TEST_CASE(a_lease_back_under_a_new_epoch_waits_for_the_old_lane_to_drain) {
  lane_lifecycle lanes(1);
  lanes.hold({lease(0, 4)});
  lanes.hold({});
  auto steps = lanes.hold({lease(0, 5)});
  BOOST_TEST(steps.started.empty());
  BOOST_TEST(steps.retired.empty());
  BOOST_TEST(steps.unheld.empty());
  BOOST_TEST(lanes.held(0));
  BOOST_TEST(!lanes.running(0));
  BOOST_TEST(lanes.drained(0) == (sizes{0}), boost::test_tools::per_element());
  BOOST_TEST(lanes.running(0));
  BOOST_TEST(lanes.epoch_of(0) == 5);
}

BOOST_AUTO_TEST_CASE(a_lease_held_under_another_epoch_retires_the_lane_and_waits) {
  // The lease lapsed and was taken again (a new epoch) without this node hearing of a gap:
  // the lane of the old epoch drains first all the same.
  lane_lifecycle lanes(1);
  lanes.hold({lease(0, 4)});
  auto steps = lanes.hold({lease(0, 6)});
  BOOST_REQUIRE(steps.retired.size() == 1u);
  BOOST_TEST(steps.retired[0].epoch == 4);
  BOOST_TEST(steps.renewed.empty());
  BOOST_TEST(steps.started.empty());
  BOOST_TEST(steps.unheld.empty());
  BOOST_TEST(lanes.drained(0) == (sizes{0}), boost::test_tools::per_element());
  BOOST_TEST(lanes.epoch_of(0) == 6);
}

BOOST_AUTO_TEST_CASE(a_drain_finished_starts_only_its_own_provider) {
  lane_lifecycle lanes(2);
  lanes.hold({lease(0, 1), lease(1, 1)});
  auto lost = lanes.hold({});
  BOOST_TEST(retired_providers(lost) == (sizes{0, 1}), boost::test_tools::per_element());
  lanes.hold({lease(0, 2), lease(1, 2)});
  BOOST_TEST(lanes.drained(1) == (sizes{1}), boost::test_tools::per_element());
  BOOST_TEST(!lanes.running(0));
  BOOST_TEST(lanes.drained(0) == (sizes{0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_lane_started_is_not_started_twice) {
  lane_lifecycle lanes(1);
  BOOST_TEST(lanes.hold({lease(0, 3)}).started == (sizes{0}), boost::test_tools::per_element());
  BOOST_TEST(lanes.hold({lease(0, 3)}).started.empty());
  BOOST_TEST(lanes.drained(0).empty());
}

BOOST_AUTO_TEST_SUITE_END()
